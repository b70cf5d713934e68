#include "services/ai-session/llm_prompts.h"

#include <google/protobuf/struct.pb.h>

#include <algorithm>
#include <deque>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/enum_json.h"
#include "common/json.h"
#include "services/ai-session/knowledge_base.h"

namespace livecall::ai_session {
namespace {

using google::protobuf::Struct;

constexpr size_t kMaxSuggestionLength = 500;
constexpr size_t kMaxGreetingLength = 600;

const char* LanguageName(const std::string& language) {
  if (language == "ru") return "Russian";
  if (language == "en") return "English";
  return "Uzbek (Latin script)";
}

std::string CustomerContext(const livecall::v1::Customer& customer) {
  std::string text =
      absl::StrCat("Customer: ", customer.name().empty() ? "unknown" : customer.name(), ", phone ",
                   customer.phone_number(), ".");
  for (const auto& [key, value] : customer.attributes()) {
    absl::StrAppend(&text, "\n", key, ": ", value);
  }
  for (const std::string& note : customer.notes()) absl::StrAppend(&text, "\nnote: ", note);
  return text;
}

// The attribute naming the customer's open request: the one record field the voice agent and the
// greeting may speak of besides the name and the language.
constexpr char kOpenRequestAttribute[] = "open_issue";
// A run of this many tokens of a withheld note or value (or all of a shorter one) in a spoken
// text counts as saying it.
constexpr size_t kWithheldRunTokens = 3;

// What may be said to whoever answers the phone: the name, the language, the open request.
std::string SpokenCustomerContext(const livecall::v1::Session& session) {
  const livecall::v1::Customer& customer = session.customer();
  std::string text =
      absl::StrCat("Customer: ", customer.name().empty() ? "unknown" : customer.name(),
                   ".\nLanguage: ", LanguageName(session.language()), ".");
  auto open = customer.attributes().find(kOpenRequestAttribute);
  if (open != customer.attributes().end() && !open->second.empty()) {
    absl::StrAppend(&text, "\nOpen request: ", open->second);
  }
  return text;
}

// Whether `needle` stands in `haystack` as a run of whole tokens.
bool ContainsTokens(const std::vector<std::string>& haystack,
                    const std::vector<std::string>& needle) {
  return !needle.empty() && std::search(haystack.begin(), haystack.end(), needle.begin(),
                                        needle.end()) != haystack.end();
}

// What a turn's line ("speaker: text" and its newline) costs in a prompt.
int LineCost(const livecall::v1::Turn& turn) {
  return static_cast<int>((turn.speaker().size() + 2 + turn.text().size() + 3) / 4) + 1;
}

// The newest turns that fit `budget` tokens, oldest first.
std::string RecentTurns(const livecall::v1::Session& session, int budget) {
  std::deque<std::string> lines;
  int used = 0;
  for (int i = session.conversation_size() - 1; i >= 0; --i) {
    const livecall::v1::Turn& turn = session.conversation(i);
    const int cost = LineCost(turn);
    if (used + cost > budget) break;
    used += cost;
    lines.push_front(absl::StrCat(turn.speaker(), ": ", turn.text()));
  }
  return absl::StrJoin(lines, "\n");
}

}  // namespace

int TurnsReadByPrompts(const livecall::v1::Session& session, int token_budget) {
  return TurnsReadByPrompts(
      std::vector<const livecall::v1::Turn*>(session.conversation().pointer_begin(),
                                             session.conversation().pointer_end()),
      token_budget);
}

int TurnsReadByPrompts(absl::Span<const livecall::v1::Turn* const> turns, int token_budget) {
  // As RecentTurns walks: it stops at the first turn that does not fit what is left.
  const int size = static_cast<int>(turns.size());
  int used = 0;
  for (int i = size - 1; i >= 0; --i) {
    used += LineCost(*turns[i]);
    if (used > token_budget) return size - i;
  }
  return size;
}

namespace {

// `context` (the customer as the prompt shows it) and the newest turns that fit the budget.
std::string UserPrompt(const livecall::v1::Session& session, int token_budget,
                       const std::string& system, const std::string& context) {
  const int remaining = token_budget - EstimateTokens(system) - EstimateTokens(context) - 16;
  return absl::StrCat(context, "\n\nConversation so far:\n",
                      RecentTurns(session, std::max(remaining, 0)));
}

// The JSON object in a reply that may carry prose or ``` fences around it.
absl::StatusOr<Struct> ExtractJsonObject(absl::string_view reply) {
  size_t open = reply.find('{');
  size_t close = reply.rfind('}');
  if (open == absl::string_view::npos || close == absl::string_view::npos || close < open) {
    return absl::InternalError("llm reply has no JSON object");
  }
  absl::StatusOr<Struct> object = ParseJsonObject(reply.substr(open, close - open + 1));
  if (!object.ok()) return absl::InternalError("llm reply is not valid JSON");
  return object;
}

std::string StringField(const Struct& object, const char* name) {
  auto it = object.fields().find(name);
  if (it == object.fields().end()) return "";
  return std::string(absl::StripAsciiWhitespace(it->second.string_value()));
}

}  // namespace

int EstimateTokens(absl::string_view text) { return static_cast<int>((text.size() + 3) / 4); }

bool SaysWithheldCustomerData(absl::string_view text, const livecall::v1::Session& session) {
  const livecall::v1::Customer& customer = session.customer();
  std::vector<std::string> withheld(customer.notes().begin(), customer.notes().end());
  for (const auto& [key, value] : customer.attributes()) {
    if (key != kOpenRequestAttribute) withheld.push_back(value);
  }
  const std::vector<std::string> said = NormalizedTokens(text);
  // What the voice agent was told may be said even where a withheld field repeats it.
  const std::vector<std::string> speakable = NormalizedTokens(SpokenCustomerContext(session));
  for (const std::string& value : withheld) {
    const std::vector<std::string> tokens = NormalizedTokens(value);
    // Part of a longer note or value is enough ("TP-Link Archer C6" of a note about the router).
    const size_t run = std::min(tokens.size(), kWithheldRunTokens);
    for (size_t at = 0; run > 0 && at + run <= tokens.size(); ++at) {
      const std::vector<std::string> part(tokens.begin() + at, tokens.begin() + at + run);
      if (ContainsTokens(said, part) && !ContainsTokens(speakable, part)) return true;
    }
  }
  return false;
}

std::vector<ChatMessage> SuggestionPrompt(const livecall::v1::Session& session, int token_budget) {
  std::string system = absl::StrCat(
      "You help a human call-centre agent of a telecom and internet provider during a live phone "
      "call. Suggest at most 3 short things the agent can say or do next, in ",
      LanguageName(session.language()),
      ". Answer with JSON only: {\"suggestions\":[{\"text\":\"...\",\"kind\":\"answer\"}]} where "
      "kind is answer, next-step or warning.");
  std::string user = UserPrompt(session, token_budget, system, CustomerContext(session.customer()));
  return {{"system", std::move(system)}, {"user", std::move(user)}};
}

std::vector<ChatMessage> SummaryPrompt(const livecall::v1::Session& session, int token_budget) {
  std::string system = absl::StrCat(
      "Summarise this finished call-centre conversation for the CRM, in ",
      LanguageName(session.language()),
      ". Answer with JSON only: {\"text\":\"one paragraph\",\"customer_intent\":\"...\","
      "\"agreed\":\"...\",\"follow_ups\":[\"...\"]}.");
  std::string user = UserPrompt(session, token_budget, system, CustomerContext(session.customer()));
  return {{"system", std::move(system)}, {"user", std::move(user)}};
}

std::vector<ChatMessage> GreetingPrompt(const livecall::v1::Session& session,
                                        const std::string& embedded_greeting) {
  std::string system = absl::StrCat(
      "Write the opening line a call-centre agent says to the customer, in ",
      LanguageName(session.language()),
      ": greet by first name when known, mention an open request when there is one, offer help. "
      "Two sentences at most, plain text, no quotes.");
  // Spoken to whoever answers (an AI call opens with it): only what may be said.
  std::string user =
      absl::StrCat(SpokenCustomerContext(session), "\nDirection: ", session.direction(),
                   "\nA template greeting for reference: ", embedded_greeting);
  return {{"system", std::move(system)}, {"user", std::move(user)}};
}

std::vector<ChatMessage> CallerReplyPrompt(const livecall::v1::Session& session, int token_budget) {
  std::string system = absl::StrCat(
      "You are the voice agent of a telecom and internet provider, talking with a customer on the "
      "phone. Reply to the customer's last words in ",
      LanguageName(session.language()),
      ", in at most two short spoken sentences (no lists, no markup). Say goodbye when they do. "
      "Hand them to a human agent when they ask for one or you cannot help. Answer with JSON only: "
      "{\"reply\":\"...\",\"action\":\"continue\"} where action is continue, goodbye or handoff.");
  // Whoever answers hears it, not necessarily the customer: the record's other fields and the
  // notes stay out of the prompt.
  std::string user = UserPrompt(session, token_budget, system, SpokenCustomerContext(session));
  return {{"system", std::move(system)}, {"user", std::move(user)}};
}

absl::StatusOr<livecall::v1::CallerReply> ParseCallerReply(absl::string_view reply) {
  absl::StatusOr<Struct> object = ExtractJsonObject(reply);
  if (!object.ok()) return object.status();
  livecall::v1::CallerReply parsed;
  parsed.set_text(StringField(*object, "reply"));
  if (parsed.text().empty()) return absl::InternalError("llm caller reply has no reply text");
  if (parsed.text().size() > kMaxGreetingLength) {
    return absl::InternalError("llm caller reply is too long to say");
  }
  parsed.set_action(StringField(*object, "action"));
  if (parsed.action() != "continue" && parsed.action() != "goodbye" &&
      parsed.action() != "handoff") {
    return absl::InternalError(
        absl::StrCat("llm caller reply action \"", parsed.action(), "\" is unknown"));
  }
  parsed.set_reason(parsed.action() == "continue"  ? "answer"
                    : parsed.action() == "goodbye" ? "goodbye"
                                                   : "not-confident");
  parsed.set_engine("llm");
  return parsed;
}

absl::StatusOr<std::vector<livecall::v1::Suggestion>> ParseSuggestions(absl::string_view reply,
                                                                       size_t limit) {
  absl::StatusOr<Struct> object = ExtractJsonObject(reply);
  if (!object.ok()) return object.status();
  auto list = object->fields().find("suggestions");
  if (list == object->fields().end() || !list->second.has_list_value()) {
    return absl::InternalError("llm reply has no suggestions array");
  }
  std::vector<livecall::v1::Suggestion> suggestions;
  for (const google::protobuf::Value& item : list->second.list_value().values()) {
    if (suggestions.size() >= limit) break;
    const Struct& fields = item.struct_value();
    std::string text = StringField(fields, "text");
    if (text.empty() || text.size() > kMaxSuggestionLength) continue;
    // Unknown kinds (and none) become answers.
    const livecall::v1::SuggestionKind kind =
        ParseEnumJsonName<livecall::v1::SuggestionKind>(StringField(fields, "kind"))
            .value_or(livecall::v1::SUGGESTION_KIND_UNSPECIFIED);
    livecall::v1::Suggestion suggestion;
    suggestion.set_id(absl::StrCat("llm-", suggestions.size() + 1));
    suggestion.set_text(std::move(text));
    suggestion.set_kind(kind == livecall::v1::SUGGESTION_KIND_UNSPECIFIED
                            ? livecall::v1::SUGGESTION_KIND_ANSWER
                            : kind);
    suggestion.set_source("llm");
    suggestion.set_confidence(0.7f);
    suggestions.push_back(std::move(suggestion));
  }
  if (suggestions.empty()) return absl::InternalError("llm reply has no usable suggestion");
  return suggestions;
}

absl::StatusOr<livecall::v1::Summary> ParseSummary(absl::string_view reply) {
  absl::StatusOr<Struct> object = ExtractJsonObject(reply);
  if (!object.ok()) return object.status();
  livecall::v1::Summary summary;
  summary.set_text(StringField(*object, "text"));
  if (summary.text().empty()) return absl::InternalError("llm summary has no text");
  summary.set_customer_intent(StringField(*object, "customer_intent"));
  summary.set_agreed(StringField(*object, "agreed"));
  auto follow_ups = object->fields().find("follow_ups");
  if (follow_ups != object->fields().end()) {
    for (const google::protobuf::Value& item : follow_ups->second.list_value().values()) {
      if (!item.string_value().empty()) summary.add_follow_ups(item.string_value());
    }
  }
  summary.set_source("llm");
  return summary;
}

absl::StatusOr<std::string> ParseGreeting(absl::string_view reply) {
  std::string greeting(absl::StripAsciiWhitespace(reply));
  if (greeting.size() >= 2 && greeting.front() == '"' && greeting.back() == '"') {
    greeting = greeting.substr(1, greeting.size() - 2);
  }
  if (greeting.empty()) return absl::InternalError("llm greeting is empty");
  if (greeting.size() > kMaxGreetingLength) return absl::InternalError("llm greeting is too long");
  if (greeting.find('{') != std::string::npos) {
    return absl::InternalError("llm greeting looks like markup, not speech");
  }
  return greeting;
}

}  // namespace livecall::ai_session
