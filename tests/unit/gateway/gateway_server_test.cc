// The gateway as it runs in production — route table, transcoder, gRPC backend client, HTTP
// server — against an in-process fake AiSession gRPC service, over real sockets.

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <pthread.h>

#include <atomic>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/audio_url_signer.h"
#include "common/jwt.h"
#include "common/metrics.h"
#include "livecall/v1/ai_session.grpc.pb.h"
#include "livecall/v1/speech_audio.grpc.pb.h"
#include "services/gateway/backend_client.h"
#include "services/gateway/client_queues.h"
#include "services/gateway/gateway_handler.h"
#include "services/gateway/http_server.h"
#include "services/gateway/openapi.h"
#include "services/gateway/readiness.h"
#include "services/gateway/route_table.h"
#include "tests/unit/gateway/release_witness.h"
#include "tests/unit/gateway/test_http_client.h"

namespace livecall::gateway {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::RawRequest;
using testing::TestConnection;

class FakeAiSession final : public livecall::v1::AiSession::CallbackService {
 public:
  grpc::ServerUnaryReactor* StartSession(grpc::CallbackServerContext* context,
                                         const livecall::v1::StartSessionRequest* request,
                                         livecall::v1::Session* response) override {
    Record(*context);
    {
      absl::MutexLock lock(&mu_);
      last_start_ = *request;
    }
    response->set_session_id("S1");
    response->set_phone_number(request->phone_number());
    response->set_language("uz");
    response->set_status("active");
    response->add_suggestions()->set_text("Assalomu alaykum");
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  grpc::ServerUnaryReactor* GetSession(grpc::CallbackServerContext* context,
                                       const livecall::v1::GetAiSessionRequest* request,
                                       livecall::v1::Session* response) override {
    Record(*context);
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    if (request->session_id() == "missing") {
      reactor->Finish(grpc::Status(grpc::StatusCode::NOT_FOUND, "session \"missing\" not found"));
    } else if (request->session_id() == "denied") {
      reactor->Finish(grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "not your call"));
    } else if (request->session_id() == "held") {
      // Answered when the test calls ReleaseHeld().
      absl::MutexLock lock(&mu_);
      held_.push_back(reactor);
    } else if (request->session_id() == "redis-down") {
      // The backend is up; a dependency of its own is not.
      reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "redis is unavailable"));
    } else {
      response->set_session_id(request->session_id());
      reactor->Finish(grpc::Status::OK);
    }
    return reactor;
  }

  // Waits for a held request, then answers every held one.
  void ReleaseHeld() ABSL_LOCKS_EXCLUDED(mu_) {
    std::vector<grpc::ServerUnaryReactor*> held;
    {
      absl::MutexLock lock(&mu_);
      auto any = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !held_.empty(); };
      mu_.Await(absl::Condition(&any));
      held.swap(held_);
    }
    for (grpc::ServerUnaryReactor* reactor : held) reactor->Finish(grpc::Status::OK);
  }

  std::string Metadata(const std::string& key) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    auto it = metadata_.find(key);
    return it == metadata_.end() ? "<absent>" : it->second;
  }
  livecall::v1::StartSessionRequest last_start() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return last_start_;
  }

 private:
  void Record(const grpc::CallbackServerContext& context) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    metadata_.clear();
    for (const auto& [key, value] : context.client_metadata()) {
      metadata_[std::string(key.data(), key.size())] = std::string(value.data(), value.size());
    }
  }

  absl::Mutex mu_;
  std::map<std::string, std::string> metadata_ ABSL_GUARDED_BY(mu_);
  livecall::v1::StartSessionRequest last_start_ ABSL_GUARDED_BY(mu_);
  std::vector<grpc::ServerUnaryReactor*> held_ ABSL_GUARDED_BY(mu_);
};

// Raw bytes behind (raw_response): binary audio with a NUL inside for "a.wav", NOT_FOUND else.
class FakeSpeechAudio final : public livecall::v1::SpeechAudio::CallbackService {
 public:
  static inline const std::string kAudio = std::string("RIFF\0\x01\xff\x7f audio", 16);

