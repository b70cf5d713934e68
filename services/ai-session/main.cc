// livecall-ai-session: the AI session beside every call (greeting, suggestions, conversation,
// summary), with an OpenAI-compatible LLM when configured and the embedded engine always.

#include "common/grpc_server.h"
#include "common/http_client.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/process.h"
#include "common/queued_unary.h"
#include "common/service_main.h"
#include "services/ai-session/ai_session_config.h"
#include "services/ai-session/ai_session_service.h"

int main() {
  auto settings = livecall::StartService("ai-session", "LIVECALL_AI_SESSION_ADDR",
                                         "LIVECALL_AI_SESSION_METRICS_ADDR", "127.0.0.1:9452",
                                         livecall::ai_session::ReadAiSessionConfig);
  if (!settings.ok()) return 2;
  livecall::ai_session::AiSessionConfig* const config = &settings->config;
  absl::StatusOr<livecall::ai_session::KnowledgeBase> kb =
      livecall::ai_session::KnowledgeBase::Load(config->kb_file);
  if (!kb.ok()) {
    livecall::LogError("cannot load knowledge base",
                       {{"error", std::string(kb.status().message())}});
    return 2;
  }
  livecall::LogInfo("knowledge base loaded",
                    {{"file", config->kb_file}, {"entries", std::to_string(kb->size())}});

  livecall::RegisterProcessMetrics("ai-session");
  livecall::CurlHttpClient http("llm");
  std::unique_ptr<livecall::ai_session::LlmClient> llm;
  if (!config->llm.base_url.empty()) {
    llm = std::make_unique<livecall::ai_session::OpenAiLlmClient>(http, config->llm);
    livecall::LogInfo("llm configured",
                      {{"url", livecall::ai_session::ChatCompletionsUrl(config->llm.base_url)},
                       {"model", config->llm.model}});
  } else {
    livecall::LogInfo("no LLM configured; the embedded engine answers");
  }

  std::unique_ptr<livecall::v1::Context::Stub> context = livecall::v1::Context::NewStub(
      livecall::MakePeerChannel(config->context_address, config->grpc_auth.client_key));
  std::unique_ptr<livecall::v1::CallControl::Stub> calls = livecall::v1::CallControl::NewStub(
      livecall::MakePeerChannel(config->call_control_address, config->grpc_auth.client_key));
  livecall::Executor executor(config->worker_threads);
  // The RPCs never block: a few polling threads answer them and the answers of their peer calls.
  livecall::QueuedUnaryMethods unary({.threads = config->grpc_threads,
                                      .work = livecall::QueuedWork::kNeverBlocks,
                                      .watch_cancellation = true});
  livecall::ai_session::AiSessionService service(*context, *kb, llm.get(), executor, unary,
                                                 config->engine, calls.get());

  return livecall::ServeUntilSignalThenDrain({.address = config->listen_address,
                                              .services = {&service},
                                              .queued = &unary,
                                              .metrics_address = settings->metrics_address,
                                              .on_drain = nullptr,
                                              .auth = config->grpc_auth},
                                             &executor);
}
