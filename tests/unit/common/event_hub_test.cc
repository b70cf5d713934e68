#include "common/event_hub.h"

#include <thread>

#include "absl/strings/str_cat.h"
#include "common/live_events.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/redis_fixture.h"
#include "tests/support/status_matchers.h"
#include "tests/support/wait_for.h"

namespace livecall {
namespace {

using ::livecall::testing::IsOk;

// What one subscriber received, safe to read from the test thread.
class Received {
 public:
  EventHub::Callback Callback() {
    return [this](const std::vector<StreamEntry>& entries) {
      absl::MutexLock lock(&mu_);
      if (entries.empty()) ++heartbeats_;
      for (const StreamEntry& entry : entries) {
        ids_.push_back(entry.id);
        data_.push_back(entry.data);
      }
    };
  }
  std::vector<std::string> data() const {
    absl::MutexLock lock(&mu_);
    return data_;
  }
  std::vector<std::string> ids() const {
    absl::MutexLock lock(&mu_);
    return ids_;
  }
  int heartbeats() const {
    absl::MutexLock lock(&mu_);
    return heartbeats_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<std::string> ids_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> data_ ABSL_GUARDED_BY(mu_);
  int heartbeats_ ABSL_GUARDED_BY(mu_) = 0;
};

class EventHubTest : public livecall::testing::RedisFixture {
 protected:
  EventHub::Options HubOptions() {
    return {.redis = redis_server_.parsed_url(),
            .block = absl::Milliseconds(200),
            // Only the writers' notifications bring news (the sweep has its own test).
            .sweep = absl::Hours(1),
            .heartbeat = absl::Hours(1),
            .batch = 7};  // Small pages exercise paging.
  }

  // As the services write an event: XADD and the notification in one atomic write.
  std::string Add(const std::string& stream, const std::string& data) {
    absl::StatusOr<std::vector<RedisReply>> replies =
        redis_->Pipeline({{"MULTI"},
                          {"XADD", stream, "*", "type", "transcript", "data", data},
                          {"PUBLISH", kLiveEventsChannel, stream},
                          {"EXEC"}});
    EXPECT_THAT(replies.status(), IsOk());
    if (!replies.ok()) return "";
    const redisReply& exec = *replies->back();
    EXPECT_EQ(exec.type, REDIS_REPLY_ARRAY);
    return exec.type == REDIS_REPLY_ARRAY ? ReplyString(*exec.element[0]) : "";
  }
  // A writer that does not notify (an older replica during a rolling upgrade).
  std::string AddQuietly(const std::string& stream, const std::string& data) {
    absl::StatusOr<RedisReply> id =
        redis_->Command({"XADD", stream, "*", "type", "transcript", "data", data});
    EXPECT_THAT(id.status(), IsOk());
    return id.ok() ? ReplyString(**id) : "";
  }

