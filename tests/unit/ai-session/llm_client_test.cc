#include "services/ai-session/llm_client.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"
#include "tests/unit/ai-session/llm_test_util.h"

namespace livecall::ai_session {
namespace {

using ::livecall::fakes::FakeHttpServer;
using ::livecall::fakes::FakeRequest;
using ::livecall::fakes::FakeResponse;
using ::livecall::testing::IsOk;
using ::livecall::testing::StatusIs;
using ::testing::HasSubstr;

TEST(ChatCompletionsUrlTest, AcceptsTheServerRootOrItsV1) {
  EXPECT_EQ(ChatCompletionsUrl("http://127.0.0.1:11434"),
            "http://127.0.0.1:11434/v1/chat/completions");
  EXPECT_EQ(ChatCompletionsUrl("https://api.openai.com/v1/"),
            "https://api.openai.com/v1/chat/completions");
}

TEST(ChatStreamParserTest, JoinsDeltasSplitAnywhereAcrossReads) {
  const std::string stream =
      "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}\n\n"
      ": keep-alive comment\n\n"
      "data: {\"choices\":[{\"delta\":{\"content\":\"Sal\"}}]}\r\n\r\n"
      "data: {\"choices\":[{\"delta\":{\"content\":\"om\"}}]}\n\n"
      "data: [DONE]\n\n";
  for (size_t split = 1; split < stream.size(); split += 7) {
    ChatStreamParser parser;
    ASSERT_THAT(parser.Feed(stream.substr(0, split)), IsOk());
    ASSERT_THAT(parser.Feed(stream.substr(split)), IsOk());
    EXPECT_TRUE(parser.done());
    EXPECT_EQ(parser.content(), "Salom");
  }
}

TEST(ChatStreamParserTest, GarbageAndErrorObjectsAreErrors) {
  ChatStreamParser garbage;
  EXPECT_THAT(garbage.Feed("data: {not json\n"), StatusIs(absl::StatusCode::kInternal));
  ChatStreamParser error;
  EXPECT_THAT(error.Feed("data: {\"error\":{\"message\":\"overloaded\"}}\n"),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("overloaded")));
}

class OpenAiLlmClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { CurlGlobalInit(); }
  CurlHttpClient http_;
  std::vector<ChatMessage> messages_ = {{"system", "be brief"}, {"user", "Salom \"agent\""}};
};

TEST_F(OpenAiLlmClientTest, StreamsTheReplyAndSendsModelKeyAndMessages) {
  FakeHttpServer server([](const FakeRequest&) { return StreamedReply("Assalomu alaykum!", 4); });
  ASSERT_THAT(server.Start(), IsOk());
  OpenAiLlmClient client(http_, {server.base_url(), "sk-test", "tiny-model"});
  absl::StatusOr<std::string> reply = client.Complete(messages_, absl::Seconds(2));
  ASSERT_THAT(reply.status(), IsOk());
  EXPECT_EQ(*reply, "Assalomu alaykum!");
  ASSERT_EQ(server.requests().size(), 1u);
  const FakeRequest request = server.requests()[0];
  EXPECT_EQ(request.target, "/v1/chat/completions");
  EXPECT_EQ(request.headers.at("authorization"), "Bearer sk-test");
  EXPECT_THAT(request.body, HasSubstr("\"model\":\"tiny-model\""));
  EXPECT_THAT(request.body, HasSubstr("\"stream\":true"));
  EXPECT_THAT(request.body, HasSubstr("Salom \\\"agent\\\""));
}

TEST_F(OpenAiLlmClientTest, ANonStreamingJsonAnswerIsAcceptedToo) {
  FakeHttpServer server([](const FakeRequest&) {
    return FakeResponse{.chunks = {"{\"choices\":[{\"message\":{\"role\":\"assistant\","
                                   "\"content\":\"Hello!\"}}]}"}};
  });
  ASSERT_THAT(server.Start(), IsOk());
  OpenAiLlmClient client(http_, {server.base_url(), "", "m"});
  EXPECT_EQ(*client.Complete(messages_, absl::Seconds(2)), "Hello!");
}

TEST_F(OpenAiLlmClientTest, ServerErrorsAreUnavailable) {
  FakeHttpServer server([](const FakeRequest&) {
    return FakeResponse{.status = 500, .chunks = {"{\"error\":{\"message\":\"boom\"}}"}};
  });
  ASSERT_THAT(server.Start(), IsOk());
  OpenAiLlmClient client(http_, {server.base_url(), "", "m"});
  EXPECT_THAT(client.Complete(messages_, absl::Seconds(2)),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("500")));
}

TEST_F(OpenAiLlmClientTest, ASlowStreamIsCutAtTheDeadline) {
  FakeHttpServer server([](const FakeRequest&) {
    return StreamedReply("a long, slow answer", 5, absl::Milliseconds(300));
  });
  ASSERT_THAT(server.Start(), IsOk());
  OpenAiLlmClient client(http_, {server.base_url(), "", "m"});
  EXPECT_THAT(client.Complete(messages_, absl::Milliseconds(250)),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
}

TEST_F(OpenAiLlmClientTest, AStreamWithoutDoneIsIncomplete) {
  FakeHttpServer server([](const FakeRequest&) {
    FakeResponse response = StreamedReply("cut", 1);
    response.chunks.pop_back();
    response.chunks.push_back("");
    return response;
  });
  ASSERT_THAT(server.Start(), IsOk());
  OpenAiLlmClient client(http_, {server.base_url(), "", "m"});
  EXPECT_THAT(client.Complete(messages_, absl::Seconds(2)),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("[DONE]")));
}

}  // namespace
}  // namespace livecall::ai_session
