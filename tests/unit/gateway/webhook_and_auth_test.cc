// The gateway's handling of Twilio webhooks and agent bearer tokens, with a recording backend.

#include "absl/synchronization/mutex.h"
#include "common/jwt.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "livecall/v1/call_control.pb.h"
#include "livecall/v1/twilio_webhooks.pb.h"
#include "services/gateway/agent_auth.h"
#include "services/gateway/gateway_handler.h"
#include "services/gateway/twilio_signature.h"

namespace livecall::gateway {
namespace {

using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

constexpr char kSecret[] = "0123456789abcdef0123456789abcdef";
constexpr char kAuthToken[] = "12345";
constexpr char kPublicUrl[] = "https://livecall.example.com";

class RecordingBackend final : public BackendClient {
 public:
  void Call(BackendRequest request, BackendCallback done) override {
    calls.push_back(request);
    done(status, answer);
  }
  std::vector<BackendRequest> calls;
  grpc::Status status;
  std::string answer;
};

std::string Metadata(const BackendRequest& call, const std::string& key) {
  for (const auto& [name, value] : call.metadata) {
    if (name == key) return value;
  }
  return "<absent>";
}

std::string Header(const HttpResponse& response, const std::string& name) {
  for (const auto& [key, value] : response.headers) {
    if (key == name) return value;
  }
  return "<absent>";
}

std::string AgentToken(const std::string& sub, absl::Duration expires_in = absl::Hours(1),
                       const std::string& secret = kSecret, const std::string& alg = "HS256") {
  const int64_t exp = absl::ToUnixSeconds(absl::Now() + expires_in);
  return SignJwtHs256(absl::StrCat("{\"alg\":\"", alg, "\",\"typ\":\"JWT\"}"),
                      absl::StrCat("{\"sub\":\"", sub, "\",\"role\":\"agent\",\"exp\":", exp, "}"),
                      secret);
}

class WebhookAndAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<RouteTable> routes = RouteTable::BuildServed();
    ASSERT_TRUE(routes.ok()) << routes.status();
    routes_ = *std::move(routes);
  }

  HttpResponse Send(HttpRequest request,
                    GatewayHandler::Options options = {.jwt_secret = kSecret,
                                                       .twilio_auth_token = kAuthToken,
                                                       .public_url = kPublicUrl}) {
    GatewayHandler handler(&routes_, &backend_, nullptr, "{}", options);
    HttpResponse answer;
    handler.Handle(request, "req-1", [&answer](HttpResponse response) { answer = response; });
    return answer;
  }

  static HttpRequest Post(const std::string& target, const std::string& body,
                          const std::string& content_type = "application/x-www-form-urlencoded") {
    HttpRequest request{boost::beast::http::verb::post, target, 11};
    request.set(boost::beast::http::field::content_type, content_type);
    request.body() = body;
    request.prepare_payload();
    return request;
  }

  RouteTable routes_;
  RecordingBackend backend_;
};

TEST_F(WebhookAndAuthTest, ASignedWebhookReachesCallControlAndAnswersTwiml) {
  livecall::v1::TwimlResponse twiml;
  twiml.set_twiml("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>");
  backend_.answer = twiml.SerializeAsString();
  HttpRequest request = Post("/twilio/voice", "CallSid=CA1&From=client%3Aalice&To=%2B998901112233");
  request.set("X-Twilio-Signature",
              ComputeTwilioSignature(
                  kAuthToken, "https://livecall.example.com/twilio/voice",
                  {{"CallSid", "CA1"}, {"From", "client:alice"}, {"To", "+998901112233"}}));
  HttpResponse response = Send(request);
  EXPECT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.content_type, "text/xml; charset=utf-8");
  EXPECT_EQ(response.body, twiml.twiml());
  ASSERT_EQ(backend_.calls.size(), 1u);
  EXPECT_EQ(backend_.calls[0].method_path, "/livecall.v1.TwilioWebhooks/Voice");
  livecall::v1::TwilioWebhookRequest sent;
  ASSERT_TRUE(sent.ParseFromString(backend_.calls[0].payload));
  EXPECT_THAT(sent.params(),
              UnorderedElementsAre(Pair("CallSid", "CA1"), Pair("From", "client:alice"),
                                   Pair("To", "+998901112233")));
}

TEST_F(WebhookAndAuthTest, StatusCallbacksAreAcknowledgedWith204AndTheQueryIsSigned) {
  backend_.answer = livecall::v1::WebhookAck().SerializeAsString();
  HttpRequest request = Post("/twilio/status?leg=a", "CallSid=CA1&CallStatus=ringing");
  request.set("X-Twilio-Signature",
              ComputeTwilioSignature(kAuthToken, "https://livecall.example.com/twilio/status?leg=a",
                                     {{"CallSid", "CA1"}, {"CallStatus", "ringing"}}));
  HttpResponse response = Send(request);
  EXPECT_EQ(response.status, 204);
  EXPECT_TRUE(response.body.empty());
  ASSERT_EQ(backend_.calls.size(), 1u);
  livecall::v1::TwilioWebhookRequest sent;
  ASSERT_TRUE(sent.ParseFromString(backend_.calls[0].payload));
  EXPECT_EQ(sent.query().at("leg"), "a");
}

