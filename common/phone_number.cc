#include "common/phone_number.h"

#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>

#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/bounded_cache.h"

namespace livecall {
namespace {

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

// A number is at most 15 digits; allow generous formatting but refuse anything huge.
constexpr size_t kMaxPhoneInputLength = 64;

// Only valid numbers are kept: a flood of garbage can age good entries out but never grows the
// cache, and errors are rare.
BoundedCache<std::string>& NormalizedCache() {
  static auto& cache = *new BoundedCache<std::string>(kPhoneCacheCapacity);
  return cache;
}

BoundedCache<std::string>& RegionCache() {
  static auto& cache = *new BoundedCache<std::string>(kPhoneCacheCapacity);
  return cache;
}

}  // namespace

absl::StatusOr<std::string> NormalizePhoneNumber(absl::string_view input,
                                                 absl::string_view default_region) {
  if (input.size() > kMaxPhoneInputLength + 16) {
    return NormalizePhoneNumberUncached(input, default_region);  // Refused there, not kept.
  }
  // The region is part of the key ('\n' cannot be in a region code): "901112233" is another
  // number in another default region.
  const std::string key = absl::StrCat(default_region, "\n", input);
  if (std::optional<std::string> e164 = NormalizedCache().Find(key)) return *std::move(e164);
  absl::StatusOr<std::string> e164 = NormalizePhoneNumberUncached(input, default_region);
  if (e164.ok()) NormalizedCache().Insert(key, *e164);
  return e164;
}

std::string PhoneRegion(absl::string_view e164) {
  if (e164.size() > kMaxPhoneInputLength) return PhoneRegionUncached(e164);
  if (std::optional<std::string> region = RegionCache().Find(e164)) return *std::move(region);
  std::string region = PhoneRegionUncached(e164);
  RegionCache().Insert(e164, region);
  return region;
}

size_t NormalizedPhoneCacheSize() { return NormalizedCache().size(); }
size_t PhoneRegionCacheSize() { return RegionCache().size(); }

absl::StatusOr<std::string> NormalizePhoneNumberUncached(absl::string_view input,
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

std::string PhoneRegionUncached(absl::string_view e164) {
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
