#ifndef LIVECALL_COMMON_ENUM_JSON_H_
#define LIVECALL_COMMON_ENUM_JSON_H_

// The suite's JSON mapping: protobuf's proto3 JSON mapping, with each enum value spelled as its
// (livecall.v1.json_name) option says ("in-progress", not CALL_STATUS_IN_PROGRESS), in both
// directions. Every JSON the suite reads or writes (REST, live events, the CRM record, data files)
// goes through here, so the page and the CRM see the same strings as when these fields were
// strings.
//
// How: protobuf's JSON converter reads enum value names from a TypeResolver, so this one hands it
// enums whose value names are the spellings; everything else is protobuf's own resolver. PrintJson
// prints through the one-pass printer of common/wire_json.h, which writes the same bytes at a
// fraction of the converter's cost, and falls back to the converter for what that leaves to it.
//
// Also here: the storage compatibility of enum fields that replaced string fields
// ((livecall.v1.replaces_string_field), see protos/livecall/v1/http.proto).

#include <google/protobuf/descriptor.h>
#include <google/protobuf/generated_enum_reflection.h>
#include <google/protobuf/message.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/type_resolver.h>

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace livecall {

// The resolver behind the functions below, for callers that drive protobuf's converter
// themselves (BinaryToJsonStream, JsonToBinaryString): the generated pool's types, enums spelled
// by json_name. Thread-safe; lives for the process.
google::protobuf::util::TypeResolver* EnumJsonTypeResolver();
// "type.googleapis.com/<full name>", the type URL the resolver answers for.
std::string TypeUrlOf(const google::protobuf::Descriptor* type);

// MessageToJsonString / JsonStringToMessage with the suite's enum spellings. An enum given by a
// spelling it does not have is an error naming the field's accepted spellings.
absl::StatusOr<std::string> PrintJson(const google::protobuf::Message& message,
                                      const google::protobuf::util::JsonPrintOptions& options = {});
absl::Status ParseJson(absl::string_view json, google::protobuf::Message* message,
                       const google::protobuf::util::JsonParseOptions& options = {});

// protobuf names a rejected enum by its type URL ("invalid value \"x\" for type
// type.googleapis.com/livecall.v1.CallMode"): `message` with the spellings that would have done.
std::string WithAcceptedSpellings(std::string message);

// A value's JSON spelling: its json_name option, else its name (enums without the option print
// as protobuf prints them).
const std::string& EnumJsonName(const google::protobuf::EnumValueDescriptor* value);
// The value spelled `text`, or nullptr.
const google::protobuf::EnumValueDescriptor* FindEnumValueByJsonName(
    const google::protobuf::EnumDescriptor* type, absl::string_view text);
// "\"tts\", \"ai\" or \"agent\"": the spellings a client may send (UNSPECIFIED's "" left out).
std::string EnumJsonNameList(const google::protobuf::EnumDescriptor* type);

// The same for a generated enum: EnumJsonName(livecall::v1::CALL_STATUS_IN_PROGRESS) is
// "in-progress"; ParseEnumJsonName<livecall::v1::CallStatus>("busy") is CALL_STATUS_BUSY.
template <typename E>
const std::string& EnumJsonName(E value) {
  const google::protobuf::EnumValueDescriptor* descriptor =
      google::protobuf::GetEnumDescriptor<E>()->FindValueByNumber(value);
  static const std::string kUnknown = "";
  return descriptor == nullptr ? kUnknown : EnumJsonName(descriptor);
}
template <typename E>
std::optional<E> ParseEnumJsonName(absl::string_view text) {
  const google::protobuf::EnumValueDescriptor* value =
      FindEnumValueByJsonName(google::protobuf::GetEnumDescriptor<E>(), text);
  if (value == nullptr) return std::nullopt;
  return static_cast<E>(value->number());
}

// Storage compatibility (replaces_string_field). A record stored by the previous version has the
// spelling as a string under the old field number, which this version's parser keeps as an
// unknown field: ReadLegacyEnumStrings sets the enum from it (the string wins when both are there:
// a previous-version replica that rewrote a record updated only the string) and drops it, in the
// message and every message inside it. WithLegacyEnumStrings is the message's serialisation with
// the strings written beside the enums, for the previous version's replicas during a rolling
// deploy. Both return at once for a message type without such fields.
void ReadLegacyEnumStrings(google::protobuf::Message* message);
std::string SerializeWithLegacyEnumStrings(const google::protobuf::Message& message);

}  // namespace livecall

#endif  // LIVECALL_COMMON_ENUM_JSON_H_
