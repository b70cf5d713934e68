// AnswerOnce against a real Redis: the first request with a key does the work, retries get its
// answer, a failure lets the key go (or not), and a retry arriving while the first request runs
// waits for its answer.

#include "services/call-control/calls/answer_once.h"

#include <atomic>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/redis_fixture.h"
#include "tests/support/status_matchers.h"
#include "tests/support/wait_for.h"

namespace livecall::call_control {
namespace {

using ::livecall::testing::IsOk;
using ::livecall::testing::StatusIs;
using ::livecall::testing::WaitFor;
using ::testing::HasSubstr;

class AnswerOnceTest : public livecall::testing::RedisFixture {
 protected:
  AnswerOnceTest() : RedisFixture({.max_connections = 4}) {}

  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(RedisFixture::SetUp());
    calls_ = std::make_unique<CallStore>(*redis_, absl::Hours(1));
  }

  // Work that counts how often it ran and answers `text`.
  absl::StatusOr<OnceAnswer> Answer(const std::string& key, const std::string& text,
                                    const AnswerOnceOptions& options = {.ttl = absl::Minutes(1)}) {
    return AnswerOnce(*calls_, key, options, [&]() -> absl::StatusOr<std::string> {
      ++runs_;
      return text;
    });
  }

  // How many times this test's own Redis has run `command`.
  int64_t RedisCalls(const std::string& command) {
    absl::StatusOr<RedisReply> info = redis_->Command({"INFO", "commandstats"});
    if (!info.ok()) return -1;
    const std::string text((*info)->str, (*info)->len);
    const std::string prefix = absl::StrCat("cmdstat_", command, ":calls=");
    const size_t at = text.find(prefix);
    if (at == std::string::npos) return 0;
    return std::stoll(text.substr(at + prefix.size()));
  }

