#include "common/executor.h"

#include <atomic>
#include <memory>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace livecall {
namespace {

TEST(ExecutorTest, DrainRunsEveryQueuedTaskAndThoseTheySubmit) {
  std::atomic<int> ran{0};
  Executor executor(2);
  absl::Notification release;
  // Both workers wait, so the next tasks are still queued when Drain starts.
  for (int i = 0; i < 2; ++i) {
    executor.Submit([&] {
      release.WaitForNotification();
      ran.fetch_add(1);
    });
  }
  for (int i = 0; i < 10; ++i) {
    executor.Submit([&] {
      ran.fetch_add(1);
      executor.Submit([&] { ran.fetch_add(100); });
    });
  }
  release.Notify();
  executor.Drain();
  EXPECT_EQ(ran.load(), 2 + 10 + 10 * 100);
}

// What call-control's shutdown needs: after Drain nothing touches objects that die next.
TEST(ExecutorTest, ATaskSubmittedAfterDrainNeverRuns) {
  auto ran = std::make_shared<std::atomic<int>>(0);
  {
    Executor executor(1);
    executor.Drain();
    executor.Submit([ran] { ran->fetch_add(1); });
  }
  EXPECT_EQ(ran->load(), 0);
}

TEST(ExecutorTest, DrainTwiceAndThenTheDestructorAreSafe) {
  std::atomic<int> ran{0};
  Executor executor(3);
  executor.Submit([&] { ran.fetch_add(1); });
  executor.Drain();
  executor.Drain();
  EXPECT_EQ(ran.load(), 1);
}

}  // namespace
}  // namespace livecall
