// The gateway's handling of Twilio webhooks and agent bearer tokens, with a recording backend.

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
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

// Form encoding of a value (spaces, commas, '+' and ':' in a date).
std::string UrlEncodeForTest(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      absl::StrAppend(&out, "%", absl::Hex(c, absl::kZeroPad2));
    }
  }
  return out;
}

using ::testing::HasSubstr;
using ::testing::Not;
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

JwtVerifier Verifier() {
  JwtVerifier verifier;
  EXPECT_TRUE(verifier.SetSecret(kSecret).ok());
  return verifier;
}

class WebhookAndAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<RouteTable> routes = RouteTable::BuildServed();
    ASSERT_TRUE(routes.ok()) << routes.status();
    routes_ = *std::move(routes);
  }

  HttpResponse Send(HttpRequest request,
                    GatewayHandler::Options options = {.jwt = Verifier(),
                                                       .twilio_auth_token = kAuthToken,
                                                       .public_url = kPublicUrl}) {
    GatewayHandler handler(&routes_, &backend_, nullptr, "{}", options);
    HttpResponse answer;
    handler.Handle(request, "req-1", "127.0.0.1",
                   [&answer](HttpResponse response) { answer = response; });
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
  request.set(boost::beast::http::field::authorization, "Bearer " + AgentToken("alice"));
  request.set("X-Livecall-Agent", "mallory");
  request.set("X-Livecall-Role", "supervisor");
  EXPECT_EQ(Send(request).status, 200);
  ASSERT_EQ(backend_.calls.size(), 1u);
  EXPECT_EQ(Metadata(backend_.calls[0], "idempotency-key"), "retry-42");
  EXPECT_EQ(Metadata(backend_.calls[0], "x-livecall-agent"), "alice");
  EXPECT_EQ(Metadata(backend_.calls[0], "x-livecall-role"), "agent");
  // The token itself stays in the gateway.
  EXPECT_EQ(Metadata(backend_.calls[0], "authorization"), "<absent>");
  request.set("Idempotency-Key", std::string(300, 'k'));
  EXPECT_EQ(Send(request).status, 400);
}

HttpRequest Get(const std::string& target) {
  return HttpRequest{boost::beast::http::verb::get, target, 11};
}

// Every route of the table: public ones answer without credentials, Twilio webhooks want their
// signature (403), signed links go to the service that checks them, and every other one needs a
// bearer token (401 with the challenge), reaching nothing.
TEST_F(WebhookAndAuthTest, EveryRouteButThePublicOnesNeedsCredentials) {
  int bearer_routes = 0;
  for (const Route& route : routes_.routes()) {
    std::string target;
    for (const PathTemplate::Segment& segment : route.path.segments()) {
      absl::StrAppend(&target, "/", segment.is_variable ? "CA0123" : segment.literal);
    }
    HttpRequest request{boost::beast::http::string_to_verb(route.http_method), target, 11};
    if (route.http_method != "GET") {
      request.set(boost::beast::http::field::content_type, "application/json");
      request.body() = "{}";
      request.prepare_payload();
    }
    HttpResponse response = Send(request);
    switch (route.access) {
      case RouteAccess::kBearer:
        ++bearer_routes;
        EXPECT_EQ(response.status, 401) << route.http_method << " " << target;
        EXPECT_THAT(Header(response, "WWW-Authenticate"), HasSubstr("Bearer realm=\"livecall\""));
        break;
      case RouteAccess::kTwilioSignature:
        EXPECT_EQ(response.status, 403) << target;
        break;
      case RouteAccess::kPublic:
      case RouteAccess::kSignedUrl:
        EXPECT_NE(response.status, 401) << target;
        break;
    }
  }
  EXPECT_GT(bearer_routes, 15);
  // Only a signed link (generated audio) reaches its service, which checks the URL's signature.
  for (const BackendRequest& call : backend_.calls) {
    EXPECT_EQ(call.method_path, "/livecall.v1.SpeechAudio/GetSpeechAudio");
  }
}

