#include "services/ai-session/ai_session_service.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/language.h"
#include "common/proto_time.h"
#include "common/status.h"
#include "common/unary_reactor.h"
#include "services/ai-session/greeting.h"
#include "services/ai-session/suggestion_engine.h"

namespace livecall::ai_session {

using livecall::v1::Customer;
using livecall::v1::Session;

void AiSessionService::PrepareContext(grpc::ClientContext* context) const {
  context->set_deadline(absl::ToChronoTime(absl::Now() + peer_deadline_));
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

}  // namespace livecall::ai_session
