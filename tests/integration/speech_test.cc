// Issue 10 end to end: Uzbek configureTTS through the real binaries with Twilio pointed at
// FakeTwilio. The TwiML Twilio receives plays a URL on LIVECALL_PUBLIC_URL; fetched from the real
// gateway (without an agent's token, as Twilio does) it serves 8 kHz μ-law WAV; a repeated text is
// served from the cache; forged and expired ids are refused. Issue 15: speech recognition per
// language and speech.error live events.

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "livecall/v1/call_control.pb.h"
#include "tests/fakes/fake_speech_server.h"
#include "tests/fakes/fake_twilio.h"
#include "tests/integration/twilio_suite_test.h"
#include "tests/support/json.h"
#include "tests/support/metrics_text.h"
#include "tests/support/sse.h"
#include "tests/support/status_matchers.h"
#include "tests/support/wav.h"
#include "tests/support/xml.h"

namespace livecall::testing {
namespace {

using ::livecall::fakes::FakeSpeechServer;
using ::livecall::fakes::TwilioApiRequest;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

constexpr char kUrlSecret[] = "integration-tts-url-secret-0123456789abcdef";

class SpeechAudioTest : public TwilioSuiteTest {
 protected:
  static void SetUpTestSuite() {
    StartTwilioSuite({
        {"LIVECALL_TTS_URL_SECRET", kUrlSecret},
        {"LIVECALL_TWILIO_VOICE_RU", "Polly.Maxim"},
        // Speech recognition per language (speech_recognition.h), read by call-control's main.
        {"LIVECALL_TRANSCRIPTION_MODEL_UZ", "short"},
        {"LIVECALL_GATHER_MODEL_UZ", "googlev2_long"},
    });
  }

  // configureTTS; answers the TwiML of the call Twilio was asked to create.
  static XmlNode ConfigureTts(const std::string& text, const std::string& language,
                              livecall::v1::Call* call = nullptr) {
    const size_t before = twilio_->Requests("CreateCall").size();
    HttpResponse response =
        Post("/api/voip/call", absl::StrCat(R"({"to":"+998901112233","text":")", text,
                                            R"(","language":")", language, R"("})"));
    EXPECT_EQ(response.status, 200) << response;
    if (call != nullptr) {
      EXPECT_THAT(ParseJsonMessage(response.body, call), IsOk());
    }
    std::vector<TwilioApiRequest> created = twilio_->Requests("CreateCall");
    EXPECT_EQ(created.size(), before + 1);
    if (created.size() != before + 1) return {};
    absl::StatusOr<XmlNode> twiml = ParseXml(created.back().Field("Twiml"));
    EXPECT_THAT(twiml.status(), IsOk());
    return twiml.ok() ? *twiml : XmlNode{};
  }

  // GET of a public audio URL from the real gateway.
  static HttpResponse Fetch(const std::string& url,
                            const std::map<std::string, std::string>& headers = {}) {
    absl::string_view path = url;
    EXPECT_TRUE(absl::ConsumePrefix(&path, kPublicUrl)) << url;
    return HttpRequest("GET", suite().base_url() + std::string(path), "", headers);
  }

  static double CallControlMetric(absl::string_view series) {
    HttpResponse metrics = HttpRequest(
        "GET",
        absl::StrCat("http://127.0.0.1:", suite().metrics_port(Service::kCallControl), "/metrics"));
    EXPECT_EQ(metrics.status, 200) << metrics;
    return MetricValue(metrics.body, series);
  }

  // An id as LIVECALL_TTS_URL_SECRET signs it (the scheme of tts/audio_url_signer.h).
  static std::string SignedId(absl::string_view key, int64_t expiry) {
    const std::string message = absl::StrCat("livecall-tts-v1|", key, "|", expiry);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    HMAC(EVP_sha256(), kUrlSecret, static_cast<int>(strlen(kUrlSecret)),
         reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest, &length);
    return absl::StrCat(
        key, "-", expiry, "-",
        absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), 16)));
  }
};