TEST_F(WebhookAndAuthTest, UnsignedOrBadlySignedWebhooksAre403AndCallNothing) {
  HttpRequest unsigned_request = Post("/twilio/status", "CallSid=CA1&CallStatus=completed");
  EXPECT_EQ(Send(unsigned_request).status, 403);
  HttpRequest wrong = unsigned_request;
  wrong.set("X-Twilio-Signature", "RSOYDt4T1cUTdK1PDd93/VVr8B8=");
  EXPECT_EQ(Send(wrong).status, 403);
  // Signed for another body: a tampered field fails.
  HttpRequest tampered = Post("/twilio/status", "CallSid=CA1&CallStatus=completed");
  tampered.set("X-Twilio-Signature",
               ComputeTwilioSignature(kAuthToken, "https://livecall.example.com/twilio/status",
                                      {{"CallSid", "CA1"}, {"CallStatus", "ringing"}}));
  EXPECT_EQ(Send(tampered).status, 403);
  // No auth token configured: every webhook is refused, however it is signed.
  HttpRequest signed_request = Post("/twilio/status", "CallSid=CA1");
  signed_request.set("X-Twilio-Signature",
                     ComputeTwilioSignature("", "https://livecall.example.com/twilio/status",
                                            {{"CallSid", "CA1"}}));
  HttpResponse refused = Send(signed_request, {.public_url = kPublicUrl});
  EXPECT_EQ(refused.status, 403);
  EXPECT_THAT(refused.body, HasSubstr("TWILIO_AUTH_TOKEN"));
  EXPECT_TRUE(backend_.calls.empty());
}

TEST_F(WebhookAndAuthTest, TheTokenRouteNeedsAValidAgentToken) {
  livecall::v1::VoiceToken token;
  backend_.answer = token.SerializeAsString();
  HttpResponse missing = Send(Post("/api/voice/token", "{}", "application/json"));
  EXPECT_EQ(missing.status, 401);
  EXPECT_THAT(Header(missing, "WWW-Authenticate"), HasSubstr("Bearer realm=\"livecall\""));
  for (const std::string& bad :
       {AgentToken("alice", -absl::Hours(1)), AgentToken("alice", absl::Hours(1), "another secret"),
        AgentToken("alice", absl::Hours(1), kSecret, "none"), std::string("not-a-jwt")}) {
    HttpRequest request = Post("/api/voice/token", "{}", "application/json");
    request.set(boost::beast::http::field::authorization, "Bearer " + bad);
    HttpResponse response = Send(request);
    EXPECT_EQ(response.status, 401) << bad;
    EXPECT_THAT(Header(response, "WWW-Authenticate"), HasSubstr("invalid_token"));
  }
  EXPECT_TRUE(backend_.calls.empty());
  // Without LIVECALL_JWT_SECRET there is no agent to be.
  HttpRequest unconfigured = Post("/api/voice/token", "{}", "application/json");
  unconfigured.set(boost::beast::http::field::authorization, "Bearer " + AgentToken("alice"));
  EXPECT_EQ(Send(unconfigured, {}).status, 401);

  HttpRequest request = Post("/api/voice/token", "{}", "application/json");
  request.set(boost::beast::http::field::authorization, "Bearer " + AgentToken("alice"));
  HttpResponse ok = Send(request);
  EXPECT_EQ(ok.status, 200) << ok.body;
  ASSERT_EQ(backend_.calls.size(), 1u);
  EXPECT_EQ(Metadata(backend_.calls[0], "x-livecall-agent"), "alice");
  EXPECT_EQ(Metadata(backend_.calls[0], "x-livecall-role"), "agent");
}

TEST_F(WebhookAndAuthTest, IdempotencyKeyIsForwardedAndAgentHeadersAreNot) {
  backend_.answer = livecall::v1::Call().SerializeAsString();
  HttpRequest request =
      Post("/api/voip/call", R"({"to":"+998901112233","text":"Salom"})", "application/json");
  request.set("Idempotency-Key", "retry-42");
  request.set("X-Livecall-Agent", "mallory");
  EXPECT_EQ(Send(request).status, 200);
  ASSERT_EQ(backend_.calls.size(), 1u);
  EXPECT_EQ(Metadata(backend_.calls[0], "idempotency-key"), "retry-42");
  EXPECT_EQ(Metadata(backend_.calls[0], "x-livecall-agent"), "<absent>");
  request.set("Idempotency-Key", std::string(300, 'k'));
  EXPECT_EQ(Send(request).status, 400);
}

TEST(AgentAuthTest, VerifiesTheBearerToken) {
  absl::StatusOr<AuthenticatedAgent> agent =
      AuthenticateAgent("Bearer " + AgentToken("alice"), kSecret);
  ASSERT_TRUE(agent.ok()) << agent.status();
  EXPECT_EQ(agent->agent_id, "alice");
  EXPECT_EQ(agent->role, "agent");
  EXPECT_FALSE(AuthenticateAgent("Basic abc", kSecret).ok());
  EXPECT_FALSE(AuthenticateAgent("Bearer " + AgentToken("al\"ice"), kSecret).ok());
  EXPECT_EQ(AuthenticateAgent("Bearer x.y.z", kSecret).status().code(),
            absl::StatusCode::kUnauthenticated);
}

}  // namespace
}  // namespace livecall::gateway
