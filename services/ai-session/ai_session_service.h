#ifndef LIVECALL_SERVICES_AI_SESSION_AI_SESSION_SERVICE_H_
#define LIVECALL_SERVICES_AI_SESSION_AI_SESSION_SERVICE_H_

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/async_unary.h"
#include "common/bounded_cache.h"
#include "common/caller_identity.h"
#include "common/circuit_breaker.h"
#include "common/executor.h"
#include "common/pending_calls.h"
#include "common/queued_unary.h"
#include "common/session_version.h"
#include "livecall/v1/ai_session.grpc.pb.h"
#include "livecall/v1/call_control.grpc.pb.h"
#include "livecall/v1/context.grpc.pb.h"
#include "services/ai-session/caller_replies.h"
#include "services/ai-session/knowledge_base.h"
#include "services/ai-session/llm_client.h"
#include "services/ai-session/suggestion_engine.h"

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
  // Sessions whose copy this replica keeps for AddTurn and ReplyToCaller (0: none; see
  // AiSessionService).
  size_t session_cache_size = 20000;
};

// livecall.v1.AiSession: the AI session beside a call. Greeting, suggestions and the summary come
// from the LLM when one is configured and answers in time, else from the embedded engine; an LLM
// failure never fails the request. Sessions live in Redis through context.
//
// A turn (AddTurn, and the caller's words in ReplyToCaller) costs one call to context per write
// when this replica knows the session: it keeps, per session it started, read or appended to
// lately (options.session_cache_size of them), the copy a turn needs -- the header, the suggestions
// and the newest turns the suggestions and the LLM prompt read -- with context's version of it. A
// turn on a known session is checked, suggested and appended from that copy, the append conditional
// on the version (AppendTurnRequest's expected_version): a copy another writer (a replica,
// call-control's voice agent, the end, an assignment) made stale is refused by context, and the
// turn is done again from a fresh read. Any refusal of a turn on a copy is answered from a fresh
// read too, so every answer is the one the stored session gives.
//
// Every RPC is served from completion queues (common/queued_unary.h) and never blocks: its
// chain of calls to context and call-control starts on the polling thread, and each call's answer
// comes back on that same thread (CallOnQueue; the callback client API from any other thread).
// Only the LLM, which blocks (libcurl), is asked from the executor.
class AiSessionService final : public QueuedService<livecall::v1::AiSession> {
 public:
  // Adds the RPCs to `unary` (QueuedWork::kNeverBlocks, watch_cancellation), which the same
  // server serves. `llm` may be null (embedded engine only); `calls` may be null (no call record
  // is attached to a finished conversation).
  AiSessionService(livecall::v1::Context::StubInterface& context, const KnowledgeBase& kb,
                   LlmClient* llm, Executor& executor, QueuedUnaryMethods& unary,
                   AiEngineOptions options,
                   livecall::v1::CallControl::StubInterface* calls = nullptr);

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

  // How AddTurn found the sessions it appended to (also livecall_session_cache_turns_total):
  // from this replica's copy (hit), with a read of context as there was no copy (miss), with a
  // read after context refused the copy (stale: another writer had changed the session), or with
  // a read as the session is written through other replicas too (shared: no copy is kept).
  struct SessionCacheCounts {
    int64_t hits = 0;
    int64_t misses = 0;
    int64_t stale = 0;
    int64_t shared = 0;
  };
  SessionCacheCounts session_cache_counts() const {
    return {cache_hits_.load(), cache_misses_.load(), cache_stale_.load(), cache_shared_.load()};
  }

 private:
  class StartFlow;
  class ReplyFlow;
  class EndFlow;

