#ifndef LIVECALL_TESTS_SUPPORT_REDIS_CLUSTER_H_
#define LIVECALL_TESTS_SUPPORT_REDIS_CLUSTER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/support/child_process.h"

namespace livecall::testing {

// A private Redis Cluster for one test (beside RedisServer, the private single Redis): `masters`
// masters with `replicas` replicas each, every node a redis-server --cluster-enabled yes on free
// ports of 127.0.0.1 with its own data directory (append-only, fsync always), joined with
// `redis-cli --cluster create`. Start() returns once every node reports cluster_state:ok and every
// master has its replicas connected. A short cluster-node-timeout (1 s) makes failover quick.
class RedisCluster {
 public:
  RedisCluster() = default;
  ~RedisCluster();
  RedisCluster(const RedisCluster&) = delete;
  RedisCluster& operator=(const RedisCluster&) = delete;

  absl::Status Start(int masters = 3, int replicas = 1, absl::Duration timeout = absl::Seconds(60));

  // "redis+cluster://127.0.0.1:<port>,..." naming every node.
  std::string url() const;
  std::vector<int> ports() const;

  // One command to the node on `port`, answered as text: a status or string reply as is, an
  // integer in decimal, an error as "ERR..." (an array: its elements joined by newlines).
  // UNAVAILABLE when the node cannot be reached.
  absl::StatusOr<std::string> Command(int port, const std::vector<std::string>& argv) const;

  // The port of the master serving `key`'s slot, as a live node's CLUSTER SLOTS says.
  absl::StatusOr<int> MasterOf(const std::string& key) const;
  // The port of a replica of the master on `master_port`.
  absl::StatusOr<int> ReplicaOf(int master_port) const;

  // SIGKILL: no shutdown, no final fsync.
  absl::Status Kill(int port);
  // Starts a killed node again on its port and data (it rejoins, as a replica after a failover).
  absl::Status Restart(int port);
  bool Running(int port);

  // Waits until the node on `port` is a master serving slots and every live node says
  // cluster_state:ok.
  absl::Status WaitForMaster(int port, absl::Duration timeout);
  // Waits until every live master has `replicas` connected replicas and the cluster is ok.
  absl::Status WaitForHealthy(int replicas, absl::Duration timeout);

  std::string LogTails() const;

 private:
  struct Node {
    int port = 0;
    int bus_port = 0;
    std::string dir;
    std::unique_ptr<ChildProcess> process;
  };
  absl::Status StartNode(Node& node);
  Node* Find(int port);

  std::string root_dir_;
  std::vector<Node> nodes_;
};

}  // namespace livecall::testing

#endif  // LIVECALL_TESTS_SUPPORT_REDIS_CLUSTER_H_
