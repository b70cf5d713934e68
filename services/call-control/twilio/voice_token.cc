#include "services/call-control/twilio/voice_token.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/jwt.h"
#include "common/log.h"

namespace livecall::call_control {
namespace {

constexpr size_t kMaxIdentityLength = 121;

// The payload is written here rather than through protobuf's Struct (common/json.h): a Struct's
// keys come out in hash order, and the token must have twilio-node's key order byte for byte.
std::string Quoted(absl::string_view text) { return absl::StrCat("\"", JsonEscape(text), "\""); }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

absl::StatusOr<std::string> MintVoiceToken(const VoiceTokenRequest& request) {
  if (request.ttl <= absl::ZeroDuration() || request.ttl > kMaxVoiceTokenTtl) {
    return absl::InvalidArgumentError("a voice token lives between 1 second and 24 hours");
  }
  if (request.identity.empty()) return absl::InvalidArgumentError("identity is required");
  const int64_t iat = absl::ToUnixSeconds(request.now);
  const int64_t exp = iat + absl::ToInt64Seconds(request.ttl);

  std::string voice;
  if (request.incoming_allow) voice = "\"incoming\":{\"allow\":true}";
  if (!request.outgoing_application_sid.empty()) {
    std::string outgoing =
        absl::StrCat("\"application_sid\":", Quoted(request.outgoing_application_sid));
    if (!request.outgoing_params.empty()) {
      std::string params;
      for (const auto& [key, value] : request.outgoing_params) {
        if (!params.empty()) params += ",";
        absl::StrAppend(&params, Quoted(key), ":", Quoted(value));
      }
      absl::StrAppend(&outgoing, ",\"params\":{", params, "}");
    }
    absl::StrAppend(&voice, voice.empty() ? "" : ",", "\"outgoing\":{", outgoing, "}");
  }
  const std::string payload = absl::StrCat(
      "{\"jti\":", Quoted(absl::StrCat(request.api_key_sid, "-", iat)),
      ",\"grants\":{\"identity\":", Quoted(request.identity), ",\"voice\":{", voice, "}}",
      ",\"iat\":", iat, ",\"exp\":", exp, ",\"iss\":", Quoted(request.api_key_sid),
      ",\"sub\":", Quoted(request.account_sid), "}");
  return SignJwtHs256(R"({"alg":"HS256","typ":"JWT","cty":"twilio-fpa;v=1"})", payload,
                      request.api_key_secret);
}

absl::StatusOr<std::string> AgentIdentity(absl::string_view agent_id) {
  if (agent_id.empty()) return absl::InvalidArgumentError("the agent id is empty");
  std::string identity;
  for (unsigned char c : agent_id) {
    if (absl::ascii_isalnum(c)) {
      identity.push_back(static_cast<char>(c));
    } else {
      absl::StrAppendFormat(&identity, "_%02X", c);
    }
  }
  if (identity.size() > kMaxIdentityLength) {
    return absl::InvalidArgumentError(absl::StrCat(
        "agent id \"", agent_id, "\" is too long for a Twilio client identity (121 characters)"));
  }
  return identity;
}

absl::StatusOr<std::string> AgentIdFromIdentity(absl::string_view identity) {
  std::string agent_id;
  for (size_t i = 0; i < identity.size(); ++i) {
    const char c = identity[i];
    if (absl::ascii_isalnum(static_cast<unsigned char>(c))) {
      agent_id.push_back(c);
      continue;
    }
    if (c != '_' || i + 2 >= identity.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", identity, "\" is not a Livecall agent identity"));
    }
    const int high = HexValue(identity[i + 1]);
    const int low = HexValue(identity[i + 2]);
    if (high < 0 || low < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", identity, "\" is not a Livecall agent identity"));
    }
    agent_id.push_back(static_cast<char>(high * 16 + low));
    i += 2;
  }
  if (agent_id.empty()) return absl::InvalidArgumentError("empty identity");
  return agent_id;
}

}  // namespace livecall::call_control
