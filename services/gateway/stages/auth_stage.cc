#include "services/gateway/stages/auth_stage.h"

#include <utility>

namespace livecall::gateway {

std::optional<HttpResponse> AuthStage::Process(Exchange& exchange) const {
  if (exchange.route().access != RouteAccess::kBearer) return std::nullopt;
  const bool token_sent =
      exchange.request.find(boost::beast::http::field::authorization) != exchange.request.end();
  if (!token_sent || !options_.jwt.configured()) {
    if (!options_.auth_enabled) return std::nullopt;
    exchange.unauthenticated =
        UnauthorizedResponse("this route needs an agent's bearer token", token_sent);
    return std::nullopt;
  }
  absl::StatusOr<AuthenticatedAgent> agent =
      AuthenticateAgent(exchange.Header(boost::beast::http::field::authorization), options_.jwt,
                        options_.rules, &verified_tokens_);
  if (!agent.ok()) {
    exchange.unauthenticated =
        UnauthorizedResponse(agent.status().message(), /*token_was_sent=*/true);
    return std::nullopt;
  }
  exchange.caller = *std::move(agent);
  return std::nullopt;
}

}  // namespace livecall::gateway
