#include "services/gateway/gateway_handler.h"

#include <algorithm>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/caller_identity.h"
#include "common/log.h"
#include "common/metrics.h"
#include "livecall/v1/ai_session.pb.h"
#include "livecall/v1/auth.pb.h"
#include "livecall/v1/call_control.pb.h"
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

// 429 with Retry-After in whole seconds (at least 1), the one error shape.
HttpResponse TooManyRequests(absl::Duration wait, absl::string_view who) {
  const int64_t seconds =
      std::max<int64_t>(1, absl::ToInt64Seconds(absl::Ceil(wait, absl::Seconds(1))));
  HttpResponse response = HttpErrorResponse(
      429, "RESOURCE_EXHAUSTED",
      absl::StrCat("too many requests from this ", who, "; retry in ", seconds, " s"));
  response.headers.emplace_back("Retry-After", absl::StrCat(seconds));
  return response;
}

absl::string_view View(boost::beast::string_view text) { return {text.data(), text.size()}; }

// The first value of `name`, or null.
const std::string* FindParam(const FormParams& params, absl::string_view name) {
  for (const auto& [key, value] : params) {
    if (key == name) return &value;
  }
  return nullptr;
}

// Webhooks whose handling only moves a call forward (status: queued < ringing < in-progress <
// final; conference events: ordered by SequenceNumber, the first agent to join wins), so a
// replayed one changes nothing. The others answer TwiML that acts on the call (voice, gather,
// dtmf), or add a turn that is deduplicated only for an hour (transcription): a stale one of
// those stays refused.
bool IsReplaySafeWebhook(const google::protobuf::MethodDescriptor& method) {
  return method.full_name() == "livecall.v1.TwilioWebhooks.CallStatus" ||
         method.full_name() == "livecall.v1.TwilioWebhooks.ConferenceStatus";
}

