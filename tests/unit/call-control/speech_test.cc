// What a call says, rendered as TwiML: Uzbek as <Play> of our own audio, Russian and English as
// <Say> with Twilio's voices; configureTTS through the real TwilioProvider against FakeTwilio.
#include "services/call-control/speech.h"

#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/call-control/call_control_service.h"
#include "services/call-control/sandbox/sandbox_provider.h"
#include "services/call-control/tts/espeak_tts.h"
#include "services/call-control/twilio/twilio_provider.h"
#include "tests/fakes/fake_twilio.h"
#include "tests/support/redis_fixture.h"
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

class SpeechTest : public livecall::testing::RedisFixture {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(RedisFixture::SetUp());
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
  QueuedUnaryMethods unary({.threads = 1});
  CallControlService service(provider, *store_, unary, kCallerId);
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
