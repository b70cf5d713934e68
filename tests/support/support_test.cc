// The test helpers' own tests: the integration suite trusts them to wait, to report exit codes,
// to keep Redis data across a restart and to match statuses correctly.

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <csignal>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpcpp/support/status.h"
#include "gtest/gtest.h"
#include "tests/support/child_process.h"
#include "tests/support/files.h"
#include "tests/support/free_port.h"
#include "tests/support/http_client.h"
#include "tests/support/json.h"
#include "tests/support/redis_fixture.h"
#include "tests/support/redis_server.h"
#include "tests/support/status_matchers.h"
#include "tests/support/wait_for.h"
#include "tests/support/xml.h"

namespace livecall::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(StatusMatchersTest, MatchAbslStatusStatusOrAndGrpcStatus) {
  EXPECT_THAT(absl::OkStatus(), IsOk());
  EXPECT_THAT(absl::NotFoundError("no session"), Not(IsOk()));
  EXPECT_THAT(absl::NotFoundError("no session"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(absl::NotFoundError("no session"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("session")));
  EXPECT_THAT(absl::NotFoundError("no session"),
              Not(StatusIs(absl::StatusCode::kNotFound, HasSubstr("call"))));
  EXPECT_THAT(absl::NotFoundError("x"), Not(StatusIs(absl::StatusCode::kInvalidArgument)));

  absl::StatusOr<int> value = 7;
  EXPECT_THAT(value, IsOk());
  absl::StatusOr<int> error = absl::InvalidArgumentError("bad");
  EXPECT_THAT(error, StatusIs(absl::StatusCode::kInvalidArgument));

  EXPECT_THAT(grpc::Status::OK, IsOk());
  EXPECT_THAT(grpc::Status(grpc::StatusCode::UNAVAILABLE, "down"),
              StatusIs(absl::StatusCode::kUnavailable, "down"));
}

TEST(StatusMatchersTest, AssertOkAndAssignMovesTheValue) {
  LIVECALL_ASSERT_OK_AND_ASSIGN(std::string text, absl::StatusOr<std::string>("hello"));
  EXPECT_EQ(text, "hello");
}

TEST(WaitForTest, ReturnsTrueAsSoonAsTheConditionHolds) {
  int calls = 0;
  EXPECT_TRUE(WaitFor([&] { return ++calls == 3; }, absl::Seconds(5)));
  EXPECT_EQ(calls, 3);
}

TEST(WaitForTest, ReturnsFalseAfterTheTimeout) {
  absl::Time start = absl::Now();
  EXPECT_FALSE(WaitFor([] { return false; }, absl::Milliseconds(50)));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(50));
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
}

TEST(FreeTcpPortTest, NeverHandsOutTheSamePortTwice) {
  int first = FreeTcpPort();
  int second = FreeTcpPort();
  EXPECT_GT(first, 0);
  EXPECT_GT(second, 0);
  EXPECT_NE(first, second);
}

class ChildProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::string> dir = MakeTempDir("livecall-support-test-");
    ASSERT_THAT(dir, IsOk());
    dir_ = *dir;
    log_path_ = dir_ + "/child.log";
  }
  void TearDown() override {
    std::error_code ignored;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ignored);
  }
  std::string dir_;
  std::string log_path_;
};

TEST_F(ChildProcessTest, ReportsTheExitCodeAndCapturesOutput) {
  ChildProcess child;
  ASSERT_THAT(
      child.Start("/bin/sh", {"-c", "echo to-stdout; echo to-stderr >&2; exit 3"}, {}, log_path_),
      IsOk());
  absl::StatusOr<int> code = child.WaitForExit(absl::Seconds(10));
  ASSERT_THAT(code, IsOk());
  EXPECT_EQ(*code, 3);
  EXPECT_FALSE(child.Running());
  EXPECT_THAT(child.LogTail(), HasSubstr("to-stdout"));
  EXPECT_THAT(child.LogTail(), HasSubstr("to-stderr"));
  EXPECT_EQ(child.LogTail(1), "to-stderr");
}

