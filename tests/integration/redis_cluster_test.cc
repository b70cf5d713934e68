// The Redis layer on a Redis Cluster: three masters with a replica each, started by the test. It
// routes by hash slot and follows redirections; calls, sessions and their live events are written
// and read through it; and a master killed with SIGKILL while writes go on loses none of the
// writes that were acknowledged (the pool WAITs for a replica after each write,
// LIVECALL_REDIS_WAIT_REPLICAS=1). redis_cluster_suite_test.cc runs the four services on one.

#include "tests/support/redis_cluster.h"

#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/event_hub.h"
#include "common/ids.h"
#include "common/live_events.h"
#include "common/proto_time.h"
#include "common/redis_pool.h"
#include "common/redis_script.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "livecall/v1/call_control.pb.h"
#include "livecall/v1/context.pb.h"
#include "services/call-control/calls/call_store.h"
#include "services/context/outbox.h"
#include "services/context/session_store.h"
#include "tests/support/status_matchers.h"
#include "tests/support/wait_for.h"

namespace livecall::testing {
namespace {

using ::livecall::call_control::CallKey;
using ::livecall::call_control::CallStore;
using ::livecall::context::SessionStore;
using ::livecall::v1::Call;
using ::livecall::v1::Session;
using ::testing::HasSubstr;

MATCHER_P(IsOkAndHolds, expected, "") { return arg.ok() && *arg == expected; }

RedisPool::Options ClusterPoolOptions(const RedisCluster& cluster) {
  RedisPool::Options options;
  options.url = *ParseRedisUrl(cluster.url());
  options.max_connections = 4;
  options.wait_replicas = 1;
  options.wait_timeout = absl::Seconds(1);
  // Longer than a failover takes with cluster-node-timeout 1000 ms.
  options.failover_wait = absl::Seconds(15);
  return options;
}

Call NewCall(livecall::v1::CallStatus status) {
  Call call;
  call.set_call_sid(NewId("CA"));
  call.set_status(status);
  call.set_direction("outbound-api");
  call.set_to("+998901112233");
  *call.mutable_created_at() = ToProtoTimestamp(absl::Now());
  return call;
}

Session NewSession(const std::string& call_sid) {
  Session session;
  session.set_phone_number("+998901112233");
  session.set_call_sid(call_sid);
  livecall::v1::Turn* greeting = session.add_conversation();
  greeting->set_speaker("ai");
  greeting->set_text("Assalomu alaykum!");
  return session;
}

livecall::v1::Turn CustomerTurn(const std::string& text) {
  livecall::v1::Turn turn;
  turn.set_speaker("customer");
  turn.set_text(text);
  return turn;
}

// One cluster for the tests that do not break it.
class RedisClusterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = new RedisCluster();
    start_status_ = new absl::Status(cluster_->Start());
  }
  static void TearDownTestSuite() {
    delete cluster_;
    delete start_status_;
  }
  void SetUp() override {
    ASSERT_THAT(*start_status_, IsOk());
    redis_ = std::make_unique<RedisPool>(ClusterPoolOptions(*cluster_));
  }

  static inline RedisCluster* cluster_ = nullptr;
  static inline absl::Status* start_status_ = nullptr;
  std::unique_ptr<RedisPool> redis_;
};

