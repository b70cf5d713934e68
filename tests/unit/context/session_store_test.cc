#include "services/context/session_store.h"

#include <thread>

#include "absl/strings/str_cat.h"
#include "common/enum_json.h"
#include "common/live_events.h"
#include "common/proto_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/context/session_wire.h"
#include "tests/support/proto_matchers.h"
#include "tests/support/redis_fixture.h"
#include "tests/support/status_matchers.h"

namespace livecall::context {
namespace {

using ::livecall::testing::EqualsProto;
using ::livecall::testing::IsOk;
using ::livecall::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

class SessionStoreTest : public livecall::testing::RedisFixture {
 protected:
  livecall::v1::Session NewSession() {
    livecall::v1::Session session;
    session.set_phone_number("+998901112233");
    session.set_greeting("Assalomu alaykum!");
    session.set_language("uz");
    livecall::v1::Turn* greeting = session.add_conversation();
    greeting->set_speaker("ai");
    greeting->set_text("Assalomu alaykum!");
    livecall::v1::Suggestion* suggestion = session.add_suggestions();
    suggestion->set_id("verify-identity-uz");
    suggestion->set_text("Shaxsni tasdiqlang");
    return session;
  }

  static livecall::v1::Turn Turn(const std::string& speaker, const std::string& text) {
    livecall::v1::Turn turn;
    turn.set_speaker(speaker);
    turn.set_text(text);
    return turn;
  }

