#include "common/jwt.h"

#include <google/protobuf/util/json_util.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cmath>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

namespace livecall {
namespace {

absl::Status Unauthenticated(absl::string_view why) {
  return absl::UnauthenticatedError(absl::StrCat("invalid token: ", why));
}

absl::StatusOr<google::protobuf::Struct> ParseObject(absl::string_view json) {
  google::protobuf::Struct object;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  if (!google::protobuf::util::JsonStringToMessage(
           google::protobuf::StringPiece(json.data(), json.size()), &object, options)
           .ok()) {
    return absl::InvalidArgumentError("not a JSON object");
  }
  return object;
}

// A NumericDate claim (RFC 7519 §2); false when present but not a number.
bool NumericClaim(const google::protobuf::Struct& payload, const char* name, bool* present,
                  double* value) {
  auto it = payload.fields().find(name);
  *present = it != payload.fields().end();
  if (!*present) return true;
  if (it->second.kind_case() != google::protobuf::Value::kNumberValue) return false;
  *value = it->second.number_value();
  return std::isfinite(*value);
}

}  // namespace

std::string Base64UrlEncode(absl::string_view data) {
  // absl's web-safe alphabet is base64url; the WebSafe escape writes no padding.
  return absl::WebSafeBase64Escape(data);
}

absl::StatusOr<std::string> Base64UrlDecode(absl::string_view text) {
  for (char c : text) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok) return absl::InvalidArgumentError("not base64url without padding");
  }
  if (text.size() % 4 == 1) return absl::InvalidArgumentError("truncated base64url");
  std::string out;
  if (!absl::WebSafeBase64Unescape(text, &out)) {
    return absl::InvalidArgumentError("not base64url");
  }
  return out;
}

std::string HmacSha256(absl::string_view key, absl::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest, &length);
  return std::string(reinterpret_cast<const char*>(digest), length);
}

std::string SignJwtHs256(absl::string_view header_json, absl::string_view payload_json,
                         absl::string_view secret) {
  std::string signing_input =
      absl::StrCat(Base64UrlEncode(header_json), ".", Base64UrlEncode(payload_json));
  const std::string signature = Base64UrlEncode(HmacSha256(secret, signing_input));
  return absl::StrCat(signing_input, ".", signature);
}

std::string VerifiedJwt::StringClaim(absl::string_view name) const {
  auto it = payload.fields().find(std::string(name));
  if (it == payload.fields().end() ||
      it->second.kind_case() != google::protobuf::Value::kStringValue) {
    return "";
  }
  return it->second.string_value();
}

absl::StatusOr<VerifiedJwt> VerifyJwtHs256(absl::string_view token, absl::string_view secret,
                                           const JwtVerifyOptions& options) {
  if (secret.empty()) return absl::FailedPreconditionError("no JWT secret configured");
  const std::vector<absl::string_view> parts = absl::StrSplit(token, '.');
  if (parts.size() != 3 || parts[0].empty() || parts[1].empty()) {
    return Unauthenticated("not a JWS compact token (header.payload.signature)");
  }
  VerifiedJwt verified;
  absl::StatusOr<std::string> header_json = Base64UrlDecode(parts[0]);
  if (!header_json.ok()) return Unauthenticated("header is not base64url");
  absl::StatusOr<google::protobuf::Struct> header = ParseObject(*header_json);
  if (!header.ok()) return Unauthenticated("header is not a JSON object");
  verified.header = *std::move(header);
  // The algorithm is ours to choose, never the token's: only HS256 is accepted here.
  auto alg = verified.header.fields().find("alg");
  if (alg == verified.header.fields().end() ||
      alg->second.kind_case() != google::protobuf::Value::kStringValue ||
      alg->second.string_value() != "HS256") {
    return Unauthenticated("alg must be HS256");
  }

  absl::StatusOr<std::string> signature = Base64UrlDecode(parts[2]);
  if (!signature.ok()) return Unauthenticated("signature is not base64url");
  const std::string expected =
      HmacSha256(secret, absl::string_view(token.data(), parts[0].size() + 1 + parts[1].size()));
  if (signature->size() != expected.size() ||
      CRYPTO_memcmp(signature->data(), expected.data(), expected.size()) != 0) {
    return Unauthenticated("signature does not verify");
  }

  absl::StatusOr<std::string> payload_json = Base64UrlDecode(parts[1]);
  if (!payload_json.ok()) return Unauthenticated("payload is not base64url");
  absl::StatusOr<google::protobuf::Struct> payload = ParseObject(*payload_json);
  if (!payload.ok()) return Unauthenticated("payload is not a JSON object");
  verified.payload = *std::move(payload);

  const absl::Time now = options.now == absl::InfinitePast() ? absl::Now() : options.now;
  const double now_s = absl::ToDoubleSeconds(now - absl::UnixEpoch());
  const double leeway_s = absl::ToDoubleSeconds(options.leeway);
  bool present = false;
  double value = 0;
  if (!NumericClaim(verified.payload, "exp", &present, &value)) {
    return Unauthenticated("exp is not a number");
  }
  if (!present && options.require_exp) return Unauthenticated("no exp claim");
  if (present && now_s >= value + leeway_s) return Unauthenticated("token expired");
  if (!NumericClaim(verified.payload, "nbf", &present, &value)) {
    return Unauthenticated("nbf is not a number");
  }
  if (present && now_s + leeway_s < value) return Unauthenticated("token not valid yet");
  return verified;
}

}  // namespace livecall
