// The outbound-call policy against a real Redis: allowed destinations, the global cap and the
// per-agent quota, with slots committed in the same transaction as their call records.

#include "services/call-control/calls/outbound_call_limit.h"

#include <atomic>
#include <optional>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
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
using ::livecall::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class OutboundCallLimitTest : public livecall::testing::RedisFixture {
 protected:
  OutboundCallLimitTest() : RedisFixture({.max_connections = 16}) {}

  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(RedisFixture::SetUp());
    calls_ = std::make_unique<CallStore>(*redis_, absl::Hours(1));
  }

  std::unique_ptr<OutboundCallLimit> Limit(OutboundCallPolicy policy) {
    return std::make_unique<OutboundCallLimit>(*redis_, *calls_, std::move(policy));
  }

  // What placing a call does once the provider has named it: the call record and its slot in one
  // transaction.
  std::string Place(OutboundSlot& slot, int n) {
    livecall::v1::Call call;
    call.set_call_sid(absl::StrCat("CA", std::string(28, '0'), absl::Dec(n, absl::kZeroPad4)));
    call.set_agent_identity(slot.agent_identity());
    *call.mutable_created_at() = ToProtoTimestamp(absl::Now());
    RecordCallStatus(call, livecall::v1::CALL_STATUS_QUEUED, absl::Now());
    EXPECT_THAT(calls_->Create(call, {}, slot.CommitWrites(call.call_sid(), absl::Now())), IsOk());
    return call.call_sid();
  }

  void End(const std::string& call_sid) {
    ASSERT_THAT(calls_
                    ->Update(call_sid,
                             [](livecall::v1::Call& call) -> absl::StatusOr<bool> {
                               RecordCallStatus(call, livecall::v1::CALL_STATUS_COMPLETED,
                                                absl::Now());
                               return true;
                             })
                    .status(),
                IsOk());
  }

  int64_t Slots(const std::string& key) {
    absl::StatusOr<RedisReply> size = redis_->Command({"ZCARD", key});
    EXPECT_THAT(size.status(), IsOk());
    return size.ok() ? (*size)->integer : -1;
  }

  std::unique_ptr<CallStore> calls_;
};

TEST_F(OutboundCallLimitTest, OnlyNumbersWithAnAllowedPrefixMayBeDialled) {
  std::unique_ptr<OutboundCallLimit> limit =
      Limit({.max_active = 5, .max_per_agent = 2, .allowed_prefixes = {"+998", "+7"}});
  EXPECT_THAT(limit->CheckDestination("+998901112233"), IsOk());
  EXPECT_THAT(limit->CheckDestination("+74951234567"), IsOk());
  absl::StatusOr<OutboundSlot> refused = limit->Admit("+14155550100", "alice", absl::Now());
  EXPECT_THAT(refused.status(),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("+14155550100 are not allowed: only numbers starting with "
                                 "+998, +7 may be dialled (LIVECALL_ALLOWED_DIAL_PREFIXES)")));
  EXPECT_EQ(RefusalOf(refused.status()), OutboundRefusal::kDestination);
  // A refused destination takes no slot.
  EXPECT_EQ(Slots(kOutboundActiveKey), 0);
  EXPECT_EQ(Slots(AgentOutboundKey("alice")), 0);
  // "+" allows every number.
  EXPECT_THAT(Limit({.allowed_prefixes = {"+"}})->CheckDestination("+14155550100"), IsOk());
}

