#include "services/gateway/sse_handler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace livecall::gateway {
namespace {

TEST(FormatServerSentEventTest, WritesIdTypeAndDataThenABlankLine) {
  EXPECT_EQ(FormatServerSentEvent({.id = "1700000000000-0", .type = "transcript", .data = "{}"}),
            "id: 1700000000000-0\nevent: transcript\ndata: {}\n\n");
}

TEST(FormatServerSentEventTest, AnEventWithoutTypeHasNoEventLine) {
  EXPECT_EQ(FormatServerSentEvent({.id = "1-0", .type = "", .data = "x"}), "id: 1-0\ndata: x\n\n");
}

// A line break inside the data would end the field early: each line is its own data: field
// (EventSource joins them with \n again), and a CR before the break is dropped.
TEST(FormatServerSentEventTest, MultiLineDataBecomesSeveralDataLines) {
  EXPECT_EQ(FormatServerSentEvent({.id = "1-0", .type = "t", .data = "a\r\nb\nc"}),
            "id: 1-0\nevent: t\ndata: a\ndata: b\ndata: c\n\n");
}

// Per identity, a new stream ends the identity's oldest (a reloaded page supersedes the tab it
// replaced); in total, a new stream is refused.
TEST(LiveStreamLimitsTest, CapsStreamsPerIdentityAndInTotal) {
  LiveStreamLimits limits({.per_identity = 2, .total = 3});
  std::vector<std::string> evicted;
  auto a1 = limits.Acquire("agent-a", [&] { evicted.push_back("a1"); });
  auto a2 = limits.Acquire("agent-a", [&] { evicted.push_back("a2"); });
  ASSERT_TRUE(a1.ok() && a2.ok());
  EXPECT_TRUE(evicted.empty());
  auto a3 = limits.Acquire("agent-a", [&] { evicted.push_back("a3"); });
  ASSERT_TRUE(a3.ok());
  EXPECT_EQ(evicted, std::vector<std::string>{"a1"});
  // a1's connection has not gone yet: it still counts in the total.
  EXPECT_EQ(limits.Acquire("agent-b").status().code(), absl::StatusCode::kResourceExhausted);
  a1->reset();  // A closed stream gives its slot back.
  EXPECT_TRUE(limits.Acquire("agent-b").ok());
  EXPECT_EQ(evicted, std::vector<std::string>{"a1"});
}

}  // namespace
}  // namespace livecall::gateway
