#include "services/ai-session/ai_session_service.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/language.h"
#include "common/log.h"
#include "common/proto_time.h"
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

}  // namespace

using livecall::v1::Customer;
using livecall::v1::Session;

void AiSessionService::PrepareContext(grpc::ClientContext* context) const {
  context->set_deadline(absl::ToChronoTime(absl::Now() + options_.peer_deadline));
  // Context restarting (a rolling update) is waited out within the deadline instead of failing
  // the agent's request while the channel reconnects.
  context->set_wait_for_ready(true);
}

absl::StatusOr<std::string> AiSessionService::AskLlm(const std::vector<ChatMessage>& messages,
                                                     absl::Duration deadline,
                                                     absl::string_view purpose) {
  if (llm_ == nullptr) return absl::UnavailableError("no LLM configured");
  absl::StatusOr<std::string> reply = llm_->Complete(messages, deadline);
  if (!reply.ok()) {
    ++llm_fallbacks_;
    LogWarning("llm failed; embedded engine answers",
               {{"purpose", std::string(purpose)}, {"error", reply.status().ToString()}});
  }
  return reply;
}

absl::StatusOr<Session> AiSessionService::Start(const livecall::v1::StartSessionRequest& request) {
  if (request.phone_number().empty()) {
    return absl::InvalidArgumentError("phoneNumber is required");
  }
  if (!request.language().empty() && !IsSupportedLanguage(request.language())) {
    return absl::InvalidArgumentError(
        absl::StrCat("language \"", request.language(), "\" is not one of uz, ru, en"));
  }
  const std::string direction = request.direction().empty() ? "outbound" : request.direction();
  if (direction != "outbound" && direction != "inbound") {
    return absl::InvalidArgumentError(
        absl::StrCat("direction \"", request.direction(), "\" is not outbound or inbound"));
  }

  Customer customer;
  {
    grpc::ClientContext rpc;
    PrepareContext(&rpc);
    livecall::v1::LookupCustomerRequest lookup;
    lookup.set_phone_number(request.phone_number());
    LIVECALL_RETURN_IF_ERROR(ToAbslStatus(context_.LookupCustomer(&rpc, lookup, &customer)));
  }
  const std::string language = !request.language().empty() ? request.language()
                               : !customer.language().empty()
                                   ? customer.language()
                                   : DefaultLanguageForNumber(customer.phone_number());

  livecall::v1::CreateSessionRequest create;
  Session& session = *create.mutable_session();
  session.set_call_sid(request.call_sid());
  session.set_phone_number(customer.phone_number());
  session.set_direction(direction);
  session.set_agent_id(request.agent_id());
  session.set_language(language);
  *session.mutable_customer() = customer;
  session.set_greeting(BuildGreeting(customer, language, direction));
  if (llm_ != nullptr) {
    absl::StatusOr<std::string> reply = AskLlm(GreetingPrompt(session, session.greeting()),
                                               options_.llm_greeting_deadline, "greeting");
    absl::StatusOr<std::string> greeting =
        reply.ok() ? ParseGreeting(*reply) : absl::StatusOr<std::string>(reply.status());
    if (greeting.ok()) {
      session.set_greeting(*greeting);
    } else if (reply.ok()) {
      ++llm_fallbacks_;
      LogWarning("llm greeting unusable", {{"error", greeting.status().ToString()}});
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
  grpc::ClientContext rpc;
  PrepareContext(&rpc);
  LIVECALL_RETURN_IF_ERROR(ToAbslStatus(context_.CreateSession(&rpc, create, &created)));
  return created;
}

absl::StatusOr<Session> AiSessionService::Get(const std::string& session_id) {
  if (session_id.empty()) return absl::InvalidArgumentError("sessionId is required");
  grpc::ClientContext rpc;
  PrepareContext(&rpc);
  livecall::v1::GetSessionRequest request;
  request.set_session_id(session_id);
  Session session;
  LIVECALL_RETURN_IF_ERROR(ToAbslStatus(context_.GetSession(&rpc, request, &session)));
  return session;
}

absl::StatusOr<livecall::v1::AddTurnResponse> AiSessionService::AddTurn(
    const livecall::v1::AddTurnRequest& request) {
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
  LIVECALL_ASSIGN_OR_RETURN(Session session, Get(request.session_id()));
  if (session.status() != "active") {
    return absl::FailedPreconditionError(
        absl::StrCat("session \"", request.session_id(), "\" has ended; it takes no more turns"));
  }
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
        ++llm_fallbacks_;
        LogWarning("llm suggestions unusable", {{"error", parsed.status().ToString()}});
      }
    }
  }
  if (suggestions.empty()) suggestions = TurnSuggestions(kb_, session);

  livecall::v1::AppendTurnRequest append;
  append.set_session_id(session.session_id());
  *append.mutable_turn() = turn;
  for (const livecall::v1::Suggestion& suggestion : suggestions) {
    *append.add_suggestions() = suggestion;
  }
  livecall::v1::AppendTurnResponse appended;
  grpc::ClientContext rpc;
  PrepareContext(&rpc);
  LIVECALL_RETURN_IF_ERROR(ToAbslStatus(context_.AppendTurn(&rpc, append, &appended)));
  for (livecall::v1::Suggestion& suggestion : suggestions) {
    *response.add_suggestions() = std::move(suggestion);
  }
  return response;
}

