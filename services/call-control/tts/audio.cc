#include "services/call-control/tts/audio.h"

#include <sndfile.h>
#include <soxr.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace livecall::call_control::tts {
namespace {

// A file in memory for libsndfile's virtual I/O: reads from `data`, writes grow it.
struct MemoryFile {
  std::string data;
  sf_count_t position = 0;
};

sf_count_t Length(void* user) { return static_cast<MemoryFile*>(user)->data.size(); }

sf_count_t Seek(sf_count_t offset, int whence, void* user) {
  auto* file = static_cast<MemoryFile*>(user);
  sf_count_t base = 0;
  if (whence == SEEK_CUR) base = file->position;
  if (whence == SEEK_END) base = static_cast<sf_count_t>(file->data.size());
  const sf_count_t target = base + offset;
  if (target < 0) return -1;
  file->position = target;
  return target;
}

sf_count_t Read(void* out, sf_count_t count, void* user) {
  auto* file = static_cast<MemoryFile*>(user);
  const sf_count_t size = static_cast<sf_count_t>(file->data.size());
  if (file->position >= size || count <= 0) return 0;
  const sf_count_t n = std::min(count, size - file->position);
  std::memcpy(out, file->data.data() + file->position, static_cast<size_t>(n));
  file->position += n;
  return n;
}

sf_count_t Write(const void* in, sf_count_t count, void* user) {
  auto* file = static_cast<MemoryFile*>(user);
  const size_t end = static_cast<size_t>(file->position + count);
  if (file->data.size() < end) file->data.resize(end);
  std::memcpy(file->data.data() + file->position, in, static_cast<size_t>(count));
  file->position += count;
  return count;
}

sf_count_t Tell(void* user) { return static_cast<MemoryFile*>(user)->position; }

SF_VIRTUAL_IO kMemoryIo = {Length, Seek, Read, Write, Tell};

struct SndfileCloser {
  void operator()(SNDFILE* file) const { sf_close(file); }
};
using Sndfile = std::unique_ptr<SNDFILE, SndfileCloser>;

// Longer than anything a call says (and bounds what a remote provider can make us decode).
constexpr sf_count_t kMaxSeconds = 600;

}  // namespace

absl::StatusOr<PcmAudio> DecodeAudio(absl::string_view bytes) {
  MemoryFile file{.data = std::string(bytes)};
  SF_INFO info{};
  Sndfile sound(sf_open_virtual(&kMemoryIo, SFM_READ, &info, &file));
  if (sound == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("not audio libsndfile can read: ", sf_strerror(nullptr)));
  }
  if (info.channels < 1 || info.samplerate < 1000 || info.samplerate > 192000) {
    return absl::InvalidArgumentError(absl::StrCat("implausible audio format: ", info.channels,
                                                   " channels at ", info.samplerate, " Hz"));
  }
  if (info.frames <= 0 || info.frames > kMaxSeconds * info.samplerate) {
    return absl::InvalidArgumentError(absl::StrCat("audio of ", info.frames, " frames"));
  }
  std::vector<int16_t> interleaved(static_cast<size_t>(info.frames) * info.channels);
  const sf_count_t frames = sf_readf_short(sound.get(), interleaved.data(), info.frames);
  if (frames <= 0) return absl::InvalidArgumentError("the audio has no samples");
  PcmAudio audio{.sample_rate = info.samplerate};
  audio.samples.resize(static_cast<size_t>(frames));
  for (sf_count_t i = 0; i < frames; ++i) {
    int sum = 0;
    for (int c = 0; c < info.channels; ++c) sum += interleaved[i * info.channels + c];
    audio.samples[i] = static_cast<int16_t>(sum / info.channels);
  }
  return audio;
}

absl::StatusOr<PcmAudio> Resample(const PcmAudio& audio, int sample_rate) {
  if (audio.sample_rate == sample_rate) return audio;
  if (audio.sample_rate <= 0 || sample_rate <= 0) {
    return absl::InvalidArgumentError("resampling needs positive sample rates");
  }
  PcmAudio out{.sample_rate = sample_rate};
  out.samples.resize(audio.samples.size() * static_cast<size_t>(sample_rate) / audio.sample_rate +
                     16);
  const soxr_io_spec_t io = soxr_io_spec(SOXR_INT16_I, SOXR_INT16_I);
  // High quality: a steep low-pass below the new Nyquist frequency, so nothing aliases into the
  // narrow telephone band.
  const soxr_quality_spec_t quality = soxr_quality_spec(SOXR_HQ, 0);
  size_t done = 0;
  soxr_error_t error =
      soxr_oneshot(audio.sample_rate, sample_rate, 1, audio.samples.data(), audio.samples.size(),
                   nullptr, out.samples.data(), out.samples.size(), &done, &io, &quality, nullptr);
  if (error != nullptr) return absl::InternalError(absl::StrCat("soxr: ", error));
  out.samples.resize(done);
  return out;
}

absl::StatusOr<std::string> EncodePhoneWav(const PcmAudio& audio) {
  absl::StatusOr<PcmAudio> phone = Resample(audio, kPhoneSampleRate);
  if (!phone.ok()) return phone.status();
  if (phone->samples.empty()) return absl::InvalidArgumentError("no samples to encode");
  MemoryFile file;
  SF_INFO info{};
  info.samplerate = kPhoneSampleRate;
  info.channels = 1;
  info.format = SF_FORMAT_WAV | SF_FORMAT_ULAW;
  {
    Sndfile sound(sf_open_virtual(&kMemoryIo, SFM_WRITE, &info, &file));
    if (sound == nullptr) {
      return absl::InternalError(absl::StrCat("libsndfile: ", sf_strerror(nullptr)));
    }
    const sf_count_t written = sf_writef_short(sound.get(), phone->samples.data(),
                                               static_cast<sf_count_t>(phone->samples.size()));
    if (written != static_cast<sf_count_t>(phone->samples.size())) {
      return absl::InternalError(absl::StrCat("libsndfile: ", sf_strerror(sound.get())));
    }
  }  // sf_close writes the final header sizes.
  return std::move(file.data);
}

}  // namespace livecall::call_control::tts
