#include "tests/support/redis_sentinel.h"

#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "tests/support/files.h"
#include "tests/support/free_port.h"
#include "tests/support/redis_command.h"
#include "tests/support/wait_for.h"

namespace livecall::testing {
namespace {

// "field\nvalue\nfield\nvalue..." (SENTINEL MASTER's answer as Command gives it) -> value.
std::string Field(const std::string& pairs, absl::string_view field) {
  std::vector<std::string> lines = absl::StrSplit(pairs, '\n');
  for (size_t i = 0; i + 1 < lines.size(); i += 2) {
    if (lines[i] == field) return lines[i + 1];
  }
  return "";
}

// SENTINEL REPLICAS' answer (each replica's field/value pairs, one after another): `count`
// replicas, each flagged only "slave", linked to its primary, with an INFO of its own from the
// last 10 s (a Sentinel that never had one reports the time since 1970).
bool EveryReplicaCanBePromoted(const std::string& replicas, int count) {
  std::vector<std::string> lines = absl::StrSplit(replicas, '\n');
  int slaves = 0, linked = 0, fresh = 0;
  for (size_t i = 0; i + 1 < lines.size(); i += 2) {
    const std::string& value = lines[i + 1];
    int64_t refresh_ms = 0;
    if (lines[i] == "flags" && value == "slave") ++slaves;
    if (lines[i] == "master-link-status" && value == "ok") ++linked;
    if (lines[i] == "info-refresh" && absl::SimpleAtoi(value, &refresh_ms) && refresh_ms < 10000) {
      ++fresh;
    }
  }
  return slaves == count && linked == count && fresh == count;
}

}  // namespace

RedisSentinelGroup::~RedisSentinelGroup() {
  // Sentinels first, so that none starts a failover while the data nodes go.
  for (Process& process : processes_) {
    if (process.sentinel && process.process != nullptr) process.process->Kill();
  }
  for (Process& process : processes_) {
    if (process.process != nullptr) process.process->Kill();
  }
  if (!root_dir_.empty() && ShouldRemoveTempDirs()) {
    std::error_code ignored;
    std::filesystem::remove_all(root_dir_, ignored);
  }
}

absl::Status RedisSentinelGroup::WaitForPong(Process& process) {
  bool exited = false;
  bool ready = WaitFor(
      [&] {
        if (!process.process->Running()) {
          exited = true;
          return true;
        }
        absl::StatusOr<std::string> pong = Command(process.port, {"PING"});
        return pong.ok() && *pong == "PONG";
      },
      absl::Seconds(10));
  if (exited || !ready) {
    return absl::UnavailableError(absl::StrCat(
        process.sentinel ? "sentinel" : "redis", " on port ", process.port,
        exited ? " exited" : " did not answer PING", "; its log:\n", process.process->LogTail(20)));
  }
  return absl::OkStatus();
}

absl::Status RedisSentinelGroup::StartDataNode(Process& node, int primary_port) {
  std::vector<std::string> args = {"--port", absl::StrCat(node.port), "--bind", "127.0.0.1",
                                   "--dir", node.dir, "--save", "", "--appendonly", "no",
                                   "--daemonize", "no", "--protected-mode", "no", "--logfile", "",
                                   // Redis 7 waits 5 s for more replicas before a full sync.
                                   "--repl-diskless-sync-delay", "0"};
  if (!options_.password.empty()) {
    args.insert(args.end(),
                {"--requirepass", options_.password, "--masterauth", options_.password});
  }
  if (primary_port != 0) {
    args.insert(args.end(), {"--replicaof", "127.0.0.1", absl::StrCat(primary_port)});
  }
  node.process = std::make_unique<ChildProcess>();
  absl::Status started =
      node.process->Start("redis-server", args, {}, absl::StrCat(node.dir, "/redis.log"));
  if (!started.ok()) return started;
  return WaitForPong(node);
}

absl::Status RedisSentinelGroup::StartSentinel(Process& sentinel, int monitored_port) {
  const std::string& name = options_.master_name;
  const std::string config_path = absl::StrCat(sentinel.dir, "/sentinel.conf");
  {
    std::ofstream config(config_path);
    config << "port " << sentinel.port << "\nbind 127.0.0.1\ndir " << sentinel.dir
           << "\ndaemonize no\nlogfile \"\"\n"
           << "sentinel monitor " << name << " 127.0.0.1 " << monitored_port << " 2\n"
           << "sentinel down-after-milliseconds " << name << " 500\n"
           << "sentinel failover-timeout " << name << " 2000\n";
    if (!options_.password.empty()) {
      config << "sentinel auth-pass " << name << " " << options_.password << "\n"
             << "requirepass " << options_.password << "\n";
    }
    if (!config) return absl::InternalError(absl::StrCat("cannot write ", config_path));
  }
  sentinel.process = std::make_unique<ChildProcess>();
  absl::Status started = sentinel.process->Start("redis-server", {config_path, "--sentinel"}, {},
                                                 absl::StrCat(sentinel.dir, "/sentinel.log"));
  if (!started.ok()) return started;
  return WaitForPong(sentinel);
}

absl::Status RedisSentinelGroup::Start(const Options& options, absl::Duration timeout) {
  options_ = options;
  absl::StatusOr<std::string> root = MakeTempDir("livecall-redis-sentinel-");
  if (!root.ok()) return root.status();
  root_dir_ = *root;
  auto add = [&](bool sentinel) -> Process& {
    Process process;
    process.port = FreeTcpPort();
    process.sentinel = sentinel;
    process.dir = absl::StrCat(root_dir_, sentinel ? "/sentinel-" : "/redis-", process.port);
    std::filesystem::create_directories(process.dir);
    processes_.push_back(std::move(process));
    return processes_.back();
  };
  processes_.reserve(1 + options.replicas + options.sentinels + 1);
  Process& primary = add(false);
  primary_port_ = primary.port;
  if (absl::Status started = StartDataNode(primary, 0); !started.ok()) return started;
  for (int i = 0; i < options.replicas; ++i) {
    Process& replica = add(false);
    replica_ports_.push_back(replica.port);
    if (absl::Status started = StartDataNode(replica, primary_port_); !started.ok()) {
      return started;
    }
  }
  // Replicas linked before the Sentinels start: their first INFO of the primary lists them all.
  const bool linked = WaitFor(
      [&] {
        absl::StatusOr<std::string> info = Command(primary_port_, {"INFO", "replication"});
        if (!info.ok() ||
            !absl::StrContains(*info, absl::StrCat("connected_slaves:", options.replicas))) {
          return false;
        }
        for (int port : replica_ports_) {
          absl::StatusOr<std::string> replica = Command(port, {"INFO", "replication"});
          if (!replica.ok() || !absl::StrContains(*replica, "master_link_status:up")) return false;
        }
        return true;
      },
      timeout);
  if (!linked) {
    return absl::DeadlineExceededError(
        absl::StrCat("the replicas did not link to the primary\n", LogTails()));
  }
  for (int i = 0; i < options.sentinels; ++i) {
    Process& sentinel = add(true);
    sentinel_ports_.push_back(sentinel.port);
    if (absl::Status started = StartSentinel(sentinel, primary_port_); !started.ok()) {
      return started;
    }
  }
  const bool watching = WaitFor(
      [&] {
        for (int port : sentinel_ports_) {
          absl::StatusOr<std::string> master =
              Command(port, {"SENTINEL", "MASTER", options_.master_name});
          if (!master.ok() || Field(*master, "flags") != "master" ||
              Field(*master, "num-slaves") != absl::StrCat(options.replicas)) {
            return false;
          }
          // Knowing a replica (from the primary's INFO) is not enough for SENTINEL FAILOVER: until
          // the Sentinel has linked to the replica and had its own INFO, the replica cannot be
          // promoted and FAILOVER answers NOGOODSLAVE.
          absl::StatusOr<std::string> replicas =
              Command(port, {"SENTINEL", "REPLICAS", options_.master_name});
          if (!replicas.ok() || !EveryReplicaCanBePromoted(*replicas, options.replicas)) {
            return false;
          }
        }
        return true;
      },
      timeout);
  if (!watching) {
    return absl::DeadlineExceededError(
        absl::StrCat("the Sentinels did not find the primary and its replicas\n", LogTails()));
  }
  return absl::OkStatus();
}

std::string RedisSentinelGroup::url() const {
  std::vector<std::string> sentinels;
  for (int port : sentinel_ports_) sentinels.push_back(absl::StrCat("127.0.0.1:", port));
  return absl::StrCat("redis+sentinel://",
                      options_.password.empty() ? "" : absl::StrCat(":", options_.password, "@"),
                      absl::StrJoin(sentinels, ","), "/", options_.master_name);
}

absl::StatusOr<std::string> RedisSentinelGroup::Command(
    int port, const std::vector<std::string>& argv) const {
  return RedisCommandText(port, argv, options_.password);
}

absl::StatusOr<int> RedisSentinelGroup::PrimaryNamedBy(int sentinel_port) const {
  absl::StatusOr<std::string> address =
      Command(sentinel_port, {"SENTINEL", "GET-MASTER-ADDR-BY-NAME", options_.master_name});
  if (!address.ok()) return address.status();
  std::vector<std::string> parts = absl::StrSplit(*address, '\n');
  int port = 0;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[1], &port)) {
    return absl::NotFoundError(absl::StrCat("sentinel on ", sentinel_port, " answered ", *address));
  }
  return port;
}

