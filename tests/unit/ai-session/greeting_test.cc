#include "services/ai-session/greeting.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace livecall::ai_session {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

livecall::v1::Customer Dilshod() {
  livecall::v1::Customer customer;
  customer.set_name("Dilshod Karimov");
  customer.set_known(true);
  (*customer.mutable_attributes())["open_issue"] = "internet tez-tez uzilib qolmoqda";
  return customer;
}

TEST(GreetingTest, UzbekGreetingNamesTheCustomerAndTheOpenIssue) {
  std::string greeting = BuildGreeting(Dilshod(), "uz", "outbound");
  EXPECT_THAT(greeting, StartsWith("Assalomu alaykum, Dilshod!"));
  EXPECT_THAT(greeting, HasSubstr("internet tez-tez uzilib qolmoqda"));
  EXPECT_THAT(greeting, HasSubstr("yordam"));
}

TEST(GreetingTest, RussianAndEnglishTemplatesAreUsed) {
  EXPECT_THAT(BuildGreeting(Dilshod(), "ru", "inbound"), StartsWith("Здравствуйте, Dilshod!"));
  EXPECT_THAT(BuildGreeting(Dilshod(), "en", "inbound"), StartsWith("Hello, Dilshod!"));
  EXPECT_THAT(BuildGreeting(Dilshod(), "en", "inbound"), HasSubstr("Thank you for calling"));
  EXPECT_THAT(BuildGreeting(Dilshod(), "en", "outbound"), HasSubstr("calling"));
}

TEST(GreetingTest, UnknownCallerGetsAGenericGreeting) {
  livecall::v1::Customer unknown;
  std::string greeting = BuildGreeting(unknown, "uz", "inbound");
  EXPECT_THAT(greeting, StartsWith("Assalomu alaykum!"));
  EXPECT_THAT(greeting, Not(HasSubstr("{")));
}

TEST(FirstNameTest, TakesTheFirstWord) {
  EXPECT_EQ(FirstName("  Анна Петрова "), "Анна");
  EXPECT_EQ(FirstName("Madonna"), "Madonna");
  EXPECT_EQ(FirstName(""), "");
}

}  // namespace
}  // namespace livecall::ai_session
