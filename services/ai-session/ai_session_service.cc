#include "services/ai-session/ai_session_service.h"

#include <algorithm>
#include <memory>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/async_unary.h"
#include "common/enum_json.h"
#include "common/ids.h"
#include "common/language.h"
#include "common/log.h"
#include "common/proto_time.h"
#include "common/request_id.h"
#include "common/status.h"
#include "services/ai-session/ai_session_metrics.h"
#include "services/ai-session/greeting.h"
#include "services/ai-session/llm_prompts.h"
#include "services/ai-session/suggestion_engine.h"

namespace livecall::ai_session {
namespace {

// Kept from an LLM's deadline for what follows it (a call or two to context), so that its answer
// is stored before the caller's deadline.
constexpr absl::Duration kStoreReserve = absl::Milliseconds(300);

bool IsKnownDisposition(const std::string& disposition) {
  return disposition == "resolved" || disposition == "follow-up" || disposition == "escalated" ||
         disposition == "no-answer" || disposition == "abandoned" || disposition == "completed";
}

// Why a call nobody talked on ended, for its summary: the call's final status from Twilio (or
// the sandbox) in parentheses, after a sentence in the session's language; empty when the call
// was talked on.
std::string CallOutcome(const livecall::v1::Call& call, const std::string& language) {
  using livecall::v1::CallStatus;
  const CallStatus status = call.status();
  const bool unanswered =
      status == livecall::v1::CALL_STATUS_BUSY || status == livecall::v1::CALL_STATUS_NO_ANSWER ||
      status == livecall::v1::CALL_STATUS_FAILED || status == livecall::v1::CALL_STATUS_CANCELED;
  const bool abandoned = status == livecall::v1::CALL_STATUS_COMPLETED &&
                         call.direction() == "inbound" && call.agent_call_sid().empty() &&
                         !call.handed_off();
  if (!unanswered && !abandoned) return "";
  if (abandoned) {
    if (language == "ru") return "Клиент положил трубку, не дождавшись оператора (abandoned).";
    if (language == "en") return "The caller hung up before an agent answered (abandoned).";
    return "Mijoz operator javob berishidan oldin go'shakni qo'ydi (abandoned).";
  }
  const std::string& spelled = EnumJsonName(status);
  if (language == "ru") return absl::StrCat("Разговор не состоялся (", spelled, ").");
  if (language == "en") return absl::StrCat("Nobody talked on the call (", spelled, ").");
  return absl::StrCat("Suhbat bo'lmadi (", spelled, ").");
}

// The session version context sent with an answer (0 when none).
int64_t SessionVersionOf(const grpc::ClientContext& context) {
  const auto& trailers = context.GetServerTrailingMetadata();
  auto found = trailers.find(kSessionVersionMetadata);
  if (found == trailers.end()) return 0;
  int64_t version = 0;
  if (!absl::SimpleAtoi(absl::string_view(found->second.data(), found->second.size()), &version)) {
    return 0;
  }
  return version;
}

// The customer's open issue ("" without one), as the embedded suggestions read it.
absl::string_view OpenIssueOf(const livecall::v1::Customer& customer) {
  auto issue = customer.attributes().find("open_issue");
  if (issue == customer.attributes().end()) return "";
  return issue->second;
}

// Whether a turn answered `status` about the session or the request (rather than about getting
// an answer at all): on a cached copy, such an answer is given again from a fresh read.
bool IsAboutTheSession(const absl::Status& status) {
  return absl::IsNotFound(status) || absl::IsPermissionDenied(status) ||
         absl::IsInvalidArgument(status) || absl::IsFailedPrecondition(status) ||
         absl::IsAborted(status);
}

// Runs `start` with a callback and waits for its answer: the blocking form of an asynchronous
// operation, for tests and for work that runs on the executor anyway. Never on a gRPC thread.
template <typename T>
absl::StatusOr<T> Await(const std::function<void(std::function<void(absl::StatusOr<T>)>)>& start) {
  absl::Notification answered;
  absl::StatusOr<T> result;
  start([&](absl::StatusOr<T> answer) {
    result = std::move(answer);
    answered.Notify();
  });
  answered.WaitForNotification();
  return result;
}

// The callback that writes an asynchronous operation's answer into an RPC's response and
// finishes the RPC with its status.
template <typename T>
std::function<void(absl::StatusOr<T>)> AnswerInto(T* response, AsyncFinish finish) {
  return [response, finish = std::move(finish)](absl::StatusOr<T> answer) {
    if (answer.ok()) *response = *std::move(answer);
    finish(answer.status());
  };
}

}  // namespace

using livecall::v1::Customer;
using livecall::v1::Session;

// Context's methods as CallContextAsync takes them.
using ContextStub = livecall::v1::Context::StubInterface;
const AiSessionService::ContextMethod<livecall::v1::LookupCustomerRequest, Customer>
    AiSessionService::kLookupCustomer{&ContextStub::async_interface::LookupCustomer,
                                      &ContextStub::PrepareAsyncLookupCustomer};
const AiSessionService::ContextMethod<livecall::v1::CreateSessionRequest, Session>
    AiSessionService::kCreateSession{&ContextStub::async_interface::CreateSession,
                                     &ContextStub::PrepareAsyncCreateSession};
const AiSessionService::ContextMethod<livecall::v1::GetSessionRequest, Session>
    AiSessionService::kGetSession{&ContextStub::async_interface::GetSession,
                                  &ContextStub::PrepareAsyncGetSession};
const AiSessionService::ContextMethod<livecall::v1::AppendTurnRequest,
                                      livecall::v1::AppendTurnResponse>
    AiSessionService::kAppendTurn{&ContextStub::async_interface::AppendTurn,
                                  &ContextStub::PrepareAsyncAppendTurn};
const AiSessionService::ContextMethod<livecall::v1::EndSessionRequest, Session>
    AiSessionService::kEndSession{&ContextStub::async_interface::EndSession,
                                  &ContextStub::PrepareAsyncEndSession};
const AiSessionService::ContextMethod<livecall::v1::AssignSessionRequest, Session>
    AiSessionService::kAssignSession{&ContextStub::async_interface::AssignSession,
                                     &ContextStub::PrepareAsyncAssignSession};

AiSessionService::AiSessionService(livecall::v1::Context::StubInterface& context,
                                   const KnowledgeBase& kb, LlmClient* llm, Executor& executor,
                                   QueuedUnaryMethods& unary, AiEngineOptions options,
                                   livecall::v1::CallControl::StubInterface* calls)
    : context_(context),
      kb_(kb),
      llm_(llm),
      executor_(executor),
      options_(options),
      calls_(calls),
      session_cache_(options.session_cache_size > 0
                         ? std::make_unique<SessionCache>(options.session_cache_size)
                         : nullptr) {
  using livecall::v1::AddTurnRequest;
  using livecall::v1::AddTurnResponse;
  using livecall::v1::AssignSessionRequest;
  using livecall::v1::CallerReply;
  using livecall::v1::EndAiSessionRequest;
  using livecall::v1::GetAiSessionRequest;
  using livecall::v1::ReplyToCallerRequest;
  using livecall::v1::StartSessionRequest;
  for (const char* method :
       {"StartSession", "GetSession", "AddTurn", "ReplyToCaller", "EndSession", "AssignSession"}) {
    MarkQueued(method);
  }
  unary.HandleAsync<StartSessionRequest, Session>(
      "/livecall.v1.AiSession/StartSession",
      [this](const CallerIdentity& caller, CallScope scope, const StartSessionRequest& request,
             Session& response, AsyncFinish finish) {
        StartAsync(request, caller, std::move(scope), AnswerInto(&response, std::move(finish)));
      });
  unary.HandleAsync<GetAiSessionRequest, Session>(
      "/livecall.v1.AiSession/GetSession",
      [this](const CallerIdentity& caller, CallScope scope, const GetAiSessionRequest& request,
             Session& response, AsyncFinish finish) {
        GetAsync(request.session_id(), caller, std::move(scope),
                 AnswerInto(&response, std::move(finish)));
      });
  unary.HandleAsync<AddTurnRequest, AddTurnResponse>(
      "/livecall.v1.AiSession/AddTurn",
      [this](const CallerIdentity& caller, CallScope scope, const AddTurnRequest& request,
             AddTurnResponse& response, AsyncFinish finish) {
        AddTurnAsync(request, caller, std::move(scope), AnswerInto(&response, std::move(finish)));
      });
  unary.HandleAsync<ReplyToCallerRequest, CallerReply>(
      "/livecall.v1.AiSession/ReplyToCaller",
      [this](const CallerIdentity&, CallScope scope, const ReplyToCallerRequest& request,
             CallerReply& response, AsyncFinish finish) {
        ReplyToCallerAsync(request, std::move(scope), AnswerInto(&response, std::move(finish)));
      });
  unary.HandleAsync<EndAiSessionRequest, Session>(
      "/livecall.v1.AiSession/EndSession",
      [this](const CallerIdentity& caller, CallScope scope, const EndAiSessionRequest& request,
             Session& response, AsyncFinish finish) {
        EndAsync(request, caller, std::move(scope), AnswerInto(&response, std::move(finish)));
      });
  unary.HandleAsync<AssignSessionRequest, Session>(
      "/livecall.v1.AiSession/AssignSession",
      [this](const CallerIdentity& caller, CallScope scope, const AssignSessionRequest& request,
             Session& response, AsyncFinish finish) {
        AssignAsync(request, caller, std::move(scope), AnswerInto(&response, std::move(finish)));
      });
}

AiSessionService::~AiSessionService() = default;

void AiSessionService::RecordContextOutcome(const grpc::Status& status, bool own_deadline) {
  // Unreachable (or, waiting for it to be ready, not there within its own deadline) counts
  // against context; any answer, an error included, shows that it is up. A call cut short by its
  // caller's deadline says nothing either way.
  if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED && !own_deadline) return;
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE ||
      status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    context_breaker_.RecordFailure();
  } else {
    context_breaker_.RecordSuccess();
  }
}

