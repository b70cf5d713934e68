#ifndef LIVECALL_COMMON_WIRE_JSON_H_
#define LIVECALL_COMMON_WIRE_JSON_H_

// Wire bytes ⇄ JSON for the suite's messages, byte for byte as protobuf 3.21's stream converter
// (util::BinaryToJsonStream / JsonToBinaryStream) with the suite's enum spellings
// (EnumJsonTypeResolver, common/enum_json.h) produces them, without its cost: protobuf builds a
// google.protobuf.Type tree per lookup and a node tree per conversion; these walk the bytes (or
// the JSON) once with a plan built once per message type.
//
// Each returns false for what it leaves to protobuf, and the caller then runs protobuf's
// converter, which gives the answer or the error. Left to protobuf: anything malformed or
// refused (so every error message stays protobuf's), the well-known types other than Timestamp
// (Any, Struct, Value, Duration, wrappers, FieldMask), proto3 `optional`, non-string map keys,
// unknown enum numbers, invalid UTF-8, and wire bytes that generated code does not write (a
// singular field twice, a repeated field in two runs, a map entry without its key or value). On
// the JSON side also floats, Timestamps, bytes, maps of messages, numbers that are not plain
// integers, `null`, enums by number, a field or map key named twice and a oneof given twice. The
// differential tests (tests/unit/common/wire_json_test.cc) hold both converters to the same bytes
// on every message type of the contract, the REST routes' among them.

#include <google/protobuf/descriptor.h>

#include <string>

#include "absl/strings/string_view.h"

namespace livecall {

// The JsonPrintOptions it follows (no whitespace, enums by their spellings).
struct WireJsonOptions {
  // Defaults printed too, so the page always sees the same keys (the gateway's replies).
  bool always_print_primitive_fields = true;
  // session_id rather than sessionId.
  bool preserve_proto_field_names = false;
};

// The JSON of the message of `type` whose wire bytes are `wire`, appended to `json`, as
// BinaryToJsonString(EnumJsonTypeResolver(), ...) prints it with `options`. On false `json` may
// hold a partial answer: clear it before falling back.
bool WireToJson(const google::protobuf::Descriptor* type, absl::string_view wire,
                const WireJsonOptions& options, std::string* json);
inline bool WireToJson(const google::protobuf::Descriptor* type, absl::string_view wire,
                       std::string* json) {
  return WireToJson(type, wire, WireJsonOptions(), json);
}

// The wire bytes of the message of `type` that the JSON object `json` describes, appended to
// `wire`, as JsonToBinaryString(EnumJsonTypeResolver(), ...) writes them with
// ignore_unknown_fields off (the gateway's requests): fields in the JSON's order, proto names
// and lowerCamelCase names both accepted. On false `wire` may hold a partial answer.
bool JsonToWire(const google::protobuf::Descriptor* type, absl::string_view json,
                std::string* wire);

// A finite float or double as protobuf writes it in JSON (SimpleFtoa, SimpleDtoa: "0.1",
// "1e+07", "0.100000001"), appended to `out`; the converter's own printer, public for its test.
void AppendJsonFloat(float value, std::string* out);
void AppendJsonDouble(double value, std::string* out);

}  // namespace livecall

#endif  // LIVECALL_COMMON_WIRE_JSON_H_
