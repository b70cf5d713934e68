#include "services/call-control/tts/speech_synthesizer.h"

#include <openssl/sha.h>
#include <prometheus/counter.h>
#include <prometheus/histogram.h>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "common/metrics.h"
#include "services/call-control/tts/text_normalizer.h"

namespace livecall::call_control::tts {
namespace {

// "espeak-ng" or "remote": the model name stays out of the labels (a fixed, small set).
std::string ProviderLabel(absl::string_view provider) {
  return absl::StartsWith(provider, "remote") ? "remote" : std::string(provider);
}

std::string LanguageLabel(absl::string_view language) {
  if (language == "uz" || language == "ru" || language == "en") return std::string(language);
  return "other";
}

void CountSynthesis(absl::string_view provider, absl::string_view language, absl::Duration took) {
  static auto& syntheses = prometheus::BuildCounter()
                               .Name("livecall_tts_syntheses_total")
                               .Help("Texts synthesised (cache misses that reached a provider).")
                               .Register(MetricsRegistry());
  static auto& duration = prometheus::BuildHistogram()
                              .Name("livecall_tts_synthesis_duration_seconds")
                              .Help("Time to synthesise and encode one text, by provider.")
                              .Register(MetricsRegistry());
  syntheses.Add({{"provider", ProviderLabel(provider)}, {"language", LanguageLabel(language)}})
      .Increment();
  duration.Add({{"provider", ProviderLabel(provider)}}, LatencyBuckets())
      .Observe(absl::ToDoubleSeconds(took));
}

void CountCacheLookup(bool hit) {
  static auto& lookups = prometheus::BuildCounter()
                             .Name("livecall_tts_cache_lookups_total")
                             .Help("Synthesised-audio cache lookups, by result.")
                             .Register(MetricsRegistry());
  lookups.Add({{"result", hit ? "hit" : "miss"}}).Increment();
}

std::string FallbackReason(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kDeadlineExceeded:
      return "timeout";
    case absl::StatusCode::kInvalidArgument:
      return "bad_audio";
    default:
      return "error";
  }
}

void CountFallback(const absl::Status& status) {
  static auto& fallbacks =
      prometheus::BuildCounter()
          .Name("livecall_tts_remote_fallbacks_total")
          .Help("Remote TTS requests that failed and were spoken by espeak-ng instead, by reason.")
          .Register(MetricsRegistry());
  fallbacks.Add({{"reason", FallbackReason(status)}}).Increment();
}

}  // namespace

std::string SpeechSynthesizer::CacheKey(absl::string_view provider, absl::string_view voice,
                                        absl::string_view language, absl::string_view text) {
  // Length-prefixed parts, so no two different tuples hash the same input.
  const std::string input = absl::StrCat(provider.size(), ":", provider, voice.size(), ":", voice,
                                         language.size(), ":", language, text.size(), ":", text);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), 16));
}

absl::StatusOr<std::string> SpeechSynthesizer::SynthesizeWav(TtsProvider& provider,
                                                             const std::string& text,
                                                             const std::string& language) {
  const absl::Time start = absl::Now();
  absl::StatusOr<Synthesis> synthesis = provider.Synthesize(text, language);
  if (!synthesis.ok()) return synthesis.status();
  absl::StatusOr<std::string> wav = EncodePhoneWav(synthesis->audio);
  if (!wav.ok()) return wav.status();
  CountSynthesis(provider.provider(), language, absl::Now() - start);
  return wav;
}

absl::StatusOr<bool> SpeechSynthesizer::IsCached(const std::string& key) {
  absl::StatusOr<bool> cached = cache_.Touch(key, absl::Now());
  if (!cached.ok()) return cached.status();
  CountCacheLookup(*cached);
  return *cached;
}

absl::StatusOr<std::string> SpeechSynthesizer::CachedAudio(const std::string& text,
                                                           const std::string& language) {
  if (remote_ != nullptr) {
    const std::string key =
        CacheKey(remote_->provider(), remote_->VoiceFor(language), language, text);
    absl::StatusOr<bool> cached = IsCached(key);
    if (!cached.ok()) return cached.status();
    if (*cached) return key;
    absl::StatusOr<std::string> wav = SynthesizeWav(*remote_, text, language);
    if (wav.ok()) {
      if (absl::Status stored = cache_.Put(key, *wav, absl::Now()); !stored.ok()) return stored;
      return key;
    }
    CountFallback(wav.status());
    LogWarning("remote tts failed; speaking with espeak-ng",
               {{"error", wav.status().ToString()}, {"language", language}});
  }
  const std::string key =
      CacheKey(embedded_.provider(), embedded_.VoiceFor(language), language, text);
  absl::StatusOr<bool> cached = IsCached(key);
  if (!cached.ok()) return cached.status();
  if (*cached) return key;
  absl::StatusOr<std::string> wav = SynthesizeWav(embedded_, text, language);
  if (!wav.ok()) return wav.status();
  if (absl::Status stored = cache_.Put(key, *wav, absl::Now()); !stored.ok()) return stored;
  return key;
}

absl::StatusOr<std::string> SpeechSynthesizer::AudioUrl(absl::string_view text,
                                                        absl::string_view language) {
  const std::string normalized = NormalizeForSpeech(text, language);
  absl::StatusOr<std::string> key = CachedAudio(normalized, std::string(language));
  if (!key.ok()) return key.status();
  const absl::Time expires_at = absl::Now() + options_.url_ttl;
  return absl::StrCat(options_.public_url, "/tts/", signer_.Sign(*key, expires_at), ".wav");
}

absl::StatusOr<AudioFile> SpeechSynthesizer::Fetch(absl::string_view file_name) {
  absl::string_view id = file_name;
  if (!absl::ConsumeSuffix(&id, ".wav")) {
    return absl::NotFoundError("speech audio is served as <id>.wav");
  }
  const absl::Time now = absl::Now();
  absl::StatusOr<std::string> key = signer_.Verify(id, now);
  if (!key.ok()) return key.status();
  absl::StatusOr<std::optional<std::string>> cached = cache_.Get(*key, now);
  if (!cached.ok()) return cached.status();
  if (!cached->has_value()) {
    return absl::NotFoundError("this audio is no longer cached; render the speech again");
  }
  // The id verified, so its expiry parses.
  int64_t expiry = 0;
  const size_t first = id.find('-');
  (void)absl::SimpleAtoi(id.substr(first + 1, id.rfind('-') - first - 1), &expiry);
  return AudioFile{.wav = std::move(**cached),
                   .max_age = absl::FromUnixSeconds(expiry) - now,
                   .key = *std::move(key)};
}

}  // namespace livecall::call_control::tts
