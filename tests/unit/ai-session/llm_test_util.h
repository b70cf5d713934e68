#ifndef LIVECALL_TESTS_UNIT_AI_SESSION_LLM_TEST_UTIL_H_
#define LIVECALL_TESTS_UNIT_AI_SESSION_LLM_TEST_UTIL_H_

// Answers of an OpenAI-compatible chat-completions server, as the fake LLM sends them.

#include <string>
#include <vector>

#include "common/log.h"
#include "tests/fakes/fake_http_server.h"

namespace livecall::ai_session {

// `content` streamed as SSE deltas split into `pieces` chunks, ending with [DONE].
inline livecall::fakes::FakeResponse StreamedReply(
    const std::string& content, int pieces = 3, absl::Duration chunk_delay = absl::ZeroDuration()) {
  livecall::fakes::FakeResponse response;
  response.headers = {{"content-type", "text/event-stream"}};
  response.chunk_delay = chunk_delay;
  const size_t step = content.size() / pieces + 1;
  for (size_t at = 0; at < content.size(); at += step) {
    response.chunks.push_back(
        "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\","
        "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" +
        JsonEscape(content.substr(at, step)) + "\"}}]}\n\n");
  }
  response.chunks.push_back("data: [DONE]\n\n");
  return response;
}

}  // namespace livecall::ai_session

#endif  // LIVECALL_TESTS_UNIT_AI_SESSION_LLM_TEST_UTIL_H_
