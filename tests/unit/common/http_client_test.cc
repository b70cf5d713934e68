#include "common/http_client.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fakes/fake_http_server.h"
#include "tests/support/free_port.h"
#include "tests/support/status_matchers.h"

namespace livecall {
namespace {

using ::livecall::fakes::FakeHttpServer;
using ::livecall::fakes::FakeRequest;
using ::livecall::fakes::FakeResponse;
using ::livecall::testing::IsOk;
using ::livecall::testing::StatusIs;
using ::testing::ElementsAre;

class CurlHttpClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { CurlGlobalInit(); }
  CurlHttpClient client_;
};

TEST_F(CurlHttpClientTest, SendsMethodHeadersAndBodyAndReadsTheAnswer) {
  FakeHttpServer server([](const FakeRequest& request) {
    FakeResponse response;
    response.status = 201;
    response.headers["x-echo"] =
        request.headers.count("x-test") ? request.headers.at("x-test") : "";
    response.chunks = {"{\"ok\":true}"};
    return response;
  });
  ASSERT_THAT(server.Start(), IsOk());
  HttpRequest request;
  request.method = "POST";
  request.url = server.base_url() + "/v1/things?x=1";
  request.headers = {{"X-Test", "hello"}, {"Content-Type", "application/json"}};
  request.body = "{\"a\":1}";
  absl::StatusOr<HttpResponse> response = client_.Send(request);
  ASSERT_THAT(response.status(), IsOk());
  EXPECT_EQ(response->status, 201);
  EXPECT_EQ(response->body, "{\"ok\":true}");
  EXPECT_EQ(response->Header("x-echo"), "hello");
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(server.requests()[0].method, "POST");
  EXPECT_EQ(server.requests()[0].target, "/v1/things?x=1");
  EXPECT_EQ(server.requests()[0].body, "{\"a\":1}");
}

TEST_F(CurlHttpClientTest, ErrorStatusesAreResponsesNotErrors) {
  FakeHttpServer server([](const FakeRequest&) {
    FakeResponse response;
    response.status = 503;
    response.chunks = {"busy"};
    return response;
  });
  ASSERT_THAT(server.Start(), IsOk());
  absl::StatusOr<HttpResponse> response = client_.Send({.url = server.base_url() + "/"});
  ASSERT_THAT(response.status(), IsOk());
  EXPECT_EQ(response->status, 503);
}

TEST_F(CurlHttpClientTest, ASlowServerIsDeadlineExceeded) {
  FakeHttpServer server([](const FakeRequest&) {
    FakeResponse response;
    response.delay_before_headers = absl::Seconds(1);
    return response;
  });
  ASSERT_THAT(server.Start(), IsOk());
  HttpRequest request{.url = server.base_url() + "/slow", .timeout = absl::Milliseconds(200)};
  EXPECT_THAT(client_.Send(request).status(), StatusIs(absl::StatusCode::kDeadlineExceeded));
}

TEST_F(CurlHttpClientTest, NobodyListeningIsUnavailable) {
  HttpRequest request{.url = absl::StrCat("http://127.0.0.1:", testing::FreeTcpPort(), "/")};
  EXPECT_THAT(client_.Send(request).status(), StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(CurlHttpClientTest, AConnectionDroppedMidRequestIsUnavailable) {
  FakeHttpServer server([](const FakeRequest&) { return FakeResponse{.drop_connection = true}; });
  ASSERT_THAT(server.Start(), IsOk());
  EXPECT_THAT(client_.Send({.url = server.base_url() + "/"}).status(),
              StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(CurlHttpClientTest, StreamedChunksArriveInOrderAndTheCallerCanStop) {
  FakeHttpServer server([](const FakeRequest&) {
    FakeResponse response;
    response.chunks = {"one,", "two,", "three"};
    response.chunk_delay = absl::Milliseconds(20);
    return response;
  });
  ASSERT_THAT(server.Start(), IsOk());
  std::vector<std::string> seen;
  HttpRequest request{.url = server.base_url() + "/stream",
                      .on_body_chunk = [&seen](absl::string_view chunk) {
                        seen.emplace_back(chunk);
                        return true;
                      }};
  ASSERT_THAT(client_.Send(request).status(), IsOk());
  std::string joined;
  for (const std::string& part : seen) joined += part;
  EXPECT_EQ(joined, "one,two,three");

  request.on_body_chunk = [](absl::string_view) { return false; };
  EXPECT_THAT(client_.Send(request).status(), StatusIs(absl::StatusCode::kCancelled));
}

TEST_F(CurlHttpClientTest, KeepAliveReusesOneConnectionPerThread) {
  FakeHttpServer server([](const FakeRequest&) { return FakeResponse{.chunks = {"{}"}}; });
  ASSERT_THAT(server.Start(), IsOk());
  for (int i = 0; i < 5; ++i) {
    ASSERT_THAT(client_.Send({.url = server.base_url() + "/"}).status(), IsOk());
  }
  EXPECT_EQ(server.connections_accepted(), 1);
}

TEST_F(CurlHttpClientTest, AMalformedUrlIsInvalidArgument) {
  EXPECT_THAT(client_.Send({.url = "ftp://example.com/x"}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace livecall
