#include "services/gateway/twilio_signature.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace livecall::gateway {
namespace {

using ::testing::ElementsAre;

// Twilio's published vectors (twilio-node spec/validation.spec.js, twilio-python's tests and
// vectors.json): auth token 12345.
const FormParams kDocsParams = {{"CallSid", "CA1234567890ABCDE"},
                                {"Caller", "+14158675309"},
                                {"Digits", "1234"},
                                {"From", "+14158675309"},
                                {"To", "+18005551212"}};
constexpr char kDocsUrl[] = "https://mycompany.com/myapp.php?foo=1&bar=2";

TEST(TwilioSignatureTest, ComputesThePublishedVectors) {
  EXPECT_EQ(ComputeTwilioSignature("12345", kDocsUrl, kDocsParams), "RSOYDt4T1cUTdK1PDd93/VVr8B8=");
  EXPECT_EQ(ComputeTwilioSignature("12345", "https://mycompany.com:443/myapp.php?foo=1&bar=2",
                                   kDocsParams),
            "kvajT1Ptam85bY51eRf/AJRuM3w=");
  EXPECT_EQ(ComputeTwilioSignature("12345", "http://mycompany.com:1234/myapp.php?foo=1&bar=2",
                                   kDocsParams),
            "Zmvh+3yNM1Phv2jhDCwEM3q5ebU=");
  // Repeated names: each value, sorted, once.
  EXPECT_EQ(ComputeTwilioSignature("12345", kDocsUrl,
                                   {{"Sid", "CA123"},
                                    {"SidAccount", "AC123"},
                                    {"Digits", "5678"},
                                    {"Digits", "1234"},
                                    {"Digits", "1234"}}),
            "IK+Dwps556ElfBT0I3Rgjkr1wJU=");
  // JSON-bodied webhooks sign the URL (with bodySHA256) and no parameters.
  EXPECT_EQ(
      ComputeTwilioSignature("12345",
                             "https://mycompany.com/myapp.php?foo=1&bar=2&bodySHA256="
                             "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620",
                             {}),
      "a9nBmqA0ju/hNViExpshrM61xv4=");
}

TEST(TwilioSignatureTest, ComputesLivecallsOwnVectors) {
  EXPECT_EQ(ComputeTwilioSignature("12345", "https://example.com/twilio/voice",
                                   {{"AccountSid", "AC00000000000000000000000000000000"},
                                    {"CallSid", "CA00000000000000000000000000000001"},
                                    {"From", "client:agent-alice"},
                                    {"To", "+998901112233"},
                                    {"Caller", "client:agent-alice"}}),
            "zhUZAl+BYfNo1tSe5dqF42s8fPU=");
  EXPECT_EQ(ComputeTwilioSignature("12345", "https://example.com/twilio/status",
                                   {{"CallSid", "CA00000000000000000000000000000001"},
                                    {"CallStatus", "completed"},
                                    {"StatusCallbackEvent", "completed"},
                                    {"Multi", "b"},
                                    {"Multi", "a"}}),
            "b8I2KG4Dge+IX9qMmgVc76X77YY=");
  EXPECT_EQ(ComputeTwilioSignature(
                "12345", "https://example.com/twilio/transcription",
                {{"TranscriptionEvent", "transcription-content"},
                 {"TranscriptionData",
                  "{\"transcript\":\"Salom, internetim ishlamayapti\",\"confidence\":0.93}"},
                 {"Final", "true"},
                 {"Track", "inbound_track"}}),
            "/wJl+VL3wcLYKwLSFSdXb7t99DY=");
}

// What ComputeTwilioSignature computed before it kept keyed digest states (OpenSSL's one-shot
// HMAC over the URL and the parameters sorted through a map of value sets): the same output for
// keys shorter than, as long as and longer than SHA-1's block, the empty key, and keys that
// change from one call to the next on one thread.
std::string OneShotSignature(const std::string& token, const std::string& url,
                             const FormParams& params) {
  std::map<std::string, std::set<std::string>> sorted;
  for (const auto& [name, value] : params) sorted[name].insert(value);
  std::string data = url;
  for (const auto& [name, values] : sorted) {
    for (const std::string& value : values) absl::StrAppend(&data, name, value);
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha1(), token.data(), static_cast<int>(token.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest, &length);
  return absl::Base64Escape(
      absl::string_view(reinterpret_cast<const char*>(digest), static_cast<size_t>(length)));
}

TEST(TwilioSignatureTest, MatchesOneShotHmacForEveryKeyLength) {
  const FormParams params = {{"To", "+998712000000"},
                             {"From", "+998901112233"},
                             {"Multi", "b"},
                             {"Multi", "a"},
                             {"Multi", "b"},
                             {"Empty", ""},
                             {"Caller", "client:ālice"},
                             {"CallSid", "CA0123"}};
  const std::vector<std::string> tokens = {"12345",
                                           "",
                                           std::string(63, 'k'),
                                           std::string(64, 'k'),
                                           std::string(65, 'k'),
                                           std::string(200, 'z'),
                                           "bench0auth0token0000000000000000",
                                           "12345"};
  for (int round = 0; round < 2; ++round) {
    for (const std::string& token : tokens) {
      for (const FormParams& p : {params, FormParams{}}) {
        const std::string url = "https://example.com/twilio/voice?x=" + std::to_string(round);
        EXPECT_EQ(ComputeTwilioSignature(token, url, p), OneShotSignature(token, url, p))
            << "token of " << token.size() << " bytes";
        EXPECT_TRUE(ValidateTwilioSignature(token.empty() ? "x" : token, url, p,
                                            OneShotSignature(token.empty() ? "x" : token, url, p)));
      }
    }
  }
}

TEST(TwilioSignatureTest, AcceptsTheDefaultPortEitherWay) {
  EXPECT_TRUE(
      ValidateTwilioSignature("12345", kDocsUrl, kDocsParams, "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
  // Signed with :443, checked without, and the other way round.
  EXPECT_TRUE(
      ValidateTwilioSignature("12345", kDocsUrl, kDocsParams, "kvajT1Ptam85bY51eRf/AJRuM3w="));
  EXPECT_TRUE(ValidateTwilioSignature("12345", "https://mycompany.com:443/myapp.php?foo=1&bar=2",
                                      kDocsParams, "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
  EXPECT_TRUE(ValidateTwilioSignature("12345", "http://mycompany.com/myapp.php?foo=1&bar=2",
                                      kDocsParams, "0ZXoZLH/DfblKGATFgpif+LLRf4="));
  EXPECT_THAT(TwilioUrlVariants("https://user:pass@h.example:8443/p?q=1"),
              ElementsAre("https://user:pass@h.example/p?q=1"));
  EXPECT_THAT(TwilioUrlVariants("http://h.example/p"), ElementsAre("http://h.example:80/p"));
}

TEST(TwilioSignatureTest, RejectsAnythingElse) {
  EXPECT_FALSE(ValidateTwilioSignature("12345", kDocsUrl, kDocsParams, ""));
  EXPECT_FALSE(ValidateTwilioSignature("", kDocsUrl, kDocsParams, "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
  EXPECT_FALSE(
      ValidateTwilioSignature("12346", kDocsUrl, kDocsParams, "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
  FormParams changed = kDocsParams;
  changed[2].second = "1235";
  EXPECT_FALSE(ValidateTwilioSignature("12345", kDocsUrl, changed, "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
  EXPECT_FALSE(ValidateTwilioSignature("12345", "https://mycompany.com/other.php?foo=1&bar=2",
                                       kDocsParams, "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
  EXPECT_FALSE(
      ValidateTwilioSignature("12345", kDocsUrl, kDocsParams, "RSOYDt4T1cUTdK1PDd93/VVr8B8"));
}

// The JSON-body variant's published vectors (vectors.json → jsonBody, DIGEST.md §2.5): the URL
// with bodySHA256 is signed with no parameters, and the body must hash to bodySHA256.
TEST(TwilioSignatureTest, ValidatesJsonBodiesByTheirSha256) {
  constexpr char kBody[] = R"({"property": "value", "boolean": true})";
  constexpr char kHash[] = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620";
  const std::string url = absl::StrCat(kDocsUrl, "&bodySHA256=", kHash);
  EXPECT_EQ(Sha256Hex(kBody), kHash);
  EXPECT_EQ(Sha256Hex("{}"), "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
  EXPECT_TRUE(
      ValidateTwilioBodySignature("12345", url, kBody, kHash, "a9nBmqA0ju/hNViExpshrM61xv4="));
  // `{}` signed with :443 only: the port variants apply here too.
  EXPECT_TRUE(ValidateTwilioBodySignature(
      "12345",
      absl::StrCat(kDocsUrl,
                   "&bodySHA256=44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"),
      "{}", "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
      "Ldidvp12m26NI7eqEvxnEpkd9Hc="));
  // Upper-case hex is the same hash.
  EXPECT_TRUE(ValidateTwilioBodySignature("12345", url, kBody, absl::AsciiStrToUpper(kHash),
                                          "a9nBmqA0ju/hNViExpshrM61xv4="));
  // Another body (the URL still verifies), another URL, another token, a wrong signature.
  EXPECT_FALSE(ValidateTwilioBodySignature("12345", url,
                                           R"({"property": "value", "boolean": false})", kHash,
                                           "a9nBmqA0ju/hNViExpshrM61xv4="));
  EXPECT_FALSE(ValidateTwilioBodySignature("12345", url, kBody, std::string(64, '0'),
                                           "a9nBmqA0ju/hNViExpshrM61xv4="));
  EXPECT_FALSE(ValidateTwilioBodySignature("12345", absl::StrCat(url, "&x=1"), kBody, kHash,
                                           "a9nBmqA0ju/hNViExpshrM61xv4="));
  EXPECT_FALSE(
      ValidateTwilioBodySignature("12346", url, kBody, kHash, "a9nBmqA0ju/hNViExpshrM61xv4="));
  EXPECT_FALSE(ValidateTwilioBodySignature("12345", url, kBody, kHash, ""));
}

TEST(TwilioTimestampTest, ParsesTwiliosFormats) {
  EXPECT_EQ(*ParseTwilioTimestamp("Mon, 16 Aug 2010 03:45:01 +0000"),
            absl::FromUnixSeconds(1281930301));
  EXPECT_EQ(*ParseTwilioTimestamp("2010-08-16T03:45:01Z"), absl::FromUnixSeconds(1281930301));
  EXPECT_FALSE(ParseTwilioTimestamp("yesterday").ok());
}

}  // namespace
}  // namespace livecall::gateway
