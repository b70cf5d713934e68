#include "services/ai-session/suggestion_engine.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/utf8.h"
#include "services/ai-session/knowledge_base.h"

namespace livecall::ai_session {
namespace {

// How many earlier turns, besides the latest customer turn, give context to the ranking.
constexpr int kContextTurns = 3;
constexpr size_t kMaxQuotedLength = 200;

livecall::v1::Suggestion FromEntry(const livecall::v1::KnowledgeEntry& entry, double confidence) {
  livecall::v1::Suggestion suggestion;
  suggestion.set_id(entry.id());
  suggestion.set_text(entry.answer());
  suggestion.set_kind(entry.kind());
  suggestion.set_source(entry.id());
  suggestion.set_confidence(static_cast<float>(confidence));
  return suggestion;
}

absl::string_view OpenIssue(const livecall::v1::Customer& customer) {
  auto issue = customer.attributes().find("open_issue");
  if (issue == customer.attributes().end()) return "";
  return issue->second;
}

std::string Quote(const std::string& text) {
  if (text.size() <= kMaxQuotedLength) return text;
  return absl::StrCat(TruncateUtf8(text, kMaxQuotedLength), "…");
}

livecall::v1::Suggestion ClarifyingQuestion(const std::string& language) {
  livecall::v1::Suggestion suggestion;
  suggestion.set_id(absl::StrCat("clarify-", language));
  suggestion.set_kind(livecall::v1::SUGGESTION_KIND_NEXT_STEP);
  suggestion.set_source("embedded");
  suggestion.set_confidence(0.3f);
  if (language == "ru") {
    suggestion.set_text("Уточните, пожалуйста: в чём именно проблема и когда она началась?");
  } else if (language == "en") {
    suggestion.set_text("Ask what exactly is wrong and when it started.");
  } else {
    suggestion.set_text("Aniqlashtiring: muammo aynan nimada va qachondan boshlandi?");
  }
  return suggestion;
}

struct SummaryTemplates {
  const char* customer;
  const char* intent;
  const char* agreed;
  const char* turns;
  const char* unknown_customer;
};

const SummaryTemplates& SummaryTemplatesFor(const std::string& language) {
  static const SummaryTemplates kUzbek = {"Mijoz", "Murojaat", "Kelishilgan",
                                          "Suhbatdagi replikalar soni", "noma'lum mijoz"};
  static const SummaryTemplates kRussian = {"Клиент", "Обращение", "Договорились",
                                            "Реплик в разговоре", "неизвестный клиент"};
  static const SummaryTemplates kEnglish = {"Customer", "Request", "Agreed", "Turns in the call",
                                            "unknown customer"};
  if (language == "ru") return kRussian;
  if (language == "en") return kEnglish;
  return kUzbek;
}

// The conversation of `session` as TurnSuggestions' span takes it.
std::vector<const livecall::v1::Turn*> TurnsOf(const livecall::v1::Session& session) {
  return std::vector<const livecall::v1::Turn*>(session.conversation().pointer_begin(),
                                                session.conversation().pointer_end());
}

}  // namespace

std::vector<livecall::v1::Suggestion> InitialSuggestions(const KnowledgeBase& kb,
                                                         const livecall::v1::Customer& customer,
                                                         const std::string& language,
                                                         KeptTerms* open_issue_terms) {
  std::vector<livecall::v1::Suggestion> suggestions;
  suggestions.reserve(kMaxSuggestions);
  const absl::string_view issue = OpenIssue(customer);
  if (!issue.empty()) {
    // Looked up once for both: Rank(issue) adds up exactly these terms, and the session's first
    // turn reads the open issue again (issue 17).
    auto terms = std::make_shared<const KnowledgeBase::TextTerms>(kb.LookUp(issue, language));
    const KnowledgeBase::WeightedTerms query[] = {{terms.get(), 1.0}};
    for (const RankedEntry& ranked : kb.RankTerms(query, language, kMaxSuggestions - 1)) {
      suggestions.push_back(FromEntry(*ranked.entry, ranked.confidence));
    }
    if (open_issue_terms != nullptr) *open_issue_terms = std::move(terms);
  }
  if (const livecall::v1::KnowledgeEntry* verify =
          kb.Find(absl::StrCat("verify-identity-", language))) {
    suggestions.push_back(FromEntry(*verify, customer.known() ? 0.6 : 0.9));
  }
  if (suggestions.size() > kMaxSuggestions) suggestions.resize(kMaxSuggestions);
  return suggestions;
}

std::vector<livecall::v1::Suggestion> TurnSuggestions(const KnowledgeBase& kb,
                                                      const livecall::v1::Session& session) {
  return TurnSuggestions(kb, session, TurnsOf(session));
}

std::vector<livecall::v1::Suggestion> TurnSuggestions(
    const KnowledgeBase& kb, const livecall::v1::Session& session,
    absl::Span<const livecall::v1::Turn* const> turns) {
  std::vector<KeptTerms> turn_terms(turns.size());
  KeptTerms open_issue_terms;
  return TurnSuggestions(kb, session, turns, absl::MakeSpan(turn_terms), &open_issue_terms);
}

std::vector<livecall::v1::Suggestion> TurnSuggestions(
    const KnowledgeBase& kb, const livecall::v1::Session& session,
    absl::Span<const livecall::v1::Turn* const> turns, absl::Span<KeptTerms> turn_terms,
    KeptTerms* open_issue_terms) {
  const std::string& language = session.language();
  auto terms_of = [&](absl::string_view text, KeptTerms* kept) {
    if (*kept == nullptr || !kb.LookedUpIn(**kept, language)) {
      *kept = std::make_shared<const KnowledgeBase::TextTerms>(kb.LookUp(text, language));
    }
    return kept->get();
  };
  std::vector<KnowledgeBase::WeightedTerms> query;
  query.reserve(kContextTurns + 2);
  const int size = static_cast<int>(turns.size());
  int latest_customer = -1;
  for (int i = size - 1; i >= 0; --i) {
    if (turns[i]->speaker() == "customer") {
      latest_customer = i;
      break;
    }
  }
  // The customer's latest words decide; earlier turns and the open issue only break ties and
  // fill in when the latest words match nothing.
  if (latest_customer >= 0) {
    query.push_back({terms_of(turns[latest_customer]->text(), &turn_terms[latest_customer]), 1.0});
  }
  int context_taken = 0;
  for (int i = size - 1; i >= 0 && context_taken < kContextTurns; --i) {
    if (i == latest_customer || turns[i]->speaker() == "ai") continue;
    query.push_back({terms_of(turns[i]->text(), &turn_terms[i]), 0.25});
    ++context_taken;
  }
  query.push_back({terms_of(OpenIssue(session.customer()), open_issue_terms), 0.15});
  std::vector<livecall::v1::Suggestion> suggestions;
  suggestions.reserve(kMaxSuggestions);
  for (const RankedEntry& ranked : kb.RankTerms(query, language, kMaxSuggestions)) {
    suggestions.push_back(FromEntry(*ranked.entry, ranked.confidence));
  }
  // The agent reads three: when fewer entries score, asking what exactly is wrong is the next.
  if (suggestions.size() < kMaxSuggestions) {
    suggestions.push_back(ClarifyingQuestion(language));
  }
  return suggestions;
}

int TurnsReadBySuggestions(const livecall::v1::Session& session) {
  return TurnsReadBySuggestions(TurnsOf(session));
}

int TurnsReadBySuggestions(absl::Span<const livecall::v1::Turn* const> turns) {
  const int size = static_cast<int>(turns.size());
  bool customer_seen = false;
  int spoken = 0;  // Customer and agent turns, the ones TurnSuggestions may take.
  for (int i = size - 1; i >= 0; --i) {
    if (turns[i]->speaker() == "customer") customer_seen = true;
    if (turns[i]->speaker() != "ai") ++spoken;
    if (customer_seen && spoken > kContextTurns) return size - i;
  }
  return size;
}

std::vector<livecall::v1::Suggestion> AnswersTo(const KnowledgeBase& kb, absl::string_view words,
                                                const std::string& language) {
  std::vector<livecall::v1::Suggestion> answers;
  for (const RankedEntry& ranked : kb.Rank(words, language, kMaxSuggestions)) {
    answers.push_back(FromEntry(*ranked.entry, ranked.confidence));
  }
  return answers;
}

livecall::v1::Summary EmbeddedSummary(const KnowledgeBase& kb,
                                      const livecall::v1::Session& session) {
  livecall::v1::Summary summary;
  summary.set_source("embedded");
  std::vector<std::string> customer_words;
  std::string first_customer_turn;
  std::string last_agent_turn;
  for (const livecall::v1::Turn& turn : session.conversation()) {
    if (turn.speaker() == "customer") {
      customer_words.push_back(turn.text());
      if (first_customer_turn.empty()) first_customer_turn = turn.text();
    } else if (turn.speaker() == "agent") {
      last_agent_turn = turn.text();
    }
  }
  std::vector<RankedEntry> topics =
      kb.Rank(absl::StrJoin(customer_words, " "), session.language(), kMaxSuggestions);
  if (!topics.empty() && topics.front().entry->triggers_size() > 0) {
    summary.set_customer_intent(topics.front().entry->triggers(0));
  } else if (!first_customer_turn.empty()) {
    summary.set_customer_intent(Quote(first_customer_turn));
  } else {
    summary.set_customer_intent(std::string(OpenIssue(session.customer())));
  }
  summary.set_agreed(Quote(last_agent_turn));
  for (const RankedEntry& topic : topics) {
    if (topic.entry->kind() == livecall::v1::SUGGESTION_KIND_NEXT_STEP)
      summary.add_follow_ups(topic.entry->answer());
  }
  const SummaryTemplates& t = SummaryTemplatesFor(session.language());
  const std::string name =
      session.customer().name().empty() ? t.unknown_customer : session.customer().name();
  std::string text = absl::StrCat(t.customer, ": ", name, " (", session.phone_number(), ").");
  if (!summary.customer_intent().empty()) {
    absl::StrAppend(&text, " ", t.intent, ": ", summary.customer_intent(), ".");
  }
  if (!summary.agreed().empty()) absl::StrAppend(&text, " ", t.agreed, ": ", summary.agreed());
  absl::StrAppend(&text, " ", t.turns, ": ", session.conversation_size(), ".");
  summary.set_text(text);
  return summary;
}

}  // namespace livecall::ai_session
