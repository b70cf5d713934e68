#ifndef LIVECALL_SERVICES_CALL_CONTROL_CALLS_CALL_STATE_MACHINE_H_
#define LIVECALL_SERVICES_CALL_CONTROL_CALLS_CALL_STATE_MACHINE_H_

// A call's lifecycle in Twilio's vocabulary:
//   queued -> ringing -> in-progress -> completed
//   queued|ringing -> canceled | failed;  ringing -> busy | no-answer;  in-progress -> failed
// completed, busy, failed, no-answer and canceled are terminal.

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "livecall/v1/call_control.pb.h"

namespace livecall::call_control {

bool IsKnownCallStatus(absl::string_view status);
bool IsTerminalCallStatus(absl::string_view status);

// OK when `from` -> `to` is a legal step; FAILED_PRECONDITION naming both otherwise.
absl::Status CheckCallTransition(absl::string_view from, absl::string_view to);

// Whether a status Twilio reports (status callback, conference join) moves a call in `current`
// forward. Statuses are ranked queued (and Twilio's "initiated") < ringing < in-progress <
// terminal, and only a strictly higher rank is applied, never after a terminal one. Applying only
// forward moves makes the outcome independent of delivery order and duplicates: a late "ringing"
// after "in-progress" changes nothing, and "completed" is final even when "in-progress" was lost.
bool IsForwardReport(absl::string_view current, absl::string_view reported);

// Sets the status and updated_at, and appends the history event.
void RecordCallStatus(livecall::v1::Call& call, const std::string& status, absl::Time at);

}  // namespace livecall::call_control

#endif  // LIVECALL_SERVICES_CALL_CONTROL_CALLS_CALL_STATE_MACHINE_H_
