#include "services/gateway/stages/rate_limit_stage.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/gateway/stages/test_exchange.h"

namespace livecall::gateway {
namespace {

using ::testing::HasSubstr;
using testing::HeaderOf;
using testing::Request;
using testing::TestExchange;

// The status of one request of `agent` (empty: none verified) to `target` from `address`, if the
// stage answers it.
std::optional<int> Limited(const RateLimitStage& stage, const std::string& target,
                           const std::string& agent, const std::string& address = "10.0.0.1",
                           boost::beast::http::verb verb = boost::beast::http::verb::get) {
  TestExchange test(Request(verb, target), address);
  if (test.exchange().match.result != RouteMatch::Result::kMatched) return 404;
  test.exchange().caller.agent_id = agent;
  std::optional<HttpResponse> answer = stage.Process(test.exchange());
  if (!answer.has_value()) return std::nullopt;
  return answer->status;
}

TEST(RateLimitStageTest, AVerifiedAgentSpendsItsOwnBucket) {
  RateLimiter per_agent(1, 2);
  RateLimiter per_address(1, 100);
  const RateLimitStage stage(&per_agent, &per_address, 0);
  EXPECT_EQ(Limited(stage, "/api/calls/CA1", "alice"), std::nullopt);
  EXPECT_EQ(Limited(stage, "/api/calls/CA1", "alice"), std::nullopt);
  EXPECT_EQ(Limited(stage, "/api/calls/CA1", "alice"), 429);
  // Bob, behind the same address, has his own.
  EXPECT_EQ(Limited(stage, "/api/calls/CA1", "bob"), std::nullopt);
}

TEST(RateLimitStageTest, TheAnswerIs429WithRetryAfterNamingWhoIsLimited) {
  RateLimiter per_agent(1, 1);
  const RateLimitStage stage(&per_agent, nullptr, 0);
  TestExchange first(Request(boost::beast::http::verb::get, "/api/calls/CA1"));
  first.exchange().caller.agent_id = "alice";
  ASSERT_FALSE(stage.Process(first.exchange()).has_value());
  TestExchange second(Request(boost::beast::http::verb::get, "/api/calls/CA1"));
  second.exchange().caller.agent_id = "alice";
  std::optional<HttpResponse> answer = stage.Process(second.exchange());
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->status, 429);
  EXPECT_EQ(HeaderOf(*answer, "Retry-After"), "1");
  EXPECT_THAT(answer->body, HasSubstr("RESOURCE_EXHAUSTED"));
  EXPECT_THAT(answer->body, HasSubstr("agent"));
}

TEST(RateLimitStageTest, RequestsWithoutAVerifiedAgentSpendTheirAddresssBucket) {
  RateLimiter per_agent(1, 100);
  RateLimiter per_address(1, 2);
  const RateLimitStage stage(&per_agent, &per_address, 0);
  EXPECT_EQ(Limited(stage, "/api/calls/CA1", ""), std::nullopt);
  EXPECT_EQ(Limited(stage, "/api/calls/CA2", ""), std::nullopt);
  EXPECT_EQ(Limited(stage, "/api/calls/CA1", ""), 429);
  EXPECT_EQ(Limited(stage, "/api/calls/CA1", "", "10.0.0.2"), std::nullopt);
  // A verified agent from the limited address still gets through.
  EXPECT_EQ(Limited(stage, "/api/calls/CA1", "carol"), std::nullopt);
}

TEST(RateLimitStageTest, OperationalRoutesWebhooksAndSignedAudioAreNotLimitedByAddress) {
  RateLimiter per_address(1, 1);
  const RateLimitStage stage(nullptr, &per_address, 0);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Limited(stage, "/healthz", ""), std::nullopt);
    EXPECT_EQ(Limited(stage, "/twilio/status", "", "10.0.0.1", boost::beast::http::verb::post),
              std::nullopt);
    EXPECT_EQ(Limited(stage, "/tts/a.wav", ""), std::nullopt);
  }
}

TEST(RateLimitStageTest, TheClientIpComesFromTrustedProxiesOnly) {
  HttpRequest request = Request(boost::beast::http::verb::get, "/healthz");
  EXPECT_EQ(ClientIp(request, "10.0.0.5", 1), "10.0.0.5");
  request.set("X-Forwarded-For", "6.6.6.6, 203.0.113.7");
  EXPECT_EQ(ClientIp(request, "10.0.0.5", 1), "203.0.113.7");
  EXPECT_EQ(ClientIp(request, "10.0.0.5", 2), "6.6.6.6");
  EXPECT_EQ(ClientIp(request, "10.0.0.5", 3), "10.0.0.5");
  EXPECT_EQ(ClientIp(request, "10.0.0.5", 0), "10.0.0.5");
}

}  // namespace
}  // namespace livecall::gateway
