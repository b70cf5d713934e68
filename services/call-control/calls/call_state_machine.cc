#include "services/call-control/calls/call_state_machine.h"

#include <array>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/proto_time.h"

namespace livecall::call_control {
namespace {

constexpr std::array<absl::string_view, 8> kStatuses = {
    "queued", "ringing", "in-progress", "completed", "busy", "failed", "no-answer", "canceled"};

constexpr std::array<std::pair<absl::string_view, absl::string_view>, 11> kTransitions = {{
    {"queued", "ringing"},
    {"queued", "canceled"},
    {"queued", "failed"},
    {"ringing", "in-progress"},
    {"ringing", "busy"},
    {"ringing", "no-answer"},
    {"ringing", "canceled"},
    {"ringing", "failed"},
    {"in-progress", "completed"},
    {"in-progress", "failed"},
    // Twilio may report an answered call straight from queued when ringing is not observed.
    {"queued", "in-progress"},
}};

}  // namespace

bool IsKnownCallStatus(absl::string_view status) {
  for (absl::string_view known : kStatuses) {
    if (status == known) return true;
  }
  return false;
}

bool IsTerminalCallStatus(absl::string_view status) {
  return status == "completed" || status == "busy" || status == "failed" || status == "no-answer" ||
         status == "canceled";
}

absl::Status CheckCallTransition(absl::string_view from, absl::string_view to) {
  if (!IsKnownCallStatus(from) || !IsKnownCallStatus(to)) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown call status in \"", from, "\" -> \"", to, "\""));
  }
  for (const auto& [allowed_from, allowed_to] : kTransitions) {
    if (from == allowed_from && to == allowed_to) return absl::OkStatus();
  }
  return absl::FailedPreconditionError(absl::StrCat("a call cannot go from ", from, " to ", to));
}

namespace {

int StatusRank(absl::string_view status) {
  if (status == "queued" || status == "initiated") return 0;
  if (status == "ringing") return 1;
  if (status == "in-progress") return 2;
  return 3;
}

}  // namespace

bool IsForwardReport(absl::string_view current, absl::string_view reported) {
  if (!IsKnownCallStatus(reported) || IsTerminalCallStatus(current)) return false;
  return StatusRank(reported) > StatusRank(current);
}

void RecordCallStatus(livecall::v1::Call& call, const std::string& status, absl::Time at) {
  call.set_status(status);
  *call.mutable_updated_at() = ToProtoTimestamp(at);
  livecall::v1::CallEvent* event = call.add_history();
  event->set_status(status);
  *event->mutable_at() = ToProtoTimestamp(at);
}

}  // namespace livecall::call_control
