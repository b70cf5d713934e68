#include "common/jwt.h"

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_keys.h"

namespace livecall {
namespace {

using ::livecall::testing::IsOk;
using ::livecall::testing::StatusIs;
using ::testing::HasSubstr;

constexpr char kSecret[] = "aTBl1PhJnykIjWll4TOiXKtD1ugxiz6f";
const absl::Time kNow = absl::FromUnixSeconds(1700000000);

std::string Token(absl::string_view header, absl::string_view payload,
                  absl::string_view secret = kSecret) {
  return SignJwtHs256(header, payload, secret);
}

TEST(JwtTest, Base64UrlHasNoPaddingAndTheUrlAlphabet) {
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_EQ(*Base64UrlDecode("-_8"), "\xfb\xff");
  EXPECT_FALSE(Base64UrlDecode("+/8=").ok());
  EXPECT_FALSE(Base64UrlDecode("a").ok());
}

// RFC 7515 appendix A.1's HS256 example, with its key and its exact bytes.
TEST(JwtTest, SignsRfc7515sExample) {
  absl::StatusOr<std::string> key = Base64UrlDecode(
      "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow");
  ASSERT_THAT(key.status(), IsOk());
  EXPECT_EQ(SignJwtHs256("{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}",
                         "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n "
                         "\"http://example.com/is_root\":true}",
                         *key),
            "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzOD"
            "AsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_"
            "wW1gFWFOEjXk");
}

TEST(JwtTest, VerifiesAndReadsClaims) {
  const std::string token = Token(R"({"alg":"HS256","typ":"JWT"})",
                                  R"({"sub":"alice","exp":1700000600,"nbf":1699999990})");
  absl::StatusOr<VerifiedJwt> jwt = VerifyJwtHs256(token, kSecret, {.now = kNow});
  ASSERT_THAT(jwt.status(), IsOk());
  EXPECT_EQ(jwt->StringClaim("sub"), "alice");
  EXPECT_EQ(jwt->StringClaim("exp"), "");
}

TEST(JwtTest, RefusesOtherAlgorithmsWhateverTheSignature) {
  const std::string payload = R"({"sub":"alice","exp":1700000600})";
  // alg "none" with an empty signature: the classic downgrade.
  const std::string none =
      absl::StrCat(Base64UrlEncode(R"({"alg":"none"})"), ".", Base64UrlEncode(payload), ".");
  EXPECT_THAT(VerifyJwtHs256(none, kSecret, {.now = kNow}).status(),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("HS256")));
  EXPECT_THAT(VerifyJwtHs256(Token(R"({"alg":"HS512"})", payload), kSecret, {.now = kNow}).status(),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("HS256")));
  EXPECT_THAT(VerifyJwtHs256(Token(R"({"typ":"JWT"})", payload), kSecret, {.now = kNow}).status(),
              StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST(JwtTest, RefusesBadSignaturesAndMalformedTokens) {
  const std::string token = Token(R"({"alg":"HS256"})", R"({"sub":"alice","exp":1700000600})");
  EXPECT_THAT(VerifyJwtHs256(token, "another secret", {.now = kNow}).status(),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("signature")));
  std::string flipped = token;
  flipped[flipped.size() - 2] = flipped[flipped.size() - 2] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(VerifyJwtHs256(flipped, kSecret, {.now = kNow}).ok());
  for (const std::string bad : {"", "a.b", "a.b.c.d", "!!.??.**", "e30.e30.e30"}) {
    EXPECT_THAT(VerifyJwtHs256(bad, kSecret, {.now = kNow}).status(),
                StatusIs(absl::StatusCode::kUnauthenticated))
        << bad;
  }
  EXPECT_FALSE(VerifyJwtHs256(Token(R"({"alg":"HS256"})", "[1]"), kSecret, {.now = kNow}).ok());
}

TEST(JwtTest, ChecksExpiryAndNotBeforeWithLeeway) {
  const std::string token = Token(R"({"alg":"HS256"})", R"({"exp":1700000000,"nbf":1699999000})");
  JwtVerifyOptions options{.now = kNow, .leeway = absl::Seconds(30)};
  EXPECT_THAT(VerifyJwtHs256(token, kSecret, options).status(), IsOk());  // Within the leeway.
  options.now = kNow + absl::Seconds(30);
  EXPECT_THAT(VerifyJwtHs256(token, kSecret, options).status(),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("expired")));
  options.now = absl::FromUnixSeconds(1699998900);
  EXPECT_THAT(VerifyJwtHs256(token, kSecret, options).status(),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("not valid yet")));
  const std::string forever = Token(R"({"alg":"HS256"})", R"({"sub":"a"})");
  EXPECT_FALSE(VerifyJwtHs256(forever, kSecret, {.now = kNow}).ok());
  EXPECT_THAT(VerifyJwtHs256(forever, kSecret, {.now = kNow, .require_exp = false}).status(),
              IsOk());
  EXPECT_FALSE(
      VerifyJwtHs256(Token(R"({"alg":"HS256"})", R"({"exp":"soon"})"), kSecret, {.now = kNow})
          .ok());
}

