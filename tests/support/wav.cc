#include "tests/support/wav.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace livecall::testing {
namespace {

uint32_t Le32(absl::string_view bytes, size_t at) {
  return static_cast<uint32_t>(static_cast<unsigned char>(bytes[at])) |
         static_cast<uint32_t>(static_cast<unsigned char>(bytes[at + 1])) << 8 |
         static_cast<uint32_t>(static_cast<unsigned char>(bytes[at + 2])) << 16 |
         static_cast<uint32_t>(static_cast<unsigned char>(bytes[at + 3])) << 24;
}

uint16_t Le16(absl::string_view bytes, size_t at) {
  return static_cast<uint16_t>(static_cast<unsigned char>(bytes[at]) |
                               static_cast<unsigned char>(bytes[at + 1]) << 8);
}

void Put32(std::string& out, uint32_t value) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

void Put16(std::string& out, uint16_t value) {
  out.push_back(static_cast<char>(value & 0xff));
  out.push_back(static_cast<char>(value >> 8));
}

}  // namespace

absl::StatusOr<WavInfo> ParseWav(absl::string_view bytes) {
  if (bytes.size() < 12 || bytes.substr(0, 4) != "RIFF" || bytes.substr(8, 4) != "WAVE") {
    return absl::InvalidArgumentError("not RIFF/WAVE");
  }
  if (Le32(bytes, 4) + 8 != bytes.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("RIFF size ", Le32(bytes, 4), " + 8 != file size ", bytes.size()));
  }
  WavInfo info;
  bool fmt = false;
  bool data = false;
  size_t at = 12;
  while (at < bytes.size()) {
    if (at + 8 > bytes.size()) return absl::InvalidArgumentError("truncated chunk header");
    const absl::string_view id = bytes.substr(at, 4);
    const uint32_t size = Le32(bytes, at + 4);
    const size_t body = at + 8;
    if (body + size > bytes.size()) {
      return absl::InvalidArgumentError(absl::StrCat("chunk ", id, " overruns the file"));
    }
    if (id == "fmt ") {
      if (size < 16) return absl::InvalidArgumentError("fmt chunk too small");
      info.format_tag = Le16(bytes, body);
      info.channels = Le16(bytes, body + 2);
      info.sample_rate = static_cast<int>(Le32(bytes, body + 4));
      info.byte_rate = static_cast<int>(Le32(bytes, body + 8));
      info.block_align = Le16(bytes, body + 12);
      info.bits_per_sample = Le16(bytes, body + 14);
      fmt = true;
    } else if (id == "fact" && size >= 4) {
      info.fact_samples = Le32(bytes, body);
    } else if (id == "data") {
      info.data_bytes = size;
      info.data = std::string(bytes.substr(body, size));
      data = true;
    }
    at = body + size + (size & 1);  // Chunks are padded to even sizes.
  }
  if (!fmt || !data) return absl::InvalidArgumentError("no fmt or no data chunk");
  return info;
}

std::string PcmWav(const std::vector<int16_t>& samples, int sample_rate) {
  std::string out = "RIFF";
  const uint32_t data_bytes = static_cast<uint32_t>(samples.size() * 2);
  Put32(out, 36 + data_bytes);
  out += "WAVEfmt ";
  Put32(out, 16);
  Put16(out, 1);
  Put16(out, 1);
  Put32(out, static_cast<uint32_t>(sample_rate));
  Put32(out, static_cast<uint32_t>(sample_rate * 2));
  Put16(out, 2);
  Put16(out, 16);
  out += "data";
  Put32(out, data_bytes);
  for (int16_t sample : samples) Put16(out, static_cast<uint16_t>(sample));
  return out;
}

std::vector<int16_t> Tone(double seconds, int sample_rate, double hz) {
  std::vector<int16_t> samples(static_cast<size_t>(seconds * sample_rate));
  for (size_t i = 0; i < samples.size(); ++i) {
    samples[i] = static_cast<int16_t>(8000 * std::sin(2 * M_PI * hz * i / sample_rate));
  }
  return samples;
}

}  // namespace livecall::testing