template <typename Name>
absl::string_view HeaderValue(const HttpRequest& request, Name field) {
  auto it = request.find(field);
  if (it == request.end()) return {};
  return absl::string_view(it->value().data(), it->value().size());
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

// A signed audio route's {file_name} ("<signed id>.wav") checked as call-control would check it,
// so that a forged or expired id never reaches call-control's executor.
absl::Status VerifySignedAudioId(const AudioUrlSigner& signer, const RouteMatch& match) {
  for (const auto& [field, value] : match.bindings) {
    if (field->name() != "file_name") continue;
    absl::string_view id = value;
    if (!absl::ConsumeSuffix(&id, ".wav")) {
      return absl::NotFoundError("speech audio is served as <id>.wav");
    }
    return signer.Verify(id, absl::Now()).status();
  }
  return absl::OkStatus();
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

std::string GatewayHandler::ClientIp(const HttpRequest& request, const std::string& peer_ip) const {
  if (options_.trusted_proxy_hops <= 0) return peer_ip;
  const absl::string_view forwarded = HeaderValue(request, "x-forwarded-for");
  std::vector<absl::string_view> hops = absl::StrSplit(forwarded, ',', absl::SkipWhitespace());
  // The last `trusted_proxy_hops` entries were appended by our proxies; the one before them is
  // what the outermost trusted proxy saw. Anything further left the client could have written.
  const int index = static_cast<int>(hops.size()) - options_.trusted_proxy_hops;
  if (forwarded.empty() || index < 0) return peer_ip;
  return std::string(absl::StripAsciiWhitespace(hops[static_cast<size_t>(index)]));
}

absl::StatusOr<AuthenticatedAgent> GatewayHandler::Authenticate(const Route& route,
                                                                const HttpRequest& request,
                                                                HttpResponse* refusal) const {
  if (route.access != RouteAccess::kBearer) return AuthenticatedAgent{};
  const absl::string_view authorization =
      HeaderValue(request, boost::beast::http::field::authorization);
  const bool token_sent = request.find(boost::beast::http::field::authorization) != request.end();
  if (!token_sent || !options_.jwt.configured()) {
    if (!options_.auth_enabled) return AuthenticatedAgent{};
    *refusal = UnauthorizedResponse("this route needs an agent's bearer token", token_sent);
    return absl::UnauthenticatedError("no token");
  }
  absl::StatusOr<AuthenticatedAgent> agent =
      AuthenticateAgent(authorization, options_.jwt,
                        {.jwt = {.leeway = options_.jwt_leeway,
                                 .audience = options_.jwt_audience,
                                 .max_lifetime = options_.jwt_max_lifetime},
                         .issuer = options_.jwt_issuer,
                         .dev_login = options_.dev_login});
  if (!agent.ok()) {
    *refusal = UnauthorizedResponse(agent.status().message(), /*token_was_sent=*/true);
    return agent.status();
  }
  return agent;
}

std::optional<HttpResponse> GatewayHandler::RateLimit(
    const Route& route, const HttpRequest& request, const std::string& client_ip,
    const absl::StatusOr<AuthenticatedAgent>& caller) const {
  // A verified agent spends its own bucket, whatever address it shares (an office NAT).
  if (caller.ok() && !caller->agent_id.empty()) {
    if (options_.agent_limiter == nullptr) return std::nullopt;
    const absl::Duration wait = options_.agent_limiter->Acquire(caller->agent_id, absl::Now());
    if (wait > absl::ZeroDuration()) return TooManyRequests(wait, "agent");
    return std::nullopt;
  }
  // Everything else by address, refused tokens included, so a flood of bad tokens is limited too.
  // The operational routes stay out of it (probes and scrapers call them from a few addresses),
  // and so does what Twilio calls (webhooks, signed audio): its few addresses carry every call's
  // traffic.
  if (options_.ip_limiter == nullptr || route.builtin ||
      (route.access != RouteAccess::kBearer && route.access != RouteAccess::kPublic)) {
    return std::nullopt;
  }
  const absl::Duration wait =
      options_.ip_limiter->Acquire(ClientIp(request, client_ip), absl::Now());
  if (wait > absl::ZeroDuration()) return TooManyRequests(wait, "address");
  return std::nullopt;
}

void GatewayHandler::Handle(const HttpRequest& request, const std::string& request_id,
                            const std::string& client_ip, HttpResponder respond) {
  auto route = std::make_shared<std::string>("unmatched");
  respond =
      Observed(absl::string_view(request.method_string().data(), request.method_string().size()),
               route, std::move(respond));
  // Every error names the request, and what it must not tell the client goes to the log under
  // the same id.
  respond = [request_id, route, respond = std::move(respond)](HttpResponse response) {
    if (!response.log_detail.empty()) {
      LogWarning("request failed", {{"request_id", request_id},
                                    {"route", *route},
                                    {"status", absl::StrCat(response.status)},
                                    {"error", response.log_detail}});
      response.log_detail.clear();
    }
    AttachRequestId(&response, request_id);
    respond(std::move(response));
  };
  const absl::string_view target(request.target().data(), request.target().size());
  if (target.empty() || target[0] != '/') {
    return respond(HttpErrorResponse(400, "INVALID_ARGUMENT",
                                     "request target must be a path starting with '/'"));
  }
  const RequestTarget parts = SplitTarget(target);
  const absl::string_view method(request.method_string().data(), request.method_string().size());
  const absl::string_view origin = HeaderValue(request, boost::beast::http::field::origin);

  const absl::string_view preflight_method =
      HeaderValue(request, boost::beast::http::field::access_control_request_method);
  if (method == "OPTIONS" && !preflight_method.empty() && !origin.empty()) {
    const RouteMatch probe = routes_->Match(preflight_method, parts.path);
    std::vector<std::string> allowed = probe.allowed_methods;
    if (probe.result == RouteMatch::Result::kMatched) {
      *route = probe.route->path.pattern();
      allowed = {std::string(preflight_method)};
    }
    return respond(options_.cors.Preflight(origin, preflight_method, allowed));
  }
  // Every other answer to a listed origin carries its CORS headers, errors included, so the page
  // can read why a request failed.
  if (!origin.empty()) {
    respond = [this, origin = std::string(origin),
               respond = std::move(respond)](HttpResponse response) {
      options_.cors.Decorate(origin, &response);
      respond(std::move(response));
    };
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
      break;
  }
  const Route& matched = *match.route;
  *route = matched.path.pattern();

  HttpResponse refusal;
  const absl::StatusOr<AuthenticatedAgent> caller = Authenticate(matched, request, &refusal);
  if (std::optional<HttpResponse> limited = RateLimit(matched, request, client_ip, caller)) {
    return respond(*std::move(limited));
  }
  if (!caller.ok()) return respond(std::move(refusal));
  // (No agent: a public route, or no token while LIVECALL_AUTH=off, when no role is needed.)
  if (!caller->agent_id.empty() && !matched.roles.empty() &&
      std::find(matched.roles.begin(), matched.roles.end(), caller->role) == matched.roles.end()) {
    return respond(InsufficientRoleResponse(absl::StrCat("the role ", caller->role,
                                                         " may not use this route; it needs ",
                                                         absl::StrJoin(matched.roles, " or "))));
  }
  if (matched.builtin) return HandleBuiltin(matched, std::move(respond));
  return HandleRoute(match, request, request_id, *caller, parts.query, std::move(respond));
}

void GatewayHandler::HandleBuiltin(const Route& route, HttpResponder respond) {
  const std::string& path = route.path.pattern();
  if (path == "/healthz") return respond(JsonResponse(200, "{\"status\":\"ok\"}"));
  if (path == "/openapi.json") return respond(JsonResponse(200, openapi_json_));
  respond(HttpErrorResponse(404, "NOT_FOUND", absl::StrCat("no handler for ", path)));
}

void GatewayHandler::HandleGatewayRpc(const RouteMatch& match, const HttpRequest& request,
                                      absl::string_view query, HttpResponder respond) {
  if (match.route->method->full_name() != "livecall.v1.Auth.DevLogin") {
    return respond(HttpErrorResponse(501, "UNIMPLEMENTED", "not served by this gateway"));
  }
  if (!options_.dev_login || !options_.jwt.has_secret()) {
    return respond(HttpErrorResponse(404, "NOT_FOUND",
                                     "the dev login is off (LIVECALL_DEV_LOGIN=on turns it on)"));
  }
  absl::StatusOr<std::unique_ptr<google::protobuf::Message>> message =
      BuildRequestMessage(match, request.body(), query);
  if (!message.ok()) return respond(ErrorResponse(message.status()));
  absl::StatusOr<livecall::v1::DevLoginResponse> login =
      DevLogin(static_cast<const livecall::v1::DevLoginRequest&>(**message), options_.jwt.secret(),
               options_.dev_login_ttl, absl::Now(), options_.jwt_audience);
  if (!login.ok()) return respond(ErrorResponse(login.status()));
  absl::StatusOr<std::string> json = MessageToJson(*login);
  if (!json.ok()) return respond(ErrorResponse(json.status()));
  respond(JsonResponse(200, *std::move(json)));
}

void GatewayHandler::HandleRoute(const RouteMatch& match, const HttpRequest& request,
                                 const std::string& request_id, const AuthenticatedAgent& caller,
                                 absl::string_view query, HttpResponder respond) {
  if (match.route->twilio_webhook) {
    return HandleTwilioWebhook(match, request, request_id, query, std::move(respond));
  }
  if (match.route->method->service()->full_name() == kGatewayService) {
    return HandleGatewayRpc(match, request, query, std::move(respond));
  }
  if (match.route->server_sent_events) {
    return HandleLiveEvents(match, request, request_id, caller, std::move(respond));
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
  // The identity the token proved; the token itself stays here.
  if (!caller.agent_id.empty()) {
    call.metadata.emplace_back(kAgentMetadata, caller.agent_id);
    call.metadata.emplace_back(kRoleMetadata, caller.role);
  }
  if (auto key = request.find("idempotency-key"); key != request.end()) {
    const absl::string_view value(key->value().data(), key->value().size());
    if (value.empty() || value.size() > 255 || !IsMetadataSafe(value)) {
      return respond(HttpErrorResponse(
          400, "INVALID_ARGUMENT", "malformed Idempotency-Key header (1-255 visible characters)"));
    }
    call.metadata.emplace_back("idempotency-key", std::string(value));
  }

  absl::StatusOr<std::string> payload = BuildRequestPayload(match, request.body(), query);
  if (!payload.ok()) {
    // What the body says wrong is told only to a caller who may use the call or session the
    // route names (README "Order of checks"): another agent learns nothing by probing.
    return RefuseAfterOwnershipCheck(match, caller, request_id, ErrorResponse(payload.status()),
                                     std::move(respond));
  }
  call.payload = *std::move(payload);

  const google::protobuf::Descriptor* output_type = match.route->method->output_type();
  if (match.route->raw_response && options_.tts_signer != nullptr) {
    if (absl::Status signed_id = VerifySignedAudioId(*options_.tts_signer, match); !signed_id.ok()) {
      return respond(ErrorResponse(signed_id));
    }
  }
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
      absl::StatusOr<std::string> json = PayloadToJson(output_type, payload);
      if (!json.ok()) return respond(ErrorResponse(json.status()));
      respond(JsonResponse(200, *std::move(json)));
    } catch (...) {
      respond(HttpErrorResponse(500, "INTERNAL", "internal error"));
    }
  });
}

