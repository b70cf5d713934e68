#include "services/call-control/deadline_timer.h"

#include <vector>

#include "absl/time/clock.h"

namespace livecall::call_control {

DeadlineTimer::DeadlineTimer() : thread_([this] { Loop(); }) {}

DeadlineTimer::~DeadlineTimer() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    woken_ = true;
  }
  thread_.join();
}

DeadlineTimer::TaskId DeadlineTimer::Schedule(absl::Time at, std::function<void()> task) {
  absl::MutexLock lock(&mu_);
  const TaskId id = next_id_++;
  tasks_.emplace(std::make_pair(at, id), std::move(task));
  due_.emplace(id, at);
  // Only a task due before the thread's planned wake-up wakes it now (the condition it waits on
  // is checked as this lock is released, so a later task costs no wake-up at all).
  if (at < wake_at_) woken_ = true;
  return id;
}

bool DeadlineTimer::Cancel(TaskId id) {
  absl::MutexLock lock(&mu_);
  auto it = due_.find(id);
  if (it == due_.end()) return false;
  tasks_.erase(std::make_pair(it->second, id));
  due_.erase(it);
  return true;
}

void DeadlineTimer::Loop() {
  absl::MutexLock lock(&mu_);
  while (!stopping_) {
    std::vector<std::function<void()>> due;
    const absl::Time now = absl::Now();
    while (!tasks_.empty() && tasks_.begin()->first.first <= now) {
      due_.erase(tasks_.begin()->first.second);
      due.push_back(std::move(tasks_.begin()->second));
      tasks_.erase(tasks_.begin());
    }
    if (!due.empty()) {
      mu_.Unlock();
      for (std::function<void()>& task : due) task();
      mu_.Lock();
      continue;
    }
    wake_at_ = tasks_.empty() ? absl::InfiniteFuture() : tasks_.begin()->first.first;
    woken_ = false;
    mu_.AwaitWithDeadline(absl::Condition(&woken_), wake_at_);
  }
}

}  // namespace livecall::call_control
