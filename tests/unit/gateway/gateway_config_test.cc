#include "services/gateway/gateway_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "tests/support/env_reader.h"

namespace livecall::gateway {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kSecret[] = "gateway-config-test-secret-0123456789";

// With `auth_defaults`, the settings authentication requires unless a test gives its own.
absl::StatusOr<GatewayConfig> Read(std::map<std::string, std::string> vars,
                                   bool auth_defaults = true) {
  if (auth_defaults) {
    vars.insert({"LIVECALL_JWT_SECRET", kSecret});
    vars.insert({"LIVECALL_GRPC_API_KEY", "gateway-test-key-0123"});
  }
  EnvReader env = ::livecall::testing::EnvReaderFor(std::move(vars));
  return ReadGatewayConfig(env);
}

TEST(GatewayConfigTest, Defaults) {
  absl::StatusOr<GatewayConfig> config = Read({});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->http_addr, "0.0.0.0:8080");
  EXPECT_EQ(config->admin_addr, "127.0.0.1:9450");
  EXPECT_EQ(config->sse_max_per_agent, 5);
  EXPECT_EQ(config->sse_max_streams, 1000);
  EXPECT_EQ(config->http_threads, 2);
  EXPECT_EQ(config->body_limit_bytes, 65536u);
  EXPECT_EQ(config->grpc_deadline, absl::Milliseconds(5000));
  EXPECT_EQ(config->redis.host, "127.0.0.1");
  EXPECT_EQ(config->redis.port, 6379);
  EXPECT_EQ(config->log_level, LogLevel::kInfo);
  EXPECT_FALSE(config->backends.ai_session.empty());
}

TEST(GatewayConfigTest, ReadsEveryVariable) {
  absl::StatusOr<GatewayConfig> config = Read({
      {"LIVECALL_HTTP_ADDR", "127.0.0.1:9000"},
      {"LIVECALL_ADMIN_ADDR", "0.0.0.0:9451"},
      {"LIVECALL_AI_SESSION_ADDR", "ai-session:50052"},
      {"LIVECALL_REDIS_URL", "redis://redis:6380/2"},
      {"LIVECALL_HTTP_THREADS", "4"},
      {"LIVECALL_HTTP_BODY_LIMIT_BYTES", "1024"},
      {"LIVECALL_GRPC_DEADLINE_MS", "250"},
      {"LIVECALL_LOG_LEVEL", "debug"},
  });
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->http_addr, "127.0.0.1:9000");
  EXPECT_EQ(config->admin_addr, "0.0.0.0:9451");
  EXPECT_EQ(config->backends.ai_session, "ai-session:50052");
  EXPECT_EQ(config->redis.host, "redis");
  EXPECT_EQ(config->redis.port, 6380);
  EXPECT_EQ(config->redis.db, 2);
  EXPECT_EQ(config->http_threads, 4);
  EXPECT_EQ(config->body_limit_bytes, 1024u);
  EXPECT_EQ(config->grpc_deadline, absl::Milliseconds(250));
  EXPECT_EQ(config->log_level, LogLevel::kDebug);
}

// Twilio waits 15 s for a webhook's answer: webhooks get their own deadline, inside that.
TEST(GatewayConfigTest, TwilioWebhooksHaveTheirOwnDeadlineInsideTwiliosBudget) {
  absl::StatusOr<GatewayConfig> config = Read({});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->webhook_deadline, absl::Milliseconds(12000));
  config = Read({{"LIVECALL_WEBHOOK_DEADLINE_MS", "8000"}});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->webhook_deadline, absl::Milliseconds(8000));
  config = Read({{"LIVECALL_WEBHOOK_DEADLINE_MS", "15000"}});
  ASSERT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(), HasSubstr("LIVECALL_WEBHOOK_DEADLINE_MS"));
}

