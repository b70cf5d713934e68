#include "services/gateway/url.h"

#include <gtest/gtest.h>

namespace livecall::gateway {
namespace {

TEST(SplitTargetTest, SeparatesPathQueryAndDropsFragment) {
  RequestTarget t = SplitTarget("/a/b?x=1&y=2#frag");
  EXPECT_EQ(t.path, "/a/b");
  EXPECT_EQ(t.query, "x=1&y=2");
  t = SplitTarget("/a");
  EXPECT_EQ(t.path, "/a");
  EXPECT_EQ(t.query, "");
}

TEST(PercentDecodeTest, DecodesEscapesInEitherCase) {
  EXPECT_EQ(*PercentDecode("%2B998%20%2f%2F", false), "+998 //");
  EXPECT_EQ(*PercentDecode("%D0%9F", false), "П");
}

TEST(PercentDecodeTest, PlusIsASpaceOnlyInQueries) {
  EXPECT_EQ(*PercentDecode("a+b", true), "a b");
  EXPECT_EQ(*PercentDecode("a+b", false), "a+b");
}

TEST(PercentDecodeTest, RejectsMalformedEscapes) {
  EXPECT_EQ(PercentDecode("%", false).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PercentDecode("%4", false).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PercentDecode("%zz", false).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(PercentDecodeTest, RejectsDecodedTextThatIsNotUtf8) {
  EXPECT_EQ(PercentDecode("%FF", false).status().code(), absl::StatusCode::kInvalidArgument);
  // Raw bytes past ASCII are checked as well as decoded ones.
  EXPECT_EQ(PercentDecode("a\xC3", true).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(*PercentDecode("\xD0\x9F+%D0%9F", true), "\xD0\x9F \xD0\x9F");
}

TEST(ParseQueryTest, KeepsOrderRepeatsAndEmptyValues) {
  auto params = ParseQuery("a=1&b=x%20y&&c&a=2");
  ASSERT_TRUE(params.ok());
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"a", "1"}, {"b", "x y"}, {"c", ""}, {"a", "2"}};
  EXPECT_EQ(*params, expected);
}

TEST(ParseQueryTest, RejectsEmptyNamesAndBadEscapes) {
  EXPECT_FALSE(ParseQuery("=1").ok());
  EXPECT_FALSE(ParseQuery("a=%G0").ok());
}

}  // namespace
}  // namespace livecall::gateway
