#include "common/redis_sentinel.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "common/config.h"
#include "common/redis_config.h"
#include "common/redis_pool.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/free_port.h"
#include "tests/support/redis_sentinel.h"
#include "tests/support/status_matchers.h"
#include "tests/support/wait_for.h"

namespace livecall {
namespace {

using ::livecall::testing::IsOk;
using ::livecall::testing::StatusIs;
using ::testing::HasSubstr;

TEST(SentinelUrlTest, ReadsSentinelsMasterNameDbAndPassword) {
  absl::StatusOr<RedisUrl> url = ParseRedisUrl(
      "redis+sentinel://:s3cret@redis-0.redis:26380,redis-1.redis, redis-2.redis:26381"
      "/mymaster/2");
  ASSERT_THAT(url.status(), IsOk());
  EXPECT_TRUE(url->sentinel());
  EXPECT_FALSE(url->cluster());
  ASSERT_EQ(url->sentinels.size(), 3u);
  EXPECT_EQ(url->sentinels[0].host, "redis-0.redis");
  EXPECT_EQ(url->sentinels[0].port, 26380);
  EXPECT_EQ(url->sentinels[1].host, "redis-1.redis");
  EXPECT_EQ(url->sentinels[1].port, 26379);  // Sentinel's port by default.
  EXPECT_EQ(url->sentinels[2].host, "redis-2.redis");
  EXPECT_EQ(url->master_name, "mymaster");
  EXPECT_EQ(url->db, 2);
  EXPECT_EQ(url->password, "s3cret");

  absl::StatusOr<RedisUrl> plain = ParseRedisUrl("redis+sentinel://10.0.0.7/livecall");
  ASSERT_THAT(plain.status(), IsOk());
  ASSERT_EQ(plain->sentinels.size(), 1u);
  EXPECT_EQ(plain->sentinels[0].port, 26379);
  EXPECT_EQ(plain->master_name, "livecall");
  EXPECT_EQ(plain->db, 0);
  EXPECT_TRUE(plain->password.empty());
  EXPECT_FALSE(ParseRedisUrl("redis://127.0.0.1:6379/0")->sentinel());
}

TEST(SentinelUrlTest, RefusesAUrlWithoutMasterNameOrSentinelOrWithBadNumbers) {
  const struct {
    const char* url;
    const char* message;
  } cases[] = {
      {"redis+sentinel://s1:26379", "names no primary"},
      {"redis+sentinel://s1:26379/", "names no primary"},
      {"redis+sentinel:///mymaster", "names no Sentinel"},
      {"redis+sentinel://s1:port/mymaster", "bad port"},
      {"redis+sentinel://s1:70000/mymaster", "bad port"},
      {"redis+sentinel://s1/mymaster/db", "bad db number"},
      {"redis+sentinel://s1/mymaster/-1", "bad db number"},
      {"redis+sentinel://s1/mymaster/0/extra", "more than /master-name/db"},
      {"redis+sentinel://s1/my master", "space in its master name"},
      {"sentinel://s1/mymaster", "redis+sentinel://"},
  };
  for (const auto& bad : cases) {
    EXPECT_THAT(ParseRedisUrl(bad.url),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(bad.message)))
        << bad.url;
  }
}

TEST(SentinelUrlTest, ABadSentinelUrlStopsTheProcessFromStarting) {
  EnvReader env([](const char* name) -> const char* {
    return std::string(name) == "LIVECALL_REDIS_URL" ? "redis+sentinel://s1:26379" : nullptr;
  });
  (void)ReadRedisOptions(env);
  EXPECT_THAT(env.status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("LIVECALL_REDIS_URL"), HasSubstr("names no primary"))));
}