TEST_F(SpeechAudioTest, UzbekConfigureTtsPlaysAudioTheGatewayServes) {
  livecall::v1::Call call;
  const XmlNode twiml = ConfigureTts("Assalomu alaykum! Qarzingiz 150 000 so'm.", "uz", &call);
  ASSERT_THAT(twiml.ChildNames(), ElementsAre("Play"));
  const std::string url = twiml.children[0].text;
  EXPECT_THAT(url, StartsWith("https://livecall.example.com/tts/"));
  EXPECT_TRUE(absl::EndsWith(url, ".wav")) << url;
  EXPECT_EQ(call.audio_url(), url);

  // No Authorization header: Twilio has no agent token.
  HttpResponse audio = Fetch(url);
  ASSERT_EQ(audio.status, 200) << audio;
  EXPECT_EQ(audio.headers["content-type"], "audio/wav");
  EXPECT_THAT(audio.headers["cache-control"], HasSubstr("public, max-age="));
  EXPECT_FALSE(audio.headers["etag"].empty());
  absl::StatusOr<WavInfo> wav = ParseWav(audio.body);
  ASSERT_THAT(wav.status(), IsOk());
  EXPECT_EQ(wav->format_tag, 7);
  EXPECT_EQ(wav->channels, 1);
  EXPECT_EQ(wav->sample_rate, 8000);
  EXPECT_EQ(wav->bits_per_sample, 8);
  EXPECT_GT(wav->duration(), absl::Seconds(2));
  EXPECT_LT(wav->duration(), absl::Seconds(15));

  // The client already holding it gets 304.
  HttpResponse again = Fetch(url, {{"If-None-Match", audio.headers["etag"]}});
  EXPECT_EQ(again.status, 304) << again;
}

TEST_F(SpeechAudioTest, ARepeatedTextIsServedFromTheCache) {
  const std::string text = "Xush kelibsiz! Operator tez orada javob beradi.";
  const std::string synthesised =
      R"(livecall_tts_syntheses_total{language="uz",provider="espeak-ng"})";
  const std::string hits = R"(livecall_tts_cache_lookups_total{result="hit"})";
  const XmlNode first = ConfigureTts(text, "uz");
  const double syntheses = CallControlMetric(synthesised);
  const double cached = CallControlMetric(hits);
  const XmlNode second = ConfigureTts(text, "uz");
  EXPECT_EQ(CallControlMetric(synthesised), syntheses);
  EXPECT_EQ(CallControlMetric(hits), cached + 1);
  ASSERT_THAT(second.ChildNames(), ElementsAre("Play"));
  ASSERT_THAT(first.ChildNames(), ElementsAre("Play"));
  // The same audio (key) behind both URLs.
  EXPECT_EQ(Fetch(first.children[0].text).body, Fetch(second.children[0].text).body);
}

TEST_F(SpeechAudioTest, ForgedAndExpiredIdsAreRefused) {
  const XmlNode twiml = ConfigureTts("Rahmat, xayr!", "uz");
  ASSERT_THAT(twiml.ChildNames(), ElementsAre("Play"));
  absl::string_view id = twiml.children[0].text;
  ASSERT_TRUE(absl::ConsumePrefix(&id, "https://livecall.example.com/tts/"));
  ASSERT_TRUE(absl::ConsumeSuffix(&id, ".wav"));
  const std::vector<std::string> parts = absl::StrSplit(id, '-');
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(SignedId(parts[0], std::stoll(parts[1])), id);  // The scheme is the documented one.

  std::string forged(id);
  forged.back() = forged.back() == '0' ? '1' : '0';
  ExpectErrorResponse(Get("/tts/" + forged + ".wav"), 403, "PERMISSION_DENIED");
  ExpectErrorResponse(
      Get("/tts/" + SignedId(parts[0], absl::ToUnixSeconds(absl::Now()) - 5) + ".wav"), 404,
      "NOT_FOUND");
  ExpectErrorResponse(Get("/tts/" + std::string(id)), 404, "NOT_FOUND");  // Without ".wav".
  ExpectErrorResponse(Get("/tts/0123456789abcdef0123456789abcdef-99999999999-x.wav"), 403,
                      "PERMISSION_DENIED");
}

