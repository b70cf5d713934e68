#include "services/gateway/twilio_signature.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace livecall::gateway {

namespace {

// HMAC-SHA1 (RFC 2104) keyed once per thread for the last key it was given. OpenSSL 3's one-shot
// HMAC() fetches the digest and keys a new context on every call (~19k instructions for a
// webhook's ~250 bytes, two per webhook); copying digest states that already absorbed the key's
// inner and outer pads costs ~7k. Any OpenSSL failure falls back to HMAC().
class KeyedSha1Hmac {
 public:
  KeyedSha1Hmac() : inner_(EVP_MD_CTX_new()), outer_(EVP_MD_CTX_new()), work_(EVP_MD_CTX_new()) {}
  ~KeyedSha1Hmac() {
    OPENSSL_cleanse(key_.data(), key_.size());
    EVP_MD_CTX_free(inner_);
    EVP_MD_CTX_free(outer_);
    EVP_MD_CTX_free(work_);
  }
  KeyedSha1Hmac(const KeyedSha1Hmac&) = delete;
  KeyedSha1Hmac& operator=(const KeyedSha1Hmac&) = delete;

  // HMAC-SHA1(key, first + second) into `digest` (20 bytes); false when OpenSSL fails.
  bool Sign(absl::string_view key, absl::string_view first, absl::string_view second,
            unsigned char* digest) {
    if (!(keyed_ && key == key_) && !SetKey(key)) return OneShot(key, first, second, digest);
    unsigned char inner_digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_MD_CTX_copy_ex(work_, inner_) != 1 ||
        EVP_DigestUpdate(work_, first.data(), first.size()) != 1 ||
        EVP_DigestUpdate(work_, second.data(), second.size()) != 1 ||
        EVP_DigestFinal_ex(work_, inner_digest, &length) != 1 ||
        EVP_MD_CTX_copy_ex(work_, outer_) != 1 ||
        EVP_DigestUpdate(work_, inner_digest, length) != 1 ||
        EVP_DigestFinal_ex(work_, digest, &length) != 1) {
      return OneShot(key, first, second, digest);
    }
    return true;
  }

 private:
  static constexpr size_t kBlockSize = 64;  // SHA-1's.

  bool SetKey(absl::string_view key) {
    keyed_ = false;
    if (inner_ == nullptr || outer_ == nullptr || work_ == nullptr) return false;
    unsigned char block[kBlockSize] = {};
    if (key.size() > kBlockSize) {
      unsigned int length = 0;
      if (EVP_Digest(key.data(), key.size(), block, &length, EVP_sha1(), nullptr) != 1) {
        return false;
      }
    } else {
      std::copy(key.begin(), key.end(), block);
    }
    unsigned char inner_pad[kBlockSize];
    unsigned char outer_pad[kBlockSize];
    for (size_t i = 0; i < kBlockSize; ++i) {
      inner_pad[i] = block[i] ^ 0x36;
      outer_pad[i] = block[i] ^ 0x5c;
    }
    const bool ok = EVP_DigestInit_ex(inner_, EVP_sha1(), nullptr) == 1 &&
                    EVP_DigestUpdate(inner_, inner_pad, kBlockSize) == 1 &&
                    EVP_DigestInit_ex(outer_, EVP_sha1(), nullptr) == 1 &&
                    EVP_DigestUpdate(outer_, outer_pad, kBlockSize) == 1;
    OPENSSL_cleanse(block, sizeof(block));
    OPENSSL_cleanse(inner_pad, sizeof(inner_pad));
    OPENSSL_cleanse(outer_pad, sizeof(outer_pad));
    if (!ok) return false;
    OPENSSL_cleanse(key_.data(), key_.size());
    key_.assign(key.data(), key.size());
    keyed_ = true;
    return true;
  }

  static bool OneShot(absl::string_view key, absl::string_view first, absl::string_view second,
                      unsigned char* digest) {
    const std::string data = absl::StrCat(first, second);
    unsigned int length = 0;
    return HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()),
                reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest,
                &length) != nullptr;
  }

  EVP_MD_CTX* const inner_;
  EVP_MD_CTX* const outer_;
  EVP_MD_CTX* const work_;
  std::string key_;
  bool keyed_ = false;
};

// Every parameter as name+value, sorted by name and then value in byte order, each (name, value)
// once: the order of the helper libraries' map of sorted, de-duplicated value sets.
std::string SignedParamsText(const FormParams& params) {
  std::vector<const std::pair<std::string, std::string>*> sorted;
  sorted.reserve(params.size());
  size_t size = 0;
  for (const auto& param : params) {
    sorted.push_back(&param);
    size += param.first.size() + param.second.size();
  }
  std::sort(sorted.begin(), sorted.end(), [](const auto* a, const auto* b) { return *a < *b; });
  std::string text;
  text.reserve(size);
  const std::pair<std::string, std::string>* previous = nullptr;
  for (const auto* param : sorted) {
    if (previous != nullptr && *previous == *param) continue;
    text.append(param->first).append(param->second);
    previous = param;
  }
  return text;
}