TEST(SentinelUrlTest, NoSentinelAnsweringIsUnavailableAtOnceWithEveryReason) {
  RedisPool::Options options;
  options.url = *ParseRedisUrl(absl::StrCat("redis+sentinel://127.0.0.1:", testing::FreeTcpPort(),
                                            ",127.0.0.1:", testing::FreeTcpPort(), "/livecall"));
  // Not waited out: nobody answering is no failover under way.
  options.failover_wait = absl::Minutes(5);
  RedisPool redis(options);
  const std::string first = absl::StrCat("127.0.0.1:", options.url.sentinels[0].port);
  const std::string second = absl::StrCat("127.0.0.1:", options.url.sentinels[1].port);
  // Also once their circuit breakers have opened and they are no longer tried.
  for (int i = 0; i < 8; ++i) {
    EXPECT_THAT(redis.Command({"SET", "k", "v"}).status(),
                StatusIs(absl::StatusCode::kUnavailable,
                         AllOf(HasSubstr("found no primary named \"livecall\""), HasSubstr(first),
                               HasSubstr(second))));
  }
  EXPECT_THAT(redis.OpenDedicatedConnection().status(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("found no primary")));
  EXPECT_THAT(redis.Ping(), StatusIs(absl::StatusCode::kUnavailable));
}

class RedisSentinelTest : public ::testing::Test {
 protected:
  static constexpr char kPassword[] = "s3cret";

  void SetUp() override {
    testing::RedisSentinelGroup::Options options;
    options.password = kPassword;
    ASSERT_THAT(group_.Start(options), IsOk());
  }

  RedisPool::Options PoolOptions(const std::string& url) {
    RedisPool::Options options;
    options.url = *ParseRedisUrl(url);
    options.max_connections = 4;
    options.connect_timeout = absl::Milliseconds(500);
    options.command_timeout = absl::Seconds(1);
    return options;
  }

  // The URL of the group with `first` in front of its own Sentinels.
  std::string UrlWithFirst(int first) {
    std::vector<std::string> sentinels = {absl::StrCat("127.0.0.1:", first)};
    for (int port : group_.sentinel_ports()) sentinels.push_back(absl::StrCat("127.0.0.1:", port));
    return absl::StrCat("redis+sentinel://:", kPassword, "@", absl::StrJoin(sentinels, ","),
                        "/livecall");
  }

  testing::RedisSentinelGroup group_;
};

TEST_F(RedisSentinelTest, CommandsReachThePrimaryTheSentinelsName) {
  RedisPool redis(PoolOptions(group_.url()));
  ASSERT_THAT(redis.Command({"SET", "livecall:test:k", "v1"}).status(), IsOk());
  EXPECT_THAT(group_.Command(group_.primary_port(), {"GET", "livecall:test:k"}),
              testing::IsOkAndHolds("v1"));
  EXPECT_EQ(redis.NodeOf("livecall:test:k"), absl::StrCat("127.0.0.1:", group_.primary_port()));
  absl::StatusOr<std::vector<RedisReply>> replies = redis.Pipeline(
      {{"MULTI"}, {"INCR", "livecall:test:n"}, {"INCR", "livecall:test:n"}, {"EXEC"}});
  ASSERT_THAT(replies.status(), IsOk());
  EXPECT_EQ(replies->back()->element[1]->integer, 2);
  // A dedicated connection (the event hub's subscriber) goes to the primary too.
  absl::StatusOr<RedisPool::Connection> dedicated = redis.OpenDedicatedConnection();
  ASSERT_THAT(dedicated.status(), IsOk());
  RedisReply role(static_cast<redisReply*>(redisCommand(dedicated->get(), "ROLE")));
  ASSERT_NE(role, nullptr);
  EXPECT_EQ(ReplyString(*role->element[0]), "master");
}

TEST_F(RedisSentinelTest, ASentinelThatIsDownIsSkipped) {
  const int down = group_.sentinel_ports().front();
  ASSERT_THAT(group_.Kill(down), IsOk());
  RedisPool redis(PoolOptions(group_.url()));
  ASSERT_THAT(redis.Command({"SET", "livecall:test:k", "v1"}).status(), IsOk());
  EXPECT_THAT(group_.Command(group_.primary_port(), {"GET", "livecall:test:k"}),
              testing::IsOkAndHolds("v1"));
  // So is an address where no Sentinel ever ran.
  RedisPool other(PoolOptions(UrlWithFirst(testing::FreeTcpPort())));
  EXPECT_THAT(other.Command({"GET", "livecall:test:k"}).status(), IsOk());
}