template <typename Request, typename Response>
void AiSessionService::CallContextAsync(const CallScope& scope, const Request& request,
                                        ContextMethod<Request, Response> method,
                                        std::function<void(absl::StatusOr<Response>)> done) {
  CallContextVersionedAsync<Request, Response>(
      scope, request, method, [done = std::move(done)](absl::StatusOr<Response> answer, int64_t) {
        done(std::move(answer));
      });
}

template <typename Request, typename Response>
void AiSessionService::CallContextVersionedAsync(
    const CallScope& scope, const Request& request, ContextMethod<Request, Response> method,
    std::function<void(absl::StatusOr<Response>, int64_t version)> done) {
  if (absl::Status wanted = scope.StillWanted(); !wanted.ok()) return done(wanted, 0);
  if (absl::Status allowed = context_breaker_.Allow(); !allowed.ok()) return done(allowed, 0);
  auto call = std::make_shared<PeerCall<Request, Response>>(&pending_);
  const bool own_deadline = scope.Prepare(&call->context, options_.peer_deadline);
  // Context restarting (a rolling update) is waited out within the deadline instead of failing
  // the agent's request while the channel reconnects.
  call->context.set_wait_for_ready(true);
  std::function<void(grpc::Status)> answered = [this, call, own_deadline,
                                                done = std::move(done)](grpc::Status status) {
    RecordContextOutcome(status, own_deadline);
    if (!status.ok()) return done(ToAbslStatus(status), 0);
    done(std::move(call->response), SessionVersionOf(call->context));
  };
  // The stub captured, not `this`: with `this` captured here, GCC 12's UBSan (-fsanitize=vptr)
  // stopped ai-session on a member access it took for one on another object.
  // The completion-queue API serializes the request as the call is prepared, so the caller's
  // request is read only here (a turn moves its parts on into its answer afterwards); the
  // callback API reads it when the call starts, so it gets a copy that lives with the call.
  if (CallOnQueue(
          [&stub = context_, &call, &method, &request](grpc::CompletionQueue* queue) {
            return (stub.*method.queued)(&call->context, request, queue);
          },
          &call->response, answered)) {
    return;
  }
  call->request = request;
  (context_.async()->*method.callback)(&call->context, &call->request, &call->response,
                                       std::move(answered));
}

void AiSessionService::RememberSession(Session& session, int64_t version,
                                       KeptTerms open_issue_terms) {
  if (session_cache_ == nullptr || IsSharedSession(session.session_id())) return;
  if (version <= 0) return ForgetSession(session.session_id());
  // Only the newest turns the suggestions and the LLM prompt read are kept (see TurnsReadBy*):
  // the copy answers the next turn exactly as the whole session would.
  int kept = TurnsReadBySuggestions(session);
  if (llm_ != nullptr) {
    kept = std::max(kept, TurnsReadByPrompts(session, options_.llm_max_prompt_tokens));
  }
  auto entry = std::make_shared<CachedSession>();
  entry->version = version;
  entry->open_issue_terms = std::move(open_issue_terms);
  google::protobuf::RepeatedPtrField<livecall::v1::Turn> turns;
  google::protobuf::RepeatedPtrField<livecall::v1::Suggestion> suggestions;
  session.mutable_conversation()->Swap(&turns);
  session.mutable_suggestions()->Swap(&suggestions);
  entry->header = std::make_shared<const Session>(session);
  session.mutable_conversation()->Swap(&turns);
  session.mutable_suggestions()->Swap(&suggestions);
  entry->suggestions.assign(session.suggestions().begin(), session.suggestions().end());
  const int total = session.conversation_size();
  entry->turns.reserve(kept);
  for (int i = total - kept; i < total; ++i) {
    entry->turns.push_back({std::make_shared<const livecall::v1::Turn>(session.conversation(i))});
  }
  session_cache_->Insert(session.session_id(), std::move(entry));
}