TEST_F(WebhookAndAuthTest, ForgedExpiredAndMalformedTokensAre401) {
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  auto token = [](const std::string& header, const std::string& payload,
                  const std::string& secret = kSecret) {
    return SignJwtHs256(header, payload, secret);
  };
  const std::string payload =
      absl::StrCat(R"({"sub":"alice","role":"agent","exp":)", now + 3600, "}");
  const std::string valid = token(R"({"alg":"HS256"})", payload);
  const std::string tampered =
      absl::StrCat(valid.substr(0, valid.find('.')), ".",
                   Base64UrlEncode(absl::StrCat(R"({"sub":"alice","role":"supervisor","exp":)",
                                                now + 3600, "}")),
                   valid.substr(valid.rfind('.')));
  for (const std::string& bad : {
           token(R"({"alg":"HS256"})",
                 absl::StrCat(R"({"sub":"alice","exp":)", now - 3600, "}")),  // expired
           token(R"({"alg":"HS256"})", absl::StrCat(R"({"sub":"alice","exp":)", now + 3600,
                                                    R"(,"nbf":)", now + 600, "}")),  // not yet
           token(R"({"alg":"HS256"})", R"({"sub":"alice"})"),                        // no exp
           token(R"({"alg":"HS256"})", payload, "another-secret-0123456789abcdef"),  // wrong key
           absl::StrCat(Base64UrlEncode(R"({"alg":"none"})"), ".", Base64UrlEncode(payload), "."),
           tampered,
           token(R"({"alg":"HS256"})",
                 absl::StrCat(R"({"sub":"alice","role":"admin","exp":)", now + 3600, "}")),
           token(R"({"alg":"HS256"})", absl::StrCat(R"({"role":"agent","exp":)", now + 3600, "}")),
       }) {
    HttpRequest request = Get("/api/calls/CA1");
    request.set(boost::beast::http::field::authorization, "Bearer " + bad);
    HttpResponse response = Send(request);
    EXPECT_EQ(response.status, 401) << bad;
    EXPECT_THAT(Header(response, "WWW-Authenticate"), HasSubstr("error=\"invalid_token\""));
    EXPECT_THAT(response.body, HasSubstr("\"code\":\"UNAUTHENTICATED\""));
  }
  EXPECT_TRUE(backend_.calls.empty());
  HttpRequest request = Get("/api/calls/CA1");
  request.set(boost::beast::http::field::authorization, "Bearer " + valid);
  backend_.answer = livecall::v1::Call().SerializeAsString();
  EXPECT_EQ(Send(request).status, 200);
}

TEST_F(WebhookAndAuthTest, TheDevLoginIsOffUnlessTurnedOn) {
  HttpRequest login =
      Post("/api/auth/dev-login", R"({"agentId":"agent-1","role":"agent"})", "application/json");
  EXPECT_EQ(Send(login).status, 404);

  GatewayHandler::Options on = {.jwt = Verifier(), .dev_login = true};
  HttpResponse response = Send(login, on);
  ASSERT_EQ(response.status, 200) << response.body;
  google::protobuf::Struct body;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(response.body, &body).ok());
  EXPECT_EQ(body.fields().at("agentId").string_value(), "agent-1");
  EXPECT_EQ(body.fields().at("role").string_value(), "agent");
  EXPECT_EQ(body.fields().size(), 4u) << response.body;  // token, agentId, role, expiresAt
  absl::Time expires;
  std::string error;
  ASSERT_TRUE(absl::ParseTime(absl::RFC3339_full, body.fields().at("expiresAt").string_value(),
                              &expires, &error))
      << response.body;
  EXPECT_GT(expires, absl::Now() + absl::Hours(7));
  // The token is a bearer token of a gateway whose dev login is on, and of no other.
  const std::string bearer = "Bearer " + body.fields().at("token").string_value();
  absl::StatusOr<AuthenticatedAgent> agent =
      AuthenticateAgent(bearer, Verifier(), {.dev_login = true});
  ASSERT_TRUE(agent.ok()) << agent.status();
  EXPECT_EQ(agent->agent_id, "agent-1");
  EXPECT_THAT(AuthenticateAgent(bearer, Verifier()).status().message(), HasSubstr("dev-login"));

  for (const char* bad : {R"({"agentId":"agent 1"})", R"({"agentId":""})",
                          R"({"agentId":"a","role":"admin"})", R"({"agentId":"a","extra":1})"}) {
    EXPECT_EQ(Send(Post("/api/auth/dev-login", bad, "application/json"), on).status, 400) << bad;
  }
  EXPECT_EQ(
      Send(Post("/api/auth/dev-login",
                absl::StrCat(R"({"agentId":")", std::string(65, 'a'), R"("})"), "application/json"),
           on)
          .status,
      400);
  HttpResponse supervisor = Send(
      Post("/api/auth/dev-login", R"({"agentId":"boss","role":"supervisor"})", "application/json"),
      on);
  EXPECT_THAT(supervisor.body, HasSubstr("\"role\":\"supervisor\""));
}

