#include "common/language.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/phone_number.h"

namespace livecall {
namespace {

bool AllOf(absl::string_view text, bool (*predicate)(unsigned char)) {
  for (char c : text) {
    if (!predicate(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

absl::Status NotALanguage(absl::string_view tag) {
  return absl::InvalidArgumentError(
      absl::StrCat("language \"", tag, "\" is not one of uz, ru, en (or a BCP-47 tag of one, ",
                   "such as uz-UZ, uz-Latn-UZ, ru-RU, en-US)"));
}

}  // namespace

bool IsSupportedLanguage(absl::string_view language) {
  return language == "uz" || language == "ru" || language == "en";
}

absl::StatusOr<std::string> ParseLanguage(absl::string_view tag) {
  // RFC 5646 §2.1: subtags of 1-8 letters and digits joined by '-'; the primary language subtag
  // is 2-3 letters (ISO 639), an optional script is 4 letters and comes right after it.
  const std::vector<absl::string_view> subtags = absl::StrSplit(tag, '-');
  for (absl::string_view subtag : subtags) {
    if (subtag.empty() || subtag.size() > 8 || !AllOf(subtag, absl::ascii_isalnum)) {
      return NotALanguage(tag);
    }
  }
  const std::string language = absl::AsciiStrToLower(subtags[0]);
  if (!IsSupportedLanguage(language)) return NotALanguage(tag);
  if (subtags.size() > 1 && subtags[1].size() == 4 && AllOf(subtags[1], absl::ascii_isalpha)) {
    const std::string script = absl::AsciiStrToLower(subtags[1]);
    const absl::string_view spoken = language == "ru" ? "Cyrl" : "Latn";
    if (script != absl::AsciiStrToLower(spoken)) {
      return absl::InvalidArgumentError(absl::StrCat("language \"", tag, "\": the suite speaks ",
                                                     language, " in ", spoken, " script only"));
    }
  }
  return language;
}

std::string DefaultLanguageForNumber(absl::string_view e164) {
  const std::string region = PhoneRegion(e164);
  if (region == "UZ") return "uz";
  if (region == "RU" || region == "KZ" || region == "KG" || region == "TJ" || region == "BY") {
    return "ru";
  }
  return "en";
}

}  // namespace livecall
