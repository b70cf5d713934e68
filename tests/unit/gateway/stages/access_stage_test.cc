#include "services/gateway/stages/access_stage.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/gateway/stages/test_exchange.h"

namespace livecall::gateway {
namespace {

using ::testing::HasSubstr;
using testing::HeaderOf;
using testing::Request;
using testing::TestExchange;

TEST(AccessStageTest, The401AuthStageRecordedIsAnswered) {
  TestExchange test(Request(boost::beast::http::verb::get, "/api/calls"));
  test.exchange().unauthenticated = UnauthorizedResponse("no token", false);
  std::optional<HttpResponse> answer = AccessStage().Process(test.exchange());
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->status, 401);
}

TEST(AccessStageTest, ARoleTheRouteDoesNotAllowIs403InsufficientScope) {
  TestExchange test(Request(boost::beast::http::verb::get, "/api/calls"));
  test.exchange().caller = {.agent_id = "alice", .role = kRoleAgent};
  std::optional<HttpResponse> answer = AccessStage().Process(test.exchange());
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->status, 403);
  EXPECT_THAT(answer->body, HasSubstr("supervisor or service"));
  EXPECT_THAT(HeaderOf(*answer, "WWW-Authenticate"), HasSubstr("insufficient_scope"));
}

TEST(AccessStageTest, ARoleTheRouteAllowsGoesOn) {
  TestExchange test(Request(boost::beast::http::verb::get, "/api/calls"));
  test.exchange().caller = {.agent_id = "boss", .role = kRoleSupervisor};
  EXPECT_FALSE(AccessStage().Process(test.exchange()).has_value());
}

TEST(AccessStageTest, ARouteWithoutRolesTakesEveryRole) {
  TestExchange test(Request(boost::beast::http::verb::get, "/api/calls/CA1"));
  test.exchange().caller = {.agent_id = "alice", .role = kRoleAgent};
  EXPECT_FALSE(AccessStage().Process(test.exchange()).has_value());
}

// No agent: a public route, or no token while LIVECALL_AUTH=off.
TEST(AccessStageTest, NoAgentNeedsNoRole) {
  TestExchange test(Request(boost::beast::http::verb::get, "/api/calls"));
  EXPECT_FALSE(AccessStage().Process(test.exchange()).has_value());
}

}  // namespace
}  // namespace livecall::gateway
