#include "services/ai-session/knowledge_base.h"

#include <algorithm>
#include <cmath>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/json_file.h"
#include "common/language.h"

namespace livecall::ai_session {
namespace {

constexpr size_t kStemLength = 6;  // Code points kept per token.
constexpr double kK1 = 1.2;
constexpr double kB = 0.75;

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

std::vector<std::string> NormalizedTokens(absl::string_view text) {
  std::vector<std::string> tokens;
  std::string current;
  size_t current_length = 0;
  auto flush = [&] {
    if (!current.empty()) tokens.push_back(std::move(current));
    current.clear();
    current_length = 0;
  };
  auto append = [&](char c) {
    if (current_length < kStemLength) current.push_back(c);
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
    if (entry.kind().empty()) entry.set_kind("answer");
    if (entry.kind() != "answer" && entry.kind() != "next-step" && entry.kind() != "warning") {
      return absl::InvalidArgumentError(
          absl::StrCat("entry \"", entry.id(), "\": kind must be answer, next-step or warning"));
    }
    if (entry.answer().empty()) {
      return absl::InvalidArgumentError(absl::StrCat("entry \"", entry.id(), "\": no answer"));
    }
  }
  kb.entries_ = std::move(entries);
  double total_length = 0;
  for (const livecall::v1::KnowledgeEntry& entry : kb.entries_.entries()) {
    Document document;
    // Triggers are what customers say: they count twice as much as the answer's words.
    for (const std::string& trigger : entry.triggers()) {
      for (std::string& token : NormalizedTokens(trigger)) {
        document.term_counts[token] += 2;
        document.length += 2;
      }
    }
    for (std::string& token : NormalizedTokens(entry.answer())) {
      ++document.term_counts[token];
      ++document.length;
    }
    for (const auto& [term, count] : document.term_counts) ++kb.document_frequency_[term];
    total_length += document.length;
    kb.documents_.push_back(std::move(document));
  }
  kb.average_length_ = kb.documents_.empty() ? 0 : total_length / kb.documents_.size();
  return kb;
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
  return RankWeighted({{std::string(query), 1.0}}, language, limit);
}

std::vector<RankedEntry> KnowledgeBase::RankWeighted(const std::vector<WeightedText>& query,
                                                     const std::string& language,
                                                     size_t limit) const {
  // Each distinct term once, weighted by the texts it occurs in.
  absl::flat_hash_map<std::string, double> term_weights;
  for (const WeightedText& part : query) {
    absl::flat_hash_set<std::string> seen;
    for (std::string& term : NormalizedTokens(part.text)) {
      if (seen.insert(term).second) term_weights[term] += part.weight;
    }
  }
  const double n = static_cast<double>(documents_.size());
  std::vector<RankedEntry> ranked;
  for (size_t d = 0; d < documents_.size(); ++d) {
    const livecall::v1::KnowledgeEntry& entry = entries_.entries(static_cast<int>(d));
    if (entry.language() != language) continue;
    const Document& document = documents_[d];
    double score = 0;
    for (const auto& [term, weight] : term_weights) {
      auto tf_it = document.term_counts.find(term);
      if (tf_it == document.term_counts.end()) continue;
      const double df = document_frequency_.at(term);
      const double idf = std::log(1.0 + (n - df + 0.5) / (df + 0.5));
      const double tf = tf_it->second;
      score += weight * idf * tf * (kK1 + 1) /
               (tf + kK1 * (1 - kB + kB * document.length / std::max(average_length_, 1.0)));
    }
    if (score > 0) ranked.push_back({&entry, score});
  }
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const RankedEntry& a, const RankedEntry& b) { return a.score > b.score; });
  if (ranked.size() > limit) ranked.resize(limit);
  return ranked;
}

const livecall::v1::KnowledgeEntry* KnowledgeBase::Find(absl::string_view id) const {
  for (const livecall::v1::KnowledgeEntry& entry : entries_.entries()) {
    if (entry.id() == id) return &entry;
  }
  return nullptr;
}

}  // namespace livecall::ai_session
