#include "services/gateway/http_server.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>
#include <stdexcept>
#include <thread>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "common/ids.h"
#include "services/gateway/sse_handler.h"
#include "tests/unit/gateway/test_http_client.h"

namespace livecall::gateway {
namespace {

using ::testing::HasSubstr;
using testing::RawRequest;
using testing::TestConnection;

// /echo answers at once; /throw throws; /later keeps its responder for the test to call.
class ScriptedHandler : public HttpHandler {
 public:
  void Handle(const HttpRequest& request, const std::string& request_id, const std::string&,
              HttpResponder respond) override {
    const std::string target(request.target());
    if (target == "/throw") throw std::runtime_error("boom");
    if (target == "/later") {
      absl::MutexLock lock(&mu_);
      later_ = std::move(respond);
      later_arrived_.Notify();
      return;
    }
    respond(JsonResponse(200, absl::StrCat("{\"echo\":\"", std::string(request.method_string()),
                                           " ", target, " ", request.body(), "\"}")));
  }

  // Waits for /later to arrive, then answers it.
  void AnswerLater(HttpResponse response) {
    ASSERT_TRUE(later_arrived_.WaitForNotificationWithTimeout(absl::Seconds(10)));
    HttpResponder respond;
    {
      absl::MutexLock lock(&mu_);
      respond = std::move(later_);
    }
    respond(std::move(response));
  }

  void WaitForLater() {
    ASSERT_TRUE(later_arrived_.WaitForNotificationWithTimeout(absl::Seconds(10)));
  }

 private:
  absl::Mutex mu_;
  HttpResponder later_ ABSL_GUARDED_BY(mu_);
  absl::Notification later_arrived_;
};

class HttpServerTest : public ::testing::Test {
 protected:
  void StartServer(HttpServerOptions options = {}) {
    options.address = "127.0.0.1:0";
    options.body_limit = 64;
    server_ = std::make_unique<HttpServer>(options, &handler_);
    ASSERT_TRUE(server_->Start().ok());
    ASSERT_GT(server_->port(), 0);
  }
  void SetUp() override { StartServer(); }
  void TearDown() override {
    if (server_) server_->Shutdown(absl::Seconds(5));
  }

