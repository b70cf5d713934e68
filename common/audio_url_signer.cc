#include "common/audio_url_signer.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace livecall {
namespace {

constexpr size_t kKeyHexLength = 32;
constexpr size_t kMacHexLength = 32;

bool IsLowerHex(absl::string_view text, size_t length) {
  if (text.size() != length) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

absl::Status Forged() {
  return absl::PermissionDeniedError("this audio id is not one the suite signed");
}

}  // namespace

std::string AudioUrlSigner::Mac(absl::string_view key, int64_t expires_at) const {
  const std::string message = absl::StrCat("livecall-tts-v1|", key, "|", expires_at);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest, &length);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), kMacHexLength / 2));
}

std::string AudioUrlSigner::Sign(absl::string_view key, absl::Time expires_at) const {
  const int64_t expiry = absl::ToUnixSeconds(expires_at);
  return absl::StrCat(key, "-", expiry, "-", Mac(key, expiry));
}

absl::StatusOr<std::string> AudioUrlSigner::Verify(absl::string_view id, absl::Time now) const {
  const std::vector<absl::string_view> parts = absl::StrSplit(id, '-');
  if (parts.size() != 3 || !IsLowerHex(parts[0], kKeyHexLength) ||
      !IsLowerHex(parts[2], kMacHexLength) || parts[1].empty() || parts[1].size() > 12 ||
      !std::all_of(parts[1].begin(), parts[1].end(), absl::ascii_isdigit)) {
    return Forged();
  }
  int64_t expiry = 0;
  if (!absl::SimpleAtoi(parts[1], &expiry)) return Forged();
  const std::string expected = Mac(parts[0], expiry);
  if (CRYPTO_memcmp(expected.data(), parts[2].data(), kMacHexLength) != 0) return Forged();
  if (absl::FromUnixSeconds(expiry) <= now) {
    return absl::NotFoundError("this audio URL has expired");
  }
  return std::string(parts[0]);
}

}  // namespace livecall
