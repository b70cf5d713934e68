#include "common/circuit_breaker.h"

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/metrics.h"

namespace livecall {

CircuitBreaker::CircuitBreaker(std::string target, Options options)
    : target_(std::move(target)), options_(std::move(options)) {
  SetCircuitOpen(target_, false);
}

absl::Status CircuitBreaker::Allow() {
  int failures = 0;
  absl::Duration wait;
  {
    absl::MutexLock lock(&mu_);
    if (consecutive_failures_ < options_.failure_threshold) return absl::OkStatus();
    const absl::Time now = options_.now();
    if (now >= next_probe_) {
      next_probe_ = now + options_.open_duration;
      return absl::OkStatus();
    }
    failures = consecutive_failures_;
    wait = next_probe_ - now;
  }
  RecordCircuitRejection(target_);
  return absl::UnavailableError(absl::StrCat(target_, " is unavailable: ", failures,
                                             " attempts in a row failed; trying again in ",
                                             absl::ToInt64Milliseconds(wait), " ms"));
}

void CircuitBreaker::RecordSuccess() {
  bool was_open = false;
  {
    absl::MutexLock lock(&mu_);
    was_open = consecutive_failures_ >= options_.failure_threshold;
    consecutive_failures_ = 0;
    next_probe_ = absl::InfinitePast();
  }
  if (was_open) SetCircuitOpen(target_, false);
}

void CircuitBreaker::RecordFailure() {
  bool opened = false;
  {
    absl::MutexLock lock(&mu_);
    ++consecutive_failures_;
    if (consecutive_failures_ >= options_.failure_threshold) {
      opened = consecutive_failures_ == options_.failure_threshold;
      next_probe_ = options_.now() + options_.open_duration;
    }
  }
  if (opened) SetCircuitOpen(target_, true);
}

bool CircuitBreaker::is_open() const {
  absl::MutexLock lock(&mu_);
  return consecutive_failures_ >= options_.failure_threshold;
}

std::shared_ptr<CircuitBreaker> SharedCircuitBreaker(const std::string& key,
                                                     const std::string& target,
                                                     const CircuitBreaker::Options& options) {
  static absl::Mutex mu(absl::kConstInit);
  // Weak, so a breaker lives only as long as a client uses it (tests make many pools).
  static auto* breakers = new absl::flat_hash_map<std::string, std::weak_ptr<CircuitBreaker>>();
  absl::MutexLock lock(&mu);
  std::weak_ptr<CircuitBreaker>& slot = (*breakers)[key];
  std::shared_ptr<CircuitBreaker> breaker = slot.lock();
  if (breaker == nullptr) {
    breaker = std::make_shared<CircuitBreaker>(target, options);
    slot = breaker;
  }
  return breaker;
}

}  // namespace livecall