absl::Status RedisSentinelGroup::WaitForSentinelsToKnowEachOther(absl::Duration timeout) {
  const std::string others = absl::StrCat(sentinel_ports_.size() - 1);
  const bool known = WaitFor(
      [&] {
        for (int port : sentinel_ports_) {
          absl::StatusOr<std::string> master =
              Command(port, {"SENTINEL", "MASTER", options_.master_name});
          if (!master.ok() || Field(*master, "num-other-sentinels") != others) return false;
        }
        return true;
      },
      timeout);
  if (!known) {
    return absl::DeadlineExceededError(
        absl::StrCat("the Sentinels did not find each other\n", LogTails()));
  }
  return absl::OkStatus();
}

absl::StatusOr<int> RedisSentinelGroup::WaitForFailover(int old_primary_port,
                                                        absl::Duration timeout) {
  int promoted = 0;
  const bool done = WaitFor(
      [&] {
        int named = 0;
        for (int port : sentinel_ports_) {
          if (!Running(port)) continue;
          absl::StatusOr<int> primary = PrimaryNamedBy(port);
          if (!primary.ok() || *primary == old_primary_port) return false;
          if (named != 0 && *primary != named) return false;
          named = *primary;
        }
        absl::StatusOr<std::string> role = Command(named, {"ROLE"});
        if (named == 0 || !role.ok() || !absl::StartsWith(*role, "master")) return false;
        promoted = named;
        return true;
      },
      timeout);
  if (!done) {
    return absl::DeadlineExceededError(absl::StrCat(
        "no failover away from 127.0.0.1:", old_primary_port, " finished\n", LogTails()));
  }
  return promoted;
}

