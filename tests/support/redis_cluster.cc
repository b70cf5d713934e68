#include "tests/support/redis_cluster.h"

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <csignal>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/redis_cluster.h"
#include "tests/support/files.h"
#include "tests/support/free_port.h"
#include "tests/support/redis_command.h"
#include "tests/support/redis_server.h"
#include "tests/support/wait_for.h"

namespace livecall::testing {
namespace {

using Context = std::unique_ptr<redisContext, decltype(&redisFree)>;
using Reply = std::unique_ptr<redisReply, decltype(&freeReplyObject)>;

// CLUSTER SLOTS of the node on `port`, as (first slot, last slot, master port, replica ports).
struct SlotRange {
  int first = 0;
  int last = 0;
  int master = 0;
  std::vector<int> replicas;
};

absl::StatusOr<std::vector<SlotRange>> ClusterSlots(int port) {
  timeval timeout = {1, 0};
  Context context(redisConnectWithTimeout("127.0.0.1", port, timeout), redisFree);
  if (context == nullptr || context->err != 0) {
    return absl::UnavailableError(absl::StrCat("cannot reach 127.0.0.1:", port));
  }
  redisSetTimeout(context.get(), timeout);
  Reply reply(static_cast<redisReply*>(redisCommand(context.get(), "CLUSTER SLOTS")),
              freeReplyObject);
  if (reply == nullptr || reply->type != REDIS_REPLY_ARRAY) {
    return absl::UnavailableError(absl::StrCat("no CLUSTER SLOTS from 127.0.0.1:", port));
  }
  std::vector<SlotRange> ranges;
  for (size_t i = 0; i < reply->elements; ++i) {
    const redisReply& range = *reply->element[i];
    if (range.type != REDIS_REPLY_ARRAY || range.elements < 3) continue;
    SlotRange parsed;
    parsed.first = static_cast<int>(range.element[0]->integer);
    parsed.last = static_cast<int>(range.element[1]->integer);
    parsed.master = static_cast<int>(range.element[2]->element[1]->integer);
    for (size_t r = 3; r < range.elements; ++r) {
      parsed.replicas.push_back(static_cast<int>(range.element[r]->element[1]->integer));
    }
    ranges.push_back(std::move(parsed));
  }
  return ranges;
}

}  // namespace

RedisCluster::~RedisCluster() {
  for (Node& node : nodes_) {
    if (node.process != nullptr) node.process->Kill();
  }
  if (!root_dir_.empty() && ShouldRemoveTempDirs()) {
    std::error_code ignored;
    std::filesystem::remove_all(root_dir_, ignored);
  }
}

absl::Status RedisCluster::StartNode(Node& node) {
  node.process = std::make_unique<ChildProcess>();
  return StartRedisProcess(
      *node.process, node.port, node.dir,
      {"--cluster-enabled", "yes", "--cluster-port", absl::StrCat(node.bus_port),
       "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "1000"},
      absl::Seconds(10));
}

absl::Status RedisCluster::Start(int masters, int replicas, absl::Duration timeout) {
  absl::StatusOr<std::string> root = MakeTempDir("livecall-redis-cluster-");
  if (!root.ok()) return root.status();
  root_dir_ = *root;
  const int count = masters * (1 + replicas);
  std::vector<std::string> create = {"--cluster", "create"};
  for (int i = 0; i < count; ++i) {
    Node node;
    node.port = FreeTcpPort();
    node.bus_port = FreeTcpPort();
    node.dir = absl::StrCat(root_dir_, "/node-", i);
    std::filesystem::create_directories(node.dir);
    nodes_.push_back(std::move(node));
    if (absl::Status started = StartNode(nodes_.back()); !started.ok()) return started;
    create.push_back(absl::StrCat("127.0.0.1:", nodes_.back().port));
  }
  create.insert(create.end(), {"--cluster-replicas", absl::StrCat(replicas), "--cluster-yes"});
  ChildProcess cli;
  const std::string cli_log = absl::StrCat(root_dir_, "/cluster-create.log");
  if (absl::Status started = cli.Start("redis-cli", create, {}, cli_log); !started.ok()) {
    return started;
  }
  absl::StatusOr<int> code = cli.WaitForExit(timeout);
  if (!code.ok() || *code != 0) {
    return absl::InternalError(
        absl::StrCat("redis-cli --cluster create failed: ",
                     code.ok() ? absl::StrCat("exit ", *code) : code.status().ToString(), "\n",
                     cli.LogTail(30)));
  }
  return WaitForHealthy(replicas, timeout);
}

std::string RedisCluster::url() const {
  std::vector<std::string> nodes;
  for (const Node& node : nodes_) nodes.push_back(absl::StrCat("127.0.0.1:", node.port));
  return absl::StrCat("redis+cluster://", absl::StrJoin(nodes, ","));
}

std::vector<int> RedisCluster::ports() const {
  std::vector<int> ports;
  for (const Node& node : nodes_) ports.push_back(node.port);
  return ports;
}

absl::StatusOr<std::string> RedisCluster::Command(int port,
                                                  const std::vector<std::string>& argv) const {
  return RedisCommandText(port, argv);
}

RedisCluster::Node* RedisCluster::Find(int port) {
  for (Node& node : nodes_) {
    if (node.port == port) return &node;
  }
  return nullptr;
}

bool RedisCluster::Running(int port) {
  Node* node = Find(port);
  return node != nullptr && node->process != nullptr && node->process->Running();
}

absl::StatusOr<int> RedisCluster::MasterOf(const std::string& key) const {
  const int slot = RedisKeySlot(key);
  absl::Status last = absl::UnavailableError("no node answers");
  for (const Node& node : nodes_) {
    absl::StatusOr<std::vector<SlotRange>> ranges = ClusterSlots(node.port);
    if (!ranges.ok()) {
      last = ranges.status();
      continue;
    }
    for (const SlotRange& range : *ranges) {
      if (slot >= range.first && slot <= range.last) return range.master;
    }
  }
  return last;
}

absl::StatusOr<int> RedisCluster::ReplicaOf(int master_port) const {
  for (const Node& node : nodes_) {
    absl::StatusOr<std::vector<SlotRange>> ranges = ClusterSlots(node.port);
    if (!ranges.ok()) continue;
    for (const SlotRange& range : *ranges) {
      if (range.master == master_port && !range.replicas.empty()) return range.replicas.front();
    }
  }
  return absl::NotFoundError(absl::StrCat("no replica of 127.0.0.1:", master_port));
}

absl::Status RedisCluster::Kill(int port) {
  Node* node = Find(port);
  if (node == nullptr) return absl::NotFoundError(absl::StrCat("no node on port ", port));
  node->process->Kill();
  return absl::OkStatus();
}

absl::Status RedisCluster::Restart(int port) {
  Node* node = Find(port);
  if (node == nullptr) return absl::NotFoundError(absl::StrCat("no node on port ", port));
  if (node->process != nullptr) node->process->Kill();
  return StartNode(*node);
}

absl::Status RedisCluster::WaitForMaster(int port, absl::Duration timeout) {
  bool ok = WaitFor(
      [&] {
        absl::StatusOr<std::string> role = Command(port, {"ROLE"});
        if (!role.ok() || !absl::StartsWith(*role, "master")) return false;
        for (Node& node : nodes_) {
          if (!Running(node.port)) continue;
          absl::StatusOr<std::string> info = Command(node.port, {"CLUSTER", "INFO"});
          if (!info.ok() || !absl::StrContains(*info, "cluster_state:ok")) return false;
          absl::StatusOr<std::vector<SlotRange>> ranges = ClusterSlots(node.port);
          if (!ranges.ok()) return false;
          bool serves = false;
          for (const SlotRange& range : *ranges) serves = serves || range.master == port;
          if (!serves) return false;
        }
        return true;
      },
      timeout);
  if (!ok) {
    return absl::DeadlineExceededError(
        absl::StrCat("127.0.0.1:", port, " did not become a master serving slots\n", LogTails()));
  }
  return absl::OkStatus();
}

absl::Status RedisCluster::WaitForHealthy(int replicas, absl::Duration timeout) {
  bool ok = WaitFor(
      [&] {
        for (Node& node : nodes_) {
          if (!Running(node.port)) continue;
          absl::StatusOr<std::string> info = Command(node.port, {"CLUSTER", "INFO"});
          if (!info.ok() || !absl::StrContains(*info, "cluster_state:ok")) return false;
          absl::StatusOr<std::string> replication = Command(node.port, {"INFO", "replication"});
          if (!replication.ok()) return false;
          if (absl::StrContains(*replication, "role:master") &&
              !absl::StrContains(*replication, absl::StrCat("connected_slaves:", replicas))) {
            return false;
          }
          if (absl::StrContains(*replication, "role:slave") &&
              !absl::StrContains(*replication, "master_link_status:up")) {
            return false;
          }
        }
        return true;
      },
      timeout);
  if (!ok) {
    return absl::DeadlineExceededError(
        absl::StrCat("the cluster did not become healthy\n", LogTails()));
  }
  return absl::OkStatus();
}

std::string RedisCluster::LogTails() const {
  std::string tails;
  for (const Node& node : nodes_) {
    if (node.process == nullptr) continue;
    absl::StrAppend(&tails, "--- node ", node.port, ":\n", node.process->LogTail(8));
  }
  return tails;
}

}  // namespace livecall::testing