// A production gateway (dev login off) refuses the dev login's tokens even when they are signed
// with its secret; aud, iss and the lifetime are checked when configured.
TEST_F(WebhookAndAuthTest, TokensMustMatchTheConfiguredAudienceIssuerLifetimeAndDevLogin) {
  backend_.answer = livecall::v1::Call().SerializeAsString();
  auto get_with = [](const std::string& token) {
    HttpRequest request = Get("/api/calls/CA1");
    request.set(boost::beast::http::field::authorization, "Bearer " + token);
    return request;
  };
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  auto signed_payload = [](const std::string& payload) {
    return SignJwtHs256(R"({"alg":"HS256","typ":"JWT"})", payload, kSecret);
  };

  // The dev login's token: accepted only by a gateway whose dev login is on.
  livecall::v1::DevLoginRequest login;
  login.set_agent_id("alice");
  absl::StatusOr<livecall::v1::DevLoginResponse> dev =
      DevLogin(login, kSecret, absl::Hours(8), absl::Now(), "livecall-api");
  ASSERT_TRUE(dev.ok()) << dev.status();
  GatewayHandler::Options production = {.jwt = Verifier()};
  HttpResponse refused = Send(get_with(dev->token()), production);
  EXPECT_EQ(refused.status, 401) << refused.body;
  EXPECT_THAT(refused.body, HasSubstr("dev login is off"));
  GatewayHandler::Options development = {.jwt = Verifier(), .dev_login = true};
  EXPECT_EQ(Send(get_with(dev->token()), development).status, 200);

  // aud and iss, when configured; the dev login's tokens carry the audience and stay accepted
  // by a development gateway that requires an issuer.
  GatewayHandler::Options strict = {.jwt = Verifier(),
                                    .jwt_audience = "livecall-api",
                                    .jwt_issuer = "https://login.example.com",
                                    .jwt_max_lifetime = absl::Hours(24)};
  const std::string good = signed_payload(
      absl::StrCat(R"({"sub":"bob","aud":"livecall-api","iss":"https://login.example.com","iat":)",
                   now, R"(,"exp":)", now + 3600, "}"));
  EXPECT_EQ(Send(get_with(good), strict).status, 200);
  for (const std::string& bad : {
           signed_payload(absl::StrCat(R"({"sub":"bob","iss":"https://login.example.com","iat":)",
                                       now, R"(,"exp":)", now + 3600, "}")),  // no aud
           signed_payload(absl::StrCat(
               R"({"sub":"bob","aud":"other-api","iss":"https://login.example.com","iat":)", now,
               R"(,"exp":)", now + 3600, "}")),  // another audience
           signed_payload(absl::StrCat(R"({"sub":"bob","aud":"livecall-api","iat":)", now,
                                       R"(,"exp":)", now + 3600, "}")),  // no iss
           signed_payload(absl::StrCat(
               R"({"sub":"bob","aud":"livecall-api","iss":"https://login.example.com","iat":)", now,
               R"(,"exp":)", now + 48 * 3600, "}")),  // valid for two days
           signed_payload(absl::StrCat(
               R"({"sub":"bob","aud":"livecall-api","iss":"https://login.example.com","exp":)",
               now + 30 * 24 * 3600, "}")),  // no iat, a month left
           dev->token(),                     // dev login off
       }) {
    HttpResponse response = Send(get_with(bad), strict);
    EXPECT_EQ(response.status, 401) << response.body;
  }
  strict.dev_login = true;
  EXPECT_EQ(Send(get_with(dev->token()), strict).status, 200);
  absl::StatusOr<livecall::v1::DevLoginResponse> no_audience =
      DevLogin(login, kSecret, absl::Hours(8), absl::Now());
  ASSERT_TRUE(no_audience.ok());
  EXPECT_EQ(Send(get_with(no_audience->token()), strict).status, 401);
}