  grpc::ServerUnaryReactor* GetSpeechAudio(grpc::CallbackServerContext* context,
                                           const livecall::v1::GetSpeechAudioRequest* request,
                                           livecall::v1::HttpBody* response) override {
    calls.fetch_add(1);
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    if (request->file_name() != "a.wav") {
      reactor->Finish(grpc::Status(grpc::StatusCode::NOT_FOUND, "this audio URL has expired"));
      return reactor;
    }
    response->set_content_type("audio/wav");
    response->set_data(kAudio);
    response->set_cache_control("public, max-age=60, immutable");
    response->set_etag("\"k1\"");
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  std::atomic<int> calls{0};
};

// A channel to a port nobody listens on, with its own subchannel so that no other channel's
// reconnect backoff makes its calls wait instead of failing at once with UNAVAILABLE.
std::shared_ptr<grpc::Channel> UnreachableChannel() {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel("127.0.0.1:1", grpc::InsecureChannelCredentials(), args);
}

constexpr char kSecret[] = "gateway-server-test-secret-0123456789";

std::string Token(const std::string& sub) {
  return SignJwtHs256(R"({"alg":"HS256","typ":"JWT"})",
                      absl::StrCat(R"({"sub":")", sub, R"(","exp":)",
                                   absl::ToUnixSeconds(absl::Now() + absl::Hours(1)), "}"),
                      kSecret);
}

class GatewayServerTest : public ::testing::Test {
 protected:
  // Transport and transcoding are tested here, so no route needs a token (LIVECALL_AUTH=off);
  // a token that is sent is still verified. Access rules: webhook_and_auth_test.cc.
  static GatewayHandler::Options Options() {
    GatewayHandler::Options options{.backend_deadline = absl::Seconds(5), .auth_enabled = false};
    EXPECT_TRUE(options.jwt.SetSecret(kSecret).ok());
    return options;
  }

  // One fake backend for the suite: starting and stopping a gRPC server per test only slows the
  // suite down.
  static void SetUpTestSuite() {
    fake_ = new FakeAiSession();
    speech_ = new FakeSpeechAudio();
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &grpc_port_);
    builder.RegisterService(fake_);
    builder.RegisterService(speech_);
    grpc_server_ = builder.BuildAndStart().release();
  }

  static void TearDownTestSuite() {
    grpc_server_->Shutdown();
    delete grpc_server_;
    delete fake_;
    delete speech_;
  }

