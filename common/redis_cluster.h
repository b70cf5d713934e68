#ifndef LIVECALL_COMMON_REDIS_CLUSTER_H_
#define LIVECALL_COMMON_REDIS_CLUSTER_H_

// What a Redis Cluster client needs beyond hiredis (Debian's libhiredis has no cluster support):
// the key -> hash slot function of the cluster specification, the key a command is routed by, and
// the parsing of MOVED/ASK redirections. RedisPool (redis_pool.h) routes with these.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace livecall {

inline constexpr int kRedisClusterSlots = 16384;

// CRC16-CCITT (XModem: polynomial 0x1021, initial value 0), as in the Redis Cluster spec
// ("123456789" -> 0x31C3).
uint16_t RedisCrc16(absl::string_view data);

// The hash slot of `key`: CRC16 of its hash tag (the text between the first "{" and the next "}",
// when that is not empty) or else of the whole key, modulo 16384.
int RedisKeySlot(absl::string_view key);

// A short hash tag whose slot is `slot` (0..16383), the same on every run: "{" + SlotHashTag(s) +
// "}" in a key puts it in slot s. Lets a thing be stored beside another thing's keys.
absl::string_view SlotHashTag(int slot);

// The key a command is routed by: its first key, or nullptr for a command without keys (PING,
// PUBLISH, TIME, MULTI, EXEC, WAIT, an EVAL with no keys, ...).
const std::string* RoutingKey(const std::vector<std::string>& argv);

// Whether a command only reads (GET, LRANGE, XRANGE, ...): a write is followed by WAIT when the
// pool waits for replicas (RedisPool::Options::wait_replicas).
bool IsReadOnlyCommand(const std::vector<std::string>& argv);

// "MOVED 3999 127.0.0.1:6381" / "ASK 3999 127.0.0.1:6381".
struct RedisRedirect {
  bool ask = false;
  int slot = 0;
  std::string host;
  int port = 0;
};
std::optional<RedisRedirect> ParseRedisRedirect(absl::string_view error);

}  // namespace livecall

#endif  // LIVECALL_COMMON_REDIS_CLUSTER_H_
