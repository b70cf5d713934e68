#include "services/ai-session/caller_replies.h"

#include "common/enum_json.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace livecall::ai_session {
namespace {

using ::testing::StartsWith;

TEST(CallerIntentTest, AskingForAPersonInEachLanguageAndScript) {
  for (const char* words :
       {"Operator bilan gaplashmoqchiman", "meni operatorga ulang iltimos",
        "Оператор билан гаплашмоқчиман", "Соедините меня с оператором, пожалуйста",
        "Я хочу поговорить с живым человеком", "Can I talk to a real person?",
        "I want to speak to an agent"}) {
    EXPECT_EQ(DetectCallerIntent(words), CallerIntent::kHumanAgent) << words;
  }
}

TEST(CallerIntentTest, GoodbyesInEachLanguage) {
  for (const char* words :
       {"Rahmat, xayr!", "Boshqa savolim yo'q", "Boshqa savolim yoʻq", "Спасибо, до свидания",
        "Всего доброго!", "Thanks, goodbye", "That's all, bye"}) {
    EXPECT_EQ(DetectCallerIntent(words), CallerIntent::kGoodbye) << words;
  }
}

TEST(CallerIntentTest, QuestionsAreNeither) {
  for (const char* words :
       {"Internetim ishlamayapti", "интернет пока не работает", "What is my balance?", ""}) {
    EXPECT_EQ(DetectCallerIntent(words), CallerIntent::kOther) << words;
  }
}

TEST(CallerIntentTest, APersonWinsOverAGoodbye) {
  EXPECT_EQ(DetectCallerIntent("No, bye the robot, I want a human"), CallerIntent::kHumanAgent);
}

class EmbeddedCallerReplyTest : public ::testing::Test {
 protected:
  livecall::v1::ReplyToCallerRequest Heard(const std::string& text, float confidence = 0.9f,
                                           int unclear_attempts = 0) {
    livecall::v1::ReplyToCallerRequest request;
    request.set_text(text);
    request.set_speech_confidence(confidence);
    request.set_unclear_attempts(unclear_attempts);
    return request;
  }
  livecall::v1::Suggestion Answer(const std::string& text, float confidence,
                                  const std::string& kind = "answer") {
    livecall::v1::Suggestion suggestion;
    suggestion.set_text(text);
    suggestion.set_kind(*ParseEnumJsonName<livecall::v1::SuggestionKind>(kind));
    suggestion.set_confidence(confidence);
    return suggestion;
  }
  livecall::v1::Session session_ = [] {
    livecall::v1::Session session;
    session.set_language("en");
    return session;
  }();
  VoiceAgentOptions options_;
};

TEST_F(EmbeddedCallerReplyTest, AConfidentAnswerIsSaidAndTheCallGoesOn) {
  livecall::v1::CallerReply reply =
      EmbeddedCallerReply(session_, Heard("my internet is down"),
                          {Answer("Please restart the router.", 0.6f)}, options_);
  EXPECT_EQ(reply.action(), "continue");
  EXPECT_EQ(reply.reason(), "answer");
  EXPECT_THAT(reply.text(), StartsWith("Please restart the router. "));
  EXPECT_EQ(reply.language(), "en");
  EXPECT_EQ(reply.engine(), "embedded");
  EXPECT_FALSE(reply.unclear());
}

TEST_F(EmbeddedCallerReplyTest, AWeakOrMissingAnswerHandsOver) {
  EXPECT_EQ(EmbeddedCallerReply(session_, Heard("my fridge broke"),
                                {Answer("Please restart the router.", 0.2f)}, options_)
                .reason(),
            "not-confident");
  // A next step for the agent is not an answer for the caller.
  livecall::v1::CallerReply reply =
      EmbeddedCallerReply(session_, Heard("my fridge broke"),
                          {Answer("Ask when it started.", 0.9f, "next-step")}, options_);
  EXPECT_EQ(reply.action(), "handoff");
  EXPECT_EQ(reply.text(), VoiceLinesFor("en").handoff);
}

TEST_F(EmbeddedCallerReplyTest, SilenceAsksAgainThenSaysGoodbye) {
  livecall::v1::CallerReply first = EmbeddedCallerReply(session_, Heard("", 0, 0), {}, options_);
  EXPECT_EQ(first.action(), "continue");
  EXPECT_EQ(first.reason(), "no-speech");
  EXPECT_TRUE(first.unclear());
  livecall::v1::CallerReply second = EmbeddedCallerReply(session_, Heard("", 0, 1), {}, options_);
  EXPECT_EQ(second.action(), "goodbye");
  EXPECT_TRUE(second.unclear());
}

TEST_F(EmbeddedCallerReplyTest, MumblingAsksAgainThenHandsOver) {
  livecall::v1::CallerReply first =
      EmbeddedCallerReply(session_, Heard("rrrm internet", 0.1f, 0), {}, options_);
  EXPECT_EQ(first.action(), "continue");
  EXPECT_EQ(first.reason(), "unclear");
  EXPECT_EQ(EmbeddedCallerReply(session_, Heard("rrrm", 0.1f, 1), {}, options_).action(),
            "handoff");
  // Confidence 0 means the recogniser did not say: the words count.
  EXPECT_FALSE(IsUnclearSpeech(Heard("my internet is down", 0), options_));
}

TEST_F(EmbeddedCallerReplyTest, TheLinesAreInTheSessionsLanguage) {
  session_.set_language("uz");
  EXPECT_EQ(EmbeddedCallerReply(session_, Heard("xayr"), {}, options_).text(),
            VoiceLinesFor("uz").goodbye);
  session_.set_language("ru");
  EXPECT_EQ(EmbeddedCallerReply(session_, Heard("позовите оператора"), {}, options_).text(),
            VoiceLinesFor("ru").handoff);
}

}  // namespace
}  // namespace livecall::ai_session
