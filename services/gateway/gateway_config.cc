#include "services/gateway/gateway_config.h"

namespace livecall::gateway {

absl::StatusOr<GatewayConfig> ReadGatewayConfig(EnvReader& env) {
  GatewayConfig config;
  config.http_addr = env.Address("LIVECALL_HTTP_ADDR", config.http_addr);
  config.backends = ReadServiceAddresses(env);

  const std::string redis_url = env.String("LIVECALL_REDIS_URL", "redis://127.0.0.1:6379/0");
  if (absl::StatusOr<RedisUrl> url = ParseRedisUrl(redis_url); url.ok()) {
    config.redis = *url;
  } else {
    env.AddError("LIVECALL_REDIS_URL", url.status().message());
  }

  config.http_threads = static_cast<int>(env.Int("LIVECALL_HTTP_THREADS", 2, 1, 64));
  // Requests are small JSON objects; the limit exists so a client cannot make us buffer much.
  config.body_limit_bytes =
      static_cast<uint64_t>(env.Int("LIVECALL_HTTP_BODY_LIMIT_BYTES", 65536, 1, 16 * 1024 * 1024));
  config.grpc_deadline = env.Millis("LIVECALL_GRPC_DEADLINE_MS", absl::Milliseconds(5000),
                                    absl::Milliseconds(1), absl::Minutes(5));
  config.read_timeout = env.Millis("LIVECALL_HTTP_READ_TIMEOUT_MS", absl::Seconds(30),
                                   absl::Milliseconds(100), absl::Minutes(10));

  if (absl::StatusOr<LogLevel> level = ParseLogLevel(env.OptionalString("LIVECALL_LOG_LEVEL"));
      level.ok()) {
    config.log_level = *level;
  } else {
    env.AddError("LIVECALL_LOG_LEVEL", level.status().message());
  }

  config.twilio_auth_token = env.OptionalString("TWILIO_AUTH_TOKEN");
  config.public_url = env.String("LIVECALL_PUBLIC_URL", config.public_url);
  while (!config.public_url.empty() && config.public_url.back() == '/')
    config.public_url.pop_back();
  if (config.public_url.rfind("http://", 0) != 0 && config.public_url.rfind("https://", 0) != 0) {
    env.AddError("LIVECALL_PUBLIC_URL", "not an http:// or https:// URL");
  }
  config.jwt_secret = env.OptionalString("LIVECALL_JWT_SECRET");
  if (!config.jwt_secret.empty() && config.jwt_secret.size() < 32) {
    env.AddError("LIVECALL_JWT_SECRET", "shorter than 32 bytes; an HS256 secret needs at least 32");
  }
  config.console_dir = env.OptionalString("LIVECALL_CONSOLE_DIR");

  if (absl::Status status = env.status(); !status.ok()) return status;
  return config;
}

}  // namespace livecall::gateway