TEST_F(OutboundCallLimitTest, AnAgentsQuotaHoldsUntilOneOfItsCallsEnds) {
  std::unique_ptr<OutboundCallLimit> limit =
      Limit({.max_active = 10, .max_per_agent = 2, .allowed_prefixes = {"+998"}});
  std::vector<std::string> alices;
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<OutboundSlot> slot = limit->Admit("+998901112233", "alice", absl::Now());
    ASSERT_THAT(slot.status(), IsOk());
    alices.push_back(Place(*slot, i));
  }
  absl::StatusOr<OutboundSlot> third = limit->Admit("+998901112233", "alice", absl::Now());
  EXPECT_THAT(third.status(), StatusIs(absl::StatusCode::kResourceExhausted,
                                       HasSubstr("LIVECALL_MAX_CALLS_PER_AGENT")));
  EXPECT_EQ(RefusalOf(third.status()), OutboundRefusal::kAgentQuota);
  // Another agent, and a call for nobody in particular, still get lines (held here: a slot is
  // given back when its object goes).
  absl::StatusOr<OutboundSlot> bobs = limit->Admit("+998901112233", "bob", absl::Now());
  EXPECT_THAT(bobs.status(), IsOk());
  absl::StatusOr<OutboundSlot> service_call = limit->Admit("+998901112233", "", absl::Now());
  ASSERT_THAT(service_call.status(), IsOk());
  EXPECT_TRUE(service_call->agent_identity().empty());
  EXPECT_EQ(Slots(kOutboundActiveKey), 4);

  ASSERT_NO_FATAL_FAILURE(End(alices[0]));
  absl::StatusOr<OutboundSlot> again = limit->Admit("+998901112233", "alice", absl::Now());
  ASSERT_THAT(again.status(), IsOk());
  EXPECT_EQ(again->agent_identity(), "alice");
  // The ended call's slot was swept from her full set; the global set is swept when it fills.
  EXPECT_EQ(Slots(AgentOutboundKey("alice")), 2);
  EXPECT_EQ(Slots(kOutboundActiveKey), 5);
}

TEST_F(OutboundCallLimitTest, TheGlobalCapRefusesEveryAgentWithTheBusyRefusal) {
  std::unique_ptr<OutboundCallLimit> limit =
      Limit({.max_active = 1, .max_per_agent = 2, .allowed_prefixes = {"+998"}});
  absl::StatusOr<OutboundSlot> first = limit->Admit("+998901112233", "alice", absl::Now());
  ASSERT_THAT(first.status(), IsOk());
  absl::StatusOr<OutboundSlot> busy = limit->Admit("+998901112233", "bob", absl::Now());
  EXPECT_THAT(busy.status(), StatusIs(absl::StatusCode::kResourceExhausted,
                                      HasSubstr("LIVECALL_MAX_ACTIVE_CALLS")));
  EXPECT_EQ(RefusalOf(busy.status()), OutboundRefusal::kAllLinesBusy);
  ASSERT_THAT(first->Release(), IsOk());
  EXPECT_THAT(limit->Admit("+998901112233", "bob", absl::Now()).status(), IsOk());
}

