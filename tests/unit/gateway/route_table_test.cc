#include "services/gateway/route_table.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "livecall/v1/ai_session.pb.h"
#include "livecall/v1/call_control.pb.h"

namespace livecall::gateway {
namespace {

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAreArray;

class RouteTableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<RouteTable> built = RouteTable::BuildServed();
    ASSERT_TRUE(built.ok()) << built.status();
    table_ = *std::move(built);
  }

  std::string MatchedRpc(absl::string_view method, absl::string_view path) {
    RouteMatch match = table_.Match(method, path);
    if (match.result != RouteMatch::Result::kMatched) return "";
    return match.route->method->full_name();
  }

  const Route& RouteOf(absl::string_view method, absl::string_view path) {
    RouteMatch match = table_.Match(method, path);
    EXPECT_EQ(match.result, RouteMatch::Result::kMatched) << method << " " << path;
    static const Route kNone;
    return match.route == nullptr ? kNone : *match.route;
  }

  RouteTable table_;
};

// The handler of each route is chosen when the table is built, not by comparing names per request.
TEST_F(RouteTableTest, EveryRouteIsBoundToItsHandlersKind) {
  EXPECT_EQ(RouteOf("POST", "/api/voip/call").kind, RouteKind::kBackendCall);
  EXPECT_EQ(RouteOf("GET", "/tts/a.wav").kind, RouteKind::kBackendCall);
  EXPECT_EQ(RouteOf("POST", "/twilio/voice").kind, RouteKind::kTwilioWebhook);
  EXPECT_EQ(RouteOf("GET", "/api/calls/CA1/events").kind, RouteKind::kLiveEvents);
  EXPECT_EQ(RouteOf("GET", "/ai/sessions/S1/events").kind, RouteKind::kLiveEvents);
  EXPECT_EQ(RouteOf("POST", "/api/auth/dev-login").kind, RouteKind::kDevLogin);
  EXPECT_EQ(RouteOf("GET", "/healthz").kind, RouteKind::kHealth);
  EXPECT_EQ(RouteOf("GET", "/openapi.json").kind, RouteKind::kOpenApi);
}

TEST_F(RouteTableTest, TheCallOrSessionARoutesPathNamesIsBound) {
  const Route& hold = RouteOf("POST", "/api/calls/CA1/hold");
  EXPECT_EQ(hold.owner, OwnedRecord::kCall);
  ASSERT_NE(hold.owner_field, nullptr);
  EXPECT_EQ(hold.owner_field->name(), "call_sid");
  const Route& turns = RouteOf("POST", "/api/ai/sessions/S1/turns");
  EXPECT_EQ(turns.owner, OwnedRecord::kSession);
  ASSERT_NE(turns.owner_field, nullptr);
  EXPECT_EQ(turns.owner_field->name(), "session_id");
  EXPECT_EQ(RouteOf("GET", "/api/customers/%2B998901112233").owner, OwnedRecord::kNone);
  EXPECT_EQ(RouteOf("POST", "/api/voip/call").owner_field, nullptr);
}

TEST_F(RouteTableTest, TheSignedAudioIdIsBoundOnTheRawAudioRouteOnly) {
  const Route& audio = RouteOf("GET", "/tts/a.wav");
  ASSERT_NE(audio.signed_file_name, nullptr);
  EXPECT_EQ(audio.signed_file_name->name(), "file_name");
  EXPECT_EQ(RouteOf("GET", "/api/calls/CA1").signed_file_name, nullptr);
}

TEST_F(RouteTableTest, OnlyStatusAndConferenceCallbacksAreReplaySafe) {
  EXPECT_TRUE(RouteOf("POST", "/twilio/status").replay_safe_webhook);
  EXPECT_TRUE(RouteOf("POST", "/twilio/conference").replay_safe_webhook);
  for (const char* path : {"/twilio/voice", "/twilio/gather", "/twilio/transcription",
                           "/twilio/dtmf", "/api/voip/call"}) {
    EXPECT_FALSE(RouteOf("POST", path).replay_safe_webhook) << path;
  }
}

