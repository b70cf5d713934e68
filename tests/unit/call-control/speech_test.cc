// What a call says, rendered as TwiML: Uzbek as <Play> of our own audio, Russian and English as
// <Say> with Twilio's voices; configureTTS through the real TwilioProvider against FakeTwilio. At
// the end, speech recognition: the language, engine and model Twilio listens with
// (speech_recognition.h), and the TwiML they make.
#include "services/call-control/speech.h"

#include <map>

#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/call-control/call_control_service.h"
#include "services/call-control/sandbox/sandbox_provider.h"
#include "services/call-control/tts/espeak_tts.h"
#include "services/call-control/twilio/speech_recognition.h"
#include "services/call-control/twilio/twilio_provider.h"
#include "tests/fakes/fake_twilio.h"
#include "tests/support/redis_server.h"
#include "tests/support/status_matchers.h"
#include "tests/support/wav.h"
#include "tests/support/xml.h"

namespace livecall::call_control {
namespace {

using ::livecall::fakes::FakeTwilio;
using ::livecall::testing::IsOk;
using ::livecall::testing::ParseWav;
using ::livecall::testing::ParseXml;
using ::livecall::testing::WavInfo;
using ::livecall::testing::XmlNode;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using ::testing::StartsWith;

constexpr char kPublicUrl[] = "https://livecall.example.com";
constexpr char kCallerId[] = "+998712000000";

class SpeechTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_THAT(redis_server_.Start(), IsOk());
    RedisPool::Options options;
    options.url = *ParseRedisUrl(redis_server_.url());
    redis_ = std::make_unique<RedisPool>(options);
    store_ = std::make_unique<CallStore>(*redis_, absl::Hours(1));
    cache_ = std::make_unique<tts::AudioCache>(*redis_, tts::AudioCacheOptions{});
    absl::StatusOr<tts::EspeakTts*> espeak = tts::EspeakTts::Get();
    ASSERT_THAT(espeak.status(), IsOk());
    synthesizer_ = std::make_unique<tts::SpeechSynthesizer>(
        nullptr, **espeak, *cache_, signer_,
        tts::SpeechSynthesizerOptions{.public_url = kPublicUrl});
  }

  std::unique_ptr<PhoneSpeechRenderer> Renderer(std::vector<std::string> own_languages = {"uz"}) {
    return std::make_unique<PhoneSpeechRenderer>(
        *synthesizer_, SpeechVoices{.say_voice_ru = "Polly.Tatyana",
                                    .say_voice_en = "Polly.Joanna",
                                    .own_audio_languages = std::move(own_languages)});
  }

  // The WAV a <Play> URL serves (what the gateway's GET /tts/{file_name} answers).
  absl::StatusOr<WavInfo> Served(const std::string& url) {
    absl::string_view file = url;
    if (!absl::ConsumePrefix(&file, absl::StrCat(kPublicUrl, "/tts/"))) {
      return absl::InvalidArgumentError(absl::StrCat("not an audio URL: ", url));
    }
    absl::StatusOr<tts::AudioFile> audio = synthesizer_->Fetch(file);
    if (!audio.ok()) return audio.status();
    return ParseWav(audio->wav);
  }

  livecall::testing::RedisServer redis_server_;
  std::unique_ptr<RedisPool> redis_;
  std::unique_ptr<CallStore> store_;
  std::unique_ptr<tts::AudioCache> cache_;
  const tts::AudioUrlSigner signer_{"speech-test-secret-of-thirty-two-bytes!!"};
  std::unique_ptr<tts::SpeechSynthesizer> synthesizer_;
};

TEST_F(SpeechTest, UzbekIsPlayedFromOurOwnAudio) {
  absl::StatusOr<TwimlElement> verb =
      Renderer()->Render({.text = "Assalomu alaykum!", .language = "uz", .voice = "Polly.Maxim"});
  ASSERT_THAT(verb.status(), IsOk());
  EXPECT_EQ(verb->name, "Play");
  EXPECT_THAT(verb->text, StartsWith("https://livecall.example.com/tts/"));
  EXPECT_EQ(PlayedAudioUrl(*verb), verb->text);
  absl::StatusOr<WavInfo> wav = Served(verb->text);
  ASSERT_THAT(wav.status(), IsOk());
  EXPECT_EQ(wav->format_tag, 7);
  EXPECT_EQ(wav->sample_rate, 8000);
  EXPECT_GT(wav->duration(), absl::Milliseconds(500));
}

TEST_F(SpeechTest, BlankTextSaysNothingWithoutSynthesising) {
  absl::StatusOr<TwimlElement> verb = Renderer()->Render({.text = " \n", .language = "uz"});
  ASSERT_THAT(verb.status(), IsOk());
  EXPECT_EQ(verb->name, "Say");
  EXPECT_EQ(PlayedAudioUrl(*verb), "");
}

