#ifndef LIVECALL_SERVICES_GATEWAY_GATEWAY_HANDLER_H_
#define LIVECALL_SERVICES_GATEWAY_GATEWAY_HANDLER_H_

// The gateway's request handling: a pipeline of stages (stages/stage.h), in this order —
//   cors_stage (preflight) → route_match_stage (404/405/400, console files) → auth_stage (bearer
//   token) → rate_limit_stage (429, per verified agent or per client IP) → access_stage (401, then
//   the route's roles: 403) → twilio_signature_stage (403)
// — then the handler bound to the route's kind when the route table was built: a backend call
// (transcoded, or raw bytes), live events (SSE), a Twilio webhook, the dev login, or a fixed
// document (/healthz, /openapi.json). services/gateway/README.md lists the files. Every failure
// becomes the one error shape of error_response.h, with the request id; what a backend's internal
// error said is logged, not answered. Every answer is counted and timed by route template, method
// and status (gateway_metrics.h).

#include <array>
#include <memory>
#include <string>
#include <vector>

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
#include "services/gateway/stages/stage.h"

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

  // All pointers must outlive the handler. `readiness` is not used: /readyz is the admin port's
  // (AdminHandler).
  GatewayHandler(const RouteTable* routes, BackendClient* backend,
                 const ReadinessChecker* readiness, std::string openapi_json, Options options);

  void Handle(const HttpRequest& request, const std::string& request_id,
              const std::string& client_ip, HttpResponder respond) override;

  // The client's address: `peer_ip`, or with trusted proxies the X-Forwarded-For entry that many
  // hops from the right.
  std::string ClientIp(const HttpRequest& request, const std::string& peer_ip) const;

 private:
  const int trusted_proxy_hops_;
  std::vector<std::unique_ptr<Stage>> stages_;
  // By RouteKind.
  std::array<std::unique_ptr<RouteHandler>, kRouteKindCount> handlers_;
};

}  // namespace livecall::gateway

#endif  // LIVECALL_SERVICES_GATEWAY_GATEWAY_HANDLER_H_