  ScriptedHandler handler_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  TestConnection connection(server_->port());
  auto first = connection.RoundTrip(RawRequest("POST", "/echo", "{}"));
  EXPECT_EQ(first.result_int(), 200);
  EXPECT_EQ(first.body(), R"({"echo":"POST /echo {}"})");
  EXPECT_EQ(first[boost::beast::http::field::content_type], "application/json; charset=utf-8");
  EXPECT_TRUE(first.keep_alive());
  auto second = connection.RoundTrip(RawRequest("GET", "/echo?x=1"));
  EXPECT_EQ(second.result_int(), 200);
  EXPECT_EQ(second.body(), R"({"echo":"GET /echo?x=1 "})");
}

TEST_F(HttpServerTest, EchoesAValidRequestIdAndGeneratesOneOtherwise) {
  TestConnection connection(server_->port());
  auto given = connection.RoundTrip(RawRequest("GET", "/echo", "", "X-Request-Id: abc-123\r\n"));
  EXPECT_EQ(given["X-Request-Id"], "abc-123");
  auto generated = connection.RoundTrip(RawRequest("GET", "/echo"));
  EXPECT_EQ(generated["X-Request-Id"].size(), 32u);
  auto replaced = connection.RoundTrip(RawRequest("GET", "/echo", "", "X-Request-Id: a b\r\n"));
  EXPECT_EQ(replaced["X-Request-Id"].size(), 32u);
}

TEST_F(HttpServerTest, PipelinedAnswersAreWrittenInRequestOrder) {
  TestConnection connection(server_->port());
  // /echo is answered first by the handler but must be written second.
  connection.Send(RawRequest("GET", "/later") + RawRequest("GET", "/echo"));
  handler_.WaitForLater();
  handler_.AnswerLater(JsonResponse(201, "{\"later\":true}"));
  auto first = connection.Read();
  auto second = connection.Read();
  EXPECT_EQ(first.result_int(), 201);
  EXPECT_EQ(first.body(), "{\"later\":true}");
  EXPECT_EQ(second.result_int(), 200);
  EXPECT_THAT(second.body(), HasSubstr("GET /echo"));
}

// An answer given on another thread is written there when it fits the socket; one too large for
// the socket's buffers (the client reads nothing until it is answered) goes on from the
// connection's own thread, whole, and the connection serves the next request after it.
TEST_F(HttpServerTest, AnAnswerLargerThanTheSocketBuffersFromAnotherThreadArrivesWhole) {
  TestConnection connection(server_->port());
  connection.SetReceiveTimeout(absl::Seconds(30));
  connection.Send(RawRequest("GET", "/later"));
  const std::string body(24 << 20, 'x');
  handler_.AnswerLater(JsonResponse(200, body));
  auto large = connection.ReadUnlimited();
  EXPECT_EQ(large.result_int(), 200);
  EXPECT_EQ(large.body().size(), body.size());
  EXPECT_EQ(large.body(), body);
  auto next = connection.RoundTrip(RawRequest("GET", "/echo"));
  EXPECT_EQ(next.result_int(), 200);
  EXPECT_THAT(next.body(), HasSubstr("GET /echo"));
}

// Answers from other threads, to pipelined requests, in the reverse of their order: each is
// written in request order.
TEST_F(HttpServerTest, PipelinedAnswersFromAnotherThreadAreWrittenInRequestOrder) {
  TestConnection connection(server_->port());
  connection.SetReceiveTimeout(absl::Seconds(30));
  connection.Send(RawRequest("GET", "/later") + RawRequest("GET", "/echo") +
                  RawRequest("GET", "/echo?second"));
  std::thread answerer([this] { handler_.AnswerLater(JsonResponse(202, "{\"n\":1}")); });
  auto first = connection.Read();
  auto second = connection.Read();
  auto third = connection.Read();
  answerer.join();
  EXPECT_EQ(first.result_int(), 202);
  EXPECT_THAT(second.body(), HasSubstr("GET /echo "));
  EXPECT_THAT(third.body(), HasSubstr("GET /echo?second"));
}

TEST_F(HttpServerTest, AnswerToHeadHasNoBody) {
  TestConnection connection(server_->port());
  connection.Send("HEAD /echo HTTP/1.1\r\nHost: t\r\n\r\n");
  auto head = connection.ReadHeadAnswer();
  EXPECT_EQ(head.result_int(), 200);
  EXPECT_EQ(head[boost::beast::http::field::content_length], "22");
  // Had a body been sent, it would be read here as the next response and fail to parse.
  auto next = connection.RoundTrip(RawRequest("GET", "/echo"));
  EXPECT_EQ(next.result_int(), 200);
  EXPECT_EQ(next.body(), R"({"echo":"GET /echo "})");
}

TEST_F(HttpServerTest, ConnectionCloseIsHonoured) {
  TestConnection connection(server_->port());
  auto response = connection.RoundTrip(RawRequest("GET", "/echo", "", "Connection: close\r\n"));
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_FALSE(response.keep_alive());
  EXPECT_TRUE(connection.ClosedByServer());
}

TEST_F(HttpServerTest, Http10WithoutKeepAliveIsClosedAfterTheAnswer) {
  TestConnection connection(server_->port());
  auto response = connection.RoundTrip("GET /echo HTTP/1.0\r\n\r\n");
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_EQ(response.version(), 10u);
  EXPECT_TRUE(connection.ClosedByServer());
}

TEST_F(HttpServerTest, HandlerExceptionIs500AndClosesOnlyThatConnection) {
  TestConnection other(server_->port());
  TestConnection connection(server_->port());
  auto response = connection.RoundTrip(RawRequest("GET", "/throw"));
  EXPECT_EQ(response.result_int(), 500);
  EXPECT_EQ(response.body(),
            absl::StrCat(R"({"error":{"code":"INTERNAL","message":"internal error","requestId":")",
                         std::string(response["X-Request-Id"]), R"("}})"));
  EXPECT_TRUE(connection.ClosedByServer());
  // The process and the other connections carry on.
  EXPECT_EQ(other.RoundTrip(RawRequest("GET", "/echo")).result_int(), 200);
  TestConnection fresh(server_->port());
  EXPECT_EQ(fresh.RoundTrip(RawRequest("GET", "/echo")).result_int(), 200);
}