TEST(GatewayConfigTest, InvalidValuesAreAllNamed) {
  absl::StatusOr<GatewayConfig> config = Read({
      {"LIVECALL_HTTP_ADDR", "nonsense"},
      {"LIVECALL_HTTP_THREADS", "0"},
      {"LIVECALL_HTTP_BODY_LIMIT_BYTES", "lots"},
      {"LIVECALL_LOG_LEVEL", "loud"},
  });
  ASSERT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string message(config.status().message());
  EXPECT_THAT(message, HasSubstr("LIVECALL_HTTP_ADDR"));
  EXPECT_THAT(message, HasSubstr("LIVECALL_HTTP_THREADS"));
  EXPECT_THAT(message, HasSubstr("LIVECALL_HTTP_BODY_LIMIT_BYTES"));
  EXPECT_THAT(message, HasSubstr("LIVECALL_LOG_LEVEL"));
}

TEST(GatewayConfigTest, InvalidRedisUrlIsNamed) {
  absl::StatusOr<GatewayConfig> config = Read({{"LIVECALL_REDIS_URL", "http://x"}});
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("LIVECALL_REDIS_URL"));
}

TEST(GatewayConfigTest, AuthenticationIsOnAndNeedsAKey) {
  absl::StatusOr<GatewayConfig> none = Read({}, /*auth_defaults=*/false);
  ASSERT_FALSE(none.ok());
  EXPECT_THAT(std::string(none.status().message()), HasSubstr("LIVECALL_AUTH"));
  EXPECT_THAT(std::string(none.status().message()), HasSubstr("LIVECALL_GRPC_API_KEY"));

  absl::StatusOr<GatewayConfig> on = Read({});
  ASSERT_TRUE(on.ok()) << on.status();
  EXPECT_TRUE(on->auth_enabled);
  EXPECT_TRUE(on->jwt.has_secret());
  EXPECT_FALSE(on->dev_login);
  EXPECT_EQ(on->grpc_auth.client_key, "gateway-test-key-0123");

  absl::StatusOr<GatewayConfig> off = Read({{"LIVECALL_AUTH", "off"}}, /*auth_defaults=*/false);
  ASSERT_TRUE(off.ok()) << off.status();
  EXPECT_FALSE(off->auth_enabled);
}

TEST(GatewayConfigTest, BadAuthenticationSettingsAreNamed) {
  absl::StatusOr<GatewayConfig> config = Read({{"LIVECALL_JWT_SECRET", "s3cr3t-x"},
                                               {"LIVECALL_JWT_PUBLIC_KEY_FILE", "/nonexistent.pem"},
                                               {"LIVECALL_AUTH", "maybe"},
                                               {"LIVECALL_CORS_ORIGINS", "*"},
                                               {"LIVECALL_GRPC_API_KEY", "k3y-x"}},
                                              /*auth_defaults=*/false);
  ASSERT_FALSE(config.ok());
  const std::string message(config.status().message());
  for (const char* name : {"LIVECALL_JWT_SECRET", "LIVECALL_JWT_PUBLIC_KEY_FILE", "LIVECALL_AUTH",
                           "LIVECALL_CORS_ORIGINS", "LIVECALL_GRPC_API_KEY"}) {
    EXPECT_THAT(message, HasSubstr(name));
  }
  EXPECT_THAT(message, Not(HasSubstr("s3cr3t-x")));  // Secrets are never echoed.
  EXPECT_THAT(message, Not(HasSubstr("k3y-x")));
}

TEST(GatewayConfigTest, DevLoginNeedsTheHs256Secret) {
  absl::StatusOr<GatewayConfig> on = Read({{"LIVECALL_DEV_LOGIN", "on"}});
  ASSERT_TRUE(on.ok()) << on.status();
  EXPECT_TRUE(on->dev_login);
  absl::StatusOr<GatewayConfig> no_secret =
      Read({{"LIVECALL_DEV_LOGIN", "on"}, {"LIVECALL_AUTH", "off"}}, /*auth_defaults=*/false);
  ASSERT_FALSE(no_secret.ok());
  EXPECT_THAT(std::string(no_secret.status().message()), HasSubstr("LIVECALL_DEV_LOGIN"));
}

