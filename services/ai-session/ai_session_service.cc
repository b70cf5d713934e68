#include "services/ai-session/ai_session_service.h"

#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/enum_json.h"
#include "common/ids.h"
#include "common/language.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/proto_time.h"
#include "common/request_id.h"
#include "common/status.h"
#include "common/unary_reactor.h"
#include "services/ai-session/greeting.h"
#include "services/ai-session/llm_prompts.h"
#include "services/ai-session/suggestion_engine.h"

namespace livecall::ai_session {
namespace {

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

}  // namespace

using livecall::v1::Customer;
using livecall::v1::Session;

absl::Status AiSessionService::CallContext(
    const std::function<grpc::Status(grpc::ClientContext*)>& call) {
  if (absl::Status allowed = context_breaker_.Allow(); !allowed.ok()) return allowed;
  grpc::ClientContext rpc;
  PrepareContext(&rpc);
  const grpc::Status status = call(&rpc);
  // Unreachable (or, waiting for it to be ready, not there within the deadline) counts against
  // context; any answer, an error included, shows that it is up.
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE ||
      status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    context_breaker_.RecordFailure();
  } else {
    context_breaker_.RecordSuccess();
  }
  return ToAbslStatus(status);
}

void AiSessionService::PrepareContext(grpc::ClientContext* context) const {
  context->set_deadline(absl::ToChronoTime(absl::Now() + options_.peer_deadline));
  // Context restarting (a rolling update) is waited out within the deadline instead of failing
  // the agent's request while the channel reconnects.
  context->set_wait_for_ready(true);
  ForwardRequestId(context);
}

absl::StatusOr<livecall::v1::Call> AiSessionService::GetCall(const std::string& call_sid,
                                                             const CallerIdentity& caller) {
  if (calls_ == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("ai-session has no call-control to look up call ", call_sid));
  }
  livecall::v1::GetCallRequest request;
  request.set_call_sid(call_sid);
  grpc::ClientContext rpc;
  PrepareContext(&rpc);
  // As the gateway forwards it: call-control believes it because ai-session sends its API key.
  if (!caller.agent_id.empty()) {
    rpc.AddMetadata(kAgentMetadata, caller.agent_id);
    rpc.AddMetadata(kRoleMetadata, RoleName(caller.role));
  }
  livecall::v1::Call call;
  LIVECALL_RETURN_IF_ERROR(ToAbslStatus(calls_->GetCall(&rpc, request, &call)));
  return call;
}

absl::StatusOr<std::optional<Session>> AiSessionService::CallsSession(
    std::string& call_sid, const CallerIdentity& caller) {
  if (!IsCallSidShaped(call_sid)) {
    return absl::InvalidArgumentError(
        absl::StrCat("callSid \"", call_sid, "\" is not a call SID (CA and 32 hex digits)"));
  }
  // call-control starts its calls' sessions (role service) while it answers a webhook, waiting on
  // this: asking it back would be a needless round trip at best. Services name the customer's leg.
  if (caller.role == kRoleService) return std::nullopt;
  absl::StatusOr<livecall::v1::Call> call = GetCall(call_sid, caller);
  if (!call.ok()) {
    // A supervisor, like a service, may attach a call call-control does not know; an agent may
    // attach only its own.
    if (caller.is_agent() || !absl::IsNotFound(call.status())) return call.status();
    return std::nullopt;
  }
  // The customer's leg, even when the browser named its own: the call's session and live events
  // are kept under it.
  call_sid = call->call_sid();
  if (call->session_id().empty()) return std::nullopt;
  absl::StatusOr<Session> existing = Get(call->session_id());
  // Expired while the call is still recorded: the caller makes a new one.
  if (absl::IsNotFound(existing.status())) return std::nullopt;
  if (!existing.ok()) return existing.status();
  return *std::move(existing);
}

absl::StatusOr<Session> AiSessionService::ForCaller(Session session, const CallerIdentity& caller) {
  if (caller.MayAccess(session.agent_id())) return session;
  if (!session.agent_id().empty()) return NotYours(absl::StrCat("session ", session.session_id()));
  // An inbound call's session before call-control assigns it to the agent who answered: the
  // agent is that one (call-control said the call is its), so it is assigned here as well.
  livecall::v1::AssignSessionRequest assign;
  assign.set_session_id(session.session_id());
  assign.set_agent_id(caller.agent_id);
  Session assigned;
  LIVECALL_RETURN_IF_ERROR(CallContext(
      [&](grpc::ClientContext* rpc) { return context_.AssignSession(rpc, assign, &assigned); }));
  return assigned;
}

