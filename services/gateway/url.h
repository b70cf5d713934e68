#ifndef LIVECALL_SERVICES_GATEWAY_URL_H_
#define LIVECALL_SERVICES_GATEWAY_URL_H_

// The pieces of a request target the gateway reads: the path, and the query's parameters.
// Everything decoded here ends up in proto3 string fields, which must be valid UTF-8, so decoding
// rejects bad escapes and invalid UTF-8 instead of passing them to a backend.

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace livecall::gateway {

// "/a/b?x=1" → {"/a/b", "x=1"}. A fragment, if a client sends one, is dropped.
struct RequestTarget {
  absl::string_view path;
  absl::string_view query;
};
RequestTarget SplitTarget(absl::string_view target);

// Decodes %XX escapes (and '+' as a space when `plus_is_space`, as in HTML form queries).
// INVALID_ARGUMENT for a '%' not followed by two hex digits or a result that is not UTF-8.
absl::StatusOr<std::string> PercentDecode(absl::string_view text, bool plus_is_space);

// "a=1&b=x%20y&c" → {{"a","1"},{"b","x y"},{"c",""}}, in order, repeats kept.
absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ParseQuery(
    absl::string_view query);

}  // namespace livecall::gateway

#endif  // LIVECALL_SERVICES_GATEWAY_URL_H_
