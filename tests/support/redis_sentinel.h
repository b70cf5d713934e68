#ifndef LIVECALL_TESTS_SUPPORT_REDIS_SENTINEL_H_
#define LIVECALL_TESTS_SUPPORT_REDIS_SENTINEL_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/support/child_process.h"

namespace livecall::testing {

// A private Redis Sentinel deployment for one test, shaped like Bitnami's chart: a primary,
// `replicas` replicas (redis-server --replicaof) and `sentinels` Sentinels (redis-server <conf>
// --sentinel, `sentinel monitor <master_name> 127.0.0.1 <primary> 2`), each on a free port of
// 127.0.0.1 with its own directory. With a password, the data nodes require it (requirepass,
// masterauth) and so do the Sentinels (requirepass; they also use it with each other and, through
// auth-pass, with the data nodes). Short timings (down-after 500 ms, failover-timeout 2 s) make a
// failover take a few seconds.
class RedisSentinelGroup {
 public:
  struct Options {
    int replicas = 2;
    int sentinels = 3;
    std::string master_name = "livecall";
    std::string password;  // Empty: none anywhere.
  };

  RedisSentinelGroup() = default;
  ~RedisSentinelGroup();
  RedisSentinelGroup(const RedisSentinelGroup&) = delete;
  RedisSentinelGroup& operator=(const RedisSentinelGroup&) = delete;

  // Returns once every replica's link to the primary is up and every Sentinel names the primary
  // and knows of every replica.
  absl::Status Start(const Options& options, absl::Duration timeout = absl::Seconds(30));

  // "redis+sentinel://[:password@]127.0.0.1:<sentinel>,.../<master_name>".
  std::string url() const;
  int primary_port() const { return primary_port_; }  // The first primary.
  const std::vector<int>& replica_ports() const { return replica_ports_; }
  const std::vector<int>& sentinel_ports() const { return sentinel_ports_; }

  // One command (with AUTH first when there is a password) to the node or Sentinel on `port`,
  // answered as text: a status or string reply as is, an integer in decimal, an error as
  // "ERR..."; an array's elements joined by newlines. UNAVAILABLE when it cannot be reached.
  absl::StatusOr<std::string> Command(int port, const std::vector<std::string>& argv) const;

  // The primary's port as the Sentinel on `sentinel_port` names it.
  absl::StatusOr<int> PrimaryNamedBy(int sentinel_port) const;

  // Waits until every Sentinel knows of every other (they must, to agree that the primary is down
  // and elect one of them to fail it over); hello messages come every 2 s.
  absl::Status WaitForSentinelsToKnowEachOther(absl::Duration timeout);
  // Waits until every running Sentinel names a primary other than `old_primary_port` that ROLE
  // says is a primary, and returns its port.
  absl::StatusOr<int> WaitForFailover(int old_primary_port, absl::Duration timeout);

  // Starts one more Sentinel that monitors the node on `port` (a replica) as the primary: what a
  // Sentinel cut off during a failover answers. Returns its port.
  absl::StatusOr<int> StartStaleSentinel(int port);

  // SIGKILL the node or Sentinel on `port`: no shutdown.
  absl::Status Kill(int port);
  bool Running(int port);

  std::string LogTails() const;

 private:
  struct Process {
    int port = 0;
    bool sentinel = false;
    std::string dir;
    std::unique_ptr<ChildProcess> process;
  };
  absl::Status StartDataNode(Process& node, int primary_port);
  absl::Status StartSentinel(Process& sentinel, int monitored_port);
  absl::Status WaitForPong(Process& process);
  Process* Find(int port);

  Options options_;
  std::string root_dir_;
  int primary_port_ = 0;
  std::vector<int> replica_ports_;
  std::vector<int> sentinel_ports_;
  std::vector<Process> processes_;
};

}  // namespace livecall::testing

#endif  // LIVECALL_TESTS_SUPPORT_REDIS_SENTINEL_H_
