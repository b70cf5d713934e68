#include "services/context/outbox.h"

#include <google/protobuf/util/json_util.h>

#include <map>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/enum_json.h"
#include "common/ids.h"
#include "common/metrics.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/context/session_store.h"
#include "tests/fakes/fake_http_server.h"
#include "tests/support/metrics_text.h"
#include "tests/support/redis_fixture.h"
#include "tests/support/status_matchers.h"
#include "tests/support/wait_for.h"

namespace livecall::context {
namespace {

using ::livecall::fakes::FakeHttpServer;
using ::livecall::fakes::FakeRequest;
using ::livecall::fakes::FakeResponse;
using ::livecall::testing::IsOk;
using ::testing::HasSubstr;

class OutboxTest : public livecall::testing::RedisFixture {
 protected:
  static void SetUpTestSuite() { CurlGlobalInit(); }

  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(RedisFixture::SetUp());
    sessions_ = std::make_unique<SessionStore>(*redis_, absl::Hours(1));
    // Like a real CRM: it may take its time (and then it is working on the request), and it
    // answers errors with a JSON body saying why.
    crm_ = std::make_unique<FakeHttpServer>([this](const FakeRequest& request) {
      const std::string key =
          request.headers.count("idempotency-key") ? request.headers.at("idempotency-key") : "";
      absl::Duration takes;
      int status;
      {
        absl::MutexLock lock(&mu_);
        takes = crm_takes_;
        status = crm_status_;
        max_in_flight_ = std::max(max_in_flight_, ++in_flight_[key]);
      }
      absl::SleepFor(takes);  // The CRM at work.
      absl::MutexLock lock(&mu_);
      --in_flight_[key];
      if (status == 200) acknowledged_[key]++;
      return FakeResponse{
          .status = status,
          .chunks = {status == 200 ? "{}" : R"({"error":"phone_number is not a customer"})"}};
    });
    ASSERT_THAT(crm_->Start(), IsOk());
  }

  void CrmAnswers(int status, absl::Duration takes = absl::ZeroDuration()) {
    absl::MutexLock lock(&mu_);
    crm_status_ = status;
    crm_takes_ = takes;
  }

  std::string OutboxEntryId() {
    absl::StatusOr<RedisReply> first =
        redis_->Command({"XRANGE", kOutboxKey, "-", "+", "COUNT", "1"});
    if (!first.ok() || (*first)->elements == 0) return "";
    return ReplyString(*(*first)->element[0]->element[0]);
  }