  // What AddTurn needs of a session (see the class comment) and its version in context.
  // A turn changes neither the header nor the kept turns before it: the copies a session's turns
  // leave share them, so a turn copies no session (only its own turn and suggestions are new).
  struct CachedSession {
    // The session without its conversation and suggestions.
    std::shared_ptr<const livecall::v1::Session> header;
    std::vector<livecall::v1::Suggestion> suggestions;
    // A kept turn and its text's knowledge-base terms (null until a turn's suggestions read it):
    // the terms of the turns before a new one are not looked up again (issue 17).
    struct KeptTurn {
      std::shared_ptr<const livecall::v1::Turn> turn;
      KeptTerms terms;
    };
    // The newest turns (all of them in a read's parts, else those TurnsReadBy* name), oldest
    // first.
    std::vector<KeptTurn> turns;
    // The terms of the customer's open issue (null until looked up), as a turn's are.
    KeptTerms open_issue_terms;
    int64_t version = 0;
    // Another replica wrote this session since this one last did (a copy was refused): its turns
    // go through several replicas (round robin), so a copy here would be refused turn after
    // turn, each refusal a wasted call. Such a session is read for every turn, as without a
    // cache, and no copy of it is kept.
    bool shared = false;
    // The copy as one Session (the voice agent's flow and the LLM's prompts read one).
    livecall::v1::Session Whole() const;
  };
  // A null entry is a session forgotten (BoundedCache keeps, never erases).
  using SessionCache = BoundedCache<std::shared_ptr<const CachedSession>>;
  // How a turn came by the session it is answered from.
  enum class TurnSource {
    kCache,   // This replica's copy; any refusal is answered from a fresh read instead.
    kRead,    // A read of context; appended conditionally, for the copy it leaves.
    kReread,  // A read after a conditional append was refused: appended as before the cache.
  };
  using VersionedSessionCallback =
      std::function<void(absl::StatusOr<livecall::v1::Session>, int64_t version)>;
  // A method of context, by both client APIs: the callback API's, and the completion-queue
  // API's for a call made on a polling thread (CallOnQueue).
  template <typename Request, typename Response>
  struct ContextMethod {
    void (livecall::v1::Context::StubInterface::async_interface::*callback)(
        grpc::ClientContext*, const Request*, Response*, std::function<void(grpc::Status)>);
    std::unique_ptr<grpc::ClientAsyncResponseReaderInterface<Response>> (
        livecall::v1::Context::StubInterface::*queued)(grpc::ClientContext*, const Request&,
                                                       grpc::CompletionQueue*);
  };

