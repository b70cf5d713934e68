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
  explicit Executor(int threads);
  // Drain().
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  void Submit(std::function<void()> task) ABSL_LOCKS_EXCLUDED(mu_);

  // Runs every task already submitted (and those they submit), then joins the threads; a task
  // submitted afterwards never runs. A main calls it once its servers have stopped and before
  // anything the tasks use goes out of scope (an Executor is usually declared before those).
  void Drain() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  void WorkLoop();

  absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace livecall

#endif  // LIVECALL_COMMON_EXECUTOR_H_
