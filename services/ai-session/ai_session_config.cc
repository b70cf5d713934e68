#include "services/ai-session/ai_session_config.h"

#include "absl/strings/match.h"
#include "common/default_data_dir.h"

namespace livecall::ai_session {

absl::StatusOr<AiSessionConfig> ReadAiSessionConfig(EnvReader& env) {
  AiSessionConfig config;
  ServiceAddresses addresses = ReadServiceAddresses(env);
  config.listen_address = addresses.ai_session;
  config.context_address = addresses.context;
  config.call_control_address = addresses.call_control;
  config.kb_file = env.String("LIVECALL_KB_FILE", LIVECALL_DEFAULT_DATA_DIR "/kb.json");
  config.llm.base_url = env.OptionalString("LIVECALL_LLM_BASE_URL");
  config.llm.api_key = env.OptionalString("LIVECALL_LLM_API_KEY");
  config.llm.model = env.String("LIVECALL_LLM_MODEL", "gpt-4o-mini");
  if (!config.llm.base_url.empty() && !absl::StartsWith(config.llm.base_url, "http://") &&
      !absl::StartsWith(config.llm.base_url, "https://")) {
    env.AddError("LIVECALL_LLM_BASE_URL", "must start with http:// or https://");
  }
  const absl::Duration min = absl::Milliseconds(50);
  const absl::Duration max = absl::Seconds(120);
  config.engine.peer_deadline = env.Millis("LIVECALL_PEER_DEADLINE_MS", absl::Seconds(2), min, max);
  config.engine.llm_suggestion_deadline =
      env.Millis("LIVECALL_LLM_SUGGESTION_DEADLINE_MS", absl::Milliseconds(1500), min, max);
  config.engine.llm_greeting_deadline =
      env.Millis("LIVECALL_LLM_GREETING_DEADLINE_MS", absl::Milliseconds(1000), min, max);
  config.engine.llm_summary_deadline =
      env.Millis("LIVECALL_LLM_SUMMARY_DEADLINE_MS", absl::Seconds(5), min, max);
  config.engine.llm_max_prompt_tokens =
      static_cast<int>(env.Int("LIVECALL_LLM_MAX_PROMPT_TOKENS", 2000, 200, 128000));
  config.engine.llm_caller_reply_deadline =
      env.Millis("LIVECALL_LLM_CALLER_REPLY_DEADLINE_MS", absl::Milliseconds(1500), min, max);
  // Percentages, so the environment holds integers like every other setting.
  config.engine.voice.min_answer_confidence =
      env.Int("LIVECALL_VOICE_MIN_ANSWER_CONFIDENCE_PCT", 35, 0, 100) / 100.0;
  config.engine.voice.min_speech_confidence =
      env.Int("LIVECALL_VOICE_MIN_SPEECH_CONFIDENCE_PCT", 25, 0, 100) / 100.0;
  config.engine.voice.max_unclear_attempts =
      static_cast<int>(env.Int("LIVECALL_VOICE_MAX_UNCLEAR_ATTEMPTS", 2, 1, 10));
  config.engine.session_cache_size =
      static_cast<size_t>(env.Int("LIVECALL_SESSION_CACHE_SIZE", 20000, 0, 10000000));
  config.worker_threads = static_cast<int>(env.Int("LIVECALL_WORKER_THREADS", 8, 1, 256));
  config.grpc_threads = static_cast<int>(env.Int("LIVECALL_GRPC_THREADS", 1, 1, 64));
  config.grpc_auth = ReadGrpcAuthConfig(env, /*serves_grpc=*/true, /*dials_peers=*/true);
  if (absl::Status status = env.status(); !status.ok()) return status;
  return config;
}

}  // namespace livecall::ai_session