void AiSessionService::RememberTurn(const CachedSession& base,
                                    std::shared_ptr<const livecall::v1::Turn> turn,
                                    TurnOutcome outcome, int64_t version) {
  const std::string& session_id = base.header->session_id();
  if (session_cache_ == nullptr || IsSharedSession(session_id)) return;
  if (version <= 0) return ForgetSession(session_id);
  std::vector<const livecall::v1::Turn*> turns;
  turns.reserve(base.turns.size() + 1);
  for (const CachedSession::KeptTurn& kept : base.turns) turns.push_back(kept.turn.get());
  turns.push_back(turn.get());
  // As RememberSession keeps them.
  size_t kept = static_cast<size_t>(TurnsReadBySuggestions(turns));
  if (llm_ != nullptr) {
    kept = std::max(kept,
                    static_cast<size_t>(TurnsReadByPrompts(turns, options_.llm_max_prompt_tokens)));
  }
  auto entry = std::make_shared<CachedSession>();
  entry->version = version;
  entry->header = base.header;
  entry->suggestions = std::move(outcome.suggestions);
  entry->open_issue_terms = outcome.open_issue_terms != nullptr
                                ? std::move(outcome.open_issue_terms)
                                : base.open_issue_terms;
  entry->turns.reserve(kept);
  const size_t from_base = kept - 1;  // The new turn is always kept.
  for (size_t i = base.turns.size() - from_base; i < base.turns.size(); ++i) {
    // The terms this turn's suggestions looked up (or found kept) for the turn, else the base's.
    KeptTerms terms = i < outcome.turn_terms.size() && outcome.turn_terms[i] != nullptr
                          ? std::move(outcome.turn_terms[i])
                          : base.turns[i].terms;
    entry->turns.push_back({base.turns[i].turn, std::move(terms)});
  }
  KeptTerms turn_terms;
  if (outcome.turn_terms.size() == base.turns.size() + 1) {
    turn_terms = std::move(outcome.turn_terms.back());
  }
  entry->turns.push_back({std::move(turn), std::move(turn_terms)});
  session_cache_->Insert(session_id, std::move(entry));
}

std::shared_ptr<const AiSessionService::CachedSession> AiSessionService::PartsOf(Session session,
                                                                                 int64_t version) {
  auto parts = std::make_shared<CachedSession>();
  parts->version = version;
  google::protobuf::RepeatedPtrField<livecall::v1::Turn> turns;
  google::protobuf::RepeatedPtrField<livecall::v1::Suggestion> suggestions;
  session.mutable_conversation()->Swap(&turns);
  session.mutable_suggestions()->Swap(&suggestions);
  parts->suggestions.assign(std::make_move_iterator(suggestions.begin()),
                            std::make_move_iterator(suggestions.end()));
  parts->turns.reserve(turns.size());
  for (livecall::v1::Turn& turn : turns) {
    parts->turns.push_back({std::make_shared<const livecall::v1::Turn>(std::move(turn))});
  }
  parts->header = std::make_shared<const Session>(std::move(session));
  return parts;
}

Session AiSessionService::CachedSession::Whole() const {
  Session whole = *header;
  whole.mutable_suggestions()->Assign(suggestions.begin(), suggestions.end());
  whole.mutable_conversation()->Reserve(static_cast<int>(turns.size()));
  for (const KeptTurn& kept : turns) {
    *whole.add_conversation() = *kept.turn;
  }
  return whole;
}

void AiSessionService::ForgetSession(const std::string& session_id) {
  if (session_cache_ == nullptr || IsSharedSession(session_id)) return;
  session_cache_->Insert(session_id, nullptr);
}

void AiSessionService::NoteCopyRefused(const std::string& session_id, int64_t expected_version) {
  if (session_cache_ == nullptr) return;
  if (std::shared_ptr<const CachedSession> copy = CachedCopy(session_id);
      copy != nullptr && copy->version > expected_version) {
    return;
  }
  auto mark = std::make_shared<CachedSession>();
  mark->shared = true;
  session_cache_->Insert(session_id, std::move(mark));
}

std::shared_ptr<const AiSessionService::CachedSession> AiSessionService::CachedCopy(
    const std::string& session_id) {
  if (session_cache_ == nullptr) return nullptr;
  std::optional<std::shared_ptr<const CachedSession>> cached = session_cache_->Find(session_id);
  if (!cached.has_value() || *cached == nullptr || (*cached)->shared) return nullptr;
  return *std::move(cached);
}

bool AiSessionService::IsSharedSession(const std::string& session_id) {
  if (session_cache_ == nullptr) return false;
  std::optional<std::shared_ptr<const CachedSession>> cached = session_cache_->Find(session_id);
  return cached.has_value() && *cached != nullptr && (*cached)->shared;
}

void AiSessionService::GetCallAsync(const std::string& call_sid, const CallerIdentity& caller,
                                    const CallScope& scope,
                                    std::function<void(absl::StatusOr<livecall::v1::Call>)> done) {
  if (calls_ == nullptr) {
    return done(absl::FailedPreconditionError(
        absl::StrCat("ai-session has no call-control to look up call ", call_sid)));
  }
  if (absl::Status wanted = scope.StillWanted(); !wanted.ok()) return done(wanted);
  auto call =
      std::make_shared<PeerCall<livecall::v1::GetCallRequest, livecall::v1::Call>>(&pending_);
  call->request.set_call_sid(call_sid);
  scope.Prepare(&call->context, options_.peer_deadline);
  call->context.set_wait_for_ready(true);
  // As the gateway forwards it: call-control believes it because ai-session sends its API key.
  if (!caller.agent_id.empty()) {
    call->context.AddMetadata(kAgentMetadata, caller.agent_id);
    call->context.AddMetadata(kRoleMetadata, RoleName(caller.role));
  }
  std::function<void(grpc::Status)> answered = [call, done = std::move(done)](grpc::Status status) {
    if (!status.ok()) return done(ToAbslStatus(status));
    done(std::move(call->response));
  };
  if (CallOnQueue(
          [stub = calls_, &call](grpc::CompletionQueue* queue) {
            return stub->PrepareAsyncGetCall(&call->context, call->request, queue);
          },
          &call->response, answered)) {
    return;
  }
  calls_->async()->GetCall(&call->context, &call->request, &call->response, std::move(answered));
}

void AiSessionService::ForCallerAsync(Session session, const CallerIdentity& caller,
                                      const CallScope& scope, SessionCallback done) {
  if (caller.MayAccess(session.agent_id())) return done(std::move(session));
  if (!session.agent_id().empty()) {
    return done(NotYours(absl::StrCat("session ", session.session_id())));
  }
  // An inbound call's session before call-control assigns it to the agent who answered: the
  // agent is that one (call-control said the call is its), so it is assigned here as well.
  livecall::v1::AssignSessionRequest assign;
  assign.set_session_id(session.session_id());
  assign.set_agent_id(caller.agent_id);
  CallContextVersionedAsync<livecall::v1::AssignSessionRequest, Session>(
      scope, assign, kAssignSession,
      [this, done = std::move(done)](absl::StatusOr<Session> assigned, int64_t version) {
        if (assigned.ok()) RememberSession(*assigned, version);
        done(std::move(assigned));
      });
}

void AiSessionService::CountFallback(absl::string_view purpose, const absl::Status& why) {
  ++llm_fallbacks_;
  RecordLlmFallback(purpose);
  LogWarning("llm failed; embedded engine answers",
             {{"purpose", std::string(purpose)}, {"error", why.ToString()}});
}

absl::Status AiSessionService::CheckActive(const Session& session, absl::string_view refused) {
  if (session.status() == "active") return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("session \"", session.session_id(), "\" has ended; ", refused));
}

