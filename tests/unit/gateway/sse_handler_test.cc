#include "services/gateway/sse_handler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

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

// The frames are byte for byte what the split-and-concatenate formatter wrote before, for data
// with and without line breaks, CRs, empty lines and an empty payload.
TEST(FormatServerSentEventTest, MatchesTheSplittingFormatter) {
  auto reference = [](const StreamEntry& entry) {
    std::string text = absl::StrCat("id: ", entry.id, "\n");
    if (!entry.type.empty()) absl::StrAppend(&text, "event: ", entry.type, "\n");
    for (absl::string_view line : absl::StrSplit(entry.data, '\n')) {
      absl::StrAppend(&text, "data: ", absl::StripSuffix(line, "\r"), "\n");
    }
    return text + "\n";
  };
  for (const std::string data :
       {"", "{}", "\n", "\r\n", "a\n", "\na", "a\r\r\nb", "\r", "a\n\nb\r", "x\ry",
        R"({"type":"suggestions","suggestions":[{"text":"Salom"}]})"}) {
    for (const std::string type : {"", "suggestions"}) {
      const StreamEntry entry{.id = "1700000000000-12", .type = type, .data = data};
      EXPECT_EQ(FormatServerSentEvent(entry), reference(entry)) << absl::CEscape(data);
      std::string batch = "prefix";
      AppendServerSentEvent(entry, &batch);
      AppendServerSentEvent(entry, &batch);
      EXPECT_EQ(batch, "prefix" + reference(entry) + reference(entry));
    }
  }
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
