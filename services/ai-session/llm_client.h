#ifndef LIVECALL_SERVICES_AI_SESSION_LLM_CLIENT_H_
#define LIVECALL_SERVICES_AI_SESSION_LLM_CLIENT_H_

// The edge to a large language model: any OpenAI-compatible chat-completions server (OpenAI,
// Azure, vLLM, Ollama, llama.cpp). Streamed (SSE) so a deadline cuts a slow answer short.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/http_client.h"

namespace livecall::ai_session {

struct ChatMessage {
  std::string role;  // "system", "user" or "assistant".
  std::string content;
};

class LlmClient {
 public:
  virtual ~LlmClient() = default;
  // The assistant's reply. DEADLINE_EXCEEDED when it did not finish within `deadline`;
  // UNAVAILABLE for an unreachable server or an HTTP error; INTERNAL for a malformed stream.
  virtual absl::StatusOr<std::string> Complete(const std::vector<ChatMessage>& messages,
                                               absl::Duration deadline) = 0;
};

struct LlmEndpoint {
  // The server root ("http://127.0.0.1:11434") or its /v1 ("https://api.openai.com/v1").
  std::string base_url;
  std::string api_key;  // Sent as a Bearer token when set.
  std::string model;
};

// "<base>/v1/chat/completions", whichever form `base_url` has.
std::string ChatCompletionsUrl(const std::string& base_url);

class OpenAiLlmClient final : public LlmClient {
 public:
  OpenAiLlmClient(HttpClient& http, LlmEndpoint endpoint)
      : http_(http), endpoint_(std::move(endpoint)) {}

  absl::StatusOr<std::string> Complete(const std::vector<ChatMessage>& messages,
                                       absl::Duration deadline) override;

 private:
  HttpClient& http_;
  const LlmEndpoint endpoint_;
};

// Incremental parser of an OpenAI chat-completions SSE stream: feed bytes as they arrive, then
// read the accumulated content. Exposed for tests.
class ChatStreamParser {
 public:
  // INTERNAL for a data line that is not the expected JSON, or an error object in the stream.
  absl::Status Feed(absl::string_view bytes);
  bool done() const { return done_; }
  const std::string& content() const { return content_; }

 private:
  absl::Status HandleLine(absl::string_view line);

  std::string pending_;
  std::string content_;
  bool done_ = false;
};

}  // namespace livecall::ai_session

#endif  // LIVECALL_SERVICES_AI_SESSION_LLM_CLIENT_H_