TEST_F(HttpServerTest, BodyOverTheLimitIs413) {
  TestConnection connection(server_->port());
  auto response = connection.RoundTrip(RawRequest("POST", "/echo", std::string(100, 'x')));
  EXPECT_EQ(response.result_int(), 413);
  EXPECT_EQ(response.body(),
            absl::StrCat(R"({"error":{"code":"PAYLOAD_TOO_LARGE","message":"request body is )",
                         R"(larger than 64 bytes","requestId":")",
                         std::string(response["X-Request-Id"]), R"("}})"));
  EXPECT_FALSE(response.keep_alive());
  EXPECT_TRUE(connection.ClosedByServer());
}

TEST_F(HttpServerTest, ChunkedBodyOverTheLimitIs413) {
  TestConnection connection(server_->port());
  const std::string chunk(80, 'y');
  auto response = connection.RoundTrip(
      absl::StrCat("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n50\r\n",
                   chunk, "\r\n0\r\n\r\n"));
  EXPECT_EQ(response.result_int(), 413);
}

TEST_F(HttpServerTest, OversizedHeaderIs431) {
  TestConnection connection(server_->port());
  auto response = connection.RoundTrip(
      RawRequest("GET", "/echo", "", absl::StrCat("X-Big: ", std::string(20000, 'h'), "\r\n")));
  EXPECT_EQ(response.result_int(), 431);
  EXPECT_THAT(response.body(), HasSubstr("REQUEST_HEADER_FIELDS_TOO_LARGE"));
}

TEST_F(HttpServerTest, MalformedRequestIs400) {
  TestConnection connection(server_->port());
  auto response = connection.RoundTrip("GET /echo HTTP/1.1\r\nBad Header\r\n\r\n");
  EXPECT_EQ(response.result_int(), 400);
  EXPECT_THAT(response.body(), HasSubstr("\"code\":\"INVALID_ARGUMENT\""));
  EXPECT_TRUE(connection.ClosedByServer());
}

TEST_F(HttpServerTest, ExpectContinueGetsA100BeforeTheBody) {
  TestConnection connection(server_->port());
  connection.Send(
      "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n");
  auto interim = connection.Read();
  EXPECT_EQ(interim.result_int(), 100);
  connection.Send("{}");
  auto response = connection.Read();
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_EQ(response.body(), R"({"echo":"POST /echo {}"})");
}

// A body that came with its header is parsed from what was read; the next request's bytes behind
// it stay for the next request.
TEST_F(HttpServerTest, PipelinedPostsAreEachAnsweredWithTheirOwnBody) {
  TestConnection connection(server_->port());
  connection.Send(RawRequest("POST", "/echo", "{\"n\":1}") +
                  RawRequest("POST", "/echo", "{\"n\":2}") + RawRequest("GET", "/echo"));
  EXPECT_EQ(connection.Read().body(), R"({"echo":"POST /echo {"n":1}"})");
  EXPECT_EQ(connection.Read().body(), R"({"echo":"POST /echo {"n":2}"})");
  EXPECT_EQ(connection.Read().body(), R"({"echo":"GET /echo "})");
}

TEST_F(HttpServerTest, ABodySentAfterItsHeaderIsReadWhole) {
  TestConnection connection(server_->port());
  connection.Send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 8\r\n\r\n{\"n\"");
  connection.Send(":12}");
  auto response = connection.Read();
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_EQ(response.body(), R"({"echo":"POST /echo {"n":12}"})");
}

