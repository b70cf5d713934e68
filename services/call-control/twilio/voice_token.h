#ifndef LIVECALL_SERVICES_CALL_CONTROL_TWILIO_VOICE_TOKEN_H_
#define LIVECALL_SERVICES_CALL_CONTROL_TWILIO_VOICE_TOKEN_H_

// Twilio Voice Access Tokens, byte for byte as Twilio's Node helper library writes them
// (DIGEST.md §1): header {"alg":"HS256","typ":"JWT","cty":"twilio-fpa;v=1"}, payload in the order
// jti, grants, iat, exp, iss, sub; HS256 with the API key secret (never the auth token).

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace livecall::call_control {

inline constexpr absl::Duration kDefaultVoiceTokenTtl = absl::Hours(1);
// Twilio refuses tokens valid for longer (error 20157).
inline constexpr absl::Duration kMaxVoiceTokenTtl = absl::Hours(24);

struct VoiceTokenRequest {
  std::string account_sid;     // sub
  std::string api_key_sid;     // iss, and the prefix of jti
  std::string api_key_secret;  // The HMAC key.
  std::string identity;
  std::string outgoing_application_sid;
  // grants.voice.outgoing.params, in order; written only with an application SID.
  std::vector<std::pair<std::string, std::string>> outgoing_params;
  bool incoming_allow = true;
  absl::Time now;
  absl::Duration ttl = kDefaultVoiceTokenTtl;
};

// INVALID_ARGUMENT for a TTL that is not positive or over 24 h, or an empty identity.
absl::StatusOr<std::string> MintVoiceToken(const VoiceTokenRequest& request);

// The Voice JS SDK accepts identities of at most 121 letters, digits and '_' (a '-' or a space
// breaks calling). Agent ids are mapped one to one: letters and digits stay, every other byte
// (including '_') becomes '_' and two upper-case hex digits ("agent-1" -> "agent_2D1").
// INVALID_ARGUMENT when the result would be longer than 121 characters.
absl::StatusOr<std::string> AgentIdentity(absl::string_view agent_id);
// The inverse; INVALID_ARGUMENT for text AgentIdentity cannot have produced.
absl::StatusOr<std::string> AgentIdFromIdentity(absl::string_view identity);

}  // namespace livecall::call_control

#endif  // LIVECALL_SERVICES_CALL_CONTROL_TWILIO_VOICE_TOKEN_H_
