#include "services/call-control/call_control_config.h"

#include "common/phone_number.h"
#include "common/redis_config.h"

namespace livecall::call_control {

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
  config.worker_threads = static_cast<int>(env.Int("LIVECALL_WORKER_THREADS", 8, 1, 256));
  if (absl::Status status = env.status(); !status.ok()) return status;
  return config;
}

}  // namespace livecall::call_control
