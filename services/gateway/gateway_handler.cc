#include "services/gateway/gateway_handler.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/metrics.h"
#include "livecall/v1/http.pb.h"
#include "livecall/v1/twilio_webhooks.pb.h"
#include "services/gateway/agent_auth.h"
#include "services/gateway/error_response.h"
#include "services/gateway/sse_handler.h"
#include "services/gateway/transcoder.h"
#include "services/gateway/twilio_signature.h"
#include "services/gateway/url.h"

namespace livecall::gateway {
namespace {

HttpResponse MethodNotAllowed(const std::vector<std::string>& allowed) {
  const std::string allow = absl::StrJoin(allowed, ", ");
  HttpResponse response = HttpErrorResponse(
      405, "METHOD_NOT_ALLOWED", absl::StrCat("method not allowed; this path accepts ", allow));
  response.headers.emplace_back("Allow", allow);
  return response;
}

// gRPC metadata values must be printable ASCII; refusing others here gives the client a clear
// 400 instead of a call that fails inside gRPC.
bool IsMetadataSafe(absl::string_view value) {
  for (char c : value) {
    if (c < 0x20 || c >= 0x7f) return false;
  }
  return true;
}

// The metrics label of an HTTP method: the standard ones, else OTHER (a client may send any token).
std::string MethodLabel(absl::string_view method) {
  for (absl::string_view known : {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"}) {
    if (method == known) return std::string(known);
  }
  return "OTHER";
}

// The agent's identity as metadata when a valid bearer token came (verified only when a secret is
// configured). UNAUTHENTICATED when a token does not verify, or the route requires an agent and
// none is authenticated.
absl::Status AddAgentMetadata(const HttpRequest& request, const Route& route,
                              const std::string& secret,
                              std::vector<std::pair<std::string, std::string>>* metadata) {
  auto auth = request.find(boost::beast::http::field::authorization);
  if (auth == request.end() || secret.empty()) {
    if (!route.requires_agent) return absl::OkStatus();
    return absl::UnauthenticatedError(
        secret.empty() ? "this route needs an agent, and agent authentication is not configured "
                         "(LIVECALL_JWT_SECRET)"
                       : "this route needs an agent's bearer token");
  }
  absl::StatusOr<AuthenticatedAgent> agent =
      AuthenticateAgent(absl::string_view(auth->value().data(), auth->value().size()), secret);
  if (!agent.ok()) return agent.status();
  metadata->emplace_back(kAgentMetadata, agent->agent_id);
  metadata->emplace_back(kRoleMetadata, agent->role);
  return absl::OkStatus();
}

// Wraps `respond` so that the answer is counted and timed (common/metrics.h) under `*route`, which
// the handler fills in once it knows the route template.
HttpResponder Observed(absl::string_view method, std::shared_ptr<std::string> route,
                       HttpResponder respond) {
  HttpInFlightRequests().Increment();
  return [method = MethodLabel(method), route = std::move(route), start = absl::Now(),
          respond = std::move(respond)](HttpResponse response) {
    HttpInFlightRequests().Decrement();
    RecordHttpRequest(*route, method, response.status, absl::Now() - start);
    respond(std::move(response));
  };
}

// A (raw_response) route's answer: the bytes as they are, with their type and cache headers; 304
// when the client already holds this ETag.
HttpResponse RawResponse(livecall::v1::HttpBody body, const std::string& if_none_match) {
  HttpResponse response;
  response.content_type = body.content_type().empty() ? "application/octet-stream"
                                                      : std::move(*body.mutable_content_type());
  if (!body.cache_control().empty()) {
    response.headers.emplace_back("Cache-Control", body.cache_control());
  }
  if (!body.etag().empty()) {
    response.headers.emplace_back("ETag", body.etag());
    if (if_none_match == body.etag()) {
      response.status = 304;
      return response;
    }
  }
  response.status = 200;
  response.body = std::move(*body.mutable_data());
  return response;
}

}  // namespace

GatewayHandler::GatewayHandler(const RouteTable* routes, BackendClient* backend,
                               const ReadinessChecker* readiness, std::string openapi_json,
                               Options options)
    : routes_(routes),
      backend_(backend),
      readiness_(readiness),
      openapi_json_(std::move(openapi_json)),
      options_(options) {}

void GatewayHandler::Handle(const HttpRequest& request, const std::string& request_id,
                            HttpResponder respond) {
  auto route = std::make_shared<std::string>("unmatched");
  respond =
      Observed(absl::string_view(request.method_string().data(), request.method_string().size()),
               route, std::move(respond));
  const absl::string_view target(request.target().data(), request.target().size());
  if (target.empty() || target[0] != '/') {
    return respond(HttpErrorResponse(400, "INVALID_ARGUMENT",
                                     "request target must be a path starting with '/'"));
  }
  const RequestTarget parts = SplitTarget(target);
  const absl::string_view method(request.method_string().data(), request.method_string().size());

  if (parts.path == "/healthz" || parts.path == "/readyz" || parts.path == "/openapi.json" ||
      parts.path == "/metrics") {
    *route = std::string(parts.path);
    if (method != "GET") return respond(MethodNotAllowed({"GET"}));
    if (parts.path == "/metrics") {
      HttpResponse metrics = JsonResponse(200, SerializeMetrics());
      metrics.content_type = std::string(kMetricsContentType);
      return respond(std::move(metrics));
    }
    if (parts.path == "/healthz") return respond(JsonResponse(200, "{\"status\":\"ok\"}"));
    if (parts.path == "/openapi.json") return respond(JsonResponse(200, openapi_json_));
    if (readiness_ == nullptr) {
      return respond(JsonResponse(200, "{\"status\":\"ready\",\"checks\":{}}"));
    }
    return readiness_->Check(std::move(respond));
  }

  const RouteMatch match = routes_->Match(method, parts.path);
  switch (match.result) {
    case RouteMatch::Result::kNotFound:
      if (options_.console != nullptr && (method == "GET" || method == "HEAD")) {
        auto etag = request.find(boost::beast::http::field::if_none_match);
        std::optional<HttpResponse> file = options_.console->Serve(
            parts.path, etag == request.end()
                            ? absl::string_view()
                            : absl::string_view(etag->value().data(), etag->value().size()));
        if (file.has_value()) {
          *route = "console";
          return respond(*std::move(file));
        }
      }
      return respond(HttpErrorResponse(404, "NOT_FOUND",
                                       absl::StrCat("no route for ", method, " ", parts.path)));
    case RouteMatch::Result::kMethodNotAllowed:
      return respond(MethodNotAllowed(match.allowed_methods));
    case RouteMatch::Result::kBadRequest:
      return respond(ErrorResponse(match.error));
    case RouteMatch::Result::kMatched:
      *route = match.route->path.pattern();
      return HandleRoute(match, request, request_id, parts.query, std::move(respond));
  }
}

void GatewayHandler::HandleRoute(const RouteMatch& match, const HttpRequest& request,
                                 const std::string& request_id, absl::string_view query,
                                 HttpResponder respond) {
  if (match.route->twilio_webhook) {
    return HandleTwilioWebhook(match, request, request_id, query, std::move(respond));
  }
  if (match.route->server_sent_events) {
    return respond(ServeLiveEvents(options_.events, match, request, query));
  }
  BackendRequest call;
  call.service = match.route->method->service()->full_name();
  call.method_path = match.route->grpc_path;
  call.deadline = options_.backend_deadline;

  if (auto id = request.find("x-request-id");
      id != request.end() &&
      !IsValidRequestId(absl::string_view(id->value().data(), id->value().size()))) {
    return respond(HttpErrorResponse(
        400, "INVALID_ARGUMENT", "malformed X-Request-Id header (1-128 visible ASCII characters)"));
  }
  call.metadata.emplace_back("x-request-id", request_id);
  if (auto auth = request.find(boost::beast::http::field::authorization); auth != request.end()) {
    const absl::string_view value(auth->value().data(), auth->value().size());
    if (!IsMetadataSafe(value)) {
      return respond(HttpErrorResponse(400, "INVALID_ARGUMENT", "malformed Authorization header"));
    }
    call.metadata.emplace_back("authorization", std::string(value));
  }
  if (absl::Status authenticated =
          AddAgentMetadata(request, *match.route, options_.jwt_secret, &call.metadata);
      !authenticated.ok()) {
    return respond(UnauthorizedResponse(
        authenticated.message(),
        request.find(boost::beast::http::field::authorization) != request.end()));
  }
  if (auto key = request.find("idempotency-key"); key != request.end()) {
    const absl::string_view value(key->value().data(), key->value().size());
    if (value.empty() || value.size() > 255 || !IsMetadataSafe(value)) {
      return respond(HttpErrorResponse(
          400, "INVALID_ARGUMENT", "malformed Idempotency-Key header (1-255 visible characters)"));
    }
    call.metadata.emplace_back("idempotency-key", std::string(value));
  }

  absl::StatusOr<std::unique_ptr<google::protobuf::Message>> message =
      BuildRequestMessage(match, request.body(), query);
  if (!message.ok()) return respond(ErrorResponse(message.status()));
  if (!(*message)->SerializeToString(&call.payload)) {
    return respond(ErrorResponse(absl::InternalError("cannot serialize the request")));
  }

  const google::protobuf::Descriptor* output_type = match.route->method->output_type();
  if (match.route->raw_response) {
    std::string if_none_match;
    if (auto tag = request.find(boost::beast::http::field::if_none_match); tag != request.end()) {
      if_none_match = std::string(tag->value().data(), tag->value().size());
    }
    backend_->Call(
        std::move(call), [if_none_match = std::move(if_none_match), respond = std::move(respond)](
                             const grpc::Status& status, std::string payload) {
          try {
            if (!status.ok()) return respond(ErrorResponse(status));
            livecall::v1::HttpBody body;
            if (!body.ParseFromString(payload)) {
              return respond(
                  ErrorResponse(absl::InternalError("the backend's answer cannot be parsed")));
            }
            respond(RawResponse(std::move(body), if_none_match));
          } catch (...) {
            respond(HttpErrorResponse(500, "INTERNAL", "internal error"));
          }
        });
    return;
  }
  backend_->Call(std::move(call), [output_type, respond = std::move(respond)](
                                      const grpc::Status& status, std::string payload) {
    // Runs on a gRPC thread, where an escaping exception would end the process.
    try {
      if (!status.ok()) return respond(ErrorResponse(status));
      std::unique_ptr<google::protobuf::Message> reply = NewMessage(output_type);
      if (!reply->ParseFromString(payload)) {
        return respond(ErrorResponse(absl::InternalError("the backend's answer cannot be parsed")));
      }
      absl::StatusOr<std::string> json = MessageToJson(*reply);
      if (!json.ok()) return respond(ErrorResponse(json.status()));
      respond(JsonResponse(200, *std::move(json)));
    } catch (...) {
      respond(HttpErrorResponse(500, "INTERNAL", "internal error"));
    }
  });
}

void GatewayHandler::HandleTwilioWebhook(const RouteMatch& match, const HttpRequest& request,
                                         const std::string& request_id, absl::string_view query,
                                         HttpResponder respond) {
  // Nothing reaches a backend, and nothing about the request is trusted, before the signature
  // verifies.
  if (options_.twilio_auth_token.empty()) {
    return respond(HttpErrorResponse(
        403, "PERMISSION_DENIED",
        "Twilio webhooks are refused: no TWILIO_AUTH_TOKEN is configured to verify them"));
  }
  auto signature = request.find("x-twilio-signature");
  if (signature == request.end() || signature->value().empty()) {
    return respond(
        HttpErrorResponse(403, "PERMISSION_DENIED", "missing X-Twilio-Signature header"));
  }
  auto content_type = request.find(boost::beast::http::field::content_type);
  const absl::string_view type =
      content_type == request.end()
          ? absl::string_view()
          : absl::string_view(content_type->value().data(), content_type->value().size());
  if (!request.body().empty() &&
      !absl::StartsWithIgnoreCase(type, "application/x-www-form-urlencoded")) {
    return respond(HttpErrorResponse(415, "UNSUPPORTED_MEDIA_TYPE",
                                     "a Twilio webhook body is application/x-www-form-urlencoded"));
  }
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> form =
      ParseQuery(request.body());
  if (!form.ok()) {
    return respond(HttpErrorResponse(403, "PERMISSION_DENIED",
                                     "the form body cannot be decoded, so the signature cannot "
                                     "be verified"));
  }
  const std::string url = absl::StrCat(
      options_.public_url, absl::string_view(request.target().data(), request.target().size()));
  if (!ValidateTwilioSignature(
          options_.twilio_auth_token, url, *form,
          absl::string_view(signature->value().data(), signature->value().size()))) {
    return respond(HttpErrorResponse(403, "PERMISSION_DENIED",
                                     "X-Twilio-Signature does not verify for this URL and body"));
  }

  livecall::v1::TwilioWebhookRequest webhook;
  for (const auto& [name, value] : *form) webhook.mutable_params()->insert({name, value});
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> query_params = ParseQuery(query);
  if (!query_params.ok()) return respond(ErrorResponse(query_params.status()));
  for (const auto& [name, value] : *query_params) webhook.mutable_query()->insert({name, value});

  BackendRequest call;
  call.service = match.route->method->service()->full_name();
  call.method_path = match.route->grpc_path;
  call.deadline = options_.backend_deadline;
  call.metadata.emplace_back("x-request-id", request_id);
  if (!webhook.SerializeToString(&call.payload)) {
    return respond(ErrorResponse(absl::InternalError("cannot serialize the request")));
  }
  const bool answers_twiml =
      match.route->method->output_type() == livecall::v1::TwimlResponse::descriptor();
  backend_->Call(std::move(call), [answers_twiml, respond = std::move(respond)](
                                      const grpc::Status& status, std::string payload) {
    try {
      if (!status.ok()) return respond(ErrorResponse(status));
      HttpResponse response;
      if (!answers_twiml) {
        response.status = 204;
        response.content_type = "text/plain";
        return respond(std::move(response));
      }
      livecall::v1::TwimlResponse twiml;
      if (!twiml.ParseFromString(payload)) {
        return respond(ErrorResponse(absl::InternalError("the backend's answer cannot be parsed")));
      }
      response.status = 200;
      response.content_type = "text/xml; charset=utf-8";
      response.body = std::move(*twiml.mutable_twiml());
      respond(std::move(response));
    } catch (...) {
      respond(HttpErrorResponse(500, "INTERNAL", "internal error"));
    }
  });
}

}  // namespace livecall::gateway
