#include "services/call-control/tts/text_normalizer.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace livecall::call_control::tts {
namespace {

constexpr const char* kUzOnes[] = {"nol",  "bir",  "ikki",  "uch",    "to'rt",
                                   "besh", "olti", "yetti", "sakkiz", "to'qqiz"};
constexpr const char* kUzTens[] = {"",      "o'n",     "yigirma", "o'ttiz", "qirq",
                                   "ellik", "oltmish", "yetmish", "sakson", "to'qson"};
constexpr const char* kUzScales[] = {"", "ming", "million", "milliard", "trillion"};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Thousands separators inside a number: space, no-break space (U+00A0), narrow no-break space
// (U+202F). Returns the separator's length in bytes at `at`, or 0.
size_t GroupSeparatorAt(absl::string_view text, size_t at) {
  if (at < text.size() && text[at] == ' ') return 1;
  if (absl::StartsWith(text.substr(at), "\xC2\xA0")) return 2;
  if (absl::StartsWith(text.substr(at), "\xE2\x80\xAF")) return 3;
  return 0;
}

bool IsWordByte(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || (c & 0x80) != 0;
}

// The currency word or code of Uzbek so'm right at `at` (after optional spaces), as its length
// in bytes including those spaces; 0 when there is none.
size_t CurrencyAt(absl::string_view text, size_t at) {
  size_t start = at;
  while (start < text.size() && text[start] == ' ') ++start;
  const absl::string_view rest = text.substr(start);
  for (absl::string_view word :
       {"so'm", "so\xE2\x80\x98m", "so\xCA\xBBm", "so\xE2\x80\x99m", "som", "sum", "uzs",
        "\xD1\x81\xD1\x83\xD0\xBC", "\xD1\x81\xD1\x9E\xD0\xBC", "\xD0\xA1\xD0\xA3\xD0\x9C"}) {
    if (rest.size() >= word.size() && absl::EqualsIgnoreCase(rest.substr(0, word.size()), word) &&
        (rest.size() == word.size() || !IsWordByte(rest[word.size()]))) {
      return start - at + word.size();
    }
  }
  return 0;
}

std::string UzbekBelowThousand(int number) {
  std::vector<std::string> words;
  if (number >= 100) words.push_back(absl::StrCat(kUzOnes[number / 100], " yuz"));
  if ((number / 10) % 10 != 0) words.push_back(kUzTens[(number / 10) % 10]);
  if (number % 10 != 0) words.push_back(kUzOnes[number % 10]);
  return absl::StrJoin(words, " ");
}

// Digit by digit ("0012" -> "nol nol bir ikki"): codes, and numbers too long to say as one.
std::string UzbekDigits(absl::string_view digits) {
  std::vector<std::string> words;
  for (char c : digits) words.push_back(kUzOnes[c - '0']);
  return absl::StrJoin(words, " ");
}

// A group of a phone number as said aloud: "05" -> "nol besh", "111" -> "bir yuz o'n bir".
std::string UzbekPhoneGroup(absl::string_view digits) {
  std::string words;
  while (digits.size() > 1 && digits[0] == '0') {
    absl::StrAppend(&words, "nol ");
    digits.remove_prefix(1);
  }
  uint64_t value = 0;
  (void)absl::SimpleAtoi(digits, &value);
  return absl::StrCat(words, UzbekNumber(value));
}

std::string SayNumber(absl::string_view digits, absl::string_view language) {
  if (language != "uz") return std::string(digits);
  uint64_t value = 0;
  if (digits.size() > 15 || (digits.size() > 1 && digits[0] == '0') ||
      !absl::SimpleAtoi(digits, &value)) {
    return UzbekDigits(digits);
  }
  return UzbekNumber(value);
}

std::string SayPhone(const std::vector<std::string>& groups, absl::string_view language) {
  std::vector<std::string> said;
  for (const std::string& group : groups) {
    said.push_back(language == "uz" ? UzbekPhoneGroup(group) : group);
  }
  const std::string plus = language == "uz"   ? "plyus "
                           : language == "ru" ? "\xD0\xBF\xD0\xBB\xD1\x8E\xD1\x81 "
                                              : "plus ";
  return absl::StrCat(groups.size() == 5 ? plus : "", absl::StrJoin(said, ", "));
}

std::string SayAmount(absl::string_view digits, absl::string_view language) {
  if (language == "uz") return absl::StrCat(SayNumber(digits, language), " so'm");
  if (language == "ru") return absl::StrCat(digits, " \xD1\x81\xD1\x83\xD0\xBC");
  return absl::StrCat(digits, digits == "1" ? " soum" : " soums");
}

// A phone number starting at `at` ("+998 90 111-22-33", "(90) 111 22 33", "998901112233"): its
// groups (998, 90, 111, 22, 33 or without 998) and its length in bytes; empty when there is none.
std::vector<std::string> PhoneAt(absl::string_view text, size_t at, size_t* length) {
  size_t end = at;
  const bool plus = text[at] == '+';
  if (plus) ++end;
  std::string digits;
  int separators = 0;
  size_t last_digit_end = end;
  while (end < text.size()) {
    const char c = text[end];
    if (IsDigit(c)) {
      digits.push_back(c);
      last_digit_end = end + 1;
    } else if (c == ' ' || c == '-' || c == '(' || c == ')') {
      ++separators;
    } else {
      break;
    }
    ++end;
    if (digits.size() > 12) return {};
  }
  if (last_digit_end < text.size() && IsWordByte(text[last_digit_end])) return {};
  const bool international = digits.size() == 12 && absl::StartsWith(digits, "998");
  const bool national = digits.size() == 9 && separators >= 2 && !plus;
  if (!international && !national) return {};
  *length = last_digit_end - at;
  std::vector<std::string> groups;
  absl::string_view rest = digits;
  if (international) {
    groups.emplace_back(rest.substr(0, 3));
    rest.remove_prefix(3);
  }
  for (size_t size : {2, 3, 2, 2}) {
    groups.emplace_back(rest.substr(0, size));
    rest.remove_prefix(size);
  }
  return groups;
}

}  // namespace

