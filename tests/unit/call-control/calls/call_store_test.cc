#include "services/call-control/calls/call_store.h"

#include <google/protobuf/unknown_field_set.h>

#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/proto_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/call-control/calls/call_state_machine.h"
#include "tests/support/redis_fixture.h"
#include "tests/support/status_matchers.h"

namespace livecall::call_control {
namespace {

using ::livecall::testing::IsOk;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr char kCall[] = "CA00000000000000000000000000000001";
constexpr char kLeg[] = "CA0000000000000000000000000000000a";

class CallStoreTest : public livecall::testing::RedisFixture {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(RedisFixture::SetUp());
    calls_ = std::make_unique<CallStore>(*redis_, absl::Hours(1));
  }

  void PutCall(int n, const std::string& status, absl::Time created) {
    livecall::v1::Call call;
    call.set_call_sid(absl::StrCat("CA", std::string(30, '0'), absl::Dec(n, absl::kZeroPad2)));
    call.set_status(*ParseCallStatus(status));
    *call.mutable_created_at() = ToProtoTimestamp(created);
    ASSERT_THAT(calls_->Put(call, std::nullopt), IsOk());
  }

  // Twilio's retry of `call`'s /twilio/voice, now in progress, after it was answered with
  // "<Response>first</Response>": nothing is written and the first answer comes back.
  void ExpectRetryGetsTheFirstAnswer(livecall::v1::Call call) {
    call.set_status(livecall::v1::CALL_STATUS_IN_PROGRESS);
    absl::StatusOr<CallStore::VoiceCallWrite> again =
        calls_->CreateAnsweredCall(call, "<Response>second</Response>", absl::Hours(1));
    ASSERT_THAT(again.status(), IsOk());
    EXPECT_FALSE(again->written);
    EXPECT_EQ(again->answer, "<Response>first</Response>");
  }

  int64_t Live(absl::Time now) {
    absl::StatusOr<int64_t> count = calls_->CountLive(now);
    EXPECT_THAT(count.status(), IsOk());
    return count.ok() ? *count : -1;
  }

