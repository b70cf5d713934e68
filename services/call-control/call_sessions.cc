#include "services/call-control/call_sessions.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "services/call-control/call_state_machine.h"

namespace livecall::call_control {
namespace {

constexpr int kEndAttempts = 3;
constexpr absl::Duration kEndRetryPause = absl::Milliseconds(500);

}  // namespace

std::string DispositionOf(const livecall::v1::Call& call) {
  if (call.status() != "completed") return "no-answer";
  return call.handed_off() ? "escalated" : "completed";
}

absl::StatusOr<livecall::v1::Call> CallSessions::Start(const livecall::v1::Call& call,
                                                       const std::string& agent_id,
                                                       const std::string& language) {
  livecall::v1::StartSessionRequest request;
  const bool inbound = call.direction() == "inbound";
  request.set_phone_number(inbound ? call.from() : call.to());
  request.set_call_sid(call.call_sid());
  request.set_direction(inbound ? "inbound" : "outbound");
  request.set_agent_id(agent_id);
  request.set_language(language);
  absl::StatusOr<livecall::v1::Session> session = ai_.StartSession(request);
  if (!session.ok()) {
    LogError("cannot start the AI session; the call goes on without it",
             {{"callSid", call.call_sid()}, {"error", session.status().ToString()}});
    return session.status();
  }
  absl::StatusOr<livecall::v1::Call> updated =
      calls_.Update(call.call_sid(), [&](livecall::v1::Call& stored) -> absl::StatusOr<bool> {
        stored.set_session_id(session->session_id());
        stored.set_language(session->language());
        // An AI call opens with the session's greeting unless the caller of PlaceCall gave one.
        if (stored.mode() == "ai" && stored.text().empty()) stored.set_text(session->greeting());
        return true;
      });
  if (!updated.ok()) {
    LogError("cannot record the call's AI session",
             {{"callSid", call.call_sid()}, {"error", updated.status().ToString()}});
  }
  return updated;
}

absl::Status CallSessions::Assign(const livecall::v1::Call& call, const std::string& agent_id) {
  if (call.session_id().empty()) return absl::OkStatus();
  livecall::v1::AssignSessionRequest request;
  request.set_session_id(call.session_id());
  request.set_agent_id(agent_id);
  absl::StatusOr<livecall::v1::Session> assigned = ai_.AssignSession(request);
  if (!assigned.ok()) return assigned.status();
  LogInfo("call's AI session assigned to the agent who answered",
          {{"callSid", call.call_sid()}, {"sessionId", call.session_id()}, {"agent", agent_id}});
  return absl::OkStatus();
}

absl::Status CallSessions::EndNow(const livecall::v1::Call& call) {
  livecall::v1::EndAiSessionRequest request;
  request.set_session_id(call.session_id());
  request.set_disposition(DispositionOf(call));
  absl::StatusOr<livecall::v1::Session> ended = ai_.EndSession(request);
  // FAILED_PRECONDITION: it has ended already (the agent ended it, or a retried callback).
  if (ended.ok() || absl::IsFailedPrecondition(ended.status())) return absl::OkStatus();
  return ended.status();
}

void CallSessions::EndIfFinished(const livecall::v1::Call& call) {
  if (call.session_id().empty() || !IsTerminalCallStatus(call.status())) return;
  executor_.Submit([this, call] {
    absl::Status status;
    for (int attempt = 1; attempt <= kEndAttempts; ++attempt) {
      status = EndNow(call);
      if (status.ok() || absl::IsInvalidArgument(status) || absl::IsNotFound(status)) break;
      if (attempt < kEndAttempts) absl::SleepFor(kEndRetryPause * attempt);
    }
    if (status.ok()) {
      LogInfo("call ended; its AI session ended",
              {{"callSid", call.call_sid()}, {"sessionId", call.session_id()}});
    } else {
      LogError("call ended but its AI session could not be ended",
               {{"callSid", call.call_sid()},
                {"sessionId", call.session_id()},
                {"error", status.ToString()}});
    }
  });
}

}  // namespace livecall::call_control
