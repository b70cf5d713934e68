#ifndef LIVECALL_SERVICES_CALL_CONTROL_CALL_STATE_MACHINE_H_
#define LIVECALL_SERVICES_CALL_CONTROL_CALL_STATE_MACHINE_H_

// A call's lifecycle in Twilio's vocabulary:
//   queued -> ringing -> in-progress -> completed
//   queued|ringing -> canceled | failed;  ringing -> busy | no-answer;  in-progress -> failed
// completed, busy, failed, no-answer and canceled are terminal.

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace livecall::call_control {

bool IsKnownCallStatus(absl::string_view status);
bool IsTerminalCallStatus(absl::string_view status);

// OK when `from` -> `to` is a legal step; FAILED_PRECONDITION naming both otherwise.
absl::Status CheckCallTransition(absl::string_view from, absl::string_view to);

}  // namespace livecall::call_control

#endif  // LIVECALL_SERVICES_CALL_CONTROL_CALL_STATE_MACHINE_H_
