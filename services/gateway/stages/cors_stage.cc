#include "services/gateway/stages/cors_stage.h"

#include <string>
#include <utility>
#include <vector>

namespace livecall::gateway {

std::optional<HttpResponse> CorsStage::Process(Exchange& exchange) const {
  const absl::string_view origin = exchange.Header(boost::beast::http::field::origin);
  const absl::string_view preflight_method =
      exchange.Header(boost::beast::http::field::access_control_request_method);
  if (exchange.method == "OPTIONS" && !preflight_method.empty() && !origin.empty()) {
    const RouteMatch probe = routes_->Match(preflight_method, exchange.path);
    std::vector<std::string> allowed = probe.allowed_methods;
    if (probe.result == RouteMatch::Result::kMatched) {
      *exchange.route_label = probe.route->path.pattern();
      allowed = {std::string(preflight_method)};
    }
    return policy_.Preflight(origin, preflight_method, allowed);
  }
  if (!origin.empty()) {
    exchange.respond = [this, origin = std::string(origin),
                        respond = std::move(exchange.respond)](HttpResponse response) {
      policy_.Decorate(origin, &response);
      respond(std::move(response));
    };
  }
  return std::nullopt;
}

}  // namespace livecall::gateway
