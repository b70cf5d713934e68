#ifndef LIVECALL_SERVICES_GATEWAY_RATE_LIMITER_H_
#define LIVECALL_SERVICES_GATEWAY_RATE_LIMITER_H_

// Token buckets by key (an agent id, a client IP): `rate_per_second` sustained with bursts of
// `burst`. Per gateway replica — N replicas allow N times the rate — which is enough to stop one
// runaway page or script; the money-costing limit (concurrent outbound calls) is global, in
// call-control. Thread-safe. Idle full buckets are dropped so the map stays small.

#include <cstddef>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace livecall::gateway {

class RateLimiter {
 public:
  // rate_per_second 0: unlimited.
  RateLimiter(double rate_per_second, int burst, size_t max_keys = 100000);

  // Zero when `key` may go on now (and takes a token), else how long until a token is free.
  absl::Duration Acquire(absl::string_view key, absl::Time now) ABSL_LOCKS_EXCLUDED(mu_);

  bool enabled() const { return rate_ > 0; }

 private:
  struct Bucket {
    double tokens = 0;
    absl::Time updated;
  };
  void DropIdle(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const double rate_;
  const double burst_;
  const size_t max_keys_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
};

}  // namespace livecall::gateway

#endif  // LIVECALL_SERVICES_GATEWAY_RATE_LIMITER_H_