  void SetUp() override {
    ASSERT_NE(grpc_server_, nullptr);
    ASSERT_GT(grpc_port_, 0);
    const int grpc_port = grpc_port_;

    absl::StatusOr<RouteTable> routes = RouteTable::BuildServed();
    ASSERT_TRUE(routes.ok()) << routes.status();
    routes_ = std::make_unique<RouteTable>(*std::move(routes));
    absl::StatusOr<std::string> openapi = GenerateOpenApi(*routes_);
    ASSERT_TRUE(openapi.ok());

    // Context points at a port nobody listens on: its routes see UNAVAILABLE.
    backend_ = std::make_unique<GrpcBackendClient>(
        std::vector<BackendTarget>{
            {.name = "ai-session",
             .channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", grpc_port),
                                            grpc::InsecureChannelCredentials()),
             .services = {"livecall.v1.AiSession", "livecall.v1.SpeechAudio"}},
            {.name = "context",
             .channel = UnreachableChannel(),
             .services = {"livecall.v1.Context"}}},
        std::make_shared<ClientQueues>(2));
    readiness_ =
        std::make_unique<ReadinessChecker>(std::vector<std::pair<std::string, ReadinessCheck>>{
            {"aiSession", [](std::function<void(absl::Status)> done) { done(absl::OkStatus()); }},
        });
    handler_ = std::make_unique<GatewayHandler>(routes_.get(), backend_.get(), readiness_.get(),
                                                *openapi, Options());
    server_ = std::make_unique<HttpServer>(
        HttpServerOptions{.address = "127.0.0.1:0", .threads = 2, .body_limit = 1024},
        handler_.get());
    ASSERT_TRUE(server_->Start().ok());
  }

  void TearDown() override {
    if (server_) server_->Shutdown(absl::Seconds(5));
  }

  static inline FakeAiSession* fake_ = nullptr;
  static inline FakeSpeechAudio* speech_ = nullptr;
  static inline grpc::Server* grpc_server_ = nullptr;
  static inline int grpc_port_ = 0;
  std::unique_ptr<RouteTable> routes_;
  std::unique_ptr<GrpcBackendClient> backend_;
  std::unique_ptr<ReadinessChecker> readiness_;
  std::unique_ptr<GatewayHandler> handler_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(GatewayServerTest, StartThenGetSessionOnOneKeepAliveConnection) {
  TestConnection connection(server_->port());
  auto started = connection.RoundTrip(RawRequest(
      "POST", "/ai/call/start", R"({"phoneNumber":"+998901112233","callSid":"CA1"})",
      absl::StrCat("X-Request-Id: req-123\r\nAuthorization: Bearer ", Token("agent-7"), "\r\n")));
  EXPECT_EQ(started.result_int(), 200);
  EXPECT_EQ(started["Content-Type"], "application/json; charset=utf-8");
  EXPECT_EQ(started["X-Request-Id"], "req-123");
  EXPECT_TRUE(started.keep_alive());
  EXPECT_THAT(started.body(), HasSubstr(R"("sessionId":"S1")"));
  EXPECT_THAT(started.body(), HasSubstr(R"("phoneNumber":"+998901112233")"));
  EXPECT_THAT(started.body(), HasSubstr(R"("agentId":"")"));  // Primitives always printed.
  EXPECT_THAT(started.body(), HasSubstr(R"("text":"Assalomu alaykum")"));
  EXPECT_EQ(fake_->last_start().call_sid(), "CA1");
  EXPECT_EQ(fake_->Metadata("x-request-id"), "req-123");
  // The verified identity goes to the backend; the token itself does not.
  EXPECT_EQ(fake_->Metadata("x-livecall-agent"), "agent-7");
  EXPECT_EQ(fake_->Metadata("x-livecall-role"), "agent");
  EXPECT_EQ(fake_->Metadata("authorization"), "<absent>");

  auto fetched = connection.RoundTrip(RawRequest("GET", "/api/ai/sessions/S%201"));
  EXPECT_EQ(fetched.result_int(), 200);
  EXPECT_THAT(fetched.body(), HasSubstr(R"("sessionId":"S 1")"));
  EXPECT_EQ(fake_->Metadata("x-livecall-agent"), "<absent>");
  // A request id was generated, echoed and forwarded.
  EXPECT_EQ(fetched["X-Request-Id"].size(), 32u);
  EXPECT_EQ(fake_->Metadata("x-request-id"), std::string(fetched["X-Request-Id"]));
}

TEST_F(GatewayServerTest, SnakeCaseBodyOnTheAliasPath) {
  TestConnection connection(server_->port());
  auto response = connection.RoundTrip(
      RawRequest("POST", "/api/ai/call/start", R"({"phone_number":"+998901112233"})"));
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_EQ(fake_->last_start().phone_number(), "+998901112233");
}

TEST_F(GatewayServerTest, EmptyBodyIsTheEmptyRequest) {
  TestConnection connection(server_->port());
  auto response = connection.RoundTrip(
      "POST /ai/call/start HTTP/1.1\r\nHost: t\r\n"
      "Content-Length: 0\r\n\r\n");
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_EQ(fake_->last_start().phone_number(), "");
}

TEST_F(GatewayServerTest, MalformedJsonIs400AndTheConnectionStaysUsable) {
  TestConnection connection(server_->port());
  auto response = connection.RoundTrip(RawRequest("POST", "/ai/call/start", R"({"phoneNumber":)"));
  EXPECT_EQ(response.result_int(), 400);
  EXPECT_EQ(response["Content-Type"], "application/json; charset=utf-8");
  EXPECT_THAT(response.body(), HasSubstr(R"({"error":{"code":"INVALID_ARGUMENT","message":")"));
  EXPECT_TRUE(response.keep_alive());
  EXPECT_EQ(connection.RoundTrip(RawRequest("GET", "/healthz")).result_int(), 200);
}

TEST_F(GatewayServerTest, UnknownJsonFieldIs400) {
  TestConnection connection(server_->port());
  auto response =
      connection.RoundTrip(RawRequest("POST", "/ai/call/start", R"({"phone":"+998901112233"})"));
  EXPECT_EQ(response.result_int(), 400);
  EXPECT_THAT(response.body(), HasSubstr("phone"));
}

TEST_F(GatewayServerTest, BodyOverTheLimitIs413) {
  TestConnection connection(server_->port());
  auto response = connection.RoundTrip(
      RawRequest("POST", "/ai/call/start",
                 absl::StrCat(R"({"phoneNumber":")", std::string(2000, '9'), "\"}")));
  EXPECT_EQ(response.result_int(), 413);
  EXPECT_THAT(response.body(), HasSubstr(R"("code":"PAYLOAD_TOO_LARGE")"));
}

