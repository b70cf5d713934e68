#include "services/gateway/url.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "services/gateway/error_response.h"

namespace livecall::gateway {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

RequestTarget SplitTarget(absl::string_view target) {
  const size_t hash = target.find('#');
  if (hash != absl::string_view::npos) target = target.substr(0, hash);
  const size_t question = target.find('?');
  if (question == absl::string_view::npos) return {target, absl::string_view()};
  return {target.substr(0, question), target.substr(question + 1)};
}

absl::StatusOr<std::string> PercentDecode(absl::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  const absl::string_view specials = plus_is_space ? "%+" : "%";
  size_t i = 0;
  while (i < text.size()) {
    // The run up to the next escape is copied as it is, in one append.
    const size_t special = std::min(text.find_first_of(specials, i), text.size());
    out.append(text.data() + i, special - i);
    i = special;
    if (i == text.size()) break;
    if (text[i] == '+') {
      out.push_back(' ');
      ++i;
      continue;
    }
    if (i + 2 >= text.size()) {
      return absl::InvalidArgumentError("malformed percent-encoding: '%' at the end");
    }
    const int hi = HexValue(text[i + 1]);
    const int lo = HexValue(text[i + 2]);
    if (hi < 0 || lo < 0) {
      return absl::InvalidArgumentError(
          "malformed percent-encoding: '%' not followed by two "
          "hex digits");
    }
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 3;
  }
  // Plain ASCII is valid UTF-8 (the usual case: spared ToValidUtf8's copy).
  const bool ascii = std::all_of(out.begin(), out.end(),
                                 [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  if (!ascii && ToValidUtf8(out) != out) {
    return absl::InvalidArgumentError("percent-decoded text is not valid UTF-8");
  }
  return out;
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ParseQuery(
    absl::string_view query) {
  std::vector<std::pair<std::string, std::string>> params;
  for (absl::string_view piece : absl::StrSplit(query, '&', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> raw =
        absl::StrSplit(piece, absl::MaxSplits('=', 1));
    absl::StatusOr<std::string> key = PercentDecode(raw.first, /*plus_is_space=*/true);
    if (!key.ok()) return key.status();
    if (key->empty()) return absl::InvalidArgumentError("query parameter with an empty name");
    absl::StatusOr<std::string> value = PercentDecode(raw.second, /*plus_is_space=*/true);
    if (!value.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("query parameter \"", *key, "\": ", value.status().message()));
    }
    params.emplace_back(*std::move(key), *std::move(value));
  }
  return params;
}

}  // namespace livecall::gateway
