#ifndef LIVECALL_SERVICES_AI_SESSION_AI_SESSION_SERVICE_H_
#define LIVECALL_SERVICES_AI_SESSION_AI_SESSION_SERVICE_H_

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/async_unary.h"
#include "common/caller_identity.h"
#include "common/circuit_breaker.h"
#include "common/executor.h"
#include "common/pending_calls.h"
#include "livecall/v1/ai_session.grpc.pb.h"
#include "livecall/v1/call_control.grpc.pb.h"
#include "livecall/v1/context.grpc.pb.h"
#include "services/ai-session/caller_replies.h"
#include "services/ai-session/knowledge_base.h"
#include "services/ai-session/llm_client.h"

namespace livecall::ai_session {

// Longest turn text accepted (a few minutes of speech).
inline constexpr size_t kMaxTurnTextLength = 2000;

struct AiEngineOptions {
  absl::Duration peer_deadline = absl::Seconds(2);  // Each call to context.
  absl::Duration llm_suggestion_deadline = absl::Milliseconds(1500);
  absl::Duration llm_greeting_deadline = absl::Milliseconds(1000);
  absl::Duration llm_summary_deadline = absl::Seconds(5);
  int llm_max_prompt_tokens = 2000;
  // The voice agent waits this long for the LLM's reply to a caller (Twilio is waiting on TwiML).
  absl::Duration llm_caller_reply_deadline = absl::Milliseconds(1500);
  VoiceAgentOptions voice;
};

// livecall.v1.AiSession: the AI session beside a call. Greeting, suggestions and the summary come
// from the LLM when one is configured and answers in time, else from the embedded engine; an LLM
// failure never fails the request. Holds no state of its own: sessions live in Redis through
// context.
//
// Every RPC is answered from gRPC's callback threads: the calls to context and call-control use
// the callback client API (common/async_unary.h), and only the LLM, which blocks (libcurl), is
// asked from the executor.
class AiSessionService final : public livecall::v1::AiSession::CallbackService {
 public:
  // `llm` may be null (embedded engine only); `calls` may be null (no call record is attached to
  // a finished conversation).
  AiSessionService(livecall::v1::Context::StubInterface& context, const KnowledgeBase& kb,
                   LlmClient* llm, Executor& executor, AiEngineOptions options,
                   livecall::v1::CallControl::StubInterface* calls = nullptr)
      : context_(context),
        kb_(kb),
        llm_(llm),
        executor_(executor),
        options_(options),
        calls_(calls) {}

  // Waits until gRPC has released every peer call this service started.
  ~AiSessionService() override;

  using SessionCallback = std::function<void(absl::StatusOr<livecall::v1::Session>)>;
  using TurnCallback = std::function<void(absl::StatusOr<livecall::v1::AddTurnResponse>)>;
  using ReplyCallback = std::function<void(absl::StatusOr<livecall::v1::CallerReply>)>;

  // The work behind the RPCs without blocking: each calls `done` once, on a gRPC thread or an
  // executor's worker (or on the calling thread for an error found before any peer call).
  // `request` stays valid until then. `scope` carries the request id and the deadline: a chain
  // whose client cancelled or whose deadline passed stops before its next peer call.
  void StartAsync(const livecall::v1::StartSessionRequest& request, const CallerIdentity& caller,
                  CallScope scope, SessionCallback done);
  void GetAsync(const std::string& session_id, const CallerIdentity& caller, CallScope scope,
                SessionCallback done);
  void AddTurnAsync(const livecall::v1::AddTurnRequest& request, const CallerIdentity& caller,
                    CallScope scope, TurnCallback done);
  void ReplyToCallerAsync(const livecall::v1::ReplyToCallerRequest& request, CallScope scope,
                          ReplyCallback done);
  void EndAsync(const livecall::v1::EndAiSessionRequest& request, const CallerIdentity& caller,
                CallScope scope, SessionCallback done);

  // The same, waited for (never on a gRPC thread): for tests.
  // Each takes the caller (common/caller_identity.h): a session is its agent's (agent_id), set
  // from the caller when it starts; an agent may use only its own, a supervisor or service any
  // (PERMISSION_DENIED otherwise). The default caller is a service.
  //
  // Start with a call_sid ("CA" + 32 hex, else INVALID_ARGUMENT) attaches the session to that
  // call, whose live events it then writes. An agent may attach only to a call call-control lets
  // it read (GetCall with the caller's identity: PERMISSION_DENIED, NOT_FOUND); a supervisor to
  // any, a service too without being checked (call-control itself, answering a webhook, is never
  // asked back while it waits). A call has one session: when it has one already (call-control
  // started it with the call, or another start won the race), that session is the answer, given
  // to the agent when nobody owns it yet.
  absl::StatusOr<livecall::v1::Session> Start(const livecall::v1::StartSessionRequest& request,
                                              const CallerIdentity& caller = {});
  absl::StatusOr<livecall::v1::Session> Get(const std::string& session_id,
                                            const CallerIdentity& caller = {});
  absl::StatusOr<livecall::v1::AddTurnResponse> AddTurn(const livecall::v1::AddTurnRequest& request,
                                                        const CallerIdentity& caller = {});
  // gRPC only (call-control's voice agent), so its callers are services.
  absl::StatusOr<livecall::v1::CallerReply> ReplyToCaller(
      const livecall::v1::ReplyToCallerRequest& request);
  absl::StatusOr<livecall::v1::Session> End(const livecall::v1::EndAiSessionRequest& request,
                                            const CallerIdentity& caller = {});
  // Context's AssignSession for a service or supervisor; PERMISSION_DENIED for an agent.
  absl::StatusOr<livecall::v1::Session> Assign(const livecall::v1::AssignSessionRequest& request,
                                               const CallerIdentity& caller = {});

