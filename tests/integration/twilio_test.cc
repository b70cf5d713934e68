// Issue 3 end to end: the four real binaries with TWILIO_* pointed at FakeTwilio (a real HTTP
// server in this process that checks every request against Twilio's OpenAPI description). Twilio's
// side of each webhook is played by signing requests exactly as Twilio does.

#include <openssl/evp.h>

#include <map>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/jwt.h"
#include "common/redis_pool.h"
#include "gmock/gmock.h"
#include "livecall/v1/call_control.pb.h"
#include "livecall/v1/context.pb.h"
#include "tests/fakes/fake_twilio.h"
#include "tests/integration/twilio_suite_test.h"
#include "tests/support/json.h"
#include "tests/support/status_matchers.h"
#include "tests/support/wait_for.h"
#include "tests/support/xml.h"

namespace livecall::testing {
namespace {

using ::livecall::fakes::FakeTwilio;
using ::livecall::fakes::TwilioApiRequest;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;

class TwilioTest : public TwilioSuiteTest {
 protected:
  static void SetUpTestSuite() { StartTwilioSuite({}); }
  // A JSON-bodied webhook as Twilio sends one: bodySHA256 (hex SHA-256 of the body) in the URL,
  // and the URL alone signed.
  static HttpResponse JsonWebhook(const std::string& path, const std::string& body) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_Digest(body.data(), body.size(), digest, &length, EVP_sha256(), nullptr);
    const std::string target = absl::StrCat(
        path, "?bodySHA256=",
        absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), length)));
    return HttpRequest(
        "POST", suite().base_url() + target, body,
        {{"Content-Type", "application/json"},
         {"X-Twilio-Signature",
          fakes::TwilioTestSignature(kAuthToken, absl::StrCat(kPublicUrl, target), {})}});
  }

  static std::string AgentBearer(const std::string& agent) {
    return absl::StrCat(
        "Bearer ",
        SignJwtHs256(R"({"alg":"HS256","typ":"JWT"})",
                     absl::StrCat(R"({"sub":")", agent, R"(","exp":)",
                                  absl::ToUnixSeconds(absl::Now() + absl::Hours(1)), "}"),
                     kTestJwtSecret));
  }

  // As the suite's supervisor unless `headers` carry their own Authorization ("" for none).
  static HttpResponse PostJson(const std::string& path, const std::string& body,
                               std::map<std::string, std::string> headers = {}) {
    if (!headers.contains("Authorization")) {
      headers.merge(BearerHeader(kSupervisor, "supervisor"));
    } else if (headers["Authorization"].empty()) {
      headers.erase("Authorization");
    }
    return HttpRequest("POST", suite().base_url() + path, body, headers);
  }

  static livecall::v1::Call GetCall(const std::string& sid) {
    livecall::v1::Call call;
    HttpResponse response = Get("/api/calls/" + sid);
    EXPECT_EQ(response.status, 200) << response;
    EXPECT_THAT(ParseJsonMessage(response.body, &call), IsOk()) << response;
    return call;
  }

  // The browser agent `identity` calls +998901112233 from its leg `agent_leg`; answers the
  // customer's leg as call-control recorded it.
  static std::string BrowserCall(const std::string& agent_leg, const std::string& identity) {
    HttpResponse answer =
        Webhook("/twilio/voice", {{"AccountSid", "AC00000000000000000000000000000000"},
                                  {"ApplicationSid", "AP00000000000000000000000000000000"},
                                  {"CallSid", agent_leg},
                                  {"CallStatus", "ringing"},
                                  {"Direction", "inbound"},
                                  {"From", "client:" + identity},
                                  {"Caller", "client:" + identity},
                                  {"To", "+998901112233"}});
    EXPECT_EQ(answer.status, 200) << answer;
    EXPECT_THAT(answer.headers["content-type"], HasSubstr("text/xml"));
    absl::StatusOr<XmlNode> twiml = ParseXml(answer.body);
    EXPECT_THAT(twiml, IsOk()) << answer.body;
    if (twiml.ok()) {
      EXPECT_THAT(twiml->ChildNames(), ElementsAre("Start", "Dial"));
      const XmlNode* conference = twiml->children[1].Child("Conference");
      EXPECT_NE(conference, nullptr);
      if (conference != nullptr) {
        EXPECT_EQ(conference->text, "call-" + agent_leg);
      }
    }
    return GetCall(agent_leg).call_sid();
  }

  // For looking at (or ageing) what call-control keeps in the suite's Redis.
  static RedisPool::Options SuiteRedis() { return {.url = suite().redis().parsed_url()}; }
};

TEST_F(TwilioTest, AnAgentGetsAVoiceTokenThatVerifiesByTwiliosRules) {
  HttpResponse anonymous = PostJson("/api/voice/token", "{}", {{"Authorization", ""}});
  ExpectErrorResponse(anonymous, 401, "UNAUTHENTICATED");
  EXPECT_THAT(anonymous.headers["www-authenticate"], HasSubstr("Bearer"));

  HttpResponse response = PostJson("/api/voice/token", R"({"ttlSeconds":600})",
                                   {{"Authorization", AgentBearer("agent-7")}});
  ASSERT_EQ(response.status, 200) << response;
  livecall::v1::VoiceToken token;
  ASSERT_THAT(ParseJsonMessage(response.body, &token), IsOk());
  EXPECT_EQ(token.identity(), "agent_2D7");
  absl::StatusOr<VerifiedJwt> jwt = VerifyJwtHs256(token.token(), kApiKeySecret);
  ASSERT_THAT(jwt, IsOk());
  EXPECT_EQ(jwt->header.fields().at("cty").string_value(), "twilio-fpa;v=1");
  EXPECT_EQ(jwt->StringClaim("iss"), "SK00000000000000000000000000000000");
  EXPECT_EQ(jwt->StringClaim("sub"), "AC00000000000000000000000000000000");
  const double lifetime = jwt->payload.fields().at("exp").number_value() -
                          jwt->payload.fields().at("iat").number_value();
  EXPECT_EQ(lifetime, 600);
  const auto& grants = jwt->payload.fields().at("grants").struct_value().fields();
  EXPECT_EQ(grants.at("identity").string_value(), "agent_2D7");
}

