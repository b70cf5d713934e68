#include "services/gateway/stages/ownership_check.h"

#include <memory>
#include <utility>

#include "livecall/v1/ai_session.pb.h"
#include "livecall/v1/call_control.pb.h"
#include "services/gateway/error_response.h"

namespace livecall::gateway {

std::optional<BackendRequest> OwnershipCheck::Read(const RouteMatch& match,
                                                   const AuthenticatedAgent& caller,
                                                   const std::string& request_id) const {
  const Route& route = *match.route;
  const std::string* id = nullptr;
  for (const auto& [field, value] : match.bindings) {
    if (field == route.owner_field) id = &value;
  }
  if (route.owner == OwnedRecord::kNone || id == nullptr) return std::nullopt;
  BackendRequest read;
  read.deadline = deadline_;
  read.metadata = CallerMetadata(request_id, caller);
  if (route.owner == OwnedRecord::kSession) {
    livecall::v1::GetAiSessionRequest get;
    get.set_session_id(*id);
    read.service = "livecall.v1.AiSession";
    read.method_path = "/livecall.v1.AiSession/GetSession";
    read.payload = get.SerializeAsString();
  } else {
    livecall::v1::GetCallRequest get;
    get.set_call_sid(*id);
    read.service = "livecall.v1.CallControl";
    read.method_path = "/livecall.v1.CallControl/GetCall";
    read.payload = get.SerializeAsString();
  }
  return read;
}

void OwnershipCheck::Then(BackendRequest read, std::function<HttpResponse()> on_owned,
                          HttpResponder respond) const {
  backend_->Call(std::move(read),
                 AnswerWith(std::move(respond),
                            [on_owned = std::move(on_owned)](std::string) { return on_owned(); }));
}

void OwnershipCheck::RefuseAfterCheck(const Exchange& exchange, HttpResponse refusal,
                                      HttpResponder respond) const {
  std::optional<BackendRequest> read = Read(exchange.match, exchange.caller, exchange.request_id);
  if (!read.has_value()) return respond(std::move(refusal));
  Then(
      *std::move(read),
      [refusal = std::make_shared<HttpResponse>(std::move(refusal))] {
        return std::move(*refusal);
      },
      std::move(respond));
}

}  // namespace livecall::gateway