std::optional<BackendRequest> GatewayHandler::OwnershipCheck(const RouteMatch& match,
                                                             const AuthenticatedAgent& caller,
                                                             const std::string& request_id) const {
  BackendRequest check;
  check.deadline = options_.backend_deadline;
  check.metadata = {{"x-request-id", request_id}};
  if (!caller.agent_id.empty()) {
    check.metadata.emplace_back(kAgentMetadata, caller.agent_id);
    check.metadata.emplace_back(kRoleMetadata, caller.role);
  }
  for (const auto& [field, value] : match.bindings) {
    if (field->name() == "session_id") {
      livecall::v1::GetAiSessionRequest get;
      get.set_session_id(value);
      check.service = "livecall.v1.AiSession";
      check.method_path = "/livecall.v1.AiSession/GetSession";
      get.SerializeToString(&check.payload);
    } else if (field->name() == "call_sid") {
      livecall::v1::GetCallRequest get;
      get.set_call_sid(value);
      check.service = "livecall.v1.CallControl";
      check.method_path = "/livecall.v1.CallControl/GetCall";
      get.SerializeToString(&check.payload);
    }
  }
  if (check.service.empty()) return std::nullopt;
  return check;
}

void GatewayHandler::RefuseAfterOwnershipCheck(const RouteMatch& match,
                                               const AuthenticatedAgent& caller,
                                               const std::string& request_id, HttpResponse refusal,
                                               HttpResponder respond) {
  std::optional<BackendRequest> check = OwnershipCheck(match, caller, request_id);
  if (!check.has_value()) return respond(std::move(refusal));
  backend_->Call(*std::move(check),
                 [refusal = std::make_shared<HttpResponse>(std::move(refusal)),
                  respond = std::move(respond)](const grpc::Status& status, std::string) {
                   try {
                     if (!status.ok()) return respond(ErrorResponse(status));
                     respond(std::move(*refusal));
                   } catch (...) {
                     respond(HttpErrorResponse(500, "INTERNAL", "internal error"));
                   }
                 });
}

