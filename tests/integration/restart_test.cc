// State lives in Redis, not in the processes: sessions and calls survive a restart (SIGTERM, exit
// code 0, start again) of the service that made them, and the gateway's /readyz follows its
// peers' and Redis' availability.

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "livecall/v1/ai_session.pb.h"
#include "livecall/v1/call_control.pb.h"
#include "tests/integration/suite_test.h"
#include "tests/support/json.h"
#include "tests/support/proto_matchers.h"
#include "tests/support/status_matchers.h"
#include "tests/support/wait_for.h"

namespace livecall::testing {
namespace {

using ::livecall::v1::Call;
using ::livecall::v1::Session;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Not;

class RestartTest : public SuiteTest {
 protected:
  static void SetUpTestSuite() {
    SuiteOptions options = IntegrationSuiteOptions();
    // Long enough that a call is still mid-lifecycle when call-control restarts.
    options.sandbox_ring = absl::Milliseconds(300);
    options.sandbox_answer = absl::Milliseconds(300);
    options.sandbox_talk = absl::Milliseconds(300);
    StartSuite(options);
  }
  static void TearDownTestSuite() { StopSuite(); }

  // Each test leaves the whole suite running and ready for the next one.
  void TearDown() override {
    EXPECT_THAT(suite().NotRunning(), IsEmpty());
    EXPECT_THAT(suite().WaitUntilReady(), IsOk());
    SuiteTest::TearDown();
  }

  static void ExpectSessionReadBack(const Session& expected) {
    HttpResponse response = Get("/ai/sessions/" + expected.session_id());
    ASSERT_EQ(response.status, 200) << response;
    absl::StatusOr<Session> read = ParseJsonAs<Session>(response.body);
    ASSERT_THAT(read, IsOk());
    EXPECT_THAT(*read, EqualsProto(expected));
  }

  static long ReadyzStatus() { return HttpRequest("GET", suite().admin_url() + "/readyz").status; }
};

TEST_F(RestartTest, SessionSurvivesAiSessionRestart) {
  Session session;
  ASSERT_NO_FATAL_FAILURE(StartSession("+998901112233", &session));
  ASSERT_THAT(suite().Restart(Service::kAiSession), IsOk());
  ExpectSessionReadBack(session);
}

TEST_F(RestartTest, SessionSurvivesContextRestart) {
  Session session;
  ASSERT_NO_FATAL_FAILURE(StartSession("+998935550101", &session, "/api/ai/call/start"));
  ASSERT_THAT(suite().Restart(Service::kContext), IsOk());
  ExpectSessionReadBack(session);
}

TEST_F(RestartTest, NewSessionsStartAfterContextRestart) {
  ASSERT_THAT(suite().Restart(Service::kContext), IsOk());
  Session session;
  ASSERT_NO_FATAL_FAILURE(StartSession("+998977770707", &session));
  EXPECT_EQ(session.customer().name(), "John Smith");
}

TEST_F(RestartTest, CallSurvivesCallControlRestart) {
  Call placed;
  ASSERT_NO_FATAL_FAILURE(PlaceCall("+998901112233", "Salom", &placed));
  ASSERT_THAT(suite().Restart(Service::kCallControl), IsOk());

  HttpResponse response = Get("/api/calls/" + placed.call_sid());
  ASSERT_EQ(response.status, 200) << response;
  absl::StatusOr<Call> read = ParseJsonAs<Call>(response.body);
  ASSERT_THAT(read, IsOk());
  EXPECT_EQ(read->call_sid(), placed.call_sid());
  EXPECT_EQ(read->to(), placed.to());
  EXPECT_EQ(read->text(), "Salom");
  EXPECT_EQ(read->provider(), "sandbox");
  ASSERT_THAT(read->history(), Not(IsEmpty()));
  EXPECT_EQ(read->history(0).status(), livecall::v1::CALL_STATUS_QUEUED);
}

TEST_F(RestartTest, CallLifecycleContinuesAfterCallControlRestart) {
  Call placed;
  ASSERT_NO_FATAL_FAILURE(PlaceCall("+998935550101", "Salom", &placed));
  ASSERT_THAT(suite().Restart(Service::kCallControl), IsOk());

  Call latest;
  HttpResponse last;
  ASSERT_TRUE(WaitFor(
      [&] {
        last = Get("/api/calls/" + placed.call_sid());
        return last.status == 200 && ParseJsonMessage(last.body, &latest).ok() &&
               latest.status() == livecall::v1::CALL_STATUS_COMPLETED;
      },
      absl::Seconds(15)))
      << "last answer: " << last;
  EXPECT_THAT(HistoryStatuses(latest),
              ElementsAre("queued", "ringing", "in-progress", "completed"));
}

TEST_F(RestartTest, ReadyzReportsUnavailableWhenContextIsDown) {
  ASSERT_EQ(ReadyzStatus(), 200);
  ASSERT_THAT(suite().StopService(Service::kContext), IsOk());
  long last = 0;
  EXPECT_TRUE(WaitFor(
      [&] {
        last = ReadyzStatus();
        return last == 503;
      },
      absl::Seconds(10)))
      << "last /readyz status: " << last;
  EXPECT_EQ(Get("/healthz").status, 200) << "the gateway itself is still up";
  ASSERT_THAT(suite().StartService(Service::kContext), IsOk());
  EXPECT_THAT(suite().WaitUntilReady(), IsOk());
}

TEST_F(RestartTest, ReadyzReportsUnavailableWhenRedisIsDown) {
  ASSERT_EQ(ReadyzStatus(), 200);
  ASSERT_THAT(suite().redis().Stop(), IsOk());
  long last = 0;
  EXPECT_TRUE(WaitFor(
      [&] {
        last = ReadyzStatus();
        return last == 503;
      },
      absl::Seconds(10)))
      << "last /readyz status: " << last;
  ASSERT_THAT(suite().redis().Start(), IsOk());
  EXPECT_THAT(suite().WaitUntilReady(), IsOk());
}

TEST_F(RestartTest, SessionSurvivesRedisRestart) {
  Session session;
  ASSERT_NO_FATAL_FAILURE(StartSession("+998901112233", &session));
  ASSERT_THAT(suite().redis().Restart(), IsOk());
  ASSERT_THAT(suite().WaitUntilReady(), IsOk());
  // The services' pooled Redis connections died with the old server; the first request after
  // the restart may be the one that finds out, so allow a few attempts.
  HttpResponse response;
  EXPECT_TRUE(WaitFor(
      [&] {
        response = Get("/ai/sessions/" + session.session_id());
        return response.status == 200;
      },
      absl::Seconds(5)))
      << response;
  ExpectSessionReadBack(session);
  Session after;
  ASSERT_NO_FATAL_FAILURE(StartSession("+998901112233", &after));
}

}  // namespace
}  // namespace livecall::testing
