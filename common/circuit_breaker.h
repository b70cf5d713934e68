#ifndef LIVECALL_COMMON_CIRCUIT_BREAKER_H_
#define LIVECALL_COMMON_CIRCUIT_BREAKER_H_

// Fast failure for a dependency that is known to be down (Redis, Twilio, the LLM, the CRM), so
// that requests do not each wait out a connect or command timeout while it is gone, and recovery
// without anyone's help when it comes back:
//  - closed: every call goes through; `failure_threshold` consecutive failures open it;
//  - open: calls are refused at once (UNAVAILABLE, naming the target) for `open_duration`;
//  - then one call is let through as a probe (another one per further `open_duration` while the
//    probe is out); its success closes the breaker, its failure keeps it open.
// Only failures to reach the dependency count (connection refused, timeouts, 502/503/504), never
// an answer that says the request was wrong.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace livecall {

class CircuitBreaker {
 public:
  struct Options {
    int failure_threshold = 5;
    absl::Duration open_duration = absl::Seconds(1);
    // The clock; tests pass a fake one.
    std::function<absl::Time()> now = [] { return absl::Now(); };
  };

  // `target` names the dependency in errors and metrics ("redis", "twilio", "llm", "crm").
  CircuitBreaker(std::string target, Options options);

  // OK when a call may go ahead (closed, or a probe is due); otherwise UNAVAILABLE
  // "<target> is unavailable: ..." without trying, and counted in
  // livecall_circuit_breaker_rejections_total{target}.
  absl::Status Allow() ABSL_LOCKS_EXCLUDED(mu_);
  void RecordSuccess() ABSL_LOCKS_EXCLUDED(mu_);
  void RecordFailure() ABSL_LOCKS_EXCLUDED(mu_);

  bool is_open() const ABSL_LOCKS_EXCLUDED(mu_);
  const std::string& target() const { return target_; }

 private:
  const std::string target_;
  const Options options_;
  mutable absl::Mutex mu_;
  int consecutive_failures_ ABSL_GUARDED_BY(mu_) = 0;
  // While open: when the next probe may go.
  absl::Time next_probe_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

// The process's one breaker for `key` (a dependency's address, e.g. "redis 127.0.0.1:6379"),
// made with `target` and `options` by the first caller: every client of one dependency in a
// process shares what is known about it, so a pool that has not yet noticed an outage does not
// wait out timeouts that another pool's failures already explained.
std::shared_ptr<CircuitBreaker> SharedCircuitBreaker(const std::string& key,
                                                     const std::string& target,
                                                     const CircuitBreaker::Options& options);

}  // namespace livecall

#endif  // LIVECALL_COMMON_CIRCUIT_BREAKER_H_