void AiSessionService::AppendAsync(const std::string& session_id, const livecall::v1::Turn& turn,
                                   const std::vector<livecall::v1::Suggestion>& suggestions,
                                   const CallScope& scope, std::function<void(absl::Status)> done) {
  AppendVersionedAsync(
      session_id, turn, suggestions, /*expected_version=*/0, scope,
      [done = std::move(done)](absl::StatusOr<int64_t> version) { done(version.status()); });
}

void AiSessionService::AppendVersionedAsync(
    const std::string& session_id, const livecall::v1::Turn& turn,
    const std::vector<livecall::v1::Suggestion>& suggestions, int64_t expected_version,
    const CallScope& scope, std::function<void(absl::StatusOr<int64_t>)> done) {
  livecall::v1::AppendTurnRequest append;
  append.set_session_id(session_id);
  *append.mutable_turn() = turn;
  append.mutable_suggestions()->Assign(suggestions.begin(), suggestions.end());
  append.set_expected_version(expected_version);
  AppendRequestAsync(append, scope, std::move(done));
}

void AiSessionService::AppendRequestAsync(const livecall::v1::AppendTurnRequest& append,
                                          const CallScope& scope,
                                          std::function<void(absl::StatusOr<int64_t>)> done) {
  CallContextVersionedAsync<livecall::v1::AppendTurnRequest, livecall::v1::AppendTurnResponse>(
      scope, append, kAppendTurn,
      [done = std::move(done)](absl::StatusOr<livecall::v1::AppendTurnResponse> appended, int64_t) {
        if (!appended.ok()) return done(appended.status());
        done(appended->version());
      });
}

absl::StatusOr<std::string> AiSessionService::AskLlm(const std::vector<ChatMessage>& messages,
                                                     absl::Duration deadline,
                                                     absl::string_view purpose,
                                                     const CallScope& scope) {
  if (llm_ == nullptr) return absl::UnavailableError("no LLM configured");
  deadline = std::min(deadline, scope.TimeLeft() - kStoreReserve);
  absl::StatusOr<std::string> reply =
      deadline > absl::ZeroDuration()
          ? llm_->Complete(messages, deadline)
          : absl::DeadlineExceededError("the request's deadline leaves no time for the LLM");
  if (!reply.ok()) CountFallback(purpose, reply.status());
  return reply;
}

void AiSessionService::AskLlmOnWorker(const CallScope& scope, absl::string_view purpose,
                                      std::function<void()> ask, std::function<void()> then) {
  // `then` is copied into the task: it runs here too when the task is refused.
  const bool queued =
      executor_.TrySubmit([request_id = scope.request_id(), ask = std::move(ask), then] {
        ScopedRequestId scoped(request_id);
        ask();
        then();
      });
  if (queued) return;
  CountFallback(purpose, absl::ResourceExhaustedError("no worker is free"));
  then();
}

// Start's steps, each begun from the completion of the one before: the caller's right to the call
// (call-control) and the call's session when it has one, the customer, the greeting and the first
// suggestions (on the executor when the LLM is asked), the session stored.
class AiSessionService::StartFlow : public std::enable_shared_from_this<StartFlow> {
 public:
  StartFlow(AiSessionService& service, const livecall::v1::StartSessionRequest& request,
            const CallerIdentity& caller, CallScope scope, SessionCallback done)
      : service_(service),
        request_(request),
        caller_(caller),
        scope_(std::move(scope)),
        done_(std::move(done)) {}

  void Run() {
    absl::Status valid = Validate();
    if (!valid.ok()) return done_(valid);
    if (call_sid_.empty() || caller_.role == kRoleService) return LookUpCustomer();
    // call-control starts its calls' sessions (role service) while it answers a webhook, waiting
    // on this: asking it back would be a needless round trip at best.
    service_.GetCallAsync(call_sid_, caller_, scope_,
                          [self = shared_from_this()](absl::StatusOr<livecall::v1::Call> call) {
                            self->AfterCall(std::move(call));
                          });
  }

 private:
  absl::Status Validate() {
    LIVECALL_ASSIGN_OR_RETURN(owner_, caller_.OwnerFor(request_.agent_id()));
    if (request_.phone_number().empty()) {
      return absl::InvalidArgumentError("phoneNumber is required");
    }
    // "uz", "ru", "en" or a BCP-47 tag of one ("ru-RU"); empty: found out from the customer.
    if (!request_.language().empty()) {
      LIVECALL_ASSIGN_OR_RETURN(requested_language_, ParseLanguage(request_.language()));
    }
    direction_ = request_.direction().empty() ? "outbound" : request_.direction();
    if (direction_ != "outbound" && direction_ != "inbound") {
      return absl::InvalidArgumentError(
          absl::StrCat("direction \"", request_.direction(), "\" is not outbound or inbound"));
    }
    call_sid_ = request_.call_sid();
    if (!call_sid_.empty() && !IsCallSidShaped(call_sid_)) {
      return absl::InvalidArgumentError(
          absl::StrCat("callSid \"", call_sid_, "\" is not a call SID (CA and 32 hex digits)"));
    }
    return absl::OkStatus();
  }

  void AfterCall(absl::StatusOr<livecall::v1::Call> call) {
    if (!call.ok()) {
      // A supervisor, like a service, may attach a call call-control does not know; an agent may
      // attach only its own.
      if (caller_.is_agent() || !absl::IsNotFound(call.status())) return done_(call.status());
      return LookUpCustomer();
    }
    // The customer's leg, even when the browser named its own: the call's session and live
    // events are kept under it.
    call_sid_ = call->call_sid();
    if (call->session_id().empty()) return LookUpCustomer();
    service_.GetAsync(call->session_id(), CallerIdentity{}, scope_,
                      [self = shared_from_this()](absl::StatusOr<Session> existing) {
                        // Expired while the call is still recorded: a new one is made.
                        if (absl::IsNotFound(existing.status())) return self->LookUpCustomer();
                        if (!existing.ok()) return self->done_(existing.status());
                        self->service_.ForCallerAsync(*std::move(existing), self->caller_,
                                                      self->scope_, std::move(self->done_));
                      });
  }

  void LookUpCustomer() {
    livecall::v1::LookupCustomerRequest lookup;
    lookup.set_phone_number(request_.phone_number());
    service_.CallContextAsync<livecall::v1::LookupCustomerRequest, Customer>(
        scope_, lookup, kLookupCustomer,
        [self = shared_from_this()](absl::StatusOr<Customer> customer) {
          if (!customer.ok()) return self->done_(customer.status());
          if (self->service_.llm_ == nullptr) return self->Create(*std::move(customer));
          // The LLM's greeting blocks (libcurl): asked from a worker.
          Executor& executor = self->service_.executor_;
          const bool queued = executor.TrySubmit([self, customer = *std::move(customer)]() mutable {
            ScopedRequestId request_id(self->scope_.request_id());
            self->Create(std::move(customer));
          });
          if (!queued) {
            self->done_(absl::ResourceExhaustedError(absl::StrCat(
                "the server is busy (", executor.max_queued(), " requests queued); retry")));
          }
        });
  }

