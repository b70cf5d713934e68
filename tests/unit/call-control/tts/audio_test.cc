#include "services/call-control/tts/audio.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"
#include "tests/support/wav.h"

namespace livecall::call_control::tts {
namespace {

using ::livecall::testing::IsOk;
using ::livecall::testing::ParseWav;
using ::livecall::testing::PcmWav;
using ::livecall::testing::StatusIs;
using ::livecall::testing::Tone;
using ::livecall::testing::WavInfo;

TEST(AudioTest, PhoneWavIs8kHzMonoMulawWithConsistentSizes) {
  const PcmAudio tone{.sample_rate = 22050, .samples = Tone(1.5, 22050)};
  absl::StatusOr<std::string> wav = EncodePhoneWav(tone);
  ASSERT_THAT(wav.status(), IsOk());
  absl::StatusOr<WavInfo> info = ParseWav(*wav);
  ASSERT_THAT(info.status(), IsOk());
  EXPECT_EQ(info->format_tag, 7);
  EXPECT_EQ(info->channels, 1);
  EXPECT_EQ(info->sample_rate, 8000);
  EXPECT_EQ(info->bits_per_sample, 8);
  EXPECT_EQ(info->byte_rate, 8000);
  EXPECT_EQ(info->block_align, 1);
  // One byte per sample: 1.5 s at 8 kHz, give or take the resampler's edges.
  EXPECT_NEAR(static_cast<double>(info->data_bytes), 12000, 40);
  if (info->fact_samples >= 0) {
    EXPECT_EQ(info->fact_samples, info->data_bytes);
  }
}

TEST(AudioTest, MulawCarriesTheSignal) {
  // A loud tone must not come out as μ-law silence (0xFF / 0x7F) after resampling.
  absl::StatusOr<std::string> wav =
      EncodePhoneWav({.sample_rate = 24000, .samples = Tone(0.5, 24000, 300)});
  ASSERT_THAT(wav.status(), IsOk());
  absl::StatusOr<WavInfo> info = ParseWav(*wav);
  ASSERT_THAT(info.status(), IsOk());
  int silent = 0;
  for (char byte : info->data) {
    if (byte == '\xff' || byte == '\x7f') ++silent;
  }
  EXPECT_LT(silent, static_cast<int>(info->data.size()) / 10);
}

TEST(AudioTest, DecodesPcmWavAndMixesNothingAway) {
  const std::vector<int16_t> samples = Tone(0.25, 16000);
  absl::StatusOr<PcmAudio> audio = DecodeAudio(PcmWav(samples, 16000));
  ASSERT_THAT(audio.status(), IsOk());
  EXPECT_EQ(audio->sample_rate, 16000);
  EXPECT_EQ(audio->samples, samples);
}

TEST(AudioTest, BytesThatAreNoAudioAreRefused) {
  EXPECT_THAT(DecodeAudio("").status(), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(DecodeAudio("{\"error\":\"overloaded\"}").status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(DecodeAudio(std::string("RIFF\x10\x00\x00\x00WAVEjunkjunk", 20)).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(AudioTest, ResamplingKeepsTheDuration) {
  absl::StatusOr<PcmAudio> phone =
      Resample({.sample_rate = 24000, .samples = Tone(2, 24000)}, 8000);
  ASSERT_THAT(phone.status(), IsOk());
  EXPECT_EQ(phone->sample_rate, 8000);
  EXPECT_NEAR(static_cast<double>(phone->samples.size()), 16000, 40);
}

}  // namespace
}  // namespace livecall::call_control::tts
