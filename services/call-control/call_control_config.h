#ifndef LIVECALL_SERVICES_CALL_CONTROL_CALL_CONTROL_CONFIG_H_
#define LIVECALL_SERVICES_CALL_CONTROL_CALL_CONTROL_CONFIG_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/caller_identity.h"
#include "common/config.h"
#include "common/redis_pool.h"
#include "services/call-control/sandbox/sandbox_provider.h"
#include "services/call-control/speech.h"
#include "services/call-control/tts/audio_cache.h"
#include "services/call-control/tts/remote_tts.h"
#include "services/call-control/twilio/speech_recognition.h"

namespace livecall::call_control {

struct TwilioCredentials {
  std::string account_sid;     // TWILIO_ACCOUNT_SID
  std::string auth_token;      // TWILIO_AUTH_TOKEN
  std::string api_key_sid;     // TWILIO_API_KEY_SID
  std::string api_key_secret;  // TWILIO_API_KEY_SECRET
  std::string twiml_app_sid;   // TWILIO_TWIML_APP_SID
  std::string caller_id;       // TWILIO_CALLER_ID
  std::string api_base_url;    // TWILIO_API_BASE_URL
  std::string hold_music_url;  // TWILIO_HOLD_MUSIC_URL
  // TWILIO_ACCOUNT_SID set: talk to Twilio (then the auth token or the API key pair, and the
  // caller ID, are required). Unset: the sandbox.
  bool configured() const { return !account_sid.empty(); }
  // Basic auth for the REST API: the API key when there is one, else the account's auth token.
  std::string rest_username() const { return api_key_sid.empty() ? account_sid : api_key_sid; }
  std::string rest_password() const { return api_key_sid.empty() ? auth_token : api_key_secret; }
};

// What calls say and with which voice (speech.h, tts/).
struct SpeechConfig {
  // HMAC key of the audio URLs (LIVECALL_TTS_URL_SECRET, at least 32 bytes). Empty when unset:
  // main() then makes a random one, valid only inside this process (one replica).
  std::string url_secret;
  absl::Duration url_ttl;        // LIVECALL_TTS_URL_TTL_S
  tts::AudioCacheOptions cache;  // LIVECALL_TTS_CACHE_TTL_S, LIVECALL_TTS_CACHE_MAX_ENTRIES
  SpeechVoices voices;           // LIVECALL_TWILIO_VOICE_RU/_EN, LIVECALL_TTS_LANGUAGES
  // The remote provider; base_url empty: espeak-ng only.
  tts::RemoteTtsOptions remote;  // LIVECALL_TTS_BASE_URL, _API_KEY, _MODEL, _VOICE, _DEADLINE_MS
};

struct CallControlConfig {
  std::string listen_address;  // LIVECALL_CALL_CONTROL_ADDR
  RedisPool::Options redis;
  absl::Duration call_ttl;  // LIVECALL_CALL_TTL_S
  SandboxTimings sandbox;   // LIVECALL_SANDBOX_{RING,ANSWER,TALK,LINE,MAX_CALL}_MS
  // The sandbox's scripted customer lines (LIVECALL_SANDBOX_SCRIPT_FILE).
  std::string sandbox_script_file;
  std::string sandbox_caller_id;  // LIVECALL_SANDBOX_CALLER_ID
  TwilioCredentials twilio;
  int worker_threads;  // LIVECALL_WORKER_THREADS
  // The gateway's public base URL, where Twilio sends webhooks (no trailing '/').
  std::string public_url;  // LIVECALL_PUBLIC_URL
  // ai-session, for the session beside each Twilio call and its transcript turns.
  std::string ai_session_address;      // LIVECALL_AI_SESSION_ADDR
  absl::Duration ai_session_deadline;  // LIVECALL_AI_SESSION_DEADLINE_MS
  // How Twilio listens to each language (speech_recognition.h): LIVECALL_TRANSCRIPTION_LANGUAGE,
  // LIVECALL_TRANSCRIPTION_{LANGUAGE,ENGINE,MODEL}_<LANG>, LIVECALL_GATHER_{LANGUAGE,MODEL}_<LANG>.
  SpeechRecognitionConfig recognition;
  absl::Duration idempotency_ttl;  // LIVECALL_IDEMPOTENCY_TTL_S
  SpeechConfig speech;
  // Concurrent outbound calls across every replica (Redis); 0: no cap.
  int max_active_calls = 50;  // LIVECALL_MAX_ACTIVE_CALLS
  // Concurrent outbound calls one agent places (PlaceCall, browser calls); 0: no quota.
  int max_calls_per_agent = 2;  // LIVECALL_MAX_CALLS_PER_AGENT
  // E.164 prefixes outbound calls may dial; "+" allows every number.
  std::vector<std::string> allowed_dial_prefixes;  // LIVECALL_ALLOWED_DIAL_PREFIXES
  // Ending a call's AI session is retried (every replica sweeps the schedule in Redis) first
  // after `session_end_retry`, doubling up to `session_end_max_retry`.
  absl::Duration session_end_retry;      // LIVECALL_SESSION_END_RETRY_MS
  absl::Duration session_end_max_retry;  // LIVECALL_SESSION_END_MAX_RETRY_MS
  // LIVECALL_AUTH, LIVECALL_GRPC_API_KEYS (the peers let in), LIVECALL_GRPC_API_KEY (what this
  // service sends to its peers).
  GrpcAuthConfig grpc_auth;
};

absl::StatusOr<CallControlConfig> ReadCallControlConfig(EnvReader& env);

}  // namespace livecall::call_control

#endif  // LIVECALL_SERVICES_CALL_CONTROL_CALL_CONTROL_CONFIG_H_