  static google::protobuf::RepeatedPtrField<livecall::v1::Suggestion> Suggestions(
      std::initializer_list<std::string> ids) {
    google::protobuf::RepeatedPtrField<livecall::v1::Suggestion> suggestions;
    for (const std::string& id : ids) {
      livecall::v1::Suggestion* suggestion = suggestions.Add();
      suggestion->set_id(id);
      suggestion->set_text(id);
    }
    return suggestions;
  }
};

TEST_F(SessionStoreTest, CreatedSessionReadsBackWithAssignedIdStatusAndTimes) {
  SessionStore store(*redis_, absl::Hours(1));
  const absl::Time now = absl::FromUnixSeconds(1800000000);
  absl::StatusOr<livecall::v1::Session> created = store.Create(NewSession(), now);
  ASSERT_THAT(created.status(), IsOk());
  EXPECT_THAT(created->session_id(), MatchesRegex("ses_[0-9a-f]{32}"));
  EXPECT_EQ(created->status(), "active");
  EXPECT_EQ(created->created_at().seconds(), 1800000000);

  absl::StatusOr<livecall::v1::Session> read = store.Get(created->session_id());
  ASSERT_THAT(read.status(), IsOk());
  EXPECT_THAT(*read, EqualsProto(*created));
}

TEST_F(SessionStoreTest, EveryKeyHasATtlAndThePhoneIndexNamesTheSession) {
  SessionStore store(*redis_, absl::Hours(1));
  absl::StatusOr<livecall::v1::Session> created = store.Create(NewSession(), absl::Now());
  ASSERT_THAT(created.status(), IsOk());
  for (const std::string& key :
       {SessionKey(created->session_id()), TurnsKey(created->session_id()),
        SuggestionsKey(created->session_id()), PhoneSessionsKey("+998901112233")}) {
    absl::StatusOr<RedisReply> ttl = redis_->Command({"TTL", key});
    ASSERT_THAT(ttl.status(), IsOk());
    EXPECT_GT((*ttl)->integer, 3500) << key;
    EXPECT_LE((*ttl)->integer, 3600) << key;
  }
  absl::StatusOr<RedisReply> members =
      redis_->Command({"ZRANGE", PhoneSessionsKey("+998901112233"), "0", "-1"});
  ASSERT_THAT(members.status(), IsOk());
  ASSERT_EQ((*members)->elements, 1u);
  EXPECT_EQ(ReplyString(*(*members)->element[0]), created->session_id());
}

TEST_F(SessionStoreTest, AppendedTurnsAndLatestSuggestionsReadBackInOrder) {
  SessionStore store(*redis_, absl::Hours(1));
  absl::StatusOr<livecall::v1::Session> created = store.Create(NewSession(), absl::Now());
  ASSERT_THAT(created.status(), IsOk());
  EXPECT_EQ(*store.AppendTurn(created->session_id(), Turn("customer", "internetim ishlamayapti"),
                              Suggestions({"internet-outage-uz"})),
            2);
  EXPECT_EQ(*store.AppendTurn(created->session_id(), Turn("agent", "tekshiraman"),
                              Suggestions({"technician-visit-uz", "x"})),
            3);
  absl::StatusOr<livecall::v1::Session> read = store.Get(created->session_id());
  ASSERT_THAT(read.status(), IsOk());
  ASSERT_EQ(read->conversation_size(), 3);
  EXPECT_EQ(read->conversation(1).text(), "internetim ishlamayapti");
  EXPECT_EQ(read->conversation(2).speaker(), "agent");
  ASSERT_EQ(read->suggestions_size(), 2);
  EXPECT_EQ(read->suggestions(0).id(), "technician-visit-uz");
}

TEST_F(SessionStoreTest, ConcurrentAppendsFromTwoReplicasLoseNoTurn) {
  SessionStore replica_a(*redis_, absl::Hours(1));
  RedisPool other_pool({.url = redis_server_.parsed_url()});
  SessionStore replica_b(other_pool, absl::Hours(1));
  absl::StatusOr<livecall::v1::Session> created = replica_a.Create(NewSession(), absl::Now());
  ASSERT_THAT(created.status(), IsOk());
  auto append_many = [&](SessionStore& store, const std::string& who) {
    for (int i = 0; i < 50; ++i) {
      ASSERT_THAT(store
                      .AppendTurn(created->session_id(), Turn("customer", who + std::to_string(i)),
                                  Suggestions({who}))
                      .status(),
                  IsOk());
    }
  };
  std::thread a([&] { append_many(replica_a, "a"); });
  std::thread b([&] { append_many(replica_b, "b"); });
  a.join();
  b.join();
  absl::StatusOr<livecall::v1::Session> read = replica_a.Get(created->session_id());
  ASSERT_THAT(read.status(), IsOk());
  EXPECT_EQ(read->conversation_size(), 101);
  // Each replica's turns keep their own order.
  int last_a = -1;
  for (const livecall::v1::Turn& turn : read->conversation()) {
    if (turn.text()[0] != 'a') continue;
    int n = std::stoi(turn.text().substr(1));
    EXPECT_EQ(n, last_a + 1);
    last_a = n;
  }
  EXPECT_EQ(last_a, 49);
}

TEST_F(SessionStoreTest, ActiveSessionsCountCreatedOnesUntilTheyEndOrOutliveTheTtl) {
  SessionStore store(*redis_, absl::Hours(1));
  const absl::Time now = absl::Now();
  auto active = [&] {
    absl::StatusOr<int64_t> count = store.CountActive(now);
    EXPECT_THAT(count.status(), IsOk());
    return count.ok() ? *count : -1;
  };
  absl::StatusOr<livecall::v1::Session> first = store.Create(NewSession(), now);
  absl::StatusOr<livecall::v1::Session> second = store.Create(NewSession(), now);
  // Created two hours ago and never ended: its keys have expired, its index entry is stale.
  absl::StatusOr<livecall::v1::Session> stale = store.Create(NewSession(), now - absl::Hours(2));
  ASSERT_THAT(first.status(), IsOk());
  ASSERT_THAT(second.status(), IsOk());
  ASSERT_THAT(stale.status(), IsOk());
  EXPECT_EQ(active(), 2);
  absl::StatusOr<RedisReply> stale_gone =
      redis_->Command({"ZSCORE", kActiveSessionsKey, stale->session_id()});
  ASSERT_THAT(stale_gone.status(), IsOk());
  EXPECT_TRUE(IsNil(**stale_gone));

  ASSERT_THAT(store.End(first->session_id(), {}, "resolved", nullptr, now).status(), IsOk());
  EXPECT_EQ(active(), 1);
  // Ending again changes nothing.
  EXPECT_THAT(store.End(first->session_id(), {}, "resolved", nullptr, now),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(active(), 1);
}

TEST_F(SessionStoreTest, EndedSessionKeepsItsSummaryAndTakesNoMoreTurns) {
  SessionStore store(*redis_, absl::Hours(1));
  absl::StatusOr<livecall::v1::Session> created = store.Create(NewSession(), absl::Now());
  ASSERT_THAT(created.status(), IsOk());
  livecall::v1::Summary summary;
  summary.set_text("Mijoz: Dilshod.");
  summary.set_source("embedded");
  absl::StatusOr<livecall::v1::Session> ended =
      store.End(created->session_id(), summary, "resolved", nullptr, absl::Now());
  ASSERT_THAT(ended.status(), IsOk());
  EXPECT_EQ(ended->status(), "ended");
  EXPECT_EQ(ended->summary().text(), "Mijoz: Dilshod.");
  EXPECT_EQ(ended->disposition(), "resolved");
  EXPECT_GT(ended->ended_at().seconds(), 0);
  EXPECT_EQ(ended->conversation_size(), 1);
  EXPECT_THAT(store.AppendTurn(created->session_id(), Turn("customer", "salom"), {}),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(store.End(created->session_id(), summary, "resolved", nullptr, absl::Now()),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

// The types of the events in a stream, oldest first, and each event's JSON.
std::vector<std::string> EventTypes(RedisPool& redis, const std::string& stream,
                                    std::vector<std::string>* data = nullptr) {
  std::vector<std::string> types;
  absl::StatusOr<RedisReply> entries = redis.Command({"XRANGE", stream, "-", "+"});
  EXPECT_THAT(entries.status(), IsOk());
  for (size_t i = 0; i < (*entries)->elements; ++i) {
    const redisReply& fields = *(*entries)->element[i]->element[1];
    for (size_t f = 0; f + 1 < fields.elements; f += 2) {
      if (ReplyString(*fields.element[f]) == "type") {
        types.push_back(ReplyString(*fields.element[f + 1]));
      }
      if (ReplyString(*fields.element[f]) == "data" && data != nullptr) {
        data->push_back(ReplyString(*fields.element[f + 1]));
      }
    }
  }
  return types;
}

TEST_F(SessionStoreTest, EveryChangeIsPublishedToTheSessionsAndTheCallsEventStream) {
  SessionStore store(*redis_, absl::Hours(1));
  livecall::v1::Session session = NewSession();
  session.set_call_sid("CA0123456789abcdef0123456789abcdef");
  absl::StatusOr<livecall::v1::Session> created = store.Create(session, absl::Now());
  ASSERT_THAT(created.status(), IsOk());
  ASSERT_THAT(store
                  .AppendTurn(created->session_id(), Turn("customer", "internet yo'q"),
                              Suggestions({"internet-outage-uz"}))
                  .status(),
              IsOk());
  livecall::v1::Summary summary;
  summary.set_text("done");
  ASSERT_THAT(store.End(created->session_id(), summary, "resolved", nullptr, absl::Now()).status(),
              IsOk());
  const std::vector<std::string> expected = {"session.started", "transcript", "suggestions",
                                             "summary"};
  std::vector<std::string> data;
  EXPECT_EQ(EventTypes(*redis_, SessionEventsKey(created->session_id()), &data), expected);
  EXPECT_EQ(EventTypes(*redis_, CallEventsKey(session.call_sid())), expected);
  ASSERT_EQ(data.size(), 4u);
  EXPECT_THAT(data[1], HasSubstr("\"text\":\"internet yo'q\""));
  EXPECT_THAT(data[2], HasSubstr("internet-outage-uz"));
  EXPECT_THAT(data[3], HasSubstr("\"type\":\"summary\""));
  absl::StatusOr<RedisReply> ttl =
      redis_->Command({"TTL", SessionEventsKey(created->session_id())});
  EXPECT_GT((*ttl)->integer, 0);
}

TEST_F(SessionStoreTest, EveryWriteToASessionBumpsTheVersionEveryReadAnswers) {
  SessionStore store(*redis_, absl::Hours(1));
  int64_t version = -1;
  livecall::v1::Session unowned = NewSession();
  absl::StatusOr<livecall::v1::Session> created = store.Create(unowned, absl::Now(), &version);
  ASSERT_THAT(created.status(), IsOk());
  EXPECT_EQ(version, 1);
  const std::string& id = created->session_id();
  int64_t read = -1;
  ASSERT_THAT(store.Get(id, &read).status(), IsOk());
  EXPECT_EQ(read, 1);

  int64_t appended = -1;
  ASSERT_THAT(store.AppendTurn(id, Turn("customer", "salom"), {}, 0, &appended).status(), IsOk());
  EXPECT_EQ(appended, 2);
  ASSERT_THAT(store.Get(id, &read).status(), IsOk());
  EXPECT_EQ(read, 2);

  int64_t assigned = -1;
  ASSERT_THAT(store.Assign(id, "agent_7", absl::Now(), &assigned).status(), IsOk());
  EXPECT_EQ(assigned, 3);
  // Assigning it to its owner again writes nothing: the version stays.
  ASSERT_THAT(store.Assign(id, "agent_7", absl::Now(), &assigned).status(), IsOk());
  EXPECT_EQ(assigned, 3);
  ASSERT_THAT(store.Get(id, &read).status(), IsOk());
  EXPECT_EQ(read, 3);

  // A concurrent start for the call answers the stored session with its version.
  livecall::v1::Session beside_call = NewSession();
  beside_call.set_call_sid("CA0123456789abcdef0123456789abcdef");
  absl::StatusOr<livecall::v1::Session> first = store.Create(beside_call, absl::Now());
  ASSERT_THAT(first.status(), IsOk());
  ASSERT_THAT(store.AppendTurn(first->session_id(), Turn("agent", "salom"), {}).status(), IsOk());
  int64_t again = -1;
  absl::StatusOr<livecall::v1::Session> second = store.Create(beside_call, absl::Now(), &again);
  ASSERT_THAT(second.status(), IsOk());
  EXPECT_EQ(second->session_id(), first->session_id());
  EXPECT_EQ(again, 2);

  livecall::v1::Summary summary;
  summary.set_text("done");
  ASSERT_THAT(store.End(id, summary, "resolved", nullptr, absl::Now()).status(), IsOk());
  ASSERT_THAT(store.Get(id, &read).status(), IsOk());
  EXPECT_EQ(read, 4);
}

TEST_F(SessionStoreTest, AnAppendAtAnotherVersionThanExpectedIsRefusedAndWritesNothing) {
  SessionStore store(*redis_, absl::Hours(1));
  livecall::v1::Session session = NewSession();
  session.set_call_sid("CA0123456789abcdef0123456789abcdef");
  absl::StatusOr<livecall::v1::Session> created = store.Create(session, absl::Now());
  ASSERT_THAT(created.status(), IsOk());
  const std::string& id = created->session_id();
  int64_t version = -1;
  ASSERT_THAT(
      store.AppendTurn(id, Turn("customer", "internet yo'q"), Suggestions({"a"}), 1, &version),
      IsOk());
  EXPECT_EQ(version, 2);

  // Another writer appended at 2 meanwhile: an append expecting 1 is refused.
  EXPECT_THAT(
      store.AppendTurn(id, Turn("agent", "stale"), Suggestions({"b"}), 1, &version),
      StatusIs(absl::StatusCode::kAborted, HasSubstr("is at version 2, not the expected 1")));
  absl::StatusOr<livecall::v1::Session> read = store.Get(id, &version);
  ASSERT_THAT(read.status(), IsOk());
  EXPECT_EQ(version, 2);
  ASSERT_EQ(read->conversation_size(), 2);
  EXPECT_EQ(read->conversation(1).text(), "internet yo'q");
  ASSERT_EQ(read->suggestions_size(), 1);
  EXPECT_EQ(read->suggestions(0).id(), "a");
  const std::vector<std::string> expected = {"session.started", "transcript", "suggestions"};
  EXPECT_EQ(EventTypes(*redis_, SessionEventsKey(id)), expected);
  EXPECT_EQ(EventTypes(*redis_, CallEventsKey(session.call_sid())), expected);

  // At the expected version it is written.
  ASSERT_THAT(store.AppendTurn(id, Turn("agent", "fresh"), Suggestions({"b"}), 2, &version),
              IsOk());
  EXPECT_EQ(version, 3);

  // Ended: the end moved the version, so an append expecting the old one is refused; one
  // expecting the ended session's version learns it has ended; no expectation, as before.
  livecall::v1::Summary summary;
  summary.set_text("done");
  ASSERT_THAT(store.End(id, summary, "resolved", nullptr, absl::Now()).status(), IsOk());
  EXPECT_THAT(store.AppendTurn(id, Turn("agent", "late"), {}, 3),
              StatusIs(absl::StatusCode::kAborted));
  EXPECT_THAT(store.AppendTurn(id, Turn("agent", "late"), {}, 4),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(store.AppendTurn(id, Turn("agent", "late"), {}),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  // Gone and malformed: NOT_FOUND whatever the version; a negative version is refused.
  EXPECT_THAT(store.AppendTurn("ses_0123456789abcdef0123456789abcdef", Turn("agent", "x"), {}, 3),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store.AppendTurn(id, Turn("agent", "x"), {}, -1),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(SessionStoreTest, ACallKeepsItsOneSessionUntilThatSessionIsGone) {
  SessionStore store(*redis_, absl::Hours(1));
  livecall::v1::Session session = NewSession();
  session.set_call_sid("CA0123456789abcdef0123456789abcdef");
  absl::StatusOr<livecall::v1::Session> first = store.Create(session, absl::Now());
  ASSERT_THAT(first.status(), IsOk());
  ASSERT_THAT(store.AppendTurn(first->session_id(), Turn("customer", "salom"), {}).status(),
              IsOk());
  // Another start for the call writes nothing and answers the session as stored.
  session.set_greeting("another greeting");
  absl::StatusOr<livecall::v1::Session> again = store.Create(session, absl::Now());
  ASSERT_THAT(again.status(), IsOk());
  EXPECT_EQ(again->session_id(), first->session_id());
  EXPECT_EQ(again->greeting(), "Assalomu alaykum!");
  EXPECT_EQ(again->conversation_size(), 2);
  EXPECT_EQ(EventTypes(*redis_, CallEventsKey(session.call_sid())),
            (std::vector<std::string>{"session.started", "transcript", "suggestions"}));
  absl::StatusOr<RedisReply> ttl = redis_->Command({"TTL", CallSessionKey(session.call_sid())});
  EXPECT_GT((*ttl)->integer, 0);
  // Its session expired (the index outlived it): the next start makes a new one.
  ASSERT_THAT(redis_->Command({"DEL", SessionKey(first->session_id())}).status(), IsOk());
  absl::StatusOr<livecall::v1::Session> renewed = store.Create(session, absl::Now());
  ASSERT_THAT(renewed.status(), IsOk());
  EXPECT_NE(renewed->session_id(), first->session_id());
  EXPECT_EQ(store.Create(session, absl::Now())->session_id(), renewed->session_id());
}

// How many times Redis has run `command` (lowercase; those run by scripts included).
int64_t CommandCalls(RedisPool& redis, const std::string& command) {
  absl::StatusOr<RedisReply> info = redis.Command({"INFO", "commandstats"});
  if (!info.ok()) return -1;
  const std::string text = ReplyString(**info);
  const std::string prefix = absl::StrCat("cmdstat_", command, ":calls=");
  const size_t at = text.find(prefix);
  if (at == std::string::npos) return 0;
  return std::stoll(text.substr(at + prefix.size()));
}
int64_t HgetCalls(RedisPool& redis) { return CommandCalls(redis, "hget"); }

// A session's call never changes, so a replica asks Redis for it once: the turns after the first
// cost no extra round trip (the script's own HGET of the status is the same for every turn).
TEST_F(SessionStoreTest, AReplicaAsksForASessionsCallOnlyOnce) {
  SessionStore creator(*redis_, absl::Hours(1));
  livecall::v1::Session session = NewSession();
  session.set_call_sid("CA0123456789abcdef0123456789abcdef");
  absl::StatusOr<livecall::v1::Session> created = creator.Create(session, absl::Now());
  ASSERT_THAT(created.status(), IsOk());
  const std::string& id = created->session_id();

  int64_t before = HgetCalls(*redis_);
  ASSERT_THAT(creator.AppendTurn(id, Turn("customer", "salom"), {}).status(), IsOk());
  const int64_t per_known_turn = HgetCalls(*redis_) - before;

  SessionStore other_replica(*redis_, absl::Hours(1));
  before = HgetCalls(*redis_);
  ASSERT_THAT(other_replica.AppendTurn(id, Turn("customer", "internet"), {}).status(), IsOk());
  EXPECT_EQ(HgetCalls(*redis_) - before, per_known_turn + 1);
  before = HgetCalls(*redis_);
  ASSERT_THAT(other_replica.AppendTurn(id, Turn("customer", "yo'q"), {}).status(), IsOk());
  EXPECT_EQ(HgetCalls(*redis_) - before, per_known_turn);

  // Every turn still went to the call's stream.
  EXPECT_EQ(EventTypes(*redis_, CallEventsKey(session.call_sid())),
            (std::vector<std::string>{"session.started", "transcript", "suggestions", "transcript",
                                      "transcript"}));
  // A known session that is gone (expired) is still NOT_FOUND: the script checks it.
  ASSERT_THAT(redis_->Command({"DEL", SessionKey(id)}).status(), IsOk());
  EXPECT_THAT(other_replica.AppendTurn(id, Turn("customer", "alo"), {}),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(
      other_replica.AppendTurn("ses_00000000000000000000000000000000", Turn("customer", "alo"), {}),
      StatusIs(absl::StatusCode::kNotFound));
}

// A turn with new suggestions appends two events to each stream but notifies each stream once:
// readers XREAD all that is new on one notification. The session's own TTLs, set moments ago, are
// not set again; the call's stream (call-control writes it too, with TTLs of its own) is.
TEST_F(SessionStoreTest, ATurnSetsEachTtlAndAnnouncesEachStreamOnce) {
  SessionStore store(*redis_, absl::Hours(1));
  livecall::v1::Session session = NewSession();
  session.set_call_sid("CA00112233445566778899aabbccddeeff");
  absl::StatusOr<livecall::v1::Session> created = store.Create(session, absl::Now());
  ASSERT_THAT(created.status(), IsOk());
  const std::string& id = created->session_id();
  const int64_t expires = CommandCalls(*redis_, "expire");
  const int64_t publishes = CommandCalls(*redis_, "publish");
  ASSERT_THAT(
      store.AppendTurn(id, Turn("customer", "internet yo'q"), Suggestions({"restart"})).status(),
      IsOk());
  // The call's stream only (the suggestions are a field of the header, which keeps its TTL).
  EXPECT_EQ(CommandCalls(*redis_, "expire") - expires, 1);
  EXPECT_EQ(CommandCalls(*redis_, "publish") - publishes, 2);
  const std::vector<std::string> expected = {"session.started", "transcript", "suggestions"};
  EXPECT_EQ(EventTypes(*redis_, SessionEventsKey(id)), expected);
  EXPECT_EQ(EventTypes(*redis_, CallEventsKey(session.call_sid())), expected);
  for (const std::string& key : {SessionKey(id), TurnsKey(id), SuggestionsKey(id),
                                 SessionEventsKey(id), CallEventsKey(session.call_sid())}) {
    absl::StatusOr<RedisReply> ttl = redis_->Command({"TTL", key});
    ASSERT_THAT(ttl.status(), IsOk());
    EXPECT_GT((*ttl)->integer, 3500) << key;
  }
}

// Once the session's TTL has run down past the refresh window, a turn sets every key's TTL again,
// all of them together; a turn before that leaves them as they are (they expire at most the window
// sooner than when every turn refreshed them).
TEST_F(SessionStoreTest, ATurnRefreshesTheSessionsTtlsOnceTheyRanDownByTheWindow) {
  SessionStore store(*redis_, absl::Hours(1));
  livecall::v1::Session session = NewSession();
  session.set_call_sid("CA0123456789abcdef0123456789abcdef");
  absl::StatusOr<livecall::v1::Session> created = store.Create(session, absl::Now());
  ASSERT_THAT(created.status(), IsOk());
  const std::string& id = created->session_id();
  const std::vector<std::string> own = {SessionKey(id), TurnsKey(id), SessionEventsKey(id)};
  auto ttl_ms = [&](const std::string& key) {
    absl::StatusOr<RedisReply> ttl = redis_->Command({"PTTL", key});
    return ttl.ok() ? (*ttl)->integer : -100;
  };
  // Run down to just inside the window: left alone.
  const int64_t inside =
      absl::ToInt64Milliseconds(absl::Hours(1) - TtlRefreshWindow(absl::Hours(1))) + 5000;
  for (const std::string& key : own) {
    ASSERT_THAT(redis_->Command({"PEXPIRE", key, absl::StrCat(inside)}).status(), IsOk());
  }
  ASSERT_THAT(store.AppendTurn(id, Turn("customer", "salom"), Suggestions({"a"})).status(), IsOk());
  for (const std::string& key : own) {
    EXPECT_LE(ttl_ms(key), inside) << key;
    EXPECT_GT(ttl_ms(key), inside - 5000) << key;
  }
  EXPECT_GT(ttl_ms(CallEventsKey(session.call_sid())), inside) << "set by every turn";
  // Past the window: every key gets the whole TTL again.
  const int64_t past = absl::ToInt64Milliseconds(absl::Minutes(30));
  for (const std::string& key : own) {
    ASSERT_THAT(redis_->Command({"PEXPIRE", key, absl::StrCat(past)}).status(), IsOk());
  }
  ASSERT_THAT(store.AppendTurn(id, Turn("agent", "eshitaman"), Suggestions({"b"})).status(),
              IsOk());
  for (const std::string& key : own) {
    EXPECT_GT(ttl_ms(key), absl::ToInt64Milliseconds(absl::Minutes(59))) << key;
    EXPECT_LE(ttl_ms(key), absl::ToInt64Milliseconds(absl::Hours(1))) << key;
  }
  // A session key without a TTL (written by hand, or by an older version) gets one too.
  ASSERT_THAT(redis_->Command({"PERSIST", SessionKey(id)}).status(), IsOk());
  ASSERT_THAT(store.AppendTurn(id, Turn("customer", "rahmat"), {}).status(), IsOk());
  EXPECT_GT(ttl_ms(SessionKey(id)), absl::ToInt64Milliseconds(absl::Minutes(59)));
}

// A session made without turns gets its turns list from its first turn, with the session's TTL
// then, however fresh the rest of the session is.
TEST_F(SessionStoreTest, TheTurnsListAFirstTurnMakesGetsATtl) {
  SessionStore store(*redis_, absl::Hours(1));
  livecall::v1::Session session = NewSession();
  session.clear_conversation();
  absl::StatusOr<livecall::v1::Session> created = store.Create(session, absl::Now());
  ASSERT_THAT(created.status(), IsOk());
  const std::string turns = TurnsKey(created->session_id());
  absl::StatusOr<RedisReply> exists = redis_->Command({"EXISTS", turns});
  ASSERT_THAT(exists.status(), IsOk());
  ASSERT_EQ((*exists)->integer, 0);
  ASSERT_THAT(store.AppendTurn(created->session_id(), Turn("customer", "salom"), {}).status(),
              IsOk());
  absl::StatusOr<RedisReply> ttl = redis_->Command({"TTL", turns});
  ASSERT_THAT(ttl.status(), IsOk());
  EXPECT_GT((*ttl)->integer, 3500);
  EXPECT_LE((*ttl)->integer, 3600);
}

TEST(TtlRefreshWindowTest, IsATenthOfTheTtlAndAtMostAMinute) {
  EXPECT_EQ(TtlRefreshWindow(absl::Seconds(60)), absl::Seconds(6));
  EXPECT_EQ(TtlRefreshWindow(absl::Minutes(5)), absl::Seconds(30));
  EXPECT_EQ(TtlRefreshWindow(absl::Hours(24)), kMaxTtlRefreshWindow);
}

// What Create stores and publishes is the session as before: the header (the session without its
// turns and suggestions) as its wire bytes and inside the session.started event as PrintJson
// prints it, the suggestions with their kinds' legacy strings.
// Beside a call and without one alike.
TEST_F(SessionStoreTest, CreateStoresAndPublishesTheHeaderAndSuggestionsAsTheLibraryWritesThem) {
  for (const std::string call_sid : {"CA77777777777777777777777777777777", ""}) {
    SCOPED_TRACE(call_sid.empty() ? "without a call" : "beside a call");
    SessionStore store(*redis_, absl::Hours(1));
    livecall::v1::Session session = NewSession();
    session.set_call_sid(call_sid);
    (*session.mutable_customer()->mutable_attributes())["plan"] = "Uy interneti 100 Mbit/s";
    session.mutable_customer()->set_name("Dilshod Karimov");
    session.mutable_suggestions(0)->set_kind(livecall::v1::SUGGESTION_KIND_WARNING);
    session.mutable_suggestions(0)->set_confidence(0.75f);
    const absl::Time now = absl::FromUnixMillis(1800000000123);
    absl::StatusOr<livecall::v1::Session> created = store.Create(session, now);
    ASSERT_THAT(created.status(), IsOk());
    const std::string& id = created->session_id();

    livecall::v1::Session header = *created;
    header.clear_conversation();
    header.clear_suggestions();
    absl::StatusOr<RedisReply> stored =
        redis_->Command({"HMGET", SessionKey(id), "proto", "status", "call_sid", "version",
                         "outbox_id", "suggestions"});
    ASSERT_THAT(stored.status(), IsOk());
    ASSERT_EQ((*stored)->elements, 6u);
    EXPECT_EQ(ReplyString(*(*stored)->element[0]), header.SerializeAsString());
    EXPECT_EQ(ReplyString(*(*stored)->element[1]), "active");
    EXPECT_EQ(ReplyString(*(*stored)->element[2]), call_sid);
    EXPECT_EQ(ReplyString(*(*stored)->element[3]), "1");
    EXPECT_TRUE(IsNil(*(*stored)->element[4]));
    absl::StatusOr<RedisReply> fields = redis_->Command({"HLEN", SessionKey(id)});
    ASSERT_THAT(fields.status(), IsOk());
    EXPECT_EQ((*fields)->integer, 5);

    livecall::v1::SuggestionList suggestions;
    *suggestions.mutable_suggestions() = created->suggestions();
    EXPECT_EQ(ReplyString(*(*stored)->element[5]), SerializeWithLegacyEnumStrings(suggestions));
    absl::StatusOr<RedisReply> turns = redis_->Command({"LRANGE", TurnsKey(id), "0", "-1"});
    ASSERT_THAT(turns.status(), IsOk());
    ASSERT_EQ((*turns)->elements, 1u);
    EXPECT_EQ(ReplyString(*(*turns)->element[0]), session.conversation(0).SerializeAsString());

    livecall::v1::LiveEvent started;
    started.set_type("session.started");
    started.set_session_id(id);
    started.set_call_sid(session.call_sid());
    *started.mutable_at() = ToProtoTimestamp(now);
    *started.mutable_session() = header;
    std::vector<std::string> streams = {SessionEventsKey(id)};
    if (!call_sid.empty()) streams.push_back(CallEventsKey(call_sid));
    for (const std::string& stream : streams) {
      std::vector<std::string> data;
      ASSERT_EQ(EventTypes(*redis_, stream, &data), std::vector<std::string>{"session.started"});
      EXPECT_EQ(data[0], *PrintJson(started)) << stream;
    }
  }
}

TEST_F(SessionStoreTest, ASessionCreatedWithSeveralTurnsBesideACallKeepsThemAndItsTtls) {
  SessionStore store(*redis_, absl::Hours(1));
  livecall::v1::Session session = NewSession();
  session.set_call_sid("CAfedcba9876543210fedcba9876543210");
  *session.add_conversation() = Turn("customer", "salom");
  *session.add_conversation() = Turn("ai", "qanday yordam bera olaman?");
  absl::StatusOr<livecall::v1::Session> created = store.Create(session, absl::Now());
  ASSERT_THAT(created.status(), IsOk());
  SessionStore other_replica(*redis_, absl::Hours(1));
  absl::StatusOr<livecall::v1::Session> read = other_replica.Get(created->session_id());
  ASSERT_THAT(read.status(), IsOk());
  EXPECT_THAT(*read, EqualsProto(*created));
  ASSERT_EQ(read->conversation_size(), 3);
  EXPECT_EQ(read->conversation(2).text(), "qanday yordam bera olaman?");
  for (const std::string& key :
       {SessionKey(created->session_id()), TurnsKey(created->session_id()),
        SuggestionsKey(created->session_id()), SessionEventsKey(created->session_id()),
        CallEventsKey(session.call_sid()), CallSessionKey(session.call_sid())}) {
    absl::StatusOr<RedisReply> ttl = redis_->Command({"TTL", key});
    ASSERT_THAT(ttl.status(), IsOk());
    EXPECT_GT((*ttl)->integer, 3500) << key;
    EXPECT_LE((*ttl)->integer, 3600) << key;
  }
  absl::StatusOr<RedisReply> index = redis_->Command({"GET", CallSessionKey(session.call_sid())});
  ASSERT_THAT(index.status(), IsOk());
  EXPECT_EQ(ReplyString(**index), created->session_id());
}

TEST_F(SessionStoreTest, UnchangedSuggestionsAreNotPublishedAgain) {
  SessionStore store(*redis_, absl::Hours(1));
  absl::StatusOr<livecall::v1::Session> created = store.Create(NewSession(), absl::Now());
  ASSERT_THAT(created.status(), IsOk());
  for (const char* text : {"internet yo'q", "hali ham yo'q"}) {
    ASSERT_THAT(store
                    .AppendTurn(created->session_id(), Turn("customer", text),
                                Suggestions({"internet-outage-uz"}))
                    .status(),
                IsOk());
  }
  const std::vector<std::string> expected = {"session.started", "transcript", "suggestions",
                                             "transcript"};
  EXPECT_EQ(EventTypes(*redis_, SessionEventsKey(created->session_id())), expected);
  EXPECT_EQ(store.Get(created->session_id())->suggestions(0).id(), "internet-outage-uz");
}

// A replica builds no suggestions event for the suggestions it stored last (one script run, no
// event); when another replica changed them in between, the script says so before writing anything
// and the turn goes again with the event, as a turn whose suggestions changed.
TEST_F(SessionStoreTest, SuggestionsAnotherReplicaChangedArePublishedAgain) {
  SessionStore store(*redis_, absl::Hours(1));
  SessionStore other_replica(*redis_, absl::Hours(1));
  livecall::v1::Session session = NewSession();
  session.set_call_sid("CAabcdefabcdefabcdefabcdefabcdefab");
  absl::StatusOr<livecall::v1::Session> created = store.Create(session, absl::Now());
  ASSERT_THAT(created.status(), IsOk());
  const std::string& id = created->session_id();
  // Redis has the script (a first run sends its source too).
  absl::StatusOr<livecall::v1::Session> warm = store.Create(NewSession(), absl::Now());
  ASSERT_THAT(warm.status(), IsOk());
  ASSERT_THAT(store.AppendTurn(warm->session_id(), Turn("customer", "alo"), {}).status(), IsOk());
  // The suggestions it was created with, again: no event, one script run.
  const int64_t runs = CommandCalls(*redis_, "evalsha") + CommandCalls(*redis_, "eval");
  ASSERT_THAT(store.AppendTurn(id, Turn("customer", "salom"), created->suggestions()).status(),
              IsOk());
  EXPECT_EQ(CommandCalls(*redis_, "evalsha") + CommandCalls(*redis_, "eval") - runs, 1);
  ASSERT_THAT(other_replica.AppendTurn(id, Turn("agent", "eshitaman"), Suggestions({"b"})).status(),
              IsOk());
  int64_t version = 0;
  const int64_t before_stale = CommandCalls(*redis_, "evalsha");
  ASSERT_THAT(
      store.AppendTurn(id, Turn("customer", "internet yo'q"), created->suggestions(), 0, &version),
      IsOk());
  EXPECT_EQ(CommandCalls(*redis_, "evalsha") - before_stale, 2) << "asked for the event once";
  EXPECT_EQ(version, 4);
  std::vector<std::string> data;
  const std::vector<std::string> expected = {"session.started", "transcript", "transcript",
                                             "suggestions",     "transcript", "suggestions"};
  EXPECT_EQ(EventTypes(*redis_, SessionEventsKey(id), &data), expected);
  EXPECT_EQ(EventTypes(*redis_, CallEventsKey(session.call_sid())), expected);
  ASSERT_EQ(data.size(), expected.size());
  absl::StatusOr<livecall::v1::Session> read = store.Get(id);
  ASSERT_THAT(read.status(), IsOk());
  ASSERT_EQ(read->conversation_size(), 4);
  EXPECT_EQ(read->conversation(3).text(), "internet yo'q");
  ASSERT_EQ(read->suggestions_size(), 1);
  EXPECT_EQ(read->suggestions(0).id(), "verify-identity-uz");
  livecall::v1::LiveEvent last;
  ASSERT_THAT(ParseJson(data.back(), &last), IsOk());
  ASSERT_EQ(last.suggestions().suggestions_size(), 1);
  EXPECT_EQ(last.suggestions().suggestions(0).id(), "verify-identity-uz");
  // And now it knows them: the same again is not news.
  ASSERT_THAT(store.AppendTurn(id, Turn("agent", "tekshiraman"), created->suggestions()).status(),
              IsOk());
  EXPECT_EQ(EventTypes(*redis_, SessionEventsKey(id)).back(), "transcript");
  // A turn refused for its version writes nothing and asks for no event.
  EXPECT_THAT(store.AppendTurn(id, Turn("agent", "x"), created->suggestions(), 2),
              StatusIs(absl::StatusCode::kAborted));
}

TEST_F(SessionStoreTest, EndingEnqueuesTheWholeConversationForTheCrmExactlyOnce) {
  SessionStore store(*redis_, absl::Hours(1));
  absl::StatusOr<livecall::v1::Session> created = store.Create(NewSession(), absl::Now());
  ASSERT_THAT(created.status(), IsOk());
  ASSERT_THAT(store.AppendTurn(created->session_id(), Turn("customer", "rahmat"), {}).status(),
              IsOk());
  ASSERT_THAT(store.End(created->session_id(), {}, "completed", nullptr, absl::Now()).status(),
              IsOk());
  EXPECT_THAT(store.End(created->session_id(), {}, "completed", nullptr, absl::Now()),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  absl::StatusOr<RedisReply> length = redis_->Command({"XLEN", kOutboxKey});
  EXPECT_EQ((*length)->integer, 1);
  absl::StatusOr<RedisReply> entries = redis_->Command({"XRANGE", kOutboxKey, "-", "+"});
  const redisReply& fields = *(*entries)->element[0]->element[1];
  std::string record;
  for (size_t f = 0; f + 1 < fields.elements; f += 2) {
    if (ReplyString(*fields.element[f]) == "record") record = ReplyString(*fields.element[f + 1]);
  }
  EXPECT_THAT(record, HasSubstr("rahmat"));
  EXPECT_THAT(record, HasSubstr("conversation:" + created->session_id()));
}

TEST_F(SessionStoreTest, AnUnownedSessionIsAssignedOnceAndKeepsItsConversation) {
  SessionStore store(*redis_, absl::Hours(1));
  absl::StatusOr<livecall::v1::Session> created = store.Create(NewSession(), absl::Now());
  ASSERT_THAT(created.status(), IsOk());
  ASSERT_THAT(store.AppendTurn(created->session_id(), Turn("customer", "Salom"), {}).status(),
              IsOk());

  absl::StatusOr<livecall::v1::Session> assigned =
      store.Assign(created->session_id(), "agent-7", absl::Now());
  ASSERT_THAT(assigned.status(), IsOk());
  EXPECT_EQ(assigned->agent_id(), "agent-7");
  absl::StatusOr<livecall::v1::Session> read = store.Get(created->session_id());
  ASSERT_THAT(read.status(), IsOk());
  EXPECT_EQ(read->agent_id(), "agent-7");
  EXPECT_EQ(read->conversation_size(), 2);
  EXPECT_EQ(read->status(), "active");
  // The same agent again changes nothing; another agent cannot take it.
  EXPECT_THAT(store.Assign(created->session_id(), "agent-7", absl::Now()).status(), IsOk());
  EXPECT_THAT(store.Assign(created->session_id(), "agent-8", absl::Now()),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("agent-7")));
  EXPECT_EQ(store.Get(created->session_id())->agent_id(), "agent-7");
  // Turns still append after the header was rewritten.
  EXPECT_THAT(store.AppendTurn(created->session_id(), Turn("agent", "Eshitaman"), {}), IsOk());
  EXPECT_THAT(store.Assign("ses_00000000000000000000000000000000", "agent-7", absl::Now()),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(SessionStoreTest, OfTwoAgentsAssignedAtOnceExactlyOneGetsTheSession) {
  SessionStore store(*redis_, absl::Hours(1));
  absl::StatusOr<livecall::v1::Session> created = store.Create(NewSession(), absl::Now());
  ASSERT_THAT(created.status(), IsOk());
  std::vector<absl::Status> results(4);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      results[i] =
          store.Assign(created->session_id(), absl::StrCat("agent-", i), absl::Now()).status();
    });
  }
  for (std::thread& thread : threads) thread.join();
  int won = 0;
  for (const absl::Status& result : results) {
    if (result.ok()) {
      ++won;
    } else {
      EXPECT_THAT(result, ::testing::AnyOf(StatusIs(absl::StatusCode::kFailedPrecondition),
                                           StatusIs(absl::StatusCode::kAborted)));
    }
  }
  EXPECT_EQ(won, 1);
  EXPECT_THAT(store.Get(created->session_id())->agent_id(), MatchesRegex("agent-[0-3]"));
}

TEST_F(SessionStoreTest, ListByPhoneIsNewestFirst) {
  SessionStore store(*redis_, absl::Hours(1));
  const absl::Time now = absl::Now();
  absl::StatusOr<livecall::v1::Session> older = store.Create(NewSession(), now - absl::Minutes(5));
  absl::StatusOr<livecall::v1::Session> newer = store.Create(NewSession(), now);
  ASSERT_THAT(older.status(), IsOk());
  ASSERT_THAT(newer.status(), IsOk());
  absl::StatusOr<std::vector<livecall::v1::Session>> listed =
      store.ListByPhone("+998901112233", 10);
  ASSERT_THAT(listed.status(), IsOk());
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].session_id(), newer->session_id());
  EXPECT_EQ((*listed)[1].session_id(), older->session_id());
  EXPECT_EQ(store.ListByPhone("+998901112233", 1)->size(), 1u);
  EXPECT_TRUE(store.ListByPhone("+998935550101", 10)->empty());
}

TEST_F(SessionStoreTest, UnknownAndMalformedIdsAreNotFound) {
  SessionStore store(*redis_, absl::Hours(1));
  EXPECT_THAT(store.Get("ses_00000000000000000000000000000000"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store.Get("../../etc/passwd"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store.Get(""), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store.AppendTurn("ses_00000000000000000000000000000000", Turn("agent", "x"), {}),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(
      store.End("ses_00000000000000000000000000000000", {}, "completed", nullptr, absl::Now()),
      StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(SessionStoreTest, SessionsSurviveARedisRestart) {
  SessionStore store(*redis_, absl::Hours(1));
  absl::StatusOr<livecall::v1::Session> created = store.Create(NewSession(), absl::Now());
  ASSERT_THAT(created.status(), IsOk());
  ASSERT_THAT(redis_server_.Restart(), IsOk());
  // The pool's old connection died with the server; the pool replaces it on its own.
  absl::StatusOr<livecall::v1::Session> read = store.Get(created->session_id());
  ASSERT_THAT(read.status(), IsOk());
  EXPECT_EQ(read->greeting(), "Assalomu alaykum!");
}

// A session is three keys (header, turns, its stream): the suggestions are a field of the header,
// written with it, so they take no key and no EXPIRE of their own.
TEST_F(SessionStoreTest, ASessionsSuggestionsAreAFieldOfItsHeader) {
  SessionStore store(*redis_, absl::Hours(1));
  absl::StatusOr<livecall::v1::Session> created = store.Create(NewSession(), absl::Now());
  ASSERT_THAT(created.status(), IsOk());
  const std::string& id = created->session_id();
  auto session_keys = [&] {
    absl::StatusOr<RedisReply> keys = redis_->Command({"KEYS", absl::StrCat(SessionKey(id), "*")});
    return keys.ok() ? (*keys)->elements : 0u;
  };
  EXPECT_EQ(session_keys(), 3u);
  EXPECT_EQ(SuggestionsKey(id), SessionKey(id));
  ASSERT_THAT(
      store.AppendTurn(id, Turn("customer", "internet yo'q"), Suggestions({"outage"})).status(),
      IsOk());
  EXPECT_EQ(session_keys(), 3u);
  absl::StatusOr<RedisReply> field = redis_->Command({"HGET", SessionKey(id), "suggestions"});
  ASSERT_THAT(field.status(), IsOk());
  EXPECT_EQ(ReplyString(**field), SerializeSuggestionList(Suggestions({"outage"})).stored);
  SessionStore other_replica(*redis_, absl::Hours(1));
  absl::StatusOr<livecall::v1::Session> read = other_replica.Get(id);
  ASSERT_THAT(read.status(), IsOk());
  ASSERT_EQ(read->suggestions_size(), 1);
  EXPECT_EQ(read->suggestions(0).id(), "outage");
}

// The previous version kept the suggestions in a key of their own (and its replicas still write
// only that key during a rolling deploy): while that key exists it is the newer one and is read;
// the next turn moves it into the header and deletes it, with a suggestions event only when the
// suggestions changed.
TEST_F(SessionStoreTest, SuggestionsInThePreviousVersionsKeyAreReadAndMovedIntoTheHeader) {
  for (const bool changed : {false, true}) {
    SCOPED_TRACE(changed ? "new suggestions" : "the same suggestions");
    SessionStore store(*redis_, absl::Hours(1));
    absl::StatusOr<livecall::v1::Session> created = store.Create(NewSession(), absl::Now());
    ASSERT_THAT(created.status(), IsOk());
    const std::string& id = created->session_id();
    const std::string legacy = SerializeSuggestionList(Suggestions({"from-the-old-key"})).stored;
    ASSERT_THAT(redis_->Command({"SET", LegacySuggestionsKey(id), legacy, "EX", "3600"}).status(),
                IsOk());
    SessionStore other_replica(*redis_, absl::Hours(1));
    absl::StatusOr<livecall::v1::Session> read = other_replica.Get(id);
    ASSERT_THAT(read.status(), IsOk());
    ASSERT_EQ(read->suggestions_size(), 1);
    EXPECT_EQ(read->suggestions(0).id(), "from-the-old-key");

    const auto next = changed ? Suggestions({"fresh"}) : Suggestions({"from-the-old-key"});
    ASSERT_THAT(other_replica.AppendTurn(id, Turn("customer", "salom"), next).status(), IsOk());
    absl::StatusOr<RedisReply> exists = redis_->Command({"EXISTS", LegacySuggestionsKey(id)});
    ASSERT_THAT(exists.status(), IsOk());
    EXPECT_EQ((*exists)->integer, 0);
    absl::StatusOr<RedisReply> field = redis_->Command({"HGET", SessionKey(id), "suggestions"});
    ASSERT_THAT(field.status(), IsOk());
    EXPECT_EQ(ReplyString(**field), SerializeSuggestionList(next).stored);
    std::vector<std::string> expected = {"session.started", "transcript"};
    if (changed) expected.push_back("suggestions");
    EXPECT_EQ(EventTypes(*redis_, SessionEventsKey(id)), expected);
    read = store.Get(id);
    ASSERT_THAT(read.status(), IsOk());
    ASSERT_EQ(read->suggestions_size(), 1);
    EXPECT_EQ(read->suggestions(0).id(), changed ? "fresh" : "from-the-old-key");
  }
}

TEST_F(SessionStoreTest, RedisDownIsUnavailable) {
  SessionStore store(*redis_, absl::Hours(1));
  ASSERT_THAT(redis_server_.Stop(), IsOk());
  EXPECT_THAT(store.Create(NewSession(), absl::Now()), StatusIs(absl::StatusCode::kUnavailable));
}

}  // namespace
}  // namespace livecall::context