std::string SignatureOf(absl::string_view auth_token, absl::string_view url,
                        absl::string_view params_text) {
  thread_local KeyedSha1Hmac hmac;
  unsigned char digest[EVP_MAX_MD_SIZE];
  // No signature verifies against an empty one.
  if (!hmac.Sign(auth_token, url, params_text, digest)) return std::string();
  return absl::Base64Escape(absl::string_view(reinterpret_cast<const char*>(digest), 20));
}

}  // namespace

std::string ComputeTwilioSignature(absl::string_view auth_token, absl::string_view url,
                                   const FormParams& params) {
  return SignatureOf(auth_token, url, SignedParamsText(params));
}

std::vector<std::string> TwilioUrlVariants(absl::string_view url) {
  std::vector<std::string> variants;
  const size_t scheme_end = url.find("://");
  if (scheme_end == absl::string_view::npos) return variants;
  const absl::string_view scheme = url.substr(0, scheme_end);
  const size_t authority_start = scheme_end + 3;
  size_t authority_end = url.find_first_of("/?#", authority_start);
  if (authority_end == absl::string_view::npos) authority_end = url.size();
  const absl::string_view authority = url.substr(authority_start, authority_end - authority_start);
  const absl::string_view rest = url.substr(authority_end);
  const absl::string_view prefix = url.substr(0, authority_start);
  // The port follows the last ':' after any userinfo and outside an IPv6 literal.
  const size_t host_start =
      authority.rfind('@') == absl::string_view::npos ? 0 : authority.rfind('@') + 1;
  const size_t colon = authority.rfind(':');
  const size_t bracket = authority.rfind(']');
  const bool has_port = colon != absl::string_view::npos && colon >= host_start &&
                        (bracket == absl::string_view::npos || colon > bracket);
  const std::string default_port = absl::EqualsIgnoreCase(scheme, "https") ? "443" : "80";
  if (has_port) {
    variants.push_back(absl::StrCat(prefix, authority.substr(0, colon), rest));
  } else {
    variants.push_back(absl::StrCat(prefix, authority, ":", default_port, rest));
  }
  return variants;
}

bool ValidateTwilioSignature(absl::string_view auth_token, absl::string_view url,
                             const FormParams& params, absl::string_view signature) {
  if (auth_token.empty() || signature.empty()) return false;
  const std::string params_text = SignedParamsText(params);
  std::vector<std::string> candidates = TwilioUrlVariants(url);
  bool valid = false;
  auto check = [&](absl::string_view candidate) {
    const std::string expected = SignatureOf(auth_token, candidate, params_text);
    // Every candidate is compared, in constant time, so timing says nothing about which matched.
    if (expected.size() == signature.size() &&
        CRYPTO_memcmp(expected.data(), signature.data(), expected.size()) == 0) {
      valid = true;
    }
  };
  check(url);
  for (const std::string& variant : candidates) check(variant);
  return valid;
}

std::string Sha256Hex(absl::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), static_cast<size_t>(length)));
}

bool ValidateTwilioBodySignature(absl::string_view auth_token, absl::string_view url,
                                 absl::string_view body, absl::string_view body_sha256,
                                 absl::string_view signature) {
  const bool url_signed = ValidateTwilioSignature(auth_token, url, {}, signature);
  const std::string actual = Sha256Hex(body);
  const std::string claimed = absl::AsciiStrToLower(body_sha256);
  const bool body_matches = actual.size() == claimed.size() &&
                            CRYPTO_memcmp(actual.data(), claimed.data(), actual.size()) == 0;
  return url_signed && body_matches;
}

absl::StatusOr<absl::Time> ParseTwilioTimestamp(absl::string_view text) {
  const std::string value(absl::StripAsciiWhitespace(text));
  absl::Time parsed;
  std::string error;
  for (const char* format : {"%a, %d %b %Y %H:%M:%S %z", "%d %b %Y %H:%M:%S %z",
                             "%a, %d %b %Y %H:%M:%S GMT", absl::RFC3339_full}) {
    if (absl::ParseTime(format, value, absl::UTCTimeZone(), &parsed, &error)) return parsed;
  }
  return absl::InvalidArgumentError(absl::StrCat("Timestamp \"", value, "\" is not a date"));
}

absl::Status CheckTwilioReplayWindow(const FormParams& params, absl::Time now,
                                     absl::Duration window) {
  if (window <= absl::ZeroDuration()) return absl::OkStatus();
  for (const auto& [name, value] : params) {
    if (name != "Timestamp") continue;
    absl::StatusOr<absl::Time> at = ParseTwilioTimestamp(value);
    // A Timestamp that cannot be read cannot be shown to be inside the window, so it is refused:
    // the check must never be skipped because of what the parser does not understand.
    if (!at.ok()) {
      return absl::PermissionDeniedError(
          absl::StrCat("the webhook's Timestamp cannot be read as a date (", at.status().message(),
                       "), so it cannot be shown not to be a replay"));
    }
    if (absl::AbsDuration(now - *at) > window) {
      return absl::PermissionDeniedError(absl::StrCat(
          "the webhook's Timestamp is more than ", absl::FormatDuration(window),
          " from now: a replay, or a clock far off (LIVECALL_TWILIO_REPLAY_WINDOW_S)"));
    }
  }
  return absl::OkStatus();
}

}  // namespace livecall::gateway
