#include "services/call-control/tts/speech_synthesizer.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/metrics.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/call-control/tts/espeak_tts.h"
#include "services/call-control/tts/remote_tts.h"
#include "tests/fakes/fake_speech_server.h"
#include "tests/support/metrics_text.h"
#include "tests/support/redis_fixture.h"
#include "tests/support/status_matchers.h"
#include "tests/support/wav.h"

namespace livecall::call_control::tts {
namespace {

using ::livecall::fakes::FakeSpeechServer;
using ::livecall::testing::IsOk;
using ::livecall::testing::MetricValue;
using ::livecall::testing::ParseWav;
using ::livecall::testing::StatusIs;
using ::livecall::testing::WavInfo;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using ::testing::StartsWith;

constexpr char kPublicUrl[] = "https://live.example.com";
constexpr char kSecret[] = "speech-synthesizer-test-secret-32-bytes!";

double Metric(absl::string_view series) { return MetricValue(SerializeMetrics(), series); }

class SpeechSynthesizerTest : public livecall::testing::RedisFixture {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(RedisFixture::SetUp());
    cache_ = std::make_unique<AudioCache>(*redis_, AudioCacheOptions{.max_entries = 3});
    absl::StatusOr<EspeakTts*> espeak = EspeakTts::Get();
    ASSERT_THAT(espeak.status(), IsOk());
    espeak_ = *espeak;
    ASSERT_THAT(speech_server_.Start(), IsOk());
  }

  // A synthesiser with the remote provider (deadline 300 ms) when `remote` is true.
  std::unique_ptr<SpeechSynthesizer> Synthesizer(bool remote) {
    remote_ =
        std::make_unique<RemoteTts>(http_, RemoteTtsOptions{.base_url = speech_server_.base_url(),
                                                            .api_key = "tts-test-key",
                                                            .model = "tts-1",
                                                            .voice = "alloy",
                                                            .deadline = absl::Milliseconds(300)});
    return std::make_unique<SpeechSynthesizer>(remote ? remote_.get() : nullptr, *espeak_, *cache_,
                                               signer_,
                                               SpeechSynthesizerOptions{.public_url = kPublicUrl});
  }

  // The WAV behind an audio URL, fetched as the gateway would.
  absl::StatusOr<AudioFile> FetchUrl(SpeechSynthesizer& synthesizer, absl::string_view url) {
    absl::string_view path = url;
    EXPECT_TRUE(absl::ConsumePrefix(&path, absl::StrCat(kPublicUrl, "/tts/"))) << url;
    return synthesizer.Fetch(path);
  }

