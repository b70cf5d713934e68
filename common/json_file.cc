#include "common/json_file.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/enum_json.h"

namespace livecall {

absl::StatusOr<std::string> ReadFileToString(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) return absl::DataLossError(absl::StrCat("cannot read ", path));
  return content.str();
}

absl::Status ParseJsonArrayFile(const std::string& path, absl::string_view field_name,
                                google::protobuf::Message* list) {
  absl::StatusOr<std::string> content = ReadFileToString(path);
  if (!content.ok()) return content.status();
  std::string wrapped = absl::StrCat("{\"", field_name, "\":", *content, "}");
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  absl::Status status = ParseJson(wrapped, list, options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not a JSON array of the expected entries: ", status.message()));
  }
  return absl::OkStatus();
}

}  // namespace livecall