  std::unique_ptr<CallStore> calls_;
};

TEST_F(CallStoreTest, LiveCallsCountThoseNotEndedWithinTheTtl) {
  const absl::Time now = absl::Now();
  PutCall(1, "ringing", now);
  PutCall(2, "in-progress", now - absl::Minutes(30));
  PutCall(3, "completed", now);
  // Created two hours ago and never ended: its key has expired, its index entry is stale.
  PutCall(4, "in-progress", now - absl::Hours(2));
  EXPECT_EQ(Live(now), 2);
  // The stale entry is gone from the index, not only left out of the count.
  absl::StatusOr<RedisReply> size = redis_->Command({"ZCARD", kLiveCallsKey});
  ASSERT_THAT(size.status(), IsOk());
  EXPECT_EQ((*size)->integer, 2);

  PutCall(1, "completed", now);
  EXPECT_EQ(Live(now), 1);
}

TEST_F(CallStoreTest, AnAgentLegIsRecordedWithItsAliasAndTheIdentityItRings) {
  ASSERT_THAT(calls_->AddAgentLeg(kCall, kLeg, "alice"), IsOk());
  EXPECT_EQ(*calls_->Resolve(kLeg), kCall);
  EXPECT_THAT(*calls_->AgentLegs(kCall), ElementsAre(kLeg));
  EXPECT_TRUE(*calls_->WasAgentRung(kCall, "alice"));
  EXPECT_FALSE(*calls_->WasAgentRung(kCall, "bob"));
  EXPECT_FALSE(*calls_->WasAgentRung("CA00000000000000000000000000000002", "alice"));
  // All three keys live as long as the call.
  for (const std::string& key : {absl::StrCat("livecall:call:{", kCall, "}:legs"),
                                 absl::StrCat("livecall:call:{", kCall, "}:leg-agents"),
                                 absl::StrCat("livecall:call:{", kLeg, "}:alias")}) {
    absl::StatusOr<RedisReply> ttl = redis_->Command({"TTL", key});
    ASSERT_THAT(ttl.status(), IsOk());
    EXPECT_GT((*ttl)->integer, 3000) << key;
  }
}

TEST_F(CallStoreTest, AVoiceCallIsNewOnlyOnce) {
  EXPECT_TRUE(*calls_->MarkVoiceCallNew(kLeg));
  EXPECT_FALSE(*calls_->MarkVoiceCallNew(kLeg));
  ASSERT_THAT(calls_->ForgetVoiceCall(kLeg), IsOk());
  EXPECT_TRUE(*calls_->MarkVoiceCallNew(kLeg));
  // A sid that names a call, or is an alias of one, is not new either.
  PutCall(1, "in-progress", absl::Now());
  EXPECT_FALSE(*calls_->MarkVoiceCallNew(kCall));
  ASSERT_THAT(calls_->PutAlias("CA0000000000000000000000000000000b", kCall), IsOk());
  EXPECT_FALSE(*calls_->MarkVoiceCallNew("CA0000000000000000000000000000000b"));
}

// Ending a call's AI session is scheduled in the write that ends the call, once.
// A customer's /twilio/voice: one script writes the call, its event, its replay marker and its
// answer; the lookup then finds the answer, and a second write (a retry, a concurrent delivery)
// writes nothing and gets the first answer.
TEST_F(CallStoreTest, AnAnsweredVoiceCallIsWrittenOnceWithItsAnswer) {
  const absl::Time now = absl::Now();
  ASSERT_THAT(calls_->MarkAgentAvailable("alice", now + absl::Hours(1)), IsOk());
  ASSERT_THAT(calls_->MarkAgentAvailable("bob", now + absl::Hours(2)), IsOk());
  ASSERT_THAT(calls_->MarkAgentAvailable("gone", now - absl::Seconds(1)), IsOk());
  absl::StatusOr<CallStore::VoiceCallState> fresh = calls_->LookupVoiceCall(kCall, now, 5);
  ASSERT_THAT(fresh.status(), IsOk());
  EXPECT_FALSE(fresh->answer.has_value());
  EXPECT_FALSE(fresh->known);
  // Latest token first; an expired one is not rung.
  EXPECT_THAT(fresh->agents, ElementsAre("bob", "alice"));

  livecall::v1::Call call;
  call.set_call_sid(kCall);
  call.set_status(livecall::v1::CALL_STATUS_RINGING);
  *call.mutable_created_at() = ToProtoTimestamp(now);
  absl::StatusOr<CallStore::VoiceCallWrite> written =
      calls_->CreateAnsweredCall(call, "<Response>first</Response>", absl::Hours(1));
  ASSERT_THAT(written.status(), IsOk());
  EXPECT_TRUE(written->written);
  EXPECT_EQ(calls_->Get(kCall)->status(), livecall::v1::CALL_STATUS_RINGING);
  EXPECT_EQ(Live(now), 1);

  ASSERT_NO_FATAL_FAILURE(ExpectRetryGetsTheFirstAnswer(call));
  EXPECT_EQ(calls_->Get(kCall)->status(), livecall::v1::CALL_STATUS_RINGING);
  absl::StatusOr<RedisReply> events =
      redis_->Command({"XLEN", absl::StrCat("livecall:call:{", kCall, "}:events")});
  ASSERT_THAT(events.status(), IsOk());
  EXPECT_EQ((*events)->integer, 1);

  absl::StatusOr<CallStore::VoiceCallState> retry = calls_->LookupVoiceCall(kCall, now, 5);
  ASSERT_THAT(retry.status(), IsOk());
  EXPECT_EQ(retry->answer, "<Response>first</Response>");
  EXPECT_TRUE(retry->known);
  // Past the dedup window the answer is gone but the sid is still known (a replay).
  ASSERT_THAT(
      redis_->Command({"DEL", absl::StrCat("livecall:call:{", kCall, "}:voice-answer")}).status(),
      IsOk());
  absl::StatusOr<CallStore::VoiceCallState> replay = calls_->LookupVoiceCall(kCall, now, 0);
  ASSERT_THAT(replay.status(), IsOk());
  EXPECT_FALSE(replay->answer.has_value());
  EXPECT_TRUE(replay->known);
  EXPECT_THAT(replay->agents, IsEmpty());
}

// The redis-cli MONITOR lines of the commands run between Watch() and Lines(): those a client
// sent ("[0 127.0.0.1:port]") and those a script ran ("[0 lua]").
class RedisMonitor {
 public:
  explicit RedisMonitor(RedisPool& redis) : redis_(redis) {}

