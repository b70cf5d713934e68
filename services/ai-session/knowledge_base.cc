#include "services/ai-session/knowledge_base.h"

#include <algorithm>
#include <cmath>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/json_file.h"
#include "common/language.h"

namespace livecall::ai_session {
namespace {

constexpr size_t kStemLength = 6;  // Code points kept per token.
constexpr double kK1 = 1.2;
constexpr double kB = 0.75;
constexpr size_t kGramLength = 4;    // Bytes of a character n-gram (Latin after folding).
constexpr size_t kMinGramToken = 3;  // Shorter tokens ("ne", "my") give no grams.
// How much a whole-word match and an n-gram match count in an entry's score.
constexpr double kWordWeight = 1.0;
constexpr double kGramWeight = 0.25;
// Weights of an entry's text in its index: triggers are what customers say; the answer's words
// and, for Uzbek, the same topic's Russian triggers (Russian words inside Uzbek speech) less.
constexpr double kTriggerWeight = 2.0;
constexpr double kAnswerWeight = 1.0;
constexpr double kBorrowedTriggerWeight = 1.0;
// Below this best score the words name no topic (greetings, thanks, "hmm"): nothing is suggested.
constexpr double kPlausibleScore = 3.0;

// Decodes one UTF-8 code point at text[*i] and advances *i; invalid bytes become U+FFFD.
char32_t NextCodePoint(absl::string_view text, size_t* i) {
  unsigned char c = static_cast<unsigned char>(text[*i]);
  int length = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
  if (length == 0 || *i + length > text.size()) {
    ++*i;
    return 0xFFFD;
  }
  char32_t cp = length == 1 ? c : c & (0xFF >> (length + 1));
  for (int k = 1; k < length; ++k) {
    unsigned char next = static_cast<unsigned char>(text[*i + k]);
    if ((next & 0xC0) != 0x80) {
      ++*i;
      return 0xFFFD;
    }
    cp = (cp << 6) | (next & 0x3F);
  }
  *i += length;
  return cp;
}

char32_t ToLower(char32_t cp) {
  if (cp >= 'A' && cp <= 'Z') return cp + 32;
  if (cp >= 0x410 && cp <= 0x42F) return cp + 32;                // А-Я
  if (cp >= 0x400 && cp <= 0x40F) return cp + 80;                // Ѐ-Џ (Ё, Ў ...)
  if (cp == 0x492 || cp == 0x49A || cp == 0x4B2) return cp + 1;  // Ғ Қ Ҳ (Uzbek Cyrillic)
  return cp;
}

// Lower-case Cyrillic to Latin, in the Uzbek Latin alphabet's spelling (x for х, j for ж, q for
// қ, o' and g' folded to o and g), so Uzbek written in either script meets itself, and Russian
// text is spelt consistently on both sides of a comparison. nullptr: not Cyrillic.
const char* CyrillicToLatin(char32_t cp) {
  static constexpr const char* kBasic[] = {
      "a", "b", "v", "g", "d", "e", "j",  "z",  "i",  "y",  "k", "l", "m", "n", "o",  "p",  // а-п
      "r", "s", "t", "u", "f", "x", "ts", "ch", "sh", "sh", "",  "i", "",  "e", "yu", "ya"};  // р-я
  if (cp >= 0x430 && cp <= 0x44F) return kBasic[cp - 0x430];
  switch (cp) {
    case 0x451:
      return "yo";  // ё
    case 0x45E:
      return "o";  // ў
    case 0x493:
      return "g";  // ғ
    case 0x49B:
      return "q";  // қ
    case 0x4B3:
      return "h";  // ҳ
    default:
      return nullptr;
  }
}

bool IsLatinWordCharacter(char32_t cp) {
  return (cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9');
}

// The apostrophe of Uzbek Latin o' and g' in all the spellings people type.
bool IsUzbekApostrophe(char32_t cp) {
  return cp == '\'' || cp == '`' || cp == 0x2BB || cp == 0x2BC || cp == 0x2018 || cp == 0x2019;
}

}  // namespace

namespace {

// The normalised tokens of `text`, each cut to `max_length` code points (0: not cut).
std::vector<std::string> Tokens(absl::string_view text, size_t max_length) {
  std::vector<std::string> tokens;
  std::string current;
  size_t current_length = 0;
  auto flush = [&] {
    if (!current.empty()) tokens.push_back(std::move(current));
    current.clear();
    current_length = 0;
  };
  auto append = [&](char c) {
    if (max_length == 0 || current_length < max_length) current.push_back(c);
    ++current_length;
  };
  size_t i = 0;
  while (i < text.size()) {
    char32_t cp = ToLower(NextCodePoint(text, &i));
    if (IsLatinWordCharacter(cp)) {
      append(static_cast<char>(cp));
    } else if (const char* latin = CyrillicToLatin(cp)) {
      for (const char* c = latin; *c != '\0'; ++c) append(*c);
    } else if (IsUzbekApostrophe(cp) && !current.empty()) {
      // o'zbek -> ozbek: the apostrophe belongs to the word.
    } else {
      flush();
    }
  }
  flush();
  return tokens;
}

// The normalised tokens of a text (Tokens(text, 0)) one after another in one string, for a query:
// no string per token, and the buffers are reused from text to text.
class TokenBuffer {
 public:
  void Tokenize(absl::string_view text) {
    chars_.clear();
    ends_.clear();
    size_t start = 0;  // Of the token being read, in chars_.
    auto flush = [&] {
      if (chars_.size() == start) return;
      ends_.push_back(chars_.size());
      start = chars_.size();
    };
    size_t i = 0;
    while (i < text.size()) {
      char32_t cp = ToLower(NextCodePoint(text, &i));
      if (IsLatinWordCharacter(cp)) {
        chars_.push_back(static_cast<char>(cp));
      } else if (const char* latin = CyrillicToLatin(cp)) {
        chars_.append(latin);
      } else if (IsUzbekApostrophe(cp) && chars_.size() > start) {
        // o'zbek -> ozbek: the apostrophe belongs to the word.
      } else {
        flush();
      }
    }
    flush();
  }
  size_t size() const { return ends_.size(); }
  absl::string_view operator[](size_t i) const {
    const size_t begin = i == 0 ? 0 : ends_[i - 1];
    return absl::string_view(chars_).substr(begin, ends_[i] - begin);
  }

