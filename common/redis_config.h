#ifndef LIVECALL_COMMON_REDIS_CONFIG_H_
#define LIVECALL_COMMON_REDIS_CONFIG_H_

#include "common/config.h"
#include "common/redis_pool.h"

namespace livecall {

// LIVECALL_REDIS_URL (default redis://127.0.0.1:6379/0; redis+cluster://host:port,host:port for a
// Redis Cluster; redis+sentinel://host:port,host:port/master-name for a primary watched by Redis
// Sentinel), LIVECALL_REDIS_POOL_SIZE (default 8, per node), LIVECALL_REDIS_TIMEOUT_MS (per
// command, default 2000), LIVECALL_REDIS_WAIT_REPLICAS (default 0: writes are acknowledged once
// the primary has them; 1: once a replica has them too, so they survive a failover),
// LIVECALL_REDIS_WAIT_TIMEOUT_MS (default 1000), LIVECALL_REDIS_FAILOVER_WAIT_MS (cluster or
// Sentinel: how long a command is resent while a failover is under way, default 5000). Problems
// are recorded in `env`.
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
  options.wait_replicas = static_cast<int>(env.Int("LIVECALL_REDIS_WAIT_REPLICAS", 0, 0, 16));
  options.wait_timeout = env.Millis("LIVECALL_REDIS_WAIT_TIMEOUT_MS", absl::Seconds(1),
                                    absl::Milliseconds(1), absl::Seconds(60));
  options.failover_wait = env.Millis("LIVECALL_REDIS_FAILOVER_WAIT_MS", absl::Seconds(5),
                                     absl::ZeroDuration(), absl::Minutes(5));
  return options;
}

}  // namespace livecall

#endif  // LIVECALL_COMMON_REDIS_CONFIG_H_
