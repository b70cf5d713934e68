#ifndef LIVECALL_SERVICES_CALL_CONTROL_CALL_CONTROL_CONFIG_H_
#define LIVECALL_SERVICES_CALL_CONTROL_CALL_CONTROL_CONFIG_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/config.h"
#include "common/redis_pool.h"
#include "services/call-control/sandbox_provider.h"

namespace livecall::call_control {

struct TwilioCredentials {
  std::string account_sid;     // TWILIO_ACCOUNT_SID
  std::string auth_token;      // TWILIO_AUTH_TOKEN
  std::string api_key_sid;     // TWILIO_API_KEY_SID
  std::string api_key_secret;  // TWILIO_API_KEY_SECRET
  std::string twiml_app_sid;   // TWILIO_TWIML_APP_SID
  std::string caller_id;       // TWILIO_CALLER_ID
  std::string api_base_url;    // TWILIO_API_BASE_URL
  // All of account SID and auth token set: talk to Twilio. None: sandbox.
  bool configured() const { return !account_sid.empty(); }
};

struct CallControlConfig {
  std::string listen_address;  // LIVECALL_CALL_CONTROL_ADDR
  RedisPool::Options redis;
  absl::Duration call_ttl;        // LIVECALL_CALL_TTL_S
  SandboxTimings sandbox;         // LIVECALL_SANDBOX_{RING,ANSWER,TALK}_MS
  std::string sandbox_caller_id;  // LIVECALL_SANDBOX_CALLER_ID
  TwilioCredentials twilio;
  int worker_threads;  // LIVECALL_WORKER_THREADS
};

absl::StatusOr<CallControlConfig> ReadCallControlConfig(EnvReader& env);

}  // namespace livecall::call_control

#endif  // LIVECALL_SERVICES_CALL_CONTROL_CALL_CONTROL_CONFIG_H_
