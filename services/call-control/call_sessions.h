#ifndef LIVECALL_SERVICES_CALL_CONTROL_CALL_SESSIONS_H_
#define LIVECALL_SERVICES_CALL_CONTROL_CALL_SESSIONS_H_

// The AI session beside each call: started when the call starts (placed, dialled from a browser,
// or ringing in), recorded on the call, and ended (summary, disposition, CRM outbox) when the call
// ends, whichever way it ends: a status callback, the sandbox, or a hang-up through the API.

#include <string>

#include "absl/status/statusor.h"
#include "common/executor.h"
#include "livecall/v1/call_control.pb.h"
#include "services/call-control/ai_session_client.h"
#include "services/call-control/call_store.h"

namespace livecall::call_control {

class CallSessions {
 public:
  // All three must outlive this.
  CallSessions(CallStore& calls, AiSessionClient& ai, Executor& executor)
      : calls_(calls), ai_(ai), executor_(executor) {}

  // Starts the session for `call` (the customer's number is `to`, or `from` when inbound) in
  // `language` (empty: the customer's) and records its id and language on the call. Answers the
  // call as stored. The call matters more than its assistant: callers go on without a session.
  absl::StatusOr<livecall::v1::Call> Start(const livecall::v1::Call& call,
                                           const std::string& agent_id,
                                           const std::string& language);

  // Gives the call's session to `agent_id` (the agent who answered the call: an inbound call, or
  // an AI call handed over), so that agent may read it and its live events. OK when the call has
  // no session or the session is already that agent's; FAILED_PRECONDITION when another agent
  // owns it.
  absl::Status Assign(const livecall::v1::Call& call, const std::string& agent_id);

  // When `call` has ended and has a session, ends the session in the background (retried a few
  // times; a session that has ended already is fine). Never blocks the caller.
  void EndIfFinished(const livecall::v1::Call& call);

  // The blocking part of EndIfFinished, for tests and the background task.
  absl::Status EndNow(const livecall::v1::Call& call);

  AiSessionClient& ai() { return ai_; }

 private:
  CallStore& calls_;
  AiSessionClient& ai_;
  Executor& executor_;
};

// The session's disposition for how the call ended: "completed", "escalated" (an AI call handed to
// a human agent), "no-answer" (busy, failed, no-answer, canceled).
std::string DispositionOf(const livecall::v1::Call& call);

}  // namespace livecall::call_control

#endif  // LIVECALL_SERVICES_CALL_CONTROL_CALL_SESSIONS_H_
