#include "services/gateway/gateway_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>

namespace livecall::gateway {
namespace {

using ::testing::HasSubstr;

absl::StatusOr<GatewayConfig> Read(std::map<std::string, std::string> vars) {
  EnvReader env([vars = std::move(vars)](const char* name) -> const char* {
    auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  });
  return ReadGatewayConfig(env);
}

TEST(GatewayConfigTest, Defaults) {
  absl::StatusOr<GatewayConfig> config = Read({});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->http_addr, "0.0.0.0:8080");
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
      {"LIVECALL_AI_SESSION_ADDR", "ai-session:50052"},
      {"LIVECALL_REDIS_URL", "redis://redis:6380/2"},
      {"LIVECALL_HTTP_THREADS", "4"},
      {"LIVECALL_HTTP_BODY_LIMIT_BYTES", "1024"},
      {"LIVECALL_GRPC_DEADLINE_MS", "250"},
      {"LIVECALL_LOG_LEVEL", "debug"},
  });
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->http_addr, "127.0.0.1:9000");
  EXPECT_EQ(config->backends.ai_session, "ai-session:50052");
  EXPECT_EQ(config->redis.host, "redis");
  EXPECT_EQ(config->redis.port, 6380);
  EXPECT_EQ(config->redis.db, 2);
  EXPECT_EQ(config->http_threads, 4);
  EXPECT_EQ(config->body_limit_bytes, 1024u);
  EXPECT_EQ(config->grpc_deadline, absl::Milliseconds(250));
  EXPECT_EQ(config->log_level, LogLevel::kDebug);
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
  EXPECT_EQ(config->jwt_secret, "0123456789abcdef0123456789abcdef");
  EXPECT_TRUE(Read({})->twilio_auth_token.empty());
}

TEST(GatewayConfigTest, RejectsAWeakJwtSecretAndANonHttpPublicUrl) {
  absl::StatusOr<GatewayConfig> config =
      Read({{"LIVECALL_JWT_SECRET", "short"}, {"LIVECALL_PUBLIC_URL", "live.example.com"}});
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("LIVECALL_JWT_SECRET"));
  EXPECT_THAT(config.status().message(), HasSubstr("LIVECALL_PUBLIC_URL"));
}

}  // namespace
}  // namespace livecall::gateway
