#ifndef LIVECALL_SERVICES_CALL_CONTROL_DEADLINE_TIMER_H_
#define LIVECALL_SERVICES_CALL_CONTROL_DEADLINE_TIMER_H_

// Runs tasks at a time, on one thread of its own, unless cancelled first: the 3 s bound of a
// customer's /twilio/voice on its AI session's start, which nearly always comes first and cancels
// it. Hand-written because cancelling must cost no thread wake-up: grpc::Alarm and Asio's timers
// run every cancelled handler on another thread, one wake-up per webhook. Here a cancel only
// forgets the task, and the thread wakes when the earliest task is due (or when a task sooner
// than it planned for is added), so under steady load it wakes about once per delay, not once
// per task.

#include <cstdint>
#include <functional>
#include <map>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace livecall::call_control {

class DeadlineTimer {
 public:
  using TaskId = uint64_t;

  DeadlineTimer();
  // Stops the thread; tasks not yet due never run.
  ~DeadlineTimer();
  DeadlineTimer(const DeadlineTimer&) = delete;
  DeadlineTimer& operator=(const DeadlineTimer&) = delete;

  // Runs `task` on the timer's thread once `at` has come (tasks due together run in the order of
  // their times). `task` must not block: hand blocking work to an Executor.
  TaskId Schedule(absl::Time at, std::function<void()> task) ABSL_LOCKS_EXCLUDED(mu_);
  // True when `id` had not run yet and now never will; false when it has run (or is running).
  bool Cancel(TaskId id) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  void Loop();

  absl::Mutex mu_;
  // By due time, then by id (the order of scheduling).
  std::map<std::pair<absl::Time, TaskId>, std::function<void()>> tasks_ ABSL_GUARDED_BY(mu_);
  std::map<TaskId, absl::Time> due_ ABSL_GUARDED_BY(mu_);
  TaskId next_id_ ABSL_GUARDED_BY(mu_) = 1;
  // When the thread wakes by itself next (InfiniteFuture: only when told); `woken_` tells it to
  // wake sooner (an earlier task, or stopping).
  absl::Time wake_at_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  bool woken_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace livecall::call_control

#endif  // LIVECALL_SERVICES_CALL_CONTROL_DEADLINE_TIMER_H_