TEST_F(RouteTableTest, HasEveryAnnotatedRpcAndAliasAndNothingElse) {
  std::vector<std::string> routes;
  for (const Route& route : table_.routes()) {
    routes.push_back(absl::StrCat(route.http_method, " ", route.path.pattern(), " ",
                                  route.grpc_path, route.is_alias ? " alias" : ""));
  }
  EXPECT_THAT(routes,
              UnorderedElementsAreArray({
                  "POST /api/voip/call /livecall.v1.CallControl/PlaceCall",
                  "POST /voip/call /livecall.v1.CallControl/PlaceCall alias",
                  "GET /api/calls/{call_sid} /livecall.v1.CallControl/GetCall",
                  "GET /api/calls /livecall.v1.CallControl/ListCalls",
                  "POST /api/calls/{call_sid}/hold /livecall.v1.CallControl/HoldCall",
                  "POST /api/calls/{call_sid}/resume /livecall.v1.CallControl/ResumeCall",
                  "POST /api/calls/{call_sid}/mute /livecall.v1.CallControl/MuteCall",
                  "POST /api/calls/{call_sid}/unmute /livecall.v1.CallControl/UnmuteCall",
                  "POST /api/calls/{call_sid}/hangup /livecall.v1.CallControl/HangupCall",
                  "POST /api/calls/{call_sid}/dtmf /livecall.v1.CallControl/SendDigits",
                  "POST /api/voice/token /livecall.v1.CallControl/CreateVoiceToken",
                  "POST /twilio/voice /livecall.v1.TwilioWebhooks/Voice",
                  "POST /twilio/status /livecall.v1.TwilioWebhooks/CallStatus",
                  "POST /twilio/conference /livecall.v1.TwilioWebhooks/ConferenceStatus",
                  "POST /twilio/transcription /livecall.v1.TwilioWebhooks/Transcription",
                  "POST /twilio/gather /livecall.v1.TwilioWebhooks/Gather",
                  "POST /twilio/dtmf /livecall.v1.TwilioWebhooks/DtmfAnnouncement",
                  "POST /ai/call/start /livecall.v1.AiSession/StartSession",
                  "POST /api/ai/call/start /livecall.v1.AiSession/StartSession alias",
                  "GET /ai/sessions/{session_id} /livecall.v1.AiSession/GetSession",
                  "GET /api/ai/sessions/{session_id} /livecall.v1.AiSession/GetSession alias",
                  "POST /ai/sessions/{session_id}/turns /livecall.v1.AiSession/AddTurn",
                  "POST /api/ai/sessions/{session_id}/turns /livecall.v1.AiSession/AddTurn alias",
                  "POST /ai/sessions/{session_id}/end /livecall.v1.AiSession/EndSession",
                  "POST /api/ai/sessions/{session_id}/end /livecall.v1.AiSession/EndSession alias",
                  "GET /api/customers/{phone_number} /livecall.v1.Context/LookupCustomer",
                  "GET /api/customers/{phone_number}/conversations "
                  "/livecall.v1.Context/ListSessions",
                  "GET /ai/sessions/{session_id}/events /livecall.v1.Context/WatchSessionEvents",
                  "GET /api/ai/sessions/{session_id}/events "
                  "/livecall.v1.Context/WatchSessionEvents alias",
                  "GET /api/calls/{call_sid}/events /livecall.v1.Context/WatchCallEvents",
                  "GET /tts/{file_name} /livecall.v1.SpeechAudio/GetSpeechAudio",
                  "POST /api/auth/dev-login /livecall.v1.Auth/DevLogin",
                  // The gateway's own, public.
                  "GET /healthz ",
                  "GET /openapi.json ",
              }));
}

TEST_F(RouteTableTest, ServesTheThreeServicesTwiliosWebhooksAndSpeechAudio) {
  std::vector<std::string> names;
  for (const auto* service : table_.services()) names.push_back(service->full_name());
  EXPECT_THAT(names, ElementsAre("livecall.v1.CallControl", "livecall.v1.AiSession",
                                 "livecall.v1.Context", "livecall.v1.TwilioWebhooks",
                                 "livecall.v1.SpeechAudio", "livecall.v1.Auth"));
}

TEST_F(RouteTableTest, SpeechAudioIsARawRouteWithItsOwnSignature) {
  RouteMatch audio = table_.Match("GET", "/tts/0123-1-abcd.wav");
  ASSERT_EQ(audio.result, RouteMatch::Result::kMatched);
  EXPECT_TRUE(audio.route->raw_response);
  EXPECT_EQ(audio.route->access, RouteAccess::kSignedUrl);
  ASSERT_EQ(audio.bindings.size(), 1u);
  EXPECT_EQ(audio.bindings[0].second, "0123-1-abcd.wav");
  RouteMatch call = table_.Match("GET", "/api/calls/CA1");
  ASSERT_EQ(call.result, RouteMatch::Result::kMatched);
  EXPECT_FALSE(call.route->raw_response);
}