TEST_F(TwilioTest, BrowserCallIsAConferenceThatHoldMuteAndHangupReallyControl) {
  const std::string agent_leg = "CA10000000000000000000000000000001";
  const size_t dialled_before = twilio_->Requests("CreateParticipant").size();
  const std::string customer = BrowserCall(agent_leg, "agent_2D7");
  std::vector<TwilioApiRequest> dialled = twilio_->Requests("CreateParticipant");
  ASSERT_THAT(dialled, SizeIs(dialled_before + 1));
  EXPECT_EQ(dialled.back().path_params.at("ConferenceSid"), "call-" + agent_leg);
  EXPECT_EQ(dialled.back().Field("To"), "+998901112233");
  EXPECT_EQ(dialled.back().Field("StatusCallback"), "https://livecall.example.com/twilio/status");

  livecall::v1::Call call = GetCall(customer);
  EXPECT_EQ(call.agent_call_sid(), agent_leg);
  EXPECT_EQ(call.provider(), "twilio");
  ASSERT_THAT(call.session_id(), Not(IsEmpty()));  // ai-session started for the customer.
  HttpResponse session = Get("/ai/sessions/" + call.session_id());
  ASSERT_EQ(session.status, 200) << session;

  // Not answered yet: call control is a conflict.
  ExpectErrorResponse(Post("/api/calls/" + agent_leg + "/hold", ""), 409, "FAILED_PRECONDITION");
  ASSERT_EQ(Webhook("/twilio/status",
                    {{"CallSid", customer}, {"CallStatus", "in-progress"}, {"SequenceNumber", "2"}})
                .status,
            204);
  EXPECT_EQ(GetCall(agent_leg).status(), livecall::v1::CALL_STATUS_IN_PROGRESS);

  const size_t updates_before = twilio_->Requests("UpdateParticipant").size();
  livecall::v1::Call held;
  HttpResponse hold = Post("/api/calls/" + agent_leg + "/hold", "");
  ASSERT_EQ(hold.status, 200) << hold;
  ASSERT_THAT(ParseJsonMessage(hold.body, &held), IsOk());
  EXPECT_TRUE(held.on_hold());
  ASSERT_EQ(Post("/api/calls/" + customer + "/resume", "").status, 200);
  // What web code sends for "no fields" (`{}`, application/json) is no body.
  ASSERT_EQ(Post("/api/calls/" + agent_leg + "/mute", "{}").status, 200);
  ASSERT_EQ(Post("/api/calls/" + agent_leg + "/unmute", "").status, 200);
  HttpResponse dtmf = Post("/api/calls/" + agent_leg + "/dtmf", R"({"digits":"1#"})");
  ASSERT_EQ(dtmf.status, 200) << dtmf;
  ExpectErrorResponse(Post("/api/calls/" + agent_leg + "/dtmf", R"({"digits":"<x>"})"), 400,
                      "INVALID_ARGUMENT");
  std::vector<TwilioApiRequest> updates = twilio_->Requests("UpdateParticipant");
  ASSERT_THAT(updates, SizeIs(updates_before + 5));
  EXPECT_EQ(updates[updates_before].path_params.at("CallSid"), customer);
  EXPECT_EQ(updates[updates_before].Field("Hold"), "true");
  EXPECT_THAT(updates[updates_before].Field("HoldUrl"), Not(IsEmpty()));
  EXPECT_EQ(updates[updates_before + 1].Field("Hold"), "false");
  EXPECT_EQ(updates[updates_before + 2].Field("Muted"), "true");
  EXPECT_EQ(updates[updates_before + 3].Field("Muted"), "false");
  EXPECT_THAT(updates[updates_before + 4].Field("AnnounceUrl"),
              HasSubstr("/twilio/dtmf?digits=1%23"));

  // What the customer says reaches the AI session as a customer turn.
  ASSERT_EQ(Webhook("/twilio/transcription",
                    {{"TranscriptionEvent", "transcription-content"},
                     {"CallSid", agent_leg},
                     {"TranscriptionSid", "GT00000000000000000000000000000001"},
                     {"SequenceId", "2"},
                     {"Track", "outbound_track"},
                     {"Final", "true"},
                     {"TranscriptionData",
                      R"({"transcript":"Salom, internetim ishlamayapti","confidence":0.93})"}})
                .status,
            204);
  livecall::v1::Session with_turn;
  ASSERT_THAT(ParseJsonMessage(Get("/ai/sessions/" + call.session_id()).body, &with_turn), IsOk());
  ASSERT_THAT(with_turn.conversation(), Not(IsEmpty()));
  EXPECT_EQ(with_turn.conversation().rbegin()->speaker(), "customer");
  EXPECT_EQ(with_turn.conversation().rbegin()->text(), "Salom, internetim ishlamayapti");
  // The same as JSON (Twilio's docs show these payloads so): its fields reach call-control too.
  ASSERT_EQ(
      JsonWebhook(
          "/twilio/transcription",
          absl::StrCat(R"({"TranscriptionEvent":"transcription-content","CallSid":")", agent_leg,
                       R"(","TranscriptionSid":"GT00000000000000000000000000000001",)",
                       R"("SequenceId":3,"Track":"outbound_track","Final":true,)",
                       R"("TranscriptionData":{"transcript":"Modem yonmayapti",)",
                       R"("confidence":0.9}})"))
          .status,
      204);
  ASSERT_THAT(ParseJsonMessage(Get("/ai/sessions/" + call.session_id()).body, &with_turn), IsOk());
  EXPECT_EQ(with_turn.conversation().rbegin()->speaker(), "customer");
  EXPECT_EQ(with_turn.conversation().rbegin()->text(), "Modem yonmayapti");

  const size_t ends_before = twilio_->Requests("UpdateConference").size();
  livecall::v1::Call ended;
  HttpResponse hangup = Post("/api/calls/" + agent_leg + "/hangup", "");
  ASSERT_EQ(hangup.status, 200) << hangup;
  ASSERT_THAT(ParseJsonMessage(hangup.body, &ended), IsOk());
  EXPECT_EQ(ended.status(), livecall::v1::CALL_STATUS_COMPLETED);
  std::vector<TwilioApiRequest> ends = twilio_->Requests("UpdateConference");
  ASSERT_THAT(ends, SizeIs(ends_before + 1));
  EXPECT_EQ(ends.back().path_params.at("Sid"), call.conference_sid());
  EXPECT_EQ(ends.back().Field("Status"), "completed");
  ExpectErrorResponse(Post("/api/calls/" + agent_leg + "/hold", ""), 409, "FAILED_PRECONDITION");
}

