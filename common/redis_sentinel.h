#ifndef LIVECALL_COMMON_REDIS_SENTINEL_H_
#define LIVECALL_COMMON_REDIS_SENTINEL_H_

// The two questions a client of Redis Sentinel asks
// (https://redis.io/docs/reference/sentinel-clients/): a Sentinel, for the address of the primary
// it monitors under a name; and the node at that address, whether it really is the primary (a
// Sentinel cut off during a failover still names the old one). hiredis 0.14 has no Sentinel
// support; RedisPool (common/redis_pool.h) uses these.

#include <hiredis/hiredis.h>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/redis_pool.h"

namespace livecall {

// SENTINEL get-master-addr-by-name `master_name` on the Sentinel at `sentinel`. If the Sentinel
// answers NOAUTH and `password` is not empty, it is sent with AUTH and the question asked again.
// UNAVAILABLE when the Sentinel cannot be reached in time (`*answered` false) or has no primary
// by that name or answers with an error (`*answered` true).
absl::StatusOr<RedisNodeAddress> AskSentinelForPrimary(
    const RedisNodeAddress& sentinel, const std::string& master_name, const std::string& password,
    absl::Duration connect_timeout, absl::Duration command_timeout, bool* answered);

// ROLE on `context` (connected to `address`): OK when the node is a primary ("master"),
// UNAVAILABLE naming the role it has otherwise (a replica, a Sentinel) or when it does not answer.
absl::Status CheckIsPrimary(redisContext& context, const RedisNodeAddress& address);

}  // namespace livecall

#endif  // LIVECALL_COMMON_REDIS_SENTINEL_H_