void GatewayHandler::HandleLiveEvents(const RouteMatch& match, const HttpRequest& request,
                                      const std::string& request_id,
                                      const AuthenticatedAgent& caller, HttpResponder respond) {
  if (caller.role != kRoleAgent) {
    return respond(ServeLiveEvents(options_.events, match, request,
                                   SplitTarget(View(request.target())).query,
                                   {options_.stream_limits, caller.agent_id, caller.expires_at}));
  }
  // An agent watches only its own call or session: the service that owns the record says so, by
  // answering the same read the agent could make (GetCall / GetSession) with its identity.
  std::optional<BackendRequest> check = OwnershipCheck(match, caller, request_id);
  if (!check.has_value()) {
    return respond(ErrorResponse(absl::InternalError("a live-event route without its id")));
  }
  backend_->Call(*std::move(check),
                 [this, match, request = std::make_shared<HttpRequest>(request),
                  grant = LiveStreamGrant{options_.stream_limits, caller.agent_id,
                                          caller.expires_at},
                  respond = std::move(respond)](const grpc::Status& status, std::string) {
                   try {
                     if (!status.ok()) return respond(ErrorResponse(status));
                     respond(ServeLiveEvents(options_.events, match, *request,
                                             SplitTarget(View(request->target())).query, grant));
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
  const absl::string_view type = HeaderValue(request, boost::beast::http::field::content_type);
  const bool json_body = absl::StartsWithIgnoreCase(type, "application/json");
  if (!request.body().empty() && !json_body &&
      !absl::StartsWithIgnoreCase(type, "application/x-www-form-urlencoded")) {
    return respond(HttpErrorResponse(415, "UNSUPPORTED_MEDIA_TYPE",
                                     "a Twilio webhook body is application/x-www-form-urlencoded, "
                                     "or application/json with bodySHA256 in the URL"));
  }
  absl::StatusOr<FormParams> query_params = ParseQuery(query);
  if (!query_params.ok()) return respond(ErrorResponse(query_params.status()));
  const std::string url = absl::StrCat(options_.public_url, View(request.target()));
  const absl::string_view signature_value = View(signature->value());
  FormParams params;
  if (const std::string* body_sha256 = FindParam(*query_params, "bodySHA256")) {
    // A JSON-bodied webhook (DIGEST.md §2.4): the URL alone is signed, and the URL's bodySHA256
    // vouches for the body.
    if (!ValidateTwilioBodySignature(options_.twilio_auth_token, url, request.body(), *body_sha256,
                                     signature_value)) {
      return respond(HttpErrorResponse(
          403, "PERMISSION_DENIED",
          "X-Twilio-Signature does not verify for this URL, or the body does not hash to the "
          "URL's bodySHA256"));
    }
    absl::StatusOr<FormParams> fields = json_body && !request.body().empty()
                                            ? JsonObjectToParams(request.body())
                                            : ParseQuery(request.body());
    if (!fields.ok()) return respond(ErrorResponse(fields.status()));
    params = *std::move(fields);
  } else {
    if (json_body && !request.body().empty()) {
      return respond(HttpErrorResponse(403, "PERMISSION_DENIED",
                                       "a JSON webhook body is signed through bodySHA256 in the "
                                       "URL, and this URL has none"));
    }
    absl::StatusOr<FormParams> form = ParseQuery(request.body());
    if (!form.ok()) {
      return respond(HttpErrorResponse(403, "PERMISSION_DENIED",
                                       "the form body cannot be decoded, so the signature cannot "
                                       "be verified"));
    }
    if (!ValidateTwilioSignature(options_.twilio_auth_token, url, *form, signature_value)) {
      return respond(HttpErrorResponse(403, "PERMISSION_DENIED",
                                       "X-Twilio-Signature does not verify for this URL and body"));
    }
    params = *std::move(form);
  }
  if (absl::Status fresh =
          CheckTwilioReplayWindow(params, absl::Now(), options_.twilio_replay_window);
      !fresh.ok()) {
    // A callback that only moves state forward (status, conference) is harmless to repeat, and
    // refusing it would lose it for good: Twilio does not retry a 4xx. It is logged instead.
    if (!IsReplaySafeWebhook(*match.route->method)) return respond(ErrorResponse(fresh));
    LogWarning("stale Twilio callback accepted", {{"request_id", request_id},
                                                  {"route", match.route->path.pattern()},
                                                  {"reason", std::string(fresh.message())}});
  }

  livecall::v1::TwilioWebhookRequest webhook;
  for (const auto& [name, value] : params) webhook.mutable_params()->insert({name, value});
  for (const auto& [name, value] : *query_params) webhook.mutable_query()->insert({name, value});

  BackendRequest call;
  call.service = match.route->method->service()->full_name();
  call.method_path = match.route->grpc_path;
  call.deadline = options_.webhook_deadline;
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