TEST_F(TwilioTest, UnsignedWebhooksAreRefusedAndChangeNothing) {
  const std::string customer = BrowserCall("CA10000000000000000000000000000002", "agent_2D8");
  const int requests_before = twilio_->total_requests();
  const Form completed = {{"CallSid", customer}, {"CallStatus", "completed"}};
  ExpectErrorResponse(Webhook("/twilio/status", completed, "-"), 403, "PERMISSION_DENIED");
  ExpectErrorResponse(Webhook("/twilio/status", completed, "RSOYDt4T1cUTdK1PDd93/VVr8B8="), 403,
                      "PERMISSION_DENIED");
  ExpectErrorResponse(Webhook("/twilio/voice",
                              {{"CallSid", "CA10000000000000000000000000000003"},
                               {"From", "client:mallory"},
                               {"To", "+998901112233"}},
                              "-"),
                      403, "PERMISSION_DENIED");
  // Well signed, but with a Timestamp that is no date: a voice webhook cannot be shown not to be
  // a replay. (A status callback can be replayed harmlessly and is taken: see below.)
  HttpResponse undated =
      Webhook("/twilio/voice", {{"CallSid", "CA10000000000000000000000000000003"},
                                {"From", "client:mallory"},
                                {"To", "+998901112233"},
                                {"Timestamp", "not a date"}});
  ExpectErrorResponse(undated, 403, "PERMISSION_DENIED");
  EXPECT_THAT(undated.body, HasSubstr("Timestamp"));
  EXPECT_EQ(GetCall(customer).status(), livecall::v1::CALL_STATUS_QUEUED);
  EXPECT_EQ(twilio_->total_requests(), requests_before);
  EXPECT_EQ(Get("/api/calls/CA10000000000000000000000000000003").status, 404);

  // A status callback signed by Twilio but delivered late (an hour after its Timestamp) still
  // moves the call forward: Twilio would not retry a 403, and a replay cannot move it back.
  const std::string an_hour_ago = absl::FormatTime(
      "%a, %d %b %Y %H:%M:%S +0000", absl::Now() - absl::Hours(1), absl::UTCTimeZone());
  EXPECT_EQ(Webhook("/twilio/status",
                    {{"CallSid", customer}, {"CallStatus", "ringing"}, {"Timestamp", an_hour_ago}})
                .status,
            204);
  EXPECT_EQ(GetCall(customer).status(), livecall::v1::CALL_STATUS_RINGING);
}

// A customer calls our number: the AI session starts with nobody's name on it; the agent whose
// browser answers (its conference participant-join, labelled "agent-<identity>") gets it, and
// reads it and its live events; any other agent still gets 403.
TEST_F(TwilioTest, TheAgentWhoAnswersAnInboundCallGetsItsAiSession) {
  // agent-9 holds a voice token, so the call rings its browser.
  ASSERT_EQ(PostJson("/api/voice/token", "{}", {{"Authorization", AgentBearer("agent-9")}}).status,
            200);
  const size_t rung_before = twilio_->Requests("CreateParticipant").size();
  const std::string customer = "CA20000000000000000000000000000001";
  HttpResponse answer =
      Webhook("/twilio/voice", {{"AccountSid", "AC00000000000000000000000000000000"},
                                {"CallSid", customer},
                                {"CallStatus", "ringing"},
                                {"Direction", "inbound"},
                                {"From", "+998901112233"},
                                {"To", "+998712000000"}});
  ASSERT_EQ(answer.status, 200) << answer;
  const livecall::v1::Call call = GetCall(customer);
  ASSERT_THAT(call.session_id(), Not(IsEmpty()));
  const std::string session_path = "/ai/sessions/" + call.session_id();
  auto as_agent = [&](const std::string& agent, const std::string& path,
                      absl::Duration timeout = absl::Seconds(10)) {
    return HttpRequest("GET", suite().base_url() + path, "",
                       {{"Authorization", AgentBearer(agent)}}, timeout);
  };
  // Before anyone answers the session is nobody's: agents may not read it.
  ExpectErrorResponse(as_agent("agent-9", session_path), 403, "PERMISSION_DENIED");
  ASSERT_TRUE(WaitFor(
      [&] {
        for (const TwilioApiRequest& rung : twilio_->Requests("CreateParticipant")) {
          if (rung.Field("To") == "client:agent_2D9") return true;
        }
        return false;
      },
      absl::Seconds(10)));
  ASSERT_GT(twilio_->Requests("CreateParticipant").size(), rung_before);

  // agent-9's browser answers: its leg joins the conference.
  const Form joined = {{"FriendlyName", "call-" + customer},
                       {"ConferenceSid", "CF20000000000000000000000000000001"},
                       {"StatusCallbackEvent", "participant-join"},
                       {"CallSid", "CA20000000000000000000000000000009"},
                       {"ParticipantLabel", "agent-agent_2D9"},
                       {"SequenceNumber", "3"}};
  ASSERT_EQ(Webhook("/twilio/conference", joined).status, 204);
  HttpResponse read = as_agent("agent-9", session_path);
  ASSERT_EQ(read.status, 200) << read;
  livecall::v1::Session session;
  ASSERT_THAT(ParseJsonMessage(read.body, &session), IsOk());
  EXPECT_EQ(session.agent_id(), "agent-9");
  EXPECT_EQ(session.direction(), "inbound");
  // Its live events too (a stream that is let in stays open: its status line is enough), and the
  // call itself.
  EXPECT_EQ(as_agent("agent-9", session_path + "/events", absl::Seconds(1)).status, 200);
  EXPECT_EQ(as_agent("agent-9", "/api/calls/" + customer + "/events", absl::Seconds(1)).status,
            200);
  EXPECT_EQ(as_agent("agent-9", "/api/calls/" + customer).status, 200);
  // Another agent: still refused everywhere.
  ExpectErrorResponse(as_agent("agent-10", session_path), 403, "PERMISSION_DENIED");
  ExpectErrorResponse(as_agent("agent-10", session_path + "/events"), 403, "PERMISSION_DENIED");
  ExpectErrorResponse(as_agent("agent-10", "/api/calls/" + customer), 403, "PERMISSION_DENIED");
  // Twilio repeats the join: nothing changes.
  ASSERT_EQ(Webhook("/twilio/conference", joined).status, 204);
  EXPECT_EQ(as_agent("agent-9", session_path).status, 200);
}

