#include "services/ai-session/llm_client.h"

#include <google/protobuf/struct.pb.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/json.h"

namespace livecall::ai_session {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

// The LLM's answer as a JSON object; INTERNAL when it is not one (the server misbehaved).
absl::StatusOr<Struct> ParseAnswer(absl::string_view json) {
  absl::StatusOr<Struct> object = ParseJsonObject(json);
  if (!object.ok()) return absl::InternalError(absl::StrCat("llm: ", object.status().message()));
  return object;
}

// choices[0].<field>.content, or nullptr.
const Value* FirstChoiceContent(const Struct& chunk, const char* field) {
  auto choices = chunk.fields().find("choices");
  if (choices == chunk.fields().end() || choices->second.list_value().values_size() == 0) {
    return nullptr;
  }
  const Struct& choice = choices->second.list_value().values(0).struct_value();
  auto part = choice.fields().find(field);
  if (part == choice.fields().end()) return nullptr;
  auto content = part->second.struct_value().fields().find("content");
  if (content == part->second.struct_value().fields().end()) return nullptr;
  return &content->second;
}

absl::Status ErrorInStream(const Struct& object) {
  auto error = object.fields().find("error");
  if (error == object.fields().end()) return absl::OkStatus();
  auto message = error->second.struct_value().fields().find("message");
  return absl::UnavailableError(
      absl::StrCat("llm error: ", message == error->second.struct_value().fields().end()
                                      ? std::string("(no message)")
                                      : message->second.string_value()));
}

}  // namespace

std::string ChatCompletionsUrl(const std::string& base_url) {
  absl::string_view base = absl::StripSuffix(base_url, "/");
  if (absl::EndsWith(base, "/v1")) return absl::StrCat(base, "/chat/completions");
  return absl::StrCat(base, "/v1/chat/completions");
}

absl::Status ChatStreamParser::Feed(absl::string_view bytes) {
  pending_.append(bytes.data(), bytes.size());
  size_t start = 0;
  while (true) {
    size_t newline = pending_.find('\n', start);
    if (newline == std::string::npos) break;
    absl::string_view line(pending_.data() + start, newline - start);
    absl::Status status = HandleLine(absl::StripSuffix(line, "\r"));
    start = newline + 1;
    if (!status.ok()) return status;
  }
  pending_.erase(0, start);
  return absl::OkStatus();
}

absl::Status ChatStreamParser::HandleLine(absl::string_view line) {
  if (done_ || !absl::ConsumePrefix(&line, "data:")) return absl::OkStatus();  // Comments, events.
  line = absl::StripLeadingAsciiWhitespace(line);
  if (line == "[DONE]") {
    done_ = true;
    return absl::OkStatus();
  }
  absl::StatusOr<Struct> chunk = ParseAnswer(line);
  if (!chunk.ok()) return chunk.status();
  if (absl::Status error = ErrorInStream(*chunk); !error.ok()) return error;
  if (const Value* content = FirstChoiceContent(*chunk, "delta")) {
    content_ += content->string_value();
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> OpenAiLlmClient::Complete(const std::vector<ChatMessage>& messages,
                                                      absl::Duration deadline) {
  Struct body;
  auto& fields = *body.mutable_fields();
  fields["model"].set_string_value(endpoint_.model);
  fields["stream"].set_bool_value(true);
  fields["temperature"].set_number_value(0.2);
  google::protobuf::ListValue& turns = *fields["messages"].mutable_list_value();
  for (const ChatMessage& message : messages) {
    auto& turn = *turns.add_values()->mutable_struct_value()->mutable_fields();
    turn["role"].set_string_value(message.role);
    turn["content"].set_string_value(message.content);
  }
  absl::StatusOr<std::string> body_json = ToJson(body);
  if (!body_json.ok()) return body_json.status();
  HttpRequest request;
  request.method = "POST";
  request.url = ChatCompletionsUrl(endpoint_.base_url);
  request.headers = {{"Content-Type", "application/json"}, {"Accept", "text/event-stream"}};
  if (!endpoint_.api_key.empty()) {
    request.headers.emplace_back("Authorization", absl::StrCat("Bearer ", endpoint_.api_key));
  }
  request.body = *std::move(body_json);
  request.timeout = deadline;
  request.connect_timeout = std::min(deadline, absl::Seconds(1));
  ChatStreamParser parser;
  absl::Status stream_status;
  std::string plain_body;  // For servers that answer without streaming, and for errors.
  request.on_body_chunk = [&](absl::string_view chunk) {
    plain_body.append(chunk.data(), std::min<size_t>(chunk.size(), 64 * 1024));
    stream_status = parser.Feed(chunk);
    return stream_status.ok();
  };
  absl::StatusOr<HttpResponse> response = http_.Send(request);
  if (!stream_status.ok()) return stream_status;
  if (!response.ok()) return response.status();
  if (response->status != 200) {
    return absl::UnavailableError(
        absl::StrCat("llm answered HTTP ", response->status, ": ", plain_body.substr(0, 200)));
  }
  if (absl::StartsWith(response->Header("content-type"), "application/json")) {
    absl::StatusOr<Struct> object = ParseAnswer(plain_body);
    if (!object.ok()) return object.status();
    if (absl::Status error = ErrorInStream(*object); !error.ok()) return error;
    const Value* content = FirstChoiceContent(*object, "message");
    if (content == nullptr) return absl::InternalError("llm: no choices[0].message.content");
    return content->string_value();
  }
  if (!parser.done()) return absl::InternalError("llm: the stream ended without [DONE]");
  return parser.content();
}

}  // namespace livecall::ai_session
