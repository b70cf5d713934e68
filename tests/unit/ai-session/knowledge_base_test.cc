#include "services/ai-session/knowledge_base.h"

#include <fstream>

#include "absl/strings/str_cat.h"
#include "common/default_data_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/files.h"
#include "tests/support/status_matchers.h"

namespace livecall::ai_session {
namespace {

using ::livecall::testing::IsOk;
using ::livecall::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

TEST(NormalizedTokensTest, LowercasesAndCutsToSixLetters) {
  EXPECT_THAT(NormalizedTokens("Internetim ISHLAMAYAPTI!"), ElementsAre("intern", "ishlam"));
}

TEST(NormalizedTokensTest, CyrillicIsSpeltInUzbekLatin) {
  EXPECT_THAT(NormalizedTokens("Интернет НЕ работает"), ElementsAre("intern", "ne", "rabota"));
  // Uzbek in Cyrillic meets Uzbek in Latin, o' and g' included.
  EXPECT_EQ(NormalizedTokens("Интернетим ишламаяпти"), NormalizedTokens("internetim ishlamayapti"));
  EXPECT_EQ(NormalizedTokens("Ўзгартириш ғоя"), NormalizedTokens("O'zgartirish g'oya"));
  EXPECT_EQ(NormalizedTokens("қўнғироқ"), NormalizedTokens("qo'ng'iroq"));
}

TEST(NormalizedTokensTest, FoldsEveryUzbekApostropheSpelling) {
  const std::vector<std::string> expected = {"ozgart"};
  EXPECT_EQ(NormalizedTokens("o'zgartirish"), expected);
  EXPECT_EQ(NormalizedTokens("oʻzgartirish"), expected);
  EXPECT_EQ(NormalizedTokens("o’zgartirish"), expected);
  EXPECT_EQ(NormalizedTokens("o`zgartirish"), expected);
}

TEST(NormalizedTokensTest, InvalidUtf8SplitsTokensInsteadOfCrashing) {
  EXPECT_THAT(NormalizedTokens(std::string("abc\xff\xfe"
                                           "def")),
              ElementsAre("abc", "def"));
}

class ShippedKnowledgeBaseTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<KnowledgeBase> kb = KnowledgeBase::Load(LIVECALL_DEFAULT_DATA_DIR "/kb.json");
    ASSERT_THAT(kb.status(), IsOk());
    kb_ = new KnowledgeBase(*std::move(kb));
  }
  static void TearDownTestSuite() { delete kb_; }
  static KnowledgeBase* kb_;
};
KnowledgeBase* ShippedKnowledgeBaseTest::kb_ = nullptr;

TEST_F(ShippedKnowledgeBaseTest, HasAtLeastThirtyEntriesAcrossThreeLanguages) {
  EXPECT_GE(kb_->size(), 30u);
  for (const char* id : {"internet-outage-uz", "internet-outage-ru", "internet-outage-en"}) {
    EXPECT_NE(kb_->Find(id), nullptr) << id;
  }
}

TEST_F(ShippedKnowledgeBaseTest, OutageComplaintFindsTheOutageEntryInEachLanguage) {
  struct Case {
    const char* query;
    const char* language;
    const char* expected;
  };
  for (const Case& c : {Case{"internetim ishlamayapti", "uz", "internet-outage-uz"},
                        Case{"интернет не работает", "ru", "internet-outage-ru"},
                        Case{"my internet is down", "en", "internet-outage-en"}}) {
    std::vector<RankedEntry> ranked = kb_->Rank(c.query, c.language, 3);
    ASSERT_FALSE(ranked.empty()) << c.query;
    EXPECT_EQ(ranked.front().entry->id(), c.expected) << c.query;
  }
}

TEST_F(ShippedKnowledgeBaseTest, UzbekInCyrillicFindsTheUzbekEntry) {
  std::vector<RankedEntry> ranked = kb_->Rank("интернетим ишламаяпти", "uz", 3);
  ASSERT_FALSE(ranked.empty());
  EXPECT_EQ(ranked.front().entry->id(), "internet-outage-uz");
}

TEST_F(ShippedKnowledgeBaseTest, EachTopicIsFoundFromACustomersWords) {
  struct Case {
    const char* query;
    const char* language;
    const char* expected;
  };
  for (const Case& c : {Case{"pulim ikki marta yechildi", "uz", "double-charge-uz"},
                        Case{"с меня дважды списали деньги", "ru", "double-charge-ru"},
                        Case{"I forgot my wifi password", "en", "wifi-password-en"},
                        Case{"telefonim yo'qoldi, simkartani bloklang", "uz", "lost-phone-uz"},
                        Case{"хочу расторгнуть договор", "ru", "cancel-contract-ru"},
                        Case{"the tv channels are not showing", "en", "tv-channels-en"}}) {
    std::vector<RankedEntry> ranked = kb_->Rank(c.query, c.language, 3);
    ASSERT_FALSE(ranked.empty()) << c.query;
    EXPECT_EQ(ranked.front().entry->id(), c.expected) << c.query;
  }
}

