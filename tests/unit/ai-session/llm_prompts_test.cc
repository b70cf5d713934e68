#include "services/ai-session/llm_prompts.h"

#include "absl/strings/str_cat.h"
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

livecall::v1::Session SessionWithARecord() {
  livecall::v1::Session session;
  session.set_language("uz");
  livecall::v1::Customer& customer = *session.mutable_customer();
  customer.set_name("Dilshod Karimov");
  customer.set_phone_number("+998901112233");
  (*customer.mutable_attributes())["open_issue"] = "internet tez-tez uzilib qolmoqda";
  (*customer.mutable_attributes())["plan"] = "Uy interneti 100 Mbit/s";
  (*customer.mutable_attributes())["balance"] = "45000 so'm";
  customer.add_notes("Router modeli: TP-Link Archer C6");
  customer.add_notes("Просила связаться по email");
  session.add_conversation()->set_text("Internetim ishlamayapti");
  return session;
}

TEST(LlmPromptsTest, ACopyCutToTheTurnsPromptsReadAsksTheSameAfterAnyNewTurn) {
  for (int budget : {200, 300, 2000}) {
    livecall::v1::Session session;
    session.set_language("uz");
    session.mutable_customer()->set_name("Dilshod");
    livecall::v1::Session cut = session;
    for (int i = 0; i < 300; ++i) {
      livecall::v1::Turn turn;
      turn.set_speaker(i % 2 == 0 ? "customer" : "agent");
      turn.set_text(absl::StrCat("turn ", i, " ", std::string(i * 13 % 97, 'x')));
      *session.add_conversation() = turn;
      *cut.add_conversation() = turn;
      for (int asked : {budget, budget / 2}) {
        ASSERT_EQ(SuggestionPrompt(session, asked)[1].content,
                  SuggestionPrompt(cut, asked)[1].content)
            << budget << " " << i;
      }
      // ai-session counts a copy's turns in place: the same count as the Session's.
      const std::vector<const livecall::v1::Turn*> in_place(cut.conversation().pointer_begin(),
                                                            cut.conversation().pointer_end());
      ASSERT_EQ(TurnsReadByPrompts(in_place, budget), TurnsReadByPrompts(cut, budget)) << i;
      cut.mutable_conversation()->DeleteSubrange(
          0, cut.conversation_size() - TurnsReadByPrompts(cut, budget));
    }
    EXPECT_LT(cut.conversation_size(), 300) << budget;
  }
}

TEST(LlmPromptsTest, TheVoiceAgentIsToldTheNameLanguageAndOpenRequestOnly) {
  const livecall::v1::Session session = SessionWithARecord();
  for (const std::vector<ChatMessage>& messages :
       {CallerReplyPrompt(session, 2000), GreetingPrompt(session, "Assalomu alaykum!")}) {
    const std::string& user = messages[1].content;
    EXPECT_THAT(user, HasSubstr("Dilshod Karimov"));
    EXPECT_THAT(user, HasSubstr("Uzbek"));
    EXPECT_THAT(user, HasSubstr("internet tez-tez uzilib qolmoqda"));
    for (const char* withheld : {"100 Mbit", "45000", "TP-Link", "email", "note"}) {
      EXPECT_THAT(user, Not(HasSubstr(withheld))) << withheld;
    }
  }
  // The human agent's suggestions still see the whole record.
  EXPECT_THAT(SuggestionPrompt(session, 2000)[1].content, HasSubstr("TP-Link"));
}

TEST(LlmPromptsTest, WithheldCustomerDataIsFoundInAnySpellingAndTheRestPasses) {
  const livecall::v1::Session session = SessionWithARecord();
  for (const char* said :
       {"Sizning balansingiz 45 000 so'm emas, 45000 SO'M.",
        "Routeringiz: tp-link archer c6, to'g'rimi?", "Вы просили связаться по EMAIL.",
        "Тарифингиз уй интернети 100 Mbit/s."}) {
    EXPECT_TRUE(SaysWithheldCustomerData(said, session)) << said;
  }
  for (const char* said : {"Dilshod aka, internet tez-tez uzilib qolmoqda, tekshiraman.",
                           "Routerni qayta yoqib ko'ring.", "Yana savolingiz bormi?"}) {
    EXPECT_FALSE(SaysWithheldCustomerData(said, session)) << said;
  }
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
  EXPECT_EQ((*suggestions)[1].kind(),
            livecall::v1::SUGGESTION_KIND_ANSWER);  // Unknown kinds become answers.
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
