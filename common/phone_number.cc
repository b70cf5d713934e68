#include "common/phone_number.h"

#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace livecall {
namespace {

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

// A number is at most 15 digits; allow generous formatting but refuse anything huge.
constexpr size_t kMaxPhoneInputLength = 64;

}  // namespace

absl::StatusOr<std::string> NormalizePhoneNumber(absl::string_view input,
                                                 absl::string_view default_region) {
  absl::string_view trimmed = absl::StripAsciiWhitespace(input);
  if (trimmed.empty()) return absl::InvalidArgumentError("phone number is required");
  if (trimmed.size() > kMaxPhoneInputLength) {
    return absl::InvalidArgumentError("phone number is too long");
  }
  const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
  std::string text(trimmed);
  // "998901112233" is an E.164 number without its '+', a common spelling in CRMs.
  if (text.size() == 12 && text.rfind("998", 0) == 0 &&
      text.find_first_not_of("0123456789") == std::string::npos) {
    text = "+" + text;
  }
  PhoneNumber number;
  PhoneNumberUtil::ErrorType error = util.Parse(text, std::string(default_region), &number);
  if (error != PhoneNumberUtil::NO_PARSING_ERROR || !util.IsValidNumber(number)) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", trimmed, "\" is not a valid phone number"));
  }
  std::string e164;
  util.Format(number, PhoneNumberUtil::E164, &e164);
  return e164;
}

std::string PhoneRegion(absl::string_view e164) {
  const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
  PhoneNumber number;
  if (util.Parse(std::string(e164), "ZZ", &number) != PhoneNumberUtil::NO_PARSING_ERROR) {
    return "ZZ";
  }
  std::string region;
  util.GetRegionCodeForNumber(number, &region);
  return region;
}

}  // namespace livecall
