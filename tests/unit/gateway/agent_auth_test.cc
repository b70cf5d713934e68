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

std::string TokenExpiringAt(const std::string& sub, absl::Time exp) {
  return SignJwtHs256(R"({"alg":"HS256","typ":"JWT"})",
                      absl::StrCat(R"({"sub":")", sub, R"(","role":"supervisor","exp":)",
                                   absl::ToUnixSeconds(exp), "}"),
                      kSecret);
}

AgentAuthOptions At(absl::Time now) {
  AgentAuthOptions options;
  options.jwt.now = now;
  options.jwt.leeway = absl::Seconds(30);
  return options;
}

TEST(VerifiedTokenCacheTest, ATokenThatVerifiedIsAnsweredFromTheCacheUntilItsExp) {
  const absl::Time now = absl::FromUnixSeconds(1798761600);
  const std::string token = TokenExpiringAt("alice", now + absl::Minutes(10));
  VerifiedTokenCache cache;
  ASSERT_FALSE(cache.Find(token, now).has_value());
  absl::StatusOr<AuthenticatedAgent> first =
      AuthenticateAgent("Bearer " + token, Verifier(), At(now), &cache);
  ASSERT_TRUE(first.ok()) << first.status();
  std::optional<AuthenticatedAgent> cached = cache.Find(token, now + absl::Minutes(5));
  ASSERT_TRUE(cached.has_value());
  EXPECT_EQ(cached->agent_id, "alice");
  EXPECT_EQ(cached->role, kRoleSupervisor);
  EXPECT_EQ(cached->expires_at, now + absl::Minutes(10));
  // With the cache, the same verdict; a verifier without the key proves the answer came from it.
  absl::StatusOr<AuthenticatedAgent> again =
      AuthenticateAgent("Bearer " + token, JwtVerifier(), At(now + absl::Minutes(5)), &cache);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->agent_id, "alice");
  // Past exp + leeway the cache has nothing, and a fresh verification refuses the token.
  const absl::Time late = now + absl::Minutes(10) + absl::Seconds(30);
  EXPECT_FALSE(cache.Find(token, late).has_value());
  EXPECT_EQ(AuthenticateAgent("Bearer " + token, Verifier(), At(late), &cache).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(VerifiedTokenCacheTest, ARefusedTokenIsNotKept) {
  const absl::Time now = absl::FromUnixSeconds(1798761600);
  VerifiedTokenCache cache;
  const std::string forged = SignJwtHs256(
      R"({"alg":"HS256","typ":"JWT"})",
      absl::StrCat(R"({"sub":"mallory","exp":)", absl::ToUnixSeconds(now + absl::Hours(1)), "}"),
      "another secret, 32 bytes or more!");
  EXPECT_FALSE(AuthenticateAgent("Bearer " + forged, Verifier(), At(now), &cache).ok());
  EXPECT_FALSE(cache.Find(forged, now).has_value());
  EXPECT_FALSE(AuthenticateAgent("Bearer " + forged, Verifier(), At(now), &cache).ok());
}

TEST(VerifiedTokenCacheTest, AFullCacheStartsAgainWithinItsCapacity) {
  const absl::Time now = absl::FromUnixSeconds(1798761600);
  VerifiedTokenCache cache(/*capacity=*/2);
  const absl::Time later = now + absl::Hours(1);
  cache.Remember("a", AuthenticatedAgent{.agent_id = "a"}, later);
  cache.Remember("b", AuthenticatedAgent{.agent_id = "b"}, later);
  cache.Remember("c", AuthenticatedAgent{.agent_id = "c"}, later);
  EXPECT_FALSE(cache.Find("a", now).has_value());
  EXPECT_FALSE(cache.Find("b", now).has_value());
  ASSERT_TRUE(cache.Find("c", now).has_value());
  EXPECT_EQ(cache.Find("c", now)->agent_id, "c");
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
