#ifndef LIVECALL_COMMON_PHONE_NUMBER_H_
#define LIVECALL_COMMON_PHONE_NUMBER_H_

// Phone numbers through libphonenumber: "90 111 22 33", "+998 90 111-22-33" and "998901112233"
// are one customer, "+998901112233".

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace livecall {

inline constexpr absl::string_view kDefaultPhoneRegion = "UZ";

// E.164 for a valid number; INVALID_ARGUMENT naming the input otherwise. A number without a
// country code is read in `default_region` (ISO 3166 code).
absl::StatusOr<std::string> NormalizePhoneNumber(
    absl::string_view input, absl::string_view default_region = kDefaultPhoneRegion);

// The ISO 3166 region of an E.164 number ("UZ", "RU", ...), or "ZZ" when unknown.
std::string PhoneRegion(absl::string_view e164);

}  // namespace livecall

#endif  // LIVECALL_COMMON_PHONE_NUMBER_H_
