#ifndef LIVECALL_COMMON_PENDING_CALLS_H_
#define LIVECALL_COMMON_PENDING_CALLS_H_

// Counts the gRPC callback-API client calls whose state is still alive, so that their owner can
// wait for gRPC's threads to let go of every one before it releases its channels.
//
// Why: gRPC runs a call's completion on one of its own threads and destroys the completion (and
// with it whatever it captured: the ClientContext, which holds the call and a reference to the
// Channel) only after the completion returns — after our `done` has already answered the client.
// Without waiting, the last reference to a call or a Channel can be dropped on a gRPC thread while
// the owner's thread shuts gRPC down (the end of main after SIGTERM, a test's global teardown):
// gRPC then releases objects after its shutdown and aborts ("ref_counted.h: prior > 0").
//
// Usage: the call's state holds a Guard as its FIRST member (destroyed last, after the
// ClientContext), and the owner calls WaitUntilNone() (or lets ~PendingCalls do it) before the
// channels and anything the completions use go away.

#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace livecall {

class PendingCalls {
 public:
  PendingCalls() = default;
  ~PendingCalls() { WaitUntilNone(); }
  PendingCalls(const PendingCalls&) = delete;
  PendingCalls& operator=(const PendingCalls&) = delete;

  // One pending call, from its start until the state holding this guard is destroyed.
  class Guard {
   public:
    explicit Guard(PendingCalls* calls) : calls_(calls) {
      absl::MutexLock lock(&calls_->mu_);
      ++calls_->count_;
    }
    ~Guard() {
      absl::MutexLock lock(&calls_->mu_);
      --calls_->count_;
    }
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;

   private:
    PendingCalls* const calls_;
  };

  // Returns once no Guard is alive.
  void WaitUntilNone() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    auto none = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return count_ == 0; };
    mu_.Await(absl::Condition(&none));
  }

  int64_t count() const ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return count_;
  }

 private:
  mutable absl::Mutex mu_;
  int64_t count_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace livecall

#endif  // LIVECALL_COMMON_PENDING_CALLS_H_