// A slot being dialled is "pending" until the call record is written with it; the sweep of a full
// set never frees it, neither before the record exists nor after.
TEST_F(OutboundCallLimitTest, TheSweepNeverFreesASlotWhoseCallIsBeingPlaced) {
  std::unique_ptr<OutboundCallLimit> limit =
      Limit({.max_active = 1, .max_per_agent = 1, .allowed_prefixes = {"+998"}});
  absl::StatusOr<OutboundSlot> dialling = limit->Admit("+998901112233", "alice", absl::Now());
  ASSERT_THAT(dialling.status(), IsOk());
  // Another replica, at the cap, sweeps while the call is being dialled.
  EXPECT_THAT(limit->Admit("+998901112233", "bob", absl::Now()).status(),
              StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_THAT(limit->Admit("+998901112233", "alice", absl::Now()).status(),
              StatusIs(absl::StatusCode::kResourceExhausted));
  const std::string placed = Place(*dialling, 1);
  EXPECT_THAT(limit->Admit("+998901112233", "bob", absl::Now()).status(),
              StatusIs(absl::StatusCode::kResourceExhausted));
  // The pending slot became the call's in both sets.
  absl::StatusOr<RedisReply> member =
      redis_->Command({"ZSCORE", AgentOutboundKey("alice"), placed});
  ASSERT_THAT(member.status(), IsOk());
  EXPECT_FALSE(IsNil(**member));
  ASSERT_NO_FATAL_FAILURE(End(placed));
  EXPECT_THAT(limit->Admit("+998901112233", "bob", absl::Now()).status(), IsOk());
}

// Many replicas place calls at once while others sweep: never more calls than the cap.
TEST_F(OutboundCallLimitTest, TheCapHoldsUnderConcurrentPlacement) {
  constexpr int kCap = 3;
  constexpr int kPlacers = 12;
  std::unique_ptr<OutboundCallLimit> limit =
      Limit({.max_active = kCap, .max_per_agent = 0, .allowed_prefixes = {"+998"}});
  std::atomic<int> admitted = 0;
  std::atomic<int> refused = 0;
  std::vector<std::thread> placers;
  for (int i = 0; i < kPlacers; ++i) {
    placers.emplace_back([&, i] {
      for (int round = 0; round < 5; ++round) {
        absl::StatusOr<OutboundSlot> slot = limit->Admit("+998901112233", "", absl::Now());
        if (absl::IsResourceExhausted(slot.status())) {
          ++refused;
          continue;
        }
        ASSERT_THAT(slot.status(), IsOk());
        ++admitted;
        Place(*slot, i * 10 + round);
      }
    });
  }
  for (std::thread& placer : placers) placer.join();
  EXPECT_EQ(admitted.load(), kCap);
  EXPECT_EQ(refused.load(), kPlacers * 5 - kCap);
  EXPECT_EQ(Slots(kOutboundActiveKey), kCap);
}

// The slot is one object: dropped uncommitted (the dial failed, or returned early) it is given
// back to both sets; committed, it stays as the call's.
TEST_F(OutboundCallLimitTest, ASlotNeverCommittedIsGivenBackWhenItGoes) {
  std::unique_ptr<OutboundCallLimit> limit =
      Limit({.max_active = 1, .max_per_agent = 1, .allowed_prefixes = {"+998"}});
  {
    absl::StatusOr<OutboundSlot> dialling = limit->Admit("+998901112233", "alice", absl::Now());
    ASSERT_THAT(dialling.status(), IsOk());
    EXPECT_TRUE(dialling->held());
    EXPECT_EQ(Slots(kOutboundActiveKey), 1);
    EXPECT_EQ(Slots(AgentOutboundKey("alice")), 1);
    EXPECT_THAT(limit->Admit("+998901112233", "bob", absl::Now()).status(),
                StatusIs(absl::StatusCode::kResourceExhausted));
  }
  EXPECT_EQ(Slots(kOutboundActiveKey), 0);
  EXPECT_EQ(Slots(AgentOutboundKey("alice")), 0);
  EXPECT_THAT(limit->Admit("+998901112233", "bob", absl::Now()).status(), IsOk());
}

TEST_F(OutboundCallLimitTest, ACommittedSlotStaysTheCallsWhenItsObjectGoes) {
  std::unique_ptr<OutboundCallLimit> limit =
      Limit({.max_active = 1, .max_per_agent = 1, .allowed_prefixes = {"+998"}});
  std::string placed;
  {
    absl::StatusOr<OutboundSlot> dialling = limit->Admit("+998901112233", "alice", absl::Now());
    ASSERT_THAT(dialling.status(), IsOk());
    placed = Place(*dialling, 1);
    EXPECT_FALSE(dialling->held());
  }
  absl::StatusOr<RedisReply> member = redis_->Command({"ZSCORE", kOutboundActiveKey, placed});
  ASSERT_THAT(member.status(), IsOk());
  EXPECT_FALSE(IsNil(**member));
  EXPECT_EQ(Slots(AgentOutboundKey("alice")), 1);
  EXPECT_THAT(limit->Admit("+998901112233", "bob", absl::Now()).status(),
              StatusIs(absl::StatusCode::kResourceExhausted));
}

// Commit on its own (PlaceCall: the provider has written the record) makes the slot the call's.
TEST_F(OutboundCallLimitTest, CommitMakesThePendingSlotTheCallsInBothSets) {
  std::unique_ptr<OutboundCallLimit> limit =
      Limit({.max_active = 2, .max_per_agent = 2, .allowed_prefixes = {"+998"}});
  absl::StatusOr<OutboundSlot> dialling = limit->Admit("+998901112233", "alice", absl::Now());
  ASSERT_THAT(dialling.status(), IsOk());
  const std::string sid = "CA00000000000000000000000000000042";
  ASSERT_THAT(dialling->Commit(sid, absl::Now()), IsOk());
  EXPECT_FALSE(dialling->held());
  for (const std::string& key : {std::string(kOutboundActiveKey), AgentOutboundKey("alice")}) {
    SCOPED_TRACE(key);
    absl::StatusOr<RedisReply> members = redis_->Command({"ZRANGE", key, "0", "-1"});
    ASSERT_THAT(members.status(), IsOk());
    ASSERT_EQ((*members)->elements, 1u);
    EXPECT_EQ(ReplyString(*(*members)->element[0]), sid);
  }
  // Committed: giving it back does nothing.
  EXPECT_THAT(dialling->Release(), IsOk());
  EXPECT_EQ(Slots(kOutboundActiveKey), 1);
}

// Moving a slot moves the duty to give it back: it is given back once, by its last owner.
TEST_F(OutboundCallLimitTest, AMovedSlotIsGivenBackByItsLastOwner) {
  std::unique_ptr<OutboundCallLimit> limit =
      Limit({.max_active = 2, .max_per_agent = 0, .allowed_prefixes = {"+998"}});
  OutboundSlot outer;
  EXPECT_FALSE(outer.held());
  {
    absl::StatusOr<OutboundSlot> admitted = limit->Admit("+998901112233", "", absl::Now());
    ASSERT_THAT(admitted.status(), IsOk());
    outer = *std::move(admitted);
  }
  EXPECT_TRUE(outer.held());
  EXPECT_EQ(Slots(kOutboundActiveKey), 1);
  ASSERT_THAT(outer.Release(), IsOk());
  EXPECT_FALSE(outer.held());
  EXPECT_EQ(Slots(kOutboundActiveKey), 0);
}

// With neither a cap nor a quota to count against, a slot counts nothing and commits nothing.
TEST_F(OutboundCallLimitTest, WithoutALimitASlotCountsNothing) {
  std::unique_ptr<OutboundCallLimit> limit = Limit({.allowed_prefixes = {"+998"}});
  absl::StatusOr<OutboundSlot> slot = limit->Admit("+998901112233", "alice", absl::Now());
  ASSERT_THAT(slot.status(), IsOk());
  EXPECT_FALSE(slot->held());
  EXPECT_THAT(slot->CommitWrites("CA00000000000000000000000000000042", absl::Now()), IsEmpty());
  EXPECT_EQ(Slots(kOutboundActiveKey), 0);
}

TEST(OutboundRefusalLineTest, EachRefusalIsSaidInTheAgentsLanguage) {
  EXPECT_EQ(OutboundRefusalLine(OutboundRefusal::kDestination, "ru"),
            "Звонки на этот номер не разрешены.");
  EXPECT_THAT(OutboundRefusalLine(OutboundRefusal::kAgentQuota, "uz"), HasSubstr("faol"));
  EXPECT_THAT(OutboundRefusalLine(OutboundRefusal::kAllLinesBusy, "en"),
              HasSubstr("All outgoing lines are busy"));
  EXPECT_THAT(OutboundRefusalLine(OutboundRefusal::kAgentQuota, "fr"), HasSubstr("too many calls"));
}

}  // namespace
}  // namespace livecall::call_control
