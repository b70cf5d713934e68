#include "services/ai-session/ai_session_config.h"

namespace livecall::ai_session {

absl::StatusOr<AiSessionConfig> ReadAiSessionConfig(EnvReader& env) {
  AiSessionConfig config;
  ServiceAddresses addresses = ReadServiceAddresses(env);
  config.listen_address = addresses.ai_session;
  config.context_address = addresses.context;
  config.kb_file = env.String("LIVECALL_KB_FILE", LIVECALL_DEFAULT_DATA_DIR "/kb.json");
  config.peer_deadline = env.Millis("LIVECALL_PEER_DEADLINE_MS", absl::Seconds(2),
                                    absl::Milliseconds(50), absl::Seconds(60));
  config.worker_threads = static_cast<int>(env.Int("LIVECALL_WORKER_THREADS", 8, 1, 256));
  if (absl::Status status = env.status(); !status.ok()) return status;
  return config;
}

}  // namespace livecall::ai_session
