#include "services/call-control/calls/call_sessions.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "common/status.h"
#include "services/call-control/calls/call_state_machine.h"

namespace livecall::call_control {
namespace {

// How many scheduled sessions one sweep takes on.
constexpr int kSessionEndsPerSweep = 100;

// An answer of ai-session that trying again will not change.
bool IsPermanent(const absl::Status& status) {
  return absl::IsInvalidArgument(status) || absl::IsNotFound(status);
}

}  // namespace

std::string DispositionOf(const livecall::v1::Call& call) {
  if (call.status() != livecall::v1::CALL_STATUS_COMPLETED) return "no-answer";
  return call.handed_off() ? "escalated" : "completed";
}

absl::StatusOr<livecall::v1::Call> CallSessions::Start(const livecall::v1::Call& call,
                                                       const std::string& agent_id,
                                                       const std::string& language) {
  absl::StatusOr<livecall::v1::Session> session = Open(call, agent_id, language);
  if (!session.ok()) return session.status();
  return Record(call.call_sid(), *session);
}

namespace {

livecall::v1::StartSessionRequest StartRequestFor(const livecall::v1::Call& call,
                                                  const std::string& agent_id,
                                                  const std::string& language) {
  livecall::v1::StartSessionRequest request;
  const bool inbound = call.direction() == "inbound";
  request.set_phone_number(inbound ? call.from() : call.to());
  request.set_call_sid(call.call_sid());
  request.set_direction(inbound ? "inbound" : "outbound");
  request.set_agent_id(agent_id);
  request.set_language(language);
  return request;
}

void LogOpenFailure(const std::string& call_sid, const absl::Status& status) {
  LogError("cannot start the AI session; the call goes on without it",
           {{"callSid", call_sid}, {"error", status.ToString()}});
}

}  // namespace

absl::StatusOr<livecall::v1::Session> CallSessions::Open(const livecall::v1::Call& call,
                                                         const std::string& agent_id,
                                                         const std::string& language) {
  absl::StatusOr<livecall::v1::Session> session =
      ai_.StartSession(StartRequestFor(call, agent_id, language));
  if (!session.ok()) LogOpenFailure(call.call_sid(), session.status());
  return session;
}

void CallSessions::OpenAsync(const livecall::v1::Call& call, const std::string& agent_id,
                             const std::string& language, const std::string& request_id,
                             AiSessionClient::SessionDone done) {
  ai_.StartSessionAsync(StartRequestFor(call, agent_id, language), request_id,
                        [call_sid = call.call_sid(),
                         done = std::move(done)](absl::StatusOr<livecall::v1::Session> session) {
                          if (!session.ok()) LogOpenFailure(call_sid, session.status());
                          done(std::move(session));
                        });
}

absl::StatusOr<livecall::v1::Call> CallSessions::Record(const std::string& call_sid,
                                                        const livecall::v1::Session& session) {
  absl::StatusOr<livecall::v1::Call> updated =
      calls_.Update(call_sid, [&](livecall::v1::Call& stored) -> absl::StatusOr<bool> {
        stored.set_session_id(session.session_id());
        stored.set_language(session.language());
        // An AI call opens with the session's greeting unless the caller of PlaceCall gave one.
        if (stored.mode() == livecall::v1::CALL_MODE_AI && stored.text().empty())
          stored.set_text(session.greeting());
        return true;
      });
  if (!updated.ok()) {
    LogError("cannot record the call's AI session",
             {{"callSid", call_sid}, {"error", updated.status().ToString()}});
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
  executor_.Submit([this, call_sid = call.call_sid()] {
    absl::StatusOr<bool> ended = EndScheduled(call_sid, absl::Now());
    if (!ended.ok()) {
      LogWarning("cannot end the AI session of a call that ended yet; it stays scheduled",
                 {{"callSid", call_sid}, {"error", ended.status().ToString()}});
    }
  });
}

absl::StatusOr<int> CallSessions::EndDueSessions(absl::Time now) {
  LIVECALL_ASSIGN_OR_RETURN(std::vector<std::string> due,
                            calls_.DueSessionEnds(now, kSessionEndsPerSweep));
  int ended = 0;
  for (const std::string& call_sid : due) {
    LIVECALL_ASSIGN_OR_RETURN(bool done, EndScheduled(call_sid, now));
    if (done) ++ended;
  }
  return ended;
}

absl::StatusOr<bool> CallSessions::EndScheduled(const std::string& call_sid, absl::Time now) {
  LIVECALL_ASSIGN_OR_RETURN(int attempt,
                            calls_.ClaimSessionEnd(call_sid, now, retry_.first, retry_.max));
  if (attempt == 0) return false;  // Not due, or another replica has it.
  absl::StatusOr<livecall::v1::Call> call = calls_.Get(call_sid);
  if (absl::IsNotFound(call.status())) {
    LogWarning("a call whose AI session was to be ended has expired; giving up",
               {{"callSid", call_sid}});
    LIVECALL_RETURN_IF_ERROR(calls_.FinishSessionEnd(call_sid));
    return true;
  }
  if (!call.ok()) return call.status();
  const absl::Status status = call->session_id().empty() ? absl::OkStatus() : EndNow(*call);
  if (!status.ok() && !IsPermanent(status)) {
    LogWarning("call ended but its AI session could not be ended yet; retrying later",
               {{"callSid", call_sid},
                {"sessionId", call->session_id()},
                {"attempt", absl::StrCat(attempt)},
                {"error", status.ToString()}});
    return false;
  }
  LIVECALL_RETURN_IF_ERROR(calls_.FinishSessionEnd(call_sid));
  if (status.ok()) {
    LogInfo("call ended; its AI session ended",
            {{"callSid", call_sid}, {"sessionId", call->session_id()}});
  } else {
    LogError(
        "call ended but ai-session refused to end its AI session",
        {{"callSid", call_sid}, {"sessionId", call->session_id()}, {"error", status.ToString()}});
  }
  return true;
}

}  // namespace livecall::call_control