  // One call to context (its `method`) through context_breaker_: while context is
  // known to be down (unreachable or past the deadline several times in a row) the call is not
  // made and the answer is UNAVAILABLE at once, so an agent's request does not wait out the
  // deadline each time; a probe per second finds context again.
  // `request` is read before this returns (the caller may take its parts back afterwards).
  template <typename Request, typename Response>
  void CallContextAsync(const CallScope& scope, const Request& request,
                        ContextMethod<Request, Response> method,
                        std::function<void(absl::StatusOr<Response>)> done);
  // The same, with the session version context sent in the answer's trailing metadata (0 when
  // it sent none).
  template <typename Request, typename Response>
  void CallContextVersionedAsync(
      const CallScope& scope, const Request& request, ContextMethod<Request, Response> method,
      std::function<void(absl::StatusOr<Response>, int64_t version)> done);
  static const ContextMethod<livecall::v1::LookupCustomerRequest, livecall::v1::Customer>
      kLookupCustomer;
  static const ContextMethod<livecall::v1::CreateSessionRequest, livecall::v1::Session>
      kCreateSession;
  static const ContextMethod<livecall::v1::GetSessionRequest, livecall::v1::Session> kGetSession;
  static const ContextMethod<livecall::v1::AppendTurnRequest, livecall::v1::AppendTurnResponse>
      kAppendTurn;
  static const ContextMethod<livecall::v1::EndSessionRequest, livecall::v1::Session> kEndSession;
  static const ContextMethod<livecall::v1::AssignSessionRequest, livecall::v1::Session>
      kAssignSession;
  // GetAsync with the session's version; the copy kept for AddTurn is refreshed from it.
  void GetVersionedAsync(const std::string& session_id, const CallerIdentity& caller,
                         const CallScope& scope, VersionedSessionCallback done);
  // Keeps `session` at `version` (a copy cut to the turns AddTurn reads) for AddTurn; forgets the
  // session when the version is unknown (0).
  // `session` is as it was on return (its turns are set aside while the rest is copied).
  // `open_issue_terms`: the customer's open issue's terms in the session's language, if looked up.
  void RememberSession(livecall::v1::Session& session, int64_t version,
                       KeptTerms open_issue_terms = nullptr);
  // What a turn on a copy leaves for the copy after it: the turn's suggestions, and the terms
  // its suggestions looked up or found kept (`turn_terms` for the copy's turns and the new one,
  // empty when the embedded engine was not asked).
  struct TurnOutcome {
    std::vector<livecall::v1::Suggestion> suggestions;
    std::vector<KeptTerms> turn_terms;
    KeptTerms open_issue_terms;
  };
  // Keeps, at `version`, `base` with `turn` appended and `outcome`'s suggestions as its
  // suggestions (an append made on exactly that copy): the header and the kept turns are shared,
  // not copied, and so are their terms.
  void RememberTurn(const CachedSession& base, std::shared_ptr<const livecall::v1::Turn> turn,
                    TurnOutcome outcome, int64_t version);
  // `session` taken apart (moved, not copied) as a copy's parts, with every turn, at `version`.
  static std::shared_ptr<const CachedSession> PartsOf(livecall::v1::Session session,
                                                      int64_t version);
  // Keeps no copy of the session (a shared mark stays).
  void ForgetSession(const std::string& session_id);
  // A conditional append at `expected_version` from this replica's copy was refused (ABORTED).
  // When the copy is still at or before that version, another replica wrote the session: it is
  // marked shared (CachedSession::shared) and no copy of it is kept from now on. When the copy
  // is newer, this replica's own concurrent turn moved it on: the copy stays.
  void NoteCopyRefused(const std::string& session_id, int64_t expected_version);
  // This replica's usable copy of the session; null when it has none or the session is shared.
  std::shared_ptr<const CachedSession> CachedCopy(const std::string& session_id);
  bool IsSharedSession(const std::string& session_id);
  // AddTurn's work from a read of context (`source` kRead or kReread).
  void ReadAndAnswerTurn(const livecall::v1::AddTurnRequest& request, const CallerIdentity& caller,
                         TurnSource source, const CallScope& scope, TurnCallback done);
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
  // With `expected_version` (not 0), appended only at that version (ABORTED otherwise); `done`
  // gets the version after the append.
  void AppendAsync(const std::string& session_id, const livecall::v1::Turn& turn,
                   const std::vector<livecall::v1::Suggestion>& suggestions, const CallScope& scope,
                   std::function<void(absl::Status)> done);
  void AppendVersionedAsync(const std::string& session_id, const livecall::v1::Turn& turn,
                            const std::vector<livecall::v1::Suggestion>& suggestions,
                            int64_t expected_version, const CallScope& scope,
                            std::function<void(absl::StatusOr<int64_t>)> done);
  // `append` (read before this returns) stored; `done` gets the version after it.
  void AppendRequestAsync(const livecall::v1::AppendTurnRequest& append, const CallScope& scope,
                          std::function<void(absl::StatusOr<int64_t>)> done);
  // AddTurn's work once the session is at hand (at `session->version`, 0 when unknown): the
  // ownership check, the turn and its suggestions (the LLM's, asked on the executor, or the
  // embedded engine's), stored; the copy kept for the next turn.
  void AnswerTurn(std::shared_ptr<const CachedSession> session, TurnSource source,
                  const livecall::v1::AddTurnRequest& request, const CallerIdentity& caller,
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
  // Null when options.session_cache_size is 0.
  const std::unique_ptr<SessionCache> session_cache_;
  std::atomic<int64_t> cache_hits_{0};
  std::atomic<int64_t> cache_misses_{0};
  std::atomic<int64_t> cache_stale_{0};
  std::atomic<int64_t> cache_shared_{0};
  // Last: destroyed first, waiting for gRPC to release the peer calls whose completions use the
  // members above.
  PendingCalls pending_;
};

}  // namespace livecall::ai_session

#endif  // LIVECALL_SERVICES_AI_SESSION_AI_SESSION_SERVICE_H_
