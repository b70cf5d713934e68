#include "common/language.h"

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace livecall {
namespace {

using ::livecall::testing::StatusIs;
using ::testing::HasSubstr;

// What ParseLanguage answers for `tag`: the language, or "error: ..." (so a test shows both).
std::string Parsed(absl::string_view tag) {
  absl::StatusOr<std::string> language = ParseLanguage(tag);
  return language.ok() ? *language : absl::StrCat("error: ", language.status().message());
}

TEST(ParseLanguageTest, BareCodesAreThemselves) {
  EXPECT_EQ(Parsed("uz"), "uz");
  EXPECT_EQ(Parsed("ru"), "ru");
  EXPECT_EQ(Parsed("en"), "en");
}

TEST(ParseLanguageTest, Bcp47TagsInAnyCaseNameTheirLanguage) {
  for (const char* tag : {"uz-UZ", "UZ-uz", "uz-Latn-UZ", "uz-latn", "Uz"}) {
    EXPECT_EQ(Parsed(tag), "uz") << tag;
  }
  for (const char* tag : {"ru-RU", "ru-ru", "RU", "ru-KZ", "ru-Cyrl-RU"}) {
    EXPECT_EQ(Parsed(tag), "ru") << tag;
  }
  for (const char* tag : {"en-US", "en-GB", "EN-us", "en-001", "en-Latn-US"}) {
    EXPECT_EQ(Parsed(tag), "en") << tag;
  }
}

TEST(ParseLanguageTest, OtherLanguagesAndMalformedTagsAreRefusedByName) {
  for (const char* tag : {"", "de", "de-DE", "uzb", "rus", "english", "u", "ru_RU", "ru-", "-ru",
                          "ru--RU", "ru RU", "ru-RU-toolongsubtag", "русский"}) {
    EXPECT_THAT(ParseLanguage(tag), StatusIs(absl::StatusCode::kInvalidArgument,
                                             HasSubstr(absl::StrCat("\"", tag, "\""))))
        << tag;
  }
}

TEST(ParseLanguageTest, AScriptTheSuiteDoesNotSpeakIsRefused) {
  EXPECT_THAT(ParseLanguage("uz-Cyrl-UZ"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("Latn")));
  EXPECT_THAT(ParseLanguage("ru-Latn"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("Cyrl")));
}

TEST(DefaultLanguageForNumberTest, FollowsTheNumbersCountry) {
  EXPECT_EQ(DefaultLanguageForNumber("+998901112233"), "uz");
  EXPECT_EQ(DefaultLanguageForNumber("+74951234567"), "ru");
  EXPECT_EQ(DefaultLanguageForNumber("+14155552671"), "en");
}

}  // namespace
}  // namespace livecall
