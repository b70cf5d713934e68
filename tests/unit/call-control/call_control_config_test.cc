#include "services/call-control/call_control_config.h"

#include <map>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace livecall::call_control {
namespace {

using ::testing::HasSubstr;

absl::StatusOr<CallControlConfig> Read(std::map<std::string, std::string> vars) {
  EnvReader env([vars = std::move(vars)](const char* name) -> const char* {
    auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  });
  return ReadCallControlConfig(env);
}

const std::map<std::string, std::string> kTwilio = {
    {"TWILIO_ACCOUNT_SID", "AC00000000000000000000000000000000"},
    {"TWILIO_API_KEY_SID", "SK00000000000000000000000000000000"},
    {"TWILIO_API_KEY_SECRET", "secret"},
    {"TWILIO_TWIML_APP_SID", "AP00000000000000000000000000000000"},
    {"TWILIO_CALLER_ID", "+998712000000"},
    {"TWILIO_API_BASE_URL", "http://127.0.0.1:9999/"},
    {"LIVECALL_PUBLIC_URL", "https://live.example.com/"}};

TEST(CallControlConfigTest, WithoutTwilioItIsTheSandbox) {
  absl::StatusOr<CallControlConfig> config = Read({});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_FALSE(config->twilio.configured());
  EXPECT_EQ(config->public_url, "http://localhost:8080");
}

TEST(CallControlConfigTest, ReadsTwilio) {
  absl::StatusOr<CallControlConfig> config = Read(kTwilio);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(config->twilio.configured());
  EXPECT_EQ(config->twilio.rest_username(), "SK00000000000000000000000000000000");
  EXPECT_EQ(config->twilio.rest_password(), "secret");
  EXPECT_EQ(config->twilio.api_base_url, "http://127.0.0.1:9999");
  EXPECT_EQ(config->public_url, "https://live.example.com");
}

TEST(CallControlConfigTest, NamesEveryWrongTwilioVariable) {
  std::map<std::string, std::string> vars = kTwilio;
  vars["TWILIO_ACCOUNT_SID"] = "SK00000000000000000000000000000000";
  vars.erase("TWILIO_API_KEY_SECRET");
  vars["TWILIO_CALLER_ID"] = "not a number";
  vars["TWILIO_TWIML_APP_SID"] = "AP1";
  absl::StatusOr<CallControlConfig> config = Read(vars);
  ASSERT_FALSE(config.ok());
  for (const char* name : {"TWILIO_ACCOUNT_SID", "TWILIO_API_KEY_SECRET", "TWILIO_CALLER_ID",
                           "TWILIO_TWIML_APP_SID"}) {
    EXPECT_THAT(config.status().message(), HasSubstr(name));
  }
  // An account without any credential to authenticate with.
  vars = kTwilio;
  vars.erase("TWILIO_API_KEY_SID");
  vars.erase("TWILIO_API_KEY_SECRET");
  EXPECT_THAT(Read(vars).status().message(), HasSubstr("TWILIO_AUTH_TOKEN"));
}

}  // namespace
}  // namespace livecall::call_control
