#ifndef LIVECALL_SERVICES_CALL_CONTROL_CALLS_CALL_SESSIONS_H_
#define LIVECALL_SERVICES_CALL_CONTROL_CALLS_CALL_SESSIONS_H_

// The AI session beside each call: started when the call starts (placed, dialled from a browser,
// or ringing in), recorded on the call, and ended (summary, disposition, CRM outbox) when the call
// ends, whichever way it ends: a status callback, the sandbox, or a hang-up through the API.
// Ending is a durable job (livecall:sessions:to-end, call_store.h): written with the call's
// terminal state, worked off by every replica until ai-session confirms.

#include <string>

#include "absl/status/statusor.h"
#include "common/executor.h"
#include "livecall/v1/call_control.pb.h"
#include "services/call-control/ai_session_client.h"
#include "services/call-control/calls/call_store.h"

namespace livecall::call_control {

// How ending a session is retried: first after `first`, doubling up to `max`.
struct SessionEndRetry {
  absl::Duration first = absl::Seconds(1);
  absl::Duration max = absl::Minutes(1);
};

class CallSessions {
 public:
  // All three must outlive this.
  CallSessions(CallStore& calls, AiSessionClient& ai, Executor& executor,
               SessionEndRetry retry = {})
      : calls_(calls), ai_(ai), executor_(executor), retry_(retry) {}

  // Starts the session for `call` (the customer's number is `to`, or `from` when inbound) in
  // `language` (empty: the customer's) and records its id and language on the call. Answers the
  // call as stored. The call matters more than its assistant: callers go on without a session.
  absl::StatusOr<livecall::v1::Call> Start(const livecall::v1::Call& call,
                                           const std::string& agent_id,
                                           const std::string& language);
  // Start's two halves, for a caller that writes the call once the session exists (a customer's
  // /twilio/voice): Open asks ai-session for the session (failures logged), Record records it on
  // the stored call.
  absl::StatusOr<livecall::v1::Session> Open(const livecall::v1::Call& call,
                                             const std::string& agent_id,
                                             const std::string& language);
  // Open without blocking (AiSessionClient::StartSessionAsync): `done` runs once, on the polling
  // thread that called this (where it may block) or, called from elsewhere, on a thread of gRPC's
  // (where it must not). The call carries `request_id`.
  void OpenAsync(const livecall::v1::Call& call, const std::string& agent_id,
                 const std::string& language, const std::string& request_id,
                 AiSessionClient::SessionDone done);
  absl::StatusOr<livecall::v1::Call> Record(const std::string& call_sid,
                                            const livecall::v1::Session& session);

  // Gives the call's session to `agent_id` (the agent who answered the call: an inbound call, or
  // an AI call handed over), so that agent may read it and its live events. OK when the call has
  // no session or the session is already that agent's; FAILED_PRECONDITION when another agent
  // owns it.
  absl::Status Assign(const livecall::v1::Call& call, const std::string& agent_id);

  // When `call` has ended and has a session, tries once, in the background, to end the session
  // now. Never blocks the caller. Durable either way: the write that ended the call put the
  // session on the schedule in Redis (CallStore), which EndDueSessions works off on every replica
  // until ai-session confirms, so an outage or a restart of call-control only delays it.
  void EndIfFinished(const livecall::v1::Call& call);

  // Ends every session on the schedule that is due at `now`, each claimed by one replica and
  // retried with backoff (SessionEndRetry) while ai-session fails. Answers how many it ended.
  // Run periodically by main (every `retry.first`).
  absl::StatusOr<int> EndDueSessions(absl::Time now);

  // One attempt to end `call`'s session (ai-session's EndSession); a session that has ended
  // already is fine.
  absl::Status EndNow(const livecall::v1::Call& call);

  AiSessionClient& ai() { return ai_; }

 private:
  // Claims `call_sid`'s entry on the schedule and tries to end its session: true when it ended
  // (or there was nothing left to end), false when it was not due or the attempt failed.
  absl::StatusOr<bool> EndScheduled(const std::string& call_sid, absl::Time now);

  CallStore& calls_;
  AiSessionClient& ai_;
  Executor& executor_;
  const SessionEndRetry retry_;
};

// The session's disposition for how the call ended: "completed", "escalated" (an AI call handed to
// a human agent), "no-answer" (busy, failed, no-answer, canceled).
std::string DispositionOf(const livecall::v1::Call& call);

}  // namespace livecall::call_control

#endif  // LIVECALL_SERVICES_CALL_CONTROL_CALLS_CALL_SESSIONS_H_