TEST_F(RedisClusterTest, CommandsPipelinesAndScriptsReachTheNodeOfTheirSlot) {
  // Keys spread over every master: each lands where CLUSTER SLOTS says.
  std::set<int> masters;
  for (int i = 0; i < 30; ++i) {
    const std::string key = absl::StrCat("test:key:", i);
    ASSERT_THAT(redis_->Command({"SET", key, absl::StrCat(i)}).status(), IsOk());
    absl::StatusOr<int> master = cluster_->MasterOf(key);
    ASSERT_THAT(master.status(), IsOk());
    masters.insert(*master);
    absl::StatusOr<std::string> stored = cluster_->Command(*master, {"GET", key});
    ASSERT_THAT(stored.status(), IsOk());
    EXPECT_EQ(*stored, absl::StrCat(i));
    EXPECT_EQ(redis_->NodeOf(key), absl::StrCat("127.0.0.1:", *master));
    // The slot function agrees with the server's.
    EXPECT_THAT(cluster_->Command(*master, {"CLUSTER", "KEYSLOT", key}),
                IsOkAndHolds(absl::StrCat(RedisKeySlot(key))));
  }
  EXPECT_EQ(masters.size(), 3u);

  // A plain pipeline across slots answers in order.
  std::vector<std::vector<std::string>> reads;
  for (int i = 0; i < 30; ++i) reads.push_back({"GET", absl::StrCat("test:key:", i)});
  absl::StatusOr<std::vector<RedisReply>> replies = redis_->Pipeline(reads);
  ASSERT_THAT(replies.status(), IsOk());
  for (int i = 0; i < 30; ++i) EXPECT_EQ(ReplyString(*(*replies)[i]), absl::StrCat(i));

  // A MULTI block on one hash tag; a script loaded on first use on each node (NOSCRIPT -> EVAL).
  ASSERT_THAT(RunTransaction(*redis_, {{"SET", "test:{tag}:a", "1"}, {"SET", "test:{tag}:b", "2"}}),
              IsOk());
  const RedisScript sum("return redis.call('GET', KEYS[1]) + redis.call('GET', KEYS[2])");
  absl::StatusOr<RedisReply> total = sum.Run(*redis_, {"test:{tag}:a", "test:{tag}:b"}, {});
  ASSERT_THAT(total.status(), IsOk());
  EXPECT_EQ((*total)->integer, 3);
  for (int i = 0; i < 3; ++i) {
    ASSERT_THAT(sum.Run(*redis_, {"test:{tag}:a", "test:{tag}:b"}, {}).status(), IsOk());
  }
  // A MULTI block across slots is refused by the cluster, and said so.
  EXPECT_THAT(RunTransaction(*redis_, {{"SET", "test:x", "1"}, {"SET", "test:y", "2"}}),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("CROSSSLOT")));
}

TEST_F(RedisClusterTest, AStaleSlotMapIsCorrectedByMovedAndAskRedirections) {
  const std::string key = "test:{moving}";
  ASSERT_THAT(redis_->Command({"SET", key, "before"}).status(), IsOk());
  absl::StatusOr<int> source = cluster_->MasterOf(key);
  ASSERT_THAT(source.status(), IsOk());
  int target = 0;
  for (int port : cluster_->ports()) {
    absl::StatusOr<std::string> role = cluster_->Command(port, {"ROLE"});
    if (port != *source && role.ok() && absl::StartsWith(*role, "master")) target = port;
  }
  ASSERT_NE(target, 0);
  const std::string slot = absl::StrCat(RedisKeySlot(key));
  absl::StatusOr<std::string> source_id = cluster_->Command(*source, {"CLUSTER", "MYID"});
  absl::StatusOr<std::string> target_id = cluster_->Command(target, {"CLUSTER", "MYID"});
  ASSERT_THAT(source_id.status(), IsOk());
  ASSERT_THAT(target_id.status(), IsOk());
  // Mid-migration: a key not yet moved is served by the source, a new one by the target (ASK).
  ASSERT_THAT(cluster_->Command(target, {"CLUSTER", "SETSLOT", slot, "IMPORTING", *source_id}),
              IsOkAndHolds("OK"));
  ASSERT_THAT(cluster_->Command(*source, {"CLUSTER", "SETSLOT", slot, "MIGRATING", *target_id}),
              IsOkAndHolds("OK"));
  const std::string fresh = "test:{moving}:fresh";
  ASSERT_EQ(RedisKeySlot(fresh), RedisKeySlot(key));
  ASSERT_THAT(redis_->Command({"SET", fresh, "asked"}).status(), IsOk());
  // Move the old key too and hand the slot over: the pool's map is now stale (MOVED).
  ASSERT_THAT(
      cluster_->Command(*source, {"MIGRATE", "127.0.0.1", absl::StrCat(target), key, "0", "5000"}),
      IsOkAndHolds("OK"));
  // The new owner first, then the old, then the rest (replicas refuse: only masters count).
  std::vector<int> order = {target, *source};
  for (int port : cluster_->ports()) {
    if (port != target && port != *source) order.push_back(port);
  }
  for (int port : order) {
    ASSERT_THAT(cluster_->Command(port, {"CLUSTER", "SETSLOT", slot, "NODE", *target_id}).status(),
                IsOk());
  }
  absl::StatusOr<RedisReply> moved = redis_->Command({"GET", key});
  ASSERT_THAT(moved.status(), IsOk());
  EXPECT_EQ(ReplyString(**moved), "before");
  EXPECT_EQ(redis_->NodeOf(key), absl::StrCat("127.0.0.1:", target));
  absl::StatusOr<RedisReply> asked = redis_->Command({"GET", fresh});
  ASSERT_THAT(asked.status(), IsOk());
  EXPECT_EQ(ReplyString(**asked), "asked");
}