TEST_F(HttpServerTest, ShutdownLetsAnInFlightRequestFinish) {
  TestConnection connection(server_->port());
  connection.Send(RawRequest("GET", "/later"));
  handler_.WaitForLater();
  std::thread shutdown([this] { server_->Shutdown(absl::Seconds(10)); });
  handler_.AnswerLater(JsonResponse(200, "{\"done\":true}"));
  auto response = connection.Read();
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_EQ(response.body(), "{\"done\":true}");
  shutdown.join();
  EXPECT_TRUE(connection.ClosedByServer());
  server_.reset();
}

TEST(HttpServerTimeoutTest, IdleConnectionIsClosedAfterTheReadTimeout) {
  ScriptedHandler handler;
  HttpServer server({.address = "127.0.0.1:0", .read_timeout = absl::Milliseconds(100)}, &handler);
  ASSERT_TRUE(server.Start().ok());
  TestConnection connection(server.port());
  connection.Send("GET /echo HTTP/1.1\r\n");  // Never finished.
  EXPECT_TRUE(connection.ClosedByServer());
  server.Shutdown(absl::Seconds(1));
}

// A stream that writes `first` when it starts and then nothing: what an idle live-event stream
// looks like to the connection.
class QuietStream final : public StreamBody {
 public:
  explicit QuietStream(std::string first) : first_(std::move(first)) {}
  void Start(std::shared_ptr<StreamSink> sink) override { sink->Write(first_); }
  void Stop() override {}

 private:
  const std::string first_;
};

// Answers every request with a QuietStream that ends at `ends_at`.
class StreamingHandler : public HttpHandler {
 public:
  StreamingHandler(std::string first, absl::Time ends_at)
      : first_(std::move(first)), ends_at_(ends_at) {}
  void Handle(const HttpRequest&, const std::string&, const std::string&,
              HttpResponder respond) override {
    HttpResponse response;
    response.content_type = "text/event-stream";
    response.stream = std::make_shared<QuietStream>(first_);
    response.stream_ends_at = ends_at_;
    respond(std::move(response));
  }

 private:
  const std::string first_;
  const absl::Time ends_at_;
};

// Answers every request with 200 and notes which thread handled it.
class ThreadRecordingHandler : public HttpHandler {
 public:
  void Handle(const HttpRequest&, const std::string&, const std::string&,
              HttpResponder respond) override {
    {
      absl::MutexLock lock(&mu_);
      threads_.push_back(std::this_thread::get_id());
    }
    respond(HttpResponse{.status = 200, .body = "ok"});
  }
  std::vector<std::thread::id> threads() {
    absl::MutexLock lock(&mu_);
    return threads_;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::thread::id> threads_ ABSL_GUARDED_BY(mu_);
};

// Each I/O thread runs an io_context of its own and a connection stays on one: its requests are
// all handled on one thread, and consecutive connections go to different threads.
TEST(HttpServerThreadsTest, AConnectionStaysOnOneThreadAndConnectionsAreSpreadOverThem) {
  ThreadRecordingHandler handler;
  HttpServer server({.address = "127.0.0.1:0", .threads = 2}, &handler);
  ASSERT_TRUE(server.Start().ok());
  {
    TestConnection first(server.port());
    TestConnection second(server.port());
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(first.RoundTrip(RawRequest("GET", "/a")).result_int(), 200);
      EXPECT_EQ(second.RoundTrip(RawRequest("GET", "/b")).result_int(), 200);
    }
  }
  server.Shutdown(absl::Seconds(1));
  const std::vector<std::thread::id> threads = handler.threads();
  ASSERT_EQ(threads.size(), 6u);
  for (int i = 1; i < 3; ++i) {
    EXPECT_EQ(threads[2 * i], threads[0]);
    EXPECT_EQ(threads[2 * i + 1], threads[1]);
  }
  EXPECT_NE(threads[0], threads[1]);
}

