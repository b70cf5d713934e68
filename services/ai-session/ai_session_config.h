#ifndef LIVECALL_SERVICES_AI_SESSION_AI_SESSION_CONFIG_H_
#define LIVECALL_SERVICES_AI_SESSION_AI_SESSION_CONFIG_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/config.h"

namespace livecall::ai_session {

struct AiSessionConfig {
  std::string listen_address;    // LIVECALL_AI_SESSION_ADDR
  std::string context_address;   // LIVECALL_CONTEXT_ADDR
  std::string kb_file;           // LIVECALL_KB_FILE
  absl::Duration peer_deadline;  // LIVECALL_PEER_DEADLINE_MS: each call to context
  int worker_threads;            // LIVECALL_WORKER_THREADS
};

absl::StatusOr<AiSessionConfig> ReadAiSessionConfig(EnvReader& env);

}  // namespace livecall::ai_session

#endif  // LIVECALL_SERVICES_AI_SESSION_AI_SESSION_CONFIG_H_