  void Watch() {
    absl::StatusOr<RedisPool::Connection> connection = redis_.OpenDedicatedConnection();
    ASSERT_THAT(connection.status(), IsOk());
    connection_ = *std::move(connection);
    const timeval timeout{.tv_sec = 5, .tv_usec = 0};
    ASSERT_EQ(redisSetTimeout(connection_.get(), timeout), REDIS_OK);
    auto* ok = static_cast<redisReply*>(redisCommand(connection_.get(), "MONITOR"));
    ASSERT_NE(ok, nullptr);
    freeReplyObject(ok);
  }

  // Up to the marker command this sends itself.
  std::vector<std::string> Lines() {
    const std::string marker = "end-of-monitored-commands";
    EXPECT_THAT(redis_.Command({"ECHO", marker}).status(), IsOk());
    std::vector<std::string> lines;
    for (;;) {
      void* reply = nullptr;
      if (redisGetReply(connection_.get(), &reply) != REDIS_OK || reply == nullptr) {
        ADD_FAILURE() << "MONITOR ended before the marker";
        return lines;
      }
      std::string line = ReplyString(*static_cast<redisReply*>(reply));
      freeReplyObject(reply);
      if (absl::StrContains(line, marker)) return lines;
      lines.push_back(std::move(line));
    }
  }

