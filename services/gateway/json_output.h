#ifndef LIVECALL_SERVICES_GATEWAY_JSON_OUTPUT_H_
#define LIVECALL_SERVICES_GATEWAY_JSON_OUTPUT_H_

// The JSON the gateway writes itself (error bodies, /healthz, /readyz, the dev login's token
// claims) is a google.protobuf.Struct printed by protobuf's JSON printer, so quoting and escaping
// are protobuf's, not hand-written. A Struct is a map, whose iteration order is not stable: keys
// are printed sorted, so one object always prints as the same bytes.

#include <google/protobuf/struct.pb.h>

#include <string>

#include "absl/strings/string_view.h"

namespace livecall::gateway {

// `text` with every invalid UTF-8 sequence replaced by U+FFFD.
std::string ToValidUtf8(absl::string_view text);

// A JSON string; invalid UTF-8 in `text` (it may quote client input) becomes U+FFFD, so the
// printed JSON is always valid.
google::protobuf::Value JsonString(absl::string_view text);

// `object` as compact JSON with its keys sorted at every level. Strings set through JsonString
// and finite numbers always print; anything else is a bug, logged, and prints as "{}".
std::string PrintJson(const google::protobuf::Struct& object);

}  // namespace livecall::gateway

#endif  // LIVECALL_SERVICES_GATEWAY_JSON_OUTPUT_H_
