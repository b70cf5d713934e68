#include "services/ai-session/suggestion_engine.h"

#include "common/default_data_dir.h"
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

// The newest `kept` turns of `session` only.
livecall::v1::Session NewestTurns(const livecall::v1::Session& session, int kept) {
  livecall::v1::Session cut = session;
  cut.mutable_conversation()->DeleteSubrange(0, session.conversation_size() - kept);
  return cut;
}

TEST_F(SuggestionEngineTest, ACopyCutToTheTurnsSuggestionsReadSuggestsTheSameAfterAnyNewTurn) {
  const std::vector<std::string> texts = {
      "internet ishlamayapti", "Qaysi manzil?", "to'lov qancha", "router",    "salom",
      "tarif qimmat",          "Tekshiraman",   "rahmat",        "aloqa yo'q"};
  const std::vector<std::string> speakers = {"customer", "agent", "ai"};
  for (int pattern = 0; pattern < 60; ++pattern) {
    livecall::v1::Session session = SessionWith("uz", {});
    for (int i = 0; i < 3 + pattern % 17; ++i) {
      livecall::v1::Turn* turn = session.add_conversation();
      turn->set_speaker(speakers[(pattern * 7 + i * (pattern % 5 + 1)) % 3]);
      turn->set_text(texts[(pattern + i * 3) % texts.size()]);
    }
    livecall::v1::Session cut = NewestTurns(session, TurnsReadBySuggestions(session));
    // Several turns more, each appended to both and the copy cut again as ai-session does.
    for (int more = 0; more < 6; ++more) {
      livecall::v1::Turn turn;
      turn.set_speaker(more % 3 == pattern % 3 ? "customer" : more % 2 == 0 ? "agent" : "ai");
      turn.set_text(texts[(pattern * 5 + more) % texts.size()]);
      *session.add_conversation() = turn;
      *cut.add_conversation() = turn;
      const std::vector<livecall::v1::Suggestion> whole = TurnSuggestions(*kb_, session);
      const std::vector<livecall::v1::Suggestion> from_cut = TurnSuggestions(*kb_, cut);
      ASSERT_EQ(whole.size(), from_cut.size()) << pattern << " " << more;
      for (size_t i = 0; i < whole.size(); ++i) {
        EXPECT_EQ(whole[i].SerializeAsString(), from_cut[i].SerializeAsString())
            << pattern << " " << more;
      }
      cut = NewestTurns(cut, TurnsReadBySuggestions(cut));
    }
    EXPECT_LE(cut.conversation_size(), session.conversation_size());
  }
  // A long conversation keeps only a few turns: the newest customer words and four spoken.
  livecall::v1::Session long_one = SessionWith("uz", {{"customer", "internet"}});
  for (int i = 0; i < 100; ++i) long_one.add_conversation()->set_speaker("agent");
  EXPECT_EQ(TurnsReadBySuggestions(long_one), 101);
  long_one.add_conversation()->set_speaker("customer");
  EXPECT_EQ(TurnsReadBySuggestions(long_one), 4);
}

// Ten turns by all three speakers over several KB topics, as (speaker, text).
std::vector<std::pair<std::string, std::string>> MixedConversation() {
  return {{"ai", "Assalomu alaykum"},
          {"customer", "internet ishlamayapti"},
          {"agent", "Qaysi manzil?"},
          {"customer", "Wifi parolini unutdim"},
          {"ai", "Bir daqiqa"},
          {"agent", "Tekshiraman"},
          {"customer", "to'lov qancha"},
          {"customer", "Kanallar ko'rinmayapti"},
          {"agent", "Router qayta yoqing"},
          {"customer", "rahmat"}};
}

// ai-session suggests from its copy's turns and the new one in place (no Session built): the
// same suggestions and the same turns kept as from a Session with those turns.
TEST_F(SuggestionEngineTest, TurnsReadInPlaceSuggestTheSameAsTheSessionHoldingThem) {
  const std::vector<std::pair<std::string, std::string>> said = MixedConversation();
  for (const char* language : {"uz", "ru", "en"}) {
    livecall::v1::Session session = SessionWith(language, {});
    (*session.mutable_customer()->mutable_attributes())["open_issue"] = "internet sekin";
    livecall::v1::Session header = session;  // Its own conversation stays empty.
    std::vector<livecall::v1::Turn> turns;
    turns.reserve(said.size());
    for (const auto& [speaker, text] : said) {
      livecall::v1::Turn& turn = turns.emplace_back();
      turn.set_speaker(speaker);
      turn.set_text(text);
      *session.add_conversation() = turn;
      std::vector<const livecall::v1::Turn*> in_place;
      for (const livecall::v1::Turn& kept : turns) in_place.push_back(&kept);
      const std::vector<livecall::v1::Suggestion> expected = TurnSuggestions(*kb_, session);
      const std::vector<livecall::v1::Suggestion> actual = TurnSuggestions(*kb_, header, in_place);
      ASSERT_EQ(actual.size(), expected.size()) << language << " " << text;
      for (size_t i = 0; i < expected.size(); ++i) {
        EXPECT_EQ(actual[i].SerializeAsString(), expected[i].SerializeAsString())
            << language << " " << text;
      }
      EXPECT_EQ(TurnsReadBySuggestions(in_place), TurnsReadBySuggestions(session)) << text;
    }
  }
}