// The seed page's own flow (issue 15.14): the browser dials, /twilio/voice starts the call's AI
// session, then the page calls startAICall({phoneNumber, callSid}) with the browser's leg. It must
// get that session, not a second one nothing feeds: the call's transcript reaches the page.
TEST_F(TwilioTest, ThePageGetsItsBrowserCallsSessionAndSeesTheTranscript) {
  const std::string agent_leg = "CA40000000000000000000000000000001";
  const std::string customer = BrowserCall(agent_leg, "agent_2D7");
  const livecall::v1::Call call = GetCall(customer);
  ASSERT_THAT(call.session_id(), Not(IsEmpty()));
  const std::string start = R"({"phoneNumber":"+998901112233","callSid":")" + agent_leg + R"("})";
  livecall::v1::Session page;
  HttpResponse started =
      PostJson("/ai/call/start", start, {{"Authorization", AgentBearer("agent-7")}});
  ASSERT_EQ(started.status, 200) << started;
  ASSERT_THAT(ParseJsonMessage(started.body, &page), IsOk());
  EXPECT_EQ(page.session_id(), call.session_id());
  EXPECT_EQ(page.call_sid(), customer);
  EXPECT_EQ(page.agent_id(), "agent-7");
  EXPECT_EQ(page.customer().name(), "Dilshod Karimov");
  // The page retries (or names the customer's leg): the same session, greeting and all.
  for (const std::string& sid : {agent_leg, customer}) {
    livecall::v1::Session again;
    HttpResponse retried = PostJson("/api/ai/call/start",
                                    R"({"phoneNumber":"+998901112233","callSid":")" + sid + R"("})",
                                    {{"Authorization", AgentBearer("agent-7")}});
    ASSERT_EQ(retried.status, 200) << retried;
    ASSERT_THAT(ParseJsonMessage(retried.body, &again), IsOk());
    EXPECT_EQ(again.session_id(), page.session_id());
    EXPECT_EQ(again.greeting(), page.greeting());
  }
  // Another agent may not take it.
  ExpectErrorResponse(
      PostJson("/ai/call/start", start, {{"Authorization", AgentBearer("agent-8")}}), 403,
      "PERMISSION_DENIED");

  // The customer speaks; the page's session shows the line.
  ASSERT_EQ(Webhook("/twilio/transcription",
                    {{"TranscriptionEvent", "transcription-content"},
                     {"CallSid", agent_leg},
                     {"TranscriptionSid", "GT40000000000000000000000000000001"},
                     {"SequenceId", "2"},
                     {"Track", "outbound_track"},
                     {"Final", "true"},
                     {"TranscriptionData",
                      R"({"transcript":"Internetim yana uzildi","confidence":0.9})"}})
                .status,
            204);
  HttpResponse read = HttpRequest("GET", suite().base_url() + "/ai/sessions/" + page.session_id(),
                                  "", {{"Authorization", AgentBearer("agent-7")}});
  ASSERT_EQ(read.status, 200) << read;
  livecall::v1::Session shown;
  ASSERT_THAT(ParseJsonMessage(read.body, &shown), IsOk());
  ASSERT_THAT(shown.conversation(), Not(IsEmpty()));
  EXPECT_EQ(shown.conversation().rbegin()->speaker(), "customer");
  EXPECT_EQ(shown.conversation().rbegin()->text(), "Internetim yana uzildi");
}

// Issue 16.1: a session started for a call writes into that call's live stream, so an agent may
// attach one only to a call call-control says is its own, and only by a well-formed SID.
TEST_F(TwilioTest, AnAgentCannotAttachASessionToAnotherAgentsCall) {
  const std::string customer = BrowserCall("CA40000000000000000000000000000002", "agent_2D7");
  auto conversations = [] {
    livecall::v1::ListSessionsResponse list;
    EXPECT_THAT(
        ParseJsonMessage(Get("/api/customers/%2B998901112233/conversations?limit=100").body, &list),
        IsOk());
    return list.sessions_size();
  };
  const int before = conversations();
  auto start_as_agent_8 = [](const std::string& sid) {
    return PostJson("/ai/call/start",
                    R"({"phoneNumber":"+998901112233","callSid":")" + sid + R"("})",
                    {{"Authorization", AgentBearer("agent-8")}});
  };
  ExpectErrorResponse(start_as_agent_8(customer), 403, "PERMISSION_DENIED");
  ExpectErrorResponse(start_as_agent_8("CA40000000000000000000000000000002"), 403,
                      "PERMISSION_DENIED");
  ExpectErrorResponse(start_as_agent_8("CA4fffffffffffffffffffffffffffffff"), 404, "NOT_FOUND");
  for (const char* malformed : {"CA123", "../calls/x", "CA40000000000000000000000000000002x"}) {
    ExpectErrorResponse(start_as_agent_8(malformed), 400, "INVALID_ARGUMENT");
  }
  EXPECT_EQ(conversations(), before);
}

TEST_F(TwilioTest, StatusCallbacksOutOfOrderAndRepeatedLeaveTheFinalState) {
  livecall::v1::Call call;
  PlaceCall("+998901112233", "Salom", &call);
  for (const auto& [status, sequence] :
       std::vector<std::pair<std::string, std::string>>{{"ringing", "1"},
                                                        {"completed", "3"},
                                                        {"in-progress", "2"},
                                                        {"completed", "3"},
                                                        {"ringing", "1"}}) {
    ASSERT_EQ(Webhook("/twilio/status", {{"CallSid", call.call_sid()},
                                         {"CallStatus", status},
                                         {"SequenceNumber", sequence}})
                  .status,
              204);
  }
  EXPECT_THAT(HistoryStatuses(GetCall(call.call_sid())),
              ElementsAre("queued", "ringing", "completed"));
}