  std::unique_ptr<CallStore> calls_;
  std::atomic<int> runs_ = 0;
};

TEST_F(AnswerOnceTest, TheFirstRequestDoesTheWorkAndARetryGetsItsAnswer) {
  absl::StatusOr<OnceAnswer> first = Answer("voice:CA1", "<Response/>");
  ASSERT_THAT(first.status(), IsOk());
  EXPECT_EQ(first->text, "<Response/>");
  EXPECT_FALSE(first->repeated);

  absl::StatusOr<OnceAnswer> retry = Answer("voice:CA1", "<Response><Hangup/></Response>");
  ASSERT_THAT(retry.status(), IsOk());
  EXPECT_EQ(retry->text, "<Response/>");
  EXPECT_TRUE(retry->repeated);
  EXPECT_EQ(runs_.load(), 1);
}

TEST_F(AnswerOnceTest, AnotherKeyDoesItsOwnWork) {
  ASSERT_THAT(Answer("voice:CA1", "one").status(), IsOk());
  absl::StatusOr<OnceAnswer> other = Answer("voice:CA2", "two");
  ASSERT_THAT(other.status(), IsOk());
  EXPECT_EQ(other->text, "two");
  EXPECT_FALSE(other->repeated);
  EXPECT_EQ(runs_.load(), 2);
}

TEST_F(AnswerOnceTest, AFailureLetsTheKeyGoSoARetryDoesTheWorkAfresh) {
  absl::StatusOr<OnceAnswer> failed =
      AnswerOnce(*calls_, "gather:CA1", {.ttl = absl::Minutes(1)},
                 []() -> absl::StatusOr<std::string> { return absl::UnavailableError("down"); });
  EXPECT_THAT(failed.status(), StatusIs(absl::StatusCode::kUnavailable, HasSubstr("down")));
  absl::StatusOr<OnceAnswer> retry = Answer("gather:CA1", "<Response/>");
  ASSERT_THAT(retry.status(), IsOk());
  EXPECT_FALSE(retry->repeated);
  EXPECT_EQ(runs_.load(), 1);
}

// A failure whose outcome is unknown (PlaceCall's deadline) keeps the key: retries do not place a
// second call, they are told the first is still running.
TEST_F(AnswerOnceTest, AFailureThatKeepsTheKeyKeepsRetriesFromDoingTheWork) {
  const AnswerOnceOptions options{.ttl = absl::Minutes(1),
                                  .still_running = absl::AbortedError("still being processed"),
                                  .failure_lets_key_go = [](const absl::Status& status) {
                                    return !absl::IsDeadlineExceeded(status);
                                  }};
  absl::StatusOr<OnceAnswer> failed =
      AnswerOnce(*calls_, "place-call:alice:k1", options, []() -> absl::StatusOr<std::string> {
        return absl::DeadlineExceededError("Twilio did not answer");
      });
  EXPECT_THAT(failed.status(), StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_THAT(Answer("place-call:alice:k1", "CA1", options).status(),
              StatusIs(absl::StatusCode::kAborted, HasSubstr("still being processed")));
  EXPECT_EQ(runs_.load(), 0);
}

TEST_F(AnswerOnceTest, ARetryWhileTheFirstRunsWaitsForItsAnswer) {
  absl::Notification started;
  absl::Notification finish;
  std::thread first([&] {
    absl::StatusOr<OnceAnswer> answer = AnswerOnce(
        *calls_, "gather:CA1:1", {.ttl = absl::Minutes(1)}, [&]() -> absl::StatusOr<std::string> {
          started.Notify();
          finish.WaitForNotification();
          return "<Response>first</Response>";
        });
    EXPECT_THAT(answer.status(), IsOk());
  });
  started.WaitForNotification();
  std::thread finisher([&] {
    // The retry looks for the first's answer (a GET) only once it found the key taken: from then
    // on it is waiting, and the first may finish.
    EXPECT_TRUE(WaitFor([&] { return RedisCalls("get") >= 1; }, absl::Seconds(10)));
    finish.Notify();
  });
  absl::StatusOr<OnceAnswer> retry = Answer("gather:CA1:1", "<Response>second</Response>",
                                            {.ttl = absl::Minutes(1), .wait = absl::Seconds(10)});
  first.join();
  finisher.join();
  ASSERT_THAT(retry.status(), IsOk());
  EXPECT_EQ(retry->text, "<Response>first</Response>");
  EXPECT_TRUE(retry->repeated);
  EXPECT_EQ(runs_.load(), 0);
}

TEST_F(AnswerOnceTest, ARetryThatCannotWaitIsToldTheFirstIsStillRunning) {
  ASSERT_THAT(calls_->ReserveIdempotencyKey("voice:CA1", absl::Minutes(1)), IsOk());
  EXPECT_THAT(
      Answer("voice:CA1", "x",
             {.ttl = absl::Minutes(1), .still_running = absl::UnavailableError("still answering")})
          .status(),
      StatusIs(absl::StatusCode::kUnavailable, HasSubstr("still answering")));
  EXPECT_EQ(runs_.load(), 0);
}

// For work whose effect matters and not its answer (a transcript turn), a retry while the first
// runs is acknowledged and does nothing.
TEST_F(AnswerOnceTest, AnOkStillRunningAcknowledgesTheRetryWithoutDoingTheWork) {
  ASSERT_THAT(calls_->ReserveIdempotencyKey("transcript:GT1:3", absl::Minutes(1)), IsOk());
  absl::StatusOr<OnceAnswer> retry =
      Answer("transcript:GT1:3", "", {.ttl = absl::Minutes(1), .still_running = absl::OkStatus()});
  ASSERT_THAT(retry.status(), IsOk());
  EXPECT_TRUE(retry->repeated);
  EXPECT_EQ(retry->text, "");
  EXPECT_EQ(runs_.load(), 0);
}

TEST_F(AnswerOnceTest, TheAnswerIsKeptUnderItsKey) {
  ASSERT_THAT(Answer("voice:CA1", "<Response/>").status(), IsOk());
  absl::StatusOr<std::optional<std::string>> kept = calls_->LookupIdempotencyKey("voice:CA1");
  ASSERT_THAT(kept.status(), IsOk());
  EXPECT_EQ(*kept, std::optional<std::string>("<Response/>"));
}

// The two halves, for an answer that comes after the claim (a browser's /twilio/voice): a retry
// between the claim and the finish is told the first is still running; after a successful finish
// it gets the kept answer; a failed finish lets the key go, so the next request claims it afresh.
TEST_F(AnswerOnceTest, ClaimAndFinishKeepTheAnswerGivenLater) {
  const AnswerOnceOptions options{.ttl = absl::Minutes(1),
                                  .still_running = absl::UnavailableError("still answering")};
  absl::StatusOr<std::optional<OnceAnswer>> claimed = ClaimOnce(*calls_, "voice:CA1", options);
  ASSERT_THAT(claimed.status(), IsOk());
  EXPECT_FALSE(claimed->has_value());
  EXPECT_THAT(ClaimOnce(*calls_, "voice:CA1", options).status(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("still answering")));
  absl::StatusOr<OnceAnswer> finished =
      FinishOnce(*calls_, "voice:CA1", options, std::string("<Response>later</Response>"));
  ASSERT_THAT(finished.status(), IsOk());
  EXPECT_EQ(finished->text, "<Response>later</Response>");
  EXPECT_FALSE(finished->repeated);
  absl::StatusOr<std::optional<OnceAnswer>> retry = ClaimOnce(*calls_, "voice:CA1", options);
  ASSERT_THAT(retry.status(), IsOk());
  ASSERT_TRUE(retry->has_value());
  EXPECT_EQ((*retry)->text, "<Response>later</Response>");
  EXPECT_TRUE((*retry)->repeated);

  ASSERT_THAT(ClaimOnce(*calls_, "voice:CA2", options).status(), IsOk());
  EXPECT_THAT(
      FinishOnce(*calls_, "voice:CA2", options, absl::InternalError("dial failed")).status(),
      StatusIs(absl::StatusCode::kInternal));
  absl::StatusOr<std::optional<OnceAnswer>> afresh = ClaimOnce(*calls_, "voice:CA2", options);
  ASSERT_THAT(afresh.status(), IsOk());
  EXPECT_FALSE(afresh->has_value());
}

}  // namespace
}  // namespace livecall::call_control