TEST_F(ChildProcessTest, PassesEnvironmentOverridesAndScrubsLivecallVariables) {
  setenv("LIVECALL_SUPPORT_TEST_LEAK", "leaked", 1);
  ChildProcess child;
  ASSERT_THAT(
      child.Start("/bin/sh", {"-c", "echo \"[$GREETING][${LIVECALL_SUPPORT_TEST_LEAK:-unset}]\""},
                  {{"GREETING", "salom"}}, log_path_),
      IsOk());
  ASSERT_THAT(child.WaitForExit(absl::Seconds(10)), IsOk());
  EXPECT_EQ(child.LogTail(1), "[salom][unset]");
  unsetenv("LIVECALL_SUPPORT_TEST_LEAK");
}

TEST_F(ChildProcessTest, SignalStopsTheProcessAndWaitReportsIt) {
  ChildProcess child;
  ASSERT_THAT(child.Start("/bin/sh", {"-c", "exec sleep 30"}, {}, log_path_), IsOk());
  EXPECT_TRUE(child.Running());
  EXPECT_THAT(child.WaitForExit(absl::Milliseconds(20)),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  ASSERT_THAT(child.Signal(SIGTERM), IsOk());
  EXPECT_THAT(child.WaitForExit(absl::Seconds(10)),
              StatusIs(absl::StatusCode::kAborted, HasSubstr("signal 15")));
}

TEST_F(ChildProcessTest, WaitUntilReadyNamesAProcessThatExitedOrNeverGotReady) {
  ChildProcess ready;
  ASSERT_THAT(ready.Start("/bin/sh", {"-c", "exec sleep 30"}, {}, log_path_), IsOk());
  int polls = 0;
  EXPECT_THAT(ready.WaitUntilReady(
                  "sleeper", [&] { return ++polls == 3; }, absl::Seconds(10)),
              IsOk());

  ChildProcess exits;
  ASSERT_THAT(exits.Start("/bin/sh", {"-c", "echo no-config; exit 3"}, {}, log_path_), IsOk());
  EXPECT_THAT(exits.WaitUntilReady(
                  "quitter", [] { return false; }, absl::Seconds(10)),
              StatusIs(absl::StatusCode::kUnavailable,
                       AllOf(HasSubstr("quitter exited with code 3"), HasSubstr("no-config"))));

  ChildProcess slow;
  ASSERT_THAT(slow.Start("/bin/sh", {"-c", "exec sleep 30"}, {}, log_path_), IsOk());
  EXPECT_THAT(slow.WaitUntilReady(
                  "sleeper", [] { return false; }, absl::Milliseconds(50)),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("sleeper was not ready within")));
  EXPECT_TRUE(slow.Running());
}

TEST_F(ChildProcessTest, MissingBinaryIsAnError) {
  ChildProcess child;
  EXPECT_THAT(child.Start("/nonexistent/livecall-nothing", {}, {}, log_path_), Not(IsOk()));
  EXPECT_FALSE(child.Running());
}

// SET or GET through hiredis; the reply as text ("" for nil).
std::string RedisCommand(int port, const std::string& a, const std::string& b,
                         const std::string& c = "") {
  timeval timeout = {2, 0};
  std::unique_ptr<redisContext, decltype(&redisFree)> context(
      redisConnectWithTimeout("127.0.0.1", port, timeout), redisFree);
  if (context == nullptr || context->err != 0) return "<no connection>";
  auto* reply = static_cast<redisReply*>(
      c.empty() ? redisCommand(context.get(), "%s %s", a.c_str(), b.c_str())
                : redisCommand(context.get(), "%s %s %s", a.c_str(), b.c_str(), c.c_str()));
  if (reply == nullptr) return "<no reply>";
  std::string text = reply->str != nullptr ? std::string(reply->str, reply->len) : "";
  freeReplyObject(reply);
  return text;
}

TEST(RedisServerTest, RestartKeepsAcknowledgedWrites) {
  RedisServer redis;
  ASSERT_THAT(redis.Start(), IsOk());
  EXPECT_TRUE(redis.Ping());
  EXPECT_EQ(redis.url(), "redis://127.0.0.1:" + std::to_string(redis.port()) + "/0");
  EXPECT_EQ(RedisCommand(redis.port(), "SET", "livecall:test", "kept"), "OK");
  ASSERT_THAT(redis.Stop(), IsOk());
  EXPECT_FALSE(redis.Ping());
  ASSERT_THAT(redis.Start(), IsOk());
  EXPECT_EQ(RedisCommand(redis.port(), "GET", "livecall:test"), "kept");
}