TEST_F(WebhookAndAuthTest, CorsAnswersListedOriginsOnly) {
  GatewayHandler::Options options = {.jwt = Verifier(),
                                     .cors = CorsPolicy({"https://live.example.com"})};
  HttpRequest preflight{boost::beast::http::verb::options, "/api/voip/call", 11};
  preflight.set(boost::beast::http::field::origin, "https://live.example.com");
  preflight.set(boost::beast::http::field::access_control_request_method, "POST");
  preflight.set(boost::beast::http::field::access_control_request_headers,
                "authorization, content-type");
  HttpResponse allowed = Send(preflight, options);
  EXPECT_EQ(allowed.status, 204);
  EXPECT_EQ(Header(allowed, "Access-Control-Allow-Origin"), "https://live.example.com");
  EXPECT_THAT(Header(allowed, "Access-Control-Allow-Methods"), HasSubstr("POST"));
  EXPECT_THAT(Header(allowed, "Access-Control-Allow-Headers"), HasSubstr("Authorization"));
  EXPECT_EQ(Header(allowed, "Access-Control-Allow-Credentials"), "<absent>");

  HttpRequest evil = preflight;
  evil.set(boost::beast::http::field::origin, "https://evil.example.net");
  HttpResponse denied = Send(evil, options);
  EXPECT_EQ(denied.status, 403);
  EXPECT_EQ(Header(denied, "Access-Control-Allow-Origin"), "<absent>");

  // Actual requests: the listed origin gets its header (errors too), others nothing.
  HttpRequest request = Get("/api/calls/CA1");
  request.set(boost::beast::http::field::origin, "https://live.example.com");
  HttpResponse unauthorized = Send(request, options);
  EXPECT_EQ(unauthorized.status, 401);
  EXPECT_EQ(Header(unauthorized, "Access-Control-Allow-Origin"), "https://live.example.com");
  EXPECT_THAT(Header(unauthorized, "Access-Control-Expose-Headers"), HasSubstr("Retry-After"));
  request.set(boost::beast::http::field::origin, "https://evil.example.net");
  EXPECT_EQ(Header(Send(request, options), "Access-Control-Allow-Origin"), "<absent>");
  // Without configured origins, no CORS at all.
  request.set(boost::beast::http::field::origin, "https://live.example.com");
  EXPECT_EQ(Header(Send(request), "Access-Control-Allow-Origin"), "<absent>");
}

// A verified agent spends its own bucket, not its address's: agents behind one office NAT do not
// share one. Requests without a verified token (none, or a refused one) spend the address's.
TEST_F(WebhookAndAuthTest, RateLimitsAgentsPerAgentAndEverythingElsePerAddress) {
  RateLimiter per_agent(1, 2);
  RateLimiter per_ip(1, 3);
  GatewayHandler::Options options = {
      .jwt = Verifier(), .agent_limiter = &per_agent, .ip_limiter = &per_ip};
  backend_.answer = livecall::v1::Call().SerializeAsString();
  auto as = [](const std::string& agent) {
    HttpRequest request = Get("/api/calls/CA1");
    request.set(boost::beast::http::field::authorization, "Bearer " + AgentToken(agent));
    return request;
  };
  EXPECT_EQ(Send(as("alice"), options).status, 200);
  EXPECT_EQ(Send(as("alice"), options).status, 200);
  HttpResponse limited = Send(as("alice"), options);
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(Header(limited, "Retry-After"), "1");
  EXPECT_THAT(limited.body, HasSubstr("RESOURCE_EXHAUSTED"));
  EXPECT_THAT(limited.body, HasSubstr("agent"));
  // Bob, from the same address, has his own bucket.
  EXPECT_EQ(Send(as("bob"), options).status, 200);
  EXPECT_EQ(Send(as("bob"), options).status, 200);

  // Without a token, or with one that is refused, the address pays: 3, then 429.
  HttpRequest forged = Get("/api/calls/CA1");
  forged.set(boost::beast::http::field::authorization,
             "Bearer " + AgentToken("mallory", absl::Hours(1), "another secret"));
  EXPECT_EQ(Send(Get("/api/calls/CA1"), options).status, 401);
  EXPECT_EQ(Send(forged, options).status, 401);
  EXPECT_EQ(Send(forged, options).status, 401);
  HttpResponse flood = Send(forged, options);
  EXPECT_EQ(flood.status, 429);
  EXPECT_THAT(flood.body, HasSubstr("address"));
  EXPECT_EQ(Send(Get("/api/calls/CA1"), options).status, 429);
  // ... while a verified agent from that address still gets through.
  EXPECT_EQ(Send(as("carol"), options).status, 200);
  // Operational routes are not limited.
  EXPECT_EQ(Send(Get("/healthz"), options).status, 200);
}

