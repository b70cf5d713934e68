#ifndef LIVECALL_COMMON_JWT_H_
#define LIVECALL_COMMON_JWT_H_

// JSON Web Tokens (RFC 7519) signed with HS256, written once for the two users: call-control
// mints Twilio Voice Access Tokens, the gateway verifies agents' bearer tokens.
//
// Signing takes the header and payload as JSON text written by the caller, so the caller fixes
// the bytes (Twilio's helper libraries' key order reproduces their published tokens exactly).
// Verification accepts only alg "HS256" ("none", RS256 and the rest are refused, so a token
// cannot choose a weaker check), compares the signature in constant time, and checks exp/nbf
// with a small leeway for clock skew.

#include <google/protobuf/struct.pb.h>

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace livecall {

// Base64url without padding (RFC 7515 §2) and back; decoding rejects padding and other alphabets.
std::string Base64UrlEncode(absl::string_view data);
absl::StatusOr<std::string> Base64UrlDecode(absl::string_view text);

// HMAC-SHA256 of `data` with `key`, raw bytes.
std::string HmacSha256(absl::string_view key, absl::string_view data);

// "<b64url(header)>.<b64url(payload)>.<b64url(HMAC-SHA256(secret, first two parts))>".
// `header_json` and `payload_json` must be JSON objects; they are signed as given.
std::string SignJwtHs256(absl::string_view header_json, absl::string_view payload_json,
                         absl::string_view secret);

struct JwtVerifyOptions {
  absl::Time now = absl::InfinitePast();  // InfinitePast: absl::Now().
  absl::Duration leeway = absl::Seconds(30);
  // A token without "exp" never expires: refuse it unless told otherwise.
  bool require_exp = true;
};

struct VerifiedJwt {
  google::protobuf::Struct header;
  google::protobuf::Struct payload;

  // A string claim, or empty when absent or not a string.
  std::string StringClaim(absl::string_view name) const;
};

// UNAUTHENTICATED with a reason fit for a WWW-Authenticate error_description when the token is
// malformed, not HS256, badly signed, expired or not yet valid.
absl::StatusOr<VerifiedJwt> VerifyJwtHs256(absl::string_view token, absl::string_view secret,
                                           const JwtVerifyOptions& options = {});

}  // namespace livecall

#endif  // LIVECALL_COMMON_JWT_H_
