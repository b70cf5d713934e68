#include "services/gateway/sse_handler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/event_hub.h"
#include "common/live_events.h"
#include "common/redis_pool.h"
#include "services/gateway/http_server.h"
#include "services/gateway/route_table.h"
#include "tests/support/redis_fixture.h"
#include "tests/support/sse.h"
#include "tests/support/status_matchers.h"
#include "tests/support/wait_for.h"

namespace livecall::gateway {
namespace {

using ::livecall::testing::IsOk;

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

// The live-event routes through the real server, hub and Redis: the hub's thread hands the events
// of each read to the connections itself (response_stream.h).
class LiveEventsServer final : public HttpHandler {
 public:
  explicit LiveEventsServer(EventHub* hub) : hub_(hub), routes_(*RouteTable::BuildServed()) {}
  void Handle(const HttpRequest& request, const std::string&, const std::string&,
              HttpResponder respond) override {
    const absl::string_view target(request.target().data(), request.target().size());
    const size_t question = target.find('?');
    const absl::string_view path = target.substr(0, question);
    const absl::string_view query =
        question == absl::string_view::npos ? "" : target.substr(question + 1);
    respond(ServeLiveEvents(hub_, routes_.Match("GET", path), request, query));
  }

 private:
  EventHub* const hub_;
  const RouteTable routes_;
};

class SseEndToEndTest : public livecall::testing::RedisFixture {
 protected:
  void TearDown() override {
    if (server_) server_->Shutdown(absl::ZeroDuration());
    if (hub_) hub_->Stop();
  }

  void StartServer(HttpServerOptions options = {}) {
    hub_ = std::make_unique<EventHub>(EventHub::Options{
        .redis = redis_server_.parsed_url(), .sweep = absl::Hours(1), .heartbeat = absl::Hours(1)});
    hub_->Start();
    handler_ = std::make_unique<LiveEventsServer>(hub_.get());
    options.address = "127.0.0.1:0";
    server_ = std::make_unique<HttpServer>(options, handler_.get());
    ASSERT_THAT(server_->Start(), IsOk());
  }

  // `count` events of `data_size` bytes in one atomic write and one notification, as the
  // services write: the hub reads them in as few reads as its batch allows. Returns them.
  std::vector<StreamEntry> AddBurst(const std::string& stream, int count, size_t data_size) {
    std::vector<std::vector<std::string>> commands = {{"MULTI"}};
    std::vector<StreamEntry> entries;
    for (int i = 0; i < count; ++i) {
      std::string data = absl::StrCat("{\"n\":", i, ",\"pad\":\"");
      data.append(data_size > data.size() + 2 ? data_size - data.size() - 2 : 0, 'x');
      data.append("\"}");
      entries.push_back({.type = "transcript", .data = data});
      commands.push_back({"XADD", stream, "*", "type", "transcript", "data", data});
    }
    commands.push_back({"PUBLISH", kLiveEventsChannel, stream});
    commands.push_back({"EXEC"});
    absl::StatusOr<std::vector<RedisReply>> replies = redis_->Pipeline(commands);
    EXPECT_THAT(replies.status(), IsOk());
    if (!replies.ok()) return {};
    const redisReply& exec = *replies->back();
    EXPECT_EQ(exec.type, REDIS_REPLY_ARRAY);
    for (int i = 0; i < count && exec.type == REDIS_REPLY_ARRAY; ++i) {
      entries[i].id = ReplyString(*exec.element[i]);
    }
    return entries;
  }

  std::string Url(const std::string& path) const {
    return absl::StrCat("http://127.0.0.1:", server_->port(), path);
  }

  std::unique_ptr<EventHub> hub_;
  std::unique_ptr<LiveEventsServer> handler_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(SseEndToEndTest, ABurstReadAtOnceArrivesInOrderFramedEventByEvent) {
  StartServer();
  const std::string session_id = NewSessionId(-1);
  const std::string stream = SessionEventsKey(session_id);
  // More than one page of the hub's XREAD (200): the pages go out one after another.
  constexpr int kCount = 450;
  std::vector<StreamEntry> sent;
  livecall::testing::SseResult result;
  std::thread reader([&] {
    result = livecall::testing::ReadSseEvents(
        Url(absl::StrCat("/ai/sessions/", session_id, "/events")), {},
        [&](const std::vector<livecall::testing::SseEvent>& events) {
          return events.size() >= kCount;
        });
  });
  // Published once the stream is watched, so the burst comes live, not as history.
  ASSERT_TRUE(
      livecall::testing::WaitFor([&] { return hub_->subscriber_count() == 1; }, absl::Seconds(10)));
  sent = AddBurst(stream, kCount, 100);
  reader.join();

  ASSERT_EQ(result.status, 200);
  ASSERT_EQ(result.events.size(), static_cast<size_t>(kCount));
  std::string expected_raw = "retry: 3000\n: connected\n\n";
  for (int i = 0; i < kCount; ++i) {
    EXPECT_EQ(result.events[i].id, sent[i].id) << i;
    EXPECT_EQ(result.events[i].data, sent[i].data) << i;
    expected_raw += FormatServerSentEvent(sent[i]);
  }
  EXPECT_EQ(result.raw, expected_raw);

  // Resuming after the 300th event gives the 150 after it, from history.
  livecall::testing::SseResult resumed =
      livecall::testing::ReadSseEvents(Url(absl::StrCat("/ai/sessions/", session_id, "/events")),
                                       {absl::StrCat("Last-Event-ID: ", sent[299].id)},
                                       [&](const std::vector<livecall::testing::SseEvent>& events) {
                                         return events.size() >= kCount - 300;
                                       });
  ASSERT_EQ(resumed.events.size(), static_cast<size_t>(kCount - 300));
  EXPECT_EQ(resumed.events.front().id, sent[300].id);
  EXPECT_EQ(resumed.events.back().id, sent.back().id);
}

TEST_F(SseEndToEndTest, AClientThatStopsReadingIsDisconnected) {
  HttpServerOptions options;
  options.max_stream_pending_bytes = 64 * 1024;
  StartServer(options);
  const std::string session_id = NewSessionId(-1);
  const std::string stream = SessionEventsKey(session_id);

  // A client that sends its request and never reads, with a small receive window.
  const int client = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(client, 0);
  const int small = 4096;
  setsockopt(client, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(server_->port()));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(client, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  const std::string request =
      absl::StrCat("GET /ai/sessions/", session_id, "/events HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_EQ(write(client, request.data(), request.size()), static_cast<ssize_t>(request.size()));
  ASSERT_TRUE(
      livecall::testing::WaitFor([&] { return hub_->subscriber_count() == 1; }, absl::Seconds(10)));

  // Far more than the socket buffers and the cap hold: the stream must give up on the client,
  // stopping its subscription.
  for (int burst = 0; burst < 64 && hub_->subscriber_count() == 1; ++burst) {
    AddBurst(stream, 16, 16 * 1024);
  }
  EXPECT_TRUE(
      livecall::testing::WaitFor([&] { return hub_->subscriber_count() == 0; }, absl::Seconds(10)));
  close(client);
}

}  // namespace
}  // namespace livecall::gateway
