#ifndef LIVECALL_SERVICES_CALL_CONTROL_CALLS_CALL_STATE_MACHINE_H_
#define LIVECALL_SERVICES_CALL_CONTROL_CALLS_CALL_STATE_MACHINE_H_

// A call's lifecycle in Twilio's vocabulary:
//   queued -> ringing -> in-progress -> completed
//   queued|ringing -> canceled | failed;  ringing -> busy | no-answer;  in-progress -> failed
// completed, busy, failed, no-answer and canceled are terminal.

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "livecall/v1/call_control.pb.h"

namespace livecall::call_control {

using livecall::v1::CallStatus;
// The statuses by name, for the call model's users in call-control.
using livecall::v1::CALL_STATUS_BUSY;
using livecall::v1::CALL_STATUS_CANCELED;
using livecall::v1::CALL_STATUS_COMPLETED;
using livecall::v1::CALL_STATUS_FAILED;
using livecall::v1::CALL_STATUS_IN_PROGRESS;
using livecall::v1::CALL_STATUS_NO_ANSWER;
using livecall::v1::CALL_STATUS_QUEUED;
using livecall::v1::CALL_STATUS_RINGING;
using livecall::v1::CALL_STATUS_UNSPECIFIED;

// The status Twilio spells `status` (its CallStatus parameter, which is also our JSON spelling),
// or nullopt for one a Call does not take: Twilio's "initiated", "answered", anything unknown.
std::optional<CallStatus> ParseCallStatus(absl::string_view status);
bool IsTerminalCallStatus(CallStatus status);

// OK when `from` -> `to` is a legal step; FAILED_PRECONDITION naming both otherwise.
absl::Status CheckCallTransition(CallStatus from, CallStatus to);

// Whether a status Twilio reports (status callback, conference join) moves a call in `current`
// forward. Statuses are ranked queued < ringing < in-progress < terminal, and only a strictly
// higher rank is applied, never after a terminal one. Applying only forward moves makes the
// outcome independent of delivery order and duplicates: a late "ringing" after "in-progress"
// changes nothing, and "completed" is final even when "in-progress" was lost.
bool IsForwardReport(CallStatus current, CallStatus reported);

// Sets the status and updated_at, and appends the history event.
void RecordCallStatus(livecall::v1::Call& call, CallStatus status, absl::Time at);

}  // namespace livecall::call_control

#endif  // LIVECALL_SERVICES_CALL_CONTROL_CALLS_CALL_STATE_MACHINE_H_