TEST_F(GatewayServerTest, BackendStatusesMapToHttp) {
  TestConnection connection(server_->port());
  auto missing = connection.RoundTrip(RawRequest("GET", "/ai/sessions/missing"));
  EXPECT_EQ(missing.result_int(), 404);
  EXPECT_EQ(
      missing.body(),
      absl::StrCat(R"({"error":{"code":"NOT_FOUND","message":"session \"missing\" not found",)",
                   R"("requestId":")", std::string(missing["X-Request-Id"]), R"("}})"));
  auto denied = connection.RoundTrip(RawRequest("GET", "/ai/sessions/denied"));
  EXPECT_EQ(denied.result_int(), 403);
  EXPECT_THAT(denied.body(), HasSubstr("PERMISSION_DENIED"));
}

TEST_F(GatewayServerTest, UnreachableBackendIs503) {
  TestConnection connection(server_->port());
  auto response = connection.RoundTrip(RawRequest("GET", "/api/customers/%2B998901112233"));
  EXPECT_EQ(response.result_int(), 503);
  EXPECT_THAT(response.body(), HasSubstr(R"("code":"UNAVAILABLE")"));
  // gRPC's transport text (addresses, "failed to connect") is logged, not answered.
  EXPECT_THAT(response.body(),
              HasSubstr(absl::StrCat(R"("message":"a service this request needs is unavailable; )",
                                     R"(retry shortly","requestId":")",
                                     std::string(response["X-Request-Id"]), "\"")));
  EXPECT_THAT(response.body(), Not(HasSubstr("127.0.0.1")));
}

// The value of one series in the process' metrics, 0 when absent.
double MetricValue(const std::string& series) {
  const std::string text = SerializeMetrics();
  const size_t at = text.find(absl::StrCat("\n", series, " "));
  double value = 0;
  if (at == std::string::npos) return value;
  const size_t start = at + series.size() + 2;
  EXPECT_TRUE(absl::SimpleAtod(text.substr(start, text.find('\n', start) - start), &value));
  return value;
}

// After a few failures to reach a backend its breaker refuses at once; the other backends are
// not affected.
TEST_F(GatewayServerTest, ABackendThatCannotBeReachedIsRefusedAtOnceByItsBreaker) {
  TestConnection connection(server_->port());
  const std::string rejections = R"(livecall_circuit_breaker_rejections_total{target="context"})";
  const double rejected_before = MetricValue(rejections);
  for (int i = 0; i < 10 && MetricValue(rejections) == rejected_before; ++i) {
    auto response = connection.RoundTrip(RawRequest("GET", "/api/customers/%2B998901112233"));
    EXPECT_EQ(response.result_int(), 503);
    EXPECT_THAT(response.body(), HasSubstr("UNAVAILABLE"));
  }
  EXPECT_GT(MetricValue(rejections), rejected_before);
  auto other = connection.RoundTrip(RawRequest("GET", "/ai/sessions/S1"));
  EXPECT_EQ(other.result_int(), 200);
}