// The first `count` speech.error live events on `call_sid`'s stream, oldest first, as the agent's
// page reads them (SSE, as the suite's supervisor); fewer if they do not come.
std::vector<livecall::v1::LiveEvent> SpeechErrors(const std::string& base_url,
                                                  const std::string& call_sid, size_t count) {
  auto speech_errors = [](const std::vector<SseEvent>& events) {
    std::vector<livecall::v1::LiveEvent> parsed;
    for (const SseEvent& event : events) {
      if (event.type != "speech.error") continue;
      EXPECT_THAT(ParseJsonMessage(event.data, &parsed.emplace_back()), IsOk()) << event.data;
    }
    return parsed;
  };
  SseResult read = ReadSseEvents(
      absl::StrCat(base_url, "/api/calls/", call_sid, "/events"),
      {"Authorization: Bearer " + TestToken(SuiteTest::kSupervisor, "supervisor")},
      [&](const std::vector<SseEvent>& events) { return speech_errors(events).size() >= count; });
  std::vector<livecall::v1::LiveEvent> found = speech_errors(read.events);
  EXPECT_EQ(found.size(), count) << "status " << read.status << ": " << read.raw;
  if (found.size() > count) found.resize(count);
  return found;
}

// Real-time transcription listens with the language's engine and model; when Twilio reports
// transcription-error, the agent's page gets it live on the call's event stream.
TEST_F(SpeechAudioTest, ATranscriptionErrorIsALiveEventOfTheCall) {
  const std::string agent_leg = "CA0000000000000000000000000000e001";
  HttpResponse answer =
      Webhook("/twilio/voice", {{"AccountSid", "AC00000000000000000000000000000000"},
                                {"CallSid", agent_leg},
                                {"CallStatus", "ringing"},
                                {"Direction", "inbound"},
                                {"From", "client:agent_7"},
                                {"To", "+998901112233"}});
  ASSERT_EQ(answer.status, 200) << answer;
  absl::StatusOr<XmlNode> twiml = ParseXml(answer.body);
  ASSERT_THAT(twiml.status(), IsOk()) << answer.body;
  ASSERT_THAT(twiml->ChildNames(), ElementsAre("Start", "Dial"));
  const XmlNode* transcription = twiml->children[0].Child("Transcription");
  ASSERT_NE(transcription, nullptr);
  EXPECT_EQ(transcription->Attr("languageCode"), "uz-UZ");  // Dilshod speaks Uzbek.
  EXPECT_EQ(transcription->Attr("transcriptionEngine"), "google");
  EXPECT_EQ(transcription->Attr("speechModel"), "short");  // LIVECALL_TRANSCRIPTION_MODEL_UZ.

  HttpResponse call = Get("/api/calls/" + agent_leg);
  ASSERT_EQ(call.status, 200) << call;
  livecall::v1::Call customer;
  ASSERT_THAT(ParseJsonMessage(call.body, &customer), IsOk());

  auto error = [&](const std::string& sequence, const std::string& code) {
    return Webhook("/twilio/transcription",
                   {{"AccountSid", "AC00000000000000000000000000000000"},
                    {"CallSid", agent_leg},
                    {"TranscriptionSid", "GT00000000000000000000000000000e01"},
                    {"SequenceId", sequence},
                    {"TranscriptionEvent", "transcription-error"},
                    {"TranscriptionErrorCode", code},
                    {"TranscriptionError", "Provider Error"}});
  };
  ASSERT_EQ(error("2", "32651").status, 204);
  ASSERT_EQ(error("2", "32651").status, 204);  // Twilio's retry: nothing new for the agent.
  ASSERT_EQ(error("3", "32650").status, 204);
  const std::vector<livecall::v1::LiveEvent> events =
      SpeechErrors(suite().base_url(), customer.call_sid(), 2);
  ASSERT_EQ(events.size(), 2u);
  const livecall::v1::LiveEvent& event = events[0];
  EXPECT_EQ(event.call_sid(), customer.call_sid());
  EXPECT_EQ(event.speech_error().source(), "transcription");
  EXPECT_EQ(event.speech_error().leg_call_sid(), agent_leg);
  EXPECT_EQ(event.speech_error().leg(), "agent");  // The TwiML ran on the browser's leg.
  EXPECT_EQ(event.speech_error().code(), "32651");
  EXPECT_EQ(event.speech_error().message(), "Provider Error");
  EXPECT_EQ(events[1].speech_error().code(), "32650");  // Not the retry's 32651 again.
}