std::string UzbekNumber(uint64_t number) {
  if (number == 0) return kUzOnes[0];
  std::vector<std::string> words;
  int scale = 0;
  while (number > 0 && scale < 5) {
    const int group = static_cast<int>(number % 1000);
    if (group != 0) {
      std::string part = UzbekBelowThousand(group);
      if (scale > 0) absl::StrAppend(&part, " ", kUzScales[scale]);
      words.insert(words.begin(), std::move(part));
    }
    number /= 1000;
    ++scale;
  }
  return absl::StrJoin(words, " ");
}

std::string NormalizeForSpeech(absl::string_view text, absl::string_view language) {
  if (language != "uz" && language != "ru" && language != "en") return std::string(text);
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    const bool starts_number =
        IsDigit(c) || ((c == '+' || c == '(') && i + 1 < text.size() && IsDigit(text[i + 1]));
    if (!starts_number || (i > 0 && IsWordByte(text[i - 1]))) {
      out.push_back(c);
      ++i;
      continue;
    }
    size_t length = 0;
    if (std::vector<std::string> phone = PhoneAt(text, i, &length); !phone.empty()) {
      absl::StrAppend(&out, SayPhone(phone, language));
      i += length;
      continue;
    }
    if (c == '+' || c == '(') {
      out.push_back(c);
      ++i;
      continue;
    }
    // A number, with thousands groups: "150 000", and "1,500" in English.
    std::string digits;
    size_t end = i;
    while (end < text.size() && IsDigit(text[end])) digits.push_back(text[end++]);
    while (true) {
      size_t separator = GroupSeparatorAt(text, end);
      if (separator == 0 && language == "en" && end < text.size() && text[end] == ',') {
        separator = 1;
      }
      const size_t group = end + separator;
      if (separator == 0 || group + 3 > text.size() || !IsDigit(text[group]) ||
          !IsDigit(text[group + 1]) || !IsDigit(text[group + 2]) ||
          (group + 3 < text.size() && IsDigit(text[group + 3]))) {
        break;
      }
      absl::StrAppend(&digits, text.substr(group, 3));
      end = group + 3;
    }
    if (const size_t currency = CurrencyAt(text, end); currency > 0) {
      absl::StrAppend(&out, SayAmount(digits, language));
      i = end + currency;
      continue;
    }
    absl::StrAppend(&out, SayNumber(digits, language));
    if (language == "uz" && end < text.size() && text[end] == '%') {
      absl::StrAppend(&out, " foiz");
      ++end;
    }
    i = end;
  }
  return out;
}

}  // namespace livecall::call_control::tts
