// A conversation through the REST API: turns with suggestions in each language, the end of the
// call with its summary, the customer's list of conversations, and all of it surviving restarts.

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "livecall/v1/ai_session.pb.h"
#include "livecall/v1/context.pb.h"
#include "tests/integration/suite_test.h"
#include "tests/support/json.h"
#include "tests/support/status_matchers.h"

namespace livecall::testing {
namespace {

using ::livecall::v1::AddTurnResponse;
using ::livecall::v1::ListSessionsResponse;
using ::livecall::v1::Session;
using ::testing::HasSubstr;

class ConversationTest : public SuiteTest {
 protected:
  static void SetUpTestSuite() { StartSuite(IntegrationSuiteOptions()); }
  static void TearDownTestSuite() { StopSuite(); }

  static AddTurnResponse PostTurn(const std::string& session_id, const std::string& speaker,
                                  const std::string& text) {
    HttpResponse response = Post("/ai/sessions/" + session_id + "/turns",
                                 R"({"speaker":")" + speaker + R"(","text":")" + text + R"("})");
    AddTurnResponse answer;
    EXPECT_EQ(response.status, 200) << response;
    EXPECT_THAT(ParseJsonMessage(response.body, &answer), IsOk()) << response.body;
    return answer;
  }
};

TEST_F(ConversationTest, EachLanguagesComplaintGetsTheOutageSuggestion) {
  struct Case {
    const char* phone;
    const char* words;
    const char* expected;
  };
  for (const Case& c : {Case{"+998901112233", "internetim ishlamayapti", "internet-outage-uz"},
                        Case{"+998935550101", "интернет не работает", "internet-outage-ru"},
                        Case{"+998977770707", "my internet is down", "internet-outage-en"}}) {
    SCOPED_TRACE(c.words);
    Session session;
    StartSession(c.phone, &session);
    AddTurnResponse answer = PostTurn(session.session_id(), "customer", c.words);
    ASSERT_FALSE(answer.suggestions().empty());
    EXPECT_EQ(answer.suggestions(0).source(), c.expected);
    EXPECT_EQ(answer.engine(), "embedded");
  }
}

TEST_F(ConversationTest, EndedConversationKeepsItsSummaryAndIsListedForTheCustomer) {
  Session session;
  StartSession("+998712001122", &session);
  PostTurn(session.session_id(), "customer", "televizor kanallari ko'rinmayapti");
  PostTurn(session.session_id(), "agent", "Pristavkani qayta yoqing");
  HttpResponse ended =
      Post("/api/ai/sessions/" + session.session_id() + "/end", R"({"disposition":"resolved"})");
  ASSERT_EQ(ended.status, 200) << ended;
  Session ended_session;
  ASSERT_THAT(ParseJsonMessage(ended.body, &ended_session), IsOk());
  EXPECT_EQ(ended_session.status(), "ended");
  EXPECT_EQ(ended_session.summary().agreed(), "Pristavkani qayta yoqing");
  EXPECT_THAT(ended_session.summary().text(), HasSubstr("Gulnora Yusupova"));

  // An ended session takes no more turns: 409, not a silent append.
  HttpResponse late = Post("/ai/sessions/" + session.session_id() + "/turns",
                           R"({"speaker":"customer","text":"rahmat"})");
  ExpectErrorResponse(late, 409, "FAILED_PRECONDITION");

  HttpResponse listed = Get("/api/customers/%2B998712001122/conversations?limit=5");
  ASSERT_EQ(listed.status, 200) << listed;
  ListSessionsResponse list;
  ASSERT_THAT(ParseJsonMessage(listed.body, &list), IsOk());
  ASSERT_GE(list.sessions_size(), 1);
  EXPECT_EQ(list.sessions(0).session_id(), session.session_id());
  EXPECT_EQ(list.sessions(0).conversation_size(), 3);
}

TEST_F(ConversationTest, TurnsAndSummarySurviveRestartsOfAiSessionAndContext) {
  Session session;
  StartSession("+998998887766", &session);
  PostTurn(session.session_id(), "customer", "хочу сменить тариф");
  ASSERT_THAT(suite().Restart(Service::kAiSession), IsOk());
  ASSERT_THAT(suite().Restart(Service::kContext), IsOk());
  HttpResponse ended = Post("/ai/sessions/" + session.session_id() + "/end", "{}");
  ASSERT_EQ(ended.status, 200) << ended;
  HttpResponse read = Get("/ai/sessions/" + session.session_id());
  ASSERT_EQ(read.status, 200) << read;
  Session stored;
  ASSERT_THAT(ParseJsonMessage(read.body, &stored), IsOk());
  ASSERT_EQ(stored.conversation_size(), 2);
  EXPECT_EQ(stored.conversation(1).text(), "хочу сменить тариф");
  EXPECT_EQ(stored.disposition(), "completed");
  EXPECT_FALSE(stored.summary().text().empty());
}

TEST_F(ConversationTest, BadTurnsGetClearErrors) {
  Session session;
  StartSession("+998901112233", &session);
  ExpectErrorResponse(
      Post("/ai/sessions/" + session.session_id() + "/turns", R"({"speaker":"robot","text":"x"})"),
      400, "INVALID_ARGUMENT");
  ExpectErrorResponse(Post("/ai/sessions/ses_00000000000000000000000000000000/turns",
                           R"({"speaker":"customer","text":"x"})"),
                      404, "NOT_FOUND");
  ExpectErrorResponse(Get("/api/customers/not-a-phone/conversations"), 400, "INVALID_ARGUMENT");
  ExpectSuiteHealthy();
}

}  // namespace
}  // namespace livecall::testing
