#include "services/gateway/twilio_signature.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace livecall::gateway {

std::string ComputeTwilioSignature(absl::string_view auth_token, absl::string_view url,
                                   const FormParams& params) {
  // std::map / std::set order std::string by bytes, as the helper libraries sort.
  std::map<std::string, std::set<std::string>> sorted;
  for (const auto& [name, value] : params) sorted[name].insert(value);
  std::string data(url);
  for (const auto& [name, values] : sorted) {
    for (const std::string& value : values) absl::StrAppend(&data, name, value);
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha1(), auth_token.data(), static_cast<int>(auth_token.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest, &length);
  return absl::Base64Escape(
      absl::string_view(reinterpret_cast<const char*>(digest), static_cast<size_t>(length)));
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
  std::vector<std::string> candidates = {std::string(url)};
  for (std::string& variant : TwilioUrlVariants(url)) candidates.push_back(std::move(variant));
  bool valid = false;
  for (const std::string& candidate : candidates) {
    const std::string expected = ComputeTwilioSignature(auth_token, candidate, params);
    // Every candidate is compared, in constant time, so timing says nothing about which matched.
    if (expected.size() == signature.size() &&
        CRYPTO_memcmp(expected.data(), signature.data(), expected.size()) == 0) {
      valid = true;
    }
  }
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