TEST_F(ShippedKnowledgeBaseTest, RussianWordsInAnUzbekCallFindTheUzbekEntry) {
  // Nothing of these is in the Uzbek entry: its topic's Russian triggers are.
  std::vector<RankedEntry> ranked = kb_->Rank("расторгнуть договор", "uz", 3);
  ASSERT_FALSE(ranked.empty());
  EXPECT_EQ(ranked.front().entry->id(), "cancel-contract-uz");
}

TEST_F(ShippedKnowledgeBaseTest, InflectedFormsMeetTheirLemma) {
  struct Case {
    const char* query;
    const char* language;
    const char* expected;
  };
  // Shorter than the six-letter cut, or inflected past it: character n-grams still meet.
  for (const Case& c : {Case{"internetim sekinlashib qoldi", "uz", "slow-internet-uz"},
                        Case{"каналы пропадают", "ru", "tv-channels-ru"},
                        Case{"the installers never came", "en", "technician-visit-en"}}) {
    std::vector<RankedEntry> ranked = kb_->Rank(c.query, c.language, 3);
    ASSERT_FALSE(ranked.empty()) << c.query;
    EXPECT_EQ(ranked.front().entry->id(), c.expected) << c.query;
  }
}

TEST_F(ShippedKnowledgeBaseTest, ConfidenceIsBetweenZeroAndOneAndFallsWithRank) {
  std::vector<RankedEntry> ranked = kb_->Rank("wifi parolini unutdim", "uz", 3);
  ASSERT_THAT(ranked, SizeIs(3));
  EXPECT_GT(ranked[0].confidence, 0.9);
  EXPECT_LT(ranked[0].confidence, 1.0);
  EXPECT_GT(ranked[0].confidence, ranked[1].confidence);
  EXPECT_GE(ranked[1].confidence, ranked[2].confidence);
  EXPECT_GT(ranked[2].confidence, 0.0);
}

TEST_F(ShippedKnowledgeBaseTest, RankingStaysInTheRequestedLanguage) {
  for (const RankedEntry& ranked : kb_->Rank("internet интернет", "ru", 10)) {
    EXPECT_EQ(ranked.entry->language(), "ru");
  }
}

TEST_F(ShippedKnowledgeBaseTest, UnrelatedTextFindsNothing) {
  EXPECT_TRUE(kb_->Rank("zzzz qqqq", "en", 3).empty());
}

// A conversation's turns keep their looked-up terms (ai-session's copy of a session): ranking
// from them gives exactly RankWeighted's answer for the texts -- the same entries in the same
// order, bit-identical scores and confidences -- in every language, with any weights.
TEST_F(ShippedKnowledgeBaseTest, RankingKeptTermsGivesRankWeightedsAnswerExactly) {
  const std::vector<std::pair<std::string, std::vector<std::string>>> queries = {
      {"uz", {"Internetim ishlamayapti, aloqa yo'q", "Qaysi manzil?", "internet sekin"}},
      {"uz", {"Hisobimdan ikki marta pul yechildi", "wifi parolini unutdim", ""}},
      {"uz", {"Kanallar ko'rinmayapti, televizor ishlamayapti", "роутер", "internet вообще нет"}},
      {"ru", {"Интернет не работает уже второй день", "Проверю", "wifi пароль"}},
      {"en", {"I was charged twice this month", "my password", "roaming abroad"}},
      {"en", {"hmm", "thanks", "ok"}}};
  const std::vector<double> weights = {1.0, 0.25, 0.15};
  for (const auto& [language, texts] : queries) {
    std::vector<KnowledgeBase::WeightedText> query;
    std::vector<KnowledgeBase::TextTerms> terms;
    terms.reserve(texts.size());
    std::vector<KnowledgeBase::WeightedTerms> kept;
    for (size_t i = 0; i < texts.size(); ++i) {
      query.push_back({texts[i], weights[i]});
      terms.push_back(kb_->LookUp(texts[i], language));
      EXPECT_TRUE(kb_->LookedUpIn(terms.back(), language));
      kept.push_back({&terms.back(), weights[i]});
    }
    const std::vector<RankedEntry> expected = kb_->RankWeighted(query, language, 10);
    const std::vector<RankedEntry> actual = kb_->RankTerms(kept, language, 10);
    ASSERT_EQ(actual.size(), expected.size()) << texts[0];
    for (size_t i = 0; i < expected.size(); ++i) {
      EXPECT_EQ(actual[i].entry, expected[i].entry) << texts[0];
      EXPECT_EQ(actual[i].score, expected[i].score) << texts[0];
      EXPECT_EQ(actual[i].confidence, expected[i].confidence) << texts[0];
    }
  }
}

// Terms are looked up in one language's index: a session whose language is another does not take
// them for its own (they are looked up again), and a language with no entry has no index.
TEST_F(ShippedKnowledgeBaseTest, TermsAreLookedUpForOneLanguage) {
  const KnowledgeBase::TextTerms russian = kb_->LookUp("интернет не работает", "ru");
  EXPECT_GT(russian.size(), 0u);
  EXPECT_TRUE(kb_->LookedUpIn(russian, "ru"));
  EXPECT_FALSE(kb_->LookedUpIn(russian, "uz"));
  EXPECT_FALSE(kb_->LookedUpIn(russian, "en"));
  const KnowledgeBase::TextTerms none = kb_->LookUp("интернет не работает", "de");
  EXPECT_EQ(none.size(), 0u);
  EXPECT_TRUE(kb_->RankTerms({{&none, 1.0}}, "de", 3).empty());
}

