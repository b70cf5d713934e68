#include "common/log.h"

#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace livecall {
namespace {

TEST(JsonEscapeTest, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(JsonEscape("say \"hi\"\\\n\t\x01"), "say \\\"hi\\\"\\\\\\n\\t\\u0001");
}

TEST(JsonEscapeTest, KeepsUtf8TextAsIs) {
  EXPECT_EQ(JsonEscape("Assalomu alaykum, Дильшод"), "Assalomu alaykum, Дильшод");
}

TEST(ParseLogLevelTest, KnownNamesParseAndUnknownOnesAreRejected) {
  EXPECT_EQ(*ParseLogLevel("DEBUG"), LogLevel::kDebug);
  EXPECT_EQ(*ParseLogLevel("warn"), LogLevel::kWarning);
  EXPECT_THAT(ParseLogLevel("loud"),
              ::livecall::testing::StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace livecall
