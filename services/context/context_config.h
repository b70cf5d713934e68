#ifndef LIVECALL_SERVICES_CONTEXT_CONTEXT_CONFIG_H_
#define LIVECALL_SERVICES_CONTEXT_CONTEXT_CONFIG_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/caller_identity.h"
#include "common/config.h"
#include "common/redis_pool.h"
#include "services/context/customer_source.h"
#include "services/context/outbox.h"

namespace livecall::context {

struct ContextConfig {
  std::string listen_address;  // LIVECALL_CONTEXT_ADDR
  RedisPool::Options redis;    // LIVECALL_REDIS_URL, LIVECALL_REDIS_POOL_SIZE
  std::string customers_file;  // LIVECALL_CUSTOMERS_FILE
  absl::Duration session_ttl;  // LIVECALL_SESSION_TTL_S
  int worker_threads;          // LIVECALL_WORKER_THREADS
  // LIVECALL_CRM_LOOKUP_URL (empty: the customers file), LIVECALL_CRM_API_KEY,
  // LIVECALL_CRM_TIMEOUT_MS, LIVECALL_CRM_CACHE_FRESH_S, LIVECALL_CRM_CACHE_KEEP_S.
  CrmOptions crm;
  // LIVECALL_CRM_WEBHOOK_URL (empty: conversations stay in Redis, queryable),
  // LIVECALL_CRM_API_KEY, LIVECALL_CRM_WEBHOOK_TIMEOUT_MS (the reclaim idle derives from it:
  // ReclaimIdle in outbox.h), LIVECALL_OUTBOX_INITIAL_BACKOFF_MS, LIVECALL_OUTBOX_MAX_BACKOFF_MS.
  OutboxOptions outbox;
  // LIVECALL_AUTH, LIVECALL_GRPC_API_KEYS (the peers let in).
  GrpcAuthConfig grpc_auth;
};

absl::StatusOr<ContextConfig> ReadContextConfig(EnvReader& env);

}  // namespace livecall::context

#endif  // LIVECALL_SERVICES_CONTEXT_CONTEXT_CONFIG_H_
