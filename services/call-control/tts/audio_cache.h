#ifndef LIVECALL_SERVICES_CALL_CONTROL_TTS_AUDIO_CACHE_H_
#define LIVECALL_SERVICES_CALL_CONTROL_TTS_AUDIO_CACHE_H_

// Synthesised WAV files in Redis, by cache key (a hash of text, language, voice and provider).
// Redis rather than a local disk: call-control runs as several stateless replicas, and the
// replica that serves Twilio's GET /tts/<id>.wav is rarely the one that synthesised it; Redis is
// already every replica's shared state. Bounded twice: each entry lives `ttl` after its last use,
// and a sorted set of keys by last use evicts the least recently used entries beyond
// `max_entries` (8 kHz μ-law is 8 KB per second, so 2 000 ten-second prompts are 160 MB).
//
//   livecall:tts:audio:<key>  the WAV bytes (PX ttl)
//   livecall:tts:lru          ZSET key -> last use (ms)

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/redis_pool.h"

namespace livecall::call_control::tts {

struct AudioCacheOptions {
  absl::Duration ttl = absl::Hours(24);  // LIVECALL_TTS_CACHE_TTL_S
  int64_t max_entries = 2000;            // LIVECALL_TTS_CACHE_MAX_ENTRIES
};

class AudioCache {
 public:
  AudioCache(RedisPool& redis, AudioCacheOptions options) : redis_(redis), options_(options) {}

  // The WAV under `key`, or nullopt; a hit counts as a use (its TTL starts again).
  absl::StatusOr<std::optional<std::string>> Get(const std::string& key, absl::Time now);
  // Whether `key` is cached; a hit counts as a use, as Get's. The audio's bytes stay in Redis:
  // rendering a URL needs only to know that they are there.
  absl::StatusOr<bool> Touch(const std::string& key, absl::Time now);
  // Stores `wav` under `key` and evicts the least recently used entries over the bound.
  absl::Status Put(const std::string& key, const std::string& wav, absl::Time now);

  const AudioCacheOptions& options() const { return options_; }

 private:
  RedisPool& redis_;
  const AudioCacheOptions options_;
};

}  // namespace livecall::call_control::tts

#endif  // LIVECALL_SERVICES_CALL_CONTROL_TTS_AUDIO_CACHE_H_
