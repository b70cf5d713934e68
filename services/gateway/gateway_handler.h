#ifndef LIVECALL_SERVICES_GATEWAY_GATEWAY_HANDLER_H_
#define LIVECALL_SERVICES_GATEWAY_GATEWAY_HANDLER_H_

// The gateway's request handling, in this order: CORS preflight; match the route table (the
// proto-declared routes and the gateway's builtin ones); the bearer token (→ 401); rate limits per
// verified agent, or per client IP for everything else (429 with Retry-After); the route's roles
// (→ 403); a Twilio webhook's signature (→ 403); then serve it — a builtin route itself, or
// transcode JSON to the request message, call the backend with x-request-id and the verified
// identity (x-livecall-agent/-role) as metadata, and transcode the answer back; any other GET is a
// file of the console (console_files.h), which is public. Every failure becomes the one error
// shape of error_response.h, with the request id; what a backend's internal error said is logged,
// not answered. Every answer is counted and timed by route template, method and status
// (common/metrics.h).

#include <optional>
#include <string>

#include "absl/time/time.h"
#include "common/audio_url_signer.h"
#include "common/event_hub.h"
#include "common/jwt.h"
#include "services/gateway/agent_auth.h"
#include "services/gateway/backend_client.h"
#include "services/gateway/console_files.h"
#include "services/gateway/cors.h"
#include "services/gateway/http_server.h"
#include "services/gateway/rate_limiter.h"
#include "services/gateway/readiness.h"
#include "services/gateway/route_table.h"
#include "services/gateway/sse_handler.h"

namespace livecall::gateway {

class GatewayHandler : public HttpHandler {
 public:
  struct Options {
    absl::Duration backend_deadline = absl::Seconds(5);
    // Twilio webhooks' deadline (Twilio gives up after 15 s).
    absl::Duration webhook_deadline = absl::Seconds(12);
    // Bearer tokens are required on kBearer routes and verified with `jwt`. false
    // (LIVECALL_AUTH=off): no route needs one, though a token that is sent is still verified
    // when `jwt` has a key.
    bool auth_enabled = true;
    JwtVerifier jwt;
    absl::Duration jwt_leeway = absl::Seconds(30);
    // Bearer tokens' required aud and iss (empty: not checked), and the longest lifetime accepted
    // (exp − iat). Dev-login tokens are refused while `dev_login` is off.
    std::string jwt_audience;
    std::string jwt_issuer;
    absl::Duration jwt_max_lifetime = absl::InfiniteDuration();
    // POST /api/auth/dev-login answers (HS256 tokens with jwt's secret); otherwise 404.
    bool dev_login = false;
    absl::Duration dev_login_ttl = absl::Hours(8);
    CorsPolicy cors;
    // Token buckets; null: no limit. Must outlive the handler. A request whose bearer token
    // verified spends its agent's bucket; any other (public routes, no token, a token refused)
    // its client IP's, so agents behind one office NAT do not share a bucket.
    RateLimiter* agent_limiter = nullptr;
    RateLimiter* ip_limiter = nullptr;
    // Proxies in front that append X-Forwarded-For; 0: the TCP peer is the client.
    int trusted_proxy_hops = 0;
    // Twilio webhooks: X-Twilio-Signature is checked with this token against public_url + the
    // request target. With no token every webhook is refused (403).
    std::string twilio_auth_token;
    std::string public_url;
    // A signed webhook whose Timestamp is further from now is refused (403); zero: no check.
    absl::Duration twilio_replay_window = absl::Minutes(5);
    // Serves the live-event routes (Server-Sent Events); null: they answer 503.
    EventHub* events = nullptr;
    // The console's static files, served for GET and HEAD of any path no route claims; null: no
    // console (those paths answer 404).
    const ConsoleFiles* console = nullptr;
    // Verifies the signed id of a (raw_response) audio route (/tts/<id>.wav) before the backend
    // is called: 403 forged, 404 expired. Null: left to the backend.
    const AudioUrlSigner* tts_signer = nullptr;
    // Caps on open live-event streams; null: none.
    LiveStreamLimits* stream_limits = nullptr;
  };

  // All pointers must outlive the handler. `readiness` may be null (then /readyz is always ready).
  GatewayHandler(const RouteTable* routes, BackendClient* backend,
                 const ReadinessChecker* readiness, std::string openapi_json, Options options);

  void Handle(const HttpRequest& request, const std::string& request_id,
              const std::string& client_ip, HttpResponder respond) override;

  // The client's address: `peer_ip`, or with trusted proxies the X-Forwarded-For entry that many
  // hops from the right.
  std::string ClientIp(const HttpRequest& request, const std::string& peer_ip) const;

 private:
  // The route's bearer token: OK with the caller (empty agent for a public route or a request
  // without a token while auth is off), or the 401 to answer.
  absl::StatusOr<AuthenticatedAgent> Authenticate(const Route& route, const HttpRequest& request,
                                                  HttpResponse* refusal) const;
  // The 429 when the caller's bucket (its agent's, or else its address's) is empty.
  std::optional<HttpResponse> RateLimit(const Route& route, const HttpRequest& request,
                                        const std::string& client_ip,
                                        const absl::StatusOr<AuthenticatedAgent>& caller) const;
  // A builtin route (/healthz, /readyz, /metrics, /openapi.json).
  void HandleBuiltin(const Route& route, HttpResponder respond);
  void HandleRoute(const RouteMatch& match, const HttpRequest& request,
                   const std::string& request_id, const AuthenticatedAgent& caller,
                   absl::string_view query, HttpResponder respond);
  // A live-event route (SSE): an agent's ownership of the call or session is checked with its
  // service first.
  void HandleLiveEvents(const RouteMatch& match, const HttpRequest& request,
                        const std::string& request_id, const AuthenticatedAgent& caller,
                        HttpResponder respond);
  // The read that shows whether `caller` may use the call or session the route names (GetCall /
  // GetSession with the caller's identity: 404 when there is none, 403 when it is another
  // agent's); nullopt for a route that names neither.
  std::optional<BackendRequest> OwnershipCheck(const RouteMatch& match,
                                               const AuthenticatedAgent& caller,
                                               const std::string& request_id) const;
  // Answers `refusal` (a 400 about the request itself) only once OwnershipCheck has passed, so the
  // order is always 401 → 403/404 → 400; the check's own error otherwise.
  void RefuseAfterOwnershipCheck(const RouteMatch& match, const AuthenticatedAgent& caller,
                                 const std::string& request_id, HttpResponse refusal,
                                 HttpResponder respond);
  // An RPC of kGatewayService, answered here (the dev login).
  void HandleGatewayRpc(const RouteMatch& match, const HttpRequest& request,
                        absl::string_view query, HttpResponder respond);
  // A (livecall.v1.twilio_webhook) route: signature first, then form in, TwiML or 204 out.
  void HandleTwilioWebhook(const RouteMatch& match, const HttpRequest& request,
                           const std::string& request_id, absl::string_view query,
                           HttpResponder respond);

  const RouteTable* routes_;
  BackendClient* backend_;
  const ReadinessChecker* readiness_;
  const std::string openapi_json_;
  const Options options_;
};

}  // namespace livecall::gateway

#endif  // LIVECALL_SERVICES_GATEWAY_GATEWAY_HANDLER_H_
