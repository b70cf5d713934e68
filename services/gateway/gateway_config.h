#ifndef LIVECALL_SERVICES_GATEWAY_GATEWAY_CONFIG_H_
#define LIVECALL_SERVICES_GATEWAY_GATEWAY_CONFIG_H_

// The gateway's configuration, read once from the environment at start-up.

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/config.h"
#include "common/log.h"
#include "common/redis_pool.h"

namespace livecall::gateway {

struct GatewayConfig {
  std::string http_addr = "0.0.0.0:8080";                   // LIVECALL_HTTP_ADDR
  ServiceAddresses backends;                                // LIVECALL_*_ADDR
  RedisUrl redis;                                           // LIVECALL_REDIS_URL
  int http_threads = 2;                                     // LIVECALL_HTTP_THREADS
  uint64_t body_limit_bytes = 65536;                        // LIVECALL_HTTP_BODY_LIMIT_BYTES
  absl::Duration grpc_deadline = absl::Milliseconds(5000);  // LIVECALL_GRPC_DEADLINE_MS
  absl::Duration read_timeout = absl::Seconds(30);          // LIVECALL_HTTP_READ_TIMEOUT_MS
  LogLevel log_level = LogLevel::kInfo;                     // LIVECALL_LOG_LEVEL
  // Twilio webhooks are verified with this token against this URL; with no token they are all
  // refused (403).
  std::string twilio_auth_token;                     // TWILIO_AUTH_TOKEN
  std::string public_url = "http://localhost:8080";  // LIVECALL_PUBLIC_URL, no trailing '/'
  // Agents' bearer tokens (HS256); empty: routes that require an agent answer 401.
  std::string jwt_secret;  // LIVECALL_JWT_SECRET
  // The console's build output, served at "/"; empty: no console.
  std::string console_dir;  // LIVECALL_CONSOLE_DIR
};

// INVALID_ARGUMENT naming every variable that is wrong.
absl::StatusOr<GatewayConfig> ReadGatewayConfig(EnvReader& env);

}  // namespace livecall::gateway

#endif  // LIVECALL_SERVICES_GATEWAY_GATEWAY_CONFIG_H_
