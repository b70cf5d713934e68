// Live events through the gateway as Server-Sent Events: what a browser's EventSource sees while
// a conversation goes on, resuming with Last-Event-ID, and the errors for bad requests.

#include <functional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/enum_json.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "livecall/v1/call_control.pb.h"
#include "livecall/v1/context.pb.h"
#include "tests/integration/suite_test.h"
#include "tests/support/json.h"
#include "tests/support/sse.h"
#include "tests/support/status_matchers.h"

namespace livecall::testing {
namespace {

using ::livecall::v1::LiveEvent;
using ::livecall::v1::Session;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// Reads an SSE stream until `enough` says so (or `timeout`), like EventSource would, as the
// suite's supervisor, who may watch any call or session.
SseResult ReadEvents(const std::string& url, std::vector<std::string> headers,
                     const std::function<bool(const std::vector<SseEvent>&)>& enough,
                     absl::Duration timeout = absl::Seconds(10)) {
  headers.push_back("Authorization: Bearer " + TestToken(SuiteTest::kSupervisor, "supervisor"));
  return ReadSseEvents(url, headers, enough, timeout);
}

bool HasType(const std::vector<SseEvent>& events, const std::string& type) {
  for (const SseEvent& event : events) {
    if (event.type == type) return true;
  }
  return false;
}

class LiveEventsTest : public SuiteTest {
 protected:
  static void SetUpTestSuite() { StartSuite(IntegrationSuiteOptions()); }
  static void TearDownTestSuite() { StopSuite(); }

  static std::string EventsUrl(const std::string& session_id) {
    return absl::StrCat("http://127.0.0.1:", suite().http_port(), "/ai/sessions/", session_id,
                        "/events");
  }
};

TEST_F(LiveEventsTest, ABrowserSeesTheTranscriptAndSuggestionsAsTheyHappen) {
  Session session;
  StartSession("+998977770707", &session);
  // The turn is posted once the stream is open, so the events arrive live, not as history.
  bool posted = false;
  SseResult result =
      ReadEvents(EventsUrl(session.session_id()), {}, [&](const std::vector<SseEvent>& events) {
        if (!posted && !events.empty()) {
          posted = true;
          HttpResponse turn = Post("/ai/sessions/" + session.session_id() + "/turns",
                                   R"({"speaker":"customer","text":"my internet is down"})");
          EXPECT_EQ(turn.status, 200) << turn;
        }
        return HasType(events, "suggestions");
      });
  EXPECT_EQ(result.status, 200);
  EXPECT_THAT(result.content_type, StartsWith("text/event-stream"));
  EXPECT_THAT(result.raw, StartsWith("retry: 3000\n"));
  ASSERT_GE(result.events.size(), 3u);
  EXPECT_EQ(result.events[0].type, "session.started");
  EXPECT_EQ(result.events[1].type, "transcript");
  LiveEvent transcript;
  ASSERT_THAT(ParseJsonMessage(result.events[1].data, &transcript), IsOk());
  EXPECT_EQ(transcript.turn().text(), "my internet is down");
  EXPECT_EQ(transcript.session_id(), session.session_id());
  LiveEvent suggestions;
  ASSERT_THAT(ParseJsonMessage(result.events[2].data, &suggestions), IsOk());
  ASSERT_FALSE(suggestions.suggestions().suggestions().empty());
  EXPECT_EQ(suggestions.suggestions().suggestions(0).source(), "internet-outage-en");
}

TEST_F(LiveEventsTest, LastEventIdResumesWithoutRepeatsOrGaps) {
  Session session;
  StartSession("+998901112233", &session);
  // Two topics, so each turn changes the suggestions (unchanged ones are not re-sent).
  for (const char* text : {"internetim ishlamayapti", "pulim ikki marta yechildi"}) {
    ASSERT_EQ(Post("/ai/sessions/" + session.session_id() + "/turns",
                   absl::StrCat(R"({"speaker":"customer","text":")", text, R"("})"))
                  .status,
              200);
  }
  SseResult all =
      ReadEvents(EventsUrl(session.session_id()), {},
                 [](const std::vector<SseEvent>& events) { return events.size() >= 5; });
  ASSERT_EQ(all.events.size(), 5u);
  SseResult rest =
      ReadEvents(EventsUrl(session.session_id()), {"Last-Event-ID: " + all.events[1].id},
                 [](const std::vector<SseEvent>& events) { return events.size() >= 3; });
  ASSERT_EQ(rest.events.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(rest.events[i].id, all.events[i + 2].id);
  // The query form, for clients that cannot set headers, is the same.
  SseResult by_query =
      ReadEvents(EventsUrl(session.session_id()) + "?lastEventId=" + all.events[3].id, {},
                 [](const std::vector<SseEvent>& e) { return !e.empty(); });
  ASSERT_FALSE(by_query.events.empty());
  EXPECT_EQ(by_query.events[0].id, all.events[4].id);
}

TEST_F(LiveEventsTest, ACallsStreamShowsEveryStatusOfTheSandboxCall) {
  livecall::v1::Call call;
  PlaceCall("+998901112233", "Salom", &call);
  SseResult result = ReadEvents(absl::StrCat("http://127.0.0.1:", suite().http_port(),
                                             "/api/calls/", call.call_sid(), "/events"),
                                {}, [](const std::vector<SseEvent>& events) {
                                  for (const SseEvent& event : events) {
                                    if (absl::StrContains(event.data, "\"status\":\"completed\""))
                                      return true;
                                  }
                                  return false;
                                });
  std::vector<std::string> statuses;
  for (const SseEvent& event : result.events) {
    ASSERT_EQ(event.type, "call.status");
    LiveEvent parsed;
    ASSERT_THAT(ParseJsonMessage(event.data, &parsed), IsOk());
    EXPECT_EQ(parsed.call_sid(), call.call_sid());
    statuses.push_back(EnumJsonName(parsed.call().status()));
  }
  EXPECT_EQ(statuses, (std::vector<std::string>{"queued", "ringing", "in-progress", "completed"}));
}

TEST_F(LiveEventsTest, BadRequestsGetJsonErrors) {
  ExpectErrorResponse(Get("/ai/sessions/not-a-session/events"), 404, "NOT_FOUND");
  Session session;
  StartSession("+998901112233", &session);
  SseResult bad_resume = ReadEvents(EventsUrl(session.session_id()), {"Last-Event-ID: yesterday"},
                                    [](const std::vector<SseEvent>&) { return true; });
  EXPECT_EQ(bad_resume.status, 400);
  EXPECT_THAT(bad_resume.raw, HasSubstr("INVALID_ARGUMENT"));
  ExpectErrorResponse(Get("/api/calls/CA-nope/events"), 404, "NOT_FOUND");
  ExpectSuiteHealthy();
}

TEST_F(LiveEventsTest, AClosedBrowserLeavesNothingBehind) {
  Session session;
  StartSession("+998901112233", &session);
  for (int i = 0; i < 20; ++i) {
    ReadEvents(EventsUrl(session.session_id()), {},
               [](const std::vector<SseEvent>& events) { return !events.empty(); });
  }
  // Each client went away; the gateway still answers and streams to the next one.
  SseResult again = ReadEvents(EventsUrl(session.session_id()), {},
                               [](const std::vector<SseEvent>& events) { return !events.empty(); });
  EXPECT_EQ(again.status, 200);
  ExpectSuiteHealthy();
}

}  // namespace
}  // namespace livecall::testing
