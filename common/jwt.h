#ifndef LIVECALL_COMMON_JWT_H_
#define LIVECALL_COMMON_JWT_H_

// JSON Web Tokens (RFC 7519), written once for their users: call-control mints Twilio Voice
// Access Tokens (HS256), the gateway mints dev-login tokens (HS256) and verifies agents' bearer
// tokens (HS256, RS256 or ES256, by configuration).
//
// Signing takes the header and payload as JSON text written by the caller, so the caller fixes
// the bytes (Twilio's helper libraries' key order reproduces their published tokens exactly).
// Verification never lets the token choose its check: the algorithm must be one a configured key
// is for ("none" never is; HS256 is checked only with the configured secret, never with a public
// key's bytes), signatures are compared in constant time (HMAC) or verified by OpenSSL EVP, and
// exp/nbf are checked with a small leeway for clock skew; aud, iss and the token's lifetime when
// the verifier is asked to.

#include <google/protobuf/struct.pb.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

struct evp_pkey_st;  // OpenSSL's EVP_PKEY.

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
  // Not empty: "aud" (a string, or an array of strings) must name this audience (RFC 7519 §4.1.3).
  std::string audience;
  // Not empty: "iss" must be one of these.
  std::vector<std::string> issuers;
  // The longest a token may be valid: exp − iat, or exp − now for a token without iat (then with
  // the leeway). A leaked token is useful for at most this long. Infinite: no limit.
  absl::Duration max_lifetime = absl::InfiniteDuration();
};

struct VerifiedJwt {
  google::protobuf::Struct header;
  google::protobuf::Struct payload;

  // A string claim, or empty when absent or not a string.
  std::string StringClaim(absl::string_view name) const;
};

// UNAUTHENTICATED with a reason fit for a WWW-Authenticate error_description when the token is
// malformed, not HS256, badly signed, expired or not yet valid, or fails `options`' aud, iss or
// lifetime rules.
absl::StatusOr<VerifiedJwt> VerifyJwtHs256(absl::string_view token, absl::string_view secret,
                                           const JwtVerifyOptions& options = {});

// Verifies bearer tokens with the keys the process is configured with: an HS256 secret, a PEM
// public key (RSA ≥ 2048 bits → RS256, EC P-256 → ES256), or both (e.g. the web app's own login
// signs RS256 while the dev login signs HS256). The token's alg picks among the configured keys
// only; an alg without a configured key is refused. Immutable, so thread-safe.
class JwtVerifier {
 public:
  JwtVerifier() = default;

  // INVALID_ARGUMENT when the secret is shorter than 32 bytes.
  absl::Status SetSecret(std::string secret);
  // INVALID_ARGUMENT when `pem` is not a PEM public key (SubjectPublicKeyInfo) of a supported
  // type and size.
  absl::Status SetPublicKeyPem(absl::string_view pem);

  bool has_secret() const { return !secret_.empty(); }
  bool has_public_key() const { return public_key_ != nullptr; }
  bool configured() const { return has_secret() || has_public_key(); }
  // "RS256" or "ES256" for the public key; empty without one.
  const std::string& public_key_algorithm() const { return public_key_algorithm_; }
  const std::string& secret() const { return secret_; }

  // UNAUTHENTICATED with a reason fit for a WWW-Authenticate error_description when the token is
  // malformed, its alg has no configured key, the signature does not verify, or it has expired or
  // is not yet valid. FAILED_PRECONDITION when no key is configured.
  absl::StatusOr<VerifiedJwt> Verify(absl::string_view token,
                                     const JwtVerifyOptions& options = {}) const;

 private:
  std::string secret_;
  std::shared_ptr<::evp_pkey_st> public_key_;
  std::string public_key_algorithm_;
};

}  // namespace livecall

#endif  // LIVECALL_COMMON_JWT_H_
