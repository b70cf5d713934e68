#include "services/gateway/stages/twilio_signature_stage.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/ascii.h"
#include "tests/unit/gateway/stages/test_exchange.h"

namespace livecall::gateway {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;
using testing::Request;
using testing::TestExchange;

constexpr char kAuthToken[] = "12345";
constexpr char kPublicUrl[] = "https://livecall.example.com";

TwilioSignatureStage Stage(std::string auth_token = kAuthToken) {
  return TwilioSignatureStage({.auth_token = std::move(auth_token), .public_url = kPublicUrl});
}

// Form encoding of a value (spaces, commas, '+' and ':' in a date).
std::string FormEncode(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      absl::StrAppend(&out, "%", absl::Hex(c, absl::kZeroPad2));
    }
  }
  return out;
}

// `params` posted as a form to `target`, signed as Twilio signs it.
HttpRequest Signed(const std::string& target, const FormParams& params) {
  std::string body;
  for (const auto& [name, value] : params) {
    absl::StrAppend(&body, body.empty() ? "" : "&", name, "=", FormEncode(value));
  }
  HttpRequest request =
      Request(boost::beast::http::verb::post, target, body, "application/x-www-form-urlencoded");
  request.set("X-Twilio-Signature",
              ComputeTwilioSignature(kAuthToken, absl::StrCat(kPublicUrl, target), params));
  return request;
}

std::string TwilioTime(absl::Time at) {
  return absl::FormatTime("%a, %d %b %Y %H:%M:%S +0000", at, absl::UTCTimeZone());
}

TEST(TwilioSignatureStageTest, ASignedFormGoesOnWithItsFieldsAndQuery) {
  TestExchange test(
      Signed("/twilio/status?leg=a", {{"CallSid", "CA1"}, {"CallStatus", "ringing"}}));
  EXPECT_FALSE(Stage().Process(test.exchange()).has_value());
  EXPECT_THAT(test.exchange().webhook_params,
              ElementsAre(Pair("CallSid", "CA1"), Pair("CallStatus", "ringing")));
  EXPECT_THAT(test.exchange().webhook_query, ElementsAre(Pair("leg", "a")));
}

TEST(TwilioSignatureStageTest, ATamperedFieldIs403) {
  HttpRequest request = Signed("/twilio/status", {{"CallSid", "CA1"}, {"CallStatus", "ringing"}});
  request.body() = "CallSid=CA1&CallStatus=completed";
  request.prepare_payload();
  TestExchange test(request);
  std::optional<HttpResponse> answer = Stage().Process(test.exchange());
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->status, 403);
  EXPECT_TRUE(test.exchange().webhook_params.empty());
}

TEST(TwilioSignatureStageTest, AMissingSignatureIs403) {
  TestExchange test(Request(boost::beast::http::verb::post, "/twilio/status", "CallSid=CA1",
                            "application/x-www-form-urlencoded"));
  std::optional<HttpResponse> answer = Stage().Process(test.exchange());
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->status, 403);
  EXPECT_THAT(answer->body, HasSubstr("missing X-Twilio-Signature"));
}

TEST(TwilioSignatureStageTest, WithoutAnAuthTokenEveryWebhookIs403) {
  TestExchange test(Signed("/twilio/status", {{"CallSid", "CA1"}}));
  std::optional<HttpResponse> answer = Stage("").Process(test.exchange());
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->status, 403);
  EXPECT_THAT(answer->body, HasSubstr("TWILIO_AUTH_TOKEN"));
}

TEST(TwilioSignatureStageTest, ABodyOfAnotherTypeIs415) {
  HttpRequest request = Signed("/twilio/status", {{"CallSid", "CA1"}});
  request.set(boost::beast::http::field::content_type, "text/plain");
  TestExchange test(request);
  std::optional<HttpResponse> answer = Stage().Process(test.exchange());
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->status, 415);
}

TEST(TwilioSignatureStageTest, AJsonBodyIsVerifiedThroughTheUrlsBodySha256) {
  const std::string body = R"({"CallSid":"CA1","Final":true})";
  const std::string target = absl::StrCat("/twilio/transcription?bodySHA256=", Sha256Hex(body));
  HttpRequest request = Request(boost::beast::http::verb::post, target, body);
  request.set("X-Twilio-Signature",
              ComputeTwilioSignature(kAuthToken, absl::StrCat(kPublicUrl, target), {}));
  TestExchange test(request);
  EXPECT_FALSE(Stage().Process(test.exchange()).has_value());
  EXPECT_THAT(test.exchange().webhook_params,
              ElementsAre(Pair("CallSid", "CA1"), Pair("Final", "true")));
}

TEST(TwilioSignatureStageTest, AStaleWebhookThatActsOnTheCallIs403) {
  TestExchange test(
      Signed("/twilio/voice",
             {{"CallSid", "CA1"}, {"Timestamp", TwilioTime(absl::Now() - absl::Hours(2))}}));
  std::optional<HttpResponse> answer = Stage().Process(test.exchange());
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->status, 403);
  EXPECT_THAT(answer->body, HasSubstr("Timestamp"));
}

TEST(TwilioSignatureStageTest, AStaleStatusCallbackGoesOn) {
  TestExchange test(
      Signed("/twilio/status",
             {{"CallSid", "CA1"}, {"Timestamp", TwilioTime(absl::Now() - absl::Hours(2))}}));
  EXPECT_FALSE(Stage().Process(test.exchange()).has_value());
  EXPECT_EQ(test.exchange().webhook_params.size(), 2u);
}

TEST(TwilioSignatureStageTest, OtherRoutesAreNotItsConcern) {
  TestExchange test(Request(boost::beast::http::verb::get, "/api/calls/CA1"));
  EXPECT_FALSE(Stage("").Process(test.exchange()).has_value());
}

}  // namespace
}  // namespace livecall::gateway
