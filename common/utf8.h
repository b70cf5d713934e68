#ifndef LIVECALL_COMMON_UTF8_H_
#define LIVECALL_COMMON_UTF8_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace livecall {

// At most `limit` bytes of `text`, never splitting a UTF-8 sequence (cut before it instead).
inline std::string TruncateUtf8(absl::string_view text, size_t limit) {
  if (text.size() <= limit) return std::string(text);
  size_t end = limit;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return std::string(text.substr(0, end));
}

}  // namespace livecall

#endif  // LIVECALL_COMMON_UTF8_H_
