#include "services/call-control/tts/espeak_tts.h"

#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/call-control/tts/text_normalizer.h"
#include "tests/support/status_matchers.h"
#include "tests/support/wav.h"

namespace livecall::call_control::tts {
namespace {

using ::livecall::testing::IsOk;
using ::livecall::testing::ParseWav;
using ::livecall::testing::WavInfo;

// The phone WAV of `text` spoken by espeak-ng, parsed.
WavInfo Speak(absl::string_view text, absl::string_view language) {
  absl::StatusOr<EspeakTts*> espeak = EspeakTts::Get();
  EXPECT_THAT(espeak.status(), IsOk());
  if (!espeak.ok()) return {};
  absl::StatusOr<Synthesis> synthesis =
      (*espeak)->Synthesize(NormalizeForSpeech(text, language), language);
  EXPECT_THAT(synthesis.status(), IsOk());
  if (!synthesis.ok()) return {};
  absl::StatusOr<std::string> wav = EncodePhoneWav(synthesis->audio);
  EXPECT_THAT(wav.status(), IsOk());
  absl::StatusOr<WavInfo> info = ParseWav(wav.ok() ? *wav : "");
  EXPECT_THAT(info.status(), IsOk());
  return info.ok() ? *info : WavInfo{};
}

void ExpectPhoneSpeech(const WavInfo& info, absl::Duration at_least, absl::Duration at_most) {
  EXPECT_EQ(info.format_tag, 7);
  EXPECT_EQ(info.channels, 1);
  EXPECT_EQ(info.sample_rate, 8000);
  EXPECT_EQ(info.bits_per_sample, 8);
  EXPECT_GE(info.duration(), at_least);
  EXPECT_LE(info.duration(), at_most);
}

TEST(EspeakTtsTest, SpeaksUzbekRussianAndEnglishAsPhoneAudio) {
  // About 150 words a minute: a dozen words take a few seconds.
  ExpectPhoneSpeech(Speak("Assalomu alaykum, Dilshod aka! Sizning buyurtmangiz tayyor.", "uz"),
                    absl::Seconds(2), absl::Seconds(8));
  ExpectPhoneSpeech(Speak("Здравствуйте, Анна! Ваш заказ готов.", "ru"), absl::Seconds(1.5),
                    absl::Seconds(8));
  ExpectPhoneSpeech(Speak("Hello John, your order is ready.", "en"), absl::Seconds(1.2),
                    absl::Seconds(6));
}

TEST(EspeakTtsTest, LongerTextTakesLonger) {
  const WavInfo short_text = Speak("Salom", "uz");
  const WavInfo long_text = Speak("Salom. Hisobingizda 150 000 so'm bor. Rahmat, xayr!", "uz");
  EXPECT_GT(long_text.duration(), short_text.duration() * 3);
}

TEST(EspeakTtsTest, VoicesAreEspeakNames) {
  absl::StatusOr<EspeakTts*> espeak = EspeakTts::Get();
  ASSERT_THAT(espeak.status(), IsOk());
  EXPECT_EQ((*espeak)->VoiceFor("uz"), "uz");
  EXPECT_EQ((*espeak)->VoiceFor("ru"), "ru");
  EXPECT_EQ((*espeak)->VoiceFor("en"), "en-us");
}

TEST(EspeakTtsTest, ConcurrentSynthesesAreSerialised) {
  // espeak-ng is not re-entrant: without the mutex these would mix into each other's audio.
  // (Its output is not bit-identical from call to call: its voice's flutter carries phase from
  // one utterance to the next. The length of each utterance is stable to a few milliseconds;
  // audio mixed from two syntheses would not be.)
  // The first utterance of a process starts with a little more silence than later ones.
  Speak("Salom", "uz");
  const absl::Duration uz = Speak("Xush kelibsiz", "uz").duration();
  const absl::Duration ru = Speak("Добро пожаловать", "ru").duration();
  std::vector<absl::Duration> durations(6);
  std::vector<std::thread> threads;
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&, i] {
      durations[i] = i % 2 == 0 ? Speak("Xush kelibsiz", "uz").duration()
                                : Speak("Добро пожаловать", "ru").duration();
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int i = 0; i < 6; ++i) {
    const absl::Duration expected = i % 2 == 0 ? uz : ru;
    EXPECT_GT(expected, absl::Milliseconds(500));
    EXPECT_LE(absl::AbsDuration(durations[i] - expected), absl::Milliseconds(100)) << i;
  }
}

}  // namespace
}  // namespace livecall::call_control::tts