// What a kept text costs is bounded by its distinct terms that name an entry, not by its length:
// a word said a hundred times is looked up as once, and words no entry has cost nothing.
TEST_F(ShippedKnowledgeBaseTest, KeptTermsHoldEachTermOnceAndOnlyTermsThatScore) {
  const KnowledgeBase::TextTerms once = kb_->LookUp("internet ishlamayapti", "uz");
  std::string repeated;
  for (int i = 0; i < 100; ++i) absl::StrAppend(&repeated, "internet ishlamayapti ");
  EXPECT_EQ(kb_->LookUp(repeated, "uz").size(), once.size());
  EXPECT_EQ(kb_->LookUp("zzzz qqqq xxxx", "uz").size(), 0u);
}

// Each language's entries have an index of their own (a query adds up only its language's
// postings), scored over the whole knowledge base: two entries with the same words in two
// languages score the same, each only in its language, and a language with no entry finds none.
TEST(KnowledgeBaseTest, EachLanguageRanksItsOwnEntriesWithTheSameScores) {
  livecall::v1::KnowledgeEntryList list;
  for (const char* language : {"en", "ru"}) {
    livecall::v1::KnowledgeEntry* entry = list.add_entries();
    entry->set_id(absl::StrCat("router-", language));
    entry->set_language(language);
    entry->add_triggers("router restart lights blinking");
    entry->set_answer("Restart the router and wait two minutes.");
  }
  // Other topics, so that the router's words are rare enough to name it.
  for (const char* topic : {"invoice payment charged", "roaming abroad travel", "password wifi",
                            "television channels missing", "contract cancel", "sim card lost",
                            "technician visit appointment", "tariff price cheaper"}) {
    livecall::v1::KnowledgeEntry* other = list.add_entries();
    other->set_id(absl::StrCat("topic-", list.entries_size()));
    other->set_language("en");
    other->add_triggers(topic);
    other->set_answer("I will check that for you.");
  }
  absl::StatusOr<KnowledgeBase> kb = KnowledgeBase::FromEntries(list);
  ASSERT_THAT(kb.status(), IsOk());
  const std::vector<RankedEntry> en = kb->Rank("router lights blinking", "en", 3);
  const std::vector<RankedEntry> ru = kb->Rank("router lights blinking", "ru", 3);
  ASSERT_EQ(en.size(), 1u);
  ASSERT_EQ(ru.size(), 1u);
  EXPECT_EQ(en[0].entry->id(), "router-en");
  EXPECT_EQ(ru[0].entry->id(), "router-ru");
  EXPECT_EQ(en[0].score, ru[0].score);
  EXPECT_TRUE(kb->Rank("router lights blinking", "uz", 3).empty());
  EXPECT_TRUE(kb->Rank("router lights blinking", "de", 3).empty());
}

TEST(KnowledgeBaseTest, BadEntriesAreRejectedWithTheirId) {
  livecall::v1::KnowledgeEntryList list;
  auto* entry = list.add_entries();
  entry->set_id("x");
  entry->set_language("de");
  entry->set_answer("a");
  EXPECT_THAT(KnowledgeBase::FromEntries(list),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("\"x\"")));
  entry->set_language("en");
  entry->set_kind(static_cast<livecall::v1::SuggestionKind>(9));  // From gRPC, say.
  EXPECT_THAT(KnowledgeBase::FromEntries(list),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("kind")));
  entry->set_kind(livecall::v1::SUGGESTION_KIND_UNSPECIFIED);
  *list.add_entries() = *entry;
  EXPECT_THAT(KnowledgeBase::FromEntries(list),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("twice")));
}

// A file's kind is one of the spellings the page sees; anything else stops the start.
TEST(KnowledgeBaseTest, AFileWithAnUnknownKindIsRejectedNamingTheKinds) {
  absl::StatusOr<std::string> dir = livecall::testing::MakeTempDir("kb");
  ASSERT_THAT(dir.status(), IsOk());
  const std::string path = *dir + "/kb.json";
  std::ofstream(path) << R"([{"id":"x","language":"en","triggers":["hi"],"answer":"Hello",)"
                      << R"("kind":"shout"}])";
  EXPECT_THAT(KnowledgeBase::Load(path),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr(R"(expected "answer", "next-step" or "warning")")));
  std::ofstream(path) << R"([{"id":"x","language":"en","triggers":["hi"],"answer":"Hello",)"
                      << R"("kind":"next-step"}])";
  absl::StatusOr<KnowledgeBase> kb = KnowledgeBase::Load(path);
  ASSERT_THAT(kb.status(), IsOk());
}

}  // namespace
}  // namespace livecall::ai_session
