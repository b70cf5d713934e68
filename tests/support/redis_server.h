#ifndef LIVECALL_TESTS_SUPPORT_REDIS_SERVER_H_
#define LIVECALL_TESTS_SUPPORT_REDIS_SERVER_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/redis_pool.h"
#include "tests/support/child_process.h"

namespace livecall::testing {

// A private redis-server for one test (or test suite): its own free port on 127.0.0.1 and its own
// temporary data directory, append-only persistence on, so Restart() brings back every write
// that was acknowledged before Stop() -- as production Redis does.
class RedisServer {
 public:
  RedisServer() = default;
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  // Starts the server and returns once it answers PING. The first Start() picks the port and the
  // data directory; later ones reuse both.
  absl::Status Start(absl::Duration timeout = absl::Seconds(10));
  // SIGTERM (Redis flushes the append-only file) and wait for exit code 0.
  absl::Status Stop(absl::Duration timeout = absl::Seconds(10));
  absl::Status Restart();

  // True when the server answers PING with PONG (not while it is still loading its data).
  bool Ping() const;

  int port() const { return port_; }
  // "redis://127.0.0.1:<port>/0".
  std::string url() const;
  // url() parsed, as RedisPool::Options and EventHub::Options take it.
  RedisUrl parsed_url() const;
  const std::string& data_dir() const { return data_dir_; }
  ChildProcess& process() { return process_; }

 private:
  int port_ = 0;
  std::string data_dir_;
  ChildProcess process_;
};

// Starts `process` as a redis-server on 127.0.0.1:`port` with its data in `dir`: append-only with
// fsync always (an acknowledged write survives a stop and a restart), no RDB snapshots, its log in
// `dir`/redis.log, and `extra_args` after those (a cluster node's settings). Returns once it
// answers PING; one that exits or does not answer within `timeout` is killed, and the error
// carries its log.
absl::Status StartRedisProcess(ChildProcess& process, int port, const std::string& dir,
                               const std::vector<std::string>& extra_args, absl::Duration timeout);

// True when the server on 127.0.0.1:`port` answers PING with PONG (not while it is still loading
// its data).
bool RedisAnswersPing(int port);

}  // namespace livecall::testing

#endif  // LIVECALL_TESTS_SUPPORT_REDIS_SERVER_H_