  void Create(Customer customer) {
    livecall::v1::CreateSessionRequest create;
    Compose(std::move(customer), *create.mutable_session());
    service_.CallContextVersionedAsync<livecall::v1::CreateSessionRequest, Session>(
        scope_, create, kCreateSession,
        [self = shared_from_this()](absl::StatusOr<Session> created, int64_t version) {
          if (!created.ok()) return self->done_(created.status());
          // The open issue's terms, looked up for the first suggestions, are kept with the copy
          // when context answered the session composed here (not another start's).
          KeptTerms open_issue_terms;
          if (created->language() == self->language_ &&
              OpenIssueOf(created->customer()) == self->open_issue_) {
            open_issue_terms = std::move(self->open_issue_terms_);
          }
          self->service_.RememberSession(*created, version, std::move(open_issue_terms));
          // Context answers the call's session when it had one already (a concurrent start).
          self->service_.ForCallerAsync(*std::move(created), self->caller_, self->scope_,
                                        std::move(self->done_));
        });
  }

  // The new session for `customer`: greeting (the LLM's when one answers in time), first
  // suggestions and the greeting as the conversation's first turn.
  void Compose(Customer customer, Session& session) {
    const std::string language = !requested_language_.empty() ? requested_language_
                                 : !customer.language().empty()
                                     ? customer.language()
                                     : DefaultLanguageForNumber(customer.phone_number());
    session.set_call_sid(call_sid_);
    session.set_phone_number(customer.phone_number());
    session.set_direction(direction_);
    session.set_agent_id(owner_);
    session.set_language(language);
    session.set_greeting(BuildGreeting(customer, language, direction_));
    const KnowledgeBase& kb = service_.kb_;
    for (livecall::v1::Suggestion& suggestion :
         InitialSuggestions(kb, customer, language, &open_issue_terms_)) {
      *session.add_suggestions() = std::move(suggestion);
    }
    language_ = language;
    open_issue_ = std::string(OpenIssueOf(customer));
    *session.mutable_customer() = std::move(customer);
    if (service_.llm_ != nullptr) {
      absl::StatusOr<std::string> reply =
          service_.AskLlm(GreetingPrompt(session, session.greeting()),
                          service_.options_.llm_greeting_deadline, "greeting", scope_);
      absl::StatusOr<std::string> greeting =
          reply.ok() ? ParseGreeting(*reply) : absl::StatusOr<std::string>(reply.status());
      // The greeting is said to whoever answers: one that tells the customer's record is
      // replaced by the template.
      if (greeting.ok() && SaysWithheldCustomerData(*greeting, session)) {
        greeting = absl::FailedPreconditionError("llm greeting says withheld customer data");
      }
      if (greeting.ok()) {
        session.set_greeting(*greeting);
      } else if (reply.ok()) {
        service_.CountFallback("greeting", greeting.status());
      }
    }
    livecall::v1::Turn* greeting_turn = session.add_conversation();
    greeting_turn->set_speaker("ai");
    greeting_turn->set_text(session.greeting());
    *greeting_turn->mutable_at() = ToProtoTimestamp(absl::Now());
  }

  AiSessionService& service_;
  const livecall::v1::StartSessionRequest& request_;
  const CallerIdentity caller_;
  const CallScope scope_;
  SessionCallback done_;
  std::string owner_;
  std::string requested_language_;
  std::string direction_;
  std::string call_sid_;
  // The composed session's language and open issue, and the open issue's terms (Compose).
  std::string language_;
  std::string open_issue_;
  KeptTerms open_issue_terms_;
};

void AiSessionService::StartAsync(const livecall::v1::StartSessionRequest& request,
                                  const CallerIdentity& caller, CallScope scope,
                                  SessionCallback done) {
  std::make_shared<StartFlow>(*this, request, caller, std::move(scope), std::move(done))->Run();
}

absl::StatusOr<Session> AiSessionService::Start(const livecall::v1::StartSessionRequest& request,
                                                const CallerIdentity& caller) {
  return Await<Session>([&](SessionCallback done) {
    StartAsync(request, caller, CallScope::Detached(), std::move(done));
  });
}

void AiSessionService::GetAsync(const std::string& session_id, const CallerIdentity& caller,
                                CallScope scope, SessionCallback done) {
  GetVersionedAsync(session_id, caller, scope,
                    [done = std::move(done)](absl::StatusOr<Session> session, int64_t) {
                      done(std::move(session));
                    });
}

void AiSessionService::GetVersionedAsync(const std::string& session_id,
                                         const CallerIdentity& caller, const CallScope& scope,
                                         VersionedSessionCallback done) {
  if (session_id.empty()) return done(absl::InvalidArgumentError("sessionId is required"), 0);
  livecall::v1::GetSessionRequest request;
  request.set_session_id(session_id);
  CallContextVersionedAsync<livecall::v1::GetSessionRequest, Session>(
      scope, request, kGetSession,
      [this, caller, done = std::move(done)](absl::StatusOr<Session> session, int64_t version) {
        if (session.ok()) RememberSession(*session, version);
        if (session.ok() && !caller.MayAccess(session->agent_id())) {
          return done(NotYours(absl::StrCat("session ", session->session_id())), 0);
        }
        done(std::move(session), version);
      });
}

absl::StatusOr<Session> AiSessionService::Get(const std::string& session_id,
                                              const CallerIdentity& caller) {
  return Await<Session>([&](SessionCallback done) {
    GetAsync(session_id, caller, CallScope::Detached(), std::move(done));
  });
}

void AiSessionService::AddTurnAsync(const livecall::v1::AddTurnRequest& request,
                                    const CallerIdentity& caller, CallScope scope,
                                    TurnCallback done) {
  if (session_cache_ != nullptr) {
    if (std::shared_ptr<const CachedSession> cached = CachedCopy(request.session_id())) {
      return AnswerTurn(std::move(cached), TurnSource::kCache, request, caller, scope,
                        std::move(done));
    }
    if (IsSharedSession(request.session_id())) {
      ++cache_shared_;
      RecordSessionCacheTurn("shared");
    } else {
      ++cache_misses_;
      RecordSessionCacheTurn("miss");
    }
  }
  ReadAndAnswerTurn(request, caller, TurnSource::kRead, scope, std::move(done));
}

void AiSessionService::ReadAndAnswerTurn(const livecall::v1::AddTurnRequest& request,
                                         const CallerIdentity& caller, TurnSource source,
                                         const CallScope& scope, TurnCallback done) {
  // Existence and ownership (404/403), then the request's fields (400), then the session's state
  // (409): only the session's agent learns anything from a malformed request.
  GetVersionedAsync(request.session_id(), caller, scope,
                    [this, &request, caller, source, scope, done = std::move(done)](
                        absl::StatusOr<Session> session, int64_t version) mutable {
                      if (!session.ok()) return done(session.status());
                      // Without a cache the append is unconditional, as it always was.
                      if (session_cache_ == nullptr || source == TurnSource::kReread) version = 0;
                      AnswerTurn(PartsOf(*std::move(session), version), source, request, caller,
                                 scope, std::move(done));
                    });
}

absl::StatusOr<livecall::v1::AddTurnResponse> AiSessionService::AddTurn(
    const livecall::v1::AddTurnRequest& request, const CallerIdentity& caller) {
  return Await<livecall::v1::AddTurnResponse>([&](TurnCallback done) {
    AddTurnAsync(request, caller, CallScope::Detached(), std::move(done));
  });
}

