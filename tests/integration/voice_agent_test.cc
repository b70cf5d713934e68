// AI voice-agent calls and agents' calls in the sandbox, through the real suite: the scripted
// customer talks to the voice agent (greeting, answers from the knowledge base in the customer's
// language, goodbye or hand-off) or to a human agent (transcript and suggestions), and every call's
// AI session ends with its summary when the call ends.

#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "livecall/v1/call_control.pb.h"
#include "livecall/v1/context.pb.h"
#include "tests/integration/suite_test.h"
#include "tests/support/files.h"
#include "tests/support/json.h"
#include "tests/support/status_matchers.h"
#include "tests/support/wait_for.h"
#include "tests/support/wav.h"

namespace livecall::testing {
namespace {

using ::livecall::v1::Call;
using ::livecall::v1::Session;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kHandoffScript[] = R"json([
  {"language": "uz", "lines": ["Operator bilan gaplashmoqchiman, iltimos."]},
  {"language": "ru", "lines": ["Холодильник сломался."]},
  {"language": "en", "lines": ["My internet is down.", "Can I talk to a real person?",
                               "Thanks, bye."]}
])json";

class VoiceAgentTest : public SuiteTest {
 protected:
  static void SetUpTestSuite() {
    SuiteOptions options = IntegrationSuiteOptions();
    options.extra_env["LIVECALL_SANDBOX_LINE_MS"] = "150";
    StartSuite(options);
  }
  static void TearDownTestSuite() { StopSuite(); }

  static Call PlaceCallInMode(const std::string& to, const std::string& mode) {
    HttpResponse response =
        Post("/api/voip/call", absl::StrCat(R"({"to":")", to, R"(","mode":")", mode, R"("})"));
    Call call;
    EXPECT_EQ(response.status, 200) << response;
    EXPECT_THAT(ParseJsonMessage(response.body, &call), IsOk()) << response.body;
    return call;
  }

  static Call GetCall(const std::string& sid) {
    Call call;
    HttpResponse response = Get("/api/calls/" + sid);
    EXPECT_EQ(response.status, 200) << response;
    EXPECT_THAT(ParseJsonMessage(response.body, &call), IsOk()) << response.body;
    return call;
  }

  static Session GetSession(const std::string& id) {
    Session session;
    HttpResponse response = Get("/ai/sessions/" + id);
    EXPECT_EQ(response.status, 200) << response;
    EXPECT_THAT(ParseJsonMessage(response.body, &session), IsOk()) << response.body;
    return session;
  }

  // Waits until the call's session has ended (the call ended, so its session did), and answers it.
  static Session EndedSession(const Call& call) {
    Session session;
    EXPECT_TRUE(WaitFor(
        [&] {
          session = GetSession(call.session_id());
          return session.status() == "ended";
        },
        absl::Seconds(20)))
        << "session " << call.session_id() << " of call " << call.call_sid() << " never ended";
    return session;
  }

  static std::vector<std::string> Speakers(const Session& session) {
    std::vector<std::string> speakers;
    for (const auto& turn : session.conversation()) speakers.push_back(turn.speaker());
    return speakers;
  }
};

