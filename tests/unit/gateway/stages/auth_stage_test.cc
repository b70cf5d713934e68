#include "services/gateway/stages/auth_stage.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "livecall/v1/auth.pb.h"
#include "tests/unit/gateway/stages/test_exchange.h"

namespace livecall::gateway {
namespace {

using testing::BearerToken;
using ::testing::HasSubstr;
using testing::HeaderOf;
using testing::kTestSecret;
using testing::Request;
using testing::TestExchange;
using testing::TestVerifier;

HttpRequest GetCall(const std::string& token = "") {
  HttpRequest request = Request(boost::beast::http::verb::get, "/api/calls/CA1");
  if (!token.empty()) request.set(boost::beast::http::field::authorization, "Bearer " + token);
  return request;
}

TEST(AuthStageTest, AValidTokenBecomesTheCaller) {
  const AuthStage stage({.jwt = TestVerifier()});
  TestExchange test(GetCall(BearerToken("alice", "supervisor")));
  EXPECT_FALSE(stage.Process(test.exchange()).has_value());
  EXPECT_EQ(test.exchange().caller.agent_id, "alice");
  EXPECT_EQ(test.exchange().caller.role, kRoleSupervisor);
  EXPECT_FALSE(test.exchange().unauthenticated.has_value());
}

// The 401 is recorded, not answered: the rate limits count the request first.
TEST(AuthStageTest, AMissingTokenIsRecordedAsA401WithTheChallenge) {
  const AuthStage stage({.jwt = TestVerifier()});
  TestExchange test(GetCall());
  EXPECT_FALSE(stage.Process(test.exchange()).has_value());
  ASSERT_TRUE(test.exchange().unauthenticated.has_value());
  EXPECT_EQ(test.exchange().unauthenticated->status, 401);
  EXPECT_EQ(HeaderOf(*test.exchange().unauthenticated, "WWW-Authenticate"),
            "Bearer realm=\"livecall\"");
  EXPECT_TRUE(test.exchange().caller.agent_id.empty());
}

TEST(AuthStageTest, ATokenOfAnotherKeyIsRecordedAsAnInvalidToken) {
  const AuthStage stage({.jwt = TestVerifier()});
  TestExchange test(GetCall(BearerToken("mallory", "agent", "another secret")));
  EXPECT_FALSE(stage.Process(test.exchange()).has_value());
  ASSERT_TRUE(test.exchange().unauthenticated.has_value());
  EXPECT_THAT(HeaderOf(*test.exchange().unauthenticated, "WWW-Authenticate"),
              HasSubstr("error=\"invalid_token\""));
  EXPECT_TRUE(test.exchange().caller.agent_id.empty());
}

TEST(AuthStageTest, WithoutAKeyConfiguredNoTokenVerifies) {
  const AuthStage stage({});
  TestExchange test(GetCall(BearerToken("alice")));
  stage.Process(test.exchange());
  ASSERT_TRUE(test.exchange().unauthenticated.has_value());
  EXPECT_EQ(test.exchange().unauthenticated->status, 401);
}

TEST(AuthStageTest, APublicRouteNeedsNoToken) {
  const AuthStage stage({.jwt = TestVerifier()});
  TestExchange test(Request(boost::beast::http::verb::get, "/healthz"));
  EXPECT_FALSE(stage.Process(test.exchange()).has_value());
  EXPECT_FALSE(test.exchange().unauthenticated.has_value());
  EXPECT_TRUE(test.exchange().caller.agent_id.empty());
}

TEST(AuthStageTest, WithAuthOffNoTokenIsNeededButOneSentIsVerified) {
  const AuthStage stage({.auth_enabled = false, .jwt = TestVerifier()});
  TestExchange anonymous(GetCall());
  stage.Process(anonymous.exchange());
  EXPECT_FALSE(anonymous.exchange().unauthenticated.has_value());
  TestExchange forged(GetCall(BearerToken("mallory", "agent", "another secret")));
  stage.Process(forged.exchange());
  EXPECT_TRUE(forged.exchange().unauthenticated.has_value());
}

TEST(AuthStageTest, TheDevLoginsTokensAreRefusedWhileTheDevLoginIsOff) {
  livecall::v1::DevLoginRequest login;
  login.set_agent_id("alice");
  absl::StatusOr<livecall::v1::DevLoginResponse> dev =
      DevLogin(login, kTestSecret, absl::Hours(8), absl::Now());
  ASSERT_TRUE(dev.ok()) << dev.status();
  const AuthStage production({.jwt = TestVerifier()});
  TestExchange refused(GetCall(dev->token()));
  production.Process(refused.exchange());
  ASSERT_TRUE(refused.exchange().unauthenticated.has_value());
  EXPECT_THAT(refused.exchange().unauthenticated->body, HasSubstr("dev login is off"));
  const AuthStage development({.jwt = TestVerifier(), .rules = {.dev_login = true}});
  TestExchange accepted(GetCall(dev->token()));
  development.Process(accepted.exchange());
  EXPECT_EQ(accepted.exchange().caller.agent_id, "alice");
}

TEST(AuthStageTest, TheConfiguredAudienceIsRequired) {
  const AuthStage stage({.jwt = TestVerifier(), .rules = {.jwt = {.audience = "livecall-api"}}});
  TestExchange test(GetCall(BearerToken("alice")));
  stage.Process(test.exchange());
  ASSERT_TRUE(test.exchange().unauthenticated.has_value());
  EXPECT_EQ(test.exchange().unauthenticated->status, 401);
}

}  // namespace
}  // namespace livecall::gateway