TEST(JwtTest, ChecksAudienceIssuerAndLifetimeWhenAsked) {
  // kNow is 1700000000; this token lives an hour from iat.
  const std::string token =
      Token(R"({"alg":"HS256"})",
            R"({"aud":["livecall","crm"],"iss":"https://login.example.com","iat":1699999000,)"
            R"("exp":1700002600})");
  EXPECT_THAT(VerifyJwtHs256(token, kSecret,
                             {.now = kNow,
                              .audience = "livecall",
                              .issuers = {"https://login.example.com"},
                              .max_lifetime = absl::Hours(1)})
                  .status(),
              IsOk());
  EXPECT_THAT(VerifyJwtHs256(token, kSecret, {.now = kNow, .audience = "billing"}).status(),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("aud")));
  EXPECT_THAT(
      VerifyJwtHs256(token, kSecret, {.now = kNow, .issuers = {"https://evil.example"}}).status(),
      StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("iss")));
  EXPECT_THAT(
      VerifyJwtHs256(token, kSecret, {.now = kNow, .max_lifetime = absl::Minutes(59)}).status(),
      StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("lifetime")));
  // A string aud; no aud or iss at all when they are required.
  const std::string single = Token(R"({"alg":"HS256"})", R"({"aud":"livecall","exp":1700000600})");
  EXPECT_THAT(VerifyJwtHs256(single, kSecret, {.now = kNow, .audience = "livecall"}).status(),
              IsOk());
  const std::string bare = Token(R"({"alg":"HS256"})", R"({"exp":1700000600})");
  EXPECT_FALSE(VerifyJwtHs256(bare, kSecret, {.now = kNow, .audience = "livecall"}).ok());
  EXPECT_FALSE(VerifyJwtHs256(bare, kSecret, {.now = kNow, .issuers = {"x"}}).ok());
  // Without iat the lifetime counts from now: 600 s left.
  EXPECT_THAT(
      VerifyJwtHs256(bare, kSecret, {.now = kNow, .max_lifetime = absl::Seconds(600)}).status(),
      IsOk());
  EXPECT_FALSE(
      VerifyJwtHs256(
          bare, kSecret,
          {.now = kNow, .leeway = absl::ZeroDuration(), .max_lifetime = absl::Seconds(599)})
          .ok());
  // A token without exp is valid forever: over any limit.
  EXPECT_FALSE(VerifyJwtHs256(Token(R"({"alg":"HS256"})", R"({"sub":"a"})"), kSecret,
                              {.now = kNow, .require_exp = false, .max_lifetime = absl::Hours(24)})
                   .ok());
}

// --- JwtVerifier: the gateway's keys --------------------------------------------------------

using ::livecall::testing::TestKeyPair;

constexpr char kPayload[] = R"({"sub":"agent-1","role":"agent","exp":1700000600})";

JwtVerifier SecretVerifier() {
  JwtVerifier verifier;
  EXPECT_THAT(verifier.SetSecret(kSecret), IsOk());
  return verifier;
}

TEST(JwtVerifierTest, Rs256WithTheConfiguredRsaKey) {
  const TestKeyPair key = TestKeyPair::Rsa();
  JwtVerifier verifier;
  ASSERT_THAT(verifier.SetPublicKeyPem(key.PublicKeyPem()), IsOk());
  EXPECT_EQ(verifier.public_key_algorithm(), "RS256");
  const std::string token = key.SignJwt(R"({"alg":"RS256","typ":"JWT"})", kPayload);
  absl::StatusOr<VerifiedJwt> jwt = verifier.Verify(token, {.now = kNow});
  ASSERT_THAT(jwt, IsOk());
  EXPECT_EQ(jwt->StringClaim("sub"), "agent-1");
  // Another key's signature, a changed payload, or another alg label: refused.
  const std::string other = TestKeyPair::Rsa().SignJwt(R"({"alg":"RS256"})", kPayload);
  EXPECT_THAT(verifier.Verify(other, {.now = kNow}).status(),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("signature")));
  const std::string tampered =
      absl::StrCat(token.substr(0, token.find('.')), ".",
                   Base64UrlEncode(R"({"sub":"agent-2","role":"supervisor","exp":1700000600})"),
                   token.substr(token.rfind('.')));
  EXPECT_THAT(verifier.Verify(tampered, {.now = kNow}).status(),
              StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(verifier.Verify(key.SignJwt(R"({"alg":"RS512"})", kPayload), {.now = kNow}).status(),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("alg must be RS256")));
}