 private:
  std::string chars_;
  std::vector<size_t> ends_;
};

// Function words of the three languages (Russian as folded to Latin): they say nothing of the
// topic, and as n-grams they would match any entry's answer. Words that carry a topic's sense
// even when short ("ne", "no", "not", "yoq", "za") are not here.
bool IsFunctionWord(absl::string_view token) {
  static const absl::flat_hash_set<absl::string_view>* const kWords =
      new absl::flat_hash_set<absl::string_view>({
          // English
          "the",
          "and",
          "you",
          "your",
          "yours",
          "are",
          "was",
          "were",
          "been",
          "does",
          "did",
          "for",
          "with",
          "from",
          "this",
          "that",
          "there",
          "what",
          "how",
          "can",
          "could",
          "will",
          "would",
          "should",
          "have",
          "has",
          "had",
          "please",
          "just",
          "all",
          "its",
          "into",
          "then",
          "some",
          "any",
          "about",
          "need",
          "want",
          "like",
          "get",
          "got",
          "tell",
          // Russian
          "menya",
          "mne",
          "moy",
          "moya",
          "moe",
          "moyo",
          "moi",
          "moikh",
          "vas",
          "vam",
          "vash",
          "vasha",
          "vashi",
          "vashe",
          "chto",
          "kak",
          "eto",
          "eta",
          "etot",
          "tak",
          "vot",
          "uzhe",
          "est",
          "mozhno",
          "mogu",
          "nuzhno",
          "nuzhen",
          "nuzhna",
          "pozhaluysta",
          "kogda",
          "chtoby",
          "budet",
          "byl",
          "bila",
          "bilo",
          "dlya",
          "pro",
          "tam",
          "tut",
          "sam",
          "sama",
          "khochu",
          "podskazhite",
          "skazhite",
          // Uzbek
          "men",
          "meni",
          "mening",
          "menga",
          "mendan",
          "menda",
          "siz",
          "sizning",
          "sizga",
          "sizlar",
          "sizlarning",
          "shu",
          "bilan",
          "uchun",
          "nima",
          "nimani",
          "qanday",
          "qanaqa",
          "kerak",
          "kerakmi",
          "bor",
          "bormi",
          "edi",
          "ham",
          "juda",
          "iltimos",
          "qilish",
          "qilib",
          "qildim",
          "qilaman",
          "qilmoqchiman",
          "qila",
          "bering",
          "ayting",
          "aytib",
          "endi",
          "hozir",
          "lekin",
          "yoki",
          "qachon",
          "qayerda",
          "boladimi",
          "boladi",
          "bolsa",
          "mumkin",
      });
  return kWords->contains(token);
}

// The tokens of `text` that are not function words, cut to `max_length` (0: whole).
std::vector<std::string> ContentTokens(absl::string_view text, size_t max_length) {
  std::vector<std::string> tokens;
  for (std::string& token : Tokens(text, 0)) {
    if (IsFunctionWord(token)) continue;
    if (max_length > 0 && token.size() > max_length) token.resize(max_length);
    tokens.push_back(std::move(token));
  }
  return tokens;
}

// Character n-grams of each whole token, anchored at the word's start ("^internetim" gives
// "^int", "inte", ...), so an inflected or derived form shares most of its grams with its lemma
// in any language: "sekinlashib" / "sekin", "грузятся" / "грузится", "passwords" / "password".
std::vector<std::string> CharacterGrams(absl::string_view text) {
  std::vector<std::string> grams;
  for (const std::string& token : ContentTokens(text, 0)) {
    if (token.size() < kMinGramToken) continue;
    const std::string anchored = absl::StrCat("^", token);
    for (size_t i = 0; i + kGramLength <= anchored.size(); ++i) {
      grams.push_back(anchored.substr(i, kGramLength));
    }
  }
  return grams;
}

// A logistic model of "this entry is the right one" over its score, its score relative to the
// best and, for the best, its lead over the second, fitted on tests/unit/ai-session/data/
// suggestion_eval.json: confidence 0.9 is right about nine times in ten, in each language variety.
double Confidence(double score, double best, double second, bool is_best) {
  const double lead = is_best && best > 0 ? 1 - second / best : 0;
  const double z = -5.9 + 0.58 * std::log(std::max(score, 1e-9)) + 4.1 * score / best + 5.4 * lead;
  return 1 / (1 + std::exp(-z));
}

// Each term of `terms` counted `weight` times into `counts`; returns how many were added.
double CountTerms(const std::vector<std::string>& terms, double weight,
                  absl::flat_hash_map<std::string, double>* counts) {
  for (const std::string& term : terms) (*counts)[term] += weight;
  return weight * terms.size();
}

// A term (a token cut to kStemLength bytes, or an n-gram of kGramLength) as a number: its bytes
// and its length. Terms are ASCII after folding (Tokens) and at most seven bytes long, so two
// terms have the same key only when they are the same.
uint64_t TermKey(absl::string_view term) {
  static_assert(kStemLength <= 7 && kGramLength == 4);
  if (term.size() == 4) {
    // Every n-gram (about a hundred per turn): the loop below, unrolled, so that the compiler
    // loads the four bytes at once.
    const auto* bytes = reinterpret_cast<const unsigned char*>(term.data());
    return uint64_t{4} << 56 | uint64_t{bytes[0]} | uint64_t{bytes[1]} << 8 |
           uint64_t{bytes[2]} << 16 | uint64_t{bytes[3]} << 24;
  }
  uint64_t key = static_cast<uint64_t>(term.size()) << 56;
  for (size_t i = 0; i < term.size(); ++i) {
    key |= static_cast<uint64_t>(static_cast<unsigned char>(term[i])) << (8 * i);
  }
  return key;
}

// The id of the same topic's entry in `language`: "roaming-uz" -> "roaming-ru".
std::string SiblingId(const livecall::v1::KnowledgeEntry& entry, absl::string_view language) {
  absl::string_view id = entry.id();
  const std::string suffix = absl::StrCat("-", entry.language());
  if (!absl::ConsumeSuffix(&id, suffix)) return "";
  return absl::StrCat(id, "-", language);
}

}  // namespace

std::vector<std::string> NormalizedTokens(absl::string_view text) {
  return Tokens(text, kStemLength);
}

absl::StatusOr<KnowledgeBase> KnowledgeBase::FromEntries(livecall::v1::KnowledgeEntryList entries) {
  KnowledgeBase kb;
  absl::flat_hash_set<std::string> ids;
  for (int i = 0; i < entries.entries_size(); ++i) {
    livecall::v1::KnowledgeEntry& entry = *entries.mutable_entries(i);
    if (entry.id().empty())
      return absl::InvalidArgumentError(absl::StrCat("entry #", i + 1, ": no id"));
    if (!ids.insert(entry.id()).second) {
      return absl::InvalidArgumentError(absl::StrCat("entry \"", entry.id(), "\" appears twice"));
    }
    absl::StatusOr<std::string> language = ParseLanguage(entry.language());
    if (!language.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("entry \"", entry.id(), "\": ", language.status().message()));
    }
    entry.set_language(*language);
    if (entry.kind() == livecall::v1::SUGGESTION_KIND_UNSPECIFIED) {
      entry.set_kind(livecall::v1::SUGGESTION_KIND_ANSWER);
    }
    if (!livecall::v1::SuggestionKind_IsValid(entry.kind())) {
      return absl::InvalidArgumentError(
          absl::StrCat("entry \"", entry.id(), "\": kind must be answer, next-step or warning"));
    }
    if (entry.answer().empty()) {
      return absl::InvalidArgumentError(absl::StrCat("entry \"", entry.id(), "\": no answer"));
    }
  }
  kb.entries_ = std::move(entries);
  kb.BuildIndex();
  return kb;
}

void KnowledgeBase::BuildIndex() {
  const int n = entries_.entries_size();
  std::vector<absl::flat_hash_map<std::string, double>> word_counts(n), gram_counts(n);
  std::vector<double> word_lengths(n), gram_lengths(n);
  auto add_text = [&](int d, absl::string_view text, double weight) {
    word_lengths[d] += CountTerms(ContentTokens(text, kStemLength), weight, &word_counts[d]);
    gram_lengths[d] += CountTerms(CharacterGrams(text), weight, &gram_counts[d]);
  };
  for (int d = 0; d < n; ++d) {
    const livecall::v1::KnowledgeEntry& entry = entries_.entries(d);
    for (const std::string& trigger : entry.triggers()) add_text(d, trigger, kTriggerWeight);
    add_text(d, entry.answer(), kAnswerWeight);
    if (entry.language() == "uz") {
      if (const livecall::v1::KnowledgeEntry* russian = Find(SiblingId(entry, "ru"))) {
        for (const std::string& trigger : russian->triggers()) {
          add_text(d, trigger, kBorrowedTriggerWeight);
        }
      }
    }
  }
  for (int d = 0; d < n; ++d) {
    const std::string& language = entries_.entries(d).language();
    if (IndexOf(language) == nullptr) indexes_.push_back({.language = language});
  }
  // Each entry's postings go to its language's index (indexes_ is complete: these stay valid).
  std::vector<LanguageIndex*> index_of(n);
  for (int d = 0; d < n; ++d) {
    for (LanguageIndex& index : indexes_) {
      if (index.language == entries_.entries(d).language()) index_of[d] = &index;
    }
  }
  IndexTerms(word_counts, word_lengths, kWordWeight, index_of, &LanguageIndex::words);
  IndexTerms(gram_counts, gram_lengths, kGramWeight, index_of, &LanguageIndex::grams);
}

const KnowledgeBase::LanguageIndex* KnowledgeBase::IndexOf(const std::string& language) const {
  for (const LanguageIndex& index : indexes_) {
    if (index.language == language) return &index;
  }
  return nullptr;
}

void KnowledgeBase::IndexTerms(const std::vector<absl::flat_hash_map<std::string, double>>& counts,
                               const std::vector<double>& lengths, double weight,
                               const std::vector<LanguageIndex*>& index_of,
                               Index LanguageIndex::*terms) {
  // Okapi BM25 with each posting's idf and saturated term frequency computed once, here.
  const double n = static_cast<double>(counts.size());
  double average_length = 0;
  for (double length : lengths) average_length += length / std::max(n, 1.0);
  absl::flat_hash_map<std::string, int> document_frequency;
  for (const auto& document : counts) {
    for (const auto& [term, count] : document) ++document_frequency[term];
  }
  for (size_t d = 0; d < counts.size(); ++d) {
    const double length_norm = 1 - kB + kB * lengths[d] / std::max(average_length, 1.0);
    LanguageIndex& index = *index_of[d];
    for (const auto& [term, tf] : counts[d]) {
      const double df = document_frequency.at(term);
      const double idf = std::log(1.0 + (n - df + 0.5) / (df + 0.5));
      const auto [list, added] =
          (index.*terms).try_emplace(TermKey(term), static_cast<uint32_t>(index.lists.size()));
      if (added) index.lists.emplace_back();
      index.lists[list->second].push_back(
          {static_cast<int>(d), weight * idf * tf * (kK1 + 1) / (tf + kK1 * length_norm)});
    }
  }
}

absl::StatusOr<KnowledgeBase> KnowledgeBase::Load(const std::string& path) {
  livecall::v1::KnowledgeEntryList entries;
  if (absl::Status status = ParseJsonArrayFile(path, "entries", &entries); !status.ok()) {
    return status;
  }
  absl::StatusOr<KnowledgeBase> kb = FromEntries(std::move(entries));
  if (!kb.ok()) return absl::InvalidArgumentError(absl::StrCat(path, ": ", kb.status().message()));
  return kb;
}

std::vector<RankedEntry> KnowledgeBase::Rank(absl::string_view query, const std::string& language,
                                             size_t limit) const {
  return RankWeighted({{query, 1.0}}, language, limit);
}

std::vector<RankedEntry> KnowledgeBase::RankWeighted(const std::vector<WeightedText>& query,
                                                     const std::string& language,
                                                     size_t limit) const {
  const LanguageIndex* index = IndexOf(language);
  if (index == nullptr) return {};  // No entry in that language.
  std::vector<double> scores(entries_.entries_size(), 0.0);
  std::vector<uint32_t> lists;
  for (const WeightedText& part : query) {
    lists.clear();
    LookUpInto(part.text, *index, &lists);
    AddUp(*index, lists, part.weight, &scores);
  }
  return Ranked(scores, language, limit);
}

KnowledgeBase::TextTerms KnowledgeBase::LookUp(absl::string_view text,
                                               const std::string& language) const {
  TextTerms terms;
  terms.index_ = IndexOf(language);
  if (terms.index_ == nullptr) return terms;
  // Found into the thread's buffer, kept in a vector of exactly their number.
  thread_local std::vector<uint32_t> found;
  found.clear();
  LookUpInto(text, *terms.index_, &found);
  terms.lists_.assign(found.begin(), found.end());
  return terms;
}

bool KnowledgeBase::LookedUpIn(const TextTerms& terms, const std::string& language) const {
  return terms.index_ != nullptr && terms.index_ == IndexOf(language);
}

std::vector<RankedEntry> KnowledgeBase::RankTerms(absl::Span<const WeightedTerms> query,
                                                  const std::string& language, size_t limit) const {
  if (IndexOf(language) == nullptr) return {};  // No entry in that language.
  std::vector<double> scores(entries_.entries_size(), 0.0);
  for (const WeightedTerms& part : query) {
    if (part.terms->index_ != nullptr) {
      AddUp(*part.terms->index_, part.terms->lists_, part.weight, &scores);
    }
  }
  return Ranked(scores, language, limit);
}

void KnowledgeBase::LookUpInto(absl::string_view text, const LanguageIndex& index,
                               std::vector<uint32_t>* lists) {
  // The terms of ContentTokens and CharacterGrams, in the same order, read in place: no string
  // per token or n-gram (this runs on every customer turn), and the buffers are the thread's.
  struct Scratch {
    TokenBuffer tokens;
    std::vector<absl::string_view> content;  // The tokens that are not function words.
    std::string anchored;
  };
  thread_local Scratch scratch;
  // Each distinct term's postings once per index; the words' and the n-grams' lists are apart.
  const size_t first = lists->size();
  auto look_up = [&](absl::string_view term, const Index& terms, size_t from) {
    auto found = terms.find(TermKey(term));
    if (found == terms.end()) return;
    const uint32_t list = found->second;
    if (std::find(lists->begin() + from, lists->end(), list) != lists->end()) return;
    lists->push_back(list);
  };
  scratch.tokens.Tokenize(text);
  scratch.content.clear();
  for (size_t t = 0; t < scratch.tokens.size(); ++t) {
    const absl::string_view token = scratch.tokens[t];
    if (IsFunctionWord(token)) continue;
    scratch.content.push_back(token);
    look_up(token.substr(0, kStemLength), index.words, first);
  }
  const size_t grams_from = lists->size();
  for (const absl::string_view token : scratch.content) {
    if (token.size() < kMinGramToken) continue;
    scratch.anchored.assign("^");
    scratch.anchored.append(token.data(), token.size());
    for (size_t i = 0; i + kGramLength <= scratch.anchored.size(); ++i) {
      look_up(absl::string_view(scratch.anchored).substr(i, kGramLength), index.grams, grams_from);
    }
  }
}

void KnowledgeBase::AddUp(const LanguageIndex& index, absl::Span<const uint32_t> lists,
                          double weight, std::vector<double>* scores) {
  for (const uint32_t list : lists) {
    for (const Posting& posting : index.lists[list]) {
      (*scores)[posting.document] += weight * posting.weight;
    }
  }
}

std::vector<RankedEntry> KnowledgeBase::Ranked(const std::vector<double>& scores,
                                               const std::string& language, size_t limit) const {
  // The entries that scored, best first (equal scores in the knowledge base's order, as a stable
  // sort leaves them). Only the first `limit` are answered and only the best two are read besides
  // (the best's lead), so only those are put in order and given a confidence (issue 17: a turn
  // ranked every scoring entry of its language and computed a confidence for each).
  struct Scored {
    double score;
    int document;
  };
  thread_local std::vector<Scored> scored;
  scored.clear();
  for (size_t d = 0; d < scores.size(); ++d) {
    if (scores[d] > 0 && entries_.entries(static_cast<int>(d)).language() == language) {
      scored.push_back({scores[d], static_cast<int>(d)});
    }
  }
  const size_t ordered = std::min(scored.size(), std::max<size_t>(limit, 2));
  std::partial_sort(scored.begin(), scored.begin() + ordered, scored.end(),
                    [](const Scored& a, const Scored& b) {
                      return a.score > b.score || (a.score == b.score && a.document < b.document);
                    });
  if (scored.empty() || scored.front().score < kPlausibleScore) return {};
  const double best = scored.front().score;
  const double second = scored.size() > 1 ? scored[1].score : 0;
  std::vector<RankedEntry> ranked;
  ranked.reserve(std::min(limit, scored.size()));
  for (size_t i = 0; i < scored.size() && i < limit; ++i) {
    ranked.push_back({&entries_.entries(scored[i].document), scored[i].score,
                      Confidence(scored[i].score, best, second, i == 0)});
  }
  return ranked;
}

const livecall::v1::KnowledgeEntry* KnowledgeBase::Find(absl::string_view id) const {
  for (const livecall::v1::KnowledgeEntry& entry : entries_.entries()) {
    if (entry.id() == id) return &entry;
  }
  return nullptr;
}

}  // namespace livecall::ai_session