TEST_F(RedisClusterTest, CallsSessionsAndTheirLiveEventsGoThrough) {
  CallStore calls(*redis_, absl::Hours(1));
  SessionStore sessions(*redis_, absl::Hours(1));
  EventHub hub({.redis = *ParseRedisUrl(cluster_->url()), .block = absl::Milliseconds(200)});
  hub.Start();

  Call call = NewCall(livecall::v1::CALL_STATUS_RINGING);
  ASSERT_THAT(calls.Create(call, {NewId("CA")}, {}), IsOk());
  absl::Mutex mu;
  std::vector<std::string> types;
  const uint64_t handle =
      hub.Subscribe(CallEventsKey(call.call_sid()), "", [&](const std::vector<StreamEntry>& got) {
        absl::MutexLock lock(&mu);
        for (const StreamEntry& entry : got) types.push_back(entry.type);
      });

  // A session beside the call is made for the call's slot: one script writes both.
  absl::StatusOr<Session> session = sessions.Create(NewSession(call.call_sid()), absl::Now());
  ASSERT_THAT(session.status(), IsOk());
  EXPECT_EQ(RedisKeySlot(SessionEventsKey(session->session_id())),
            RedisKeySlot(CallEventsKey(call.call_sid())));
  ASSERT_THAT(sessions.AppendTurn(session->session_id(), CustomerTurn("internet yo'q"), {}),
              IsOkAndHolds(2));
  absl::StatusOr<Call> answered = calls.Update(call.call_sid(), [](Call& stored) {
    stored.set_status(livecall::v1::CALL_STATUS_IN_PROGRESS);
    stored.set_session_id("ses_recorded");
    return true;
  });
  ASSERT_THAT(answered.status(), IsOk());
  absl::StatusOr<Session> ended =
      sessions.End(session->session_id(), {}, "resolved", &*answered, absl::Now());
  ASSERT_THAT(ended.status(), IsOk());
  absl::StatusOr<Call> completed = calls.Update(call.call_sid(), [](Call& stored) {
    stored.set_status(livecall::v1::CALL_STATUS_COMPLETED);
    return true;
  });
  ASSERT_THAT(completed.status(), IsOk());

  EXPECT_TRUE(WaitFor(
      [&] {
        absl::MutexLock lock(&mu);
        return types.size() >= 6;
      },
      absl::Seconds(10)));
  {
    absl::MutexLock lock(&mu);
    EXPECT_EQ(types, (std::vector<std::string>{"call.status", "session.started", "transcript",
                                               "call.status", "summary", "call.status"}));
  }
  hub.Unsubscribe(handle);
  hub.Stop();

  // The ended call's session is on the schedule with its marker, so the sweeper takes it.
  absl::StatusOr<std::vector<std::string>> due =
      calls.DueSessionEnds(absl::Now() + absl::Seconds(1), 100);
  ASSERT_THAT(due.status(), IsOk());
  EXPECT_THAT(*due, ::testing::Contains(call.call_sid()));
  EXPECT_THAT(calls.ClaimSessionEnd(call.call_sid(), absl::Now() + absl::Seconds(1),
                                    absl::Seconds(1), absl::Seconds(10)),
              IsOkAndHolds(1));
  // The outbox entry is the session's: confirmed on the session's slot.
  absl::StatusOr<RedisReply> entries = redis_->Command({"XRANGE", context::kOutboxKey, "-", "+"});
  ASSERT_THAT(entries.status(), IsOk());
  bool confirmed = false;
  for (size_t i = 0; i < (*entries)->elements; ++i) {
    const redisReply& entry = *(*entries)->element[i];
    const std::string fields = ReplyString(*entry.element[1]->element[1]);
    if (fields != session->session_id()) continue;
    absl::StatusOr<bool> mine =
        context::ConfirmOutboxEntry(*redis_, fields, ReplyString(*entry.element[0]));
    ASSERT_THAT(mine.status(), IsOk());
    confirmed = *mine;
  }
  EXPECT_TRUE(confirmed);
  // Live calls and the live floor read across slots.
  absl::StatusOr<std::vector<Call>> live = calls.ListLive(50);
  ASSERT_THAT(live.status(), IsOk());
  for (const Call& listed : *live) EXPECT_NE(listed.call_sid(), call.call_sid());
}

