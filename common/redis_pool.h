#ifndef LIVECALL_COMMON_REDIS_POOL_H_
#define LIVECALL_COMMON_REDIS_POOL_H_

// A bounded pool of synchronous hiredis connections. hiredis 0.14 contexts are not thread-safe and
// die after any I/O error, so each command leases one connection for the duration of the call and a
// connection that failed is closed instead of returned. Calls block: run them on a worker pool,
// never on a gRPC or Asio I/O thread. A pipeline is formatted into one buffer
// (common/redis_protocol.h) and sent with one write(2); hiredis reads the replies.
//
// Against a Redis Cluster (a "redis+cluster://" URL) the pool keeps one such pool per node and
// routes each command by its key's hash slot (common/redis_cluster.h), from a slot map read with
// CLUSTER SLOTS from any reachable node. MOVED updates the map and resends; ASK resends once to the
// named node after ASKING; CLUSTERDOWN/TRYAGAIN and a node that cannot be reached (a master that
// died, before its replica is promoted) refresh the map and resend until Options::failover_wait
// runs out -- but only commands that were never sent: a command whose reply was lost may have run,
// so it fails (UNAVAILABLE) instead of running twice. A MULTI block or a script must touch one
// slot (the suite's key layout puts what is written together under one hash tag).
//
// Behind Redis Sentinel (a "redis+sentinel://" URL) the pool asks the Sentinels, in order, for the
// primary's address (common/redis_sentinel.h) and keeps one such pool for it; every new connection
// checks with ROLE that it reached the primary (a Sentinel may be stale). The same resend loop as
// for a cluster applies, with "ask the Sentinels again" in place of "read the slot map again": a
// primary that cannot be reached, a READONLY answer (it was demoted) or its open circuit breaker
// make the pool ask again and resend what was never sent until Options::failover_wait runs out.

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
#include "absl/types/span.h"
#include "common/circuit_breaker.h"
#include "common/redis_cluster.h"

namespace livecall {

struct RedisNodeAddress {
  std::string host;
  int port = 6379;
};

struct RedisUrl {
  std::string host = "127.0.0.1";
  int port = 6379;
  int db = 0;
  std::string password;  // Empty: no AUTH.
  // A Redis Cluster's seed nodes (host and port above are the first); empty: one server.
  std::vector<RedisNodeAddress> cluster_seeds;
  // The Sentinels that watch the primary named `master_name` (host and port above are the first
  // Sentinel's); empty: no Sentinel.
  std::vector<RedisNodeAddress> sentinels;
  std::string master_name;
  bool cluster() const { return !cluster_seeds.empty(); }
  bool sentinel() const { return !sentinels.empty(); }
};

// Parses "redis://[:password@]host[:port][/db]" (one server, or a primary behind a failover
// address), "redis+cluster://[:password@]host[:port][,host[:port]...][/0]" (a Redis Cluster,
// given by one or more seed nodes; the rest are found with CLUSTER SLOTS; db 0 only) or
// "redis+sentinel://[:password@]host[:port][,host[:port]...]/master-name[/db]" (a primary and its
// replicas watched by Redis Sentinel: the Sentinels' addresses, port 26379 by default, and the
// name they monitor the primary by; the password is the data nodes', sent to a Sentinel too if it
// asks for one).
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
    // After each write (any command but a read), wait until this many replicas have it (WAIT):
    // a write is acknowledged only once it would survive its primary's death and a failover.
    // 0: acknowledge on the primary's answer (Redis replication is asynchronous).
    int wait_replicas = 0;
    absl::Duration wait_timeout = absl::Seconds(1);
    // Cluster or Sentinel: how long a command that could not be sent keeps being resent (slot map
    // read again, or the Sentinels asked again, each time) while a failover is under way, before
    // UNAVAILABLE.
    absl::Duration failover_wait = absl::Seconds(5);
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
  // In a cluster a MULTI block must touch one slot (else INTERNAL, CROSSSLOT); other pipelines are
  // split into one per node, sent one after another, so commands on different nodes run in no
  // set order relative to each other.
  absl::StatusOr<std::vector<RedisReply>> Pipeline(
      const std::vector<std::vector<std::string>>& commands);
  // The same for commands held apart, by reference: a caller that adds a command to others (a
  // script after its index entries) need not copy them all into one vector first.
  absl::StatusOr<std::vector<RedisReply>> PipelineRefs(
      absl::Span<const std::vector<std::string>* const> commands);