TEST_F(VoiceAgentTest, AiCallsAnswerTheScriptedCustomerInEachLanguageAndSayGoodbye) {
  struct Case {
    const char* phone;
    const char* language;
    const char* outage_answer;  // The start of the internet-outage entry's answer.
  };
  std::vector<Case> cases = {{"+998901112233", "uz", "Hududingizdagi uzilishni"},
                             {"+998935550101", "ru", "Проверю, нет ли аварии"},
                             {"+998977770707", "en", "Let me check for an outage"}};
  std::vector<Call> calls;
  for (const Case& c : cases) {
    calls.push_back(PlaceCallInMode(c.phone, "ai"));
    EXPECT_EQ(calls.back().mode(), livecall::v1::CALL_MODE_AI);
    EXPECT_FALSE(calls.back().session_id().empty());
    EXPECT_EQ(calls.back().language(), c.language);
    EXPECT_FALSE(calls.back().text().empty()) << "the greeting the call opens with";
  }
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(cases[i].language);
    Session session = EndedSession(calls[i]);
    // Greeting, then for each of the three scripted lines the customer's words and the reply.
    ASSERT_THAT(Speakers(session),
                ElementsAre("ai", "customer", "ai", "customer", "ai", "customer", "ai"));
    EXPECT_EQ(session.conversation(0).text(), calls[i].text());
    EXPECT_THAT(session.conversation(2).text(), HasSubstr(cases[i].outage_answer));
    EXPECT_NE(session.conversation(4).text(), session.conversation(2).text())
        << "the balance question gets its own answer";
    EXPECT_EQ(session.disposition(), "completed");
    EXPECT_FALSE(session.summary().text().empty());
    // The customer said goodbye, so the call is over.
    Call ended = GetCall(calls[i].call_sid());
    EXPECT_EQ(ended.status(), livecall::v1::CALL_STATUS_COMPLETED);
    EXPECT_EQ(ended.script_lines_spoken(), 3);
    EXPECT_FALSE(ended.handed_off());
  }
}

// The sandbox renders each reply as Twilio would: an Uzbek call carries the audio of what the
// agent said last (its greeting once answered, then each answer), served by the gateway.
TEST_F(VoiceAgentTest, UzbekAiCallsCarryTheAudioOfEachReply) {
  Call call = PlaceCallInMode("+998901112233", "ai");
  ASSERT_EQ(call.language(), "uz");
  std::vector<std::string> heard;
  ASSERT_TRUE(WaitFor(
      [&] {
        Call now = GetCall(call.call_sid());
        if (!now.audio_url().empty() && (heard.empty() || now.audio_url() != heard.back())) {
          heard.push_back(now.audio_url());
        }
        return now.status() == livecall::v1::CALL_STATUS_COMPLETED;
      },
      absl::Seconds(20)));
  // At least two of the greeting and the three replies were seen (polling may miss some).
  ASSERT_GE(heard.size(), 2u);
  for (const std::string& url : heard) {
    const std::string prefix = "http://localhost:8080";
    ASSERT_EQ(url.substr(0, prefix.size()), prefix) << url;
    HttpResponse audio = Get(url.substr(prefix.size()));
    ASSERT_EQ(audio.status, 200) << audio;
    EXPECT_EQ(audio.headers["content-type"], "audio/wav");
    absl::StatusOr<WavInfo> wav = ParseWav(audio.body);
    ASSERT_THAT(wav, IsOk());
    EXPECT_EQ(wav->sample_rate, 8000);
    EXPECT_GT(wav->duration(), absl::Milliseconds(500));
  }
}

TEST_F(VoiceAgentTest, AgentCallPlaysTheCustomerAsTranscriptUntilTheAgentHangsUp) {
  Call call = PlaceCallInMode("+998935550101", "agent");
  EXPECT_EQ(call.mode(), livecall::v1::CALL_MODE_AGENT);
  ASSERT_FALSE(call.session_id().empty());
  // All three lines arrive as customer turns, each with suggestions for the agent.
  Session session;
  ASSERT_TRUE(WaitFor(
      [&] {
        session = GetSession(call.session_id());
        return session.conversation_size() >= 4;
      },
      absl::Seconds(20)));
  EXPECT_THAT(Speakers(session), ElementsAre("ai", "customer", "customer", "customer"));
  EXPECT_EQ(session.conversation(1).text(),
            "Здравствуйте. У меня интернет не работает, с утра нет связи.");
  ASSERT_FALSE(session.suggestions().empty());
  // The agent's call stays up after the script: the agent controls it and hangs up.
  EXPECT_EQ(GetCall(call.call_sid()).status(), livecall::v1::CALL_STATUS_IN_PROGRESS);
  EXPECT_EQ(Post("/api/calls/" + call.call_sid() + "/hold", "").status, 200);
  EXPECT_EQ(Post("/api/calls/" + call.call_sid() + "/resume", "").status, 200);
  HttpResponse hung_up = Post("/api/calls/" + call.call_sid() + "/hangup", "");
  ASSERT_EQ(hung_up.status, 200) << hung_up;
  Session ended = EndedSession(call);
  EXPECT_EQ(ended.disposition(), "completed");
  EXPECT_FALSE(ended.summary().text().empty());
  EXPECT_THAT(ended.summary().text(), HasSubstr("Анна"));
}