  // How often the LLM failed or was late and the embedded engine answered instead (also the
  // livecall_llm_fallbacks_total counter).
  int64_t llm_fallbacks() const { return llm_fallbacks_.load(); }

  // livecall::v1::AiSession::CallbackService
  grpc::ServerUnaryReactor* StartSession(grpc::CallbackServerContext* context,
                                         const livecall::v1::StartSessionRequest* request,
                                         livecall::v1::Session* response) override;
  grpc::ServerUnaryReactor* GetSession(grpc::CallbackServerContext* context,
                                       const livecall::v1::GetAiSessionRequest* request,
                                       livecall::v1::Session* response) override;
  grpc::ServerUnaryReactor* AddTurn(grpc::CallbackServerContext* context,
                                    const livecall::v1::AddTurnRequest* request,
                                    livecall::v1::AddTurnResponse* response) override;
  grpc::ServerUnaryReactor* ReplyToCaller(grpc::CallbackServerContext* context,
                                          const livecall::v1::ReplyToCallerRequest* request,
                                          livecall::v1::CallerReply* response) override;
  grpc::ServerUnaryReactor* EndSession(grpc::CallbackServerContext* context,
                                       const livecall::v1::EndAiSessionRequest* request,
                                       livecall::v1::Session* response) override;
  grpc::ServerUnaryReactor* AssignSession(grpc::CallbackServerContext* context,
                                          const livecall::v1::AssignSessionRequest* request,
                                          livecall::v1::Session* response) override;

 private:
  class StartFlow;
  class ReplyFlow;
  class EndFlow;

  // One callback-API call to context (its `method`) through context_breaker_: while context is
  // known to be down (unreachable or past the deadline several times in a row) the call is not
  // made and the answer is UNAVAILABLE at once, so an agent's request does not wait out the
  // deadline each time; a probe per second finds context again.
  template <typename Request, typename Response>
  void CallContextAsync(const CallScope& scope, Request request,
                        void (livecall::v1::Context::StubInterface::async_interface::*method)(
                            grpc::ClientContext*, const Request*, Response*,
                            std::function<void(grpc::Status)>),
                        std::function<void(absl::StatusOr<Response>)> done);
  // Counts a call's outcome for context_breaker_; `own_deadline`: CallScope::Prepare's answer.
  void RecordContextOutcome(const grpc::Status& status, bool own_deadline);
  // call-control's GetCall (either leg's SID) as `caller`: the caller's identity goes with it, so
  // call-control's own ownership rule answers. FAILED_PRECONDITION without call-control.
  void GetCallAsync(const std::string& call_sid, const CallerIdentity& caller,
                    const CallScope& scope,
                    std::function<void(absl::StatusOr<livecall::v1::Call>)> done);
  // `session` (a call's, which `caller` may use) for `caller`: as it is when the caller may use
  // it; given to an agent caller when it has no owner yet; PERMISSION_DENIED when another agent's.
  void ForCallerAsync(livecall::v1::Session session, const CallerIdentity& caller,
                      const CallScope& scope, SessionCallback done);
  // Assign's work without blocking.
  void AssignAsync(const livecall::v1::AssignSessionRequest& request, const CallerIdentity& caller,
                   CallScope scope, SessionCallback done);
  // Append below without blocking.
  void AppendAsync(const std::string& session_id, const livecall::v1::Turn& turn,
                   const std::vector<livecall::v1::Suggestion>& suggestions, const CallScope& scope,
                   std::function<void(absl::Status)> done);
  // AddTurn's work once the session is read: the turn and its suggestions (the LLM's, asked on
  // the executor, or the embedded engine's), stored.
  void AnswerTurn(livecall::v1::Session session, const livecall::v1::AddTurnRequest& request,
                  const CallScope& scope, TurnCallback done);
  // The LLM's reply, or an error after which the caller uses the embedded engine (counted).
  // `deadline` is cut to what `scope` leaves after kStoreReserve, the time kept for storing the
  // answer: an answer that comes after the caller has stopped waiting is worth nothing.
  absl::StatusOr<std::string> AskLlm(const std::vector<ChatMessage>& messages,
                                     absl::Duration deadline, absl::string_view purpose,
                                     const CallScope& scope);
  // Runs `ask` (which asks the LLM, blocking: libcurl) and then `then` on a worker with the
  // request's id. With no worker free the embedded engine's answer stands: a fallback for
  // `purpose` is counted and `then` runs here at once.
  void AskLlmOnWorker(const CallScope& scope, absl::string_view purpose, std::function<void()> ask,
                      std::function<void()> then);
  // Counts a fallback to the embedded engine (metric and log).
  void CountFallback(absl::string_view purpose, const absl::Status& why);
  // OK for an active session; FAILED_PRECONDITION naming what it refused otherwise.
  static absl::Status CheckActive(const livecall::v1::Session& session, absl::string_view refused);

  livecall::v1::Context::StubInterface& context_;
  const KnowledgeBase& kb_;
  LlmClient* const llm_;
  Executor& executor_;
  const AiEngineOptions options_;
  livecall::v1::CallControl::StubInterface* const calls_;
  std::atomic<int64_t> llm_fallbacks_{0};
  CircuitBreaker context_breaker_{"context", {}};
  // Last: destroyed first, waiting for gRPC to release the peer calls whose completions use the
  // members above.
  PendingCalls pending_;
};

}  // namespace livecall::ai_session

#endif  // LIVECALL_SERVICES_AI_SESSION_AI_SESSION_SERVICE_H_
