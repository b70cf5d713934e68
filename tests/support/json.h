#ifndef LIVECALL_TESTS_SUPPORT_JSON_H_
#define LIVECALL_TESTS_SUPPORT_JSON_H_

// Reading the gateway's JSON in tests with protobuf's own JSON mapping: as a typed message (which
// also checks that the response has no field the proto does not declare) or as a generic
// google.protobuf.Value when the test is about the JSON's shape itself.

#include <google/protobuf/message.h>
#include <google/protobuf/struct.pb.h>

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace livecall::testing {

// Any JSON text.
absl::StatusOr<google::protobuf::Value> ParseJson(absl::string_view text);

// JSON into `message`; a field the message does not declare is an error.
absl::Status ParseJsonMessage(absl::string_view text, google::protobuf::Message* message);

template <typename Message>
absl::StatusOr<Message> ParseJsonAs(absl::string_view text) {
  Message message;
  absl::Status status = ParseJsonMessage(text, &message);
  if (!status.ok()) return status;
  return message;
}

// The member `key` of a JSON object, or nullptr when `value` is not an object or lacks it.
const google::protobuf::Value* JsonMember(const google::protobuf::Value& value,
                                          absl::string_view key);

// The string at a path of object members ("error", "code"); empty when absent or not a string.
std::string JsonString(const google::protobuf::Value& value,
                       std::initializer_list<absl::string_view> path);

}  // namespace livecall::testing

#endif  // LIVECALL_TESTS_SUPPORT_JSON_H_