void AiSessionService::AnswerTurn(std::shared_ptr<const CachedSession> session, TurnSource source,
                                  const livecall::v1::AddTurnRequest& request,
                                  const CallerIdentity& caller, const CallScope& scope,
                                  TurnCallback done) {
  const int64_t version = session->version;
  const Session& header = *session->header;
  if (source == TurnSource::kCache) {
    // The copy may be stale: whatever it refuses, or context refuses for it, is answered again
    // from a fresh read, so the answer is always the stored session's.
    done = [this, &request, caller, scope, version,
            done = std::move(done)](absl::StatusOr<livecall::v1::AddTurnResponse> answer) mutable {
      if (answer.ok() || !IsAboutTheSession(answer.status())) {
        ++cache_hits_;
        RecordSessionCacheTurn("hit");
        // Not knowing whether the append was made, the copy is not trusted again.
        if (!answer.ok()) ForgetSession(request.session_id());
        return done(std::move(answer));
      }
      ++cache_stale_;
      RecordSessionCacheTurn("stale");
      if (absl::IsAborted(answer.status())) {
        NoteCopyRefused(request.session_id(), version);
      } else {
        ForgetSession(request.session_id());
      }
      ReadAndAnswerTurn(request, caller, TurnSource::kRead, scope, std::move(done));
    };
    // Ownership from the copy (GetVersionedAsync checks a read one).
    if (!caller.MayAccess(header.agent_id())) {
      return done(NotYours(absl::StrCat("session ", header.session_id())));
    }
  }
  if (request.speaker() != "customer" && request.speaker() != "agent") {
    return done(absl::InvalidArgumentError(
        absl::StrCat("speaker \"", request.speaker(), "\" is not customer or agent")));
  }
  std::string text(absl::StripAsciiWhitespace(request.text()));
  if (text.empty()) return done(absl::InvalidArgumentError("text is required"));
  if (text.size() > kMaxTurnTextLength) {
    return done(absl::InvalidArgumentError(
        absl::StrCat("text is longer than ", kMaxTurnTextLength, " bytes")));
  }
  if (absl::Status active = CheckActive(header, "it takes no more turns"); !active.ok()) {
    return done(active);
  }
  auto turn = std::make_shared<livecall::v1::Turn>();
  turn->set_speaker(request.speaker());
  turn->set_text(std::move(text));
  *turn->mutable_at() = ToProtoTimestamp(absl::Now());
  auto response = std::make_shared<livecall::v1::AddTurnResponse>();
  response->set_engine("embedded");

  // Suggestions for the conversation so far, then the turn and them stored together (only if
  // the session is still at `version`, when known), and the copy kept for the next turn.
  auto suggest_and_store = [this, &request, caller, source, scope, session, response,
                            turn = std::shared_ptr<const livecall::v1::Turn>(turn)](
                               TurnCallback done) {
    // Kept for the copy after the append (read by the append until then).
    auto outcome = std::make_shared<TurnOutcome>();
    std::vector<livecall::v1::Suggestion>& suggestions = outcome->suggestions;
    if (llm_ != nullptr) {
      Session whole = session->Whole();
      *whole.add_conversation() = *turn;
      absl::StatusOr<std::string> reply =
          AskLlm(SuggestionPrompt(whole, options_.llm_max_prompt_tokens),
                 options_.llm_suggestion_deadline, "suggestions", scope);
      if (reply.ok()) {
        absl::StatusOr<std::vector<livecall::v1::Suggestion>> parsed =
            ParseSuggestions(*reply, kMaxSuggestions);
        if (parsed.ok()) {
          suggestions = *std::move(parsed);
          response->set_engine("llm");
        } else {
          CountFallback("suggestions", parsed.status());
        }
      }
    }
    if (suggestions.empty()) {
      // The copy's turns and the new one, read in place, with the terms kept for them: only the
      // texts without (the new turn's, a read's) are looked up.
      std::vector<const livecall::v1::Turn*> turns;
      turns.reserve(session->turns.size() + 1);
      outcome->turn_terms.reserve(session->turns.size() + 1);
      for (const CachedSession::KeptTurn& kept : session->turns) {
        turns.push_back(kept.turn.get());
        outcome->turn_terms.push_back(kept.terms);
      }
      turns.push_back(turn.get());
      outcome->turn_terms.emplace_back();
      outcome->open_issue_terms = session->open_issue_terms;
      suggestions =
          TurnSuggestions(kb_, *session->header, turns, absl::MakeSpan(outcome->turn_terms),
                          &outcome->open_issue_terms);
    }
    // The turn and the suggestions go to context in one request, which the call serializes as it
    // is made; its answer then takes them over from the request, so each is copied once (issue
    // 17: the answer and the request had a copy each).
    auto append = std::make_shared<livecall::v1::AppendTurnRequest>();
    append->set_session_id(session->header->session_id());
    *append->mutable_turn() = *turn;
    append->mutable_suggestions()->Assign(suggestions.begin(), suggestions.end());
    const int64_t version = session->version;
    append->set_expected_version(version);
    AppendRequestAsync(
        *append, scope,
        [this, &request, caller, source, version, scope, session, turn, response, outcome, append,
         done = std::move(done)](absl::StatusOr<int64_t> stored) mutable {
          if (absl::IsAborted(stored.status()) && source == TurnSource::kRead) {
            // Another writer came between the read and the append: once more, from
            // a new read.
            ForgetSession(session->header->session_id());
            return ReadAndAnswerTurn(request, caller, TurnSource::kReread, scope, std::move(done));
          }
          if (!stored.ok()) return done(stored.status());
          // The append was made on exactly this copy: with the new turn and
          // suggestions, it is the stored session at the new version.
          if (version != 0) {
            RememberTurn(*session, turn, std::move(*outcome), *stored);
          }
          response->set_allocated_turn(append->release_turn());
          response->mutable_suggestions()->Swap(append->mutable_suggestions());
          done(std::move(*response));
        });
  };
  if (llm_ == nullptr) return suggest_and_store(std::move(done));
  // The LLM blocks (libcurl): asked from a worker.
  auto pending_done = std::make_shared<TurnCallback>(std::move(done));
  const bool queued = executor_.TrySubmit([scope, suggest_and_store, pending_done]() mutable {
    ScopedRequestId request_id(scope.request_id());
    suggest_and_store(std::move(*pending_done));
  });
  if (!queued) {
    (*pending_done)(absl::ResourceExhaustedError(
        absl::StrCat("the server is busy (", executor_.max_queued(), " requests queued); retry")));
  }
}

// ReplyToCaller's steps, each begun from the completion of the one before: the session read, the
// caller's words stored with the suggestions for them, the reply (the LLM's, asked on a worker, or
// the embedded engine's), the reply stored as the AI's turn.
class AiSessionService::ReplyFlow : public std::enable_shared_from_this<ReplyFlow> {
 public:
  ReplyFlow(AiSessionService& service, const livecall::v1::ReplyToCallerRequest& request,
            CallScope scope, ReplyCallback done)
      : service_(service), request_(request), scope_(std::move(scope)), done_(std::move(done)) {}

