#ifndef LIVECALL_COMMON_AUDIO_URL_SIGNER_H_
#define LIVECALL_COMMON_AUDIO_URL_SIGNER_H_

// Unguessable, expiring ids for synthesised audio: "<key>-<expiry>-<mac>" where key is the audio's
// cache key (32 hex digits), expiry Unix seconds and mac the first 128 bits of
// HMAC-SHA256(LIVECALL_TTS_URL_SECRET, "livecall-tts-v1|<key>|<expiry>") in hex. Twilio fetches
// the audio without our JWT; this signature is what keeps the route from serving anything to
// anyone who guesses a key, and the expiry bounds how long a leaked URL works.
//
// call-control signs and verifies (it serves the audio); the gateway verifies too, so a forged id
// is refused at the edge (403) before it costs call-control's executor anything.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace livecall {

class AudioUrlSigner {
 public:
  explicit AudioUrlSigner(std::string secret) : secret_(std::move(secret)) {}

  std::string Sign(absl::string_view key, absl::Time expires_at) const;

  // The key of a valid id. PERMISSION_DENIED for an id that is malformed or whose MAC does not
  // verify (compared in constant time); NOT_FOUND when it verifies but expired at or before `now`.
  absl::StatusOr<std::string> Verify(absl::string_view id, absl::Time now) const;

 private:
  std::string Mac(absl::string_view key, int64_t expires_at) const;

  const std::string secret_;
};

}  // namespace livecall

#endif  // LIVECALL_COMMON_AUDIO_URL_SIGNER_H_
