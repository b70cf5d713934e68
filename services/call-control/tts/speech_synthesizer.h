#ifndef LIVECALL_SERVICES_CALL_CONTROL_TTS_SPEECH_SYNTHESIZER_H_
#define LIVECALL_SERVICES_CALL_CONTROL_TTS_SPEECH_SYNTHESIZER_H_

// Text in, the URL of 8 kHz μ-law WAV audio out, and that audio back for the URL. The one place
// that puts normalisation, cache, the providers and the signed URLs together:
//
//   1. normalise the text for its language (text_normalizer.h);
//   2. look the audio up in the cache under (text, language, voice, provider) of the preferred
//      provider; a hit is served as it is (a repeated greeting is synthesised once);
//   3. on a miss, synthesise with the remote provider when one is configured, within its
//      deadline; when it fails, is late or answers garbage, count the fallback and use
//      espeak-ng (its audio is cached under espeak-ng's own key, so the remote provider is tried
//      again next time rather than its fallback being remembered as its answer);
//   4. store the WAV and answer LIVECALL_PUBLIC_URL/tts/<signed id>.wav.
//
// Metrics: livecall_tts_syntheses_total{provider,language},
// livecall_tts_cache_lookups_total{result="hit"|"miss"},
// livecall_tts_remote_fallbacks_total{reason}, livecall_tts_synthesis_duration_seconds{provider}.

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/call-control/tts/audio_cache.h"
#include "services/call-control/tts/audio_url_signer.h"
#include "services/call-control/tts/tts_provider.h"

namespace livecall::call_control::tts {

struct SpeechSynthesizerOptions {
  // The gateway's public base URL (LIVECALL_PUBLIC_URL, no trailing '/').
  std::string public_url;
  // How long an audio URL stays valid (LIVECALL_TTS_URL_TTL_S); at most the cache's TTL, so the
  // audio is still there while its URL is.
  absl::Duration url_ttl = absl::Hours(1);
};

struct AudioFile {
  std::string wav;
  // Until the URL expires; Twilio and proxies may cache it that long.
  absl::Duration max_age;
  // The cache key: the content never changes for a key.
  std::string key;
};

class SpeechSynthesizer {
 public:
  // `remote` may be null (embedded only). Every reference must outlive the synthesiser.
  SpeechSynthesizer(TtsProvider* remote, TtsProvider& embedded, AudioCache& cache,
                    const AudioUrlSigner& signer, SpeechSynthesizerOptions options)
      : remote_(remote),
        embedded_(embedded),
        cache_(cache),
        signer_(signer),
        options_(std::move(options)) {}

  // The absolute URL of `text` spoken in `language` ("uz", "ru", "en"). Blocks (Redis, synthesis).
  absl::StatusOr<std::string> AudioUrl(absl::string_view text, absl::string_view language);

  // The audio of "<id>.wav". PERMISSION_DENIED for a forged id, NOT_FOUND for an expired one or
  // audio no longer cached or a name that is not "<id>.wav".
  absl::StatusOr<AudioFile> Fetch(absl::string_view file_name);

  // The cache key of a synthesis: 32 hex digits of SHA-256 over its parts.
  static std::string CacheKey(absl::string_view provider, absl::string_view voice,
                              absl::string_view language, absl::string_view text);

 private:
  // The cache key holding `text`'s audio, synthesising and storing it when needed.
  absl::StatusOr<std::string> CachedAudio(const std::string& text, const std::string& language);
  // 8 kHz μ-law WAV of `text` from `provider`, counted.
  absl::StatusOr<std::string> SynthesizeWav(TtsProvider& provider, const std::string& text,
                                            const std::string& language);
  // Looks `key` up (counted as a hit or a miss).
  absl::StatusOr<bool> IsCached(const std::string& key);

  TtsProvider* const remote_;
  TtsProvider& embedded_;
  AudioCache& cache_;
  const AudioUrlSigner& signer_;
  const SpeechSynthesizerOptions options_;
};

}  // namespace livecall::call_control::tts

#endif  // LIVECALL_SERVICES_CALL_CONTROL_TTS_SPEECH_SYNTHESIZER_H_
