#include "services/gateway/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace livecall::gateway {

RateLimiter::RateLimiter(double rate_per_second, int burst, size_t max_keys)
    : rate_(rate_per_second), burst_(std::max(1, burst)), max_keys_(max_keys) {}

absl::Duration RateLimiter::Acquire(absl::string_view key, absl::Time now) {
  if (rate_ <= 0) return absl::ZeroDuration();
  absl::MutexLock lock(&mu_);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_keys_) DropIdle(now);
    it = buckets_.emplace(std::string(key), Bucket{burst_, now}).first;
  }
  Bucket& bucket = it->second;
  if (now > bucket.updated) {
    bucket.tokens =
        std::min(burst_, bucket.tokens + absl::ToDoubleSeconds(now - bucket.updated) * rate_);
    bucket.updated = now;
  }
  if (bucket.tokens >= 1) {
    bucket.tokens -= 1;
    return absl::ZeroDuration();
  }
  return absl::Seconds((1 - bucket.tokens) / rate_);
}

void RateLimiter::DropIdle(absl::Time now) {
  // A bucket that has refilled is the same as no bucket.
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    const double refilled =
        it->second.tokens + absl::ToDoubleSeconds(now - it->second.updated) * rate_;
    if (refilled >= burst_) {
      buckets_.erase(it++);
    } else {
      ++it;
    }
  }
  // Still full of busy keys (an attack from many addresses): start over rather than grow.
  if (buckets_.size() >= max_keys_) buckets_.clear();
}

}  // namespace livecall::gateway