void AiSessionService::CountFallback(absl::string_view purpose, const absl::Status& why) {
  ++llm_fallbacks_;
  RecordLlmFallback(purpose);
  LogWarning("llm failed; embedded engine answers",
             {{"purpose", std::string(purpose)}, {"error", why.ToString()}});
}

absl::StatusOr<Session> AiSessionService::GetActive(const std::string& session_id,
                                                    absl::string_view refused,
                                                    const CallerIdentity& caller) {
  LIVECALL_ASSIGN_OR_RETURN(Session session, Get(session_id, caller));
  LIVECALL_RETURN_IF_ERROR(CheckActive(session, refused));
  return session;
}

absl::Status AiSessionService::CheckActive(const Session& session, absl::string_view refused) {
  if (session.status() == "active") return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("session \"", session.session_id(), "\" has ended; ", refused));
}

absl::Status AiSessionService::Append(const std::string& session_id,
                                      const livecall::v1::Turn& turn,
                                      const std::vector<livecall::v1::Suggestion>& suggestions) {
  livecall::v1::AppendTurnRequest append;
  append.set_session_id(session_id);
  *append.mutable_turn() = turn;
  for (const livecall::v1::Suggestion& suggestion : suggestions) {
    *append.add_suggestions() = suggestion;
  }
  livecall::v1::AppendTurnResponse appended;
  return CallContext(
      [&](grpc::ClientContext* rpc) { return context_.AppendTurn(rpc, append, &appended); });
}

absl::StatusOr<std::string> AiSessionService::AskLlm(const std::vector<ChatMessage>& messages,
                                                     absl::Duration deadline,
                                                     absl::string_view purpose) {
  if (llm_ == nullptr) return absl::UnavailableError("no LLM configured");
  absl::StatusOr<std::string> reply = llm_->Complete(messages, deadline);
  if (!reply.ok()) CountFallback(purpose, reply.status());
  return reply;
}

absl::StatusOr<Session> AiSessionService::Start(const livecall::v1::StartSessionRequest& request,
                                                const CallerIdentity& caller) {
  LIVECALL_ASSIGN_OR_RETURN(const std::string owner, caller.OwnerFor(request.agent_id()));
  if (request.phone_number().empty()) {
    return absl::InvalidArgumentError("phoneNumber is required");
  }
  // "uz", "ru", "en" or a BCP-47 tag of one ("ru-RU"); empty: found out below.
  std::string requested_language;
  if (!request.language().empty()) {
    LIVECALL_ASSIGN_OR_RETURN(requested_language, ParseLanguage(request.language()));
  }
  const std::string direction = request.direction().empty() ? "outbound" : request.direction();
  if (direction != "outbound" && direction != "inbound") {
    return absl::InvalidArgumentError(
        absl::StrCat("direction \"", request.direction(), "\" is not outbound or inbound"));
  }

  std::string call_sid = request.call_sid();
  if (!call_sid.empty()) {
    LIVECALL_ASSIGN_OR_RETURN(std::optional<Session> existing, CallsSession(call_sid, caller));
    if (existing.has_value()) return ForCaller(*std::move(existing), caller);
  }

  Customer customer;
  {
    livecall::v1::LookupCustomerRequest lookup;
    lookup.set_phone_number(request.phone_number());
    LIVECALL_RETURN_IF_ERROR(CallContext(
        [&](grpc::ClientContext* rpc) { return context_.LookupCustomer(rpc, lookup, &customer); }));
  }
  const std::string language = !requested_language.empty() ? requested_language
                               : !customer.language().empty()
                                   ? customer.language()
                                   : DefaultLanguageForNumber(customer.phone_number());

  livecall::v1::CreateSessionRequest create;
  Session& session = *create.mutable_session();
  session.set_call_sid(call_sid);
  session.set_phone_number(customer.phone_number());
  session.set_direction(direction);
  session.set_agent_id(owner);
  session.set_language(language);
  *session.mutable_customer() = customer;
  session.set_greeting(BuildGreeting(customer, language, direction));
  if (llm_ != nullptr) {
    absl::StatusOr<std::string> reply = AskLlm(GreetingPrompt(session, session.greeting()),
                                               options_.llm_greeting_deadline, "greeting");
    absl::StatusOr<std::string> greeting =
        reply.ok() ? ParseGreeting(*reply) : absl::StatusOr<std::string>(reply.status());
    // The greeting is said to whoever answers: one that tells the customer's record is replaced
    // by the template.
    if (greeting.ok() && SaysWithheldCustomerData(*greeting, session)) {
      greeting = absl::FailedPreconditionError("llm greeting says withheld customer data");
    }
    if (greeting.ok()) {
      session.set_greeting(*greeting);
    } else if (reply.ok()) {
      CountFallback("greeting", greeting.status());
    }
  }
  for (livecall::v1::Suggestion& suggestion : InitialSuggestions(kb_, customer, language)) {
    *session.add_suggestions() = std::move(suggestion);
  }
  livecall::v1::Turn* greeting_turn = session.add_conversation();
  greeting_turn->set_speaker("ai");
  greeting_turn->set_text(session.greeting());
  *greeting_turn->mutable_at() = ToProtoTimestamp(absl::Now());

  Session created;
  LIVECALL_RETURN_IF_ERROR(CallContext(
      [&](grpc::ClientContext* rpc) { return context_.CreateSession(rpc, create, &created); }));
  // Context answers the call's session when it had one already (a concurrent start).
  return ForCaller(std::move(created), caller);
}