TEST_F(RouteTableTest, WebhooksAndTheTokenRouteCarryTheirMarkers) {
  RouteMatch voice = table_.Match("POST", "/twilio/voice");
  ASSERT_EQ(voice.result, RouteMatch::Result::kMatched);
  EXPECT_TRUE(voice.route->twilio_webhook);
  EXPECT_EQ(voice.route->access, RouteAccess::kTwilioSignature);
  RouteMatch token = table_.Match("POST", "/api/voice/token");
  ASSERT_EQ(token.result, RouteMatch::Result::kMatched);
  EXPECT_EQ(token.route->access, RouteAccess::kBearer);
  EXPECT_FALSE(token.route->twilio_webhook);
  RouteMatch place = table_.Match("POST", "/api/voip/call");
  EXPECT_EQ(place.route->access, RouteAccess::kBearer);
  EXPECT_FALSE(place.route->twilio_webhook);
  RouteMatch login = table_.Match("POST", "/api/auth/dev-login");
  ASSERT_EQ(login.result, RouteMatch::Result::kMatched);
  EXPECT_EQ(login.route->access, RouteAccess::kPublic);
}

TEST_F(RouteTableTest, OnlyLiveEventWatchesAreServedAsServerSentEvents) {
  for (const Route& route : table_.routes()) {
    if (route.builtin) continue;  // The gateway's own routes have no RPC.
    EXPECT_EQ(route.server_sent_events, route.method->server_streaming()) << route.path.pattern();
  }
  EXPECT_TRUE(table_.Match("GET", "/api/calls/CA0123456789abcdef0123456789abcdef/events")
                  .route->server_sent_events);
}

TEST_F(RouteTableTest, StartSessionAndItsAliasRouteToTheSameRpc) {
  EXPECT_EQ(MatchedRpc("POST", "/ai/call/start"), "livecall.v1.AiSession.StartSession");
  EXPECT_EQ(MatchedRpc("POST", "/api/ai/call/start"), "livecall.v1.AiSession.StartSession");
  RouteMatch match = table_.Match("POST", "/ai/call/start");
  EXPECT_TRUE(match.route->body_is_request);
  EXPECT_EQ(match.route->grpc_path, "/livecall.v1.AiSession/StartSession");
  EXPECT_FALSE(match.route->summary.empty());
}

TEST_F(RouteTableTest, PlaceCallAndItsAlias) {
  EXPECT_EQ(MatchedRpc("POST", "/api/voip/call"), "livecall.v1.CallControl.PlaceCall");
  EXPECT_EQ(MatchedRpc("POST", "/voip/call"), "livecall.v1.CallControl.PlaceCall");
}

TEST_F(RouteTableTest, PathVariableBindsItsField) {
  RouteMatch match = table_.Match("GET", "/api/calls/CA0123");
  ASSERT_EQ(match.result, RouteMatch::Result::kMatched);
  EXPECT_EQ(match.route->method->full_name(), "livecall.v1.CallControl.GetCall");
  ASSERT_EQ(match.bindings.size(), 1u);
  EXPECT_EQ(match.bindings[0].first,
            livecall::v1::GetCallRequest::descriptor()->FindFieldByName("call_sid"));
  EXPECT_EQ(match.bindings[0].second, "CA0123");
  EXPECT_FALSE(match.route->body_is_request);
}

TEST_F(RouteTableTest, PathVariableIsPercentDecoded) {
  RouteMatch match = table_.Match("GET", "/api/customers/%2B998%2090%20111");
  ASSERT_EQ(match.result, RouteMatch::Result::kMatched);
  EXPECT_EQ(match.bindings[0].second, "+998 90 111");
  // An encoded slash stays inside the one segment.
  match = table_.Match("GET", "/api/calls/a%2Fb");
  ASSERT_EQ(match.result, RouteMatch::Result::kMatched);
  EXPECT_EQ(match.bindings[0].second, "a/b");
}

TEST_F(RouteTableTest, BadPercentEncodingIsABadRequest) {
  RouteMatch match = table_.Match("GET", "/api/calls/CA%zz");
  EXPECT_EQ(match.result, RouteMatch::Result::kBadRequest);
  EXPECT_EQ(match.error.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(match.error.message()), ::testing::HasSubstr("call_sid"));
}

TEST_F(RouteTableTest, WrongMethodListsTheAllowedMethods) {
  RouteMatch match = table_.Match("DELETE", "/api/calls/CA1");
  EXPECT_EQ(match.result, RouteMatch::Result::kMethodNotAllowed);
  EXPECT_THAT(match.allowed_methods, ElementsAre("GET"));
  match = table_.Match("GET", "/ai/call/start");
  EXPECT_EQ(match.result, RouteMatch::Result::kMethodNotAllowed);
  EXPECT_THAT(match.allowed_methods, ElementsAre("POST"));
}