// The voice agent's <Gather> listens with the language's model (a number of seconds, not "auto",
// with one); a turn in which it heard nothing is a live event of the call.
TEST_F(SpeechAudioTest, AGatherThatHeardNothingIsALiveEventOfTheCall) {
  HttpResponse placed = Post("/api/voip/call", R"({"to":"+998901112233","mode":"ai"})");
  ASSERT_EQ(placed.status, 200) << placed;
  livecall::v1::Call call;
  ASSERT_THAT(ParseJsonMessage(placed.body, &call), IsOk());
  HttpResponse greeting = Webhook("/twilio/gather?step=greet",
                                  {{"CallSid", call.call_sid()}, {"CallStatus", "in-progress"}});
  ASSERT_EQ(greeting.status, 200) << greeting;
  absl::StatusOr<XmlNode> twiml = ParseXml(greeting.body);
  ASSERT_THAT(twiml.status(), IsOk()) << greeting.body;
  ASSERT_THAT(twiml->ChildNames(), ElementsAre("Gather"));
  EXPECT_EQ(twiml->children[0].Attr("speechModel"), "googlev2_long");  // LIVECALL_GATHER_MODEL_UZ
  EXPECT_EQ(twiml->children[0].Attr("speechTimeout"), "2");

  HttpResponse silence = Webhook("/twilio/gather?unclear=0&turn=1",
                                 {{"CallSid", call.call_sid()}, {"CallStatus", "in-progress"}});
  ASSERT_EQ(silence.status, 200) << silence;
  const std::vector<livecall::v1::LiveEvent> events =
      SpeechErrors(suite().base_url(), call.call_sid(), 1);
  ASSERT_EQ(events.size(), 1u);
  const livecall::v1::SpeechError& error = events[0].speech_error();
  EXPECT_EQ(error.source(), "gather");
  EXPECT_EQ(error.leg(), "customer");
  EXPECT_EQ(error.leg_call_sid(), call.call_sid());
  EXPECT_THAT(error.message(), HasSubstr("heard no speech"));
}

