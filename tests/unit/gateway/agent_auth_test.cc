#include "services/gateway/agent_auth.h"

#include <gmock/gmock.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

namespace livecall::gateway {
namespace {

constexpr char kSecret[] = "0123456789abcdef0123456789abcdef";

std::string AgentToken(const std::string& sub) {
  const int64_t exp = absl::ToUnixSeconds(absl::Now() + absl::Hours(1));
  return SignJwtHs256(R"({"alg":"HS256","typ":"JWT"})",
                      absl::StrCat(R"({"sub":")", sub, R"(","role":"agent","exp":)", exp, "}"),
                      kSecret);
}

JwtVerifier Verifier() {
  JwtVerifier verifier;
  EXPECT_TRUE(verifier.SetSecret(kSecret).ok());
  return verifier;
}

TEST(AgentAuthTest, VerifiesTheBearerToken) {
  absl::StatusOr<AuthenticatedAgent> agent =
      AuthenticateAgent("Bearer " + AgentToken("alice"), Verifier());
  ASSERT_TRUE(agent.ok()) << agent.status();
  EXPECT_EQ(agent->agent_id, "alice");
  EXPECT_EQ(agent->role, kRoleAgent);
  EXPECT_FALSE(AuthenticateAgent("Basic abc", Verifier()).ok());
  EXPECT_FALSE(AuthenticateAgent("Bearer " + AgentToken("al\"ice"), Verifier()).ok());
  EXPECT_EQ(AuthenticateAgent("Bearer x.y.z", Verifier()).status().code(),
            absl::StatusCode::kUnauthenticated);
}

// The claims of a dev-login token, decoded from its middle part.
google::protobuf::Struct Claims(const std::string& token) {
  const std::vector<std::string> parts = absl::StrSplit(token, '.');
  EXPECT_EQ(parts.size(), 3u) << token;
  absl::StatusOr<std::string> json = Base64UrlDecode(parts.at(1));
  EXPECT_TRUE(json.ok()) << token;
  google::protobuf::Struct claims;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json.value_or(""), &claims).ok())
      << token;
  return claims;
}

TEST(DevLoginTest, TheTokenNamesTheAgentRoleIssuerAudienceAndLifetime) {
  livecall::v1::DevLoginRequest request;
  request.set_agent_id("agent-1");
  request.set_role(livecall::v1::ROLE_SUPERVISOR);
  const absl::Time now = absl::FromUnixSeconds(1798761600);
  absl::StatusOr<livecall::v1::DevLoginResponse> login =
      DevLogin(request, kSecret, absl::Hours(8), now, "livecall-api");
  ASSERT_TRUE(login.ok()) << login.status();
  EXPECT_EQ(login->expires_at().seconds(), 1798761600 + 8 * 3600);
  const google::protobuf::Struct claims = Claims(login->token());
  EXPECT_EQ(claims.fields().at("sub").string_value(), "agent-1");
  EXPECT_EQ(claims.fields().at("role").string_value(), "supervisor");
  EXPECT_EQ(claims.fields().at("iss").string_value(), kDevLoginIssuer);
  EXPECT_EQ(claims.fields().at("aud").string_value(), "livecall-api");
  EXPECT_EQ(claims.fields().at("iat").number_value(), 1798761600);
  EXPECT_EQ(claims.fields().at("nbf").number_value(), 1798761600);
  EXPECT_EQ(claims.fields().at("exp").number_value(), 1798761600 + 8 * 3600);
  EXPECT_EQ(claims.fields().size(), 7u);
}

TEST(DevLoginTest, WithoutAnAudienceTheTokenHasNoAud) {
  livecall::v1::DevLoginRequest request;
  request.set_agent_id("agent-1");
  absl::StatusOr<livecall::v1::DevLoginResponse> login =
      DevLogin(request, kSecret, absl::Hours(8), absl::Now());
  ASSERT_TRUE(login.ok()) << login.status();
  EXPECT_EQ(login->role(), livecall::v1::ROLE_AGENT);
  EXPECT_EQ(Claims(login->token()).fields().count("aud"), 0u);
}

TEST(DevLoginTest, ABadAgentIdOrRoleIsInvalidArgument) {
  livecall::v1::DevLoginRequest request;
  request.set_agent_id("agent 1");
  EXPECT_EQ(DevLogin(request, kSecret, absl::Hours(8), absl::Now()).status().code(),
            absl::StatusCode::kInvalidArgument);
  request.set_agent_id("agent-1");
  request.set_role(static_cast<livecall::v1::Role>(9));  // A number no role has.
  EXPECT_EQ(DevLogin(request, kSecret, absl::Hours(8), absl::Now()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace livecall::gateway