// A live-event stream lasts no longer than the token that opened it: at stream_ends_at the
// server ends the body cleanly (the client reconnects with a fresh token).
TEST(HttpServerStreamTest, AStreamEndsAtItsEndTime) {
  StreamingHandler handler("data: x\n\n", absl::Now() + absl::Milliseconds(100));
  HttpServer server({.address = "127.0.0.1:0"}, &handler);
  ASSERT_TRUE(server.Start().ok());
  TestConnection connection(server.port());
  connection.SetReceiveTimeout(absl::Seconds(10));  // Only so that a regression fails, not hangs.
  auto response = connection.RoundTrip(RawRequest("GET", "/events"));
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_EQ(response.body(), "data: x\n\n");
  server.Shutdown(absl::Seconds(1));
}

// Bytes a slow reader has not taken count against a budget over all connections too: over it,
// the stream is disconnected (not ended), and the client resumes with Last-Event-ID.
TEST(HttpServerStreamTest, AStreamOverTheTotalUnsentBudgetIsDisconnected) {
  StreamingHandler handler(std::string(64, 'x'), absl::InfiniteFuture());
  HttpServer server({.address = "127.0.0.1:0", .max_total_stream_pending_bytes = 16}, &handler);
  ASSERT_TRUE(server.Start().ok());
  TestConnection connection(server.port());
  connection.SetReceiveTimeout(absl::Seconds(10));
  EXPECT_THROW(connection.RoundTrip(RawRequest("GET", "/events")), boost::system::system_error);
  server.Shutdown(absl::Seconds(1));
}

TEST(HttpServerStartTest, UnbindableAddressIsAnError) {
  ScriptedHandler handler;
  HttpServer server({.address = "203.0.113.1:80"}, &handler);
  EXPECT_FALSE(server.Start().ok());
  HttpServer bad({.address = "no-port"}, &handler);
  EXPECT_EQ(bad.Start().code(), absl::StatusCode::kInvalidArgument);
}

TEST(IsValidRequestIdTest, AcceptsVisibleAsciiUpTo128) {
  EXPECT_TRUE(IsValidRequestId("abc-123_DEF.456"));
  EXPECT_FALSE(IsValidRequestId(""));
  EXPECT_FALSE(IsValidRequestId("a b"));
  EXPECT_FALSE(IsValidRequestId("caf\xC3\xA9"));
  EXPECT_FALSE(IsValidRequestId(std::string(129, 'a')));
  EXPECT_TRUE(IsValidRequestId(std::string(128, 'a')));
}

// What ResponseBytes writes by hand, held to what Beast writes for the same answer (the
// server's code before ResponseBytes): message, then serializer.
std::string BeastBytes(const HttpResponse& answer, unsigned version, const std::string& request_id,
                       bool keep_alive, bool is_head, bool* need_eof) {
  namespace http = boost::beast::http;
  http::response<http::string_body> response;
  response.version(version);
  response.result(static_cast<unsigned>(answer.status));
  if (answer.status == 499) response.reason("Client Closed Request");
  response.set(http::field::content_type, answer.content_type);
  response.set(http::field::cache_control, answer.stream ? "no-cache" : "no-store");
  response.set("X-Request-Id", request_id);
  for (const auto& [name, value] : answer.headers) response.set(name, value);
  response.keep_alive(keep_alive);
  response.body() = answer.body;
  response.prepare_payload();
  if (is_head) response.body().clear();
  *need_eof = response.need_eof();
  std::ostringstream wire;
  wire << response;
  return wire.str();
}

