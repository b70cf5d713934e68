#include "services/gateway/gateway_handler.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "services/gateway/error_response.h"
#include "services/gateway/gateway_metrics.h"
#include "services/gateway/stages/access_stage.h"
#include "services/gateway/stages/auth_stage.h"
#include "services/gateway/stages/backend_call_handler.h"
#include "services/gateway/stages/cors_stage.h"
#include "services/gateway/stages/dev_login_handler.h"
#include "services/gateway/stages/live_events_handler.h"
#include "services/gateway/stages/rate_limit_stage.h"
#include "services/gateway/stages/route_match_stage.h"
#include "services/gateway/stages/static_json_handler.h"
#include "services/gateway/stages/twilio_signature_stage.h"
#include "services/gateway/stages/twilio_webhook_handler.h"
#include "services/gateway/url.h"

namespace livecall::gateway {
namespace {

// The metrics label of an HTTP method: the standard ones, else OTHER (a client may send any token).
absl::string_view MethodLabel(absl::string_view method) {
  for (absl::string_view known : {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"}) {
    if (method == known) return known;
  }
  return "OTHER";
}

// What every answer passes through on its way to the connection, in one allocation for the
// request: the route label the stages fill in, the request id, the start time.
struct AnswerContext {
  std::string route_label = "unmatched";
  std::string request_id;
  absl::string_view method_label;
  absl::Time start;
  HttpResponder respond;
};

// Wraps `respond` so that every error names the request, what it must not tell the client goes
// to the log under the same id, and the answer is counted and timed (gateway_metrics.h) under the
// route label.
HttpResponder Finishing(std::shared_ptr<AnswerContext> context) {
  HttpInFlightRequests().Increment();
  return [context = std::move(context)](HttpResponse response) {
    if (!response.log_detail.empty()) {
      LogWarning("request failed", {{"request_id", context->request_id},
                                    {"route", context->route_label},
                                    {"status", absl::StrCat(response.status)},
                                    {"error", response.log_detail}});
      response.log_detail.clear();
    }
    AttachRequestId(&response, context->request_id);
    HttpInFlightRequests().Decrement();
    RecordHttpRequest(context->route_label, context->method_label, response.status,
                      absl::Now() - context->start);
    context->respond(std::move(response));
  };
}

}  // namespace

GatewayHandler::GatewayHandler(const RouteTable* routes, BackendClient* backend,
                               const ReadinessChecker* /*readiness*/, std::string openapi_json,
                               Options options)
    : trusted_proxy_hops_(options.trusted_proxy_hops) {
  const AgentAuthOptions token_rules = {.jwt = {.leeway = options.jwt_leeway,
                                                .audience = options.jwt_audience,
                                                .max_lifetime = options.jwt_max_lifetime},
                                        .issuer = options.jwt_issuer,
                                        .dev_login = options.dev_login};
  stages_.push_back(std::make_unique<CorsStage>(routes, options.cors));
  stages_.push_back(std::make_unique<RouteMatchStage>(routes, options.console));
  stages_.push_back(std::make_unique<AuthStage>(AuthStageOptions{
      .auth_enabled = options.auth_enabled, .jwt = options.jwt, .rules = token_rules}));
  stages_.push_back(std::make_unique<RateLimitStage>(options.agent_limiter, options.ip_limiter,
                                                     options.trusted_proxy_hops));
  stages_.push_back(std::make_unique<AccessStage>());
  stages_.push_back(std::make_unique<TwilioSignatureStage>(
      TwilioSignatureOptions{.auth_token = options.twilio_auth_token,
                             .public_url = options.public_url,
                             .replay_window = options.twilio_replay_window}));

  auto bind = [this](RouteKind kind, std::unique_ptr<RouteHandler> handler) {
    handlers_[static_cast<size_t>(kind)] = std::move(handler);
  };
  bind(RouteKind::kBackendCall,
       std::make_unique<BackendCallHandler>(backend, options.backend_deadline, options.tts_signer));
  bind(RouteKind::kLiveEvents,
       std::make_unique<LiveEventsHandler>(backend, options.backend_deadline, options.events,
                                           options.stream_limits));
  bind(RouteKind::kTwilioWebhook,
       std::make_unique<TwilioWebhookHandler>(backend, options.webhook_deadline));
  bind(RouteKind::kDevLogin,
       std::make_unique<DevLoginHandler>(DevLoginOptions{.enabled = options.dev_login,
                                                         .jwt = options.jwt,
                                                         .ttl = options.dev_login_ttl,
                                                         .audience = options.jwt_audience}));
  bind(RouteKind::kHealth, std::make_unique<StaticJsonHandler>(HealthzBody()));
  bind(RouteKind::kOpenApi, std::make_unique<StaticJsonHandler>(std::move(openapi_json)));
}

std::string GatewayHandler::ClientIp(const HttpRequest& request, const std::string& peer_ip) const {
  return livecall::gateway::ClientIp(request, peer_ip, trusted_proxy_hops_);
}

void GatewayHandler::Handle(const HttpRequest& request, const std::string& request_id,
                            const std::string& client_ip, HttpResponder respond) {
  const absl::string_view method(request.method_string().data(), request.method_string().size());
  auto context = std::make_shared<AnswerContext>();
  context->request_id = request_id;
  context->method_label = MethodLabel(method);
  context->start = absl::Now();
  context->respond = std::move(respond);
  // The label lives in the context; the exchange's pointer shares its ownership.
  std::shared_ptr<std::string> route_label(context, &context->route_label);
  respond = Finishing(std::move(context));
  const absl::string_view target(request.target().data(), request.target().size());
  if (target.empty() || target[0] != '/') {
    return respond(HttpErrorResponse(400, "INVALID_ARGUMENT",
                                     "request target must be a path starting with '/'"));
  }
  const RequestTarget parts = SplitTarget(target);
  Exchange exchange{.request = request,
                    .request_id = request_id,
                    .peer_ip = client_ip,
                    .method = method,
                    .path = parts.path,
                    .query = parts.query,
                    .respond = std::move(respond),
                    .route_label = std::move(route_label)};
  for (const std::unique_ptr<Stage>& stage : stages_) {
    if (std::optional<HttpResponse> answer = stage->Process(exchange)) {
      return exchange.respond(*std::move(answer));
    }
  }
  handlers_[static_cast<size_t>(exchange.route().kind)]->Serve(exchange,
                                                               std::move(exchange.respond));
}

}  // namespace livecall::gateway
