#include "services/gateway/rate_limiter.h"

#include "gtest/gtest.h"

namespace livecall::gateway {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1700000000);

TEST(RateLimiterTest, ABurstThenTheSustainedRate) {
  RateLimiter limiter(/*rate_per_second=*/2, /*burst=*/3);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(limiter.Acquire("agent-1", kStart), absl::ZeroDuration());
  const absl::Duration wait = limiter.Acquire("agent-1", kStart);
  EXPECT_GT(wait, absl::ZeroDuration());
  EXPECT_LE(wait, absl::Milliseconds(500));
  // Other keys have their own buckets.
  EXPECT_EQ(limiter.Acquire("agent-2", kStart), absl::ZeroDuration());
  // Half a second later one token (2/s) has come back.
  EXPECT_EQ(limiter.Acquire("agent-1", kStart + absl::Milliseconds(500)), absl::ZeroDuration());
  EXPECT_GT(limiter.Acquire("agent-1", kStart + absl::Milliseconds(500)), absl::ZeroDuration());
}

TEST(RateLimiterTest, ZeroRateIsUnlimited) {
  RateLimiter limiter(0, 1);
  EXPECT_FALSE(limiter.enabled());
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(limiter.Acquire("x", kStart), absl::ZeroDuration());
}

TEST(RateLimiterTest, ManyKeysDoNotGrowWithoutBound) {
  RateLimiter limiter(1, 1, /*max_keys=*/100);
  for (int i = 0; i < 1000; ++i) limiter.Acquire("ip-" + std::to_string(i), kStart);
  // A key seen before the map was reset starts full again: no false 429 for it, and the map
  // stayed bounded (it would otherwise hold 1000 buckets).
  EXPECT_EQ(limiter.Acquire("ip-0", kStart + absl::Seconds(2)), absl::ZeroDuration());
}

}  // namespace
}  // namespace livecall::gateway