TEST_F(WebhookAndAuthTest, TheClientIpComesFromTrustedProxiesOnly) {
  GatewayHandler handler(&routes_, &backend_, nullptr, "{}", {.trusted_proxy_hops = 1});
  HttpRequest request = Get("/healthz");
  EXPECT_EQ(handler.ClientIp(request, "10.0.0.5"), "10.0.0.5");
  request.set("X-Forwarded-For", "6.6.6.6, 203.0.113.7");
  EXPECT_EQ(handler.ClientIp(request, "10.0.0.5"), "203.0.113.7");
  GatewayHandler direct(&routes_, &backend_, nullptr, "{}", {});
  EXPECT_EQ(direct.ClientIp(request, "10.0.0.5"), "10.0.0.5");
}

// A body the gateway refuses on a call's action is refused only after the call's service has
// said that the caller may use the call (the GetCall it could make), so another agent gets 403.
TEST_F(WebhookAndAuthTest, AMalformedBodyIsRefusedOnlyAfterTheOwnershipCheck) {
  HttpRequest request =
      Post("/api/calls/CA1/dtmf", R"({"digits":"1","tone":2})", "application/json");
  request.set(boost::beast::http::field::authorization, "Bearer " + AgentToken("mallory"));
  backend_.status =
      grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "call CA1 belongs to another agent");
  HttpResponse response = Send(request);
  EXPECT_EQ(response.status, 403) << response.body;
  ASSERT_EQ(backend_.calls.size(), 1u);
  EXPECT_EQ(backend_.calls[0].method_path, "/livecall.v1.CallControl/GetCall");
  EXPECT_EQ(Metadata(backend_.calls[0], "x-livecall-agent"), "mallory");
  livecall::v1::GetCallRequest get;
  ASSERT_TRUE(get.ParseFromString(backend_.calls[0].payload));
  EXPECT_EQ(get.call_sid(), "CA1");
  // The call's own agent hears what is wrong with the body; nothing else is called.
  backend_.status = grpc::Status::OK;
  response = Send(request);
  EXPECT_EQ(response.status, 400) << response.body;
  EXPECT_THAT(response.body, HasSubstr("tone"));
  EXPECT_EQ(backend_.calls.size(), 2u);
}

// A signed webhook with `Timestamp`, as Twilio posts it to `path`.
HttpRequest SignedWithTimestamp(const std::string& path, const std::string& timestamp) {
  HttpRequest request{boost::beast::http::verb::post, path, 11};
  request.set(boost::beast::http::field::content_type, "application/x-www-form-urlencoded");
  request.body() =
      absl::StrCat("CallSid=CA1&CallStatus=ringing&Timestamp=", UrlEncodeForTest(timestamp));
  request.prepare_payload();
  request.set("X-Twilio-Signature",
              ComputeTwilioSignature(
                  kAuthToken, absl::StrCat(kPublicUrl, path),
                  {{"CallSid", "CA1"}, {"CallStatus", "ringing"}, {"Timestamp", timestamp}}));
  return request;
}

std::string TwilioTime(absl::Time at) {
  return absl::FormatTime("%a, %d %b %Y %H:%M:%S +0000", at, absl::UTCTimeZone());
}