// An UNAVAILABLE the backend answered itself (its Redis is down) is passed on as UNAVAILABLE (its
// text only to the log), and does not open the backend's breaker: the backend is up.
TEST_F(GatewayServerTest, ABackendsOwnUnavailableAnswerIsNotAFailureToReachIt) {
  TestConnection connection(server_->port());
  for (int i = 0; i < 8; ++i) {
    auto response = connection.RoundTrip(RawRequest("GET", "/ai/sessions/redis-down"));
    EXPECT_EQ(response.result_int(), 503);
    EXPECT_THAT(response.body(), HasSubstr(R"({"error":{"code":"UNAVAILABLE","message":")"));
    EXPECT_THAT(response.body(), Not(HasSubstr("redis")));
  }
  EXPECT_EQ(connection.RoundTrip(RawRequest("GET", "/ai/sessions/S1")).result_int(), 200);
}

TEST_F(GatewayServerTest, BackendWithoutAChannelIs501) {
  TestConnection connection(server_->port());
  auto response = connection.RoundTrip(RawRequest("GET", "/api/calls/CA1"));
  EXPECT_EQ(response.result_int(), 501);
  EXPECT_THAT(response.body(), HasSubstr("UNIMPLEMENTED"));
}

TEST_F(GatewayServerTest, UnknownPathIs404AndWrongMethodIs405WithAllow) {
  TestConnection connection(server_->port());
  auto unknown = connection.RoundTrip(RawRequest("GET", "/ai/nothing"));
  EXPECT_EQ(unknown.result_int(), 404);
  EXPECT_THAT(unknown.body(), HasSubstr(R"("code":"NOT_FOUND")"));
  auto wrong = connection.RoundTrip(RawRequest("GET", "/ai/call/start"));
  EXPECT_EQ(wrong.result_int(), 405);
  EXPECT_EQ(wrong["Allow"], "POST");
  EXPECT_THAT(wrong.body(), HasSubstr(R"("code":"METHOD_NOT_ALLOWED")"));
  auto fixed = connection.RoundTrip(RawRequest("POST", "/healthz", "{}"));
  EXPECT_EQ(fixed.result_int(), 405);
  EXPECT_EQ(fixed["Allow"], "GET");
}

TEST_F(GatewayServerTest, BadPercentEncodingAndUnknownQueryAre400) {
  TestConnection connection(server_->port());
  EXPECT_EQ(connection.RoundTrip(RawRequest("GET", "/ai/sessions/%E0%A4")).result_int(), 400);
  auto query = connection.RoundTrip(RawRequest("GET", "/ai/sessions/S1?verbose=1"));
  EXPECT_EQ(query.result_int(), 400);
  EXPECT_THAT(query.body(), HasSubstr("verbose"));
}

TEST_F(GatewayServerTest, MalformedAuthorizationIs401) {
  TestConnection connection(server_->port());
  auto response = connection.RoundTrip(
      RawRequest("GET", "/ai/sessions/S1", "", "Authorization: Bearer \xC3\xA9\r\n"));
  EXPECT_EQ(response.result_int(), 401);
  EXPECT_THAT(std::string(response["WWW-Authenticate"]), HasSubstr("invalid_token"));
}

TEST_F(GatewayServerTest, OperationalRoutes) {
  TestConnection connection(server_->port());
  auto health = connection.RoundTrip(RawRequest("GET", "/healthz"));
  EXPECT_EQ(health.result_int(), 200);
  EXPECT_EQ(health.body(), R"({"status":"ok"})");
  // The probes and the scrape are on the admin port only, which the Ingress does not route.
  EXPECT_EQ(connection.RoundTrip(RawRequest("GET", "/readyz")).result_int(), 404);
  EXPECT_EQ(connection.RoundTrip(RawRequest("GET", "/metrics")).result_int(), 404);
  auto openapi = connection.RoundTrip(RawRequest("GET", "/openapi.json"));
  EXPECT_EQ(openapi.result_int(), 200);
  EXPECT_THAT(openapi.body(), HasSubstr("\"/ai/call/start\""));
}

// With LIVECALL_TTS_URL_SECRET the gateway checks a /tts id's MAC itself: a forged or expired id
// is answered 403/404 without a call to call-control (whose executor it used to occupy).
TEST_F(GatewayServerTest, AForgedAudioIdIsRefusedAtTheGatewayWithoutABackendCall) {
  const AudioUrlSigner signer("gateway-server-test-tts-secret-0123456789");
  GatewayHandler::Options options = Options();
  options.tts_signer = &signer;
  absl::StatusOr<std::string> openapi = GenerateOpenApi(*routes_);
  ASSERT_TRUE(openapi.ok());
  GatewayHandler handler(routes_.get(), backend_.get(), readiness_.get(), *openapi, options);
  HttpServer server(HttpServerOptions{.address = "127.0.0.1:0", .threads = 1}, &handler);
  ASSERT_TRUE(server.Start().ok());
  TestConnection connection(server.port());
  const std::string key(32, 'a');
  const std::string forged =
      absl::StrCat(key, "-", absl::ToUnixSeconds(absl::Now()) + 600, "-", std::string(32, '0'));
  const std::string expired = signer.Sign(key, absl::Now() - absl::Seconds(1));
  const int calls_before = speech_->calls.load();

  auto refused = connection.RoundTrip(RawRequest("GET", absl::StrCat("/tts/", forged, ".wav")));
  EXPECT_EQ(refused.result_int(), 403);
  EXPECT_THAT(refused.body(), HasSubstr("PERMISSION_DENIED"));
  EXPECT_EQ(connection.RoundTrip(RawRequest("GET", "/tts/a.wav")).result_int(), 403);
  auto late = connection.RoundTrip(RawRequest("GET", absl::StrCat("/tts/", expired, ".wav")));
  EXPECT_EQ(late.result_int(), 404);
  EXPECT_EQ(speech_->calls.load(), calls_before);

  // A valid id goes on to call-control (whose fake knows only "a.wav": 404).
  const std::string valid = signer.Sign(key, absl::Now() + absl::Minutes(5));
  EXPECT_EQ(
      connection.RoundTrip(RawRequest("GET", absl::StrCat("/tts/", valid, ".wav"))).result_int(),
      404);
  EXPECT_EQ(speech_->calls.load(), calls_before + 1);
  server.Shutdown(absl::Seconds(5));
}

TEST_F(GatewayServerTest, TheAdminPortServesHealthReadinessAndMetricsOnly) {
  AdminHandler admin_handler(readiness_.get());
  HttpServer admin(HttpServerOptions{.address = "127.0.0.1:0", .threads = 1}, &admin_handler);
  ASSERT_TRUE(admin.Start().ok());
  TestConnection connection(admin.port());
  EXPECT_EQ(connection.RoundTrip(RawRequest("GET", "/healthz")).body(), R"({"status":"ok"})");
  auto ready = connection.RoundTrip(RawRequest("GET", "/readyz"));
  EXPECT_EQ(ready.result_int(), 200);
  EXPECT_EQ(ready.body(), R"({"checks":{"aiSession":"ok"},"status":"ready"})");
  auto metrics = connection.RoundTrip(RawRequest("GET", "/metrics"));
  EXPECT_EQ(metrics.result_int(), 200);
  EXPECT_THAT(metrics.body(), HasSubstr("# TYPE"));
  EXPECT_EQ(connection.RoundTrip(RawRequest("GET", "/ai/sessions/S1")).result_int(), 404);
  EXPECT_EQ(connection.RoundTrip(RawRequest("POST", "/readyz", "{}")).result_int(), 405);
  admin.Shutdown(absl::Seconds(5));
}

TEST_F(GatewayServerTest, RawResponseRoutesWriteTheBytesWithTheirHeaders) {
  TestConnection connection(server_->port());
  auto audio = connection.RoundTrip(RawRequest("GET", "/tts/a.wav"));
  EXPECT_EQ(audio.result_int(), 200);
  EXPECT_EQ(audio["Content-Type"], "audio/wav");
  EXPECT_EQ(audio["Cache-Control"], "public, max-age=60, immutable");
  EXPECT_EQ(audio["ETag"], "\"k1\"");
  EXPECT_EQ(audio.body(), FakeSpeechAudio::kAudio);

  auto unchanged =
      connection.RoundTrip(RawRequest("GET", "/tts/a.wav", "", "If-None-Match: \"k1\"\r\n"));
  EXPECT_EQ(unchanged.result_int(), 304);
  EXPECT_EQ(unchanged.body(), "");

  auto expired = connection.RoundTrip(RawRequest("GET", "/tts/b.wav"));
  EXPECT_EQ(expired.result_int(), 404);
  EXPECT_THAT(expired.body(), HasSubstr(R"("code":"NOT_FOUND")"));
  EXPECT_EQ(expired["Content-Type"], "application/json; charset=utf-8");
}

// gRPC destroys a call's completion (and the ClientContext, which holds the call and its channel)
// on its own thread after the completion has answered. The client's destructor must wait for that:
// otherwise the last reference to a call or channel is dropped on a gRPC thread while main (after
// SIGTERM) or a test's teardown shuts gRPC down, and gRPC aborts at exit (ref_counted.h: prior >
// 0).
TEST_F(GatewayServerTest, TheBackendClientsDestructorWaitsUntilGrpcHasReleasedEveryCall) {
  testing::ReleaseWitness witness;
  {
    GrpcBackendClient client(
        {{.name = "ai-session",
          .channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", grpc_port_),
                                         grpc::InsecureChannelCredentials()),
          .services = {"livecall.v1.AiSession"}}},
        std::make_shared<ClientQueues>());
    livecall::v1::GetAiSessionRequest get;
    get.set_session_id("held");
    absl::Notification answered;
    client.Call({.service = "livecall.v1.AiSession",
                 .method_path = "/livecall.v1.AiSession/GetSession",
                 .payload = get.SerializeAsString()},
                [token = witness.token(), &answered](const grpc::Status& status, std::string) {
                  EXPECT_TRUE(status.ok()) << status.error_message();
                  answered.Notify();
                });
    // Answered only now, so the completion runs (and is released) on a gRPC thread.
    fake_->ReleaseHeld();
    answered.WaitForNotification();
  }
  witness.OwnerGone();
  EXPECT_FALSE(witness.released_after_owner());
}