absl::StatusOr<Session> AiSessionService::Get(const std::string& session_id,
                                              const CallerIdentity& caller) {
  if (session_id.empty()) return absl::InvalidArgumentError("sessionId is required");
  livecall::v1::GetSessionRequest request;
  request.set_session_id(session_id);
  Session session;
  LIVECALL_RETURN_IF_ERROR(CallContext(
      [&](grpc::ClientContext* rpc) { return context_.GetSession(rpc, request, &session); }));
  if (!caller.MayAccess(session.agent_id())) return NotYours(absl::StrCat("session ", session_id));
  return session;
}

absl::StatusOr<livecall::v1::AddTurnResponse> AiSessionService::AddTurn(
    const livecall::v1::AddTurnRequest& request, const CallerIdentity& caller) {
  // Existence and ownership (404/403), then the request's fields (400), then the session's state
  // (409): only the session's agent learns anything from a malformed request.
  LIVECALL_ASSIGN_OR_RETURN(Session session, Get(request.session_id(), caller));
  if (request.speaker() != "customer" && request.speaker() != "agent") {
    return absl::InvalidArgumentError(
        absl::StrCat("speaker \"", request.speaker(), "\" is not customer or agent"));
  }
  const std::string text(absl::StripAsciiWhitespace(request.text()));
  if (text.empty()) return absl::InvalidArgumentError("text is required");
  if (text.size() > kMaxTurnTextLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("text is longer than ", kMaxTurnTextLength, " bytes"));
  }
  LIVECALL_RETURN_IF_ERROR(CheckActive(session, "it takes no more turns"));
  livecall::v1::AddTurnResponse response;
  livecall::v1::Turn& turn = *response.mutable_turn();
  turn.set_speaker(request.speaker());
  turn.set_text(text);
  *turn.mutable_at() = ToProtoTimestamp(absl::Now());
  *session.add_conversation() = turn;

  std::vector<livecall::v1::Suggestion> suggestions;
  response.set_engine("embedded");
  if (llm_ != nullptr) {
    absl::StatusOr<std::string> reply =
        AskLlm(SuggestionPrompt(session, options_.llm_max_prompt_tokens),
               options_.llm_suggestion_deadline, "suggestions");
    if (reply.ok()) {
      absl::StatusOr<std::vector<livecall::v1::Suggestion>> parsed =
          ParseSuggestions(*reply, kMaxSuggestions);
      if (parsed.ok()) {
        suggestions = *std::move(parsed);
        response.set_engine("llm");
      } else {
        CountFallback("suggestions", parsed.status());
      }
    }
  }
  if (suggestions.empty()) suggestions = TurnSuggestions(kb_, session);
  LIVECALL_RETURN_IF_ERROR(Append(session.session_id(), turn, suggestions));
  for (livecall::v1::Suggestion& suggestion : suggestions) {
    *response.add_suggestions() = std::move(suggestion);
  }
  return response;
}

