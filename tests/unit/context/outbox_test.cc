#include "services/context/outbox.h"

#include <google/protobuf/util/json_util.h>

#include "absl/time/clock.h"
#include "common/ids.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/context/session_store.h"
#include "tests/fakes/fake_http_server.h"
#include "tests/support/redis_server.h"
#include "tests/support/status_matchers.h"
#include "tests/support/wait_for.h"

namespace livecall::context {
namespace {

using ::livecall::fakes::FakeHttpServer;
using ::livecall::fakes::FakeRequest;
using ::livecall::fakes::FakeResponse;
using ::livecall::testing::IsOk;
using ::testing::HasSubstr;

class OutboxTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { CurlGlobalInit(); }

  void SetUp() override {
    ASSERT_THAT(redis_server_.Start(), IsOk());
    RedisPool::Options options;
    options.url = *ParseRedisUrl(redis_server_.url());
    redis_ = std::make_unique<RedisPool>(options);
    sessions_ = std::make_unique<SessionStore>(*redis_, absl::Hours(1));
    crm_ = std::make_unique<FakeHttpServer>([this](const FakeRequest&) {
      absl::MutexLock lock(&mu_);
      return FakeResponse{.status = crm_status_, .chunks = {"{}"}};
    });
    ASSERT_THAT(crm_->Start(), IsOk());
  }

  void CrmAnswers(int status) {
    absl::MutexLock lock(&mu_);
    crm_status_ = status;
  }

  // A finished conversation in the outbox; returns its session id.
  std::string FinishConversation(const std::string& text) {
    livecall::v1::Session session;
    session.set_phone_number("+998901112233");
    session.set_call_sid(NewId("CA"));  // A call has one session: each conversation its call.
    livecall::v1::Turn* turn = session.add_conversation();
    turn->set_speaker("customer");
    turn->set_text(text);
    absl::StatusOr<livecall::v1::Session> created = sessions_->Create(session, absl::Now());
    EXPECT_THAT(created.status(), IsOk());
    livecall::v1::Summary summary;
    summary.set_text("summary of " + text);
    livecall::v1::Call call;
    call.set_call_sid(session.call_sid());
    call.set_status("completed");
    EXPECT_THAT(
        sessions_->End(created->session_id(), summary, "resolved", &call, absl::Now()).status(),
        IsOk());
    return created->session_id();
  }

  OutboxOptions Options(const std::string& consumer) {
    return {.webhook_url = crm_->base_url() + "/conversations",
            .consumer = consumer,
            .timeout = absl::Seconds(2),
            .initial_backoff = absl::Milliseconds(100),
            .max_backoff = absl::Seconds(1)};
  }

  livecall::testing::RedisServer redis_server_;
  std::unique_ptr<RedisPool> redis_;
  std::unique_ptr<SessionStore> sessions_;
  CurlHttpClient http_;
  std::unique_ptr<FakeHttpServer> crm_;
  absl::Mutex mu_;
  int crm_status_ ABSL_GUARDED_BY(mu_) = 200;
};

TEST_F(OutboxTest, AFinishedConversationReachesTheCrmWithItsIdempotencyKey) {
  const std::string session_id = FinishConversation("internetim ishlamayapti");
  OutboxDeliverer outbox(*redis_, http_, Options("replica-a"));
  ASSERT_THAT(outbox.EnsureGroup(), IsOk());
  EXPECT_EQ(*outbox.Backlog(), 1);
  EXPECT_EQ(*outbox.RunOnce(absl::Now()), 1);
  EXPECT_EQ(*outbox.Backlog(), 0);
  ASSERT_EQ(crm_->requests().size(), 1u);
  const FakeRequest request = crm_->requests()[0];
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.target, "/conversations");
  EXPECT_EQ(request.headers.at("idempotency-key"), "conversation:" + session_id);
  livecall::v1::ConversationRecord record;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(request.body, &record).ok());
  EXPECT_EQ(record.session().session_id(), session_id);
  EXPECT_EQ(record.session().conversation(0).text(), "internetim ishlamayapti");
  EXPECT_EQ(record.session().summary().text(), "summary of internetim ishlamayapti");
  EXPECT_EQ(record.session().disposition(), "resolved");
  EXPECT_EQ(record.call().status(), "completed");
  EXPECT_EQ(*outbox.RunOnce(absl::Now()), 0);  // Nothing delivered twice.
}

