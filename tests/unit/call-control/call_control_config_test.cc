#include "services/call-control/call_control_config.h"

#include <map>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/env_reader.h"

namespace livecall::call_control {
namespace {

using ::testing::HasSubstr;

absl::StatusOr<CallControlConfig> Read(std::map<std::string, std::string> vars) {
  // Authentication is on by default: the API keys are required (tested in common).
  vars.insert({"LIVECALL_GRPC_API_KEY", "call-control-test-key"});
  vars.insert({"LIVECALL_GRPC_API_KEYS", "gateway:gateway-test-key-0123"});
  EnvReader env = ::livecall::testing::EnvReaderFor(std::move(vars));
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

TEST(CallControlConfigTest, SpeechDefaultsToEspeakForUzbekAndPollyForTheRest) {
  absl::StatusOr<CallControlConfig> config = Read({});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->speech.url_secret, "");
  EXPECT_EQ(config->speech.url_ttl, absl::Hours(1));
  EXPECT_EQ(config->speech.cache.ttl, absl::Hours(24));
  EXPECT_EQ(config->speech.cache.max_entries, 2000);
  EXPECT_EQ(config->speech.voices.own_audio_languages, std::vector<std::string>{"uz"});
  EXPECT_EQ(config->speech.voices.say_voice_ru, "Polly.Tatyana");
  EXPECT_EQ(config->speech.voices.say_voice_en, "Polly.Joanna");
  EXPECT_EQ(config->speech.remote.base_url, "");
}

TEST(CallControlConfigTest, ReadsSpeech) {
  absl::StatusOr<CallControlConfig> config =
      Read({{"LIVECALL_TTS_URL_SECRET", std::string(32, 's')},
            {"LIVECALL_TTS_URL_TTL_S", "600"},
            {"LIVECALL_TTS_CACHE_TTL_S", "600"},
            {"LIVECALL_TTS_CACHE_MAX_ENTRIES", "50"},
            {"LIVECALL_TTS_LANGUAGES", "uz, ru,en"},
            {"LIVECALL_TWILIO_VOICE_RU", "Google.ru-RU-Standard-A"},
            {"LIVECALL_TTS_BASE_URL", "http://127.0.0.1:8000/v1"},
            {"LIVECALL_TTS_API_KEY", "key"},
            {"LIVECALL_TTS_MODEL", "gpt-4o-mini-tts"},
            {"LIVECALL_TTS_VOICE", "nova"},
            {"LIVECALL_TTS_DEADLINE_MS", "1500"}});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->speech.url_ttl, absl::Minutes(10));
  EXPECT_EQ(config->speech.cache.max_entries, 50);
  EXPECT_EQ(config->speech.voices.own_audio_languages,
            (std::vector<std::string>{"uz", "ru", "en"}));
  EXPECT_EQ(config->speech.voices.say_voice_ru, "Google.ru-RU-Standard-A");
  EXPECT_EQ(config->speech.remote.base_url, "http://127.0.0.1:8000/v1");
  EXPECT_EQ(config->speech.remote.model, "gpt-4o-mini-tts");
  EXPECT_EQ(config->speech.remote.voice, "nova");
  EXPECT_EQ(config->speech.remote.deadline, absl::Milliseconds(1500));
}

TEST(CallControlConfigTest, NamesEveryWrongSpeechVariable) {
  absl::StatusOr<CallControlConfig> config = Read({{"LIVECALL_TTS_URL_SECRET", "short"},
                                                   {"LIVECALL_TTS_URL_TTL_S", "7200"},
                                                   {"LIVECALL_TTS_CACHE_TTL_S", "3600"},
                                                   {"LIVECALL_TTS_LANGUAGES", "uz,de"},
                                                   {"LIVECALL_TTS_BASE_URL", "ftp://tts"}});
  ASSERT_FALSE(config.ok());
  for (const char* name : {"LIVECALL_TTS_URL_SECRET", "LIVECALL_TTS_CACHE_TTL_S",
                           "LIVECALL_TTS_LANGUAGES", "LIVECALL_TTS_BASE_URL"}) {
    EXPECT_THAT(config.status().message(), HasSubstr(name));
  }
}

TEST(CallControlConfigTest, OutboundCallsGoToUzbekNumbersTwoPerAgentByDefault) {
  absl::StatusOr<CallControlConfig> config = Read({});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->allowed_dial_prefixes, std::vector<std::string>{"+998"});
  EXPECT_EQ(config->max_calls_per_agent, 2);
  EXPECT_EQ(config->session_end_retry, absl::Seconds(1));
  EXPECT_EQ(config->session_end_max_retry, absl::Minutes(1));

  config = Read({{"LIVECALL_ALLOWED_DIAL_PREFIXES", " +998, +7 ,+1415"},
                 {"LIVECALL_MAX_CALLS_PER_AGENT", "0"},
                 {"LIVECALL_SESSION_END_RETRY_MS", "100"},
                 {"LIVECALL_SESSION_END_MAX_RETRY_MS", "500"}});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->allowed_dial_prefixes, (std::vector<std::string>{"+998", "+7", "+1415"}));
  EXPECT_EQ(config->max_calls_per_agent, 0);
  EXPECT_EQ(config->session_end_retry, absl::Milliseconds(100));
  EXPECT_EQ(config->session_end_max_retry, absl::Milliseconds(500));
  config = Read({{"LIVECALL_ALLOWED_DIAL_PREFIXES", "+"}});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->allowed_dial_prefixes, std::vector<std::string>{"+"});
}

TEST(CallControlConfigTest, RefusesDialPrefixesThatAreNotE164) {
  for (const char* prefixes : {"998", "+99a", ",", "+998,7", "+1234567890123456"}) {
    SCOPED_TRACE(prefixes);
    EXPECT_THAT(Read({{"LIVECALL_ALLOWED_DIAL_PREFIXES", prefixes}}).status().message(),
                HasSubstr("LIVECALL_ALLOWED_DIAL_PREFIXES"));
  }
  EXPECT_THAT(Read({{"LIVECALL_SESSION_END_RETRY_MS", "5000"},
                    {"LIVECALL_SESSION_END_MAX_RETRY_MS", "1000"}})
                  .status()
                  .message(),
              HasSubstr("LIVECALL_SESSION_END_MAX_RETRY_MS"));
}

}  // namespace
}  // namespace livecall::call_control
