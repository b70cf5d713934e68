#include "common/json.h"

#include <google/protobuf/util/json_util.h>

#include "absl/strings/str_cat.h"
#include "common/utf8.h"

namespace livecall {

absl::StatusOr<google::protobuf::Struct> ParseJsonObject(absl::string_view text) {
  google::protobuf::Struct object;
  if (!google::protobuf::util::JsonStringToMessage(
           google::protobuf::StringPiece(text.data(), text.size()), &object)
           .ok()) {
    return absl::InvalidArgumentError(absl::StrCat("not a JSON object: ", TruncateUtf8(text, 120)));
  }
  return object;
}

absl::StatusOr<std::string> ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string json;
  const auto status = google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!status.ok()) {
    return absl::InternalError(
        absl::StrCat("cannot write ", message.GetTypeName(), " as JSON: ", status.ToString()));
  }
  return json;
}

}  // namespace livecall