// Match compares a path only with the templates of its segment count: every route is still found
// by its own path, and a path longer than every template is simply not found.
TEST_F(RouteTableTest, EveryRouteIsFoundByItsOwnPath) {
  ASSERT_FALSE(table_.routes().empty());
  for (const Route& route : table_.routes()) {
    std::string path;
    for (const PathTemplate::Segment& segment : route.path.segments()) {
      absl::StrAppend(&path, "/", segment.is_variable ? "x1" : segment.literal);
    }
    const RouteMatch match = table_.Match(route.http_method, path);
    ASSERT_EQ(match.result, RouteMatch::Result::kMatched) << route.http_method << " " << path;
    EXPECT_EQ(match.route, &route) << route.http_method << " " << path;
  }
  EXPECT_EQ(table_.Match("GET", "/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p").result,
            RouteMatch::Result::kNotFound);
}

TEST_F(RouteTableTest, UnknownPathsAreNotFound) {
  EXPECT_EQ(table_.Match("GET", "/nope").result, RouteMatch::Result::kNotFound);
  EXPECT_EQ(table_.Match("GET", "/").result, RouteMatch::Result::kNotFound);
  EXPECT_EQ(table_.Match("GET", "").result, RouteMatch::Result::kNotFound);
  EXPECT_EQ(table_.Match("GET", "/api/call").result, RouteMatch::Result::kNotFound);
  EXPECT_EQ(table_.Match("GET", "/api/calls/").result, RouteMatch::Result::kNotFound);
  EXPECT_EQ(table_.Match("GET", "/api/calls/CA1/extra").result, RouteMatch::Result::kNotFound);
  EXPECT_EQ(table_.Match("POST", "/ai/call/start/").result, RouteMatch::Result::kNotFound);
  EXPECT_EQ(table_.Match("POST", "//ai/call/start").result, RouteMatch::Result::kNotFound);
  // Literals are case-sensitive, as paths are.
  EXPECT_EQ(table_.Match("POST", "/AI/call/start").result, RouteMatch::Result::kNotFound);
}

TEST_F(RouteTableTest, RpcsWithoutAnHttpOptionAreNotRouted) {
  for (const Route& route : table_.routes()) {
    if (route.builtin) continue;
    EXPECT_NE(route.method->name(), "CreateSession");
  }
}

TEST(PathTemplateTest, RejectsVariablesThatAreNotSingularStringFields) {
  const auto* request = livecall::v1::StartSessionRequest::descriptor();
  EXPECT_FALSE(PathTemplate::Parse("/x/{nope}", request).ok());
  EXPECT_FALSE(PathTemplate::Parse("/x/{call_sid=*}", request).ok());
  EXPECT_FALSE(PathTemplate::Parse("/x/*", request).ok());
  EXPECT_FALSE(PathTemplate::Parse("/x/{call_sid}/{call_sid}", request).ok());
  EXPECT_FALSE(PathTemplate::Parse("x/{call_sid}", request).ok());
  EXPECT_FALSE(PathTemplate::Parse("/x//y", request).ok());
  EXPECT_FALSE(PathTemplate::Parse("/x:verb", request).ok());
  const auto* session = livecall::v1::Session::descriptor();
  EXPECT_FALSE(PathTemplate::Parse("/x/{customer}", session).ok());     // A message.
  EXPECT_FALSE(PathTemplate::Parse("/x/{suggestions}", session).ok());  // Repeated.
  EXPECT_TRUE(PathTemplate::Parse("/x/{call_sid}/y", request).ok());
}

TEST(PathTemplateTest, MatchesLiteralsAndCollectsRawVariables) {
  auto path =
      PathTemplate::Parse("/calls/{call_sid}/hold", livecall::v1::GetCallRequest::descriptor());
  ASSERT_TRUE(path.ok());
  PathTemplate::RawValues values;
  EXPECT_TRUE(path->Match({"calls", "CA%31", "hold"}, &values));
  EXPECT_THAT(values, ElementsAre("CA%31"));
  EXPECT_FALSE(path->Match({"calls", "CA1", "mute"}, &values));
  EXPECT_FALSE(path->Match({"calls", "", "hold"}, &values));
}

TEST(RouteTableBuildTest, UnknownServiceIsNotFound) {
  EXPECT_EQ(RouteTable::Build({"livecall.v1.Nope"}).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace livecall::gateway