TEST(GatewayConfigTest, TokenAudienceIssuerAndMaximumLifetime) {
  absl::StatusOr<GatewayConfig> defaults = Read({});
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  EXPECT_EQ(defaults->jwt_audience, "");
  EXPECT_EQ(defaults->jwt_issuer, "");
  EXPECT_EQ(defaults->jwt_max_lifetime, absl::Hours(24));
  absl::StatusOr<GatewayConfig> set = Read({{"LIVECALL_JWT_AUDIENCE", "livecall-api"},
                                            {"LIVECALL_JWT_ISSUER", "https://login.example.com"},
                                            {"LIVECALL_JWT_MAX_LIFETIME_S", "43200"}});
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->jwt_audience, "livecall-api");
  EXPECT_EQ(set->jwt_issuer, "https://login.example.com");
  EXPECT_EQ(set->jwt_max_lifetime, absl::Hours(12));
  absl::StatusOr<GatewayConfig> unlimited = Read({{"LIVECALL_JWT_MAX_LIFETIME_S", "0"}});
  ASSERT_TRUE(unlimited.ok()) << unlimited.status();
  EXPECT_EQ(unlimited->jwt_max_lifetime, absl::InfiniteDuration());
  // The dev login cannot mint tokens its own gateway refuses.
  absl::StatusOr<GatewayConfig> too_long = Read({{"LIVECALL_DEV_LOGIN", "on"},
                                                 {"LIVECALL_DEV_LOGIN_TTL_S", "7200"},
                                                 {"LIVECALL_JWT_MAX_LIFETIME_S", "3600"}});
  ASSERT_FALSE(too_long.ok());
  EXPECT_THAT(std::string(too_long.status().message()), HasSubstr("LIVECALL_DEV_LOGIN_TTL_S"));
  EXPECT_FALSE(Read({{"LIVECALL_JWT_MAX_LIFETIME_S", "-1"}}).ok());
}

TEST(GatewayConfigTest, CorsOriginsAndRateLimits) {
  absl::StatusOr<GatewayConfig> config =
      Read({{"LIVECALL_CORS_ORIGINS", "https://Live.example.com/, http://localhost:5173"},
            {"LIVECALL_RATE_LIMIT_AGENT_RPS", "5"},
            {"LIVECALL_RATE_LIMIT_IP_BURST", "7"},
            {"LIVECALL_TRUSTED_PROXY_HOPS", "1"}});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_THAT(config->cors_origins,
              ::testing::ElementsAre("https://live.example.com", "http://localhost:5173"));
  EXPECT_EQ(config->agent_rate_per_second, 5);
  EXPECT_EQ(config->ip_burst, 7);
  EXPECT_EQ(config->trusted_proxy_hops, 1);
  EXPECT_FALSE(Read({{"LIVECALL_CORS_ORIGINS", "https://x.example.com/app"}}).ok());
}

}  // namespace
}  // namespace livecall::gateway

namespace livecall::gateway {
namespace {

TEST(GatewayConfigTest, ReadsTwilioAndAgentAuthSettings) {
  absl::StatusOr<GatewayConfig> config =
      Read({{"TWILIO_AUTH_TOKEN", "token"},
            {"LIVECALL_PUBLIC_URL", "https://live.example.com/"},
            {"LIVECALL_JWT_SECRET", "0123456789abcdef0123456789abcdef"}});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->twilio_auth_token, "token");
  EXPECT_EQ(config->public_url, "https://live.example.com");
  EXPECT_EQ(config->jwt.secret(), "0123456789abcdef0123456789abcdef");
  EXPECT_TRUE(Read({})->twilio_auth_token.empty());
}

TEST(GatewayConfigTest, RejectsAWeakJwtSecretAndANonHttpPublicUrl) {
  absl::StatusOr<GatewayConfig> config =
      Read({{"LIVECALL_JWT_SECRET", "s3cr3t-x"}, {"LIVECALL_PUBLIC_URL", "live.example.com"}});
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("LIVECALL_JWT_SECRET"));
  EXPECT_THAT(config.status().message(), HasSubstr("LIVECALL_PUBLIC_URL"));
}

}  // namespace
}  // namespace livecall::gateway