TEST(ResponseBytesTest, AreWhatBeastWritesForTheSameAnswer) {
  std::vector<HttpResponse> answers;
  for (int status : {200, 201, 202, 204, 304, 400, 401, 403, 404, 405, 409,
                     413, 415, 429, 431, 499, 500, 501, 503, 504, 299, 599}) {
    HttpResponse answer = JsonResponse(status, status == 204 || status == 304 ? "" : "{\"a\":1}");
    answers.push_back(answer);
    answer.headers = {{"Retry-After", "5"}, {"Allow", "GET, POST"}};
    answers.push_back(answer);
  }
  HttpResponse raw = JsonResponse(200, std::string(3000, 'w'));
  raw.content_type = "audio/wav";
  raw.headers = {{"Cache-Control", "public, max-age=3600"}, {"ETag", "\"abc\""}};
  answers.push_back(raw);
  HttpResponse replaced = JsonResponse(200, "{}");
  replaced.headers = {
      {"vary", "Origin"}, {"content-type", "text/plain"}, {"Vary", "X"}, {"x-request-id", "mine"}};
  answers.push_back(replaced);
  HttpResponse untyped = JsonResponse(404, "");
  untyped.content_type = "";
  answers.push_back(untyped);
  HttpResponse framing = JsonResponse(200, "{}");  // Left to Beast: it rewrites Connection.
  framing.headers = {{"Connection", "upgrade"}};
  answers.push_back(framing);
  for (const HttpResponse& answer : answers) {
    for (unsigned version : {10u, 11u}) {
      for (bool keep_alive : {true, false}) {
        for (bool is_head : {false, true}) {
          SCOPED_TRACE(absl::StrCat(answer.status, " version ", version, " keep-alive ", keep_alive,
                                    " head ", is_head, " ", answer.headers.size(), " headers"));
          bool need_eof = false;
          const std::string expected =
              BeastBytes(answer, version, "req-1", keep_alive, is_head, &need_eof);
          bool close = !need_eof;
          EXPECT_EQ(ResponseBytes(answer, version, "req-1", keep_alive, is_head, &close), expected);
          EXPECT_EQ(close, need_eof);
        }
      }
    }
  }
}

TEST(ResponseBytesTest, ABodyOnA204IsRefusedAsBeastRefusesIt) {
  bool close = false;
  EXPECT_THROW(ResponseBytes(JsonResponse(204, "{}"), 11, "req-1", true, false, &close),
               std::invalid_argument);
}

// Request ids come from a per-thread generator (common/ids.h): NewId's shape, and no two alike,
// on one thread or across threads.
TEST(NewRequestIdTest, IsThirtyTwoLowercaseHexDigitsAndNeverRepeats) {
  constexpr int kPerThread = 20000;
  std::vector<std::string> ids[2];
  std::thread other([&ids] {
    for (int i = 0; i < kPerThread; ++i) ids[1].push_back(NewRequestId());
  });
  for (int i = 0; i < kPerThread; ++i) ids[0].push_back(NewRequestId());
  other.join();
  absl::flat_hash_set<std::string> seen;
  for (const std::vector<std::string>& thread_ids : ids) {
    for (const std::string& id : thread_ids) {
      EXPECT_THAT(id, ::testing::MatchesRegex("[0-9a-f]{32}"));
      EXPECT_TRUE(seen.insert(id).second) << id;
    }
  }
  EXPECT_EQ(seen.size(), 2u * kPerThread);
}

// ServeRawRequests (the fuzz target's entry point) reads as a connection does: pipelined requests
// in order, chunked bodies, a message cut short answered by nothing.
TEST(ServeRawRequestsTest, AnswersEachCompleteRequestInOrder) {
  ScriptedHandler handler;
  const std::vector<std::string> answers = ServeRawRequests(
      {}, &handler,
      "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
      "POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n");
  ASSERT_EQ(answers.size(), 2u);
  EXPECT_THAT(answers[0], HasSubstr("GET /a"));
  EXPECT_THAT(answers[1], HasSubstr("POST /b hi"));
}

// Found by tests/fuzz/http_request_fuzzer: a chunked message cut inside its last chunk header
// made the harness hand Beast the same bytes again, which trips an assertion.
TEST(ServeRawRequestsTest, AChunkedMessageCutShortGetsNoAnswer) {
  ScriptedHandler handler;
  EXPECT_THAT(ServeRawRequests({}, &handler,
                               "PST /ai/call/start HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                               "0\r\n"),
              ::testing::IsEmpty());
}

TEST(ServeRawRequestsTest, AMalformedRequestIsA400AndEndsTheConnection) {
  ScriptedHandler handler;
  const std::vector<std::string> answers =
      ServeRawRequests({}, &handler, "GET /a HTTP/9\r\n\r\nGET /b HTTP/1.1\r\n\r\n");
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_THAT(answers[0], HasSubstr("400"));
}

}  // namespace
}  // namespace livecall::gateway