absl::StatusOr<int> RedisSentinelGroup::StartStaleSentinel(int port) {
  Process stale;
  stale.port = FreeTcpPort();
  stale.sentinel = true;
  stale.dir = absl::StrCat(root_dir_, "/stale-sentinel-", stale.port);
  std::filesystem::create_directories(stale.dir);
  processes_.push_back(std::move(stale));
  Process& started = processes_.back();
  if (absl::Status status = StartSentinel(started, port); !status.ok()) return status;
  return started.port;
}

RedisSentinelGroup::Process* RedisSentinelGroup::Find(int port) {
  for (Process& process : processes_) {
    if (process.port == port) return &process;
  }
  return nullptr;
}

absl::Status RedisSentinelGroup::Kill(int port) {
  Process* process = Find(port);
  if (process == nullptr || process->process == nullptr) {
    return absl::NotFoundError(absl::StrCat("nothing started on port ", port));
  }
  process->process->Kill();
  return absl::OkStatus();
}

bool RedisSentinelGroup::Running(int port) {
  Process* process = Find(port);
  return process != nullptr && process->process != nullptr && process->process->Running();
}

std::string RedisSentinelGroup::LogTails() const {
  std::string tails;
  for (const Process& process : processes_) {
    if (process.process == nullptr) continue;
    absl::StrAppend(&tails, "--- ", process.sentinel ? "sentinel " : "redis ", process.port, ":\n",
                    process.process->LogTail(8));
  }
  return tails;
}

}  // namespace livecall::testing
