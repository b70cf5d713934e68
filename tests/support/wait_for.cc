#include "tests/support/wait_for.h"

#include <algorithm>

#include "absl/time/clock.h"

namespace livecall::testing {

bool WaitFor(const std::function<bool()>& condition, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::Duration interval = absl::Milliseconds(2);
  while (true) {
    if (condition()) return true;
    absl::Time now = absl::Now();
    if (now >= deadline) return false;
    absl::SleepFor(std::min(interval, deadline - now));
    interval = std::min(interval * 2, absl::Milliseconds(100));
  }
}

}  // namespace livecall::testing