absl::StatusOr<livecall::v1::CallerReply> AiSessionService::ReplyToCaller(
    const livecall::v1::ReplyToCallerRequest& request) {
  const std::string text(absl::StripAsciiWhitespace(request.text()));
  if (text.size() > kMaxTurnTextLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("text is longer than ", kMaxTurnTextLength, " bytes"));
  }
  if (!(request.speech_confidence() >= 0 && request.speech_confidence() <= 1)) {
    return absl::InvalidArgumentError("speechConfidence must be between 0 and 1");
  }
  if (request.unclear_attempts() < 0) {
    return absl::InvalidArgumentError("unclearAttempts must not be negative");
  }
  LIVECALL_ASSIGN_OR_RETURN(Session session,
                            GetActive(request.session_id(), "the voice agent cannot reply"));
  // What the caller said is part of the conversation even when the recogniser was unsure; the
  // knowledge-base suggestions for it are what a human agent would see, and what the embedded
  // reply answers from.
  std::vector<livecall::v1::Suggestion> suggestions(session.suggestions().begin(),
                                                    session.suggestions().end());
  if (!text.empty()) {
    livecall::v1::Turn caller_turn;
    caller_turn.set_speaker("customer");
    caller_turn.set_text(text);
    *caller_turn.mutable_at() = ToProtoTimestamp(absl::Now());
    *session.add_conversation() = caller_turn;
    suggestions = TurnSuggestions(kb_, session);
    LIVECALL_RETURN_IF_ERROR(Append(session.session_id(), caller_turn, suggestions));
  }
  std::optional<livecall::v1::CallerReply> reply;
  // The caller's explicit wishes (a person, goodbye) and unclear speech are decided by the
  // embedded rules; the LLM words answers.
  if (llm_ != nullptr && !IsUnclearSpeech(request, options_.voice) &&
      DetectCallerIntent(text) == CallerIntent::kOther) {
    absl::StatusOr<std::string> answer =
        AskLlm(CallerReplyPrompt(session, options_.llm_max_prompt_tokens),
               options_.llm_caller_reply_deadline, "caller-reply");
    if (answer.ok()) {
      absl::StatusOr<livecall::v1::CallerReply> parsed = ParseCallerReply(*answer);
      // Never spoken: customer data the voice agent was not given (an LLM that knows more than
      // its prompt, or repeats what the conversation carries). The embedded engine answers.
      if (parsed.ok() && SaysWithheldCustomerData(parsed->text(), session)) {
        parsed = absl::FailedPreconditionError("llm caller reply says withheld customer data");
      }
      if (parsed.ok()) {
        reply = *std::move(parsed);
        reply->set_language(session.language());
      } else {
        CountFallback("caller-reply", parsed.status());
      }
    }
  }
  if (!reply.has_value()) {
    reply = EmbeddedCallerReply(session, request, AnswersTo(kb_, text, session.language()),
                                options_.voice);
  }
  livecall::v1::Turn agent_turn;
  agent_turn.set_speaker("ai");
  agent_turn.set_text(reply->text());
  *agent_turn.mutable_at() = ToProtoTimestamp(absl::Now());
  LIVECALL_RETURN_IF_ERROR(Append(session.session_id(), agent_turn, suggestions));
  for (livecall::v1::Suggestion& suggestion : suggestions) {
    *reply->add_suggestions() = std::move(suggestion);
  }
  RecordVoiceAgentReply(reply->action(), reply->reason(), reply->engine());
  return *std::move(reply);
}

absl::StatusOr<Session> AiSessionService::End(const livecall::v1::EndAiSessionRequest& request,
                                              const CallerIdentity& caller) {
  // Existence and ownership, then the request's fields, then the session's state (as AddTurn).
  LIVECALL_ASSIGN_OR_RETURN(Session session, Get(request.session_id(), caller));
  const std::string disposition =
      request.disposition().empty() ? "completed" : request.disposition();
  if (!IsKnownDisposition(disposition)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "disposition \"", disposition,
        "\" is not resolved, follow-up, escalated, no-answer, abandoned or completed"));
  }
  LIVECALL_RETURN_IF_ERROR(CheckActive(session, "it cannot end again"));
  livecall::v1::EndSessionRequest end;
  end.set_session_id(session.session_id());
  end.set_disposition(disposition);
  bool summarised = false;
  if (llm_ != nullptr) {
    absl::StatusOr<std::string> reply =
        AskLlm(SummaryPrompt(session, options_.llm_max_prompt_tokens),
               options_.llm_summary_deadline, "summary");
    if (reply.ok()) {
      absl::StatusOr<livecall::v1::Summary> summary = ParseSummary(*reply);
      if (summary.ok()) {
        *end.mutable_summary() = *std::move(summary);
        summarised = true;
      } else {
        CountFallback("summary", summary.status());
      }
    }
  }
  if (!summarised) *end.mutable_summary() = EmbeddedSummary(kb_, session);
  if (calls_ != nullptr && !session.call_sid().empty()) {
    // The call record goes to the CRM with the conversation; without it the conversation still
    // ends (the CRM gets the call SID inside the session).
    absl::StatusOr<livecall::v1::Call> call = GetCall(session.call_sid(), CallerIdentity{});
    if (call.ok()) {
      *end.mutable_call() = *std::move(call);
    } else {
      LogWarning("call record unavailable for the finished conversation",
                 {{"callSid", session.call_sid()}, {"error", call.status().ToString()}});
    }
  }
  // The summary says why a call nobody talked on ended (busy, no answer, the caller gave up).
  if (const std::string outcome = CallOutcome(end.call(), session.language()); !outcome.empty()) {
    end.mutable_summary()->set_text(absl::StrCat(outcome, " ", end.summary().text()));
  }
  Session ended;
  LIVECALL_RETURN_IF_ERROR(
      CallContext([&](grpc::ClientContext* rpc) { return context_.EndSession(rpc, end, &ended); }));
  return ended;
}

