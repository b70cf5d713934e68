#ifndef LIVECALL_COMMON_EXECUTOR_H_
#define LIVECALL_COMMON_EXECUTOR_H_

// A fixed pool of worker threads for blocking work (hiredis, libcurl, synchronous gRPC calls to
// peers) so that gRPC's callback threads and Asio's I/O threads never block.

#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace livecall {

class Executor {
 public:
  // Tasks waiting for a worker, by default, beyond which TrySubmit refuses: a flood of requests
  // is refused at once (RESOURCE_EXHAUSTED) instead of queueing without end and answering only
  // after its callers have given up.
  static constexpr size_t kDefaultMaxQueued = 1024;

  explicit Executor(int threads, size_t max_queued = kDefaultMaxQueued);
  // Drain().
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Queues `task` whatever the queue's length: for the process's own work (a call's follow-up),
  // which must not be dropped.
  void Submit(std::function<void()> task) ABSL_LOCKS_EXCLUDED(mu_);
  // Queues `task` unless `max_queued` tasks are already waiting; false (and `task` dropped
  // unrun) when full. For work a client asked for, which it can retry.
  [[nodiscard]] bool TrySubmit(std::function<void()> task) ABSL_LOCKS_EXCLUDED(mu_);
  size_t max_queued() const { return max_queued_; }

  // Runs every task already submitted (and those they submit), then joins the threads; a task
  // submitted afterwards never runs. A main calls it once its servers have stopped and before
  // anything the tasks use goes out of scope (an Executor is usually declared before those).
  void Drain() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  void WorkLoop();

  const size_t max_queued_;
  absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace livecall

#endif  // LIVECALL_COMMON_EXECUTOR_H_
