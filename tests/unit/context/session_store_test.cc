#include "services/context/session_store.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/proto_matchers.h"
#include "tests/support/redis_server.h"
#include "tests/support/status_matchers.h"

namespace livecall::context {
namespace {

using ::livecall::testing::EqualsProto;
using ::livecall::testing::IsOk;
using ::livecall::testing::StatusIs;
using ::testing::MatchesRegex;

class SessionStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_THAT(redis_server_.Start(), IsOk());
    RedisPool::Options options;
    options.url = *ParseRedisUrl(redis_server_.url());
    redis_ = std::make_unique<RedisPool>(options);
  }

  livecall::v1::Session NewSession() {
    livecall::v1::Session session;
    session.set_phone_number("+998901112233");
    session.set_greeting("Assalomu alaykum!");
    session.set_language("uz");
    return session;
  }

  livecall::testing::RedisServer redis_server_;
  std::unique_ptr<RedisPool> redis_;
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
       {SessionKey(created->session_id()), PhoneSessionsKey("+998901112233")}) {
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

TEST_F(SessionStoreTest, UnknownAndMalformedIdsAreNotFound) {
  SessionStore store(*redis_, absl::Hours(1));
  EXPECT_THAT(store.Get("ses_00000000000000000000000000000000"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store.Get("../../etc/passwd"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store.Get(""), StatusIs(absl::StatusCode::kNotFound));
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

TEST_F(SessionStoreTest, RedisDownIsUnavailable) {
  SessionStore store(*redis_, absl::Hours(1));
  ASSERT_THAT(redis_server_.Stop(), IsOk());
  EXPECT_THAT(store.Create(NewSession(), absl::Now()), StatusIs(absl::StatusCode::kUnavailable));
}

}  // namespace
}  // namespace livecall::context
