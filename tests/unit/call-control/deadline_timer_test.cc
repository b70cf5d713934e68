#include "services/call-control/deadline_timer.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/wait_for.h"

namespace livecall::call_control {
namespace {

using ::livecall::testing::WaitFor;
using ::testing::ElementsAre;

// What the timer's tasks did, in order.
class Ran {
 public:
  std::function<void()> Task(std::string name) {
    return [this, name] {
      absl::MutexLock lock(&mu_);
      names_.push_back(name);
    };
  }
  std::vector<std::string> names() {
    absl::MutexLock lock(&mu_);
    return names_;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> names_;
};

TEST(DeadlineTimerTest, RunsEachTaskOnceItIsDueInTheOrderOfTheirTimes) {
  Ran ran;
  DeadlineTimer timer;
  const absl::Time now = absl::Now();
  timer.Schedule(now + absl::Milliseconds(300), ran.Task("late"));
  // Sooner than the thread planned to wake for: it wakes for this one.
  timer.Schedule(now + absl::Milliseconds(100), ran.Task("soon"));
  timer.Schedule(now - absl::Seconds(1), ran.Task("past"));
  ASSERT_TRUE(WaitFor([&] { return ran.names().size() == 3; }, absl::Seconds(10)));
  EXPECT_THAT(ran.names(), ElementsAre("past", "soon", "late"));
  EXPECT_GE(absl::Now(), now + absl::Milliseconds(300));
}

TEST(DeadlineTimerTest, ACancelledTaskNeverRuns) {
  Ran ran;
  DeadlineTimer timer;
  const absl::Time now = absl::Now();
  const DeadlineTimer::TaskId cancelled =
      timer.Schedule(now + absl::Milliseconds(100), ran.Task("cancelled"));
  timer.Schedule(now + absl::Milliseconds(200), ran.Task("after"));
  EXPECT_TRUE(timer.Cancel(cancelled));
  EXPECT_FALSE(timer.Cancel(cancelled));
  // The later task has run, so the cancelled one would have run before it.
  ASSERT_TRUE(WaitFor([&] { return !ran.names().empty(); }, absl::Seconds(10)));
  EXPECT_THAT(ran.names(), ElementsAre("after"));
}

TEST(DeadlineTimerTest, ATaskThatHasRunCannotBeCancelled) {
  Ran ran;
  DeadlineTimer timer;
  const DeadlineTimer::TaskId id = timer.Schedule(absl::Now(), ran.Task("ran"));
  ASSERT_TRUE(WaitFor([&] { return ran.names().size() == 1; }, absl::Seconds(10)));
  EXPECT_FALSE(timer.Cancel(id));
}

TEST(DeadlineTimerTest, TasksNotYetDueDoNotRunOnceTheTimerIsGone) {
  Ran ran;
  {
    DeadlineTimer timer;
    timer.Schedule(absl::Now() + absl::Hours(1), ran.Task("never"));
  }
  EXPECT_THAT(ran.names(), ::testing::IsEmpty());
}

}  // namespace
}  // namespace livecall::call_control