TEST_F(TwilioTest, ConfigureTtsPlacesOneCallPerIdempotencyKey) {
  const size_t before = twilio_->Requests("CreateCall").size();
  const std::string body =
      R"({"to":"+998901112233","text":"Salom & <xush> kelibsiz","language":"ru"})";
  HttpResponse first = PostJson("/api/voip/call", body, {{"Idempotency-Key", "tts-1"}});
  HttpResponse retry = PostJson("/api/voip/call", body, {{"Idempotency-Key", "tts-1"}});
  ASSERT_EQ(first.status, 200) << first;
  ASSERT_EQ(retry.status, 200) << retry;
  livecall::v1::Call a;
  livecall::v1::Call b;
  ASSERT_THAT(ParseJsonMessage(first.body, &a), IsOk());
  ASSERT_THAT(ParseJsonMessage(retry.body, &b), IsOk());
  EXPECT_EQ(a.call_sid(), b.call_sid());
  EXPECT_EQ(a.provider(), "twilio");
  std::vector<TwilioApiRequest> created = twilio_->Requests("CreateCall");
  ASSERT_THAT(created, SizeIs(before + 1));
  absl::StatusOr<XmlNode> twiml = ParseXml(created.back().Field("Twiml"));
  ASSERT_THAT(twiml, IsOk());
  ASSERT_THAT(twiml->ChildNames(), ElementsAre("Say"));
  EXPECT_EQ(twiml->children[0].text, "Salom & <xush> kelibsiz");
  // Another key, another call.
  ASSERT_EQ(PostJson("/api/voip/call", body, {{"Idempotency-Key", "tts-2"}}).status, 200);
  EXPECT_THAT(twilio_->Requests("CreateCall"), SizeIs(before + 2));
}

// The AI voice agent over Twilio's real webhooks: the call is created with a gather URL, each
// signed /twilio/gather is answered from the real ai-session, and the session ends with the call.
TEST_F(TwilioTest, AiVoiceAgentCallRunsItsGatherLoopThroughSignedWebhooks) {
  HttpResponse placed = PostJson("/api/voip/call", R"({"to":"+998977770707","mode":"ai"})");
  ASSERT_EQ(placed.status, 200) << placed;
  livecall::v1::Call call;
  ASSERT_THAT(ParseJsonMessage(placed.body, &call), IsOk());
  ASSERT_FALSE(call.session_id().empty());
  EXPECT_EQ(call.language(), "en");
  std::vector<TwilioApiRequest> created = twilio_->Requests("CreateCall");
  ASSERT_FALSE(created.empty());
  EXPECT_EQ(created.back().Field("Url"), absl::StrCat(kPublicUrl, "/twilio/gather?step=greet"));

  HttpResponse greeting = Webhook("/twilio/gather?step=greet",
                                  {{"CallSid", call.call_sid()}, {"CallStatus", "in-progress"}});
  ASSERT_EQ(greeting.status, 200) << greeting;
  absl::StatusOr<XmlNode> twiml = ParseXml(greeting.body);
  ASSERT_THAT(twiml, IsOk()) << greeting.body;
  ASSERT_THAT(twiml->ChildNames(), ElementsAre("Gather"));
  EXPECT_EQ(twiml->children[0].Attr("language"), "en-US");
  EXPECT_EQ(twiml->children[0].children[0].text, call.text());

  HttpResponse answer =
      Webhook("/twilio/gather?unclear=0", {{"CallSid", call.call_sid()},
                                           {"SpeechResult", "My internet is down"},
                                           {"Confidence", "0.91"}});
  ASSERT_EQ(answer.status, 200) << answer;
  twiml = ParseXml(answer.body);
  ASSERT_THAT(twiml, IsOk()) << answer.body;
  ASSERT_THAT(twiml->ChildNames(), ElementsAre("Gather"));
  EXPECT_THAT(twiml->children[0].children[0].text, HasSubstr("Let me check for an outage"));
  // Twilio delivers the same action again: the same answer, and the words are not added twice
  // (the conversation's length is checked at the end).
  HttpResponse retried =
      Webhook("/twilio/gather?unclear=0", {{"CallSid", call.call_sid()},
                                           {"SpeechResult", "My internet is down"},
                                           {"Confidence", "0.91"}});
  ASSERT_EQ(retried.status, 200) << retried;
  EXPECT_EQ(retried.body, answer.body);

  // A forged gather changes nothing.
  EXPECT_EQ(Webhook("/twilio/gather?unclear=0",
                    {{"CallSid", call.call_sid()}, {"SpeechResult", "bye"}}, "forged")
                .status,
            403);
  HttpResponse goodbye = Webhook("/twilio/gather?unclear=0", {{"CallSid", call.call_sid()},
                                                              {"SpeechResult", "Thanks, goodbye"}});
  ASSERT_EQ(goodbye.status, 200) << goodbye;
  EXPECT_THAT(ParseXml(goodbye.body)->ChildNames(), ElementsAre("Say", "Hangup"));

  for (const char* status : {"in-progress", "completed"}) {
    ASSERT_EQ(
        Webhook("/twilio/status", {{"CallSid", call.call_sid()}, {"CallStatus", status}}).status,
        204);
  }
  livecall::v1::Session session;
  ASSERT_TRUE(WaitFor(
      [&] {
        HttpResponse got = Get("/ai/sessions/" + call.session_id());
        return got.status == 200 && ParseJsonMessage(got.body, &session).ok() &&
               session.status() == "ended";
      },
      absl::Seconds(10)));
  // Greeting, the question, its answer, the goodbye and the reply to it.
  ASSERT_EQ(session.conversation_size(), 5);
  EXPECT_EQ(session.conversation(1).text(), "My internet is down");
  EXPECT_EQ(session.disposition(), "completed");
  EXPECT_FALSE(session.summary().text().empty());
}

TEST_F(TwilioTest, TwilioErrorsAndRateLimitsSurfaceAsTheirHttpStatus) {
  twilio_->FailNext("CreateCall", 400, 21211, "The 'To' number +998901112233 is not valid.");
  HttpResponse invalid = PostJson("/api/voip/call", R"({"to":"+998901112233","text":"Salom"})");
  ExpectErrorResponse(invalid, 400, "INVALID_ARGUMENT");
  EXPECT_THAT(invalid.body, HasSubstr("21211"));
  // Every attempt is rate-limited: the first and call-control's three retries.
  twilio_->FailNext("CreateCall", 429, 20429, "Too Many Requests", /*times=*/4);
  HttpResponse limited = PostJson("/api/voip/call", R"({"to":"+998901112233","text":"Salom"})");
  ExpectErrorResponse(limited, 429, "RESOURCE_EXHAUSTED");
  EXPECT_THAT(limited.body, HasSubstr("20429"));
}