  void Run() {
    text_ = std::string(absl::StripAsciiWhitespace(request_.text()));
    if (text_.size() > kMaxTurnTextLength) {
      return done_(absl::InvalidArgumentError(
          absl::StrCat("text is longer than ", kMaxTurnTextLength, " bytes")));
    }
    if (!(request_.speech_confidence() >= 0 && request_.speech_confidence() <= 1)) {
      return done_(absl::InvalidArgumentError("speechConfidence must be between 0 and 1"));
    }
    if (request_.unclear_attempts() < 0) {
      return done_(absl::InvalidArgumentError("unclearAttempts must not be negative"));
    }
    // As AddTurn: from this replica's copy of the session when it has one (see the class
    // comment), else from a read.
    if (std::shared_ptr<const CachedSession> cached = service_.CachedCopy(request_.session_id())) {
      source_ = TurnSource::kCache;
      return AfterSession(cached->Whole(), cached->version);
    }
    Read(TurnSource::kRead);
  }

 private:
  void Read(TurnSource source) {
    source_ = source;
    // call-control's voice agent, a service: no ownership to check.
    service_.GetVersionedAsync(
        request_.session_id(), CallerIdentity{}, scope_,
        [self = shared_from_this()](absl::StatusOr<Session> session, int64_t version) {
          if (!session.ok()) return self->done_(session.status());
          const bool conditional =
              self->service_.session_cache_ != nullptr && self->source_ != TurnSource::kReread;
          self->AfterSession(*std::move(session), conditional ? version : 0);
        });
  }

  // Whether a refusal of what was done from the copy (or from a read another writer overtook)
  // is answered again from a fresh read; then it is.
  bool ReadAgainAfter(const absl::Status& refused) {
    if (source_ == TurnSource::kCache && IsAboutTheSession(refused)) {
      if (absl::IsAborted(refused)) {
        service_.NoteCopyRefused(request_.session_id(), version_);
      } else {
        service_.ForgetSession(request_.session_id());
      }
      Read(TurnSource::kRead);
      return true;
    }
    if (source_ == TurnSource::kRead && absl::IsAborted(refused)) {
      service_.ForgetSession(request_.session_id());
      Read(TurnSource::kReread);
      return true;
    }
    return false;
  }

  void AfterSession(Session session, int64_t version) {
    if (absl::Status active = CheckActive(session, "the voice agent cannot reply"); !active.ok()) {
      if (ReadAgainAfter(active)) return;
      return done_(active);
    }
    session_ = std::move(session);
    version_ = version;
    reply_.reset();
    // What the caller said is part of the conversation even when the recogniser was unsure; the
    // knowledge-base suggestions for it are what a human agent would see, and what the embedded
    // reply answers from.
    suggestions_.assign(session_.suggestions().begin(), session_.suggestions().end());
    if (text_.empty()) return Reply();
    livecall::v1::Turn& caller_turn = *session_.add_conversation();
    caller_turn.set_speaker("customer");
    caller_turn.set_text(text_);
    *caller_turn.mutable_at() = ToProtoTimestamp(absl::Now());
    suggestions_ = TurnSuggestions(service_.kb_, session_);
    service_.AppendVersionedAsync(session_.session_id(), caller_turn, suggestions_, version_,
                                  scope_,
                                  [self = shared_from_this()](absl::StatusOr<int64_t> stored) {
                                    if (!stored.ok()) {
                                      if (self->ReadAgainAfter(stored.status())) return;
                                      return self->done_(stored.status());
                                    }
                                    if (self->version_ != 0) self->version_ = *stored;
                                    self->caller_turn_stored_ = true;
                                    self->Reply();
                                  });
  }

  // The caller's explicit wishes (a person, goodbye) and unclear speech are decided by the
  // embedded rules; the LLM words answers.
  void Reply() {
    if (service_.llm_ == nullptr || IsUnclearSpeech(request_, service_.options_.voice) ||
        DetectCallerIntent(text_) != CallerIntent::kOther) {
      return Store();
    }
    // With no worker free the embedded engine answers: Twilio is waiting for what to say.
    service_.AskLlmOnWorker(
        scope_, "caller-reply", [self = shared_from_this()] { self->AskLlm(); },
        [self = shared_from_this()] { self->Store(); });
  }

  void AskLlm() {
    absl::StatusOr<std::string> answer =
        service_.AskLlm(CallerReplyPrompt(session_, service_.options_.llm_max_prompt_tokens),
                        service_.options_.llm_caller_reply_deadline, "caller-reply", scope_);
    if (!answer.ok()) return;
    absl::StatusOr<livecall::v1::CallerReply> parsed = ParseCallerReply(*answer);
    // Never spoken: customer data the voice agent was not given (an LLM that knows more than its
    // prompt, or repeats what the conversation carries). The embedded engine answers.
    if (parsed.ok() && SaysWithheldCustomerData(parsed->text(), session_)) {
      parsed = absl::FailedPreconditionError("llm caller reply says withheld customer data");
    }
    if (!parsed.ok()) return service_.CountFallback("caller-reply", parsed.status());
    reply_ = *std::move(parsed);
    reply_->set_language(session_.language());
  }

  void Store() {
    if (!reply_.has_value()) {
      reply_ = EmbeddedCallerReply(session_, request_,
                                   AnswersTo(service_.kb_, text_, session_.language()),
                                   service_.options_.voice);
    }
    livecall::v1::Turn agent_turn;
    agent_turn.set_speaker("ai");
    agent_turn.set_text(reply_->text());
    *agent_turn.mutable_at() = ToProtoTimestamp(absl::Now());
    *session_.add_conversation() = agent_turn;
    // The reply is decided: a write that came in meanwhile only makes the copy stale, and the
    // reply is stored as before the copy (no version expected).
    service_.AppendVersionedAsync(
        session_.session_id(), agent_turn, suggestions_, version_, scope_,
        [self = shared_from_this(), agent_turn](absl::StatusOr<int64_t> stored) {
          if (absl::IsAborted(stored.status()) && self->version_ != 0) {
            // Nothing stored yet (no words from the caller): done again from a fresh read, as
            // the session then is. Else the caller's words are stored, and so is the reply.
            if (!self->caller_turn_stored_ && self->ReadAgainAfter(stored.status())) return;
            self->service_.ForgetSession(self->session_.session_id());
            self->version_ = 0;
            return self->service_.AppendAsync(
                self->session_.session_id(), agent_turn, self->suggestions_, self->scope_,
                [self](absl::Status stored) { self->Answer(stored); });
          }
          if (stored.ok() && self->version_ != 0) {
            self->session_.mutable_suggestions()->Assign(self->suggestions_.begin(),
                                                         self->suggestions_.end());
            self->service_.RememberSession(self->session_, *stored);
          }
          self->Answer(stored.status());
        });
  }

  void Answer(const absl::Status& stored) {
    if (!stored.ok()) return done_(stored);
    livecall::v1::CallerReply& reply = *reply_;
    for (livecall::v1::Suggestion& suggestion : suggestions_) {
      *reply.add_suggestions() = std::move(suggestion);
    }
    RecordVoiceAgentReply(reply.action(), reply.reason(), reply.engine());
    done_(std::move(reply));
  }