  static std::vector<std::string> Numbers(int from, int to) {
    std::vector<std::string> numbers;
    for (int i = from; i < to; ++i) numbers.push_back(absl::StrCat(i));
    return numbers;
  }
};

TEST_F(EventHubTest, ANewSubscriberGetsWhatIsKeptThenWhatComes) {
  for (int i = 0; i < 20; ++i) Add("s", absl::StrCat(i));
  EventHub hub(HubOptions());
  hub.Start();
  Received received;
  hub.Subscribe("s", "", received.Callback());
  ASSERT_TRUE(
      livecall::testing::WaitFor([&] { return received.data().size() == 20; }, absl::Seconds(10)));
  for (int i = 20; i < 30; ++i) Add("s", absl::StrCat(i));
  ASSERT_TRUE(
      livecall::testing::WaitFor([&] { return received.data().size() == 30; }, absl::Seconds(10)));
  EXPECT_EQ(received.data(), Numbers(0, 30));
}

TEST_F(EventHubTest, ResumingAfterAnIdDeliversTheRestWithoutGapsOrRepeatsWhileWritesGoOn) {
  std::vector<std::string> ids;
  for (int i = 0; i < 50; ++i) ids.push_back(Add("s", absl::StrCat(i)));
  EventHub hub(HubOptions());
  hub.Start();
  Received early;
  hub.Subscribe("s", "", early.Callback());
  std::thread writer([&] {
    for (int i = 50; i < 300; ++i) Add("s", absl::StrCat(i));
  });
  Received resumed;
  hub.Subscribe("s", ids[24], resumed.Callback());  // The browser had seen up to event 24.
  writer.join();
  ASSERT_TRUE(livecall::testing::WaitFor(
      [&] { return resumed.data().size() == 275 && early.data().size() == 300; },
      absl::Seconds(20)));
  EXPECT_EQ(resumed.data(), Numbers(25, 300));
  EXPECT_EQ(early.data(), Numbers(0, 300));
}

TEST_F(EventHubTest, StreamsAreIndependent) {
  EventHub hub(HubOptions());
  hub.Start();
  Received a;
  Received b;
  hub.Subscribe("a", "", a.Callback());
  hub.Subscribe("b", "", b.Callback());
  Add("a", "for a");
  Add("b", "for b");
  ASSERT_TRUE(livecall::testing::WaitFor(
      [&] { return a.data().size() == 1 && b.data().size() == 1; }, absl::Seconds(10)));
  EXPECT_EQ(a.data()[0], "for a");
  EXPECT_EQ(b.data()[0], "for b");
}

TEST_F(EventHubTest, NewsOfOneStreamAmongManyArrivesByItsNotification) {
  EventHub hub(HubOptions());  // No sweep: only notifications bring news.
  hub.Start();
  std::vector<std::unique_ptr<Received>> quiet;
  for (int i = 0; i < 300; ++i) {
    quiet.push_back(std::make_unique<Received>());
    hub.Subscribe(absl::StrCat("quiet-", i), "", quiet.back()->Callback());
  }
  Received busy;
  hub.Subscribe("busy", "", busy.Callback());
  ASSERT_TRUE(
      livecall::testing::WaitFor([&] { return hub.subscriber_count() == 301; }, absl::Seconds(10)));
  for (int i = 0; i < 40; ++i) Add("busy", absl::StrCat(i));
  ASSERT_TRUE(
      livecall::testing::WaitFor([&] { return busy.data().size() == 40; }, absl::Seconds(10)));
  EXPECT_EQ(busy.data(), Numbers(0, 40));
  for (const auto& received : quiet) EXPECT_TRUE(received->data().empty());
}

TEST_F(EventHubTest, AnEventWithoutNotificationArrivesByTheSweep) {
  EventHub::Options options = HubOptions();
  options.sweep = absl::Milliseconds(100);
  EventHub hub(options);
  hub.Start();
  Received received;
  hub.Subscribe("s", "", received.Callback());
  Add("s", "0");
  ASSERT_TRUE(
      livecall::testing::WaitFor([&] { return received.data().size() == 1; }, absl::Seconds(10)));
  AddQuietly("s", "1");
  AddQuietly("s", "2");
  ASSERT_TRUE(
      livecall::testing::WaitFor([&] { return received.data().size() == 3; }, absl::Seconds(10)));
  EXPECT_EQ(received.data(), Numbers(0, 3));
}

TEST_F(EventHubTest, IdleSubscribersGetHeartbeats) {
  EventHub::Options options = HubOptions();
  options.heartbeat = absl::Milliseconds(50);
  EventHub hub(options);
  hub.Start();
  Received received;
  hub.Subscribe("quiet", "", received.Callback());
  EXPECT_TRUE(
      livecall::testing::WaitFor([&] { return received.heartbeats() >= 2; }, absl::Seconds(10)));
}

TEST_F(EventHubTest, UnsubscribedCallbacksAreNeverCalledAgain) {
  EventHub hub(HubOptions());
  hub.Start();
  Received gone;
  Received stays;
  const uint64_t handle = hub.Subscribe("s", "", gone.Callback());
  hub.Subscribe("s", "", stays.Callback());
  Add("s", "first");
  ASSERT_TRUE(livecall::testing::WaitFor(
      [&] { return gone.data().size() == 1 && stays.data().size() == 1; }, absl::Seconds(10)));
  hub.Unsubscribe(handle);
  EXPECT_EQ(hub.subscriber_count(), 1u);
  Add("s", "second");
  ASSERT_TRUE(
      livecall::testing::WaitFor([&] { return stays.data().size() == 2; }, absl::Seconds(10)));
  EXPECT_EQ(gone.data().size(), 1u);
}

TEST_F(EventHubTest, DeliveryResumesWithoutLossAfterARedisRestart) {
  EventHub hub(HubOptions());
  hub.Start();
  Received received;
  hub.Subscribe("s", "", received.Callback());
  Add("s", "before");
  ASSERT_TRUE(
      livecall::testing::WaitFor([&] { return received.data().size() == 1; }, absl::Seconds(10)));
  ASSERT_THAT(redis_server_.Restart(), IsOk());
  Add("s", "after");
  ASSERT_TRUE(
      livecall::testing::WaitFor([&] { return received.data().size() == 2; }, absl::Seconds(15)));
  EXPECT_EQ(received.data(), (std::vector<std::string>{"before", "after"}));
}

// A hub that watches nothing does not hear (nor wake up for) every writer's notification: it
// subscribes with its first watcher and unsubscribes once nothing has been watched for
// idle_unsubscribe. Events written meanwhile are not lost: the next watcher replays them.
TEST_F(EventHubTest, OnlyAHubThatWatchesSomethingHoldsTheNotificationSubscription) {
  auto subscriptions = [&]() -> int64_t {
    absl::StatusOr<RedisReply> reply = redis_->Command({"PUBSUB", "NUMSUB", kLiveEventsChannel});
    if (!reply.ok() || (*reply)->type != REDIS_REPLY_ARRAY || (*reply)->elements != 2) return -1;
    return (*reply)->element[1]->integer;
  };
  EventHub::Options options = HubOptions();
  options.idle_unsubscribe = absl::Milliseconds(100);
  EventHub hub(options);
  hub.Start();
  EXPECT_EQ(subscriptions(), 0);

  Received first;
  const uint64_t handle = hub.Subscribe("s", "", first.Callback());
  ASSERT_TRUE(livecall::testing::WaitFor([&] { return subscriptions() == 1; }, absl::Seconds(10)));
  Add("s", "one");  // Only a notification brings it (no sweep for an hour).
  ASSERT_TRUE(
      livecall::testing::WaitFor([&] { return first.data().size() == 1; }, absl::Seconds(10)));

  hub.Unsubscribe(handle);
  ASSERT_TRUE(livecall::testing::WaitFor([&] { return subscriptions() == 0; }, absl::Seconds(10)));
  Add("s", "two");  // Nobody listens.

  Received second;
  hub.Subscribe("s", "", second.Callback());
  ASSERT_TRUE(livecall::testing::WaitFor([&] { return subscriptions() == 1; }, absl::Seconds(10)));
  Add("s", "three");
  ASSERT_TRUE(
      livecall::testing::WaitFor([&] { return second.data().size() == 3; }, absl::Seconds(10)));
  EXPECT_EQ(second.data(), (std::vector<std::string>{"one", "two", "three"}));
  EXPECT_EQ(first.data(), (std::vector<std::string>{"one"}));
}

TEST(StreamIdTest, RecognisesRedisStreamIds) {
  EXPECT_TRUE(IsStreamId("1700000000000-0"));
  EXPECT_TRUE(IsStreamId("0-0"));
  EXPECT_FALSE(IsStreamId("1700000000000"));
  EXPECT_FALSE(IsStreamId("-1"));
  EXPECT_FALSE(IsStreamId("a-b"));
  EXPECT_FALSE(IsStreamId(""));
}

}  // namespace
}  // namespace livecall