// The base fixture's pool talks to the test's own server, with the fixture's pool options.
class RedisFixtureTest : public RedisFixture {
 protected:
  RedisFixtureTest()
      : RedisFixture({.max_connections = 1, .lease_timeout = absl::Milliseconds(100)}) {}
};

TEST_F(RedisFixtureTest, ThePoolIsConnectedToTheTestsOwnServerWithTheFixturesOptions) {
  EXPECT_EQ(redis_server_.parsed_url().port, redis_server_.port());
  ASSERT_THAT(redis_->Command({"SET", "livecall:test", "pooled"}).status(), IsOk());
  EXPECT_EQ(RedisCommand(redis_server_.port(), "GET", "livecall:test"), "pooled");
  // Its one connection busy, the pool refuses a second command after the lease timeout.
  std::thread blocked([this] { EXPECT_THAT(redis_->Command({"BLPOP", "queue", "5"}), IsOk()); });
  EXPECT_TRUE(WaitFor(
      [&] {
        return RedisCommand(redis_server_.port(), "INFO", "clients").find("blocked_clients:1") !=
               std::string::npos;
      },
      absl::Seconds(5)));
  EXPECT_THAT(redis_->Command({"PING"}), StatusIs(absl::StatusCode::kUnavailable));
  RedisCommand(redis_server_.port(), "LPUSH", "queue", "x");
  blocked.join();
}

TEST(HttpRequestTest, ConnectionRefusedIsStatusZeroWithTheErrorAsBody) {
  HttpResponse response = HttpRequest(
      "GET", "http://127.0.0.1:" + std::to_string(FreeTcpPort()) + "/", "", {}, absl::Seconds(2));
  EXPECT_EQ(response.status, 0);
  EXPECT_THAT(response.body, ::testing::HasSubstr("onnect"));
}

TEST(UrlEncodeTest, EncodesPlusAndSpaces) {
  EXPECT_EQ(UrlEncode("+998 90"), "%2B998%2090");
  EXPECT_EQ(UrlEncode("a-b_c.d~"), "a-b_c.d~");
}

// The XML reader reads as an XML 1.0 processor does, so the TwiML fuzzer's round trip is honest.
TEST(ParseXmlTest, NormalisesLineEndsAndAttributeWhitespaceAndDecodesReferences) {
  absl::StatusOr<XmlNode> root =
      ParseXml("<R a=\"x\ty\nz\" b=\"&#13;&#x41;&#1040;\">l1\r\nl2\rl3&#13;</R>");
  ASSERT_THAT(root, IsOk());
  EXPECT_EQ(root->Attr("a"), "x y z");
  EXPECT_EQ(root->Attr("b"), "\rA\xD0\x90");
  EXPECT_EQ(root->text, "l1\nl2\nl3\r");
}

TEST(ParseXmlTest, RejectsWhatXmlCannotCarry) {
  EXPECT_FALSE(ParseXml("<R>\xff</R>").ok());          // Not UTF-8.
  EXPECT_FALSE(ParseXml("<R>\xed\xa0\x80</R>").ok());  // A surrogate.
  EXPECT_FALSE(ParseXml("<R>\x01</R>").ok());          // A C0 control.
  EXPECT_FALSE(ParseXml("<R>&#1;</R>").ok());
  EXPECT_FALSE(ParseXml("<R>&#xFFFE;</R>").ok());
}

TEST(JsonTest, ParsesValuesAndRejectsUnknownFields) {
  absl::StatusOr<google::protobuf::Value> value = ParseJson(R"({"error":{"code":"NOT_FOUND"}})");
  ASSERT_THAT(value, IsOk());
  EXPECT_EQ(JsonString(*value, {"error", "code"}), "NOT_FOUND");
  EXPECT_EQ(JsonString(*value, {"error", "missing"}), "");
  EXPECT_THAT(ParseJson("{not json"), StatusIs(absl::StatusCode::kInvalidArgument));
  google::protobuf::Struct message;
  EXPECT_THAT(ParseJsonMessage(R"({"fields":{}})", &message), IsOk());
}

}  // namespace
}  // namespace livecall::testing
