#include "services/ai-session/suggestion_engine.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace livecall::ai_session {
namespace {

using ::livecall::testing::IsOk;
using ::testing::HasSubstr;
using ::testing::SizeIs;

class SuggestionEngineTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<KnowledgeBase> kb = KnowledgeBase::Load(LIVECALL_DEFAULT_DATA_DIR "/kb.json");
    ASSERT_THAT(kb.status(), IsOk());
    kb_ = new KnowledgeBase(*std::move(kb));
  }
  static void TearDownTestSuite() { delete kb_; }

  static livecall::v1::Session SessionWith(const std::string& language,
                                           std::vector<std::pair<std::string, std::string>> turns) {
    livecall::v1::Session session;
    session.set_language(language);
    session.set_phone_number("+998901112233");
    session.mutable_customer()->set_name("Dilshod Karimov");
    for (auto& [speaker, text] : turns) {
      livecall::v1::Turn* turn = session.add_conversation();
      turn->set_speaker(speaker);
      turn->set_text(text);
    }
    return session;
  }

  static KnowledgeBase* kb_;
};
KnowledgeBase* SuggestionEngineTest::kb_ = nullptr;

TEST_F(SuggestionEngineTest, TheCustomersLatestWordsLeadInEachLanguage) {
  struct Case {
    const char* language;
    const char* words;
    const char* expected;
  };
  for (const Case& c : {Case{"uz", "internetim ishlamayapti", "internet-outage-uz"},
                        Case{"ru", "интернет не работает", "internet-outage-ru"},
                        Case{"en", "my internet is down", "internet-outage-en"}}) {
    std::vector<livecall::v1::Suggestion> suggestions =
        TurnSuggestions(*kb_, SessionWith(c.language, {{"ai", "Hello"}, {"customer", c.words}}));
    ASSERT_FALSE(suggestions.empty()) << c.words;
    EXPECT_EQ(suggestions.front().source(), c.expected) << c.words;
    EXPECT_GT(suggestions.front().confidence(), 0.0f);
    EXPECT_LT(suggestions.front().confidence(), 1.0f);
    EXPECT_LE(suggestions.size(), kMaxSuggestions);
  }
}

TEST_F(SuggestionEngineTest, ANewTopicReplacesTheOldOne) {
  std::vector<livecall::v1::Suggestion> suggestions = TurnSuggestions(
      *kb_, SessionWith("en", {{"customer", "my internet is down"},
                               {"agent", "let me check the line"},
                               {"customer", "also I was charged twice this month"}}));
  ASSERT_FALSE(suggestions.empty());
  EXPECT_EQ(suggestions.front().source(), "double-charge-en");
}

TEST_F(SuggestionEngineTest, NothingMatchingAsksAClarifyingQuestion) {
  std::vector<livecall::v1::Suggestion> suggestions =
      TurnSuggestions(*kb_, SessionWith("uz", {{"customer", "hmm"}}));
  ASSERT_THAT(suggestions, SizeIs(1));
  EXPECT_EQ(suggestions[0].kind(), livecall::v1::SUGGESTION_KIND_NEXT_STEP);
  EXPECT_EQ(suggestions[0].source(), "embedded");
  EXPECT_THAT(suggestions[0].text(), HasSubstr("Aniqlashtiring"));
}

TEST_F(SuggestionEngineTest, SmallTalkSuggestsNoEntry) {
  for (const auto& [language, words] :
       std::vector<std::pair<std::string, std::string>>{{"uz", "Assalomu alaykum"},
                                                        {"uz", "rahmat, tushunarli"},
                                                        {"uz", "ха, яхши"},
                                                        {"ru", "Здравствуйте!"},
                                                        {"ru", "спасибо, понятно"},
                                                        {"en", "hello there"},
                                                        {"en", "okay, thank you"}}) {
    std::vector<livecall::v1::Suggestion> suggestions =
        TurnSuggestions(*kb_, SessionWith(language, {{"customer", words}}));
    ASSERT_THAT(suggestions, SizeIs(1)) << words;
    EXPECT_EQ(suggestions[0].source(), "embedded") << words;
  }
}

TEST_F(SuggestionEngineTest, AParaphraseGetsThreeRankedSuggestionsWithTheRightOneFirst) {
  std::vector<livecall::v1::Suggestion> suggestions = TurnSuggestions(
      *kb_, SessionWith("uz", {{"customer", "bugun ertalabdan beri internet вообще не работает"}}));
  ASSERT_THAT(suggestions, SizeIs(kMaxSuggestions));
  EXPECT_EQ(suggestions[0].source(), "internet-outage-uz");
  EXPECT_GT(suggestions[0].confidence(), suggestions[1].confidence());
  EXPECT_GE(suggestions[1].confidence(), suggestions[2].confidence());
}

// The sandbox's scripted customer (data/sandbox_scripts.json) is answered by the voice agent only
// above its default confidence floor (VoiceAgentOptions::min_answer_confidence).
TEST_F(SuggestionEngineTest, TheSandboxCustomersQuestionsAreAnsweredConfidently) {
  struct Case {
    const char* language;
    const char* words;
    const char* expected;
  };
  for (const Case& c :
       {Case{"uz", "Assalomu alaykum. Internetim ishlamayapti, ertalabdan beri aloqa yo'q.",
             "internet-outage-uz"},
        Case{"uz", "Yana bir savol: balansim qancha qoldi?", "balance-uz"},
        Case{"ru", "Здравствуйте. У меня интернет не работает, с утра нет связи.",
             "internet-outage-ru"},
        Case{"ru", "И ещё вопрос: какой у меня баланс?", "balance-ru"},
        Case{"en", "Hello. My internet is down, there has been no internet since this morning.",
             "internet-outage-en"},
        Case{"en", "One more question: what is my balance?", "balance-en"}}) {
    std::vector<livecall::v1::Suggestion> answers = AnswersTo(*kb_, c.words, c.language);
    ASSERT_FALSE(answers.empty()) << c.words;
    EXPECT_EQ(answers[0].source(), c.expected) << c.words;
    EXPECT_GE(answers[0].confidence(), 0.35) << c.words;
  }
}

TEST_F(SuggestionEngineTest, SummaryNamesTheCustomerTheRequestAndTheAgreement) {
  livecall::v1::Summary summary =
      EmbeddedSummary(*kb_, SessionWith("uz", {{"ai", "Assalomu alaykum"},
                                               {"customer", "internetim ishlamayapti"},
                                               {"agent", "Ertaga soat 10 da usta keladi"}}));
  EXPECT_EQ(summary.source(), "embedded");
  EXPECT_EQ(summary.customer_intent(), "internetim ishlamayapti");
  EXPECT_EQ(summary.agreed(), "Ertaga soat 10 da usta keladi");
  EXPECT_THAT(summary.text(), HasSubstr("Dilshod Karimov"));
  EXPECT_THAT(summary.text(), HasSubstr("Kelishilgan"));
  EXPECT_THAT(summary.text(), HasSubstr("3"));
}

TEST_F(SuggestionEngineTest, SummaryOfASilentCallIsStillWellFormed) {
  livecall::v1::Summary summary = EmbeddedSummary(*kb_, SessionWith("ru", {}));
  EXPECT_THAT(summary.text(), HasSubstr("Клиент"));
  EXPECT_TRUE(summary.agreed().empty());
}

}  // namespace
}  // namespace livecall::ai_session
