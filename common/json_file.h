#ifndef LIVECALL_COMMON_JSON_FILE_H_
#define LIVECALL_COMMON_JSON_FILE_H_

// Reads a data file that is a JSON array into a repeated field of a wrapper message, with
// protobuf's strict JSON parser (an unknown field is an error that names the file and the entry).

#include <google/protobuf/message.h>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace livecall {

absl::StatusOr<std::string> ReadFileToString(const std::string& path);

// `list` must be a message with the repeated message field `field_name`. INVALID_ARGUMENT naming
// the file (and the entry, "entry #3") when it is not such an array; `list` is then unchanged.
absl::Status ParseJsonArrayFile(const std::string& path, absl::string_view field_name,
                                google::protobuf::Message* list);

}  // namespace livecall

#endif  // LIVECALL_COMMON_JSON_FILE_H_
