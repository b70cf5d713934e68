#include "common/phone_number.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
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

// The cache must never change an answer: each spelling, asked twice (the second answer comes from
// the cache when the first was valid), answers exactly what libphonenumber answers.
TEST(NormalizePhoneNumberTest, CachedAnswersAreLibphonenumbersAnswers) {
  const std::vector<std::pair<std::string, std::string>> spellings = {
      {"+998901112233", "UZ"},
      {"+998 90 111-22-33", "UZ"},
      {"90 111 22 33", "UZ"},
      {"998901112233", "UZ"},
      {"(90) 111-22-33", "UZ"},
      {"  +998-90-111-22-33  ", "UZ"},
      {"901112233", "RU"},
      {"4951234567", "RU"},
      {"4951234567", "UZ"},
      {"8 (495) 123-45-67", "RU"},
      {"+7 495 123-45-67", "UZ"},
      {"(415) 555-2671", "US"},
      {"+1 (415) 555-2671", "UZ"},
      {"+44 20 7946 0958", "UZ"},
      {"hello", "UZ"},
      {"123", "UZ"},
      {"+998 12", "UZ"},
      {"+998 00 000 00 00", "UZ"},
      {"   ", "UZ"},
      {"+998901112233", "ZZ"},
      {"901112233", "ZZ"},
      {std::string(70, '9'), "UZ"}};
  for (int round = 0; round < 2; ++round) {
    for (const auto& [spelling, region] : spellings) {
      absl::StatusOr<std::string> cached = NormalizePhoneNumber(spelling, region);
      absl::StatusOr<std::string> authority = NormalizePhoneNumberUncached(spelling, region);
      EXPECT_EQ(cached.status(), authority.status()) << spelling << " in " << region;
      if (cached.ok() && authority.ok()) {
        EXPECT_EQ(*cached, *authority) << spelling << " in " << region;
      }
    }
  }
}

TEST(NormalizePhoneNumberTest, TheCacheStaysBounded) {
  for (int i = 0; i < static_cast<int>(kPhoneCacheCapacity) + 1000; ++i) {
    const std::string number = absl::StrCat("+99890", 1000000 + i);
    ASSERT_EQ(*NormalizePhoneNumber(number), number);
    ASSERT_LE(NormalizedPhoneCacheSize(), kPhoneCacheCapacity);
  }
  EXPECT_GT(NormalizedPhoneCacheSize(), 0u);
}

TEST(PhoneRegionTest, CachedAnswersAreLibphonenumbersAnswers) {
  for (int round = 0; round < 2; ++round) {
    for (const char* e164 : {"+998901112233", "+74951234567", "+77012345678", "+14155552671",
                             "+442079460958", "not a number", "", "+"}) {
      EXPECT_EQ(PhoneRegion(e164), PhoneRegionUncached(e164)) << e164;
    }
  }
  EXPECT_LE(PhoneRegionCacheSize(), kPhoneCacheCapacity);
}

TEST(PhoneRegionTest, NamesTheCountryOfAnE164Number) {
  EXPECT_EQ(PhoneRegion("+998901112233"), "UZ");
  EXPECT_EQ(PhoneRegion("+74951234567"), "RU");
  EXPECT_EQ(PhoneRegion("not a number"), "ZZ");
}

}  // namespace
}  // namespace livecall
