#include "common/phone_number.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace livecall {
namespace {

using ::livecall::testing::StatusIs;
using ::testing::HasSubstr;

TEST(NormalizePhoneNumberTest, UzbekSpellingsAreOneE164Number) {
  for (const char* spelling : {"+998901112233", "+998 90 111-22-33", "90 111 22 33", "901112233",
                               "998901112233", "(90) 111-22-33", "  +998-90-111-22-33  "}) {
    absl::StatusOr<std::string> e164 = NormalizePhoneNumber(spelling);
    ASSERT_TRUE(e164.ok()) << spelling << ": " << e164.status();
    EXPECT_EQ(*e164, "+998901112233") << spelling;
  }
}

TEST(NormalizePhoneNumberTest, ForeignNumbersKeepTheirCountry) {
  EXPECT_EQ(*NormalizePhoneNumber("+7 495 123-45-67"), "+74951234567");
  EXPECT_EQ(*NormalizePhoneNumber("+1 (415) 555-2671"), "+14155552671");
}

TEST(NormalizePhoneNumberTest, EmptyInputIsRejected) {
  EXPECT_THAT(NormalizePhoneNumber("   "),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("required")));
}

TEST(NormalizePhoneNumberTest, GarbageAndShortNumbersAreRejected) {
  for (const char* bad : {"hello", "123", "+998 12", "+998 00 000 00 00"}) {
    EXPECT_THAT(NormalizePhoneNumber(bad), StatusIs(absl::StatusCode::kInvalidArgument)) << bad;
  }
}

TEST(NormalizePhoneNumberTest, OverlongInputIsRejectedWithoutParsing) {
  EXPECT_THAT(NormalizePhoneNumber(std::string(10000, '9')),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("too long")));
}

TEST(PhoneRegionTest, NamesTheCountryOfAnE164Number) {
  EXPECT_EQ(PhoneRegion("+998901112233"), "UZ");
  EXPECT_EQ(PhoneRegion("+74951234567"), "RU");
  EXPECT_EQ(PhoneRegion("not a number"), "ZZ");
}

}  // namespace
}  // namespace livecall
