#ifndef LIVECALL_COMMON_REDIS_POOL_H_
#define LIVECALL_COMMON_REDIS_POOL_H_

// A bounded pool of synchronous hiredis connections. hiredis 0.14 contexts are not thread-safe and
// die after any I/O error, so each command leases one connection for the duration of the call and a
// connection that failed is closed instead of returned. Calls block: run them on a worker pool,
// never on a gRPC or Asio I/O thread.

#include <hiredis/hiredis.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/circuit_breaker.h"

namespace livecall {

struct RedisUrl {
  std::string host = "127.0.0.1";
  int port = 6379;
  int db = 0;
  std::string password;  // Empty: no AUTH.
};

// Parses "redis://[:password@]host[:port][/db]".
absl::StatusOr<RedisUrl> ParseRedisUrl(absl::string_view url);

struct RedisReplyDeleter {
  void operator()(redisReply* reply) const { freeReplyObject(reply); }
};
using RedisReply = std::unique_ptr<redisReply, RedisReplyDeleter>;

class RedisPool {
 public:
  struct Options {
    RedisUrl url;
    int max_connections = 8;
    absl::Duration connect_timeout = absl::Seconds(1);
    absl::Duration command_timeout = absl::Seconds(2);
    // How long a caller waits for a free connection before UNAVAILABLE.
    absl::Duration lease_timeout = absl::Seconds(2);
    // After this many commands in a row could not reach Redis (refused, timed out, connection
    // lost), commands fail at once with UNAVAILABLE instead of each waiting for its timeout, and
    // one is let through per open period to find out whether Redis is back. Every pool of the
    // process that talks to the same host:port shares one breaker (the first pool's options).
    CircuitBreaker::Options breaker;
  };

  explicit RedisPool(Options options);
  ~RedisPool();
  RedisPool(const RedisPool&) = delete;
  RedisPool& operator=(const RedisPool&) = delete;

  // Runs one command (binary-safe arguments). UNAVAILABLE when Redis cannot be reached or times
  // out, or is known to be down (the circuit breaker, Options::breaker); INTERNAL when Redis
  // answers with an error reply. A pooled connection that turns out to be dead (Redis restarted,
  // idle timeout) is replaced and the command sent once more on a fresh one, so commands should be
  // safe to repeat (the suite's are: SET, ZADD, EXPIRE, MULTI blocks).
  absl::StatusOr<RedisReply> Command(const std::vector<std::string>& argv);

  // Sends the commands as one pipeline on one connection and returns one reply each, in order.
  // Used for MULTI ... EXEC blocks. Error replies inside the pipeline are returned, not converted.
  absl::StatusOr<std::vector<RedisReply>> Pipeline(
      const std::vector<std::vector<std::string>>& commands);

  absl::Status Ping();


  struct ContextDeleter {
    void operator()(redisContext* context) const { redisFree(context); }
  };
  using Connection = std::unique_ptr<redisContext, ContextDeleter>;

  // A new connection outside the pool, authenticated and on the URL's database, for what cannot
  // share one (a SUBSCRIBE). The caller owns it; the breaker is not consulted.
  absl::StatusOr<Connection> OpenDedicatedConnection() { return Connect(); }

 private:

  // Pipeline() without metrics: once, and once more on a fresh connection if the first was stale.
  absl::StatusOr<std::vector<RedisReply>> RunWithRetry(
      const std::vector<std::vector<std::string>>& commands);
  // Closes every idle connection (after one turned out to be stale).
  void DropIdleConnections() ABSL_LOCKS_EXCLUDED(mu_);
  // `reused` tells whether the connection came from the idle list (and so may be stale).
  absl::StatusOr<Connection> Acquire(bool* reused);
  // `unreachable` tells whether it failed because Redis could not be reached (for the breaker).
  absl::StatusOr<std::vector<RedisReply>> RunPipeline(
      const std::vector<std::vector<std::string>>& commands, bool* stale_connection,
      bool* unreachable);
  void Release(Connection connection, bool healthy);
  absl::StatusOr<Connection> Connect();

  const Options options_;
  const std::shared_ptr<CircuitBreaker> breaker_;
  absl::Mutex mu_;
  std::vector<Connection> idle_ ABSL_GUARDED_BY(mu_);
  int open_ ABSL_GUARDED_BY(mu_) = 0;
};

// For an index of live things scored by creation time (unix ms): drops the members scored below
// `oldest_kept_ms` (their things expired without being removed) and answers how many remain, in
// one round trip. Backs the active calls/sessions gauges without scanning the keyspace.
absl::StatusOr<int64_t> TrimAndCountIndex(RedisPool& redis, const std::string& key,
                                          int64_t oldest_kept_ms);

// Convenience readers for replies.
bool IsNil(const redisReply& reply);
std::string ReplyString(const redisReply& reply);

}  // namespace livecall

#endif  // LIVECALL_COMMON_REDIS_POOL_H_