TEST_F(OutboxTest, ACrmThatIsDownGetsTheConversationOnceItIsBack) {
  CrmAnswers(503);
  const std::string session_id = FinishConversation("salom");
  OutboxDeliverer outbox(*redis_, http_, Options("replica-a"));
  ASSERT_THAT(outbox.EnsureGroup(), IsOk());
  outbox.Start();
  ASSERT_TRUE(
      livecall::testing::WaitFor([&] { return crm_->requests().size() >= 2; }, absl::Seconds(10)));
  EXPECT_EQ(*outbox.Backlog(), 1);  // Failures never lose the entry.
  CrmAnswers(200);
  ASSERT_TRUE(
      livecall::testing::WaitFor([&] { return *outbox.Backlog() == 0; }, absl::Seconds(10)));
  outbox.Stop();
  std::vector<FakeRequest> requests = crm_->requests();
  for (const FakeRequest& request : requests) {
    EXPECT_EQ(request.headers.at("idempotency-key"), "conversation:" + session_id);
  }
  // Attempts are numbered, so the CRM can tell a retry from a new conversation.
  EXPECT_EQ(requests.back().headers.at("x-livecall-delivery-attempt"),
            std::to_string(requests.size()));
}

TEST_F(OutboxTest, AnEntryTakenByADeadReplicaIsDeliveredByAnother) {
  FinishConversation("first");
  CrmAnswers(503);
  OutboxDeliverer dead(*redis_, http_, Options("replica-dead"));
  ASSERT_THAT(dead.EnsureGroup(), IsOk());
  EXPECT_EQ(*dead.RunOnce(absl::Now()), 0);  // Took it, failed, never came back.
  CrmAnswers(200);
  OutboxDeliverer alive(*redis_, http_, Options("replica-alive"));
  alive.Start();
  ASSERT_TRUE(livecall::testing::WaitFor([&] { return *alive.Backlog() == 0; }, absl::Seconds(10)));
  alive.Stop();
}

TEST_F(OutboxTest, ABacklogWrittenBeforeTheWebhookWasConfiguredIsDelivered) {
  FinishConversation("one");
  FinishConversation("two");
  FinishConversation("three");
  OutboxDeliverer outbox(*redis_, http_, Options("replica-a"));
  ASSERT_THAT(outbox.EnsureGroup(), IsOk());
  ASSERT_THAT(outbox.EnsureGroup(), IsOk());  // Idempotent.
  EXPECT_EQ(*outbox.RunOnce(absl::Now()), 3);
  EXPECT_EQ(crm_->requests().size(), 3u);
}

TEST_F(OutboxTest, DeliveriesSurviveARedisRestart) {
  CrmAnswers(503);
  FinishConversation("kept");
  OutboxDeliverer outbox(*redis_, http_, Options("replica-a"));
  ASSERT_THAT(outbox.EnsureGroup(), IsOk());
  EXPECT_EQ(*outbox.RunOnce(absl::Now()), 0);
  ASSERT_THAT(redis_server_.Restart(), IsOk());
  CrmAnswers(200);
  outbox.Start();
  ASSERT_TRUE(livecall::testing::WaitFor(
      [&] {
        absl::StatusOr<int64_t> backlog = outbox.Backlog();
        return backlog.ok() && *backlog == 0;
      },
      absl::Seconds(10)));
  outbox.Stop();
  EXPECT_THAT(crm_->requests().back().body, HasSubstr("kept"));
}

}  // namespace
}  // namespace livecall::context
