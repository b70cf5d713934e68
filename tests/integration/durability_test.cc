// Faults that must lose nothing: kill -9 of Redis (it comes back from its append-only file) and
// of the services, with every write the API accepted still there afterwards; a CRM webhook
// that is down for a while still gets every finished conversation; and one the CRM refuses for
// good waits in the dead letters until `livecall-context --replay-dead-letters` sends it again; and
// a call that ends while ai-session is down, with call-control killed right after, still ends its
// session.

#include <signal.h>

#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "livecall/v1/context.pb.h"
#include "tests/fakes/fake_http_server.h"
#include "tests/integration/suite_test.h"
#include "tests/support/child_process.h"
#include "tests/support/json.h"
#include "tests/support/metrics_text.h"
#include "tests/support/status_matchers.h"
#include "tests/support/wait_for.h"

namespace livecall::testing {
namespace {

using ::livecall::fakes::FakeHttpServer;
using ::livecall::fakes::FakeRequest;
using ::livecall::fakes::FakeResponse;
using ::livecall::testing::StatusIs;
using ::livecall::v1::Call;
using ::livecall::v1::Session;
using ::testing::HasSubstr;

// A CRM webhook that fails until told otherwise, refuses the records it is told to (422, as a
// CRM answers a record it will never accept), and remembers what it acknowledged.
class FakeCrmWebhook {
 public:
  FakeCrmWebhook()
      : server_([this](const FakeRequest& request) {
          absl::MutexLock lock(&mu_);
          if (!up_) return FakeResponse{.status = 503, .chunks = {"maintenance"}};
          const std::string key =
              request.headers.count("idempotency-key") ? request.headers.at("idempotency-key") : "";
          if (refused_keys_.contains(key)) {
            return FakeResponse{.status = 422, .chunks = {R"({"error":"unknown agent"})"}};
          }
          acknowledged_keys_.insert(key);
          return FakeResponse{.status = 200, .chunks = {"{}"}};
        }) {}
  absl::Status Start() { return server_.Start(); }
  std::string url() const { return server_.base_url() + "/livecall/conversations"; }
  void SetUp(bool up) {
    absl::MutexLock lock(&mu_);
    up_ = up;
  }
  void Refuse(const std::string& key, bool refused) {
    absl::MutexLock lock(&mu_);
    if (refused) {
      refused_keys_.insert(key);
    } else {
      refused_keys_.erase(key);
    }
  }
  bool Acknowledged(const std::string& key) {
    absl::MutexLock lock(&mu_);
    return acknowledged_keys_.count(key) > 0;
  }
  size_t attempts() const { return server_.requests().size(); }

 private:
  absl::Mutex mu_;
  bool up_ ABSL_GUARDED_BY(mu_) = false;
  std::set<std::string> acknowledged_keys_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> refused_keys_ ABSL_GUARDED_BY(mu_);
  FakeHttpServer server_;
};

FakeCrmWebhook* crm = nullptr;

class DurabilityTest : public SuiteTest {
 protected:
  static void SetUpTestSuite() {
    crm = new FakeCrmWebhook();
    ASSERT_THAT(crm->Start(), IsOk());
    SuiteOptions options = IntegrationSuiteOptions();
    options.extra_env["LIVECALL_CRM_WEBHOOK_URL"] = crm->url();
    options.extra_env["LIVECALL_OUTBOX_INITIAL_BACKOFF_MS"] = "100";
    options.extra_env["LIVECALL_OUTBOX_MAX_BACKOFF_MS"] = "500";
    // A crashed replica's entries are taken over after twice this (outbox.h).
    options.extra_env["LIVECALL_CRM_WEBHOOK_TIMEOUT_MS"] = "1000";
    options.extra_env["LIVECALL_SESSION_END_RETRY_MS"] = "100";
    options.extra_env["LIVECALL_SESSION_END_MAX_RETRY_MS"] = "500";
    StartSuite(options);
  }
  static void TearDownTestSuite() {
    StopSuite();
    delete crm;
    crm = nullptr;
  }

  // Posts turns "<prefix>0".."<prefix>N-1", calling `between(i)` before each; returns the texts
  // the API accepted (answered 200).
  static std::vector<std::string> PostTurns(const std::string& session_id,
                                            const std::string& prefix, int count,
                                            const std::function<void(int)>& between) {
    std::vector<std::string> accepted;
    for (int i = 0; i < count; ++i) {
      between(i);
      const std::string text = absl::StrCat(prefix, i);
      HttpResponse response = Post("/ai/sessions/" + session_id + "/turns",
                                   R"({"speaker":"customer","text":")" + text + R"("})");
      if (response.status == 200) accepted.push_back(text);
    }
    return accepted;
  }

