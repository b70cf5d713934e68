#include "services/gateway/readiness.h"

#include <grpcpp/health_check_service_interface.h>
#include <gtest/gtest.h>
#include <pthread.h>

#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "tests/unit/gateway/release_witness.h"

namespace livecall::gateway {
namespace {

ReadinessCheck Answer(absl::Status status) {
  return [status](std::function<void(absl::Status)> done) { done(status); };
}

// A check whose answer the test gives later, as a real backend would.
struct DeferredCheck {
  std::function<void(absl::Status)> done;
  ReadinessCheck check() {
    return [this](std::function<void(absl::Status)> d) { done = std::move(d); };
  }
};

TEST(ReadinessCheckerTest, AllChecksOkIsReady) {
  ReadinessChecker checker(
      {{"callControl", Answer(absl::OkStatus())}, {"redis", Answer(absl::OkStatus())}});
  std::optional<HttpResponse> response;
  checker.Check([&](HttpResponse r) { response = std::move(r); });
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, R"({"checks":{"callControl":"ok","redis":"ok"},"status":"ready"})");
}

TEST(ReadinessCheckerTest, AFailingCheckIs503WithItsMessage) {
  ReadinessChecker checker({{"callControl", Answer(absl::OkStatus())},
                            {"redis", Answer(absl::UnavailableError("redis \"down\""))}});
  std::optional<HttpResponse> response;
  checker.Check([&](HttpResponse r) { response = std::move(r); });
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 503);
  EXPECT_EQ(
      response->body,
      R"({"checks":{"callControl":"ok","redis":"UNAVAILABLE: redis \"down\""},"status":"not ready"})");
}

TEST(ReadinessCheckerTest, AnswersOnlyWhenTheLastCheckFinishesInAnyOrder) {
  DeferredCheck first;
  DeferredCheck second;
  ReadinessChecker checker({{"aiSession", first.check()}, {"context", second.check()}});
  int answers = 0;
  HttpResponse response;
  checker.Check([&](HttpResponse r) {
    ++answers;
    response = std::move(r);
  });
  ASSERT_TRUE(first.done && second.done);
  second.done(absl::OkStatus());
  EXPECT_EQ(answers, 0);
  first.done(absl::DeadlineExceededError("late"));
  EXPECT_EQ(answers, 1);
  EXPECT_EQ(response.status, 503);
  EXPECT_EQ(
      response.body,
      R"({"checks":{"aiSession":"DEADLINE_EXCEEDED: late","context":"ok"},"status":"not ready"})");
}

// A flood of /readyz runs one round of checks: callers that come while it is in flight wait for
// it, and its answer is reused for cache_for; after that a new round runs.
TEST(ReadinessCheckerTest, ConcurrentCallersShareOneRoundAndItsAnswerIsCached) {
  int rounds = 0;
  std::function<void(absl::Status)> pending;
  absl::Time now = absl::FromUnixSeconds(1000);
  ReadinessChecker checker({{"redis",
                             [&](std::function<void(absl::Status)> done) {
                               ++rounds;
                               pending = std::move(done);
                             }}},
                           {.cache_for = absl::Seconds(1), .now = [&] { return now; }});
  std::vector<int> statuses;
  for (int i = 0; i < 100; ++i)
    checker.Check([&](HttpResponse r) { statuses.push_back(r.status); });
  EXPECT_EQ(rounds, 1);
  EXPECT_TRUE(statuses.empty());
  pending(absl::UnavailableError("down"));
  EXPECT_EQ(statuses, std::vector<int>(100, 503));

  now += absl::Milliseconds(999);
  checker.Check([&](HttpResponse r) { statuses.push_back(r.status); });
  EXPECT_EQ(rounds, 1);
  EXPECT_EQ(statuses.size(), 101u);

  now += absl::Milliseconds(1);
  checker.Check([&](HttpResponse r) { statuses.push_back(r.status); });
  EXPECT_EQ(rounds, 2);
  pending(absl::OkStatus());
  ASSERT_EQ(statuses.size(), 102u);
  EXPECT_EQ(statuses.back(), 200);
}