TEST(JwtVerifierTest, Es256WithTheConfiguredP256Key) {
  const TestKeyPair key = TestKeyPair::EcP256();
  JwtVerifier verifier;
  ASSERT_THAT(verifier.SetPublicKeyPem(key.PublicKeyPem()), IsOk());
  EXPECT_EQ(verifier.public_key_algorithm(), "ES256");
  const std::string token = key.SignJwt(R"({"alg":"ES256","typ":"JWT"})", kPayload);
  EXPECT_THAT(verifier.Verify(token, {.now = kNow}), IsOk());
  EXPECT_FALSE(
      verifier.Verify(TestKeyPair::EcP256().SignJwt(R"({"alg":"ES256"})", kPayload), {.now = kNow})
          .ok());
  // A DER signature (what OpenSSL makes) is not the JWS r || s form.
  std::string der_signed =
      token.substr(0, token.rfind('.') + 1) + Base64UrlEncode(std::string(70, 'x'));
  EXPECT_FALSE(verifier.Verify(der_signed, {.now = kNow}).ok());
  EXPECT_THAT(verifier.Verify(token, {.now = kNow + absl::Hours(1)}).status(),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("expired")));
}

TEST(JwtVerifierTest, TheTokenCannotChooseItsAlgorithm) {
  const TestKeyPair key = TestKeyPair::Rsa();
  JwtVerifier verifier;
  ASSERT_THAT(verifier.SetPublicKeyPem(key.PublicKeyPem()), IsOk());
  // The classic confusion: HS256 "signed" with the public key's PEM as the HMAC secret.
  const std::string confused =
      SignJwtHs256(R"({"alg":"HS256","typ":"JWT"})", kPayload, key.PublicKeyPem());
  EXPECT_THAT(verifier.Verify(confused, {.now = kNow}).status(),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("alg must be RS256")));
  // alg none, with or without a signature.
  const std::string none =
      absl::StrCat(Base64UrlEncode(R"({"alg":"none"})"), ".", Base64UrlEncode(kPayload), ".");
  EXPECT_FALSE(verifier.Verify(none, {.now = kNow}).ok());
  EXPECT_FALSE(SecretVerifier().Verify(none, {.now = kNow}).ok());
  // An HS256 verifier refuses RS256 tokens, even validly signed ones.
  EXPECT_THAT(
      SecretVerifier().Verify(key.SignJwt(R"({"alg":"RS256"})", kPayload), {.now = kNow}).status(),
      StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("alg must be HS256")));
}

TEST(JwtVerifierTest, SecretAndPublicKeyTogether) {
  const TestKeyPair key = TestKeyPair::EcP256();
  JwtVerifier verifier = SecretVerifier();
  ASSERT_THAT(verifier.SetPublicKeyPem(key.PublicKeyPem()), IsOk());
  EXPECT_THAT(verifier.Verify(Token(R"({"alg":"HS256"})", kPayload), {.now = kNow}), IsOk());
  EXPECT_THAT(verifier.Verify(key.SignJwt(R"({"alg":"ES256"})", kPayload), {.now = kNow}), IsOk());
  EXPECT_THAT(verifier.Verify(key.SignJwt(R"({"alg":"RS256"})", kPayload), {.now = kNow}).status(),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("HS256 or ES256")));
}

TEST(JwtVerifierTest, OnlyUsableKeysAreAccepted) {
  JwtVerifier verifier;
  EXPECT_THAT(verifier.SetSecret("too short"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(verifier.SetPublicKeyPem("not a key"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(verifier.SetPublicKeyPem(TestKeyPair::Rsa(1024).PublicKeyPem()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("2048")));
  EXPECT_THAT(verifier.SetPublicKeyPem(TestKeyPair::EcP384().PublicKeyPem()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("P-256")));
  EXPECT_FALSE(verifier.configured());
  EXPECT_THAT(verifier.Verify("a.b.c").status(), StatusIs(absl::StatusCode::kFailedPrecondition));
}

}  // namespace
}  // namespace livecall