// Twilio does not retry a 4xx, so a refused callback is lost for good: status and conference
// callbacks, which only move a call forward, are taken (and logged) however old; a replayed voice
// or gather webhook, which answers TwiML that acts on the call, is refused.
TEST_F(WebhookAndAuthTest, StaleStatusAndConferenceCallbacksAreAcceptedOthersRefused) {
  backend_.answer = livecall::v1::WebhookAck().SerializeAsString();
  for (const char* path : {"/twilio/status", "/twilio/conference"}) {
    SCOPED_TRACE(path);
    backend_.calls.clear();
    EXPECT_EQ(Send(SignedWithTimestamp(path, TwilioTime(absl::Now() - absl::Seconds(20)))).status,
              204);
    EXPECT_EQ(Send(SignedWithTimestamp(path, TwilioTime(absl::Now() - absl::Hours(2)))).status,
              204);
    EXPECT_EQ(Send(SignedWithTimestamp(path, "yesterday")).status, 204);
    EXPECT_EQ(backend_.calls.size(), 3u);
    // The signature is still checked.
    HttpRequest forged = SignedWithTimestamp(path, TwilioTime(absl::Now() - absl::Hours(2)));
    forged.set("X-Twilio-Signature", "RSOYDt4T1cUTdK1PDd93/VVr8B8=");
    EXPECT_EQ(Send(forged).status, 403);
    EXPECT_EQ(backend_.calls.size(), 3u);
  }

  backend_.calls.clear();
  livecall::v1::TwimlResponse twiml;
  twiml.set_twiml("<Response/>");
  backend_.answer = twiml.SerializeAsString();
  for (const char* path : {"/twilio/voice", "/twilio/gather", "/twilio/transcription"}) {
    SCOPED_TRACE(path);
    HttpResponse replayed =
        Send(SignedWithTimestamp(path, TwilioTime(absl::Now() - absl::Hours(2))));
    EXPECT_EQ(replayed.status, 403);
    EXPECT_THAT(replayed.body, HasSubstr("Timestamp"));
    // A Timestamp that is no date cannot be shown to be fresh: refused too, however well signed.
    for (const char* unreadable : {"yesterday", "", "Tue, 31 Feb 2027 25:61:00 +0000"}) {
      SCOPED_TRACE(unreadable);
      HttpResponse refused = Send(SignedWithTimestamp(path, unreadable));
      EXPECT_EQ(refused.status, 403);
      EXPECT_THAT(refused.body, HasSubstr("PERMISSION_DENIED"));
      EXPECT_THAT(refused.body, HasSubstr("Timestamp cannot be read"));
    }
  }
  EXPECT_TRUE(backend_.calls.empty());
  EXPECT_EQ(Send(SignedWithTimestamp("/twilio/voice", TwilioTime(absl::Now()))).status, 200);
}

// Twilio's JSON-bodied webhooks: the URL carries bodySHA256 and alone is signed; the body must
// hash to it, and its fields reach call-control as the webhook's params, like a form's.
TEST_F(WebhookAndAuthTest, JsonBodiedWebhooksAreVerifiedByBodySha256AndPassTheirFields) {
  backend_.answer = livecall::v1::WebhookAck().SerializeAsString();
  const std::string body =
      R"({"TranscriptionEvent":"transcription-content","CallSid":"CA1","Final":true,)"
      R"("SequenceId":3,"TranscriptionData":{"transcript":"Salom","confidence":0.93}})";
  auto json_webhook = [](const std::string& body, const std::string& hash) {
    const std::string target = absl::StrCat("/twilio/transcription?leg=a&bodySHA256=", hash);
    HttpRequest request = Post(target, body, "application/json");
    request.set("X-Twilio-Signature",
                ComputeTwilioSignature(kAuthToken, absl::StrCat(kPublicUrl, target), {}));
    return request;
  };
  HttpResponse response = Send(json_webhook(body, Sha256Hex(body)));
  EXPECT_EQ(response.status, 204) << response.body;
  ASSERT_EQ(backend_.calls.size(), 1u);
  EXPECT_EQ(backend_.calls[0].method_path, "/livecall.v1.TwilioWebhooks/Transcription");
  livecall::v1::TwilioWebhookRequest sent;
  ASSERT_TRUE(sent.ParseFromString(backend_.calls[0].payload));
  EXPECT_THAT(sent.params(),
              UnorderedElementsAre(
                  Pair("TranscriptionEvent", "transcription-content"), Pair("CallSid", "CA1"),
                  Pair("Final", "true"), Pair("SequenceId", "3"),
                  Pair("TranscriptionData", R"({"transcript":"Salom","confidence":0.93})")));
  EXPECT_EQ(sent.query().at("leg"), "a");

  // The body is not the one hashed into the signed URL.
  const std::string other = R"({"TranscriptionEvent":"transcription-stopped","CallSid":"CA1"})";
  HttpRequest swapped = json_webhook(body, Sha256Hex(body));
  swapped.body() = other;
  swapped.prepare_payload();
  EXPECT_EQ(Send(swapped).status, 403);
  // The URL's hash changed after signing.
  HttpRequest rehashed = json_webhook(body, Sha256Hex(body));
  rehashed.target(absl::StrCat("/twilio/transcription?leg=a&bodySHA256=", Sha256Hex(other)));
  rehashed.body() = other;
  rehashed.prepare_payload();
  EXPECT_EQ(Send(rehashed).status, 403);
  // A JSON body without bodySHA256 is covered by no signature.
  HttpRequest unhashed = Post("/twilio/transcription", body, "application/json");
  unhashed.set(
      "X-Twilio-Signature",
      ComputeTwilioSignature(kAuthToken, absl::StrCat(kPublicUrl, "/twilio/transcription"), {}));
  EXPECT_EQ(Send(unhashed).status, 403);
  EXPECT_EQ(backend_.calls.size(), 1u);
  // Signed and hashed, but not a JSON object: a clear 400, nothing called.
  HttpResponse not_object = Send(json_webhook("[1,2]", Sha256Hex("[1,2]")));
  EXPECT_EQ(not_object.status, 400) << not_object.body;
  EXPECT_EQ(backend_.calls.size(), 1u);
}