// A session without a call is written on its own slot, after its indexes (slots of their own): it
// is stored, indexed, listed and announced as one beside a call is; its turns run there too.
TEST_F(RedisClusterTest, ASessionWithoutACallIsWrittenOnItsSlotAfterItsIndexes) {
  SessionStore sessions(*redis_, absl::Hours(1));
  EventHub hub({.redis = *ParseRedisUrl(cluster_->url()), .block = absl::Milliseconds(200)});
  hub.Start();
  Session session = NewSession("");
  session.set_phone_number("+998907776655");
  absl::StatusOr<Session> created = sessions.Create(session, absl::Now());
  ASSERT_THAT(created.status(), IsOk());
  const std::string& id = created->session_id();
  absl::Mutex mu;
  std::vector<std::string> types;
  const uint64_t handle =
      hub.Subscribe(SessionEventsKey(id), "0", [&](const std::vector<StreamEntry>& got) {
        absl::MutexLock lock(&mu);
        for (const StreamEntry& entry : got) types.push_back(entry.type);
      });
  ASSERT_THAT(sessions.AppendTurn(id, CustomerTurn("internet yo'q"), {}), IsOkAndHolds(2));
  EXPECT_TRUE(WaitFor(
      [&] {
        absl::MutexLock lock(&mu);
        return types.size() >= 2;
      },
      absl::Seconds(10)));
  {
    absl::MutexLock lock(&mu);
    EXPECT_EQ(types, (std::vector<std::string>{"session.started", "transcript"}));
  }
  hub.Unsubscribe(handle);
  hub.Stop();

  absl::StatusOr<Session> read = sessions.Get(id);
  ASSERT_THAT(read.status(), IsOk());
  EXPECT_EQ(read->conversation_size(), 2);
  EXPECT_EQ(read->status(), "active");
  absl::StatusOr<std::vector<Session>> listed = sessions.ListByPhone("+998907776655", 10);
  ASSERT_THAT(listed.status(), IsOk());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->front().session_id(), id);
  absl::StatusOr<int64_t> active = sessions.CountActive(absl::Now());
  ASSERT_THAT(active.status(), IsOk());
  EXPECT_GE(*active, 1);
  for (const std::string& key :
       {context::SessionKey(id), context::TurnsKey(id), context::SuggestionsKey(id),
        SessionEventsKey(id), context::PhoneSessionsKey("+998907776655")}) {
    absl::StatusOr<RedisReply> ttl = redis_->Command({"TTL", key});
    ASSERT_THAT(ttl.status(), IsOk());
    EXPECT_GT((*ttl)->integer, 3500) << key;
  }
}

