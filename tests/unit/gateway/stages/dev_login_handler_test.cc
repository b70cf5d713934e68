#include "services/gateway/stages/dev_login_handler.h"

#include <gmock/gmock.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include "tests/unit/gateway/stages/test_exchange.h"

namespace livecall::gateway {
namespace {

using testing::Request;
using testing::TestExchange;
using testing::TestVerifier;

HttpRequest Login(const std::string& body) {
  return Request(boost::beast::http::verb::post, "/api/auth/dev-login", body);
}

TEST(DevLoginHandlerTest, OffItIs404) {
  const DevLoginHandler handler({.enabled = false, .jwt = TestVerifier()});
  TestExchange test(Login(R"({"agentId":"agent-1"})"));
  handler.Serve(test.exchange(), test.Responder());
  ASSERT_TRUE(test.answered().has_value());
  EXPECT_EQ(test.answered()->status, 404);
}

TEST(DevLoginHandlerTest, WithoutAnHs256SecretItIs404) {
  const DevLoginHandler handler({.enabled = true});
  TestExchange test(Login(R"({"agentId":"agent-1"})"));
  handler.Serve(test.exchange(), test.Responder());
  ASSERT_TRUE(test.answered().has_value());
  EXPECT_EQ(test.answered()->status, 404);
}

TEST(DevLoginHandlerTest, OnItIssuesATokenForTheAgentThatTheGatewayAccepts) {
  const DevLoginHandler handler({.enabled = true, .jwt = TestVerifier()});
  TestExchange test(Login(R"({"agentId":"agent-1","role":"supervisor"})"));
  handler.Serve(test.exchange(), test.Responder());
  ASSERT_TRUE(test.answered().has_value());
  ASSERT_EQ(test.answered()->status, 200) << test.answered()->body;
  google::protobuf::Struct body;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(test.answered()->body, &body).ok());
  EXPECT_EQ(body.fields().at("agentId").string_value(), "agent-1");
  EXPECT_EQ(body.fields().at("role").string_value(), "supervisor");
  absl::StatusOr<AuthenticatedAgent> agent = AuthenticateAgent(
      "Bearer " + body.fields().at("token").string_value(), TestVerifier(), {.dev_login = true});
  ASSERT_TRUE(agent.ok()) << agent.status();
  EXPECT_EQ(agent->agent_id, "agent-1");
  EXPECT_EQ(agent->role, kRoleSupervisor);
}

TEST(DevLoginHandlerTest, ABadAgentIdIs400) {
  const DevLoginHandler handler({.enabled = true, .jwt = TestVerifier()});
  TestExchange test(Login(R"({"agentId":"agent 1"})"));
  handler.Serve(test.exchange(), test.Responder());
  ASSERT_TRUE(test.answered().has_value());
  EXPECT_EQ(test.answered()->status, 400);
}

}  // namespace
}  // namespace livecall::gateway