// The name of the thread this runs on (/proc/<pid>/task/<tid>/comm).
std::string ThisThreadsName() {
  char name[16] = {};
  pthread_getname_np(pthread_self(), name, sizeof(name));
  return name;
}

// A client of the fake AiSession at `port`.
GrpcBackendClient AiSessionClient(int port, int queue_threads = 1) {
  return GrpcBackendClient({{.name = "ai-session",
                             .channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                                                            grpc::InsecureChannelCredentials()),
                             .services = {"livecall.v1.AiSession"}}},
                           std::make_shared<ClientQueues>(queue_threads));
}

BackendRequest GetSession(const std::string& id, absl::Duration deadline) {
  livecall::v1::GetAiSessionRequest get;
  get.set_session_id(id);
  return {.service = "livecall.v1.AiSession",
          .method_path = "/livecall.v1.AiSession/GetSession",
          .payload = get.SerializeAsString(),
          .metadata = {{"x-request-id", "queued-1"}},
          .deadline = deadline};
}

// The answer comes back on the client's own completion-queue thread, not on gRPC's callback
// threads, with the reply's bytes and the request's metadata delivered.
TEST_F(GatewayServerTest, TheAnswerRunsOnTheClientQueuesThread) {
  GrpcBackendClient client = AiSessionClient(grpc_port_);
  absl::Notification answered;
  std::string thread_name;
  std::string payload;
  client.Call(GetSession("S7", absl::Seconds(5)),
              [&](const grpc::Status& status, std::string reply) {
                EXPECT_TRUE(status.ok()) << status.error_message();
                thread_name = ThisThreadsName();
                payload = std::move(reply);
                answered.Notify();
              });
  answered.WaitForNotification();
  EXPECT_EQ(thread_name, "gw-backend-cq");
  livecall::v1::Session session;
  ASSERT_TRUE(session.ParseFromString(payload));
  EXPECT_EQ(session.session_id(), "S7");
  EXPECT_EQ(fake_->Metadata("x-request-id"), "queued-1");
}

