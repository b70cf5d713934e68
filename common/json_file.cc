#include "common/json_file.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <fstream>
#include <memory>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/enum_json.h"
#include "common/json.h"

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
  const google::protobuf::FieldDescriptor* field =
      list->GetDescriptor()->FindFieldByName(std::string(field_name));
  if (field == nullptr || !field->is_repeated() ||
      field->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) {
    return absl::InternalError(
        absl::StrCat(list->GetTypeName(), " has no repeated message field ", field_name));
  }
  absl::StatusOr<std::string> content = ReadFileToString(path);
  if (!content.ok()) return content.status();
  google::protobuf::ListValue entries;
  if (auto status = google::protobuf::util::JsonStringToMessage(*content, &entries); !status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": not a JSON array of the expected entries: ", std::string(status.message())));
  }
  // Each entry through the strict parser on its own, so that an error names the entry; `list` is
  // changed only when every entry is good.
  std::unique_ptr<google::protobuf::Message> parsed(list->New());
  const google::protobuf::Reflection* reflection = parsed->GetReflection();
  google::protobuf::util::JsonParseOptions strict;
  strict.ignore_unknown_fields = false;
  for (int i = 0; i < entries.values_size(); ++i) {
    absl::StatusOr<std::string> entry_json = ToJson(entries.values(i));
    if (!entry_json.ok()) return entry_json.status();
    google::protobuf::Message* entry = reflection->AddMessage(parsed.get(), field);
    // The contract's enum spellings (enum_json.h), as the page and the REST API write them.
    if (absl::Status status = ParseJson(*entry_json, entry, strict); !status.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": entry #", i + 1, " is not one of the expected entries: ", status.ToString()));
    }
  }
  list->GetReflection()->Swap(list, parsed.get());
  return absl::OkStatus();
}

}  // namespace livecall