// A backend's internal error text (Redis, gRPC transport) stays in the log; what our services
// write for the client is answered. Every error body carries the request id.
TEST_F(WebhookAndAuthTest, InternalDetailIsNotAnsweredAndEveryErrorNamesTheRequest) {
  HttpRequest request = Get("/api/calls/CA1");
  request.set(boost::beast::http::field::authorization, "Bearer " + AgentToken("alice"));
  backend_.status = grpc::Status(grpc::StatusCode::INTERNAL,
                                 "redis HGETALL call:CA1: WRONGTYPE Operation against a key");
  HttpResponse internal = Send(request);
  EXPECT_EQ(internal.status, 500);
  EXPECT_THAT(internal.body, Not(HasSubstr("redis")));
  EXPECT_THAT(internal.body, HasSubstr(R"("message":"internal error","requestId":"req-1")"));
  EXPECT_EQ(internal.log_detail, "");  // Logged by the handler, not passed further.
  backend_.status = grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                 "call-control is unavailable: failed to connect to all "
                                 "addresses; last error: UNKNOWN: ipv4:10.1.2.3:50051");
  HttpResponse unavailable = Send(request);
  EXPECT_EQ(unavailable.status, 503);
  EXPECT_THAT(unavailable.body, Not(HasSubstr("10.1.2.3")));
  EXPECT_THAT(unavailable.body, HasSubstr("\"requestId\":\"req-1\""));
  backend_.status = grpc::Status(grpc::StatusCode::NOT_FOUND, "call \"CA1\" not found");
  HttpResponse missing = Send(request);
  EXPECT_EQ(missing.status, 404);
  EXPECT_THAT(missing.body, HasSubstr(R"("message":"call \"CA1\" not found","requestId":"req-1")"));
  // The gateway's own refusals too.
  EXPECT_THAT(Send(Get("/api/calls/CA1")).body, HasSubstr("\"requestId\":\"req-1\""));
  EXPECT_THAT(Send(Get("/no/such/route")).body, HasSubstr("\"requestId\":\"req-1\""));
}

TEST(TwilioTimestampTest, ParsesTwiliosFormats) {
  EXPECT_EQ(*ParseTwilioTimestamp("Mon, 16 Aug 2010 03:45:01 +0000"),
            absl::FromUnixSeconds(1281930301));
  EXPECT_EQ(*ParseTwilioTimestamp("2010-08-16T03:45:01Z"), absl::FromUnixSeconds(1281930301));
  EXPECT_FALSE(ParseTwilioTimestamp("yesterday").ok());
}

TEST(AgentAuthTest, VerifiesTheBearerToken) {
  absl::StatusOr<AuthenticatedAgent> agent =
      AuthenticateAgent("Bearer " + AgentToken("alice"), Verifier());
  ASSERT_TRUE(agent.ok()) << agent.status();
  EXPECT_EQ(agent->agent_id, "alice");
  EXPECT_EQ(agent->role, kRoleAgent);
  EXPECT_FALSE(AuthenticateAgent("Basic abc", Verifier()).ok());
  EXPECT_FALSE(AuthenticateAgent("Bearer " + AgentToken("al\"ice"), Verifier()).ok());
  EXPECT_EQ(AuthenticateAgent("Bearer x.y.z", Verifier()).status().code(),
            absl::StatusCode::kUnauthenticated);
}

}  // namespace
}  // namespace livecall::gateway
