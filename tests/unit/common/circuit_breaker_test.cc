#include "common/circuit_breaker.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace livecall {
namespace {

using ::livecall::testing::IsOk;
using ::livecall::testing::StatusIs;
using ::testing::HasSubstr;

class CircuitBreakerTest : public ::testing::Test {
 protected:
  CircuitBreaker::Options Options() {
    return {
        .failure_threshold = 3, .open_duration = absl::Seconds(1), .now = [this] { return now_; }};
  }
  void Fail(CircuitBreaker& breaker, int times) {
    for (int i = 0; i < times; ++i) {
      ASSERT_THAT(breaker.Allow(), IsOk());
      breaker.RecordFailure();
    }
  }

  absl::Time now_ = absl::FromUnixSeconds(1'800'000'000);
};

TEST_F(CircuitBreakerTest, FailuresBelowTheThresholdLetEveryCallThrough) {
  CircuitBreaker breaker("crm", Options());
  Fail(breaker, 2);
  EXPECT_FALSE(breaker.is_open());
  EXPECT_THAT(breaker.Allow(), IsOk());
}

TEST_F(CircuitBreakerTest, ASuccessResetsTheCount) {
  CircuitBreaker breaker("crm", Options());
  Fail(breaker, 2);
  breaker.RecordSuccess();
  Fail(breaker, 2);
  EXPECT_FALSE(breaker.is_open());
}

TEST_F(CircuitBreakerTest, OpenRefusesAtOnceNamingTheTarget) {
  CircuitBreaker breaker("redis", Options());
  Fail(breaker, 3);
  EXPECT_TRUE(breaker.is_open());
  EXPECT_THAT(breaker.Allow(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("redis is unavailable")));
  now_ += absl::Milliseconds(999);
  EXPECT_THAT(breaker.Allow(), StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(CircuitBreakerTest, AfterTheOpenPeriodOneProbeGoesAndItsSuccessCloses) {
  CircuitBreaker breaker("llm", Options());
  Fail(breaker, 3);
  now_ += absl::Seconds(1);
  EXPECT_THAT(breaker.Allow(), IsOk());                                    // The probe.
  EXPECT_THAT(breaker.Allow(), StatusIs(absl::StatusCode::kUnavailable));  // Only one.
  breaker.RecordSuccess();
  EXPECT_FALSE(breaker.is_open());
  EXPECT_THAT(breaker.Allow(), IsOk());
  EXPECT_THAT(breaker.Allow(), IsOk());
}

TEST_F(CircuitBreakerTest, AFailedProbeKeepsItOpenForAnotherPeriod) {
  CircuitBreaker breaker("twilio", Options());
  Fail(breaker, 3);
  now_ += absl::Seconds(1);
  ASSERT_THAT(breaker.Allow(), IsOk());
  breaker.RecordFailure();
  EXPECT_TRUE(breaker.is_open());
  now_ += absl::Milliseconds(500);
  EXPECT_THAT(breaker.Allow(), StatusIs(absl::StatusCode::kUnavailable));
  now_ += absl::Milliseconds(500);
  EXPECT_THAT(breaker.Allow(), IsOk());
}

TEST_F(CircuitBreakerTest, AProbeThatNeverReportsDoesNotBlockTheNextOne) {
  CircuitBreaker breaker("crm", Options());
  Fail(breaker, 3);
  now_ += absl::Seconds(1);
  ASSERT_THAT(breaker.Allow(), IsOk());  // Its caller never records an outcome.
  now_ += absl::Seconds(1);
  EXPECT_THAT(breaker.Allow(), IsOk());
}

}  // namespace
}  // namespace livecall
