#ifndef LIVECALL_SERVICES_CONTEXT_CONTEXT_CONFIG_H_
#define LIVECALL_SERVICES_CONTEXT_CONTEXT_CONFIG_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/config.h"
#include "common/redis_pool.h"

namespace livecall::context {

struct ContextConfig {
  std::string listen_address;  // LIVECALL_CONTEXT_ADDR
  RedisPool::Options redis;    // LIVECALL_REDIS_URL, LIVECALL_REDIS_POOL_SIZE
  std::string customers_file;  // LIVECALL_CUSTOMERS_FILE
  absl::Duration session_ttl;  // LIVECALL_SESSION_TTL_S
  int worker_threads;          // LIVECALL_WORKER_THREADS
};

absl::StatusOr<ContextConfig> ReadContextConfig(EnvReader& env);

}  // namespace livecall::context

#endif  // LIVECALL_SERVICES_CONTEXT_CONTEXT_CONFIG_H_
