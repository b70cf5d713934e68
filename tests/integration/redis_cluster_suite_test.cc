// The four services on a Redis Cluster of three masters and three replicas started by the test
// (tests/support/redis_cluster.h), with LIVECALL_REDIS_WAIT_REPLICAS=1: a conversation, a sandbox
// call watched live over SSE, its session ended with the call, and the finished conversations
// delivered to the CRM.

#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "livecall/v1/call_control.pb.h"
#include "livecall/v1/context.pb.h"
#include "tests/fakes/fake_http_server.h"
#include "tests/integration/suite_test.h"
#include "tests/support/json.h"
#include "tests/support/redis_cluster.h"
#include "tests/support/sse.h"
#include "tests/support/status_matchers.h"
#include "tests/support/wait_for.h"

namespace livecall::testing {
namespace {

using ::livecall::v1::Call;
using ::livecall::v1::Session;
using ::testing::HasSubstr;

// The four services against the cluster: a conversation, a sandbox call watched live, the
// session ended with its call, and the finished conversation delivered to the CRM.
class RedisClusterSuiteTest : public SuiteTest {
 protected:
  static void SetUpTestSuite() {
    cluster_ = new RedisCluster();
    crm_ = new fakes::FakeHttpServer([](const fakes::FakeRequest& request) {
      absl::MutexLock lock(&crm_mu_);
      crm_keys_->insert(
          request.headers.count("idempotency-key") ? request.headers.at("idempotency-key") : "");
      return fakes::FakeResponse{.status = 200, .chunks = {"{}"}};
    });
    crm_keys_ = new std::set<std::string>();
    cluster_status_ = new absl::Status(cluster_->Start());
    if (cluster_status_->ok()) *cluster_status_ = crm_->Start();
    if (!cluster_status_->ok()) return;
    SuiteOptions options = IntegrationSuiteOptions();
    options.extra_env["LIVECALL_REDIS_URL"] = cluster_->url();
    options.extra_env["LIVECALL_REDIS_WAIT_REPLICAS"] = "1";
    options.extra_env["LIVECALL_CRM_WEBHOOK_URL"] = crm_->base_url() + "/conversations";
    options.extra_env["LIVECALL_SESSION_END_RETRY_MS"] = "100";
    StartSuite(options);
  }
  static void TearDownTestSuite() {
    StopSuite();
    delete crm_;
    delete cluster_;
    delete cluster_status_;
  }
  void SetUp() override {
    ASSERT_THAT(*cluster_status_, IsOk());
    SuiteTest::SetUp();
  }
  static bool CrmGot(const std::string& key) {
    absl::MutexLock lock(&crm_mu_);
    return crm_keys_->count(key) > 0;
  }

  static inline RedisCluster* cluster_ = nullptr;
  static inline absl::Status* cluster_status_ = nullptr;
  static inline fakes::FakeHttpServer* crm_ = nullptr;
  static inline absl::Mutex crm_mu_;
  static inline std::set<std::string>* crm_keys_ = nullptr;
};

TEST_F(RedisClusterSuiteTest, AConversationAndACallRunEndToEnd) {
  Session session;
  StartSession("+998901112233", &session);
  HttpResponse turn = Post("/ai/sessions/" + session.session_id() + "/turns",
                           R"({"speaker":"customer","text":"internetim ishlamayapti"})");
  ASSERT_EQ(turn.status, 200) << turn;
  HttpResponse ended =
      Post("/api/ai/sessions/" + session.session_id() + "/end", R"({"disposition":"resolved"})");
  ASSERT_EQ(ended.status, 200) << ended;
  EXPECT_TRUE(
      WaitFor([&] { return CrmGot("conversation:" + session.session_id()); }, absl::Seconds(20)));

  Call call;
  PlaceCall("+998935550101", "Salom", &call);
  SseResult watched = ReadSseEvents(
      absl::StrCat("http://127.0.0.1:", suite().http_port(), "/api/calls/", call.call_sid(),
                   "/events"),
      {"Authorization: Bearer " + TestToken(kSupervisor, "supervisor")},
      [](const std::vector<SseEvent>& events) {
        for (const SseEvent& event : events) {
          if (absl::StrContains(event.data, "\"status\":\"completed\"")) return true;
        }
        return false;
      },
      absl::Seconds(20));
  ASSERT_EQ(watched.status, 200);
  ASSERT_FALSE(watched.events.empty());
  EXPECT_THAT(watched.events.back().data, HasSubstr("\"status\":\"completed\""));
  if (!call.session_id().empty()) {
    Session with_call;
    EXPECT_TRUE(WaitFor(
        [&] {
          HttpResponse got = Get("/ai/sessions/" + call.session_id());
          return got.status == 200 && ParseJsonMessage(got.body, &with_call).ok() &&
                 with_call.status() == "ended";
        },
        absl::Seconds(20)))
        << with_call.status();
    EXPECT_TRUE(
        WaitFor([&] { return CrmGot("conversation:" + call.session_id()); }, absl::Seconds(20)));
  }
}

}  // namespace
}  // namespace livecall::testing
