#ifndef LIVECALL_SERVICES_GATEWAY_GATEWAY_CONFIG_H_
#define LIVECALL_SERVICES_GATEWAY_GATEWAY_CONFIG_H_

// The gateway's configuration, read once from the environment at start-up.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/caller_identity.h"
#include "common/config.h"
#include "common/jwt.h"
#include "common/log.h"
#include "common/redis_pool.h"

namespace livecall::gateway {

struct GatewayConfig {
  std::string http_addr = "0.0.0.0:8080";  // LIVECALL_HTTP_ADDR
  // /healthz, /readyz and /metrics for the kubelet and Prometheus, on a port the Ingress does
  // not route (the public port answers /healthz only).
  std::string admin_addr = "127.0.0.1:9450";                // LIVECALL_ADMIN_ADDR
  ServiceAddresses backends;                                // LIVECALL_*_ADDR
  RedisUrl redis;                                           // LIVECALL_REDIS_URL
  int http_threads = 2;                                     // LIVECALL_HTTP_THREADS
  uint64_t body_limit_bytes = 65536;                        // LIVECALL_HTTP_BODY_LIMIT_BYTES
  absl::Duration grpc_deadline = absl::Milliseconds(5000);  // LIVECALL_GRPC_DEADLINE_MS
  // Twilio webhooks: Twilio waits 15 s for an answer, so their deadline fits inside that.
  absl::Duration webhook_deadline = absl::Milliseconds(12000);  // LIVECALL_WEBHOOK_DEADLINE_MS
  absl::Duration read_timeout = absl::Seconds(30);              // LIVECALL_HTTP_READ_TIMEOUT_MS
  LogLevel log_level = LogLevel::kInfo;                         // LIVECALL_LOG_LEVEL
  // Twilio webhooks are verified with this token against this URL; with no token they are all
  // refused (403).
  std::string twilio_auth_token;  // TWILIO_AUTH_TOKEN
  // call-control's key for the /tts/<id>.wav ids: forged ids are refused here (403) before they
  // reach call-control. Empty: not checked here (call-control still checks).
  std::string tts_url_secret;  // LIVECALL_TTS_URL_SECRET
  // Open live-event streams: per agent (a new one ends the agent's oldest) and in total (a new
  // one is refused, 429).
  int sse_max_per_agent = 5;                         // LIVECALL_SSE_MAX_PER_AGENT
  int sse_max_streams = 1000;                        // LIVECALL_SSE_MAX_STREAMS
  std::string public_url = "http://localhost:8080";  // LIVECALL_PUBLIC_URL, no trailing '/'
  // The console's build output, served at "/"; empty: no console.
  std::string console_dir;  // LIVECALL_CONSOLE_DIR
  // Signed webhooks whose Timestamp is further from now are refused as replays; 0: off.
  absl::Duration twilio_replay_window = absl::Minutes(5);  // LIVECALL_TWILIO_REPLAY_WINDOW_S
  // Bearer tokens on every non-public route. `auth_enabled` false (LIVECALL_AUTH=off, for local
  // experiments only) serves every route without a token; otherwise the gateway refuses to
  // start unless a key is configured.
  bool auth_enabled = true;  // LIVECALL_AUTH=on|off
  // LIVECALL_JWT_SECRET (HS256) and/or LIVECALL_JWT_PUBLIC_KEY_FILE (RS256/ES256).
  JwtVerifier jwt;
  absl::Duration jwt_leeway = absl::Seconds(30);  // LIVECALL_JWT_LEEWAY_S
  // Required `aud` / `iss` of bearer tokens; empty: not checked.
  std::string jwt_audience;  // LIVECALL_JWT_AUDIENCE
  std::string jwt_issuer;    // LIVECALL_JWT_ISSUER
  // Tokens valid for longer (exp − iat) are refused; infinite (0 in the variable): no limit.
  absl::Duration jwt_max_lifetime = absl::Hours(24);  // LIVECALL_JWT_MAX_LIFETIME_S
  // POST /api/auth/dev-login mints HS256 tokens for any agent id: development only.
  bool dev_login = false;                         // LIVECALL_DEV_LOGIN=on|off
  absl::Duration dev_login_ttl = absl::Hours(8);  // LIVECALL_DEV_LOGIN_TTL_S
  // Browser origins allowed by CORS ("https://live.example.com"); empty: no CORS headers.
  std::vector<std::string> cors_origins;  // LIVECALL_CORS_ORIGINS, comma-separated
  // Token buckets per replica: sustained requests per second and burst, per authenticated agent
  // and per client IP; 0 turns that limit off.
  double agent_rate_per_second = 20;  // LIVECALL_RATE_LIMIT_AGENT_RPS
  int agent_burst = 40;               // LIVECALL_RATE_LIMIT_AGENT_BURST
  double ip_rate_per_second = 50;     // LIVECALL_RATE_LIMIT_IP_RPS
  int ip_burst = 100;                 // LIVECALL_RATE_LIMIT_IP_BURST
  // How many reverse proxies in front append to X-Forwarded-For (the client IP is the entry that
  // many from the right); 0: the TCP peer is the client.
  int trusted_proxy_hops = 0;  // LIVECALL_TRUSTED_PROXY_HOPS
  // The gateway's own key on its gRPC channels (x-api-key).
  GrpcAuthConfig grpc_auth;  // LIVECALL_GRPC_API_KEY
};

// INVALID_ARGUMENT naming every variable that is wrong.
absl::StatusOr<GatewayConfig> ReadGatewayConfig(EnvReader& env);

}  // namespace livecall::gateway

#endif  // LIVECALL_SERVICES_GATEWAY_GATEWAY_CONFIG_H_