// A rung agent's console reads the call by its own leg's CallSid as soon as the agent accepts,
// before Twilio's participant-join names the call's agent; an agent the call did not ring may not,
// and once one agent has taken the call the other rung agents may not either.
TEST_F(TwilioTest, ARungAgentReadsItsCallByItsLegBeforeTheJoinIsReported) {
  for (const char* agent : {"agent-11", "agent-12"}) {
    ASSERT_EQ(PostJson("/api/voice/token", "{}", {{"Authorization", AgentBearer(agent)}}).status,
              200);
  }
  const std::string customer = "CA20000000000000000000000000000002";
  ASSERT_EQ(Webhook("/twilio/voice", {{"CallSid", customer},
                                      {"CallStatus", "ringing"},
                                      {"From", "+998901112233"},
                                      {"To", "+998712000000"}})
                .status,
            200);
  // Which leg rings whom (the CallSids Twilio's REST answers gave), as call-control recorded them.
  RedisPool redis(SuiteRedis());
  std::map<std::string, std::string> leg_of;
  ASSERT_TRUE(WaitFor(
      [&] {
        absl::StatusOr<RedisReply> rung =
            redis.Command({"HGETALL", "livecall:call:{" + customer + "}:leg-agents"});
        if (!rung.ok()) return false;
        for (size_t i = 0; i + 1 < (*rung)->elements; i += 2) {
          leg_of[ReplyString(*(*rung)->element[i + 1])] = ReplyString(*(*rung)->element[i]);
        }
        return leg_of.contains("agent_2D11") && leg_of.contains("agent_2D12");
      },
      absl::Seconds(10)));
  auto read_as = [&](const std::string& agent, const std::string& sid) {
    return HttpRequest("GET", suite().base_url() + "/api/calls/" + sid, "",
                       {{"Authorization", AgentBearer(agent)}});
  };
  HttpResponse read = read_as("agent-11", leg_of["agent_2D11"]);
  ASSERT_EQ(read.status, 200) << read;
  livecall::v1::Call call;
  ASSERT_THAT(ParseJsonMessage(read.body, &call), IsOk());
  EXPECT_EQ(call.call_sid(), customer);
  EXPECT_EQ(read_as("agent-12", leg_of["agent_2D12"]).status, 200);
  ExpectErrorResponse(read_as("agent-13", leg_of["agent_2D11"]), 403, "PERMISSION_DENIED");

  ASSERT_EQ(Webhook("/twilio/conference", {{"FriendlyName", "call-" + customer},
                                           {"ConferenceSid", "CF20000000000000000000000000000002"},
                                           {"StatusCallbackEvent", "participant-join"},
                                           {"CallSid", leg_of["agent_2D11"]},
                                           {"ParticipantLabel", "agent-agent_2D11"},
                                           {"SequenceNumber", "3"}})
                .status,
            204);
  EXPECT_EQ(read_as("agent-11", leg_of["agent_2D11"]).status, 200);
  ExpectErrorResponse(read_as("agent-12", leg_of["agent_2D12"]), 403, "PERMISSION_DENIED");
}

// /twilio/voice is signed but carries no timestamp: replayed after the dedup hour, a CallSid
// answered before dials nobody. And a browser call to a number outside
// LIVECALL_ALLOWED_DIAL_PREFIXES (+998 here) is refused aloud, dialling nobody.
TEST_F(TwilioTest, ReplayedOrForeignBrowserCallsDialNobody) {
  const std::string agent_leg = "CA41000000000000000000000000000001";
  const Form voice = {{"CallSid", agent_leg},
                      {"CallStatus", "ringing"},
                      {"From", "client:agent_2D14"},
                      {"To", "+998901112233"}};
  const std::string customer = BrowserCall(agent_leg, "agent_2D14");
  const size_t dialled = twilio_->Requests("CreateParticipant").size();
  RedisPool redis(SuiteRedis());
  ASSERT_THAT(redis.Command({"DEL", "livecall:idem:{voice:" + agent_leg + "}"}).status(),
              IsOk());  // The dedup hour has passed.
  HttpResponse replayed = Webhook("/twilio/voice", voice);
  ASSERT_EQ(replayed.status, 200) << replayed;
  absl::StatusOr<XmlNode> twiml = ParseXml(replayed.body);
  ASSERT_THAT(twiml, IsOk()) << replayed.body;
  EXPECT_THAT(twiml->ChildNames(), ElementsAre("Hangup"));
  EXPECT_THAT(twilio_->Requests("CreateParticipant"), SizeIs(dialled));
  EXPECT_EQ(GetCall(agent_leg).call_sid(), customer);

  HttpResponse abroad = Webhook("/twilio/voice", {{"CallSid", "CA41000000000000000000000000000002"},
                                                  {"CallStatus", "ringing"},
                                                  {"From", "client:agent_2D14"},
                                                  {"To", "+14155550100"},
                                                  {"Language", "en"}});
  ASSERT_EQ(abroad.status, 200) << abroad;
  twiml = ParseXml(abroad.body);
  ASSERT_THAT(twiml, IsOk()) << abroad.body;
  ASSERT_THAT(twiml->ChildNames(), ElementsAre("Say", "Hangup"));
  EXPECT_EQ(twiml->children[0].text, "Calls to this number are not allowed.");
  EXPECT_THAT(twilio_->Requests("CreateParticipant"), SizeIs(dialled));
  // PlaceCall refuses such a number with 403.
  HttpResponse placed = PostJson("/api/voip/call", R"({"to":"+14155550100","text":"Hello"})");
  ExpectErrorResponse(placed, 403, "PERMISSION_DENIED");
  EXPECT_THAT(placed.body, HasSubstr("LIVECALL_ALLOWED_DIAL_PREFIXES"));
}

