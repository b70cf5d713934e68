#include "common/redis_pool.h"

#include <csignal>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/redis_server.h"
#include "tests/support/status_matchers.h"
#include "tests/support/wait_for.h"

namespace livecall {
namespace {

using ::livecall::testing::IsOk;
using ::livecall::testing::StatusIs;

TEST(ParseRedisUrlTest, ReadsHostPortDbAndPassword) {
  absl::StatusOr<RedisUrl> url = ParseRedisUrl("redis://:s3cret@redis.livecall:6380/2");
  ASSERT_THAT(url.status(), IsOk());
  EXPECT_EQ(url->host, "redis.livecall");
  EXPECT_EQ(url->port, 6380);
  EXPECT_EQ(url->db, 2);
  EXPECT_EQ(url->password, "s3cret");
}

TEST(ParseRedisUrlTest, DefaultsPortAndDb) {
  absl::StatusOr<RedisUrl> url = ParseRedisUrl("redis://localhost");
  ASSERT_THAT(url.status(), IsOk());
  EXPECT_EQ(url->port, 6379);
  EXPECT_EQ(url->db, 0);
}

TEST(ParseRedisUrlTest, RejectsOtherSchemesAndBadNumbers) {
  EXPECT_THAT(ParseRedisUrl("http://x:1"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseRedisUrl("redis://x:port"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseRedisUrl("redis://x:1/db"), StatusIs(absl::StatusCode::kInvalidArgument));
}

class RedisPoolTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_THAT(redis_.Start(), IsOk()); }

  RedisPool::Options Options() {
    return {.url = redis_.parsed_url(), .max_connections = 2, .command_timeout = absl::Seconds(2)};
  }

  testing::RedisServer redis_;
};

TEST_F(RedisPoolTest, CommandsAreBinarySafe) {
  RedisPool pool(Options());
  const std::string value("a\0b\r\n%s", 8);
  ASSERT_THAT(pool.Command({"SET", "k", value}).status(), IsOk());
  absl::StatusOr<RedisReply> reply = pool.Command({"GET", "k"});
  ASSERT_THAT(reply.status(), IsOk());
  EXPECT_EQ(ReplyString(**reply), value);
}

TEST_F(RedisPoolTest, ErrorReplyIsInternalAndTheConnectionStaysUsable) {
  RedisPool pool(Options());
  ASSERT_THAT(pool.Command({"SET", "k", "v"}).status(), IsOk());
  EXPECT_THAT(pool.Command({"LPUSH", "k", "x"}).status(), StatusIs(absl::StatusCode::kInternal));
  EXPECT_THAT(pool.Ping(), IsOk());
}

// Redis refusing our password or database is this service's configuration, not the caller's
// doing: UNAVAILABLE, never a code whose message the gateway passes to clients (README errors).
TEST_F(RedisPoolTest, RefusedCredentialsOrDatabaseAreUnavailable) {
  RedisPool::Options wrong_password = Options();
  wrong_password.url.password = "not-the-password";
  RedisPool refused(wrong_password);
  EXPECT_THAT(refused.Command({"PING"}).status(), StatusIs(absl::StatusCode::kUnavailable));
  RedisPool::Options no_such_db = Options();
  no_such_db.url.db = 100000;
  RedisPool out_of_range(no_such_db);
  EXPECT_THAT(out_of_range.Command({"PING"}).status(), StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(RedisPoolTest, PipelineReturnsOneReplyPerCommandInOrder) {
  RedisPool pool(Options());
  absl::StatusOr<std::vector<RedisReply>> replies =
      pool.Pipeline({{"MULTI"}, {"INCR", "n"}, {"INCR", "n"}, {"EXEC"}});
  ASSERT_THAT(replies.status(), IsOk());
  ASSERT_EQ(replies->size(), 4u);
  const redisReply& exec = *replies->back();
  ASSERT_EQ(exec.type, REDIS_REPLY_ARRAY);
  ASSERT_EQ(exec.elements, 2u);
  EXPECT_EQ(exec.element[1]->integer, 2);
}

TEST_F(RedisPoolTest, ManyThreadsShareABoundedPool) {
  RedisPool pool(Options());
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&pool] {
      for (int i = 0; i < 50; ++i) ASSERT_THAT(pool.Command({"INCR", "counter"}).status(), IsOk());
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ((*pool.Command({"GET", "counter"}))->str, std::string("400"));
}

TEST_F(RedisPoolTest, UnreachableRedisIsUnavailableAndRecoveryNeedsNoRestart) {
  RedisPool pool(Options());
  ASSERT_THAT(pool.Command({"SET", "survives", "yes"}).status(), IsOk());
  ASSERT_THAT(redis_.Stop(), IsOk());
  EXPECT_THAT(pool.Command({"GET", "survives"}).status(), StatusIs(absl::StatusCode::kUnavailable));
  ASSERT_THAT(redis_.Start(), IsOk());
  absl::StatusOr<RedisReply> reply = pool.Command({"GET", "survives"});
  ASSERT_THAT(reply.status(), IsOk());
  EXPECT_EQ(ReplyString(**reply), "yes");  // Append-only file brought it back.
}

// The circuit breaker: once Redis is known to be down, commands are refused without being tried
// (the refusal names the breaker, not a connection error), and a probe finds Redis again.
TEST_F(RedisPoolTest, AStoppedRedisIsRefusedWithoutTryingAndFoundAgainByItself) {
  RedisPool::Options options = Options();
  options.breaker = {.failure_threshold = 3, .open_duration = absl::Seconds(1)};
  RedisPool pool(options);
  ASSERT_THAT(pool.Command({"SET", "survives", "yes"}).status(), IsOk());
  ASSERT_THAT(redis_.Stop(), IsOk());
  for (int i = 0; i < 3; ++i) {
    EXPECT_THAT(pool.Command({"GET", "survives"}).status(),
                StatusIs(absl::StatusCode::kUnavailable, ::testing::HasSubstr("redis ")));
  }
  EXPECT_THAT(
      pool.Command({"GET", "survives"}).status(),
      StatusIs(absl::StatusCode::kUnavailable, ::testing::HasSubstr("redis is unavailable")));
  ASSERT_THAT(redis_.Start(), IsOk());
  absl::StatusOr<RedisReply> reply;
  EXPECT_TRUE(testing::WaitFor(
      [&] {
        reply = pool.Command({"GET", "survives"});
        return reply.ok();
      },
      absl::Seconds(5)))
      << reply.status();
  ASSERT_THAT(reply.status(), IsOk());
  EXPECT_EQ(ReplyString(**reply), "yes");
}

// A hung Redis (stopped by SIGSTOP: connections are accepted, nothing is answered) costs each
// command its full timeout until the breaker opens; after that commands fail at once.
TEST_F(RedisPoolTest, AHungRedisOpensTheBreakerAndItClosesWhenRedisAnswersAgain) {
  RedisPool::Options options = Options();
  options.command_timeout = absl::Milliseconds(300);
  options.breaker = {.failure_threshold = 2, .open_duration = absl::Seconds(1)};
  RedisPool pool(options);
  ASSERT_THAT(pool.Command({"SET", "k", "v"}).status(), IsOk());
  ASSERT_THAT(redis_.process().Signal(SIGSTOP), IsOk());
  for (int i = 0; i < 2; ++i) {
    EXPECT_THAT(pool.Command({"GET", "k"}).status(), StatusIs(absl::StatusCode::kUnavailable));
  }
  for (int i = 0; i < 20; ++i) {
    EXPECT_THAT(
        pool.Command({"GET", "k"}).status(),
        StatusIs(absl::StatusCode::kUnavailable, ::testing::HasSubstr("redis is unavailable")));
  }
  ASSERT_THAT(redis_.process().Signal(SIGCONT), IsOk());
  absl::StatusOr<RedisReply> reply;
  EXPECT_TRUE(testing::WaitFor(
      [&] {
        reply = pool.Command({"GET", "k"});
        return reply.ok();
      },
      absl::Seconds(5)))
      << reply.status();
}

TEST_F(RedisPoolTest, FirstCommandAfterARedisRestartSucceedsOnAFreshConnection) {
  RedisPool pool(Options());
  ASSERT_THAT(pool.Command({"SET", "k", "v"}).status(), IsOk());  // Leaves an idle connection.
  ASSERT_THAT(redis_.Restart(), IsOk());
  absl::StatusOr<RedisReply> reply = pool.Command({"GET", "k"});
  ASSERT_THAT(reply.status(), IsOk());
  EXPECT_EQ(ReplyString(**reply), "v");
}

TEST_F(RedisPoolTest, AfterARedisRestartNoneOfSeveralStaleIdleConnectionsIsRetried) {
  RedisPool::Options options = Options();
  options.max_connections = 4;
  RedisPool pool(options);
  // Three clients blocked at once, so that the pool holds four connections, all idle afterwards.
  std::vector<std::thread> blocked;
  for (int i = 0; i < 3; ++i) {
    blocked.emplace_back([&pool, i] {
      EXPECT_THAT(pool.Command({"BLPOP", "queue" + std::to_string(i), "10"}).status(), IsOk());
    });
  }
  EXPECT_TRUE(testing::WaitFor(
      [&pool] {
        absl::StatusOr<RedisReply> info = pool.Command({"INFO", "clients"});
        return info.ok() && ReplyString(**info).find("blocked_clients:3") != std::string::npos;
      },
      absl::Seconds(5)));
  for (int i = 0; i < 3; ++i) {
    ASSERT_THAT(pool.Command({"LPUSH", "queue" + std::to_string(i), "x"}).status(), IsOk());
  }
  for (std::thread& thread : blocked) thread.join();
  ASSERT_THAT(pool.Command({"SET", "k", "v"}).status(), IsOk());

  ASSERT_THAT(redis_.Restart(), IsOk());
  absl::StatusOr<RedisReply> reply = pool.Command({"GET", "k"});
  ASSERT_THAT(reply.status(), IsOk());
  EXPECT_EQ(ReplyString(**reply), "v");
}

}  // namespace
}  // namespace livecall