  absl::Status Ping();

  bool cluster() const { return options_.url.cluster(); }
  bool sentinel() const { return options_.url.sentinel(); }
  // Reads the cluster's slot map again, or asks the Sentinels for the primary again (a no-op for
  // one server).
  absl::Status RefreshSlotMap() ABSL_LOCKS_EXCLUDED(map_mu_);
  // "host:port" of the node that serves `key` by the current slot map (the server's for one, the
  // primary the Sentinels named last behind Sentinel; empty while unknown).
  std::string NodeOf(const std::string& key) ABSL_LOCKS_EXCLUDED(map_mu_);

  struct ContextDeleter {
    void operator()(redisContext* context) const { redisFree(context); }
  };
  using Connection = std::unique_ptr<redisContext, ContextDeleter>;

  // A new connection outside the pool, authenticated and on the URL's database, for what cannot
  // share one (a SUBSCRIBE). In a cluster: to the first node that answers; behind Sentinel: to the
  // primary (the Sentinels are asked again if the one they named last cannot be reached or is no
  // longer the primary). The caller owns it; the breaker is not consulted.
  absl::StatusOr<Connection> OpenDedicatedConnection();

 private:
  class Node;  // The connections to one server.
  // The commands of a pipeline, by reference: routing, ASKING, WAIT and splitting a pipeline by
  // node add or pick commands without copying their arguments.
  using CommandRefs = absl::Span<const std::vector<std::string>* const>;

  // Runs `commands` on one node (the one serving `key`, or any when null), following
  // redirections; WAITs for replicas after writes.
  absl::StatusOr<std::vector<RedisReply>> Route(CommandRefs commands, const std::string* key);
  // A plain (non-MULTI) pipeline in a cluster: one sub-pipeline per node, replies in order.
  absl::StatusOr<std::vector<RedisReply>> ScatterPipeline(CommandRefs commands);
  // On `node`, with WAIT appended after writes when Options::wait_replicas asks for it.
  absl::StatusOr<std::vector<RedisReply>> RunOnNode(Node& node, CommandRefs commands, bool* sent);
  // Behind Sentinel every slot is the primary's.
  Node* NodeForSlot(int slot) ABSL_LOCKS_EXCLUDED(map_mu_);
  // Sentinel: asks the Sentinels in order for the primary and keeps the first named node that a
  // fresh connection finds to be a primary. `named_any`: whether some Sentinel named a primary at
  // all (if one did but it is gone or not the primary, a failover may be under way).
  absl::Status RefreshPrimary(bool* named_any) ABSL_LOCKS_EXCLUDED(map_mu_);
  Node& NodeAt(const std::string& host, int port) ABSL_LOCKS_EXCLUDED(map_mu_);

  const Options options_;
  absl::Mutex map_mu_;
  // Never shrinks, so a Node& stays valid for the pool's life.
  std::vector<std::unique_ptr<Node>> nodes_ ABSL_GUARDED_BY(map_mu_);
  // Cluster: slot -> index in nodes_, -1 while unknown.
  std::vector<int> slot_node_ ABSL_GUARDED_BY(map_mu_);
  // Sentinel: the primary's index in nodes_, -1 while unknown.
  int primary_ ABSL_GUARDED_BY(map_mu_) = -1;
  absl::Time last_refresh_ ABSL_GUARDED_BY(map_mu_) = absl::InfinitePast();
  absl::Mutex refresh_mu_;  // One CLUSTER SLOTS (or round of Sentinel questions) at a time.
  // One server: its node (nodes_ holds only it, for good), reached without map_mu_.
  Node* single_node_ = nullptr;
  // WAIT <replicas> <timeout>, sent after writes when Options::wait_replicas > 0.
  std::vector<std::string> wait_command_;
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