// The global outbound cap with Twilio: a call an agent places from the browser dials a customer
// too, so it takes a slot; at the cap nobody is dialled and the agent hears the lines are busy.
class TwilioOutboundCapTest : public TwilioTest {
 protected:
  static void SetUpTestSuite() { StartTwilioSuite({{"LIVECALL_MAX_ACTIVE_CALLS", "1"}}); }
};

TEST_F(TwilioOutboundCapTest, BrowserCallsShareTheCapWithPlacedCalls) {
  const std::string customer = BrowserCall("CA30000000000000000000000000000001", "agent_2D7");
  const size_t dialled = twilio_->Requests("CreateParticipant").size();
  // The one line is taken: a placed call is refused, and so is another browser call.
  ExpectErrorResponse(PostJson("/api/voip/call", R"({"to":"+998901112233","text":"Salom"})"), 429,
                      "RESOURCE_EXHAUSTED");
  HttpResponse busy = Webhook("/twilio/voice", {{"CallSid", "CA30000000000000000000000000000002"},
                                                {"CallStatus", "ringing"},
                                                {"From", "client:agent_2D8"},
                                                {"To", "+998935550101"},
                                                {"Language", "ru"}});
  ASSERT_EQ(busy.status, 200) << busy;
  absl::StatusOr<XmlNode> twiml = ParseXml(busy.body);
  ASSERT_THAT(twiml, IsOk()) << busy.body;
  ASSERT_THAT(twiml->ChildNames(), ElementsAre("Say", "Hangup"));
  EXPECT_THAT(twiml->children[0].text, HasSubstr("линии заняты"));
  EXPECT_THAT(twilio_->Requests("CreateParticipant"), SizeIs(dialled));
  EXPECT_EQ(Get("/api/calls/CA30000000000000000000000000000002").status, 404);

  // The first call ends: its line is free again.
  ASSERT_EQ(Webhook("/twilio/status", {{"CallSid", customer}, {"CallStatus", "completed"}}).status,
            204);
  BrowserCall("CA30000000000000000000000000000003", "agent_2D8");
  EXPECT_THAT(twilio_->Requests("CreateParticipant"), SizeIs(dialled + 1));
}

// Issue 15: whole call lifecycles with FakeTwilio playing Twilio's side: it runs the TwiML we
// answer as far as the conference, sends the status callbacks and conference events real Twilio
// sends (only where our requests configured them), and fails a webhook not answered within 15 s.
class TwilioLifecycleTest : public TwilioTest {
 protected:
  static void SetUpTestSuite() {
    StartTwilioSuite({});
    twilio_->SetWebhookTarget(kPublicUrl, suite().base_url(), kAuthToken);
  }

  // `agent` holds a voice token, so inbound calls ring its browser.
  static void MakeAvailable(const std::string& agent) {
    ASSERT_EQ(PostJson("/api/voice/token", "{}", {{"Authorization", AgentBearer(agent)}}).status,
              200);
  }
  // The legs rung for `identity`'s browser, oldest first, once there is one.
  static std::string RungLeg(const std::string& identity) {
    std::string leg;
    EXPECT_TRUE(WaitFor(
        [&] {
          std::vector<std::string> legs = twilio_->CallSidsTo("client:" + identity);
          if (!legs.empty()) leg = legs.back();
          return !legs.empty();
        },
        absl::Seconds(10)));
    return leg;
  }
  static livecall::v1::Session WaitForEndedSession(const std::string& session_id) {
    livecall::v1::Session session;
    EXPECT_TRUE(WaitFor(
        [&] {
          HttpResponse got = Get("/ai/sessions/" + session_id);
          return got.status == 200 && ParseJsonMessage(got.body, &session).ok() &&
                 session.status() == "ended";
        },
        absl::Seconds(10)));
    return session;
  }
};

// 15.2: the caller hangs up after talking to the agent; the number has no status callback, so
// the conference's participant-leave / conference-end are what end the call.
TEST_F(TwilioLifecycleTest, AnInboundCallEndsWhenTheCallerHangsUp) {
  MakeAvailable("agent-31");
  const std::string customer = "CA15000000000000000000000000000201";
  FakeTwilio::Webhook voice = twilio_->IncomingCall(customer, "+998901112233", "+998712000000");
  ASSERT_EQ(voice.status, 200) << voice.body;
  const std::string agent = RungLeg("agent_2D31");
  twilio_->Answer(agent);
  livecall::v1::Call call = GetCall(customer);
  EXPECT_EQ(call.status(), livecall::v1::CALL_STATUS_IN_PROGRESS);
  EXPECT_EQ(call.agent_call_sid(), agent);
  ASSERT_THAT(call.session_id(), Not(IsEmpty()));

  twilio_->EndCall(customer);
  EXPECT_EQ(GetCall(customer).status(), livecall::v1::CALL_STATUS_COMPLETED);
  // The conference ended with the caller (endConferenceOnExit): the agent's leg is over too.
  EXPECT_EQ(twilio_->CallStatus(agent), "completed");
  livecall::v1::Session session = WaitForEndedSession(call.session_id());
  EXPECT_EQ(session.disposition(), "completed");
  EXPECT_FALSE(session.summary().text().empty());
}

// 15.2 and 15.4: the caller hangs up while the agents still ring: the ringing stops.
TEST_F(TwilioLifecycleTest, AnInboundCallerWhoHangsUpWhileAgentsRingStopsTheRinging) {
  MakeAvailable("agent-32");
  const std::string customer = "CA15000000000000000000000000000202";
  ASSERT_EQ(twilio_->IncomingCall(customer, "+998901112233", "+998712000000").status, 200);
  const std::string agent = RungLeg("agent_2D32");
  twilio_->Ring(agent);
  twilio_->EndCall(customer);
  EXPECT_EQ(GetCall(customer).status(), livecall::v1::CALL_STATUS_COMPLETED);
  EXPECT_TRUE(WaitFor([&] { return twilio_->CallStatus(agent) == "canceled"; }, absl::Seconds(10)));
  livecall::v1::Session session = WaitForEndedSession(GetCall(customer).session_id());
  EXPECT_THAT(session.summary().text(), HasSubstr("(abandoned)"));
}

