#ifndef LIVECALL_SERVICES_AI_SESSION_KNOWLEDGE_BASE_H_
#define LIVECALL_SERVICES_AI_SESSION_KNOWLEDGE_BASE_H_

// The embedded engine's knowledge base (LIVECALL_KB_FILE), ranked with Okapi BM25 over normalised
// tokens of each entry's triggers and answer and over their character n-grams (README: "How the
// embedded engine finds the answer"). Loaded once; immutable, so Rank() needs no lock.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "livecall/v1/data_files.pb.h"

namespace livecall::ai_session {

// Lower-cased, Cyrillic transliterated to Uzbek Latin spelling, apostrophes of Uzbek Latin (o' g'
// and their typographic variants) folded into the letter, split on anything that is not a letter
// or digit, each token cut to its first six letters so that inflected forms meet ("internetim" /
// "internet", "интернетим" / "internetim").
std::vector<std::string> NormalizedTokens(absl::string_view text);

struct RankedEntry {
  const livecall::v1::KnowledgeEntry* entry;
  double score;
  // How likely this entry is what the words are about, in (0,1), the same scale in every language
  // (see Confidence() in knowledge_base.cc).
  double confidence = 0;
};

class KnowledgeBase {
 private:
  struct Posting;
  struct LanguageIndex;

 public:
  // One text's terms looked up in one language's indexes: the postings RankWeighted adds up for
  // it, in the order it adds them. A conversation's turns keep theirs (AiSessionService's copy of
  // a session), so a turn looks up only its own words. Valid while this knowledge base lives.
  class TextTerms {
   public:
    // The terms found (each once): the memory a kept text costs is this times four bytes.
    size_t size() const { return lists_.size(); }

   private:
    friend class KnowledgeBase;
    const LanguageIndex* index_ = nullptr;  // Null: looked up in no language's index.
    std::vector<uint32_t> lists_;           // Into index_->lists, exactly as many as found.
  };

  static absl::StatusOr<KnowledgeBase> FromEntries(livecall::v1::KnowledgeEntryList entries);
  static absl::StatusOr<KnowledgeBase> Load(const std::string& path);

  // Entries in `language` whose BM25 score for `query` is positive, best first, at most `limit`;
  // none when even the best scores below what a topic's word gives (small talk: "hmm", "rahmat").
  std::vector<RankedEntry> Rank(absl::string_view query, const std::string& language,
                                size_t limit) const;

  // The same with several texts, each with a weight: a term's BM25 contribution is multiplied by
  // the sum of the weights of the texts it occurs in (the customer's latest words count more than
  // the conversation before them). The texts are read during the call only.
  struct WeightedText {
    absl::string_view text;
    double weight;
  };
  std::vector<RankedEntry> RankWeighted(const std::vector<WeightedText>& query,
                                        const std::string& language, size_t limit) const;

  // The terms of `text` in `language`'s indexes (none when no entry is in that language).
  TextTerms LookUp(absl::string_view text, const std::string& language) const;
  // Whether `terms` were looked up in `language`'s indexes of this knowledge base.
  bool LookedUpIn(const TextTerms& terms, const std::string& language) const;

  // RankWeighted with each text's terms looked up already (LookUp, in `language`): the same
  // entries, scores and confidences as RankWeighted over the texts.
  struct WeightedTerms {
    const TextTerms* terms;
    double weight;
  };
  std::vector<RankedEntry> RankTerms(absl::Span<const WeightedTerms> query,
                                     const std::string& language, size_t limit) const;

  // The entry with this id, or nullptr.
  const livecall::v1::KnowledgeEntry* Find(absl::string_view id) const;

  size_t size() const { return entries_.entries_size(); }

 private:
  // Appends to `lists` the posting lists (in index.lists) of `text`'s distinct terms in `index`
  // (words, then n-grams), the ones RankWeighted adds up for it, in that order.
  static void LookUpInto(absl::string_view text, const LanguageIndex& index,
                         std::vector<uint32_t>* lists);
  // The postings of `lists` (in index.lists) times `weight` added to each entry's score.
  static void AddUp(const LanguageIndex& index, absl::Span<const uint32_t> lists, double weight,
                    std::vector<double>* scores);
  // The entries in `language` that scored, ranked (RankWeighted's answer for these scores).
  std::vector<RankedEntry> Ranked(const std::vector<double>& scores, const std::string& language,
                                  size_t limit) const;

  // One entry's share of a term's BM25 score: idf × saturated term frequency × the index's
  // weight, precomputed at load so a query only adds postings up.
  struct Posting {
    int document;  // Index into entries_.
    double weight;
  };
  // A term's posting list in its LanguageIndex::lists, keyed by TermKey (knowledge_base.cc): a
  // term is at most seven ASCII bytes, so a number names it and a query hashes integers, not
  // strings. A list's number, not its address, is what a kept text holds (half the bytes).
  using Index = absl::flat_hash_map<uint64_t, uint32_t>;

  // The postings of one language's entries: a query ranks only the entries in its language, so
  // it adds up only theirs (idf and lengths are still over the whole knowledge base).
  struct LanguageIndex {
    std::string language;
    Index words;                              // Tokens cut to six letters (NormalizedTokens).
    Index grams;                              // Character n-grams of whole tokens.
    std::vector<std::vector<Posting>> lists;  // Of both.
  };

  void BuildIndex();
  // Each document's postings into (index_of[document]->*terms).
  static void IndexTerms(const std::vector<absl::flat_hash_map<std::string, double>>& counts,
                         const std::vector<double>& lengths, double weight,
                         const std::vector<LanguageIndex*>& index_of, Index LanguageIndex::*terms);
  // The index of `language`'s entries; nullptr when it has none.
  const LanguageIndex* IndexOf(const std::string& language) const;

  livecall::v1::KnowledgeEntryList entries_;
  std::vector<LanguageIndex> indexes_;
};

}  // namespace livecall::ai_session

#endif  // LIVECALL_SERVICES_AI_SESSION_KNOWLEDGE_BASE_H_