// Every AI voice-agent turn speaks through the same renderer: an Uzbek caller hears our audio in
// each <Gather>, the greeting and the answers alike.
TEST_F(SpeechAudioTest, UzbekVoiceAgentTurnsPlayAudioTheGatewayServes) {
  HttpResponse placed = Post("/api/voip/call", R"({"to":"+998901112233","mode":"ai"})");
  ASSERT_EQ(placed.status, 200) << placed;
  livecall::v1::Call call;
  ASSERT_THAT(ParseJsonMessage(placed.body, &call), IsOk());
  ASSERT_EQ(call.language(), "uz");

  auto turn = [&](const std::string& target, const Form& form) {
    HttpResponse answer = Webhook(target, form);
    EXPECT_EQ(answer.status, 200) << answer;
    absl::StatusOr<XmlNode> twiml = ParseXml(answer.body);
    EXPECT_THAT(twiml.status(), IsOk()) << answer.body;
    return twiml.ok() ? *twiml : XmlNode{};
  };
  const XmlNode greeting = turn("/twilio/gather?step=greet",
                                {{"CallSid", call.call_sid()}, {"CallStatus", "in-progress"}});
  const XmlNode reply =
      turn("/twilio/gather?unclear=0", {{"CallSid", call.call_sid()},
                                        {"SpeechResult", "Internetim ishlamayapti"},
                                        {"Confidence", "0.9"}});
  std::vector<std::string> urls;
  for (const XmlNode* twiml : {&greeting, &reply}) {
    ASSERT_THAT(twiml->ChildNames(), ElementsAre("Gather"));
    const XmlNode& gather = twiml->children[0];
    EXPECT_EQ(gather.Attr("language"), "uz-UZ");  // Twilio recognises Uzbek speech.
    ASSERT_THAT(gather.ChildNames(), ElementsAre("Play"));
    urls.push_back(gather.children[0].text);
    EXPECT_THAT(urls.back(), StartsWith("https://livecall.example.com/tts/"));
    HttpResponse audio = Fetch(urls.back());
    ASSERT_EQ(audio.status, 200) << audio;
    EXPECT_EQ(audio.headers["content-type"], "audio/wav");
    absl::StatusOr<WavInfo> wav = ParseWav(audio.body);
    ASSERT_THAT(wav.status(), IsOk());
    EXPECT_EQ(wav->format_tag, 7);
    EXPECT_EQ(wav->sample_rate, 8000);
    EXPECT_GT(wav->duration(), absl::Seconds(1));
  }
  EXPECT_NE(urls[0], urls[1]);
}

// An Uzbek customer calling in while no agent is available is told so in Uzbek, by our voice.
TEST_F(SpeechAudioTest, AnUzbekCallerHearsThatAllAgentsAreBusyInUzbek) {
  HttpResponse answer =
      Webhook("/twilio/voice", {{"AccountSid", "AC00000000000000000000000000000000"},
                                {"CallSid", "CA0000000000000000000000000000b051"},
                                {"CallStatus", "ringing"},
                                {"Direction", "inbound"},
                                {"From", "+998901112233"},
                                {"To", "+998712000000"}});
  ASSERT_EQ(answer.status, 200) << answer;
  absl::StatusOr<XmlNode> twiml = ParseXml(answer.body);
  ASSERT_THAT(twiml.status(), IsOk()) << answer.body;
  ASSERT_THAT(twiml->ChildNames(), ElementsAre("Play", "Hangup"));
  HttpResponse audio = Fetch(twiml->children[0].text);
  ASSERT_EQ(audio.status, 200) << audio;
  absl::StatusOr<WavInfo> wav = ParseWav(audio.body);
  ASSERT_THAT(wav.status(), IsOk());
  EXPECT_GT(wav->duration(), absl::Seconds(2));
}

TEST_F(SpeechAudioTest, RussianAndEnglishStillUseTwiliosVoices) {
  const XmlNode ru = ConfigureTts("Здравствуйте", "ru");
  ASSERT_THAT(ru.ChildNames(), ElementsAre("Say"));
  EXPECT_EQ(ru.children[0].Attr("voice"), "Polly.Maxim");
  EXPECT_EQ(ru.children[0].Attr("language"), "ru-RU");
  const XmlNode en = ConfigureTts("Hello", "en");
  ASSERT_THAT(en.ChildNames(), ElementsAre("Say"));
  EXPECT_EQ(en.children[0].Attr("voice"), "Polly.Joanna");
}

TEST_F(SpeechAudioTest, TheAudioRouteIsInTheApiDocument) {
  HttpResponse openapi = Get("/openapi.json");
  ASSERT_EQ(openapi.status, 200);
  EXPECT_THAT(openapi.body, HasSubstr("\"/tts/{file_name}\""));
  EXPECT_THAT(openapi.body, HasSubstr("SpeechAudio_GetSpeechAudio"));
}

