#ifndef LIVECALL_COMMON_PHONE_NUMBER_H_
#define LIVECALL_COMMON_PHONE_NUMBER_H_

// Phone numbers through libphonenumber: "90 111 22 33", "+998 90 111-22-33" and "998901112233"
// are one customer, "+998901112233".

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace livecall {

inline constexpr absl::string_view kDefaultPhoneRegion = "UZ";

// E.164 for a valid number; INVALID_ARGUMENT naming the input otherwise. A number without a
// country code is read in `default_region` (ISO 3166 code). Valid numbers are remembered (a
// bounded cache, kPhoneCacheCapacity spellings): libphonenumber's parse runs ICU regexes, and the
// same caller's number is normalised by every service on every call.
absl::StatusOr<std::string> NormalizePhoneNumber(
    absl::string_view input, absl::string_view default_region = kDefaultPhoneRegion);

// The ISO 3166 region of an E.164 number ("UZ", "RU", ...), or "ZZ" when unknown. Cached too.
std::string PhoneRegion(absl::string_view e164);

// The same answers straight from libphonenumber, never cached: the authority the cached ones are
// tested against.
absl::StatusOr<std::string> NormalizePhoneNumberUncached(
    absl::string_view input, absl::string_view default_region = kDefaultPhoneRegion);
std::string PhoneRegionUncached(absl::string_view e164);

inline constexpr size_t kPhoneCacheCapacity = 8192;
// Entries the process's caches hold now (each at most kPhoneCacheCapacity).
size_t NormalizedPhoneCacheSize();
size_t PhoneRegionCacheSize();

}  // namespace livecall

#endif  // LIVECALL_COMMON_PHONE_NUMBER_H_
