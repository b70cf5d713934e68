#include "services/ai-session/suggestion_engine.h"

#include "absl/strings/str_cat.h"

namespace livecall::ai_session {
namespace {

livecall::v1::Suggestion FromEntry(const livecall::v1::KnowledgeEntry& entry, double confidence) {
  livecall::v1::Suggestion suggestion;
  suggestion.set_id(entry.id());
  suggestion.set_text(entry.answer());
  suggestion.set_kind(entry.kind());
  suggestion.set_source(entry.id());
  suggestion.set_confidence(static_cast<float>(confidence));
  return suggestion;
}

}  // namespace

std::vector<livecall::v1::Suggestion> InitialSuggestions(const KnowledgeBase& kb,
                                                         const livecall::v1::Customer& customer,
                                                         const std::string& language) {
  std::vector<livecall::v1::Suggestion> suggestions;
  auto issue = customer.attributes().find("open_issue");
  if (issue != customer.attributes().end() && !issue->second.empty()) {
    for (const RankedEntry& ranked : kb.Rank(issue->second, language, kMaxSuggestions - 1)) {
      // BM25 is unbounded; s/(s+2) maps it to (0,1) with ~0.5 for a typical single-term match.
      suggestions.push_back(FromEntry(*ranked.entry, ranked.score / (ranked.score + 2.0)));
    }
  }
  if (const livecall::v1::KnowledgeEntry* verify =
          kb.Find(absl::StrCat("verify-identity-", language))) {
    suggestions.push_back(FromEntry(*verify, customer.known() ? 0.6 : 0.9));
  }
  if (suggestions.size() > kMaxSuggestions) suggestions.resize(kMaxSuggestions);
  return suggestions;
}

}  // namespace livecall::ai_session