absl::StatusOr<Session> AiSessionService::End(const livecall::v1::EndAiSessionRequest& request) {
  const std::string disposition =
      request.disposition().empty() ? "completed" : request.disposition();
  if (!IsKnownDisposition(disposition)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "disposition \"", disposition,
        "\" is not resolved, follow-up, escalated, no-answer, abandoned or completed"));
  }
  LIVECALL_ASSIGN_OR_RETURN(Session session, Get(request.session_id()));
  if (session.status() != "active") {
    return absl::FailedPreconditionError(
        absl::StrCat("session \"", request.session_id(), "\" has already ended"));
  }
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
        ++llm_fallbacks_;
        LogWarning("llm summary unusable", {{"error", summary.status().ToString()}});
      }
    }
  }
  if (!summarised) *end.mutable_summary() = EmbeddedSummary(kb_, session);
  if (calls_ != nullptr && !session.call_sid().empty()) {
    // The call record goes to the CRM with the conversation; without it the conversation still
    // ends (the CRM gets the call SID inside the session).
    livecall::v1::GetCallRequest get_call;
    get_call.set_call_sid(session.call_sid());
    grpc::ClientContext rpc;
    PrepareContext(&rpc);
    grpc::Status got = calls_->GetCall(&rpc, get_call, end.mutable_call());
    if (!got.ok()) {
      end.clear_call();
      LogWarning("call record unavailable for the finished conversation",
                 {{"callSid", session.call_sid()}, {"error", got.error_message()}});
    }
  }
  Session ended;
  grpc::ClientContext rpc;
  PrepareContext(&rpc);
  LIVECALL_RETURN_IF_ERROR(ToAbslStatus(context_.EndSession(&rpc, end, &ended)));
  return ended;
}

grpc::ServerUnaryReactor* AiSessionService::StartSession(
    grpc::CallbackServerContext* context, const livecall::v1::StartSessionRequest* request,
    Session* response) {
  return FinishOnExecutor(context, executor_, [this, request, response]() -> absl::Status {
    LIVECALL_ASSIGN_OR_RETURN(*response, Start(*request));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AiSessionService::GetSession(
    grpc::CallbackServerContext* context, const livecall::v1::GetAiSessionRequest* request,
    Session* response) {
  return FinishOnExecutor(context, executor_, [this, request, response]() -> absl::Status {
    LIVECALL_ASSIGN_OR_RETURN(*response, Get(request->session_id()));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AiSessionService::AddTurn(grpc::CallbackServerContext* context,
                                                    const livecall::v1::AddTurnRequest* request,
                                                    livecall::v1::AddTurnResponse* response) {
  return FinishOnExecutor(context, executor_, [this, request, response]() -> absl::Status {
    LIVECALL_ASSIGN_OR_RETURN(*response, AddTurn(*request));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AiSessionService::EndSession(
    grpc::CallbackServerContext* context, const livecall::v1::EndAiSessionRequest* request,
    Session* response) {
  return FinishOnExecutor(context, executor_, [this, request, response]() -> absl::Status {
    LIVECALL_ASSIGN_OR_RETURN(*response, End(*request));
    return absl::OkStatus();
  });
}

}  // namespace livecall::ai_session
