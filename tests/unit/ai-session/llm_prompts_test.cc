#include "services/ai-session/llm_prompts.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace livecall::ai_session {
namespace {

using ::livecall::testing::IsOk;
using ::livecall::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

livecall::v1::Session LongSession(int turns) {
  livecall::v1::Session session;
  session.set_language("ru");
  session.mutable_customer()->set_name("Анна Петрова");
  (*session.mutable_customer()->mutable_attributes())["plan"] = "Мобильный 30 ГБ";
  for (int i = 0; i < turns; ++i) {
    livecall::v1::Turn* turn = session.add_conversation();
    turn->set_speaker(i % 2 ? "agent" : "customer");
    turn->set_text("turn number " + std::to_string(i) + " " + std::string(200, 'x'));
  }
  return session;
}

TEST(LlmPromptsTest, PromptCarriesContextAndTheNewestTurnsWithinTheBudget) {
  std::vector<ChatMessage> messages = SuggestionPrompt(LongSession(100), 1000);
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_THAT(messages[0].content, HasSubstr("Russian"));
  EXPECT_THAT(messages[1].content, HasSubstr("Анна Петрова"));
  EXPECT_THAT(messages[1].content, HasSubstr("plan: Мобильный 30 ГБ"));
  EXPECT_THAT(messages[1].content, HasSubstr("turn number 99 "));
  EXPECT_THAT(messages[1].content, Not(HasSubstr("turn number 0 ")));
  EXPECT_LE(EstimateTokens(messages[0].content) + EstimateTokens(messages[1].content), 1000);
}

TEST(LlmPromptsTest, SuggestionsAreReadFromJsonWrappedInProse) {
  absl::StatusOr<std::vector<livecall::v1::Suggestion>> suggestions = ParseSuggestions(
      "Sure! ```json\n{\"suggestions\":[{\"text\":\"Routerni qayta yoqing\",\"kind\":"
      "\"answer\"},{\"text\":\"Usta chaqiring\",\"kind\":\"bogus\"},{\"text\":\"\"}]}\n```",
      3);
  ASSERT_THAT(suggestions.status(), IsOk());
  ASSERT_EQ(suggestions->size(), 2u);
  EXPECT_EQ((*suggestions)[0].text(), "Routerni qayta yoqing");
  EXPECT_EQ((*suggestions)[0].source(), "llm");
  EXPECT_EQ((*suggestions)[1].kind(), "answer");  // Unknown kinds become answers.
}

TEST(LlmPromptsTest, MalformedRepliesAreErrors) {
  for (const char* reply : {"", "no json here", "{\"suggestions\": 5}", "{\"suggestions\":[]}",
                            "{\"suggestions\":[{\"text\":\"x\"}"}) {
    EXPECT_THAT(ParseSuggestions(reply, 3), StatusIs(absl::StatusCode::kInternal)) << reply;
  }
  EXPECT_THAT(ParseSummary("{\"agreed\":\"x\"}"), StatusIs(absl::StatusCode::kInternal));
  EXPECT_THAT(ParseGreeting("   "), StatusIs(absl::StatusCode::kInternal));
  EXPECT_THAT(ParseGreeting(std::string(1000, 'a')), StatusIs(absl::StatusCode::kInternal));
}

TEST(LlmPromptsTest, SummaryAndGreetingParse) {
  absl::StatusOr<livecall::v1::Summary> summary = ParseSummary(
      "{\"text\":\"Customer reported an outage.\",\"customer_intent\":\"fix internet\","
      "\"agreed\":\"technician tomorrow\",\"follow_ups\":[\"call back at 10\"]}");
  ASSERT_THAT(summary.status(), IsOk());
  EXPECT_EQ(summary->agreed(), "technician tomorrow");
  ASSERT_EQ(summary->follow_ups_size(), 1);
  EXPECT_EQ(summary->source(), "llm");
  EXPECT_EQ(*ParseGreeting("  \"Hello, John!\"  "), "Hello, John!");
}

}  // namespace
}  // namespace livecall::ai_session