TEST_F(RedisSentinelTest, AStaleSentinelThatNamesAReplicaIsNotBelieved) {
  const int replica = group_.replica_ports().front();
  absl::StatusOr<int> stale = group_.StartStaleSentinel(replica);
  ASSERT_THAT(stale.status(), IsOk());
  ASSERT_THAT(group_.PrimaryNamedBy(*stale), testing::IsOkAndHolds(replica));

  RedisPool redis(PoolOptions(UrlWithFirst(*stale)));
  ASSERT_THAT(redis.Command({"SET", "livecall:test:k", "v1"}).status(), IsOk());
  EXPECT_EQ(redis.NodeOf("livecall:test:k"), absl::StrCat("127.0.0.1:", group_.primary_port()));

  // Only the stale one: refused, saying why (at once here: otherwise the pool waits up to
  // failover_wait for the Sentinels to name a primary that is one).
  RedisPool::Options only_stale = PoolOptions(
      absl::StrCat("redis+sentinel://:", kPassword, "@127.0.0.1:", *stale, "/livecall"));
  only_stale.failover_wait = absl::ZeroDuration();
  RedisPool misled(only_stale);
  EXPECT_THAT(misled.Command({"SET", "livecall:test:k", "v2"}).status(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("is not the primary")));
  EXPECT_THAT(group_.Command(group_.primary_port(), {"GET", "livecall:test:k"}),
              testing::IsOkAndHolds("v1"));
}

TEST_F(RedisSentinelTest, AnUnknownMasterNameOrAWrongPasswordIsUnavailableSayingWhy) {
  RedisPool unknown(PoolOptions(absl::StrCat("redis+sentinel://:", kPassword, "@127.0.0.1:",
                                             group_.sentinel_ports().front(), "/nosuchmaster")));
  EXPECT_THAT(unknown.Command({"GET", "k"}).status(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("knows no primary named")));
  RedisPool wrong(PoolOptions(absl::StrCat(
      "redis+sentinel://:wrong@127.0.0.1:", group_.sentinel_ports().front(), "/livecall")));
  EXPECT_THAT(wrong.Command({"GET", "k"}).status(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("refused the password")));
}

TEST_F(RedisSentinelTest, ADemotedPrimarysReadonlyAnswerSendsThePoolToTheNewOne) {
  RedisPool redis(PoolOptions(group_.url()));
  ASSERT_THAT(redis.Command({"SET", "livecall:test:k", "v1"}).status(), IsOk());
  const int old_primary = group_.primary_port();
  ASSERT_THAT(group_.Command(group_.sentinel_ports().front(), {"SENTINEL", "FAILOVER", "livecall"}),
              testing::IsOkAndHolds("OK"));
  absl::StatusOr<int> promoted = group_.WaitForFailover(old_primary, absl::Seconds(20));
  ASSERT_THAT(promoted.status(), IsOk());
  // What the Sentinels do to the old primary a few seconds later; the pool's idle connection
  // still leads to it and gets READONLY.
  ASSERT_THAT(group_.Command(old_primary, {"REPLICAOF", "127.0.0.1", absl::StrCat(*promoted)}),
              testing::IsOkAndHolds("OK"));

  EXPECT_THAT(redis.Command({"SET", "livecall:test:k", "v2"}).status(), IsOk());
  // The old primary did refuse it (the path under test), and the new one has it.
  EXPECT_THAT(group_.Command(old_primary, {"INFO", "errorstats"}),
              testing::IsOkAndHolds(HasSubstr("errorstat_READONLY:count=1")));
  EXPECT_EQ(redis.NodeOf("livecall:test:k"), absl::StrCat("127.0.0.1:", *promoted));
  EXPECT_THAT(group_.Command(*promoted, {"GET", "livecall:test:k"}), testing::IsOkAndHolds("v2"));
}