// ai-session's copy keeps each turn's looked-up terms: a turn suggested with the terms kept from
// the turns before it gives the same suggestions as looking every text up again, and the texts
// it read without kept terms (the new turn's, the open issue's) come back with theirs.
TEST_F(SuggestionEngineTest, KeptTermsSuggestTheSameAsLookingTheTextsUpAgain) {
  const std::vector<std::pair<std::string, std::string>> said = MixedConversation();
  for (const char* language : {"uz", "ru", "en"}) {
    livecall::v1::Session header = SessionWith(language, {});
    (*header.mutable_customer()->mutable_attributes())["open_issue"] = "internet sekin";
    std::vector<livecall::v1::Turn> turns;
    turns.reserve(said.size());
    std::vector<KeptTerms> kept;  // As the copy keeps them from turn to turn.
    KeptTerms open_issue;
    for (const auto& [speaker, text] : said) {
      livecall::v1::Turn& turn = turns.emplace_back();
      turn.set_speaker(speaker);
      turn.set_text(text);
      kept.emplace_back();
      std::vector<const livecall::v1::Turn*> in_place;
      for (const livecall::v1::Turn& each : turns) in_place.push_back(&each);
      const std::vector<livecall::v1::Suggestion> expected =
          TurnSuggestions(*kb_, header, in_place);
      const std::vector<livecall::v1::Suggestion> actual =
          TurnSuggestions(*kb_, header, in_place, absl::MakeSpan(kept), &open_issue);
      ASSERT_EQ(actual.size(), expected.size()) << language << " " << text;
      for (size_t i = 0; i < expected.size(); ++i) {
        EXPECT_EQ(actual[i].SerializeAsString(), expected[i].SerializeAsString())
            << language << " " << text;
      }
      ASSERT_NE(open_issue, nullptr);
      EXPECT_TRUE(kb_->LookedUpIn(*open_issue, language));
      // A new customer or agent turn (AddTurn's) is always read: the latest customer words or
      // the newest context. The AI's turns never are.
      if (speaker != "ai") {
        ASSERT_NE(kept.back(), nullptr) << text;
        EXPECT_TRUE(kb_->LookedUpIn(*kept.back(), language));
      }
      for (size_t i = 0; i < turns.size(); ++i) {
        if (turns[i].speaker() == "ai") EXPECT_EQ(kept[i], nullptr) << turns[i].text();
      }
    }
  }
}

// Terms kept for one language (a session read again in another) are not taken for the session's
// language: they are looked up again, and the suggestions are the session language's.
TEST_F(SuggestionEngineTest, TermsKeptForAnotherLanguageAreLookedUpAgain) {
  livecall::v1::Session header = SessionWith("ru", {});
  livecall::v1::Turn turn;
  turn.set_speaker("customer");
  turn.set_text("интернет не работает");
  const livecall::v1::Turn* turns[] = {&turn};
  std::vector<KeptTerms> kept = {
      std::make_shared<const KnowledgeBase::TextTerms>(kb_->LookUp(turn.text(), "uz"))};
  KeptTerms open_issue =
      std::make_shared<const KnowledgeBase::TextTerms>(kb_->LookUp("internet sekin", "uz"));
  const std::vector<livecall::v1::Suggestion> actual =
      TurnSuggestions(*kb_, header, turns, absl::MakeSpan(kept), &open_issue);
  const std::vector<livecall::v1::Suggestion> expected = TurnSuggestions(*kb_, header, turns);
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(actual[i].SerializeAsString(), expected[i].SerializeAsString());
  }
  EXPECT_TRUE(kb_->LookedUpIn(*kept[0], "ru"));
  EXPECT_TRUE(kb_->LookedUpIn(*open_issue, "ru"));
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
