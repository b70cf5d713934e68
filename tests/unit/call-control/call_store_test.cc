#include "services/call-control/call_store.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/proto_time.h"
#include "gtest/gtest.h"
#include "tests/support/redis_server.h"
#include "tests/support/status_matchers.h"

namespace livecall::call_control {
namespace {

using ::livecall::testing::IsOk;

class CallStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_THAT(redis_server_.Start(), IsOk());
    RedisPool::Options options;
    options.url = *ParseRedisUrl(redis_server_.url());
    redis_ = std::make_unique<RedisPool>(options);
    calls_ = std::make_unique<CallStore>(*redis_, absl::Hours(1));
  }

  void PutCall(int n, const std::string& status, absl::Time created) {
    livecall::v1::Call call;
    call.set_call_sid(absl::StrCat("CA", std::string(30, '0'), absl::Dec(n, absl::kZeroPad2)));
    call.set_status(status);
    *call.mutable_created_at() = ToProtoTimestamp(created);
    ASSERT_THAT(calls_->Put(call, std::nullopt), IsOk());
  }

  int64_t Live(absl::Time now) {
    absl::StatusOr<int64_t> count = calls_->CountLive(now);
    EXPECT_THAT(count.status(), IsOk());
    return count.ok() ? *count : -1;
  }

  livecall::testing::RedisServer redis_server_;
  std::unique_ptr<RedisPool> redis_;
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

}  // namespace
}  // namespace livecall::call_control