// A fresh cluster whose master is killed.
TEST(RedisClusterFailoverTest, NoAcknowledgedWriteIsLostWhenAMasterIsKilled) {
  RedisCluster cluster;
  ASSERT_THAT(cluster.Start(), IsOk());
  RedisPool redis(ClusterPoolOptions(cluster));
  CallStore calls(redis, absl::Hours(1));
  SessionStore sessions(redis, absl::Hours(1));

  struct Acknowledged {
    std::string call_sid;
    std::string session_id;  // Empty: the session's write was not acknowledged.
    int turns = 0;           // Acknowledged turns after the greeting.
  };
  std::vector<Acknowledged> acknowledged;
  int refused = 0;
  // One round: a call, its session, a turn. Answers whether all three were acknowledged.
  auto write_round = [&](int round) {
    Call call = NewCall(livecall::v1::CALL_STATUS_IN_PROGRESS);
    if (!calls.Create(call, {}, {}).ok()) {
      ++refused;
      return false;
    }
    acknowledged.push_back({call.call_sid(), "", 0});
    absl::StatusOr<Session> session = sessions.Create(NewSession(call.call_sid()), absl::Now());
    if (!session.ok()) {
      ++refused;
      return false;
    }
    acknowledged.back().session_id = session->session_id();
    if (!sessions.AppendTurn(session->session_id(), CustomerTurn(absl::StrCat("turn ", round)), {})
             .ok()) {
      ++refused;
      return false;
    }
    acknowledged.back().turns = 1;
    return true;
  };

  for (int round = 0; round < 15; ++round) ASSERT_TRUE(write_round(round)) << "round " << round;
  absl::StatusOr<int> victim = cluster.MasterOf(CallKey(acknowledged.front().call_sid));
  ASSERT_THAT(victim.status(), IsOk());
  absl::StatusOr<int> heir = cluster.ReplicaOf(*victim);
  ASSERT_THAT(heir.status(), IsOk());
  int on_victim = 0;
  for (const Acknowledged& written : acknowledged) {
    absl::StatusOr<int> master = cluster.MasterOf(CallKey(written.call_sid));
    if (master.ok() && *master == *victim) ++on_victim;
  }
  ASSERT_GT(on_victim, 0);

  // SIGKILL the master; writes go on while its replica takes over.
  ASSERT_THAT(cluster.Kill(*victim), IsOk());
  const absl::Time killed = absl::Now();
  int round = 15;
  bool promoted = false;
  while (!promoted && absl::Now() - killed < absl::Seconds(60)) {
    write_round(round++);
    absl::StatusOr<std::string> role = cluster.Command(*heir, {"ROLE"});
    promoted = role.ok() && absl::StartsWith(*role, "master");
  }
  ASSERT_TRUE(promoted) << cluster.LogTails();
  ASSERT_THAT(cluster.WaitForMaster(*heir, absl::Seconds(30)), IsOk());
  for (int i = 0; i < 5; ++i) write_round(round++);  // The heir has no replica yet: WAIT fails.

  // The killed node comes back as the heir's replica; then every write is acknowledged again.
  ASSERT_THAT(cluster.Restart(*victim), IsOk());
  ASSERT_THAT(cluster.WaitForHealthy(1, absl::Seconds(60)), IsOk());
  for (int i = 0; i < 15; ++i, ++round) ASSERT_TRUE(write_round(round)) << "round " << round;

  // Every acknowledged write is there.
  for (const Acknowledged& written : acknowledged) {
    SCOPED_TRACE(written.call_sid);
    absl::StatusOr<Call> call = calls.Get(written.call_sid);
    ASSERT_THAT(call.status(), IsOk());
    EXPECT_EQ(call->status(), livecall::v1::CALL_STATUS_IN_PROGRESS);
    if (written.session_id.empty()) continue;
    absl::StatusOr<Session> session = sessions.Get(written.session_id);
    ASSERT_THAT(session.status(), IsOk());
    EXPECT_GE(session->conversation_size(), 1 + written.turns);
    absl::StatusOr<RedisReply> events = redis.Command({"XLEN", CallEventsKey(written.call_sid)});
    ASSERT_THAT(events.status(), IsOk());
    EXPECT_GE((*events)->integer, 2);  // call.status and session.started at least.
  }
  RecordProperty("acknowledged_rounds", static_cast<int>(acknowledged.size()));
  RecordProperty("refused_writes", refused);
  std::cout << acknowledged.size() << " acknowledged rounds (" << on_victim
            << " of the first 15 on the killed master), " << refused
            << " writes refused during the failover\n";
}