// 15.2: with the number's status callback configured (README: Phone number → Call status
// changes), the caller's leg reports its end too: the call ends once, whichever comes first.
TEST_F(TwilioLifecycleTest, TheNumbersStatusCallbackAndTheConferenceEndTheCallOnce) {
  MakeAvailable("agent-37");
  const std::string customer = "CA15000000000000000000000000000207";
  ASSERT_EQ(twilio_
                ->IncomingCall(customer, "+998901112233", "+998712000000",
                               absl::StrCat(kPublicUrl, "/twilio/status"))
                .status,
            200);
  const std::string agent = RungLeg("agent_2D37");
  twilio_->Answer(agent);
  twilio_->EndCall(customer);
  int callbacks = 0;
  for (const FakeTwilio::Webhook& webhook : twilio_->Webhooks()) {
    callbacks += webhook.Field("CallSid") == customer && webhook.Field("CallStatus") == "completed";
  }
  EXPECT_EQ(callbacks, 1);
  EXPECT_THAT(HistoryStatuses(GetCall(customer)),
              ElementsAre("ringing", "in-progress", "completed"));
  EXPECT_EQ(twilio_->CallStatus(agent), "completed");
}

// 15.3: two agents answer at once; the second is removed with a participant DELETE, and the call
// goes on (rung agents have no endConferenceOnExit); the agent who took it gets it, so when that
// agent hangs up the conference and the call end.
TEST_F(TwilioLifecycleTest, ALateSecondAgentIsRemovedWithoutEndingTheCall) {
  MakeAvailable("agent-33");
  MakeAvailable("agent-34");
  const std::string customer = "CA15000000000000000000000000000203";
  ASSERT_EQ(twilio_->IncomingCall(customer, "+998901112233", "+998712000000").status, 200);
  const std::string first = RungLeg("agent_2D33");
  const std::string second = RungLeg("agent_2D34");
  twilio_->Answer(std::vector<std::string>{first, second});

  ASSERT_TRUE(
      WaitFor([&] { return twilio_->CallStatus(second) == "completed"; }, absl::Seconds(10)));
  std::vector<TwilioApiRequest> removed = twilio_->Requests("DeleteParticipant");
  ASSERT_THAT(removed, Not(IsEmpty()));
  EXPECT_EQ(removed.back().path_params.at("CallSid"), second);
  twilio_->Flush();
  EXPECT_EQ(twilio_->ConferenceStatus("call-" + customer), "in-progress");
  EXPECT_EQ(twilio_->CallStatus(customer), "in-progress");
  EXPECT_EQ(twilio_->CallStatus(first), "in-progress");
  livecall::v1::Call call = GetCall(customer);
  EXPECT_EQ(call.status(), livecall::v1::CALL_STATUS_IN_PROGRESS);
  EXPECT_EQ(call.agent_call_sid(), first);

  ASSERT_TRUE(WaitFor(
      [&] {
        for (const TwilioApiRequest& update : twilio_->Requests("UpdateParticipant")) {
          if (update.path_params.at("CallSid") == first &&
              update.Field("EndConferenceOnExit") == "true") {
            return true;
          }
        }
        return false;
      },
      absl::Seconds(10)));
  twilio_->EndCall(first);
  EXPECT_EQ(twilio_->ConferenceStatus("call-" + customer), "completed");
  EXPECT_EQ(GetCall(customer).status(), livecall::v1::CALL_STATUS_COMPLETED);
}

// 15.4: the customer an agent calls from the browser is busy: the agent, alone in the conference
// it started, is hung up, and the session ends saying nobody answered.
TEST_F(TwilioLifecycleTest, ABusyCustomerHangsUpTheAgentsBrowserCall) {
  const std::string agent_leg = "CA15000000000000000000000000000204";
  FakeTwilio::Webhook voice = twilio_->BrowserCall(agent_leg, "agent_2D35", "+998935550135");
  ASSERT_EQ(voice.status, 200) << voice.body;
  std::vector<std::string> dialled = twilio_->CallSidsTo("+998935550135");
  ASSERT_THAT(dialled, SizeIs(1));
  const std::string customer = dialled[0];
  EXPECT_EQ(twilio_->CallStatus(agent_leg), "in-progress");

  twilio_->Ring(customer);
  twilio_->EndCall(customer, "busy");
  EXPECT_EQ(GetCall(customer).status(), livecall::v1::CALL_STATUS_BUSY);
  EXPECT_TRUE(
      WaitFor([&] { return twilio_->CallStatus(agent_leg) == "completed"; }, absl::Seconds(10)));
  EXPECT_EQ(twilio_->ConferenceStatus("call-" + agent_leg), "completed");
  livecall::v1::Session session = WaitForEndedSession(GetCall(customer).session_id());
  EXPECT_EQ(session.disposition(), "no-answer");
  EXPECT_THAT(session.summary().text(), HasSubstr("(busy)"));
}

// 15.5: Twilio's REST API does not answer within Twilio's webhook budget: the browser's
// /twilio/voice still answers in time (TearDown: no webhook missed its answer).
TEST_F(TwilioLifecycleTest, ASlowTwilioApiNeverMakesTheVoiceWebhookMissItsAnswer) {
  twilio_->DelayNext("CreateParticipant", absl::Seconds(16));
  FakeTwilio::Webhook voice =
      twilio_->BrowserCall("CA15000000000000000000000000000205", "agent_2D36", "+998935550136");
  ASSERT_EQ(voice.status, 200) << voice.body;
  absl::StatusOr<XmlNode> twiml = ParseXml(voice.body);
  ASSERT_THAT(twiml, IsOk()) << voice.body;
  EXPECT_THAT(twiml->ChildNames(), ElementsAre("Say", "Hangup"));
}

// 15.8: a text call whose inline TwiML would pass Twilio's 4,000 characters is a clear 400, and
// Twilio is not asked.
TEST_F(TwilioLifecycleTest, ATextCallTooLongForInlineTwimlIsRefusedBeforeTwilio) {
  const int requests_before = twilio_->total_requests();
  HttpResponse refused =
      PostJson("/api/voip/call", absl::StrCat(R"({"to":"+998901112233","language":"ru","text":")",
                                              std::string(3990, 'a'), R"("})"));
  ExpectErrorResponse(refused, 400, "INVALID_ARGUMENT");
  EXPECT_THAT(refused.body, HasSubstr("4000"));
  EXPECT_EQ(twilio_->total_requests(), requests_before);
}

}  // namespace
}  // namespace livecall::testing