  AiSessionService& service_;
  const livecall::v1::ReplyToCallerRequest& request_;
  const CallScope scope_;
  ReplyCallback done_;
  std::string text_;
  Session session_;
  std::vector<livecall::v1::Suggestion> suggestions_;
  std::optional<livecall::v1::CallerReply> reply_;
  // Where session_ came from, and its version when the appends expect one (0: they do not).
  TurnSource source_ = TurnSource::kRead;
  int64_t version_ = 0;
  // Whether the caller's words are stored (the first of the two appends).
  bool caller_turn_stored_ = false;
};

void AiSessionService::ReplyToCallerAsync(const livecall::v1::ReplyToCallerRequest& request,
                                          CallScope scope, ReplyCallback done) {
  std::make_shared<ReplyFlow>(*this, request, std::move(scope), std::move(done))->Run();
}

absl::StatusOr<livecall::v1::CallerReply> AiSessionService::ReplyToCaller(
    const livecall::v1::ReplyToCallerRequest& request) {
  return Await<livecall::v1::CallerReply>([&](ReplyCallback done) {
    ReplyToCallerAsync(request, CallScope::Detached(), std::move(done));
  });
}

// End's steps, each begun from the completion of the one before: the session read, its summary
// (the LLM's, asked on a worker, or the embedded engine's), the call record (call-control) and
// the session ended (context).
class AiSessionService::EndFlow : public std::enable_shared_from_this<EndFlow> {
 public:
  EndFlow(AiSessionService& service, const livecall::v1::EndAiSessionRequest& request,
          const CallerIdentity& caller, CallScope scope, SessionCallback done)
      : service_(service),
        request_(request),
        caller_(caller),
        scope_(std::move(scope)),
        done_(std::move(done)) {}

  void Run() {
    // Existence and ownership, then the request's fields, then the session's state (as AddTurn).
    service_.GetAsync(request_.session_id(), caller_, scope_,
                      [self = shared_from_this()](absl::StatusOr<Session> session) {
                        self->AfterSession(std::move(session));
                      });
  }

 private:
  void AfterSession(absl::StatusOr<Session> session) {
    if (!session.ok()) return done_(session.status());
    const std::string disposition =
        request_.disposition().empty() ? "completed" : request_.disposition();
    if (!IsKnownDisposition(disposition)) {
      return done_(absl::InvalidArgumentError(absl::StrCat(
          "disposition \"", disposition,
          "\" is not resolved, follow-up, escalated, no-answer, abandoned or completed")));
    }
    if (absl::Status active = CheckActive(*session, "it cannot end again"); !active.ok()) {
      return done_(active);
    }
    session_ = *std::move(session);
    end_.set_session_id(session_.session_id());
    end_.set_disposition(disposition);
    if (service_.llm_ == nullptr) return AttachCall();
    // With no worker free the embedded summary is written: the conversation still ends.
    service_.AskLlmOnWorker(
        scope_, "summary", [self = shared_from_this()] { self->Summarise(); },
        [self = shared_from_this()] { self->AttachCall(); });
  }

  void Summarise() {
    absl::StatusOr<std::string> reply =
        service_.AskLlm(SummaryPrompt(session_, service_.options_.llm_max_prompt_tokens),
                        service_.options_.llm_summary_deadline, "summary", scope_);
    if (!reply.ok()) return;
    absl::StatusOr<livecall::v1::Summary> summary = ParseSummary(*reply);
    if (!summary.ok()) return service_.CountFallback("summary", summary.status());
    *end_.mutable_summary() = *std::move(summary);
    summarised_ = true;
  }

  void AttachCall() {
    if (!summarised_) *end_.mutable_summary() = EmbeddedSummary(service_.kb_, session_);
    if (service_.calls_ == nullptr || session_.call_sid().empty()) return Finish();
    // The call record goes to the CRM with the conversation; without it the conversation still
    // ends (the CRM gets the call SID inside the session).
    service_.GetCallAsync(session_.call_sid(), CallerIdentity{}, scope_,
                          [self = shared_from_this()](absl::StatusOr<livecall::v1::Call> call) {
                            if (call.ok()) {
                              *self->end_.mutable_call() = *std::move(call);
                            } else {
                              LogWarning("call record unavailable for the finished conversation",
                                         {{"callSid", self->session_.call_sid()},
                                          {"error", call.status().ToString()}});
                            }
                            self->Finish();
                          });
  }

  void Finish() {
    // The summary says why a call nobody talked on ended (busy, no answer, the caller gave up).
    if (const std::string outcome = CallOutcome(end_.call(), session_.language());
        !outcome.empty()) {
      end_.mutable_summary()->set_text(absl::StrCat(outcome, " ", end_.summary().text()));
    }
    // An ended session takes no turns: its copy is of no more use (were it kept, the end's new
    // version would make it refused).
    service_.ForgetSession(session_.session_id());
    service_.CallContextAsync<livecall::v1::EndSessionRequest, Session>(scope_, end_, kEndSession,
                                                                        std::move(done_));
  }

  AiSessionService& service_;
  const livecall::v1::EndAiSessionRequest& request_;
  const CallerIdentity caller_;
  const CallScope scope_;
  SessionCallback done_;
  Session session_;
  livecall::v1::EndSessionRequest end_;
  bool summarised_ = false;
};

void AiSessionService::EndAsync(const livecall::v1::EndAiSessionRequest& request,
                                const CallerIdentity& caller, CallScope scope,
                                SessionCallback done) {
  std::make_shared<EndFlow>(*this, request, caller, std::move(scope), std::move(done))->Run();
}

absl::StatusOr<Session> AiSessionService::End(const livecall::v1::EndAiSessionRequest& request,
                                              const CallerIdentity& caller) {
  return Await<Session>([&](SessionCallback done) {
    EndAsync(request, caller, CallScope::Detached(), std::move(done));
  });
}

void AiSessionService::AssignAsync(const livecall::v1::AssignSessionRequest& request,
                                   const CallerIdentity& caller, CallScope scope,
                                   SessionCallback done) {
  // An agent taking sessions for itself would defeat ownership: only call-control (a service),
  // which knows who answered, or a supervisor assigns.
  if (caller.is_agent()) {
    return done(absl::PermissionDeniedError(
        "an agent cannot assign sessions; call-control assigns a call's session to the agent who "
        "answers it"));
  }
  if (request.session_id().empty()) {
    return done(absl::InvalidArgumentError("sessionId is required"));
  }
  if (!IsValidAgentIdentity(request.agent_id())) {
    return done(absl::InvalidArgumentError("agentId must be 1-128 printable characters"));
  }
  CallContextVersionedAsync<livecall::v1::AssignSessionRequest, Session>(
      scope, request, kAssignSession,
      [this, done = std::move(done)](absl::StatusOr<Session> assigned, int64_t version) {
        if (assigned.ok()) RememberSession(*assigned, version);
        done(std::move(assigned));
      });
}

absl::StatusOr<Session> AiSessionService::Assign(const livecall::v1::AssignSessionRequest& request,
                                                 const CallerIdentity& caller) {
  return Await<Session>([&](SessionCallback done) {
    AssignAsync(request, caller, CallScope::Detached(), std::move(done));
  });
}

}  // namespace livecall::ai_session
