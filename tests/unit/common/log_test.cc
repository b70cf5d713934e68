#include "common/log.h"

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace livecall {
namespace {

TEST(JsonEscapeTest, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(JsonEscape("say \"hi\"\\\n\t\x01"), "say \\\"hi\\\"\\\\\\n\\t\\u0001");
}

TEST(JsonEscapeTest, KeepsUtf8TextAsIs) {
  EXPECT_EQ(JsonEscape("Assalomu alaykum, Дильшод"), "Assalomu alaykum, Дильшод");
}

TEST(ParseLogLevelTest, KnownNamesParseAndUnknownOnesAreRejected) {
  EXPECT_EQ(*ParseLogLevel("DEBUG"), LogLevel::kDebug);
  EXPECT_EQ(*ParseLogLevel("warn"), LogLevel::kWarning);
  EXPECT_THAT(ParseLogLevel("loud"),
              ::livecall::testing::StatusIs(absl::StatusCode::kInvalidArgument));
}

constexpr char kJwt[] =
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZ2VudC0xIn0.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

TEST(RedactSecretsTest, TokensBearerCredentialsAndRegisteredSecretsAreReplaced) {
  EXPECT_EQ(RedactSecrets(absl::StrCat("token ", kJwt, " rejected")), "token [redacted] rejected");
  EXPECT_EQ(RedactSecrets("Authorization: Bearer abc.def-ghi, next"),
            "Authorization: Bearer [redacted], next");
  EXPECT_EQ(RedactSecrets("basic dXNlcjpwYXNz"), "basic [redacted]");
  RegisterLogSecret("grpc-key-0123456789abcdef");
  EXPECT_EQ(RedactSecrets("x-api-key grpc-key-0123456789abcdef refused"),
            "x-api-key [redacted] refused");
  RegisterLogSecret("short");  // Under 8 bytes: would redact ordinary words.
  EXPECT_EQ(RedactSecrets("a short note"), "a short note");
  EXPECT_EQ(RedactSecrets("eyJ-not.a-token"), "eyJ-not.a-token");
}

TEST(RedactSecretsTest, TheLogNeverWritesCredentials) {
  RegisterLogSecret("twilio-auth-token-secret-42");
  ::testing::internal::CaptureStderr();
  LogWarning(absl::StrCat("bad token ", kJwt),
             {{"authorization", "Bearer xyz"},
              {"x-twilio-signature", "RSOYDt4T1cUTdK1PDd93/VVr8B8="},
              {"apiKey", "whatever"},
              {"detail", "signed with twilio-auth-token-secret-42"},
              {"path", "/api/calls/CA1"}});
  const std::string line = ::testing::internal::GetCapturedStderr();
  for (const char* secret :
       {kJwt, "xyz", "RSOYDt4T1cUTdK1PDd93", "whatever", "twilio-auth-token-secret-42"}) {
    EXPECT_EQ(line.find(secret), std::string::npos) << secret << " in " << line;
  }
  EXPECT_NE(line.find("\"path\":\"/api/calls/CA1\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"authorization\":\"[redacted]\""), std::string::npos) << line;
}

}  // namespace
}  // namespace livecall