  // Every accepted text is in the stored conversation, in the order it was accepted.
  static void ExpectAllStored(const std::string& session_id,
                              const std::vector<std::string>& accepted) {
    HttpResponse read = Get("/ai/sessions/" + session_id);
    ASSERT_EQ(read.status, 200) << read;
    Session session;
    ASSERT_THAT(ParseJsonMessage(read.body, &session), IsOk());
    size_t next = 0;
    for (const livecall::v1::Turn& turn : session.conversation()) {
      if (next < accepted.size() && turn.text() == accepted[next]) ++next;
    }
    EXPECT_EQ(next, accepted.size())
        << "lost an accepted turn; found " << next << " of " << accepted.size();
  }
};

TEST_F(DurabilityTest, KillNineOfRedisLosesNoAcceptedTurn) {
  Session session;
  StartSession("+998901112233", &session);
  std::vector<std::string> accepted =
      PostTurns(session.session_id(), "before-crash-", 10, [](int) {});
  ASSERT_EQ(accepted.size(), 10u);
  ASSERT_THAT(suite().redis().process().Signal(SIGKILL), IsOk());
  ASSERT_THAT(suite().redis().process().WaitForExit(absl::Seconds(10)).status(),
              StatusIs(absl::StatusCode::kAborted));  // Killed by the signal.
  // While Redis is down the API refuses clearly (5xx), and nothing crashes.
  HttpResponse refused = Post("/ai/sessions/" + session.session_id() + "/turns",
                              R"({"speaker":"customer","text":"while-down"})");
  EXPECT_GE(refused.status, 500) << refused;
  ASSERT_THAT(suite().redis().Start(), IsOk());
  ASSERT_THAT(suite().WaitUntilReady(), IsOk());
  std::vector<std::string> after = PostTurns(session.session_id(), "after-crash-", 5, [](int) {});
  EXPECT_EQ(after.size(), 5u);
  accepted.insert(accepted.end(), after.begin(), after.end());
  ExpectAllStored(session.session_id(), accepted);
  ExpectSuiteHealthy();
}

TEST_F(DurabilityTest, KillNineOfContextAndAiSessionLosesNoAcceptedTurn) {
  Session session;
  StartSession("+998935550101", &session);
  std::vector<std::string> accepted = PostTurns(session.session_id(), "turn-", 30, [](int i) {
    if (i == 10 || i == 20) {
      const Service victim = i == 10 ? Service::kContext : Service::kAiSession;
      ASSERT_THAT(suite().process(victim).Signal(SIGKILL), IsOk());
      ASSERT_THAT(suite().process(victim).WaitForExit(absl::Seconds(10)).status(),
                  StatusIs(absl::StatusCode::kAborted));  // Killed by the signal.
      ASSERT_THAT(suite().StartService(victim), IsOk());
      // The gateway's channel to the restarted service reconnects before the next turn.
      ASSERT_THAT(suite().WaitUntilReady(), IsOk());
    }
  });
  EXPECT_GE(accepted.size(), 28u);  // At most the turn in flight at each kill may be refused.
  ASSERT_THAT(suite().WaitUntilReady(), IsOk());
  ExpectAllStored(session.session_id(), accepted);
}

TEST_F(DurabilityTest, AFinishedConversationReachesACrmThatWasDownAcrossAContextCrash) {
  crm->SetUp(false);
  Session session;
  StartSession("+998977770707", &session);
  ASSERT_EQ(PostTurns(session.session_id(), "hello-", 2, [](int) {}).size(), 2u);
  HttpResponse ended = Post("/ai/sessions/" + session.session_id() + "/end", "{}");
  ASSERT_EQ(ended.status, 200) << ended;
  ASSERT_TRUE(WaitFor([] { return crm->attempts() >= 2; }, absl::Seconds(15)));
  ASSERT_THAT(suite().process(Service::kContext).Signal(SIGKILL), IsOk());
  ASSERT_THAT(suite().process(Service::kContext).WaitForExit(absl::Seconds(10)).status(),
              StatusIs(absl::StatusCode::kAborted));  // Killed by the signal.
  crm->SetUp(true);
  ASSERT_THAT(suite().StartService(Service::kContext), IsOk());
  EXPECT_TRUE(WaitFor([&] { return crm->Acknowledged("conversation:" + session.session_id()); },
                      absl::Seconds(20)));
}

TEST_F(DurabilityTest, AConversationTheCrmRefusesWaitsInTheDeadLettersUntilReplayed) {
  crm->SetUp(true);
  Session session;
  StartSession("+998935551212", &session);
  const std::string key = "conversation:" + session.session_id();
  crm->Refuse(key, true);
  HttpResponse ended = Post("/ai/sessions/" + session.session_id() + "/end", "{}");
  ASSERT_EQ(ended.status, 200) << ended;
  const std::string metrics_url =
      absl::StrCat("http://127.0.0.1:", suite().metrics_port(Service::kContext), "/metrics");
  ASSERT_TRUE(WaitFor(
      [&] {
        return MetricValue(HttpRequest("GET", metrics_url).body,
                           R"(livecall_outbox_dead_lettered_total{status="422"})") >= 1;
      },
      absl::Seconds(15)))
      << suite().LogTails();
  EXPECT_FALSE(crm->Acknowledged(key));

  // The CRM is fixed; the operator replays the dead letters with the service's own environment.
  crm->Refuse(key, false);
  const std::map<std::string, std::string> env = {
      {"LIVECALL_REDIS_URL", suite().redis().url()},
      {"LIVECALL_GRPC_API_KEYS", absl::StrCat("test:", kTestGrpcApiKey)}};
  ChildProcess replay;
  ASSERT_THAT(replay.Start(LIVECALL_CONTEXT_BIN, {"--replay-dead-letters"}, env,
                           suite().log_dir() + "/replay.log"),
              IsOk());
  absl::StatusOr<int> exit_code = replay.WaitForExit(absl::Seconds(30));
  ASSERT_THAT(exit_code, IsOk());
  EXPECT_EQ(*exit_code, 0) << replay.LogTail();
  EXPECT_THAT(replay.LogTail(), HasSubstr("1 dead letters replayed")) << replay.LogTail();
  EXPECT_TRUE(WaitFor([&] { return crm->Acknowledged(key); }, absl::Seconds(15)))
      << suite().LogTails();

  // A mistyped flag is refused, not taken for "serve".
  ChildProcess typo;
  ASSERT_THAT(typo.Start(LIVECALL_CONTEXT_BIN, {"--replay-dead-letter"}, env,
                         suite().log_dir() + "/typo.log"),
              IsOk());
  exit_code = typo.WaitForExit(absl::Seconds(30));
  ASSERT_THAT(exit_code, IsOk());
  EXPECT_EQ(*exit_code, 2);
  EXPECT_THAT(typo.LogTail(), HasSubstr("unknown argument")) << typo.LogTail();
}

// The end of a call must end its AI session (summary, disposition, the CRM) even when ai-session
// is down as the call ends and call-control is killed before ai-session is back: the job is in
// Redis, written with the call's end, and the restarted call-control works it off.
TEST_F(DurabilityTest, ASessionEndsAfterItsCallEndedWhileAiSessionWasDownAndCallControlDied) {
  crm->SetUp(true);
  HttpResponse placed = Post("/api/voip/call", R"({"to":"+998935550101","mode":"agent"})");
  ASSERT_EQ(placed.status, 200) << placed;
  Call call;
  ASSERT_THAT(ParseJsonMessage(placed.body, &call), IsOk());
  ASSERT_FALSE(call.session_id().empty());
  ASSERT_TRUE(WaitFor(
      [&] {
        Call now;
        return ParseJsonMessage(Get("/api/calls/" + call.call_sid()).body, &now).ok() &&
               now.status() == livecall::v1::CALL_STATUS_IN_PROGRESS;
      },
      absl::Seconds(10)));

  auto kill = [](Service victim) {
    ASSERT_THAT(suite().process(victim).Signal(SIGKILL), IsOk());
    ASSERT_THAT(suite().process(victim).WaitForExit(absl::Seconds(10)).status(),
                StatusIs(absl::StatusCode::kAborted));  // Killed by the signal.
  };
  ASSERT_NO_FATAL_FAILURE(kill(Service::kAiSession));
  HttpResponse hung_up = Post("/api/calls/" + call.call_sid() + "/hangup", "");
  ASSERT_EQ(hung_up.status, 200) << hung_up;
  // call-control's attempt to end the session at once fails; then call-control dies too.
  ASSERT_NO_FATAL_FAILURE(kill(Service::kCallControl));
  ASSERT_THAT(suite().StartService(Service::kAiSession), IsOk());
  ASSERT_THAT(suite().StartService(Service::kCallControl), IsOk());
  ASSERT_THAT(suite().WaitUntilReady(), IsOk());

  Session session;
  EXPECT_TRUE(WaitFor(
      [&] {
        HttpResponse got = Get("/ai/sessions/" + call.session_id());
        return got.status == 200 && ParseJsonMessage(got.body, &session).ok() &&
               session.status() == "ended";
      },
      absl::Seconds(20)))
      << "session status: " << session.status();
  EXPECT_EQ(session.disposition(), "completed");
  EXPECT_TRUE(WaitFor([&] { return crm->Acknowledged("conversation:" + call.session_id()); },
                      absl::Seconds(20)));
}

}  // namespace
}  // namespace livecall::testing
