#include "services/ai-session/caller_replies.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "services/ai-session/knowledge_base.h"

namespace livecall::ai_session {
namespace {

// Each phrase matches when all its normalised tokens occur in the caller's words (any order), so
// "operatorga ulang" matches "iltimos, meni operatorga ulang".
constexpr const char* kHumanAgentPhrases[] = {
    // Uzbek (Latin; the Cyrillic spelling folds into it).
    "operator", "operatorga ulang", "odam bilan gaplash", "jonli odam", "xodim bilan",
    "mutaxassis bilan",
    // Russian.
    "оператор", "с человеком", "живой человек", "соедините со специалистом", "позовите сотрудника",
    // English.
    "human", "real person", "talk to a person", "speak to someone", "agent", "representative",
    "operator please"};

constexpr const char* kGoodbyePhrases[] = {
    // Uzbek.
    "xayr", "hayr", "salomat bo'ling", "ko'rishguncha", "boshqa savolim yo'q",
    "hammasi joyida rahmat",
    // Russian.
    "до свидания", "всего доброго", "больше вопросов нет",
    // English.
    "goodbye", "bye", "that's all", "no more questions", "nothing else"};

bool ContainsPhrase(const absl::flat_hash_set<std::string>& words, absl::string_view phrase) {
  const std::vector<std::string> tokens = NormalizedTokens(phrase);
  if (tokens.empty()) return false;
  return std::all_of(tokens.begin(), tokens.end(),
                     [&](const std::string& token) { return words.contains(token); });
}

template <size_t N>
bool ContainsAny(const absl::flat_hash_set<std::string>& words, const char* const (&phrases)[N]) {
  return std::any_of(std::begin(phrases), std::end(phrases),
                     [&](const char* phrase) { return ContainsPhrase(words, phrase); });
}

livecall::v1::CallerReply Reply(const std::string& language, std::string text,
                                absl::string_view action, absl::string_view reason) {
  livecall::v1::CallerReply reply;
  reply.set_text(std::move(text));
  reply.set_action(std::string(action));
  reply.set_reason(std::string(reason));
  reply.set_language(language);
  reply.set_engine("embedded");
  return reply;
}

}  // namespace

CallerIntent DetectCallerIntent(absl::string_view text) {
  const std::vector<std::string> tokens = NormalizedTokens(text);
  const absl::flat_hash_set<std::string> words(tokens.begin(), tokens.end());
  if (ContainsAny(words, kHumanAgentPhrases)) return CallerIntent::kHumanAgent;
  if (ContainsAny(words, kGoodbyePhrases)) return CallerIntent::kGoodbye;
  return CallerIntent::kOther;
}

const VoiceLines& VoiceLinesFor(const std::string& language) {
  static const VoiceLines kUzbek = {
      "Kechirasiz, sizni eshitmadim. Savolingizni qaytadan ayta olasizmi?",
      "Kechirasiz, tushunmadim. Iltimos, qisqaroq qilib qaytadan ayting.",
      "Qo'ng'iroq uchun rahmat! Sizga yaxshi kun tilayman. Xayr!",
      "Sizni eshita olmayapman. Keyinroq qayta qo'ng'iroq qiling. Xayr!",
      "Hozir sizni operatorimizga ulayman, iltimos, kuting.",
      "Yana qanday yordam bera olaman?"};
  static const VoiceLines kRussian = {
      "Извините, я вас не услышал. Повторите, пожалуйста, ваш вопрос.",
      "Извините, я не понял. Скажите, пожалуйста, ещё раз, покороче.",
      "Спасибо за звонок! Хорошего дня. До свидания!",
      "Я вас не слышу. Пожалуйста, перезвоните позже. До свидания!",
      "Соединяю вас с оператором, пожалуйста, оставайтесь на линии.",
      "Чем ещё могу помочь?"};
  static const VoiceLines kEnglish = {
      "Sorry, I didn't hear you. Could you say your question again?",
      "Sorry, I didn't catch that. Could you say it again, more briefly?",
      "Thank you for calling! Have a good day. Goodbye!",
      "I can't hear you. Please call us again later. Goodbye!",
      "I'm connecting you to one of our agents now, please hold.",
      "What else can I help you with?"};
  if (language == "ru") return kRussian;
  if (language == "en") return kEnglish;
  return kUzbek;
}

bool IsUnclearSpeech(const livecall::v1::ReplyToCallerRequest& request,
                     const VoiceAgentOptions& options) {
  if (absl::StripAsciiWhitespace(request.text()).empty()) return true;
  const double confidence = request.speech_confidence();
  return confidence > 0 && confidence < options.min_speech_confidence;
}

livecall::v1::CallerReply EmbeddedCallerReply(const livecall::v1::Session& session,
                                              const livecall::v1::ReplyToCallerRequest& request,
                                              const std::vector<livecall::v1::Suggestion>& answers,
                                              const VoiceAgentOptions& options) {
  const std::string& language = session.language();
  const VoiceLines& lines = VoiceLinesFor(language);
  const bool silent = absl::StripAsciiWhitespace(request.text()).empty();
  if (IsUnclearSpeech(request, options)) {
    const bool last_chance = request.unclear_attempts() + 1 >= options.max_unclear_attempts;
    livecall::v1::CallerReply reply =
        silent        ? last_chance ? Reply(language, lines.silent_goodbye, "goodbye", "no-speech")
                                    : Reply(language, lines.did_not_hear, "continue", "no-speech")
               : last_chance ? Reply(language, lines.handoff, "handoff", "unclear")
                      : Reply(language, lines.did_not_catch, "continue", "unclear");
    reply.set_unclear(true);
    return reply;
  }
  switch (DetectCallerIntent(request.text())) {
    case CallerIntent::kHumanAgent:
      return Reply(language, lines.handoff, "handoff", "asked-for-agent");
    case CallerIntent::kGoodbye:
      return Reply(language, lines.goodbye, "goodbye", "goodbye");
    case CallerIntent::kOther:
      break;
  }
  const auto best =
      std::find_if(answers.begin(), answers.end(), [](const livecall::v1::Suggestion& s) {
        return s.kind() == livecall::v1::SUGGESTION_KIND_ANSWER;
      });
  if (best == answers.end() || best->confidence() < options.min_answer_confidence) {
    return Reply(language, lines.handoff, "handoff", "not-confident");
  }
  return Reply(language, absl::StrCat(best->text(), " ", lines.anything_else), "continue",
               "answer");
}

}  // namespace livecall::ai_session