  std::unique_ptr<AudioCache> cache_;
  EspeakTts* espeak_ = nullptr;
  const AudioUrlSigner signer_{kSecret};
  FakeSpeechServer speech_server_;
  CurlHttpClient http_{"tts"};
  std::unique_ptr<RemoteTts> remote_;
};

TEST_F(SpeechSynthesizerTest, ARepeatedGreetingIsSynthesisedOnce) {
  std::unique_ptr<SpeechSynthesizer> synthesizer = Synthesizer(false);
  const double syntheses =
      Metric(R"(livecall_tts_syntheses_total{language="uz",provider="espeak-ng"})");
  const double hits = Metric(R"(livecall_tts_cache_lookups_total{result="hit"})");

  absl::StatusOr<std::string> first = synthesizer->AudioUrl("Assalomu alaykum!", "uz");
  ASSERT_THAT(first.status(), IsOk());
  EXPECT_THAT(*first, StartsWith("https://live.example.com/tts/"));
  absl::StatusOr<std::string> second = synthesizer->AudioUrl("Assalomu alaykum!", "uz");
  ASSERT_THAT(second.status(), IsOk());

  EXPECT_EQ(Metric(R"(livecall_tts_syntheses_total{language="uz",provider="espeak-ng"})"),
            syntheses + 1);
  EXPECT_EQ(Metric(R"(livecall_tts_cache_lookups_total{result="hit"})"), hits + 1);
  absl::StatusOr<AudioFile> a = FetchUrl(*synthesizer, *first);
  absl::StatusOr<AudioFile> b = FetchUrl(*synthesizer, *second);
  ASSERT_THAT(a.status(), IsOk());
  ASSERT_THAT(b.status(), IsOk());
  EXPECT_EQ(a->wav, b->wav);
  absl::StatusOr<WavInfo> info = ParseWav(a->wav);
  ASSERT_THAT(info.status(), IsOk());
  EXPECT_EQ(info->format_tag, 7);
  EXPECT_EQ(info->sample_rate, 8000);
  EXPECT_GT(a->max_age, absl::Minutes(59));
}

TEST_F(SpeechSynthesizerTest, NormalisedTextSharesTheCache) {
  // "5" and "besh" are the same words once normalised.
  std::unique_ptr<SpeechSynthesizer> synthesizer = Synthesizer(false);
  const double syntheses =
      Metric(R"(livecall_tts_syntheses_total{language="uz",provider="espeak-ng"})");
  ASSERT_THAT(synthesizer->AudioUrl("5 daqiqa", "uz").status(), IsOk());
  ASSERT_THAT(synthesizer->AudioUrl("besh daqiqa", "uz").status(), IsOk());
  EXPECT_EQ(Metric(R"(livecall_tts_syntheses_total{language="uz",provider="espeak-ng"})"),
            syntheses + 1);
}

TEST_F(SpeechSynthesizerTest, TheCacheIsBoundedByLeastRecentUse) {
  std::unique_ptr<SpeechSynthesizer> synthesizer = Synthesizer(false);
  std::vector<std::string> urls;
  for (const char* text : {"bir", "ikki", "uch", "to'rt"}) {
    absl::StatusOr<std::string> url = synthesizer->AudioUrl(text, "uz");
    ASSERT_THAT(url.status(), IsOk());
    urls.push_back(*url);
  }
  // max_entries = 3: the first is gone, the last three are served.
  EXPECT_THAT(FetchUrl(*synthesizer, urls[0]).status(), StatusIs(absl::StatusCode::kNotFound));
  for (size_t i = 1; i < urls.size(); ++i) {
    EXPECT_THAT(FetchUrl(*synthesizer, urls[i]).status(), IsOk());
  }
  absl::StatusOr<RedisReply> entries = redis_->Command({"ZCARD", "livecall:tts:lru"});
  ASSERT_THAT(entries.status(), IsOk());
  EXPECT_EQ((*entries)->integer, 3);
}

// Rendering cached speech again is a use of its audio (without reading its bytes): the audio's
// TTL starts again and it becomes the most recently used, so the bound evicts another entry.
TEST_F(SpeechSynthesizerTest, ACacheHitRenewsTheAudiosTtlAndRank) {
  std::unique_ptr<SpeechSynthesizer> synthesizer = Synthesizer(false);
  std::vector<std::string> urls;
  for (const char* text : {"bir", "ikki", "uch"}) {
    absl::StatusOr<std::string> url = synthesizer->AudioUrl(text, "uz");
    ASSERT_THAT(url.status(), IsOk());
    urls.push_back(*url);
  }
  absl::StatusOr<RedisReply> oldest = redis_->Command({"ZRANGE", "livecall:tts:lru", "0", "0"});
  ASSERT_THAT(oldest.status(), IsOk());
  ASSERT_EQ((*oldest)->elements, 1u);
  const std::string bir_audio =
      absl::StrCat("livecall:tts:audio:", ReplyString(*(*oldest)->element[0]));
  ASSERT_THAT(redis_->Command({"PEXPIRE", bir_audio, "60000"}).status(), IsOk());

  const double hits = Metric(R"(livecall_tts_cache_lookups_total{result="hit"})");
  ASSERT_THAT(synthesizer->AudioUrl("bir", "uz").status(), IsOk());
  EXPECT_EQ(Metric(R"(livecall_tts_cache_lookups_total{result="hit"})"), hits + 1);
  absl::StatusOr<RedisReply> ttl = redis_->Command({"PTTL", bir_audio});
  ASSERT_THAT(ttl.status(), IsOk());
  EXPECT_GT((*ttl)->integer, 3600 * 1000);
  ASSERT_THAT(synthesizer->AudioUrl("to'rt", "uz").status(), IsOk());
  // "ikki" was the least recently used, not "bir".
  EXPECT_THAT(FetchUrl(*synthesizer, urls[0]).status(), IsOk());
  EXPECT_THAT(FetchUrl(*synthesizer, urls[1]).status(), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(SpeechSynthesizerTest, ForgedAndExpiredUrlsAreRefused) {
  std::unique_ptr<SpeechSynthesizer> synthesizer = Synthesizer(false);
  absl::StatusOr<std::string> url = synthesizer->AudioUrl("Xayr", "uz");
  ASSERT_THAT(url.status(), IsOk());
  std::string forged = *url;
  forged[forged.size() - 5] =
      forged[forged.size() - 5] == 'a' ? 'b' : 'a';  // The MAC's last digit.
  EXPECT_THAT(FetchUrl(*synthesizer, forged).status(),
              StatusIs(absl::StatusCode::kPermissionDenied));
  // The same key, signed with an expiry in the past.
  absl::string_view path = *url;
  absl::ConsumePrefix(&path, "https://live.example.com/tts/");
  const std::string key(path.substr(0, 32));
  EXPECT_THAT(
      synthesizer->Fetch(signer_.Sign(key, absl::Now() - absl::Seconds(1)) + ".wav").status(),
      StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(synthesizer->Fetch(std::string(path.substr(0, path.size() - 4))).status(),
              StatusIs(absl::StatusCode::kNotFound));  // Without ".wav".
}

TEST_F(SpeechSynthesizerTest, TheRemoteProviderSpeaksWhenItWorks) {
  std::unique_ptr<SpeechSynthesizer> synthesizer = Synthesizer(true);
  const double remote = Metric(R"(livecall_tts_syntheses_total{language="ru",provider="remote"})");
  absl::StatusOr<std::string> url = synthesizer->AudioUrl("Здравствуйте", "ru");
  ASSERT_THAT(url.status(), IsOk());
  EXPECT_EQ(Metric(R"(livecall_tts_syntheses_total{language="ru",provider="remote"})"), remote + 1);
  EXPECT_THAT(speech_server_.requests(), SizeIs(1));
  EXPECT_THAT(speech_server_.violations(), IsEmpty());
  absl::StatusOr<AudioFile> audio = FetchUrl(*synthesizer, *url);
  ASSERT_THAT(audio.status(), IsOk());
  absl::StatusOr<WavInfo> info = ParseWav(audio->wav);
  ASSERT_THAT(info.status(), IsOk());
  EXPECT_EQ(info->sample_rate, 8000);
  EXPECT_EQ(info->format_tag, 7);
  // The fake's tone lasts 60 ms per byte of input (at least half a second).
  EXPECT_NEAR(absl::ToDoubleSeconds(info->duration()), 0.06 * std::string("Здравствуйте").size(),
              0.05);
}

struct FallbackCase {
  const char* name;
  FakeSpeechServer::Mode mode;
  const char* reason;
};

class RemoteFallbackTest : public SpeechSynthesizerTest,
                           public ::testing::WithParamInterface<FallbackCase> {};

TEST_P(RemoteFallbackTest, FailuresAreSpokenByEspeakWithinTheDeadline) {
  std::unique_ptr<SpeechSynthesizer> synthesizer = Synthesizer(true);
  const absl::Duration slow_server_delay = absl::Seconds(2);
  speech_server_.SetMode(GetParam().mode, slow_server_delay);
  const std::string fallbacks =
      absl::StrCat(R"(livecall_tts_remote_fallbacks_total{reason=")", GetParam().reason, R"("})");
  const double before = Metric(fallbacks);
  const double espeak =
      Metric(R"(livecall_tts_syntheses_total{language="uz",provider="espeak-ng"})");
  const absl::Time start = absl::Now();
  absl::StatusOr<std::string> url =
      synthesizer->AudioUrl(absl::StrCat("Salom ", GetParam().name), "uz");
  const absl::Duration took = absl::Now() - start;
  ASSERT_THAT(url.status(), IsOk());
  // Not waiting for the slow server: the 300 ms deadline cut it short. Whatever the machine's
  // load adds to espeak's synthesis, waiting for the server would take at least its delay.
  EXPECT_LT(took, slow_server_delay);
  EXPECT_EQ(Metric(fallbacks), before + 1);
  EXPECT_EQ(Metric(R"(livecall_tts_syntheses_total{language="uz",provider="espeak-ng"})"),
            espeak + 1);
  absl::StatusOr<AudioFile> audio = FetchUrl(*synthesizer, *url);
  ASSERT_THAT(audio.status(), IsOk());
  EXPECT_THAT(ParseWav(audio->wav).status(), IsOk());
  EXPECT_THAT(speech_server_.violations(), IsEmpty());
}

INSTANTIATE_TEST_SUITE_P(
    Failures, RemoteFallbackTest,
    ::testing::Values(FallbackCase{"slow", FakeSpeechServer::Mode::kSlow, "timeout"},
                      FallbackCase{"error500", FakeSpeechServer::Mode::kServerError, "error"},
                      FallbackCase{"garbage", FakeSpeechServer::Mode::kGarbage, "bad_audio"},
                      FallbackCase{"dropped", FakeSpeechServer::Mode::kDropConnection, "error"}),
    [](const ::testing::TestParamInfo<FallbackCase>& info) { return info.param.name; });

TEST_F(SpeechSynthesizerTest, CacheKeysSeparateEveryPart) {
  const std::string key = SpeechSynthesizer::CacheKey("espeak-ng", "uz", "uz", "Salom");
  EXPECT_EQ(key.size(), 32u);
  EXPECT_NE(key, SpeechSynthesizer::CacheKey("remote:tts-1", "uz", "uz", "Salom"));
  EXPECT_NE(key, SpeechSynthesizer::CacheKey("espeak-ng", "ru", "uz", "Salom"));
  EXPECT_NE(key, SpeechSynthesizer::CacheKey("espeak-ng", "uz", "ru", "Salom"));
  EXPECT_NE(key, SpeechSynthesizer::CacheKey("espeak-ng", "uz", "uz", "Salom!"));
  EXPECT_NE(SpeechSynthesizer::CacheKey("a", "bc", "", ""),
            SpeechSynthesizer::CacheKey("ab", "c", "", ""));
}

}  // namespace
}  // namespace livecall::call_control::tts
