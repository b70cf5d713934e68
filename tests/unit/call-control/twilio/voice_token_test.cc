#include "services/call-control/twilio/voice_token.h"

#include "common/jwt.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"
#include "tests/unit/call-control/twilio/twilio_webhook_test_fixture.h"

namespace livecall::call_control {
namespace {

using ::livecall::testing::IsOk;
using ::livecall::testing::StatusIs;

// vectors.json "token": computed by twilio-node 6.2.0's AccessToken with a VoiceGrant. The secret
// is not in the vector; the token must at least decode to the same header and claims in the same
// order, which the exact DIGEST example below pins byte for byte with its secret.
TEST(VoiceTokenTest, MatchesTwilioNodeByteForByte) {
  VoiceTokenRequest request;
  request.account_sid = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
  request.api_key_sid = "SKb5aed9ca12bf5890f37930e63cad6d38";
  request.api_key_secret = "aTBl1PhJnykIjWll4TOiXKtD1ugxiz6f";
  request.identity = "alice";
  request.outgoing_application_sid = "APbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
  request.outgoing_params = {{"agentId", "42"}};
  request.now = absl::FromUnixSeconds(1700000000);
  absl::StatusOr<std::string> token = MintVoiceToken(request);
  ASSERT_THAT(token.status(), IsOk());
  EXPECT_EQ(*token,
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImN0eSI6InR3aWxpby1mcGE7dj0xIn0."
            "eyJqdGkiOiJTS2I1YWVkOWNhMTJiZjU4OTBmMzc5MzBlNjNjYWQ2ZDM4LTE3MDAwMDAwMDAiLCJncmFudHMi"
            "OnsiaWRlbnRpdHkiOiJhbGljZSIsInZvaWNlIjp7ImluY29taW5nIjp7ImFsbG93Ijp0cnVlfSwib3V0Z29p"
            "bmciOnsiYXBwbGljYXRpb25fc2lkIjoiQVBiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYiIsInBh"
            "cmFtcyI6eyJhZ2VudElkIjoiNDIifX19fSwiaWF0IjoxNzAwMDAwMDAwLCJleHAiOjE3MDAwMDM2MDAsImlz"
            "cyI6IlNLYjVhZWQ5Y2ExMmJmNTg5MGYzNzkzMGU2M2NhZDZkMzgiLCJzdWIiOiJBQ2FhYWFhYWFhYWFhYWFh"
            "YWFhYWFhYWFhYWFhYWFhYWFhIn0.TFM1tAm_z_FDlBGmChXW-JfWGiRfcCERlNgoVqp8zqk");
}

TEST(VoiceTokenTest, PayloadMatchesTheVectorsLayout) {
  VoiceTokenRequest request;
  request.account_sid = "AC00000000000000000000000000000000";
  request.api_key_sid = "SK00000000000000000000000000000000";
  request.api_key_secret = "any secret";
  request.identity = "agent-alice";
  request.outgoing_application_sid = "AP00000000000000000000000000000000";
  request.now = absl::FromUnixSeconds(1795494417);
  absl::StatusOr<std::string> token = MintVoiceToken(request);
  ASSERT_THAT(token.status(), IsOk());
  // Header and payload segments of vectors.json's token (the signature depends on its secret).
  EXPECT_EQ(token->substr(0, token->rfind('.')),
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImN0eSI6InR3aWxpby1mcGE7dj0xIn0."
            "eyJqdGkiOiJTSzAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwLTE3OTU0OTQ0MTciLCJncmFudHMi"
            "OnsiaWRlbnRpdHkiOiJhZ2VudC1hbGljZSIsInZvaWNlIjp7ImluY29taW5nIjp7ImFsbG93Ijp0cnVlfSwi"
            "b3V0Z29pbmciOnsiYXBwbGljYXRpb25fc2lkIjoiQVAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAw"
            "MCJ9fX0sImlhdCI6MTc5NTQ5NDQxNywiZXhwIjoxNzk1NDk4MDE3LCJpc3MiOiJTSzAwMDAwMDAwMDAwMDAw"
            "MDAwMDAwMDAwMDAwMDAwMDAwIiwic3ViIjoiQUMwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMCJ9");
}

// What Twilio checks (DIGEST §1): HS256 with the API key secret, cty twilio-fpa;v=1, iss = SK,
// sub = AC, jti = <SK>-<iat>, exp - iat <= 24 h, grants.identity and the voice grant.
TEST(VoiceTokenTest, VerifiesByTwilioRules) {
  VoiceTokenRequest request;
  request.account_sid = "AC00000000000000000000000000000000";
  request.api_key_sid = "SK00000000000000000000000000000000";
  request.api_key_secret = "the-api-key-secret";
  request.identity = "agent_2Dalice";
  request.outgoing_application_sid = "AP00000000000000000000000000000000";
  request.now = absl::FromUnixSeconds(1795494417);
  request.ttl = absl::Hours(2);
  absl::StatusOr<std::string> token = MintVoiceToken(request);
  ASSERT_THAT(token.status(), IsOk());
  EXPECT_THAT(VerifyJwtHs256(*token, "wrong secret", {.now = request.now}).status(),
              StatusIs(absl::StatusCode::kUnauthenticated));
  absl::StatusOr<VerifiedJwt> jwt = VerifyJwtHs256(
      *token, "the-api-key-secret", {.now = request.now, .leeway = absl::ZeroDuration()});
  ASSERT_THAT(jwt.status(), IsOk());
  EXPECT_EQ(jwt->header.fields().at("alg").string_value(), "HS256");
  EXPECT_EQ(jwt->header.fields().at("typ").string_value(), "JWT");
  EXPECT_EQ(jwt->header.fields().at("cty").string_value(), "twilio-fpa;v=1");
  EXPECT_EQ(jwt->StringClaim("iss"), "SK00000000000000000000000000000000");
  EXPECT_EQ(jwt->StringClaim("sub"), "AC00000000000000000000000000000000");
  EXPECT_EQ(jwt->StringClaim("jti"), "SK00000000000000000000000000000000-1795494417");
  const double iat = jwt->payload.fields().at("iat").number_value();
  const double exp = jwt->payload.fields().at("exp").number_value();
  EXPECT_EQ(iat, 1795494417);
  EXPECT_EQ(exp - iat, 7200);
  const auto& grants = jwt->payload.fields().at("grants").struct_value().fields();
  EXPECT_EQ(grants.at("identity").string_value(), "agent_2Dalice");
  const auto& voice = grants.at("voice").struct_value().fields();
  EXPECT_TRUE(voice.at("incoming").struct_value().fields().at("allow").bool_value());
  EXPECT_EQ(voice.at("outgoing").struct_value().fields().at("application_sid").string_value(),
            "AP00000000000000000000000000000000");
  // Expired once exp passes.
  EXPECT_THAT(
      VerifyJwtHs256(*token, "the-api-key-secret", {.now = request.now + absl::Hours(3)}).status(),
      StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST(VoiceTokenTest, NeverLivesOver24Hours) {
  VoiceTokenRequest request;
  request.identity = "a";
  request.now = absl::Now();
  request.ttl = absl::Hours(24) + absl::Seconds(1);
  EXPECT_THAT(MintVoiceToken(request).status(), StatusIs(absl::StatusCode::kInvalidArgument));
  request.ttl = absl::Hours(24);
  EXPECT_THAT(MintVoiceToken(request).status(), IsOk());
}

TEST(VoiceTokenTest, AgentIdsMapToSdkSafeIdentitiesOneToOne) {
  EXPECT_EQ(*AgentIdentity("alice42"), "alice42");
  EXPECT_EQ(*AgentIdentity("agent-alice"), "agent_2Dalice");
  EXPECT_EQ(*AgentIdentity("a_b"), "a_5Fb");
  EXPECT_EQ(*AgentIdentity("a b@c"), "a_20b_40c");
  for (const std::string id : {"alice42", "agent-alice", "a_b", "a b@c", "Анна"}) {
    absl::StatusOr<std::string> identity = AgentIdentity(id);
    ASSERT_THAT(identity.status(), IsOk());
    EXPECT_THAT(*identity, ::testing::MatchesRegex("[A-Za-z0-9_]+"));
    EXPECT_EQ(*AgentIdFromIdentity(*identity), id);
  }
  EXPECT_THAT(AgentIdentity(std::string(200, '-')).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(AgentIdFromIdentity("bad_Z").status(), StatusIs(absl::StatusCode::kInvalidArgument));
}

// CreateVoiceToken through the call-control service configured for Twilio.
class VoiceTokenServiceTest : public TwilioWebhookTest {};

TEST_F(VoiceTokenServiceTest, VoiceTokensNeedAnAgent) {
  EXPECT_THAT(service_->MintToken("", {}).status(), StatusIs(absl::StatusCode::kUnauthenticated));
  livecall::v1::CreateVoiceTokenRequest too_long;
  too_long.set_ttl_seconds(86401);
  EXPECT_THAT(service_->MintToken("alice", too_long).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  absl::StatusOr<livecall::v1::VoiceToken> token = service_->MintToken("agent-alice", {});
  ASSERT_THAT(token.status(), IsOk());
  EXPECT_EQ(token->identity(), "agent_2Dalice");
  absl::StatusOr<VerifiedJwt> jwt = VerifyJwtHs256(token->token(), "fake-api-key-secret");
  ASSERT_THAT(jwt.status(), IsOk());
  EXPECT_EQ(jwt->payload.fields().at("exp").number_value(), token->expires_at().seconds());
}

}  // namespace
}  // namespace livecall::call_control
