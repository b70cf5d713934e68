#include "common/executor.h"

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <memory>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/unary_reactor.h"
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

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

// Health/Check served through FinishOnExecutor, counting how often its work ran.
class CountingHealth final : public grpc::health::v1::Health::CallbackService {
 public:
  explicit CountingHealth(Executor& executor) : executor_(executor) {}
  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* context, const HealthCheckRequest*,
                                  HealthCheckResponse* response) override {
    deadline.store(context->deadline());
    return FinishOnExecutor(context, executor_, [this, response]() -> absl::Status {
      runs.fetch_add(1);
      response->set_status(HealthCheckResponse::SERVING);
      return absl::OkStatus();
    });
  }
  std::atomic<int> runs{0};
  // The deadline as the server sees it: the client's, moved later by the request's transit time.
  std::atomic<std::chrono::system_clock::time_point> deadline{};

 private:
  Executor& executor_;
};

// A server whose one worker is held busy until Release().
class FinishOnExecutorTest : public ::testing::Test {
 protected:
  void Start(size_t max_queued) {
    executor_ = std::make_unique<Executor>(1, max_queued);
    absl::Notification busy;
    executor_->Submit([this, &busy] {
      busy.Notify();
      release_.WaitForNotification();
    });
    busy.WaitForNotification();
    service_ = std::make_unique<CountingHealth>(*executor_);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_GT(port, 0);
    stub_ = grpc::health::v1::Health::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  }

  grpc::Status Check(absl::Duration deadline) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
    HealthCheckRequest request;
    HealthCheckResponse response;
    return stub_->Check(&context, request, &response);
  }

  void TearDown() override {
    if (!release_.HasBeenNotified()) release_.Notify();
    if (executor_) executor_->Drain();
    if (server_) server_->Shutdown();
  }

  absl::Notification release_;
  std::unique_ptr<Executor> executor_;
  std::unique_ptr<CountingHealth> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<grpc::health::v1::Health::Stub> stub_;
};

TEST_F(FinishOnExecutorTest, AnRpcOverTheQueueBoundIsRefusedWithResourceExhausted) {
  Start(/*max_queued=*/1);
  executor_->Submit([] {});  // The queue is full.
  grpc::Status status = Check(absl::Seconds(10));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
  release_.Notify();
  executor_->Drain();
  EXPECT_EQ(service_->runs.load(), 0);
}

TEST_F(FinishOnExecutorTest, AnRpcWhoseDeadlinePassedInTheQueueIsDroppedUnrun) {
  Start(/*max_queued=*/16);
  // The worker is busy until after the client has given up.
  EXPECT_EQ(Check(absl::Milliseconds(200)).error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  // The client gives up at its own deadline; the server's comes a little later (grpc-timeout
  // counts from when the server read the request). Free the worker only once that has passed too,
  // or the queued RPC is rightly run in the gap.
  ASSERT_TRUE(testing::WaitFor(
      [this] {
        auto seen = service_->deadline.load();
        return seen != std::chrono::system_clock::time_point{} &&
               seen <= std::chrono::system_clock::now();
      },
      absl::Seconds(10)));
  release_.Notify();
  executor_->Drain();
  EXPECT_EQ(service_->runs.load(), 0);
}

}  // namespace
}  // namespace livecall