absl::StatusOr<Session> AiSessionService::Assign(const livecall::v1::AssignSessionRequest& request,
                                                 const CallerIdentity& caller) {
  // An agent taking sessions for itself would defeat ownership: only call-control (a service),
  // which knows who answered, or a supervisor assigns.
  if (caller.is_agent()) {
    return absl::PermissionDeniedError(
        "an agent cannot assign sessions; call-control assigns a call's session to the agent who "
        "answers it");
  }
  if (request.session_id().empty()) return absl::InvalidArgumentError("sessionId is required");
  if (!IsValidAgentIdentity(request.agent_id())) {
    return absl::InvalidArgumentError("agentId must be 1-128 printable characters");
  }
  Session assigned;
  LIVECALL_RETURN_IF_ERROR(CallContext(
      [&](grpc::ClientContext* rpc) { return context_.AssignSession(rpc, request, &assigned); }));
  return assigned;
}

grpc::ServerUnaryReactor* AiSessionService::StartSession(
    grpc::CallbackServerContext* context, const livecall::v1::StartSessionRequest* request,
    Session* response) {
  return FinishOnExecutor(context, executor_,
                          [this, request, response](const CallerIdentity& caller) -> absl::Status {
                            LIVECALL_ASSIGN_OR_RETURN(*response, Start(*request, caller));
                            return absl::OkStatus();
                          });
}

grpc::ServerUnaryReactor* AiSessionService::GetSession(
    grpc::CallbackServerContext* context, const livecall::v1::GetAiSessionRequest* request,
    Session* response) {
  return FinishOnExecutor(
      context, executor_, [this, request, response](const CallerIdentity& caller) -> absl::Status {
        LIVECALL_ASSIGN_OR_RETURN(*response, Get(request->session_id(), caller));
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* AiSessionService::AddTurn(grpc::CallbackServerContext* context,
                                                    const livecall::v1::AddTurnRequest* request,
                                                    livecall::v1::AddTurnResponse* response) {
  return FinishOnExecutor(context, executor_,
                          [this, request, response](const CallerIdentity& caller) -> absl::Status {
                            LIVECALL_ASSIGN_OR_RETURN(*response, AddTurn(*request, caller));
                            return absl::OkStatus();
                          });
}

grpc::ServerUnaryReactor* AiSessionService::ReplyToCaller(
    grpc::CallbackServerContext* context, const livecall::v1::ReplyToCallerRequest* request,
    livecall::v1::CallerReply* response) {
  return FinishOnExecutor(context, executor_, [this, request, response]() -> absl::Status {
    LIVECALL_ASSIGN_OR_RETURN(*response, ReplyToCaller(*request));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AiSessionService::EndSession(
    grpc::CallbackServerContext* context, const livecall::v1::EndAiSessionRequest* request,
    Session* response) {
  return FinishOnExecutor(context, executor_,
                          [this, request, response](const CallerIdentity& caller) -> absl::Status {
                            LIVECALL_ASSIGN_OR_RETURN(*response, End(*request, caller));
                            return absl::OkStatus();
                          });
}

grpc::ServerUnaryReactor* AiSessionService::AssignSession(
    grpc::CallbackServerContext* context, const livecall::v1::AssignSessionRequest* request,
    Session* response) {
  return FinishOnExecutor(context, executor_,
                          [this, request, response](const CallerIdentity& caller) -> absl::Status {
                            LIVECALL_ASSIGN_OR_RETURN(*response, Assign(*request, caller));
                            return absl::OkStatus();
                          });
}

}  // namespace livecall::ai_session
