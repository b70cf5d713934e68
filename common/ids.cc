#include "common/ids.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace livecall {

std::string NewId(absl::string_view prefix, int bytes) {
  std::vector<unsigned char> buffer(bytes);
  if (RAND_bytes(buffer.data(), bytes) != 1) {
    // No entropy means no safe ids; continuing would hand out guessable URLs.
    std::abort();
  }
  return absl::StrCat(prefix, absl::BytesToHexString(absl::string_view(
                                  reinterpret_cast<const char*>(buffer.data()), buffer.size())));
}

std::string NewRequestId() {
  thread_local absl::BitGen generator;
  static constexpr char kHexDigits[] = "0123456789abcdef";
  std::string id(32, '0');
  for (size_t half = 0; half < 2; ++half) {
    uint64_t bits = generator();
    for (size_t i = 16 * half + 16; i > 16 * half; bits >>= 4) id[--i] = kHexDigits[bits & 0xf];
  }
  return id;
}

bool IsCallSidShaped(absl::string_view sid) {
  return sid.size() == 34 && absl::StartsWith(sid, "CA") &&
         std::all_of(sid.begin() + 2, sid.end(),
                     [](char c) { return absl::ascii_isxdigit(static_cast<unsigned char>(c)); });
}

}  // namespace livecall
