#ifndef LIVECALL_COMMON_REDIS_CONFIG_H_
#define LIVECALL_COMMON_REDIS_CONFIG_H_

#include "common/config.h"
#include "common/redis_pool.h"

namespace livecall {

// LIVECALL_REDIS_URL (default redis://127.0.0.1:6379/0), LIVECALL_REDIS_POOL_SIZE (default 8),
// LIVECALL_REDIS_TIMEOUT_MS (per command, default 2000). Problems are recorded in `env`.
inline RedisPool::Options ReadRedisOptions(EnvReader& env) {
  RedisPool::Options options;
  std::string url = env.String("LIVECALL_REDIS_URL", "redis://127.0.0.1:6379/0");
  absl::StatusOr<RedisUrl> parsed = ParseRedisUrl(url);
  if (parsed.ok()) {
    options.url = *parsed;
  } else {
    env.AddError("LIVECALL_REDIS_URL", parsed.status().message());
  }
  options.max_connections = static_cast<int>(env.Int("LIVECALL_REDIS_POOL_SIZE", 8, 1, 1024));
  options.command_timeout = env.Millis("LIVECALL_REDIS_TIMEOUT_MS", absl::Seconds(2),
                                       absl::Milliseconds(10), absl::Seconds(60));
  return options;
}

}  // namespace livecall

#endif  // LIVECALL_COMMON_REDIS_CONFIG_H_
