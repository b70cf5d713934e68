#include "services/gateway/gateway_config.h"

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace livecall::gateway {

absl::StatusOr<GatewayConfig> ReadGatewayConfig(EnvReader& env) {
  GatewayConfig config;
  config.http_addr = env.Address("LIVECALL_HTTP_ADDR", config.http_addr);
  config.admin_addr = env.Address("LIVECALL_ADMIN_ADDR", config.admin_addr);
  config.backends = ReadServiceAddresses(env);
  config.sse_max_per_agent =
      static_cast<int>(env.Int("LIVECALL_SSE_MAX_PER_AGENT", config.sse_max_per_agent, 1, 1000000));
  config.sse_max_streams =
      static_cast<int>(env.Int("LIVECALL_SSE_MAX_STREAMS", config.sse_max_streams, 1, 1000000));
  config.tts_url_secret = env.OptionalString("LIVECALL_TTS_URL_SECRET");
  if (!config.tts_url_secret.empty() && config.tts_url_secret.size() < 32) {
    env.AddError("LIVECALL_TTS_URL_SECRET", "shorter than 32 bytes");
  }

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
  config.webhook_deadline = env.Millis("LIVECALL_WEBHOOK_DEADLINE_MS", absl::Milliseconds(12000),
                                       absl::Milliseconds(1), absl::Seconds(14));
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
  config.twilio_replay_window =
      absl::Seconds(env.Int("LIVECALL_TWILIO_REPLAY_WINDOW_S", 300, 0, 86400));
  const std::string auth = env.String("LIVECALL_AUTH", "on");
  if (auth != "on" && auth != "off") env.AddError("LIVECALL_AUTH", "must be on or off");
  config.auth_enabled = auth != "off";
  if (const std::string secret = env.OptionalString("LIVECALL_JWT_SECRET"); !secret.empty()) {
    if (absl::Status set = config.jwt.SetSecret(secret); !set.ok()) {
      env.AddError("LIVECALL_JWT_SECRET", set.message());
    }
  }
  config.console_dir = env.OptionalString("LIVECALL_CONSOLE_DIR");
  if (const std::string file = env.OptionalString("LIVECALL_JWT_PUBLIC_KEY_FILE"); !file.empty()) {
    std::ifstream in(file, std::ios::binary);
    std::stringstream pem;
    pem << in.rdbuf();
    if (!in) {
      env.AddError("LIVECALL_JWT_PUBLIC_KEY_FILE", "cannot be read");
    } else if (absl::Status set = config.jwt.SetPublicKeyPem(pem.str()); !set.ok()) {
      env.AddError("LIVECALL_JWT_PUBLIC_KEY_FILE", set.message());
    }
  }
  if (config.auth_enabled && !config.jwt.configured() &&
      env.OptionalString("LIVECALL_JWT_SECRET").empty() &&
      env.OptionalString("LIVECALL_JWT_PUBLIC_KEY_FILE").empty()) {
    env.AddError("LIVECALL_AUTH",
                 "is on (the default) but no key verifies bearer tokens: set LIVECALL_JWT_SECRET "
                 "and/or LIVECALL_JWT_PUBLIC_KEY_FILE, or LIVECALL_AUTH=off for a local "
                 "experiment");
  }
  config.jwt_leeway = absl::Seconds(env.Int("LIVECALL_JWT_LEEWAY_S", 30, 0, 300));
  const std::string dev_login = env.String("LIVECALL_DEV_LOGIN", "off");
  if (dev_login != "on" && dev_login != "off")
    env.AddError("LIVECALL_DEV_LOGIN", "must be on or off");
  config.dev_login = dev_login == "on";
  if (config.dev_login && env.OptionalString("LIVECALL_JWT_SECRET").empty()) {
    env.AddError("LIVECALL_DEV_LOGIN",
                 "is on but LIVECALL_JWT_SECRET (which signs its tokens) is not set");
  }
  config.dev_login_ttl = absl::Seconds(env.Int("LIVECALL_DEV_LOGIN_TTL_S", 8 * 3600, 60, 86400));
  config.jwt_audience = env.OptionalString("LIVECALL_JWT_AUDIENCE");
  config.jwt_issuer = env.OptionalString("LIVECALL_JWT_ISSUER");
  if (const int64_t max_lifetime =
          env.Int("LIVECALL_JWT_MAX_LIFETIME_S", 24 * 3600, 0, 30 * 24 * 3600);
      max_lifetime > 0) {
    config.jwt_max_lifetime = absl::Seconds(max_lifetime);
  } else {
    config.jwt_max_lifetime = absl::InfiniteDuration();
  }
  if (config.dev_login && config.dev_login_ttl > config.jwt_max_lifetime) {
    env.AddError("LIVECALL_DEV_LOGIN_TTL_S",
                 "is longer than LIVECALL_JWT_MAX_LIFETIME_S: the dev login's tokens would be "
                 "refused");
  }

  for (absl::string_view origin :
       absl::StrSplit(env.OptionalString("LIVECALL_CORS_ORIGINS"), ',', absl::SkipWhitespace())) {
    origin = absl::StripAsciiWhitespace(origin);
    while (absl::ConsumeSuffix(&origin, "/")) {
    }
    if (origin == "*") {
      env.AddError("LIVECALL_CORS_ORIGINS", "\"*\" is not allowed; list the web page's origins");
    } else if ((!absl::StartsWith(origin, "http://") && !absl::StartsWith(origin, "https://")) ||
               origin.find('/', origin.find("//") + 2) != absl::string_view::npos) {
      env.AddError("LIVECALL_CORS_ORIGINS",
                   absl::StrCat("\"", origin, "\" is not an origin (scheme://host[:port])"));
    } else {
      config.cors_origins.push_back(absl::AsciiStrToLower(origin));
    }
  }

  config.agent_rate_per_second =
      static_cast<double>(env.Int("LIVECALL_RATE_LIMIT_AGENT_RPS", 20, 0, 100000));
  config.agent_burst = static_cast<int>(env.Int("LIVECALL_RATE_LIMIT_AGENT_BURST", 40, 1, 1000000));
  config.ip_rate_per_second =
      static_cast<double>(env.Int("LIVECALL_RATE_LIMIT_IP_RPS", 50, 0, 100000));
  config.ip_burst = static_cast<int>(env.Int("LIVECALL_RATE_LIMIT_IP_BURST", 100, 1, 1000000));
  config.trusted_proxy_hops = static_cast<int>(env.Int("LIVECALL_TRUSTED_PROXY_HOPS", 0, 0, 8));

  config.grpc_auth = ReadGrpcAuthConfig(env, /*serves_grpc=*/false);

  if (absl::Status status = env.status(); !status.ok()) return status;
  return config;
}

}  // namespace livecall::gateway