TEST_F(SpeechTest, RussianAndEnglishUseTwiliosConfiguredVoices) {
  std::unique_ptr<PhoneSpeechRenderer> renderer = Renderer();
  absl::StatusOr<TwimlElement> ru = renderer->Render({.text = "Здравствуйте", .language = "ru"});
  ASSERT_THAT(ru.status(), IsOk());
  EXPECT_EQ(RenderTwiml({*ru}),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Say voice=\"Polly.Tatyana\" "
            "language=\"ru-RU\">Здравствуйте</Say></Response>");
  absl::StatusOr<TwimlElement> en =
      renderer->Render({.text = "Hello", .language = "en", .voice = "Google.en-US-Neural2-A"});
  ASSERT_THAT(en.status(), IsOk());
  EXPECT_EQ(en->name, "Say");
  EXPECT_EQ(en->attributes, (std::vector<std::pair<std::string, std::string>>{
                                {"voice", "Google.en-US-Neural2-A"}, {"language", "en-US"}}));
  EXPECT_EQ(PlayedAudioUrl(*en), "");
}

TEST_F(SpeechTest, EveryLanguageCanBeOurOwnAudio) {
  std::unique_ptr<PhoneSpeechRenderer> renderer = Renderer({"uz", "ru", "en"});
  for (const char* language : {"ru", "en"}) {
    absl::StatusOr<TwimlElement> verb = renderer->Render({.text = "OK 42", .language = language});
    ASSERT_THAT(verb.status(), IsOk());
    EXPECT_EQ(verb->name, "Play") << language;
    EXPECT_THAT(Served(verb->text).status(), IsOk());
  }
}

TEST_F(SpeechTest, ConfigureTtsInUzbekPlacesATwilioCallThatPlaysOurAudio) {
  FakeTwilio twilio;
  ASSERT_THAT(twilio.Start(), IsOk());
  CurlHttpClient http("twilio");
  TwilioClient client(http, {.base_url = twilio.base_url(),
                             .account_sid = "AC00000000000000000000000000000000",
                             .username = "SK00000000000000000000000000000000",
                             .password = "fake-api-key-secret"});
  std::unique_ptr<PhoneSpeechRenderer> renderer = Renderer();
  TwilioProvider provider(client, *store_, *renderer, {.public_url = kPublicUrl});
  Executor executor(1);
  CallControlService service(provider, *store_, executor, kCallerId);
  livecall::v1::PlaceCallRequest request;
  request.set_to("+998901112233");
  request.set_text("Hurmatli mijoz, qarzingiz 150 000 so'm. Savollar uchun +998 71 200 05 07.");
  request.set_language("uz");
  absl::StatusOr<livecall::v1::Call> call = service.Place(request);
  ASSERT_THAT(call.status(), IsOk());

  std::vector<fakes::TwilioApiRequest> created = twilio.Requests("CreateCall");
  ASSERT_THAT(created, SizeIs(1));
  absl::StatusOr<XmlNode> twiml = ParseXml(created[0].Field("Twiml"));
  ASSERT_THAT(twiml.status(), IsOk());
  ASSERT_THAT(twiml->ChildNames(), ElementsAre("Play"));
  const std::string url = twiml->children[0].text;
  EXPECT_EQ(call->audio_url(), url);
  EXPECT_EQ(store_->Get(call->call_sid())->audio_url(), url);
  absl::StatusOr<WavInfo> wav = Served(url);
  ASSERT_THAT(wav.status(), IsOk());
  EXPECT_EQ(wav->format_tag, 7);
  // Numbers and the phone number said as words make this a long sentence.
  EXPECT_GT(wav->duration(), absl::Seconds(5));
  EXPECT_THAT(twilio.Violations(), IsEmpty());
}

TEST_F(SpeechTest, TheSandboxCarriesTheSameAudio) {
  std::unique_ptr<PhoneSpeechRenderer> renderer = Renderer();
  SandboxProvider sandbox(*store_, {}, *renderer);
  livecall::v1::Call call;
  call.set_to("+998901112233");
  call.set_from(kCallerId);
  call.set_text("Xush kelibsiz");
  call.set_language("uz");
  absl::StatusOr<livecall::v1::Call> placed = sandbox.Place(call);
  ASSERT_THAT(placed.status(), IsOk());
  EXPECT_THAT(Served(placed->audio_url()).status(), IsOk());
  call.set_language("ru");
  placed = sandbox.Place(call);
  ASSERT_THAT(placed.status(), IsOk());
  EXPECT_EQ(placed->audio_url(), "");  // Twilio's <Say> would speak it.
}

}  // namespace
}  // namespace livecall::call_control

// Speech recognition (speech_recognition.h): per-language settings read from the environment
// (ReadCallControlConfig reads them so; tests/integration/speech_test.cc sees them in the TwiML),
// refused by variable name when Twilio could not use them, and the TwiML they make.
namespace livecall::call_control {
namespace {

using ::livecall::testing::StatusIs;
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
