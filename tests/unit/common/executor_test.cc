#include "common/executor.h"

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <memory>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/support/wait_for.h"

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

TEST(ExecutorTest, TrySubmitRefusesOnceMaxQueuedTasksWait) {
  Executor executor(1, /*max_queued=*/2);
  absl::Notification release;
  absl::Notification started;
  executor.Submit([&] {
    started.Notify();
    release.WaitForNotification();
  });
  started.WaitForNotification();  // The worker is busy; what follows waits in the queue.
  std::atomic<int> ran{0};
  EXPECT_TRUE(executor.TrySubmit([&] { ran.fetch_add(1); }));
  EXPECT_TRUE(executor.TrySubmit([&] { ran.fetch_add(1); }));
  EXPECT_FALSE(executor.TrySubmit([&] { ran.fetch_add(100); }));
  release.Notify();
  executor.Drain();
  EXPECT_EQ(ran.load(), 2);
}

}  // namespace
}  // namespace livecall