// A backend that does not answer within the deadline: DEADLINE_EXCEEDED naming the backend,
// once, from the client (whatever the backend does later).
TEST_F(GatewayServerTest, ABackendSlowerThanTheDeadlineIsDeadlineExceeded) {
  GrpcBackendClient client = AiSessionClient(grpc_port_, 2);
  absl::Notification answered;
  std::atomic<int> answers{0};
  grpc::Status result;
  client.Call(GetSession("held", absl::Milliseconds(300)),
              [&](const grpc::Status& status, std::string) {
                result = status;
                answers.fetch_add(1);
                answered.Notify();
              });
  answered.WaitForNotification();
  EXPECT_EQ(result.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_EQ(result.error_message(), "ai-session did not answer within the deadline");
  fake_->ReleaseHeld();
  EXPECT_EQ(answers.load(), 1);
}

// Destroying the client with a call in flight waits for that call (it ends by its deadline) and
// answers it first: no call is dropped unanswered, and none is answered after the client is gone.
TEST_F(GatewayServerTest, DestroyingTheClientWithACallInFlightAnswersItFirst) {
  std::atomic<int> answers{0};
  grpc::Status result;
  {
    GrpcBackendClient client = AiSessionClient(grpc_port_);
    client.Call(GetSession("held", absl::Milliseconds(300)),
                [&](const grpc::Status& status, std::string) {
                  result = status;
                  answers.fetch_add(1);
                });
  }
  EXPECT_EQ(answers.load(), 1);
  EXPECT_EQ(result.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  fake_->ReleaseHeld();
}

}  // namespace
}  // namespace livecall::gateway
