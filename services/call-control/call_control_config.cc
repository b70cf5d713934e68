#include "services/call-control/call_control_config.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/default_data_dir.h"
#include "common/language.h"
#include "common/phone_number.h"
#include "common/redis_config.h"

namespace livecall::call_control {
namespace {

// "AC" + 32 hex digits and the like.
bool IsTwilioSid(absl::string_view sid, absl::string_view prefix) {
  if (sid.size() != 34 || !absl::StartsWith(sid, prefix)) return false;
  for (char c : sid.substr(2)) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

bool IsHttpUrl(absl::string_view url) {
  return absl::StartsWith(url, "http://") || absl::StartsWith(url, "https://");
}

void ValidateTwilio(EnvReader& env, const TwilioCredentials& twilio) {
  if (!twilio.configured()) return;
  if (!IsTwilioSid(twilio.account_sid, "AC")) {
    env.AddError("TWILIO_ACCOUNT_SID", "not an account SID (AC + 32 hex digits)");
  }
  if (twilio.api_key_sid.empty() && twilio.auth_token.empty()) {
    env.AddError("TWILIO_AUTH_TOKEN",
                 "required with TWILIO_ACCOUNT_SID unless TWILIO_API_KEY_SID/SECRET are set");
  }
  if (!twilio.api_key_sid.empty() && !IsTwilioSid(twilio.api_key_sid, "SK")) {
    env.AddError("TWILIO_API_KEY_SID", "not an API key SID (SK + 32 hex digits)");
  }
  if (twilio.api_key_sid.empty() != twilio.api_key_secret.empty()) {
    env.AddError(twilio.api_key_sid.empty() ? "TWILIO_API_KEY_SID" : "TWILIO_API_KEY_SECRET",
                 "TWILIO_API_KEY_SID and TWILIO_API_KEY_SECRET go together");
  }
  if (!twilio.twiml_app_sid.empty() && !IsTwilioSid(twilio.twiml_app_sid, "AP")) {
    env.AddError("TWILIO_TWIML_APP_SID", "not a TwiML App SID (AP + 32 hex digits)");
  }
  if (twilio.caller_id.empty()) {
    env.AddError("TWILIO_CALLER_ID",
                 "required with TWILIO_ACCOUNT_SID: the number calls come from");
  } else if (!NormalizePhoneNumber(twilio.caller_id).ok()) {
    env.AddError("TWILIO_CALLER_ID", "not a valid phone number");
  }
  if (!IsHttpUrl(twilio.api_base_url)) {
    env.AddError("TWILIO_API_BASE_URL", "not an http:// or https:// URL");
  }
}

SpeechConfig ReadSpeechConfig(EnvReader& env) {
  SpeechConfig speech;
  speech.url_secret = env.OptionalString("LIVECALL_TTS_URL_SECRET");
  if (!speech.url_secret.empty() && speech.url_secret.size() < 32) {
    env.AddError("LIVECALL_TTS_URL_SECRET", "shorter than 32 bytes");
  }
  speech.url_ttl = absl::Seconds(env.Int("LIVECALL_TTS_URL_TTL_S", 3600, 60, 7 * 24 * 3600));
  speech.cache.ttl =
      absl::Seconds(env.Int("LIVECALL_TTS_CACHE_TTL_S", 24 * 3600, 60, 30 * 24 * 3600));
  if (speech.cache.ttl < speech.url_ttl) {
    env.AddError("LIVECALL_TTS_CACHE_TTL_S",
                 "shorter than LIVECALL_TTS_URL_TTL_S: audio would vanish while its URL is valid");
  }
  speech.cache.max_entries = env.Int("LIVECALL_TTS_CACHE_MAX_ENTRIES", 2000, 1, 1000000);
  speech.voices.say_voice_ru = env.String("LIVECALL_TWILIO_VOICE_RU", "Polly.Tatyana");
  speech.voices.say_voice_en = env.String("LIVECALL_TWILIO_VOICE_EN", "Polly.Joanna");
  speech.voices.own_audio_languages.clear();
  for (absl::string_view language :
       absl::StrSplit(env.String("LIVECALL_TTS_LANGUAGES", "uz"), ',', absl::SkipWhitespace())) {
    absl::StatusOr<std::string> parsed = ParseLanguage(absl::StripAsciiWhitespace(language));
    if (!parsed.ok()) {
      env.AddError("LIVECALL_TTS_LANGUAGES", "a comma-separated list of uz, ru, en");
      break;
    }
    speech.voices.own_audio_languages.push_back(*std::move(parsed));
  }
  speech.remote.base_url = env.OptionalString("LIVECALL_TTS_BASE_URL");
  if (!speech.remote.base_url.empty() && !IsHttpUrl(speech.remote.base_url)) {
    env.AddError("LIVECALL_TTS_BASE_URL", "not an http:// or https:// URL");
  }
  speech.remote.api_key = env.OptionalString("LIVECALL_TTS_API_KEY");
  speech.remote.model = env.String("LIVECALL_TTS_MODEL", "tts-1");
  speech.remote.voice = env.String("LIVECALL_TTS_VOICE", "alloy");
  speech.remote.deadline = env.Millis("LIVECALL_TTS_DEADLINE_MS", absl::Seconds(4),
                                      absl::Milliseconds(50), absl::Seconds(30));
  return speech;
}

// "+998, +7": E.164 prefixes, each "+" and up to 14 digits ("+" alone: every number).
std::vector<std::string> ReadDialPrefixes(EnvReader& env) {
  std::vector<std::string> prefixes;
  for (absl::string_view prefix : absl::StrSplit(
           env.String("LIVECALL_ALLOWED_DIAL_PREFIXES", "+998"), ',', absl::SkipWhitespace())) {
    prefix = absl::StripAsciiWhitespace(prefix);
    const bool digits_only =
        prefix.size() > 1 && std::all_of(prefix.begin() + 1, prefix.end(), [](char c) {
          return absl::ascii_isdigit(static_cast<unsigned char>(c));
        });
    if (!absl::StartsWith(prefix, "+") || prefix.size() > 15 ||
        (prefix.size() > 1 && !digits_only)) {
      env.AddError("LIVECALL_ALLOWED_DIAL_PREFIXES",
                   "a comma-separated list of E.164 prefixes such as +998 (\"+\" allows all)");
      return prefixes;
    }
    prefixes.emplace_back(prefix);
  }
  if (prefixes.empty()) {
    env.AddError("LIVECALL_ALLOWED_DIAL_PREFIXES",
                 "empty: no number could be dialled (\"+\" allows all)");
  }
  return prefixes;
}

}  // namespace

absl::StatusOr<CallControlConfig> ReadCallControlConfig(EnvReader& env) {
  CallControlConfig config;
  config.listen_address = ReadServiceAddresses(env).call_control;
  config.redis = ReadRedisOptions(env);
  config.call_ttl =
      absl::Seconds(env.Int("LIVECALL_CALL_TTL_S", 7 * 24 * 3600, 60, 90 * 24 * 3600));
  const absl::Duration min_step = absl::Milliseconds(10);
  const absl::Duration max_step = absl::Hours(1);
  config.sandbox.ring =
      env.Millis("LIVECALL_SANDBOX_RING_MS", absl::Seconds(2), min_step, max_step);
  config.sandbox.answer =
      env.Millis("LIVECALL_SANDBOX_ANSWER_MS", absl::Seconds(3), min_step, max_step);
  config.sandbox.talk =
      env.Millis("LIVECALL_SANDBOX_TALK_MS", absl::Seconds(5), min_step, max_step);
  config.sandbox.line =
      env.Millis("LIVECALL_SANDBOX_LINE_MS", absl::Seconds(4), min_step, max_step);
  config.sandbox.max_call =
      env.Millis("LIVECALL_SANDBOX_MAX_CALL_MS", absl::Minutes(10), min_step, absl::Hours(4));
  config.sandbox_script_file =
      env.String("LIVECALL_SANDBOX_SCRIPT_FILE", LIVECALL_DEFAULT_DATA_DIR "/sandbox_scripts.json");
  config.sandbox_caller_id = env.String("LIVECALL_SANDBOX_CALLER_ID", "+998712000000");
  if (!NormalizePhoneNumber(config.sandbox_caller_id).ok()) {
    env.AddError("LIVECALL_SANDBOX_CALLER_ID", "not a valid phone number");
  }
  config.twilio.account_sid = env.OptionalString("TWILIO_ACCOUNT_SID");
  config.twilio.auth_token = env.OptionalString("TWILIO_AUTH_TOKEN");
  config.twilio.api_key_sid = env.OptionalString("TWILIO_API_KEY_SID");
  config.twilio.api_key_secret = env.OptionalString("TWILIO_API_KEY_SECRET");
  config.twilio.twiml_app_sid = env.OptionalString("TWILIO_TWIML_APP_SID");
  config.twilio.caller_id = env.OptionalString("TWILIO_CALLER_ID");
  config.twilio.api_base_url = env.String("TWILIO_API_BASE_URL", "https://api.twilio.com");
  config.twilio.api_base_url = std::string(absl::StripSuffix(config.twilio.api_base_url, "/"));
  config.twilio.hold_music_url =
      env.String("TWILIO_HOLD_MUSIC_URL",
                 "http://com.twilio.sounds.music.s3.amazonaws.com/MARKOVICHAMP-Borghestral.mp3");
  ValidateTwilio(env, config.twilio);
  config.worker_threads = static_cast<int>(env.Int("LIVECALL_WORKER_THREADS", 8, 1, 256));
  config.public_url = env.String("LIVECALL_PUBLIC_URL", "http://localhost:8080");
  while (absl::EndsWith(config.public_url, "/")) config.public_url.pop_back();
  if (!IsHttpUrl(config.public_url)) {
    env.AddError("LIVECALL_PUBLIC_URL", "not an http:// or https:// URL");
  }
  config.ai_session_address = ReadServiceAddresses(env).ai_session;
  config.ai_session_deadline = env.Millis("LIVECALL_AI_SESSION_DEADLINE_MS", absl::Seconds(5),
                                          absl::Milliseconds(10), absl::Minutes(1));
  config.recognition = ReadSpeechRecognitionConfig(env);
  config.idempotency_ttl =
      absl::Seconds(env.Int("LIVECALL_IDEMPOTENCY_TTL_S", 24 * 3600, 60, 30 * 24 * 3600));
  config.speech = ReadSpeechConfig(env);
  config.max_active_calls = static_cast<int>(env.Int("LIVECALL_MAX_ACTIVE_CALLS", 50, 0, 100000));
  config.max_calls_per_agent =
      static_cast<int>(env.Int("LIVECALL_MAX_CALLS_PER_AGENT", 2, 0, 1000));
  config.allowed_dial_prefixes = ReadDialPrefixes(env);
  config.session_end_retry = env.Millis("LIVECALL_SESSION_END_RETRY_MS", absl::Seconds(1),
                                        absl::Milliseconds(10), absl::Minutes(10));
  config.session_end_max_retry = env.Millis("LIVECALL_SESSION_END_MAX_RETRY_MS", absl::Minutes(1),
                                            absl::Milliseconds(10), absl::Hours(1));
  if (config.session_end_max_retry < config.session_end_retry) {
    env.AddError("LIVECALL_SESSION_END_MAX_RETRY_MS", "shorter than LIVECALL_SESSION_END_RETRY_MS");
  }
  config.grpc_auth = ReadGrpcAuthConfig(env, /*serves_grpc=*/true, /*dials_peers=*/true);
  if (absl::Status status = env.status(); !status.ok()) return status;
  return config;
}

}  // namespace livecall::call_control
