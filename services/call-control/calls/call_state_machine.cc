#include "services/call-control/calls/call_state_machine.h"

#include <array>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/enum_json.h"
#include "common/proto_time.h"

namespace livecall::call_control {
namespace {

constexpr std::array<std::pair<CallStatus, CallStatus>, 11> kTransitions = {{
    {CALL_STATUS_QUEUED, CALL_STATUS_RINGING},
    {CALL_STATUS_QUEUED, CALL_STATUS_CANCELED},
    {CALL_STATUS_QUEUED, CALL_STATUS_FAILED},
    {CALL_STATUS_RINGING, CALL_STATUS_IN_PROGRESS},
    {CALL_STATUS_RINGING, CALL_STATUS_BUSY},
    {CALL_STATUS_RINGING, CALL_STATUS_NO_ANSWER},
    {CALL_STATUS_RINGING, CALL_STATUS_CANCELED},
    {CALL_STATUS_RINGING, CALL_STATUS_FAILED},
    {CALL_STATUS_IN_PROGRESS, CALL_STATUS_COMPLETED},
    {CALL_STATUS_IN_PROGRESS, CALL_STATUS_FAILED},
    // Twilio may report an answered call straight from queued when ringing is not observed.
    {CALL_STATUS_QUEUED, CALL_STATUS_IN_PROGRESS},
}};

int StatusRank(CallStatus status) {
  switch (status) {
    case CALL_STATUS_QUEUED:
      return 0;
    case CALL_STATUS_RINGING:
      return 1;
    case CALL_STATUS_IN_PROGRESS:
      return 2;
    default:
      return 3;
  }
}

}  // namespace

std::optional<CallStatus> ParseCallStatus(absl::string_view status) {
  std::optional<CallStatus> parsed = ParseEnumJsonName<CallStatus>(status);
  if (parsed == CALL_STATUS_UNSPECIFIED) return std::nullopt;
  return parsed;
}

bool IsTerminalCallStatus(CallStatus status) {
  return status == CALL_STATUS_COMPLETED || status == CALL_STATUS_BUSY ||
         status == CALL_STATUS_FAILED || status == CALL_STATUS_NO_ANSWER ||
         status == CALL_STATUS_CANCELED;
}

absl::Status CheckCallTransition(CallStatus from, CallStatus to) {
  if (from == CALL_STATUS_UNSPECIFIED || to == CALL_STATUS_UNSPECIFIED) {
    return absl::InvalidArgumentError(absl::StrCat("unknown call status in \"", EnumJsonName(from),
                                                   "\" -> \"", EnumJsonName(to), "\""));
  }
  for (const auto& [allowed_from, allowed_to] : kTransitions) {
    if (from == allowed_from && to == allowed_to) return absl::OkStatus();
  }
  return absl::FailedPreconditionError(
      absl::StrCat("a call cannot go from ", EnumJsonName(from), " to ", EnumJsonName(to)));
}

bool IsForwardReport(CallStatus current, CallStatus reported) {
  if (reported == CALL_STATUS_UNSPECIFIED || IsTerminalCallStatus(current)) return false;
  return StatusRank(reported) > StatusRank(current);
}

void RecordCallStatus(livecall::v1::Call& call, CallStatus status, absl::Time at) {
  call.set_status(status);
  *call.mutable_updated_at() = ToProtoTimestamp(at);
  livecall::v1::CallEvent* event = call.add_history();
  event->set_status(status);
  *event->mutable_at() = ToProtoTimestamp(at);
}

}  // namespace livecall::call_control