TEST_F(RedisSentinelTest, APrimaryKilledMidWritesLosesNoAcknowledgedWriteAndWritesResume) {
  ASSERT_THAT(group_.WaitForSentinelsToKnowEachOther(absl::Seconds(20)), IsOk());
  RedisPool::Options options = PoolOptions(group_.url());
  options.wait_replicas = 1;  // LIVECALL_REDIS_WAIT_REPLICAS=1
  options.failover_wait = absl::Seconds(20);
  RedisPool redis(options);
  const int old_primary = group_.primary_port();
  const std::string key = "livecall:test:acknowledged";

  absl::StatusOr<RedisPool::Connection> subscriber = redis.OpenDedicatedConnection();
  ASSERT_THAT(subscriber.status(), IsOk());
  RedisReply subscribed(
      static_cast<redisReply*>(redisCommand(subscriber->get(), "SUBSCRIBE livecall:test:ch")));
  ASSERT_NE(subscribed, nullptr);

  absl::Mutex mu;
  std::vector<int> acknowledged;
  int refused = 0;
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 0; !stop.load(); ++i) {
      const bool ok = redis.Command({"SADD", key, absl::StrCat(i)}).ok();
      absl::MutexLock lock(&mu);
      if (ok) {
        acknowledged.push_back(i);
      } else {
        ++refused;
      }
    }
  });
  absl::Cleanup join = [&] {
    stop = true;
    writer.join();
  };
  auto acknowledged_count = [&] {
    absl::MutexLock lock(&mu);
    return acknowledged.size();
  };
  ASSERT_TRUE(testing::WaitFor([&] { return acknowledged_count() >= 200; }, absl::Seconds(10)));
  ASSERT_THAT(group_.Kill(old_primary), IsOk());
  absl::StatusOr<int> promoted = group_.WaitForFailover(old_primary, absl::Seconds(30));
  ASSERT_THAT(promoted.status(), IsOk());
  // Writes succeed again on the same pool, once the other replica follows the new primary.
  const size_t at_failover = acknowledged_count();
  EXPECT_TRUE(testing::WaitFor([&] { return acknowledged_count() >= at_failover + 200; },
                               absl::Seconds(30)))
      << group_.LogTails();
  std::move(join).Invoke();
  EXPECT_EQ(redis.NodeOf(key), absl::StrCat("127.0.0.1:", *promoted));

  absl::StatusOr<std::string> members = group_.Command(*promoted, {"SMEMBERS", key});
  ASSERT_THAT(members.status(), IsOk());
  absl::flat_hash_set<std::string> kept = absl::StrSplit(*members, '\n');
  std::vector<int> lost;
  for (int i : acknowledged) {
    if (!kept.contains(absl::StrCat(i))) lost.push_back(i);
  }
  EXPECT_THAT(lost, ::testing::IsEmpty()) << acknowledged.size() << " acknowledged";
  RecordProperty("acknowledged", static_cast<int>(acknowledged.size()));
  RecordProperty("refused_during_failover", refused);

  // The old subscriber's connection died with its server; a new one follows the primary.
  void* raw = nullptr;
  EXPECT_NE(redisGetReply(subscriber->get(), &raw), REDIS_OK);
  absl::StatusOr<RedisPool::Connection> resubscriber = redis.OpenDedicatedConnection();
  ASSERT_THAT(resubscriber.status(), IsOk());
  RedisReply resubscribed(
      static_cast<redisReply*>(redisCommand(resubscriber->get(), "SUBSCRIBE livecall:test:ch")));
  ASSERT_NE(resubscribed, nullptr);
  absl::StatusOr<RedisReply> published = redis.Command({"PUBLISH", "livecall:test:ch", "hello"});
  ASSERT_THAT(published.status(), IsOk());
  EXPECT_EQ((*published)->integer, 1);  // Our subscriber, on the same node.
  raw = nullptr;
  ASSERT_EQ(redisGetReply(resubscriber->get(), &raw), REDIS_OK);
  RedisReply message(static_cast<redisReply*>(raw));
  ASSERT_EQ(message->type, REDIS_REPLY_ARRAY);
  EXPECT_EQ(ReplyString(*message->element[2]), "hello");
}

}  // namespace
}  // namespace livecall
