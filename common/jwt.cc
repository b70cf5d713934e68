#include "common/jwt.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/json.h"

namespace livecall {
namespace {

absl::Status Unauthenticated(absl::string_view why) {
  return absl::UnauthenticatedError(absl::StrCat("invalid token: ", why));
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

namespace {

// The parts of a compact JWS before its signature is checked.
struct UnverifiedJwt {
  google::protobuf::Struct header;
  std::string alg;
  absl::string_view signing_input;  // "<header>.<payload>", what the signature covers.
  absl::string_view payload_b64;
  std::string signature;
};

absl::StatusOr<UnverifiedJwt> SplitJwt(absl::string_view token) {
  const std::vector<absl::string_view> parts = absl::StrSplit(token, '.');
  if (parts.size() != 3 || parts[0].empty() || parts[1].empty()) {
    return Unauthenticated("not a JWS compact token (header.payload.signature)");
  }
  UnverifiedJwt jwt;
  absl::StatusOr<std::string> header_json = Base64UrlDecode(parts[0]);
  if (!header_json.ok()) return Unauthenticated("header is not base64url");
  absl::StatusOr<google::protobuf::Struct> header = ParseJsonObject(*header_json);
  if (!header.ok()) return Unauthenticated("header is not a JSON object");
  jwt.header = *std::move(header);
  auto alg = jwt.header.fields().find("alg");
  if (alg == jwt.header.fields().end() ||
      alg->second.kind_case() != google::protobuf::Value::kStringValue) {
    return Unauthenticated("no alg");
  }
  jwt.alg = alg->second.string_value();
  absl::StatusOr<std::string> signature = Base64UrlDecode(parts[2]);
  if (!signature.ok()) return Unauthenticated("signature is not base64url");
  jwt.signature = *std::move(signature);
  jwt.signing_input = absl::string_view(token.data(), parts[0].size() + 1 + parts[1].size());
  jwt.payload_b64 = parts[1];
  return jwt;
}

bool HmacMatches(absl::string_view secret, const UnverifiedJwt& jwt) {
  const std::string expected = HmacSha256(secret, jwt.signing_input);
  return jwt.signature.size() == expected.size() &&
         CRYPTO_memcmp(jwt.signature.data(), expected.data(), expected.size()) == 0;
}

// JWS ES256 signatures are r || s (32 bytes each); OpenSSL verifies DER ECDSA-Sig-Value.
absl::StatusOr<std::string> Es256SignatureToDer(absl::string_view raw) {
  if (raw.size() != 64) return absl::InvalidArgumentError("not 64 bytes");
  const auto* bytes = reinterpret_cast<const unsigned char*>(raw.data());
  std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> sig(ECDSA_SIG_new(), ECDSA_SIG_free);
  BIGNUM* r = BN_bin2bn(bytes, 32, nullptr);
  BIGNUM* s = BN_bin2bn(bytes + 32, 32, nullptr);
  if (sig == nullptr || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return absl::InternalError("ECDSA_SIG");
  }
  unsigned char* der = nullptr;
  const int length = i2d_ECDSA_SIG(sig.get(), &der);
  if (length <= 0) return absl::InternalError("i2d_ECDSA_SIG");
  std::string out(reinterpret_cast<const char*>(der), static_cast<size_t>(length));
  OPENSSL_free(der);
  return out;
}

bool PublicKeyVerifies(EVP_PKEY* key, absl::string_view alg, const UnverifiedJwt& jwt) {
  std::string signature = jwt.signature;
  if (alg == "ES256") {
    absl::StatusOr<std::string> der = Es256SignatureToDer(jwt.signature);
    if (!der.ok()) return false;
    signature = *std::move(der);
  }
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (ctx == nullptr || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1) {
    return false;
  }
  // RS256 is RSASSA-PKCS1-v1_5, OpenSSL's default padding for an RSA key.
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                          signature.size(),
                          reinterpret_cast<const unsigned char*>(jwt.signing_input.data()),
                          jwt.signing_input.size()) == 1;
}

// The aud, iss and lifetime rules of `options` (exp has been checked to be a number, if present).
absl::Status CheckAudienceIssuerAndLifetime(const google::protobuf::Struct& payload, double now_s,
                                            const JwtVerifyOptions& options) {
  const auto& fields = payload.fields();
  if (!options.audience.empty()) {
    bool named = false;
    if (auto aud = fields.find("aud"); aud != fields.end()) {
      if (aud->second.kind_case() == google::protobuf::Value::kStringValue) {
        named = aud->second.string_value() == options.audience;
      } else if (aud->second.kind_case() == google::protobuf::Value::kListValue) {
        for (const google::protobuf::Value& one : aud->second.list_value().values()) {
          named = named || (one.kind_case() == google::protobuf::Value::kStringValue &&
                            one.string_value() == options.audience);
        }
      }
    }
    if (!named) return Unauthenticated("aud does not name this API");
  }
  if (!options.issuers.empty()) {
    auto iss = fields.find("iss");
    const bool accepted =
        iss != fields.end() && iss->second.kind_case() == google::protobuf::Value::kStringValue &&
        std::find(options.issuers.begin(), options.issuers.end(), iss->second.string_value()) !=
            options.issuers.end();
    if (!accepted) return Unauthenticated("iss is not an accepted issuer");
  }
  if (options.max_lifetime != absl::InfiniteDuration()) {
    bool has_exp = false;
    bool has_iat = false;
    double exp = 0;
    double iat = 0;
    NumericClaim(payload, "exp", &has_exp, &exp);
    if (!NumericClaim(payload, "iat", &has_iat, &iat))
      return Unauthenticated("iat is not a number");
    const double max_s = absl::ToDoubleSeconds(options.max_lifetime);
    // Without exp (allowed only when require_exp is off) a token is valid forever.
    const double lifetime = !has_exp ? HUGE_VAL : has_iat ? exp - iat : exp - now_s;
    const double allowed = has_iat ? max_s : max_s + absl::ToDoubleSeconds(options.leeway);
    if (lifetime > allowed) {
      return Unauthenticated(absl::StrCat("token lifetime exceeds the ",
                                          absl::ToInt64Seconds(options.max_lifetime),
                                          " s this API accepts"));
    }
  }
  return absl::OkStatus();
}

// The payload of a token whose signature verified, with exp/nbf checked.
absl::StatusOr<VerifiedJwt> FinishVerification(UnverifiedJwt jwt, const JwtVerifyOptions& options) {
  VerifiedJwt verified;
  verified.header = std::move(jwt.header);
  absl::StatusOr<std::string> payload_json = Base64UrlDecode(jwt.payload_b64);
  if (!payload_json.ok()) return Unauthenticated("payload is not base64url");
  absl::StatusOr<google::protobuf::Struct> payload = ParseJsonObject(*payload_json);
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
  if (absl::Status claims = CheckAudienceIssuerAndLifetime(verified.payload, now_s, options);
      !claims.ok()) {
    return claims;
  }
  return verified;
}

}  // namespace

absl::StatusOr<VerifiedJwt> VerifyJwtHs256(absl::string_view token, absl::string_view secret,
                                           const JwtVerifyOptions& options) {
  if (secret.empty()) return absl::FailedPreconditionError("no JWT secret configured");
  absl::StatusOr<UnverifiedJwt> jwt = SplitJwt(token);
  if (!jwt.ok()) return jwt.status();
  if (jwt->alg != "HS256") return Unauthenticated("alg must be HS256");
  if (!HmacMatches(secret, *jwt)) return Unauthenticated("signature does not verify");
  return FinishVerification(*std::move(jwt), options);
}

absl::Status JwtVerifier::SetSecret(std::string secret) {
  if (secret.size() < 32) {
    return absl::InvalidArgumentError("shorter than 32 bytes; an HS256 secret needs at least 32");
  }
  secret_ = std::move(secret);
  return absl::OkStatus();
}

absl::Status JwtVerifier::SetPublicKeyPem(absl::string_view pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  EVP_PKEY* raw =
      bio == nullptr ? nullptr : PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
  if (raw == nullptr) {
    return absl::InvalidArgumentError(
        "not a PEM public key (-----BEGIN PUBLIC KEY-----, SubjectPublicKeyInfo)");
  }
  std::shared_ptr<EVP_PKEY> key(raw, EVP_PKEY_free);
  switch (EVP_PKEY_get_base_id(key.get())) {
    case EVP_PKEY_RSA:
      if (EVP_PKEY_get_bits(key.get()) < 2048) {
        return absl::InvalidArgumentError("an RSA key for RS256 needs at least 2048 bits");
      }
      public_key_algorithm_ = "RS256";
      break;
    case EVP_PKEY_EC: {
      char group[64] = {0};
      size_t length = 0;
      if (EVP_PKEY_get_group_name(key.get(), group, sizeof(group), &length) != 1 ||
          absl::string_view(group, length) != "prime256v1") {
        return absl::InvalidArgumentError("an EC key for ES256 must be on P-256 (prime256v1)");
      }
      public_key_algorithm_ = "ES256";
      break;
    }
    default:
      return absl::InvalidArgumentError("only RSA (RS256) and EC P-256 (ES256) keys are supported");
  }
  public_key_ = std::move(key);
  return absl::OkStatus();
}

absl::StatusOr<VerifiedJwt> JwtVerifier::Verify(absl::string_view token,
                                                const JwtVerifyOptions& options) const {
  if (!configured()) return absl::FailedPreconditionError("no JWT key configured");
  absl::StatusOr<UnverifiedJwt> jwt = SplitJwt(token);
  if (!jwt.ok()) return jwt.status();
  // The algorithm is ours to choose, never the token's: it must be the one of a configured key.
  if (jwt->alg == "HS256" && has_secret()) {
    if (!HmacMatches(secret_, *jwt)) return Unauthenticated("signature does not verify");
  } else if (has_public_key() && jwt->alg == public_key_algorithm_) {
    if (!PublicKeyVerifies(public_key_.get(), jwt->alg, *jwt)) {
      return Unauthenticated("signature does not verify");
    }
  } else {
    std::string accepted = has_secret() ? "HS256" : "";
    if (has_public_key()) {
      absl::StrAppend(&accepted, accepted.empty() ? "" : " or ", public_key_algorithm_);
    }
    return Unauthenticated(absl::StrCat("alg must be ", accepted));
  }
  return FinishVerification(*std::move(jwt), options);
}

}  // namespace livecall
