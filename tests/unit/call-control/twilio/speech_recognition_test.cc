// Speech recognition (twilio/speech_recognition.h): per-language settings read from the environment
// (ReadCallControlConfig reads them so; tests/integration/speech_test.cc sees them in the TwiML),
// refused by variable name when Twilio could not use them, and the TwiML they make.

#include "services/call-control/twilio/speech_recognition.h"

#include <map>
#include <string>

#include "common/config.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"
#include "tests/support/xml.h"

namespace livecall::call_control {
namespace {

using ::livecall::testing::IsOk;
using ::livecall::testing::ParseXml;
using ::livecall::testing::StatusIs;
using ::livecall::testing::XmlNode;
using ::testing::HasSubstr;

absl::StatusOr<SpeechRecognitionConfig> ReadRecognition(
    const std::map<std::string, std::string>& vars) {
  EnvReader env([&vars](const char* name) -> const char* {
    return vars.contains(name) ? vars.at(name).c_str() : nullptr;
  });
  SpeechRecognitionConfig config = ReadSpeechRecognitionConfig(env);
  if (absl::Status status = env.status(); !status.ok()) return status;
  return config;
}

// The XML of one element, as Twilio would receive it inside <Response>.
absl::StatusOr<XmlNode> Rendered(const TwimlElement& element) {
  absl::StatusOr<XmlNode> response = ParseXml(RenderTwiml({element}));
  if (!response.ok()) return response.status();
  if (response->children.size() != 1) return absl::InternalError("not one element");
  return response->children[0];
}

TEST(SpeechRecognitionConfigTest, DefaultsHearEachLanguageWithAModelThatSpeaksIt) {
  absl::StatusOr<SpeechRecognitionConfig> recognition = ReadRecognition({});
  ASSERT_THAT(recognition, IsOk());
  EXPECT_EQ(recognition->For("uz").transcription_language, "uz-UZ");
  EXPECT_EQ(recognition->For("uz").transcription_engine, "google");  // Deepgram has no Uzbek.
  EXPECT_EQ(recognition->For("uz").transcription_model, "long");
  EXPECT_EQ(recognition->For("uz").gather_language, "uz-UZ");
  EXPECT_EQ(recognition->For("uz").gather_model, "");  // Twilio's choice: any Google v2 language.
  EXPECT_EQ(recognition->For("ru").transcription_language, "ru-RU");
  EXPECT_EQ(recognition->For("ru").transcription_model, "telephony");
  EXPECT_EQ(recognition->For("en").transcription_language, "en-US");
  EXPECT_EQ(recognition->For("en").gather_language, "en-US");
  // No language known (ai-session failed): the suite's first language.
  EXPECT_EQ(recognition->For("").transcription_language, "uz-UZ");
}

TEST(SpeechRecognitionConfigTest, EachLanguageIsConfiguredOnItsOwn) {
  absl::StatusOr<SpeechRecognitionConfig> recognition =
      ReadRecognition({{"LIVECALL_TRANSCRIPTION_ENGINE_RU", "deepgram"},
                       {"LIVECALL_TRANSCRIPTION_MODEL_EN", "short"},
                       {"LIVECALL_TRANSCRIPTION_LANGUAGE_EN", "en-GB"},
                       {"LIVECALL_TRANSCRIPTION_MODEL_UZ", "telephony"},
                       {"LIVECALL_GATHER_MODEL_UZ", "googlev2_long"},
                       {"LIVECALL_GATHER_MODEL_RU", "phone_call"},
                       {"LIVECALL_GATHER_LANGUAGE_RU", "ru-KZ"},
                       {"LIVECALL_GATHER_MODEL_EN", "deepgram_nova-2-phonecall"}});
  ASSERT_THAT(recognition, IsOk());
  EXPECT_EQ(recognition->ru.transcription_engine, "deepgram");
  EXPECT_EQ(recognition->ru.transcription_model, "nova-2");  // Twilio's Deepgram default.
  EXPECT_EQ(recognition->en.transcription_model, "short");
  EXPECT_EQ(recognition->en.transcription_language, "en-GB");
  EXPECT_EQ(recognition->uz.transcription_model, "telephony");
  EXPECT_EQ(recognition->uz.gather_model, "googlev2_long");
  EXPECT_EQ(recognition->ru.gather_model, "phone_call");
  EXPECT_EQ(recognition->ru.gather_language, "ru-KZ");
  EXPECT_EQ(recognition->en.gather_model, "deepgram_nova-2-phonecall");
}

TEST(SpeechRecognitionConfigTest, TheOlderTranscriptionLanguageStillOverridesEveryLanguage) {
  absl::StatusOr<SpeechRecognitionConfig> recognition =
      ReadRecognition({{"LIVECALL_TRANSCRIPTION_LANGUAGE", "ru-RU"},
                       {"LIVECALL_TRANSCRIPTION_LANGUAGE_EN", "en-IN"}});
  ASSERT_THAT(recognition, IsOk());
  EXPECT_EQ(recognition->uz.transcription_language, "ru-RU");
  EXPECT_EQ(recognition->ru.transcription_language, "ru-RU");
  EXPECT_EQ(recognition->en.transcription_language, "en-IN");  // Its own wins.
}

TEST(SpeechRecognitionConfigTest, WhatTwilioCouldNotUseIsRefusedByVariableName) {
  const std::vector<std::pair<std::map<std::string, std::string>, std::string>> cases = {
      {{{"LIVECALL_TRANSCRIPTION_ENGINE_RU", "whisper"}}, "LIVECALL_TRANSCRIPTION_ENGINE_RU"},
      {{{"LIVECALL_TRANSCRIPTION_MODEL_EN", "nova-2"}}, "LIVECALL_TRANSCRIPTION_MODEL_EN"},
      {{{"LIVECALL_TRANSCRIPTION_ENGINE_EN", "deepgram"},
        {"LIVECALL_TRANSCRIPTION_MODEL_EN", "telephony"}},
       "LIVECALL_TRANSCRIPTION_MODEL_EN"},
      {{{"LIVECALL_TRANSCRIPTION_ENGINE_UZ", "deepgram"}}, "LIVECALL_TRANSCRIPTION_ENGINE_UZ"},
      {{{"LIVECALL_TRANSCRIPTION_LANGUAGE", "uz-UZ"},
        {"LIVECALL_TRANSCRIPTION_ENGINE_RU", "deepgram"}},
       "LIVECALL_TRANSCRIPTION_ENGINE_RU"},
      {{{"LIVECALL_TRANSCRIPTION_LANGUAGE_RU", "en-US"}}, "LIVECALL_TRANSCRIPTION_LANGUAGE_RU"},
      {{{"LIVECALL_TRANSCRIPTION_LANGUAGE", "de-DE"}}, "LIVECALL_TRANSCRIPTION_LANGUAGE"},
      {{{"LIVECALL_GATHER_LANGUAGE_UZ", "uz-Cyrl-UZ"}}, "LIVECALL_GATHER_LANGUAGE_UZ"},
      {{{"LIVECALL_GATHER_MODEL_RU", "enhanced"}}, "LIVECALL_GATHER_MODEL_RU"},
      {{{"LIVECALL_GATHER_MODEL_UZ", "phone_call"}}, "LIVECALL_GATHER_MODEL_UZ"},
      {{{"LIVECALL_GATHER_MODEL_UZ", "deepgram_nova-3"}}, "LIVECALL_GATHER_MODEL_UZ"},
  };
  for (const auto& [vars, variable] : cases) {
    EXPECT_THAT(ReadRecognition(vars),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(variable)))
        << variable;
  }
}

TEST(SpeechRecognitionTwimlTest, TranscriptionNamesLanguageEngineAndModel) {
  const RecognitionSettings uz = SpeechRecognitionConfig().uz;
  absl::StatusOr<XmlNode> start = Rendered(StartTranscriptionTwiml(
      uz, "https://livecall.example.com/twilio/transcription", "customer", "agent"));
  ASSERT_THAT(start, IsOk());
  ASSERT_EQ(start->name, "Start");
  const XmlNode* transcription = start->Child("Transcription");
  ASSERT_NE(transcription, nullptr);
  EXPECT_EQ(transcription->Attr("languageCode"), "uz-UZ");
  EXPECT_EQ(transcription->Attr("transcriptionEngine"), "google");
  EXPECT_EQ(transcription->Attr("speechModel"), "long");
  EXPECT_EQ(transcription->Attr("inboundTrackLabel"), "customer");
  EXPECT_EQ(transcription->Attr("outboundTrackLabel"), "agent");
}

TEST(SpeechRecognitionTwimlTest, AGatherWithAModelWaitsSecondsNotAuto) {
  RecognitionSettings ru = SpeechRecognitionConfig().ru;
  absl::StatusOr<XmlNode> chosen_by_twilio = Rendered(SpeechGatherTwiml(ru, "https://x/gather"));
  ASSERT_THAT(chosen_by_twilio, IsOk());
  EXPECT_EQ(chosen_by_twilio->Attr("language"), "ru-RU");
  EXPECT_EQ(chosen_by_twilio->Attr("speechModel"), "<absent>");
  EXPECT_EQ(chosen_by_twilio->Attr("speechTimeout"), "auto");

  ru.gather_model = "phone_call";
  absl::StatusOr<XmlNode> chosen = Rendered(SpeechGatherTwiml(ru, "https://x/gather"));
  ASSERT_THAT(chosen, IsOk());
  EXPECT_EQ(chosen->Attr("speechModel"), "phone_call");
  EXPECT_EQ(chosen->Attr("speechTimeout"), "2");  // Twilio's warning 13335: no "auto" with a model.
  EXPECT_EQ(chosen->Attr("action"), "https://x/gather");
  EXPECT_EQ(chosen->Attr("actionOnEmptyResult"), "true");
}

}  // namespace
}  // namespace livecall::call_control
