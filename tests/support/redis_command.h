#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace livecall::testing {

// Runs one command on the Redis (or Sentinel) listening on 127.0.0.1:`port` over a connection of
// its own, after AUTH when `password` is set, and answers the reply as text: strings, statuses
// and errors as they are, integers in decimal, arrays one element per line. A test's view of a
// node it set up, independent of the pool under test.
absl::StatusOr<std::string> RedisCommandText(int port, const std::vector<std::string>& argv,
                                             absl::string_view password = "");

}  // namespace livecall::testing