// A cached answer says when its round began, so a caller can tell it from a fresh one (the test
// suite waits for a round that began after it restarted a backend).
TEST(ReadinessCheckerTest, EveryAnswerNamesWhenItsRoundBegan) {
  std::function<void(absl::Status)> pending;
  absl::Time now = absl::FromUnixMillis(1700000000123);
  ReadinessChecker checker(
      {{"redis", [&](std::function<void(absl::Status)> done) { pending = std::move(done); }}},
      {.cache_for = absl::Seconds(1), .now = [&] { return now; }});
  auto checked_at = [](const HttpResponse& response) {
    for (const auto& [name, value] : response.headers) {
      if (name == kReadinessCheckedAtHeader) return value;
    }
    return std::string("(none)");
  };
  std::vector<std::string> answers;
  checker.Check([&](HttpResponse r) { answers.push_back(checked_at(r)); });
  now += absl::Milliseconds(300);  // The round takes a while.
  pending(absl::OkStatus());
  now += absl::Milliseconds(500);
  checker.Check([&](HttpResponse r) { answers.push_back(checked_at(r)); });  // Cached.
  now += absl::Seconds(1);
  checker.Check([&](HttpResponse r) { answers.push_back(checked_at(r)); });
  pending(absl::OkStatus());
  EXPECT_EQ(answers,
            (std::vector<std::string>{"2023-11-14T22:13:20.123Z", "2023-11-14T22:13:20.123Z",
                                      "2023-11-14T22:13:21.923Z"}));
}

TEST(GrpcHealthCheckTest, UnreachableBackendFailsWithinTheTimeout) {
  auto channel = grpc::CreateChannel("127.0.0.1:1", grpc::InsecureChannelCredentials());
  ReadinessCheck check =
      GrpcHealthCheck(channel, absl::Milliseconds(500), std::make_shared<ClientQueues>());
  absl::Notification done;
  absl::Status result;
  check([&](absl::Status status) {
    result = status;
    done.Notify();
  });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_FALSE(result.ok());
}

// A backend's health service answering SERVING, then NOT_SERVING: the check follows it, and its
// answer comes back on the client queues' thread.
TEST(GrpcHealthCheckTest, ServingIsOkAndNotServingIsUnavailable) {
  grpc::EnableDefaultHealthCheckService(true);
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  ReadinessCheck check = GrpcHealthCheck(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()),
      absl::Seconds(5), std::make_shared<ClientQueues>());
  auto run = [&check](std::string* thread_name) {
    absl::Notification done;
    absl::Status result;
    check([&](absl::Status status) {
      result = status;
      char name[16] = {};
      pthread_getname_np(pthread_self(), name, sizeof(name));
      *thread_name = name;
      done.Notify();
    });
    done.WaitForNotification();
    return result;
  };
  std::string thread_name;
  EXPECT_TRUE(run(&thread_name).ok());
  EXPECT_EQ(thread_name, "gw-backend-cq");
  server->GetHealthCheckService()->SetServingStatus(false);
  absl::Status not_serving = run(&thread_name);
  EXPECT_EQ(not_serving.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(not_serving.message(), "NOT_SERVING");
  server->Shutdown();
}

// The check's function owns the health stub: destroying it waits until gRPC has released every
// call it started (see GrpcBackendClientTest in gateway_server_test.cc for why).
TEST(GrpcHealthCheckTest, DestroyingTheCheckWaitsUntilGrpcHasReleasedItsCalls) {
  testing::ReleaseWitness witness;
  {
    ReadinessCheck check =
        GrpcHealthCheck(grpc::CreateChannel("127.0.0.1:1", grpc::InsecureChannelCredentials()),
                        absl::Seconds(5), std::make_shared<ClientQueues>());
    absl::Notification answered;
    check([token = witness.token(), &answered](absl::Status status) {
      EXPECT_FALSE(status.ok());
      answered.Notify();
    });
    answered.WaitForNotification();
  }
  witness.OwnerGone();
  EXPECT_FALSE(witness.released_after_owner());
}

TEST(RedisPingCheckTest, RunsOnTheExecutorAndReportsAnUnreachableRedis) {
  RedisUrl unreachable;
  unreachable.port = 1;
  RedisPool pool({.url = unreachable,
                  .max_connections = 1,
                  .connect_timeout = absl::Milliseconds(500),
                  .command_timeout = absl::Milliseconds(500),
                  .lease_timeout = absl::Milliseconds(500)});
  Executor executor(1);
  absl::Notification done;
  absl::Status result;
  RedisPingCheck(&pool, &executor)([&](absl::Status status) {
    result = status;
    done.Notify();
  });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(result.code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace livecall::gateway
