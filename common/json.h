#ifndef LIVECALL_COMMON_JSON_H_
#define LIVECALL_COMMON_JSON_H_

// JSON the suite reads from and writes to remote systems (an LLM, Twilio, a speech server),
// through protobuf's JSON parser and printer: google.protobuf.Struct for objects without a message
// of their own, so no caller escapes strings or matches braces by hand.

#include <google/protobuf/message.h>
#include <google/protobuf/struct.pb.h>

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace livecall {

// `text` as a JSON object. INVALID_ARGUMENT "not a JSON object: <the first 120 bytes>" for
// anything else (an array, a number, malformed text).
absl::StatusOr<google::protobuf::Struct> ParseJsonObject(absl::string_view text);

// `message` as compact JSON (proto3 JSON mapping, field names as written in the .proto). A Struct's
// keys come out in no particular order: only for readers that do not depend on it. INTERNAL if
// protobuf cannot print it (e.g. an Any of an unknown type).
absl::StatusOr<std::string> ToJson(const google::protobuf::Message& message);

}  // namespace livecall

#endif  // LIVECALL_COMMON_JSON_H_
