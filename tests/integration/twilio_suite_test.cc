#include "tests/integration/twilio_suite_test.h"

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"

namespace livecall::testing {

void TwilioSuiteTest::StartTwilioSuite(const std::map<std::string, std::string>& extra_env) {
  twilio_ = new fakes::FakeTwilio();
  const absl::Status started = twilio_->Start();
  SuiteOptions options = IntegrationSuiteOptions();
  options.extra_env = {
      {"TWILIO_ACCOUNT_SID", "AC00000000000000000000000000000000"},
      {"TWILIO_AUTH_TOKEN", kAuthToken},
      {"TWILIO_API_KEY_SID", "SK00000000000000000000000000000000"},
      {"TWILIO_API_KEY_SECRET", kApiKeySecret},
      {"TWILIO_TWIML_APP_SID", "AP00000000000000000000000000000000"},
      {"TWILIO_CALLER_ID", "+998712000000"},
      {"TWILIO_API_BASE_URL", started.ok() ? twilio_->base_url() : "http://127.0.0.1:1"},
      {"LIVECALL_PUBLIC_URL", kPublicUrl},
  };
  for (const auto& [name, value] : extra_env) options.extra_env[name] = value;
  StartSuite(std::move(options));
}

void TwilioSuiteTest::TearDownTestSuite() {
  StopSuite();
  delete twilio_;
  twilio_ = nullptr;
}

void TwilioSuiteTest::TearDown() {
  EXPECT_THAT(twilio_->Violations(), ::testing::IsEmpty());
  SuiteTest::TearDown();
}

HttpResponse TwilioSuiteTest::Webhook(const std::string& target, const Form& form,
                                      const std::string& signature_override) {
  std::string body;
  for (const auto& [name, value] : form) {
    absl::StrAppend(&body, body.empty() ? "" : "&", UrlEncode(name), "=", UrlEncode(value));
  }
  std::map<std::string, std::string> headers = {
      {"Content-Type", "application/x-www-form-urlencoded"}};
  if (signature_override != "-") {
    headers["X-Twilio-Signature"] =
        signature_override.empty()
            ? fakes::TwilioTestSignature(kAuthToken, absl::StrCat(kPublicUrl, target), form)
            : signature_override;
  }
  return HttpRequest("POST", suite().base_url() + target, body, headers);
}

}  // namespace livecall::testing