  static double Metric(const std::string& series) {
    return livecall::testing::MetricValue(SerializeMetrics(), series);
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
    call.set_status(livecall::v1::CALL_STATUS_COMPLETED);
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

  std::unique_ptr<SessionStore> sessions_;
  CurlHttpClient http_;
  std::unique_ptr<FakeHttpServer> crm_;
  absl::Mutex mu_;
  int crm_status_ ABSL_GUARDED_BY(mu_) = 200;
  absl::Duration crm_takes_ ABSL_GUARDED_BY(mu_);
  // POSTs of each idempotency key the CRM is working on, the most ever at once for one key, and
  // how many times it acknowledged each key.
  std::map<std::string, int> in_flight_ ABSL_GUARDED_BY(mu_);
  int max_in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, int> acknowledged_ ABSL_GUARDED_BY(mu_);
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
  // The CRM reads the call's status as the string it always was.
  EXPECT_THAT(request.body, HasSubstr(R"("status":"completed")"));
  ASSERT_THAT(ParseJson(request.body, &record), IsOk()) << request.body;
  EXPECT_EQ(record.session().session_id(), session_id);
  EXPECT_EQ(record.session().conversation(0).text(), "internetim ishlamayapti");
  EXPECT_EQ(record.session().summary().text(), "summary of internetim ishlamayapti");
  EXPECT_EQ(record.session().disposition(), "resolved");
  EXPECT_EQ(record.call().status(), livecall::v1::CALL_STATUS_COMPLETED);
  EXPECT_EQ(*outbox.RunOnce(absl::Now()), 0);  // Nothing delivered twice.
}

// SessionStore::End adds the record just before the script that ends the session names it (the
// outbox is in a Redis Cluster slot of its own). An End that died in between leaves an entry no
// end names: it is dropped unsent, and that End could no longer name it; a real end is delivered.
TEST_F(OutboxTest, AnEntryNoEndNamedIsDroppedUnsent) {
  livecall::v1::Session session;
  session.set_phone_number("+998901112233");
  session.set_call_sid(NewId("CA"));
  absl::StatusOr<livecall::v1::Session> created = sessions_->Create(session, absl::Now());
  ASSERT_THAT(created.status(), IsOk());
  ASSERT_THAT(
      redis_
          ->Command({"XADD", kOutboxKey, "*", "session_id", created->session_id(),
                     "idempotency_key", "conversation:" + created->session_id(), "record", "{}"})
          .status(),
      IsOk());
  const std::string orphan = OutboxEntryId();
  OutboxDeliverer outbox(*redis_, http_, Options("replica-a"));
  ASSERT_THAT(outbox.EnsureGroup(), IsOk());
  EXPECT_EQ(*outbox.RunOnce(absl::Now()), 0);
  EXPECT_TRUE(crm_->requests().empty());
  EXPECT_EQ(*outbox.Backlog(), 0);
  // The session is still active; its version moved, so an End holding the old one retries.
  absl::StatusOr<bool> confirmed = ConfirmOutboxEntry(*redis_, created->session_id(), orphan);
  ASSERT_THAT(confirmed.status(), IsOk());
  EXPECT_FALSE(*confirmed);
  ASSERT_THAT(sessions_->End(created->session_id(), {}, "resolved", nullptr, absl::Now()).status(),
              IsOk());
  EXPECT_EQ(*outbox.RunOnce(absl::Now()), 1);
  ASSERT_EQ(crm_->requests().size(), 1u);
  EXPECT_EQ(crm_->requests()[0].headers.at("idempotency-key"),
            "conversation:" + created->session_id());
  // Ended: an entry other than the one its end named is not its record.
  EXPECT_FALSE(*ConfirmOutboxEntry(*redis_, created->session_id(), orphan));
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

TEST(OutboxReclaimTest, AnEntryIsReclaimedOnlyWellAfterAnyPostCouldHaveEnded) {
  EXPECT_EQ(ReclaimIdle(absl::Seconds(5)), absl::Seconds(10));
  EXPECT_EQ(ReclaimIdle(absl::Milliseconds(100)), absl::Milliseconds(1100));
  for (absl::Duration timeout : {absl::Milliseconds(100), absl::Seconds(1), absl::Seconds(120)}) {
    EXPECT_GE(ReclaimIdle(timeout), timeout + absl::Seconds(1));
  }
  // The replica derives it from the webhook timeout it is given (default 5 s).
  RedisPool redis{RedisPool::Options{}};
  CurlHttpClient http;
  EXPECT_EQ(OutboxDeliverer(redis, http, OutboxOptions{}).reclaim_idle(), absl::Seconds(10));
}

TEST(OutboxRefusalTest, OnlyA4xxThatIsNotTimeoutOrRateLimitIsForGood) {
  for (int status : {400, 401, 403, 404, 409, 410, 413, 422}) {
    EXPECT_TRUE(IsPermanentRefusal(status)) << status;
  }
  for (int status : {200, 302, 408, 429, 500, 502, 503, 504}) {
    EXPECT_FALSE(IsPermanentRefusal(status)) << status;
  }
}

// A slow CRM (each POST takes 250 ms of a 1.5 s timeout) and two replicas: replica A reads all 16
// entries at once and works through them for 4 s, longer than the reclaim idle (3 s), so replica B
// claims the ones A has not reached. Neither POSTs an entry the other is POSTing.
TEST_F(OutboxTest, TwoReplicasNeverPostTheSameEntryAtOnceWhileTheCrmIsSlow) {
  constexpr int kConversations = 16;
  for (int i = 0; i < kConversations; ++i) FinishConversation(absl::StrCat("slow-", i));
  CrmAnswers(200, absl::Milliseconds(250));
  OutboxOptions options = Options("replica-a");
  options.timeout = absl::Milliseconds(1500);
  options.batch = kConversations;
  OutboxDeliverer a(*redis_, http_, options);
  options.consumer = "replica-b";
  OutboxDeliverer b(*redis_, http_, options);
  ASSERT_EQ(a.reclaim_idle(), absl::Seconds(3));
  ASSERT_THAT(a.EnsureGroup(), IsOk());
  a.Start();
  b.Start();
  ASSERT_TRUE(livecall::testing::WaitFor(
      [&] {
        absl::MutexLock lock(&mu_);
        return static_cast<int>(acknowledged_.size()) == kConversations;
      },
      absl::Seconds(30)));
  a.Stop();
  b.Stop();
  EXPECT_EQ(*a.Backlog(), 0);
  absl::MutexLock lock(&mu_);
  EXPECT_EQ(max_in_flight_, 1) << "two replicas POSTed the same conversation at once";
}

TEST_F(OutboxTest, ARefusalForGoodIsDeadLetteredAndReplayedOnDemand) {
  CrmAnswers(422);
  const std::string session_id = FinishConversation("refused");
  const std::string entry_id = OutboxEntryId();
  const double dead_lettered_before =
      Metric(R"(livecall_outbox_dead_lettered_total{status="422"})");
  OutboxDeliverer outbox(*redis_, http_, Options("replica-a"));
  ASSERT_THAT(outbox.EnsureGroup(), IsOk());
  EXPECT_EQ(*outbox.RunOnce(absl::Now()), 0);
  ASSERT_EQ(crm_->requests().size(), 1u);
  const std::string refused_body = crm_->requests()[0].body;

  // Out of the outbox (no retries that cannot help), into the dead letters with why.
  absl::StatusOr<OutboxStats> stats = ReadOutboxStats(*redis_);
  ASSERT_THAT(stats.status(), IsOk());
  EXPECT_EQ(stats->backlog, 0);
  EXPECT_EQ(stats->dead_letters, 1);
  EXPECT_EQ(Metric(R"(livecall_outbox_dead_lettered_total{status="422"})"),
            dead_lettered_before + 1);
  absl::StatusOr<RedisReply> letter = redis_->Command({"XRANGE", kOutboxDeadLettersKey, "-", "+"});
  ASSERT_THAT(letter.status(), IsOk());
  ASSERT_EQ((*letter)->elements, 1u);
  std::map<std::string, std::string> fields;
  const redisReply& list = *(*letter)->element[0]->element[1];
  for (size_t i = 0; i + 1 < list.elements; i += 2) {
    fields[ReplyString(*list.element[i])] = ReplyString(*list.element[i + 1]);
  }
  EXPECT_EQ(fields["session_id"], session_id);
  EXPECT_EQ(fields["status"], "422");
  EXPECT_THAT(fields["error"], HasSubstr("not a customer"));
  EXPECT_EQ(fields["outbox_id"], entry_id);
  EXPECT_EQ(fields["record"], refused_body);
  EXPECT_EQ(*outbox.RunOnce(absl::Now() + absl::Hours(1)), 0);
  EXPECT_EQ(crm_->requests().size(), 1u);  // Never retried by itself.

  // Once the cause is fixed, a replay delivers the same record under the same key.
  CrmAnswers(200);
  EXPECT_EQ(*ReplayDeadLetters(*redis_), 1);
  EXPECT_EQ(ReadOutboxStats(*redis_)->dead_letters, 0);
  EXPECT_EQ(*outbox.Backlog(), 1);
  EXPECT_EQ(*outbox.RunOnce(absl::Now()), 1);
  ASSERT_EQ(crm_->requests().size(), 2u);
  EXPECT_EQ(crm_->requests()[1].body, refused_body);
  EXPECT_EQ(crm_->requests()[1].headers.at("idempotency-key"), "conversation:" + session_id);
  EXPECT_EQ(*outbox.Backlog(), 0);
  EXPECT_EQ(*ReplayDeadLetters(*redis_), 0);  // Nothing left to replay.
}

TEST_F(OutboxTest, TimeoutsRateLimitsAndOutagesAreRetriedNeverDeadLettered) {
  for (int i = 0; i < 4; ++i) FinishConversation(absl::StrCat("retried ", i));
  OutboxDeliverer outbox(*redis_, http_, Options("replica-a"));
  ASSERT_THAT(outbox.EnsureGroup(), IsOk());
  outbox.Start();
  // The CRM keeps being asked under each answer (the client's breaker spaces out the 503s).
  for (int status : {408, 429, 500, 503}) {
    CrmAnswers(status);
    const size_t seen = crm_->requests().size();
    ASSERT_TRUE(livecall::testing::WaitFor([&] { return crm_->requests().size() >= seen + 2; },
                                           absl::Seconds(20)));
  }
  outbox.Stop();
  absl::StatusOr<OutboxStats> stats = ReadOutboxStats(*redis_);
  ASSERT_THAT(stats.status(), IsOk());
  EXPECT_EQ(stats->backlog, 4);
  EXPECT_EQ(stats->dead_letters, 0);
}

// A CRM outage longer than 100,000 conversations used to trim the oldest undelivered ones away.
TEST_F(OutboxTest, TheOutboxIsNeverTrimmedOfUndeliveredConversations) {
  constexpr int kWaiting = 100200;
  // In scripts of 10,020 entries each: one script of all of them outlasts the pool's command
  // timeout on a loaded machine.
  constexpr int kBatches = 10;
  for (int batch = 0; batch < kBatches; ++batch) {
    ASSERT_THAT(redis_
                    ->Command({"EVAL",
                               "for i = 1, tonumber(ARGV[1]) do redis.call('XADD', KEYS[1], '*', "
                               "'session_id', 'waiting-' .. i, 'record', '{}') end",
                               "1", kOutboxKey, absl::StrCat(kWaiting / kBatches)})
                    .status(),
                IsOk());
  }
  const std::string oldest = OutboxEntryId();
  FinishConversation("one more");
  absl::StatusOr<OutboxStats> stats = ReadOutboxStats(*redis_);
  ASSERT_THAT(stats.status(), IsOk());
  EXPECT_EQ(stats->backlog, kWaiting + 1);
  EXPECT_EQ(OutboxEntryId(), oldest);
}

TEST_F(OutboxTest, TheGaugesShowHowManyWaitAndForHowLong) {
  absl::StatusOr<OutboxStats> empty = ReadOutboxStats(*redis_);
  ASSERT_THAT(empty.status(), IsOk());
  EXPECT_EQ(empty->backlog, 0);
  EXPECT_EQ(empty->oldest_age, absl::ZeroDuration());
  // A conversation that has waited ten minutes (enqueued with that time as its id), and a new one.
  const int64_t ten_minutes_ago = absl::ToUnixMillis(absl::Now() - absl::Minutes(10));
  ASSERT_THAT(redis_
                  ->Command({"XADD", kOutboxKey, absl::StrCat(ten_minutes_ago, "-0"), "session_id",
                             "waiting", "record", "{}"})
                  .status(),
              IsOk());
  FinishConversation("new");
  absl::StatusOr<OutboxStats> stats = ReadOutboxStats(*redis_);
  ASSERT_THAT(stats.status(), IsOk());
  EXPECT_EQ(stats->backlog, 2);
  EXPECT_GE(stats->oldest_age, absl::Minutes(10) - absl::Seconds(5));  // Redis' clock vs ours.
  EXPECT_LE(stats->oldest_age, absl::Minutes(10) + absl::Minutes(1));
  SampleOutboxGauges(*redis_);
  EXPECT_EQ(Metric("livecall_outbox_backlog"), 2);
  EXPECT_GE(Metric("livecall_outbox_oldest_age_seconds"), 595);
  EXPECT_EQ(Metric("livecall_outbox_dead_letters"), 0);
}

}  // namespace
}  // namespace livecall::context