// A customer's /twilio/voice on a cluster: the agents' set is read first (another node), and the
// one script writes the call, its event and the answer that rings them on the call's slot, after
// the live floor's entry on its own. (The lookup reads the call's slot and the agents' set.)
TEST_F(RedisClusterTest, AnInboundVoiceCallIsWrittenByOneScriptOnItsSlot) {
  CallStore calls(*redis_, absl::Hours(1));
  ASSERT_THAT(calls.MarkAgentAvailable("alice", absl::Now() + absl::Hours(1)), IsOk());
  Call call = NewCall(livecall::v1::CALL_STATUS_RINGING);
  absl::StatusOr<CallStore::VoiceCallState> fresh =
      calls.LookupVoiceCall(call.call_sid(), absl::Now(), 5);
  ASSERT_THAT(fresh.status(), IsOk());
  EXPECT_FALSE(fresh->known);
  EXPECT_EQ(fresh->agents, std::vector<std::string>{"alice"});
  absl::StatusOr<CallStore::VoiceCallWrite> written =
      calls.AnswerVoiceCall(call, {.ring = "<Response/>", .busy = "<Response>busy</Response>"},
                            absl::Hours(1), absl::Now(), 5);
  ASSERT_THAT(written.status(), IsOk());
  EXPECT_TRUE(written->written);
  EXPECT_EQ(written->answer, "<Response/>");
  EXPECT_EQ(written->agents, std::vector<std::string>{"alice"});
  ASSERT_THAT(calls.Get(call.call_sid()).status(), IsOk());
  absl::StatusOr<std::vector<Call>> live = calls.ListLive(10);
  ASSERT_THAT(live.status(), IsOk());
  EXPECT_EQ(live->size(), 1u);
  absl::StatusOr<CallStore::VoiceCallState> retry =
      calls.LookupVoiceCall(call.call_sid(), absl::Now(), 5);
  ASSERT_THAT(retry.status(), IsOk());
  EXPECT_EQ(retry->answer, "<Response/>");
  // Twilio's retry with the same CallSid, past the lookup (two deliveries at once): the script
  // writes nothing and answers the first TwiML.
  call.set_status(livecall::v1::CALL_STATUS_IN_PROGRESS);
  absl::StatusOr<CallStore::VoiceCallWrite> again =
      calls.CreateAnsweredCall(call, "<Response>second</Response>", absl::Hours(1));
  ASSERT_THAT(again.status(), IsOk());
  EXPECT_FALSE(again->written);
  EXPECT_EQ(again->answer, "<Response/>");
  EXPECT_EQ(calls.Get(call.call_sid())->status(), livecall::v1::CALL_STATUS_RINGING);
  // Every key the script touches is in the call's slot (a cluster refuses the script otherwise).
  const std::string& sid = call.call_sid();
  for (const std::string& key :
       {absl::StrCat(CallKey(sid), ":voice-answer"), absl::StrCat(CallKey(sid), ":alias"),
        absl::StrCat(CallKey(sid), ":voice-seen"), absl::StrCat(CallKey(sid), ":events"),
        absl::StrCat(CallKey(sid), ":session-end")}) {
    EXPECT_EQ(RedisKeySlot(key), RedisKeySlot(CallKey(sid))) << key;
  }
}

}  // namespace
}  // namespace livecall::testing