// The sandbox with a remote OpenAI-compatible speech server (FakeSpeechServer): it speaks while
// it works; when it fails, espeak-ng does, and the call still gets its audio.
class RemoteSpeechTest : public SuiteTest {
 protected:
  static void SetUpTestSuite() {
    speech_server_ = new FakeSpeechServer("integration-tts-key");
    const absl::Status started = speech_server_->Start();
    SuiteOptions options = IntegrationSuiteOptions();
    options.extra_env = {
        {"LIVECALL_TTS_BASE_URL",
         started.ok() ? speech_server_->base_url() + "/v1" : "http://127.0.0.1:1"},
        {"LIVECALL_TTS_API_KEY", "integration-tts-key"},
        {"LIVECALL_TTS_MODEL", "tts-test"},
        {"LIVECALL_TTS_VOICE", "alloy"},
        {"LIVECALL_TTS_DEADLINE_MS", "500"},
        {"LIVECALL_TTS_URL_SECRET", kUrlSecret},
    };
    StartSuite(std::move(options));
  }
  static void TearDownTestSuite() {
    StopSuite();
    delete speech_server_;
    speech_server_ = nullptr;
  }

  // Places a sandbox call saying `text` in Uzbek and answers the WAV its audioUrl serves.
  static WavInfo SpokenAudio(const std::string& text) {
    HttpResponse response =
        Post("/api/voip/call", absl::StrCat(R"({"to":"+998901112233","text":")", text, R"("})"));
    EXPECT_EQ(response.status, 200) << response;
    livecall::v1::Call call;
    EXPECT_THAT(ParseJsonMessage(response.body, &call), IsOk());
    absl::string_view path = call.audio_url();
    EXPECT_TRUE(absl::ConsumePrefix(&path, "http://localhost:8080")) << call.audio_url();
    HttpResponse audio = Get(std::string(path));
    EXPECT_EQ(audio.status, 200) << audio;
    absl::StatusOr<WavInfo> wav = ParseWav(audio.body);
    EXPECT_THAT(wav.status(), IsOk());
    return wav.ok() ? *wav : WavInfo{};
  }

  static double Fallbacks(absl::string_view reason) {
    HttpResponse metrics = HttpRequest(
        "GET",
        absl::StrCat("http://127.0.0.1:", suite().metrics_port(Service::kCallControl), "/metrics"));
    return MetricValue(metrics.body, absl::StrCat(R"(livecall_tts_remote_fallbacks_total{reason=")",
                                                  reason, R"("})"));
  }

  static inline FakeSpeechServer* speech_server_ = nullptr;
};

TEST_F(RemoteSpeechTest, TheRemoteVoiceSpeaksAndEspeakStandsInWhenItFails) {
  speech_server_->SetMode(FakeSpeechServer::Mode::kAudio);
  const WavInfo remote = SpokenAudio("Assalomu alaykum");
  EXPECT_EQ(remote.sample_rate, 8000);
  EXPECT_EQ(remote.format_tag, 7);
  ASSERT_EQ(speech_server_->requests().size(), 1u);
  EXPECT_THAT(speech_server_->requests()[0].body, HasSubstr(R"("model":"tts-test")"));
  EXPECT_THAT(speech_server_->violations(), IsEmpty());
  // The fake's tone: 60 ms per byte of "Assalomu alaykum".
  EXPECT_NEAR(absl::ToDoubleSeconds(remote.duration()), 0.06 * 16, 0.05);

  speech_server_->SetMode(FakeSpeechServer::Mode::kServerError);
  const double errors = Fallbacks("error");
  const WavInfo fallback = SpokenAudio("Xayr, rahmat");
  EXPECT_EQ(fallback.sample_rate, 8000);
  EXPECT_GT(fallback.duration(), absl::Milliseconds(500));
  EXPECT_EQ(Fallbacks("error"), errors + 1);
  EXPECT_EQ(speech_server_->requests().size(), 2u);
}

}  // namespace
}  // namespace livecall::testing
