#ifndef LIVECALL_TESTS_SUPPORT_WAIT_FOR_H_
#define LIVECALL_TESTS_SUPPORT_WAIT_FOR_H_

#include <functional>

#include "absl/time/time.h"

namespace livecall::testing {

// Polls `condition` until it returns true (then true) or `timeout` passes (then false). The
// interval starts at 2 ms and doubles up to 100 ms, so a fast condition costs almost nothing and
// a slow one does not spin. The only way tests wait for something to happen: never sleep.
bool WaitFor(const std::function<bool()>& condition, absl::Duration timeout);

}  // namespace livecall::testing

#endif  // LIVECALL_TESTS_SUPPORT_WAIT_FOR_H_