TEST_F(VoiceAgentTest, ModeIsChecked) {
  ExpectErrorResponse(Post("/api/voip/call", R"({"to":"+998935550101","mode":"robot"})"), 400,
                      "INVALID_ARGUMENT");
  ExpectErrorResponse(
      Post("/api/voip/call", R"({"to":"+998935550101","mode":"agent","text":"Salom"})"), 400,
      "INVALID_ARGUMENT");
  ExpectErrorResponse(Post("/api/voip/call", R"({"to":"+998935550101","mode":"tts"})"), 400,
                      "INVALID_ARGUMENT");
}

// A second suite whose scripted customers ask for a person, or say what the knowledge base
// cannot answer: the voice agent hands them over instead of guessing.
class VoiceAgentHandoffTest : public VoiceAgentTest {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::string> dir = MakeTempDir("livecall-script-");
    ASSERT_THAT(dir.status(), IsOk());
    const std::string script = *dir + "/sandbox_scripts.json";
    std::ofstream(script) << kHandoffScript;
    SuiteOptions options = IntegrationSuiteOptions();
    options.extra_env["LIVECALL_SANDBOX_LINE_MS"] = "150";
    options.extra_env["LIVECALL_SANDBOX_SCRIPT_FILE"] = script;
    StartSuite(options);
  }
  static void TearDownTestSuite() { StopSuite(); }
};

TEST_F(VoiceAgentHandoffTest, AskingForAPersonOrStumpingTheAgentHandsTheCallOver) {
  for (const char* phone : {"+998901112233", "+998935550101"}) {
    SCOPED_TRACE(phone);
    Call call = PlaceCallInMode(phone, "ai");
    Call handed;
    ASSERT_TRUE(WaitFor(
        [&] {
          handed = GetCall(call.call_sid());
          return handed.handed_off();
        },
        absl::Seconds(20)));
    EXPECT_EQ(handed.status(),
              livecall::v1::CALL_STATUS_IN_PROGRESS);  // Now the human agent's call.
    Session session = GetSession(call.session_id());
    ASSERT_THAT(Speakers(session), ElementsAre("ai", "customer", "ai"));
    ASSERT_EQ(Post("/api/calls/" + call.call_sid() + "/hangup", "").status, 200);
    EXPECT_EQ(EndedSession(call).disposition(), "escalated");
  }
}

TEST_F(VoiceAgentHandoffTest, AfterAHandOffTheCustomerIsTranscribedForTheAgent) {
  Call call = PlaceCallInMode("+998977770707", "ai");
  Session session;
  ASSERT_TRUE(WaitFor(
      [&] {
        session = GetSession(call.session_id());
        return session.conversation_size() >= 6;
      },
      absl::Seconds(20)));
  // Answer, hand-off on request, then the last line reaches the human agent as a transcript turn.
  EXPECT_THAT(Speakers(session), ElementsAre("ai", "customer", "ai", "customer", "ai", "customer"));
  EXPECT_THAT(session.conversation(2).text(), HasSubstr("Let me check for an outage"));
  EXPECT_EQ(session.conversation(5).text(), "Thanks, bye.");
  EXPECT_TRUE(GetCall(call.call_sid()).handed_off());
  ASSERT_EQ(Post("/api/calls/" + call.call_sid() + "/hangup", "").status, 200);
}

}  // namespace
}  // namespace livecall::testing
