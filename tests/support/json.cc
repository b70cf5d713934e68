#include "tests/support/json.h"

#include <google/protobuf/util/json_util.h>

#include "absl/strings/str_cat.h"
#include "common/enum_json.h"

namespace livecall::testing {

absl::StatusOr<google::protobuf::Value> ParseJson(absl::string_view text) {
  google::protobuf::Value value;
  absl::Status status = ParseJsonMessage(text, &value);
  if (!status.ok()) return status;
  return value;
}

absl::Status ParseJsonMessage(absl::string_view text, google::protobuf::Message* message) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  // The suite's enum spellings ("in-progress"), as the page reads them.
  absl::Status status = livecall::ParseJson(text, message, options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("not a valid ", message->GetTypeName(),
                                                   " in JSON: ", status.message(),
                                                   "; text: ", text.substr(0, 2000)));
  }
  return absl::OkStatus();
}

const google::protobuf::Value* JsonMember(const google::protobuf::Value& value,
                                          absl::string_view key) {
  if (!value.has_struct_value()) return nullptr;
  const auto& fields = value.struct_value().fields();
  auto it = fields.find(std::string(key));
  return it == fields.end() ? nullptr : &it->second;
}

std::string JsonString(const google::protobuf::Value& value,
                       std::initializer_list<absl::string_view> path) {
  const google::protobuf::Value* current = &value;
  for (absl::string_view key : path) {
    current = JsonMember(*current, key);
    if (current == nullptr) return "";
  }
  return current->has_string_value() ? current->string_value() : "";
}

}  // namespace livecall::testing
