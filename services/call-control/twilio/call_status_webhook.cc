// /twilio/status: forward-only moves of the call's state machine; when the customer's leg ends,
// the call's other legs stop (StopOtherLegs).

#include "absl/strings/str_cat.h"
#include "common/enum_json.h"
#include "common/ids.h"
#include "common/log.h"
#include "services/call-control/calls/call_state_machine.h"
#include "services/call-control/twilio/twilio_webhook_internal.h"
#include "services/call-control/twilio/twilio_webhook_service.h"

namespace livecall::call_control {
using webhook_internal::EventTime;
using webhook_internal::Param;

absl::Status TwilioWebhookService::HandleCallStatus(const Params& params) {
  const std::string sid = Param(params, "CallSid");
  const std::string status = Param(params, "CallStatus");
  if (!IsCallSidShaped(sid)) return absl::InvalidArgumentError("CallSid is missing or malformed");
  // Twilio's "initiated" is known but moves nothing: the call is queued from the start.
  const std::optional<livecall::v1::CallStatus> reported = ParseCallStatus(status);
  if (status != "initiated" && !reported.has_value()) {
    return absl::InvalidArgumentError(absl::StrCat("unknown CallStatus \"", status, "\""));
  }
  absl::StatusOr<std::string> own = calls_.Resolve(sid);
  if (!own.ok()) return own.status();
  // Only the customer's leg is the call's state; an agent leg ends with the conference.
  if (*own != sid) return absl::OkStatus();
  const absl::Time at = EventTime(params);
  bool ended = false;
  absl::StatusOr<livecall::v1::Call> call =
      calls_.Update(sid, [&](livecall::v1::Call& stored) -> absl::StatusOr<bool> {
        ended = false;
        if (!reported.has_value() || !IsForwardReport(stored.status(), *reported)) return false;
        RecordCallStatus(stored, *reported, at);
        if (IsTerminalCallStatus(*reported)) stored.set_on_hold(false);
        ended = IsTerminalCallStatus(*reported);
        return true;
      });
  if (absl::IsNotFound(call.status())) {
    LogInfo("status callback for a call we do not track", {{"callSid", sid}, {"status", status}});
    return absl::OkStatus();
  }
  if (!call.ok()) return call.status();
  sessions_.EndIfFinished(*call);
  // The customer's leg has ended (busy, no-answer, failed, canceled, or hung up): nobody stays
  // behind on the call's other legs.
  if (ended) StopOtherLegs(*call, /*cancel_customer=*/false);
  return absl::OkStatus();
}

}  // namespace livecall::call_control
