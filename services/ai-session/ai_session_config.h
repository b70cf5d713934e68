#ifndef LIVECALL_SERVICES_AI_SESSION_AI_SESSION_CONFIG_H_
#define LIVECALL_SERVICES_AI_SESSION_AI_SESSION_CONFIG_H_

#include <string>

#include "absl/status/statusor.h"
#include "common/caller_identity.h"
#include "common/config.h"
#include "services/ai-session/ai_session_service.h"
#include "services/ai-session/llm_client.h"

namespace livecall::ai_session {

struct AiSessionConfig {
  std::string listen_address;        // LIVECALL_AI_SESSION_ADDR
  std::string context_address;       // LIVECALL_CONTEXT_ADDR
  std::string call_control_address;  // LIVECALL_CALL_CONTROL_ADDR
  std::string kb_file;               // LIVECALL_KB_FILE
  // LIVECALL_LLM_BASE_URL, LIVECALL_LLM_API_KEY, LIVECALL_LLM_MODEL; empty base_url: no LLM.
  LlmEndpoint llm;
  // LIVECALL_PEER_DEADLINE_MS, LIVECALL_LLM_{SUGGESTION,GREETING,SUMMARY}_DEADLINE_MS,
  // LIVECALL_LLM_MAX_PROMPT_TOKENS, LIVECALL_LLM_CALLER_REPLY_DEADLINE_MS,
  // LIVECALL_VOICE_{MIN_ANSWER_CONFIDENCE_PCT,MIN_SPEECH_CONFIDENCE_PCT,MAX_UNCLEAR_ATTEMPTS},
  // LIVECALL_SESSION_CACHE_SIZE (sessions kept for AddTurn; 0: none).
  AiEngineOptions engine;
  int worker_threads;  // LIVECALL_WORKER_THREADS
  // LIVECALL_GRPC_THREADS: the threads that answer the RPCs, which never block. One by default:
  // several threads polling one process's sockets hand events to each other (a start one at a
  // time: 4.2 thread switches with one thread, 11.7 with two); more only once one core is not
  // enough for a replica.
  int grpc_threads;
  // LIVECALL_AUTH, LIVECALL_GRPC_API_KEYS (the peers let in), LIVECALL_GRPC_API_KEY (what this
  // service sends to its peers).
  GrpcAuthConfig grpc_auth;
};

absl::StatusOr<AiSessionConfig> ReadAiSessionConfig(EnvReader& env);

}  // namespace livecall::ai_session

#endif  // LIVECALL_SERVICES_AI_SESSION_AI_SESSION_CONFIG_H_