 private:
  RedisPool& redis_;
  RedisPool::Connection connection_;
};

int CountMatching(const std::vector<std::string>& lines, absl::string_view part) {
  int count = 0;
  for (const std::string& line : lines) count += absl::StrContains(line, part) ? 1 : 0;
  return count;
}

// On one server a customer's /twilio/voice is one command: the script reads the agents to ring,
// chooses its answer and writes the live floor's entry with the call, and a delivery that finds
// the sid answered writes nothing.
TEST_F(CallStoreTest, AnAnsweredVoiceCallIsOneCommandWithItsAgentsAndLiveFloorEntry) {
  livecall::v1::Call warm;
  warm.set_call_sid(kLeg);
  warm.set_status(livecall::v1::CALL_STATUS_RINGING);
  // The first use loads the script (NOSCRIPT, then EVAL); what is counted below is the usual case.
  ASSERT_TRUE(calls_->CreateAnsweredCall(warm, "<Response/>", absl::Hours(1))->written);
  const absl::Time now = absl::Now();
  ASSERT_THAT(calls_->MarkAgentAvailable("alice", now + absl::Hours(1)), IsOk());
  ASSERT_THAT(calls_->MarkAgentAvailable("bob", now + absl::Hours(2)), IsOk());

  livecall::v1::Call call;
  call.set_call_sid(kCall);
  call.set_status(livecall::v1::CALL_STATUS_RINGING);
  *call.mutable_created_at() = ToProtoTimestamp(now);
  RedisMonitor monitor(*redis_);
  ASSERT_NO_FATAL_FAILURE(monitor.Watch());
  absl::StatusOr<CallStore::VoiceCallWrite> written = calls_->AnswerVoiceCall(
      call, {.ring = "<Response>first</Response>", .busy = "<Response>busy</Response>"},
      absl::Hours(1), now, 5);
  ASSERT_THAT(written.status(), IsOk());
  EXPECT_TRUE(written->written);
  EXPECT_EQ(written->answer, "<Response>first</Response>");
  EXPECT_THAT(written->agents, ElementsAre("bob", "alice"));
  const std::vector<std::string> lines = monitor.Lines();
  EXPECT_EQ(lines.size() - CountMatching(lines, "[0 lua]"), 1u) << absl::StrJoin(lines, "\n");
  EXPECT_EQ(CountMatching(lines, "\"EVALSHA\""), 1) << absl::StrJoin(lines, "\n");
  EXPECT_EQ(CountMatching(lines, "\"ZREVRANGEBYSCORE\""), 1) << absl::StrJoin(lines, "\n");
  EXPECT_EQ(CountMatching(lines, "\"ZADD\""), 1) << absl::StrJoin(lines, "\n");
  // Only the call's own key marks it as answered: no voice-seen key is written.
  EXPECT_EQ(CountMatching(lines, ":voice-seen\" \"1\""), 0) << absl::StrJoin(lines, "\n");
  absl::StatusOr<std::vector<livecall::v1::Call>> live = calls_->ListLive(10);
  ASSERT_THAT(live.status(), IsOk());
  ASSERT_EQ(live->size(), 2u);
  EXPECT_EQ((*live)[0].call_sid(), kCall);

  // Twilio's retry (the same CallSid): the first answer, and nothing written at all.
  ASSERT_NO_FATAL_FAILURE(monitor.Watch());
  ASSERT_NO_FATAL_FAILURE(ExpectRetryGetsTheFirstAnswer(call));
  const std::vector<std::string> retried = monitor.Lines();
  EXPECT_EQ(CountMatching(retried, "\"ZADD\"") + CountMatching(retried, "\"SET\"") +
                CountMatching(retried, "\"XADD\"") + CountMatching(retried, "\"PUBLISH\""),
            0)
      << absl::StrJoin(retried, "\n");
  EXPECT_EQ(calls_->Get(kCall)->status(), livecall::v1::CALL_STATUS_RINGING);
  // Past the dedup window the call's own key keeps the sid known: a replay writes nothing.
  ASSERT_THAT(
      redis_->Command({"DEL", absl::StrCat("livecall:call:{", kCall, "}:voice-answer")}).status(),
      IsOk());
  absl::StatusOr<CallStore::VoiceCallState> replay = calls_->LookupVoiceCall(kCall, absl::Now(), 0);
  ASSERT_THAT(replay.status(), IsOk());
  EXPECT_FALSE(replay->answer.has_value());
  EXPECT_TRUE(replay->known);
  EXPECT_FALSE(*calls_->MarkVoiceCallNew(kCall));
  absl::StatusOr<CallStore::VoiceCallWrite> replayed =
      calls_->CreateAnsweredCall(call, "<Response>third</Response>", absl::Hours(1));
  ASSERT_THAT(replayed.status(), IsOk());
  EXPECT_FALSE(replayed->written);
  EXPECT_FALSE(replayed->answer.has_value());
}

// With no agent available the script keeps (and answers) the busy answer, and rings nobody; a
// retry gets it back.
TEST_F(CallStoreTest, AVoiceCallWithNoAgentAvailableKeepsTheBusyAnswer) {
  const absl::Time now = absl::Now();
  ASSERT_THAT(calls_->MarkAgentAvailable("gone", now - absl::Seconds(1)), IsOk());
  livecall::v1::Call call;
  call.set_call_sid(kCall);
  call.set_status(livecall::v1::CALL_STATUS_RINGING);
  *call.mutable_created_at() = ToProtoTimestamp(now);
  const CallStore::VoiceAnswers answers = {.ring = "<Response>ring</Response>",
                                           .busy = "<Response>first</Response>"};
  absl::StatusOr<CallStore::VoiceCallWrite> written =
      calls_->AnswerVoiceCall(call, answers, absl::Hours(1), now, 5);
  ASSERT_THAT(written.status(), IsOk());
  EXPECT_TRUE(written->written);
  EXPECT_EQ(written->answer, "<Response>first</Response>");
  EXPECT_THAT(written->agents, IsEmpty());
  ASSERT_NO_FATAL_FAILURE(ExpectRetryGetsTheFirstAnswer(call));
  // Agents that come online later change no answer given.
  ASSERT_THAT(calls_->MarkAgentAvailable("alice", now + absl::Hours(1)), IsOk());
  absl::StatusOr<CallStore::VoiceCallWrite> retry =
      calls_->AnswerVoiceCall(call, answers, absl::Hours(1), now, 5);
  ASSERT_THAT(retry.status(), IsOk());
  EXPECT_FALSE(retry->written);
  EXPECT_EQ(retry->answer, "<Response>first</Response>");
  EXPECT_THAT(retry->agents, IsEmpty());
}

// A call answered already ended (Twilio's CallStatus) leaves the live floor in the same script,
// and its AI session is put on the session-ending schedule there too.
TEST_F(CallStoreTest, AnAnsweredVoiceCallThatHasEndedIsNotOnTheLiveFloor) {
  livecall::v1::Call call;
  call.set_call_sid(kCall);
  call.set_session_id("session-1");
  call.set_status(livecall::v1::CALL_STATUS_COMPLETED);
  *call.mutable_created_at() = ToProtoTimestamp(absl::Now());
  ASSERT_THAT(redis_->Command({"ZADD", kLiveCallsKey, "1", kCall}).status(), IsOk());
  absl::StatusOr<CallStore::VoiceCallWrite> written =
      calls_->CreateAnsweredCall(call, "<Response/>", absl::Hours(1));
  ASSERT_THAT(written.status(), IsOk());
  EXPECT_TRUE(written->written);
  absl::StatusOr<RedisReply> live = redis_->Command({"ZSCORE", kLiveCallsKey, kCall});
  ASSERT_THAT(live.status(), IsOk());
  EXPECT_TRUE(IsNil(**live));
  EXPECT_THAT(*calls_->DueSessionEnds(absl::Now() + absl::Seconds(1), 10), ElementsAre(kCall));
  absl::StatusOr<RedisReply> marker =
      redis_->Command({"GET", absl::StrCat("livecall:call:{", kCall, "}:session-end")});
  ASSERT_THAT(marker.status(), IsOk());
  EXPECT_EQ(ReplyString(**marker), "1");
}

// A sid that is another call's leg is known: the script writes no call under it.
TEST_F(CallStoreTest, AnAnsweredVoiceCallIsNotWrittenUnderALegOfAnotherCall) {
  ASSERT_THAT(calls_->PutAlias(kLeg, kCall), IsOk());
  EXPECT_TRUE(calls_->LookupVoiceCall(kLeg, absl::Now(), 1)->known);
  livecall::v1::Call call;
  call.set_call_sid(kLeg);
  call.set_status(livecall::v1::CALL_STATUS_RINGING);
  absl::StatusOr<CallStore::VoiceCallWrite> written =
      calls_->CreateAnsweredCall(call, "<Response/>", absl::Hours(1));
  ASSERT_THAT(written.status(), IsOk());
  EXPECT_FALSE(written->written);
  EXPECT_FALSE(written->answer.has_value());
  EXPECT_THAT(calls_->Get(kLeg).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(CallStoreTest, TheWriteThatEndsACallSchedulesTheEndOfItsSession) {
  auto set = [&](const std::string& status, const std::string& session) {
    absl::StatusOr<livecall::v1::Call> updated =
        calls_->Update(kCall, [&](livecall::v1::Call& call) -> absl::StatusOr<bool> {
          if (!status.empty()) RecordCallStatus(call, *ParseCallStatus(status), absl::Now());
          if (!session.empty()) call.set_session_id(session);
          call.set_muted(!call.muted());  // Always a change.
          return true;
        });
    ASSERT_THAT(updated.status(), IsOk());
  };
  auto due = [&](absl::Time at) { return *calls_->DueSessionEnds(at, 10); };
  const absl::Time later = absl::Now() + absl::Hours(1);
  PutCall(1, "queued", absl::Now());
  ASSERT_NO_FATAL_FAILURE(set("in-progress", "S1"));
  EXPECT_THAT(due(later), IsEmpty());
  ASSERT_NO_FATAL_FAILURE(set("completed", ""));
  EXPECT_THAT(due(later), ElementsAre(kCall));

  // Claimed: one replica at a time, retried after 1 s, then 2 s, ...
  const absl::Time now = absl::Now() + absl::Seconds(1);
  EXPECT_EQ(*calls_->ClaimSessionEnd(kCall, now, absl::Seconds(1), absl::Seconds(3)), 1);
  EXPECT_EQ(*calls_->ClaimSessionEnd(kCall, now, absl::Seconds(1), absl::Seconds(3)), 0);
  EXPECT_THAT(due(now + absl::Milliseconds(999)), IsEmpty());
  EXPECT_EQ(
      *calls_->ClaimSessionEnd(kCall, now + absl::Seconds(1), absl::Seconds(1), absl::Seconds(3)),
      2);
  EXPECT_THAT(due(now + absl::Milliseconds(2999)), IsEmpty());
  EXPECT_EQ(
      *calls_->ClaimSessionEnd(kCall, now + absl::Seconds(3), absl::Seconds(1), absl::Seconds(3)),
      3);
  // ... never more than the maximum.
  EXPECT_THAT(due(now + absl::Seconds(6)), ElementsAre(kCall));

  // Confirmed: off the schedule, and a later write of the ended call does not put it back.
  ASSERT_THAT(calls_->FinishSessionEnd(kCall), IsOk());
  EXPECT_THAT(due(later), IsEmpty());
  ASSERT_NO_FATAL_FAILURE(set("", ""));
  EXPECT_THAT(due(later), IsEmpty());
  EXPECT_EQ(*calls_->ClaimSessionEnd(kCall, later, absl::Seconds(1), absl::Seconds(3)), 0);

  // A session recorded on a call that has ended already (it started while the call was ending)
  // is scheduled then.
  PutCall(2, "queued", absl::Now());
  const std::string other = "CA00000000000000000000000000000002";
  ASSERT_THAT(calls_
                  ->Update(other,
                           [](livecall::v1::Call& call) -> absl::StatusOr<bool> {
                             RecordCallStatus(call, livecall::v1::CALL_STATUS_NO_ANSWER,
                                              absl::Now());
                             return true;
                           })
                  .status(),
              IsOk());
  EXPECT_THAT(due(later), IsEmpty());
  ASSERT_THAT(calls_
                  ->Update(other,
                           [](livecall::v1::Call& call) -> absl::StatusOr<bool> {
                             call.set_session_id("S2");
                             return true;
                           })
                  .status(),
              IsOk());
  EXPECT_THAT(due(later), ElementsAre(other));
}

// The schedule is written before the call's script (they are in different Redis Cluster slots):
// an entry whose call has no session-end marker yet -- that write is under way, or it failed -- is
// put off, never taken or dropped; it is taken once the marker is there, or the call is gone.
TEST_F(CallStoreTest, AScheduledSessionEndWaitsForItsCallsMarker) {
  PutCall(1, "in-progress", absl::Now());
  const absl::Time now = absl::Now() + absl::Seconds(1);
  // What a writer that died between the two steps leaves behind.
  ASSERT_THAT(redis_->Command({"ZADD", kSessionsToEndKey, "0", kCall}).status(), IsOk());
  EXPECT_EQ(*calls_->ClaimSessionEnd(kCall, now, absl::Seconds(1), absl::Seconds(3)), 0);
  EXPECT_THAT(*calls_->DueSessionEnds(now, 10), IsEmpty());
  EXPECT_THAT(*calls_->DueSessionEnds(now + absl::Seconds(1), 10), ElementsAre(kCall));

  // The call ends (the write sets the marker): the entry is taken.
  ASSERT_THAT(calls_
                  ->Update(kCall,
                           [](livecall::v1::Call& call) -> absl::StatusOr<bool> {
                             call.set_session_id("S1");
                             RecordCallStatus(call, livecall::v1::CALL_STATUS_COMPLETED,
                                              absl::Now());
                             return true;
                           })
                  .status(),
              IsOk());
  EXPECT_EQ(
      *calls_->ClaimSessionEnd(kCall, now + absl::Seconds(1), absl::Seconds(1), absl::Seconds(3)),
      1);
  ASSERT_THAT(calls_->FinishSessionEnd(kCall), IsOk());
  EXPECT_THAT(*calls_->DueSessionEnds(now + absl::Hours(1), 10), IsEmpty());

  // An entry whose call has expired is taken, so the sweeper gives it up.
  const std::string gone = "CA00000000000000000000000000000009";
  ASSERT_THAT(redis_->Command({"ZADD", kSessionsToEndKey, "0", gone}).status(), IsOk());
  EXPECT_EQ(*calls_->ClaimSessionEnd(gone, now, absl::Seconds(1), absl::Seconds(3)), 1);
}

// The live index is written before a live call and cleaned after an ended one; its reader checks.
TEST_F(CallStoreTest, TheLiveFloorSkipsEntriesWithoutALiveCall) {
  const absl::Time now = absl::Now();
  PutCall(1, "ringing", now);
  PutCall(2, "completed", now);
  // An entry whose call is being written right now (young), and one left by a write that failed
  // long ago (old).
  ASSERT_THAT(redis_
                  ->Command({"ZADD", kLiveCallsKey, absl::StrCat(absl::ToUnixMillis(now)),
                             "CA00000000000000000000000000000003"})
                  .status(),
              IsOk());
  ASSERT_THAT(redis_
                  ->Command({"ZADD", kLiveCallsKey,
                             absl::StrCat(absl::ToUnixMillis(now - absl::Minutes(10))),
                             "CA00000000000000000000000000000004"})
                  .status(),
              IsOk());
  absl::StatusOr<std::vector<livecall::v1::Call>> live = calls_->ListLive(10);
  ASSERT_THAT(live.status(), IsOk());
  ASSERT_EQ(live->size(), 1u);
  EXPECT_EQ((*live)[0].call_sid(), kCall);
  absl::StatusOr<RedisReply> young =
      redis_->Command({"ZSCORE", kLiveCallsKey, "CA00000000000000000000000000000003"});
  ASSERT_THAT(young.status(), IsOk());
  EXPECT_FALSE(IsNil(**young));  // Kept: its call may still come.
  absl::StatusOr<RedisReply> old =
      redis_->Command({"ZSCORE", kLiveCallsKey, "CA00000000000000000000000000000004"});
  ASSERT_THAT(old.status(), IsOk());
  EXPECT_TRUE(IsNil(**old));  // Swept.
}

}  // namespace
}  // namespace livecall::call_control

namespace livecall::call_control {
namespace {

// A Call as the version before the enums stored it (status 4 and mode 21 as strings, the history
// event's status 1 as a string), written byte by byte from the old field numbers.
std::string PreviousVersionRecord(const std::string& status) {
  std::string bytes = std::string("\x0a\x22") + kCall;  // 1: call_sid (34 characters)
  bytes += "\x22" + std::string(1, static_cast<char>(status.size())) + status;  // 4: status
  bytes += std::string("\x52\x08\x0a\x06") + "queued";  // 10: history { 1: "queued" }
  bytes += std::string("\xaa\x01\x05") + "agent";       // 21: mode
  return bytes;
}

// A rolling deploy: records written by the previous version read after the upgrade.
TEST_F(CallStoreTest, ARecordOfThePreviousVersionReadsAndUpdates) {
  ASSERT_THAT(
      redis_->Command({"SET", CallKey(kCall), PreviousVersionRecord("in-progress")}).status(),
      IsOk());
  absl::StatusOr<livecall::v1::Call> read = calls_->Get(kCall);
  ASSERT_THAT(read.status(), IsOk());
  EXPECT_EQ(read->status(), livecall::v1::CALL_STATUS_IN_PROGRESS);
  EXPECT_EQ(read->mode(), livecall::v1::CALL_MODE_AGENT);
  ASSERT_EQ(read->history_size(), 1);
  EXPECT_EQ(read->history(0).status(), livecall::v1::CALL_STATUS_QUEUED);

  // The compare-and-set compares the bytes as stored, not the upgraded message's.
  absl::StatusOr<livecall::v1::Call> updated =
      calls_->Update(kCall, [](livecall::v1::Call& call) -> absl::StatusOr<bool> {
        RecordCallStatus(call, livecall::v1::CALL_STATUS_COMPLETED, absl::Now());
        return true;
      });
  ASSERT_THAT(updated.status(), IsOk());
  EXPECT_EQ(updated->status(), livecall::v1::CALL_STATUS_COMPLETED);
  EXPECT_EQ(calls_->Get(kCall)->status(), livecall::v1::CALL_STATUS_COMPLETED);

  // What this version wrote still carries the status as a string for the previous version.
  absl::StatusOr<RedisReply> stored = redis_->Command({"GET", CallKey(kCall)});
  ASSERT_THAT(stored.status(), IsOk());
  google::protobuf::UnknownFieldSet old_view;
  ASSERT_TRUE(old_view.ParseFromArray((*stored)->str, static_cast<int>((*stored)->len)));
  std::string old_status;
  for (int i = 0; i < old_view.field_count(); ++i) {
    if (old_view.field(i).number() == 4) old_status = old_view.field(i).length_delimited();
  }
  EXPECT_EQ(old_status, "completed");
}

}  // namespace
}  // namespace livecall::call_control
