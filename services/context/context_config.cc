#include "services/context/context_config.h"

#include "common/redis_config.h"

namespace livecall::context {

absl::StatusOr<ContextConfig> ReadContextConfig(EnvReader& env) {
  ContextConfig config;
  config.listen_address = ReadServiceAddresses(env).context;
  config.redis = ReadRedisOptions(env);
  config.customers_file =
      env.String("LIVECALL_CUSTOMERS_FILE", LIVECALL_DEFAULT_DATA_DIR "/customers.json");
  config.session_ttl =
      absl::Seconds(env.Int("LIVECALL_SESSION_TTL_S", 24 * 3600, 60, 30 * 24 * 3600));
  config.worker_threads = static_cast<int>(env.Int("LIVECALL_WORKER_THREADS", 8, 1, 256));
  if (absl::Status status = env.status(); !status.ok()) return status;
  return config;
}

}  // namespace livecall::context
