#include "common/redis_cluster.h"

#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "common/live_events.h"
#include "common/redis_pool.h"
#include "common/redis_script.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/redis_fixture.h"
#include "tests/support/status_matchers.h"

namespace livecall {
namespace {

using ::livecall::testing::IsOk;
using ::livecall::testing::StatusIs;
using ::testing::HasSubstr;

TEST(RedisCrc16Test, MatchesTheClusterSpecificationsTestVector) {
  EXPECT_EQ(RedisCrc16("123456789"), 0x31C3);
  EXPECT_EQ(RedisCrc16(""), 0);
}

TEST(RedisKeySlotTest, HashesTheHashTagWhenThereIsOne) {
  // The examples of the cluster specification.
  EXPECT_EQ(RedisKeySlot("{user1000}.following"), RedisKeySlot("{user1000}.followers"));
  EXPECT_EQ(RedisKeySlot("{user1000}.following"), RedisKeySlot("user1000"));
  EXPECT_EQ(RedisKeySlot("foo{}{bar}"), RedisCrc16("foo{}{bar}") % 16384);
  EXPECT_EQ(RedisKeySlot("foo{{bar}}zap"), RedisKeySlot("{bar"));
  EXPECT_EQ(RedisKeySlot("foo{bar}{zap}"), RedisKeySlot("bar"));
  EXPECT_EQ(RedisKeySlot("123456789"), 0x31C3 % 16384);
  for (const char* key : {"a", "livecall:call:{CA1}", "x{"}) {
    EXPECT_GE(RedisKeySlot(key), 0);
    EXPECT_LT(RedisKeySlot(key), kRedisClusterSlots);
  }
}

TEST(SlotHashTagTest, NamesEverySlotWithAShortTag) {
  // The first decimal number in each slot (bench/loadgen relies on slot 0's).
  EXPECT_EQ(SlotHashTag(0), "3560");
  for (int slot = 0; slot < kRedisClusterSlots; ++slot) {
    const std::string tag(SlotHashTag(slot));
    ASSERT_FALSE(tag.empty());
    ASSERT_LE(tag.size(), 6u);
    ASSERT_EQ(RedisKeySlot("{" + tag + "}:anything"), slot) << tag;
  }
}

TEST(SessionSlotTest, ASessionIsMadeForTheSlotItIsAskedFor) {
  for (int slot : {0, 1, 5061, 12182, 16383}) {
    const std::string id = NewSessionId(slot);
    ASSERT_EQ(id.size(), 36u);
    EXPECT_EQ(SessionSlot(id), slot);
    EXPECT_EQ(RedisKeySlot(SessionEventsKey(id)), slot);
  }
  // A call's session shares the call's slot.
  const std::string sid = "CA0123456789abcdef0123456789abcdef";
  const std::string id = NewSessionId(RedisKeySlot(CallKeyPrefix(sid)));
  EXPECT_EQ(RedisKeySlot(SessionEventsKey(id)), RedisKeySlot(CallEventsKey(sid)));
  // Any id names some slot (ids made before sessions were placed too).
  EXPECT_EQ(SessionSlot("ses_ffffffffffffffffffffffffffffffff"), 0xffff % 16384);
  EXPECT_NE(NewSessionId(-1), NewSessionId(-1));
}

TEST(RoutingKeyTest, FindsTheFirstKeyOfEachKindOfCommand) {
  auto key_of = [](std::vector<std::string> argv) {
    const std::string* key = RoutingKey(argv);
    return key == nullptr ? std::string("<none>") : *key;
  };
  EXPECT_EQ(key_of({"GET", "k"}), "k");
  EXPECT_EQ(key_of({"zadd", "z", "1", "m"}), "z");
  EXPECT_EQ(key_of({"EVALSHA", "abc", "2", "k1", "k2", "a"}), "k1");
  EXPECT_EQ(key_of({"EVAL", "return 1", "0"}), "<none>");
  EXPECT_EQ(key_of({"XREAD", "COUNT", "10", "STREAMS", "s1", "s2", "0-0", "0-0"}), "s1");
  EXPECT_EQ(key_of({"XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"}), "s");
  EXPECT_EQ(key_of({"XGROUP", "CREATE", "s", "g", "0"}), "s");
  EXPECT_EQ(key_of({"PUBLISH", "channel", "message"}), "<none>");
  EXPECT_EQ(key_of({"PING"}), "<none>");
  EXPECT_EQ(key_of({"WAIT", "1", "100"}), "<none>");
  EXPECT_EQ(key_of({"TIME"}), "<none>");
}

TEST(IsReadOnlyCommandTest, TellsReadsFromWrites) {
  EXPECT_TRUE(IsReadOnlyCommand({"GET", "k"}));
  EXPECT_TRUE(IsReadOnlyCommand({"xrange", "s", "-", "+"}));
  EXPECT_FALSE(IsReadOnlyCommand({"SET", "k", "v"}));
  EXPECT_FALSE(IsReadOnlyCommand({"EVALSHA", "abc", "1", "k"}));
  EXPECT_FALSE(IsReadOnlyCommand({"XADD", "s", "*", "f", "v"}));
}

TEST(ParseRedisRedirectTest, ReadsMovedAndAsk) {
  std::optional<RedisRedirect> moved = ParseRedisRedirect("MOVED 3999 127.0.0.1:6381");
  ASSERT_TRUE(moved.has_value());
  EXPECT_FALSE(moved->ask);
  EXPECT_EQ(moved->slot, 3999);
  EXPECT_EQ(moved->host, "127.0.0.1");
  EXPECT_EQ(moved->port, 6381);
  std::optional<RedisRedirect> ask = ParseRedisRedirect("ASK 1 redis-2.livecall:7000");
  ASSERT_TRUE(ask.has_value());
  EXPECT_TRUE(ask->ask);
  EXPECT_EQ(ask->host, "redis-2.livecall");
  EXPECT_FALSE(ParseRedisRedirect("ERR wrong number of arguments").has_value());
  EXPECT_FALSE(ParseRedisRedirect("MOVED 99999 h:1").has_value());
  EXPECT_FALSE(ParseRedisRedirect("MOVED 1 nohost").has_value());
}

TEST(ParseRedisUrlTest, ReadsClusterSeedNodes) {
  absl::StatusOr<RedisUrl> url =
      ParseRedisUrl("redis+cluster://:s3cret@redis-0.redis:6379, redis-1.redis:6380,10.0.0.3");
  ASSERT_THAT(url.status(), IsOk());
  ASSERT_TRUE(url->cluster());
  ASSERT_EQ(url->cluster_seeds.size(), 3u);
  EXPECT_EQ(url->cluster_seeds[0].host, "redis-0.redis");
  EXPECT_EQ(url->cluster_seeds[1].port, 6380);
  EXPECT_EQ(url->cluster_seeds[2].port, 6379);
  EXPECT_EQ(url->password, "s3cret");
  EXPECT_EQ(url->host, "redis-0.redis");
  EXPECT_FALSE(ParseRedisUrl("redis://one:6379")->cluster());
}

TEST(ParseRedisUrlTest, RejectsAClusterWithADatabaseOrNoNode) {
  EXPECT_THAT(ParseRedisUrl("redis+cluster://a:1/2"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("database 0")));
  EXPECT_THAT(ParseRedisUrl("redis+cluster://a:1,b:x"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("bad port")));
  EXPECT_THAT(ParseRedisUrl("redis+cluster://,"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no cluster node")));
  EXPECT_THAT(ParseRedisUrl("rediss://a"), StatusIs(absl::StatusCode::kInvalidArgument));
}

class RedisScriptTest : public testing::RedisFixture {};

TEST_F(RedisScriptTest, RunsBySha1AndLoadsTheScriptWhereItIsMissing) {
  const RedisScript script("return redis.call('INCRBY', KEYS[1], ARGV[1])");
  absl::StatusOr<RedisReply> loaded = redis_->Command({"SCRIPT", "LOAD", script.source()});
  ASSERT_THAT(loaded.status(), IsOk());
  EXPECT_EQ(ReplyString(**loaded), script.sha1());
  ASSERT_THAT(redis_->Command({"SCRIPT", "FLUSH"}).status(), IsOk());
  // Not cached: NOSCRIPT, then EVAL, which caches it.
  absl::StatusOr<RedisReply> first = script.Run(*redis_, {"counter"}, {"2"});
  ASSERT_THAT(first.status(), IsOk());
  EXPECT_EQ((*first)->integer, 2);
  absl::StatusOr<RedisReply> exists = redis_->Command({"SCRIPT", "EXISTS", script.sha1()});
  ASSERT_THAT(exists.status(), IsOk());
  EXPECT_EQ((*exists)->element[0]->integer, 1);
  absl::StatusOr<RedisReply> second =
      script.RunAfter(*redis_, {{"SET", "other", "x"}}, {"counter"}, {"3"});
  ASSERT_THAT(second.status(), IsOk());
  EXPECT_EQ((*second)->integer, 5);
}

TEST_F(RedisScriptTest, AnErrorOfTheScriptOrOfACommandBeforeItIsTheAnswer) {
  const RedisScript failing("return redis.error_reply('nope')");
  EXPECT_THAT(failing.Run(*redis_, {"k"}, {}),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("nope")));
  const RedisScript fine("return 1");
  ASSERT_THAT(redis_->Command({"SET", "text", "x"}).status(), IsOk());
  EXPECT_THAT(fine.RunAfter(*redis_, {{"LPUSH", "text", "x"}}, {"k"}, {}),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("WRONGTYPE")));
}

// The script's command line is built in strings kept from the thread's last script: a call with
// fewer (or shorter) keys and arguments must not carry any of the last one's.
TEST_F(RedisScriptTest, EachRunSendsExactlyItsOwnKeysAndArguments) {
  const RedisScript echo("return {#KEYS, #ARGV, table.concat(KEYS, ','), table.concat(ARGV, ',')}");
  const std::string binary("a\0b\r\n", 5);
  const std::vector<std::vector<std::string>> keys = {
      {"k1", "k2", std::string(300, 'k')}, {}, {"k"}, {std::string(20, 'x')}};
  const std::vector<std::vector<std::string>> args = {
      {std::string(5000, 'v'), binary, ""}, {"only"}, {}, {binary, "2"}};
  for (size_t i = 0; i < keys.size(); ++i) {
    absl::StatusOr<RedisReply> reply = echo.Run(*redis_, keys[i], args[i]);
    ASSERT_THAT(reply.status(), IsOk());
    ASSERT_EQ((*reply)->elements, 4u);
    EXPECT_EQ((*reply)->element[0]->integer, static_cast<long long>(keys[i].size()));
    EXPECT_EQ((*reply)->element[1]->integer, static_cast<long long>(args[i].size()));
    EXPECT_EQ(ReplyString(*(*reply)->element[2]), absl::StrJoin(keys[i], ","));
    EXPECT_EQ(ReplyString(*(*reply)->element[3]), absl::StrJoin(args[i], ","));
  }
}

TEST_F(RedisScriptTest, ATransactionIsAllOrAnError) {
  EXPECT_THAT(RunTransaction(*redis_, {{"SET", "a", "1"}, {"SET", "b", "2"}}), IsOk());
  EXPECT_THAT(RunTransaction(*redis_, {{"SET", "a", "1"}, {"NOSUCHCOMMAND"}}),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("EXEC")));
  EXPECT_THAT(RunTransaction(*redis_, {}), IsOk());
}

TEST_F(RedisScriptTest, AWriteNoReplicaAcknowledgedIsNotAcknowledged) {
  RedisPool::Options options;
  options.url = redis_server_.parsed_url();
  options.wait_replicas = 1;
  options.wait_timeout = absl::Milliseconds(50);
  RedisPool waiting(options);
  // The private server has no replica: the write is made, but not acknowledged as durable.
  EXPECT_THAT(waiting.Command({"SET", "k", "v"}),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("0 of 1 replicas")));
  // Reads do not wait.
  EXPECT_THAT(waiting.Command({"GET", "k"}).status(), IsOk());
}

}  // namespace
}  // namespace livecall
