#include "common/redis_pool.h"

#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <mutex>
#include <optional>
#include <tuple>

#include "absl/algorithm/container.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/metrics.h"
#include "common/redis_protocol.h"
#include "common/redis_sentinel.h"

namespace livecall {
namespace {

constexpr absl::string_view kPoolExhausted = "redis: no free connection in the pool";

absl::Status ContextError(const redisContext& context, absl::string_view what) {
  return absl::UnavailableError(absl::StrCat("redis ", what, ": ", context.errstr));
}

// The metrics label of a command or pipeline: its first command's name, upper-case. The names are
// written in the code, so the label's values are a small fixed set.
// Taken from the command's name without copying its arguments (a session's JSON among them).
std::string CommandLabel(const std::vector<std::string>& command) {
  if (command.empty()) return "NONE";
  return absl::AsciiStrToUpper(command.front());
}

// A pipeline's commands by reference; most pipelines have a handful.
using CommandList = absl::InlinedVector<const std::vector<std::string>*, 8>;

CommandList RefsOf(const std::vector<std::vector<std::string>>& commands) {
  CommandList refs;
  refs.reserve(commands.size());
  for (const std::vector<std::string>& command : commands) refs.push_back(&command);
  return refs;
}

// Room for a pipeline's `size` bytes, per thread, kept for the next pipeline (not a std::string:
// growing one first zeroes what is written over at once).
char* PipelineBuffer(size_t size) {
  constexpr size_t kMaxKept = 256 << 10;
  thread_local std::unique_ptr<char[]> buffer;
  thread_local size_t capacity = 0;
  // A rare huge pipeline (a long conversation's script) does not pin its memory to the thread.
  if (size > capacity || (capacity > kMaxKept && size <= kMaxKept)) {
    capacity = std::max<size_t>(size, 4096);
    buffer.reset(new char[capacity]);
  }
  return buffer.get();
}

// Writes `bytes` to the connection's socket directly (blocking, with the command timeout set on
// it): handed to hiredis they would first be copied into its output buffer, which is freed and
// allocated again after every write. On failure the context carries the error, as when hiredis
// writes, and errno is write(2)'s.
bool WriteAll(redisContext& context, absl::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t written = write(context.fd, bytes.data(), bytes.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      const int error_number = errno;
      context.err = REDIS_ERR_IO;
      char text[sizeof(context.errstr)];
      // GNU strerror_r returns the text, in `text` or a static string.
      const char* message = strerror_r(error_number, text, sizeof(text));
      std::snprintf(context.errstr, sizeof(context.errstr), "%s", message);
      errno = error_number;
      return false;
    }
    bytes.remove_prefix(static_cast<size_t>(written));
  }
  return true;
}

}  // namespace

namespace {

constexpr int kSentinelPort = 26379;

// host[:port] -> address; `url` only for the message.
absl::StatusOr<RedisNodeAddress> ParseHostPort(absl::string_view host_port, absl::string_view url,
                                               int default_port = 6379) {
  RedisNodeAddress address;
  address.host = "127.0.0.1";
  address.port = default_port;
  if (size_t colon = host_port.rfind(':'); colon != absl::string_view::npos) {
    if (!absl::SimpleAtoi(host_port.substr(colon + 1), &address.port) || address.port <= 0 ||
        address.port > 65535) {
      return absl::InvalidArgumentError(absl::StrCat("redis URL \"", url, "\" has a bad port"));
    }
    host_port = host_port.substr(0, colon);
  }
  if (!host_port.empty()) address.host = std::string(host_port);
  return address;
}

// "host[:port][,host[:port]...]/master-name[/db]", after the scheme and the credentials.
absl::StatusOr<RedisUrl> ParseSentinelUrl(absl::string_view rest, absl::string_view url,
                                          RedisUrl parsed) {
  const std::vector<absl::string_view> parts = absl::StrSplit(rest, '/');
  if (parts.size() < 2 || parts[1].empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("redis URL \"", url,
                     "\" names no primary: "
                     "redis+sentinel://[:password@]host:port[,host:port...]/master-name[/db]"));
  }
  if (parts.size() > 3) {
    return absl::InvalidArgumentError(absl::StrCat(
        "redis URL \"", url, "\" has more than /master-name/db after the Sentinels' addresses"));
  }
  parsed.master_name = std::string(parts[1]);
  if (absl::c_any_of(parsed.master_name,
                     [](char c) { return absl::ascii_isspace(static_cast<unsigned char>(c)); })) {
    return absl::InvalidArgumentError(
        absl::StrCat("redis URL \"", url, "\" has a space in its master name"));
  }
  if (parts.size() == 3 && !parts[2].empty() &&
      (!absl::SimpleAtoi(parts[2], &parsed.db) || parsed.db < 0)) {
    return absl::InvalidArgumentError(absl::StrCat("redis URL \"", url, "\" has a bad db number"));
  }
  for (absl::string_view node : absl::StrSplit(parts[0], ',', absl::SkipWhitespace())) {
    absl::StatusOr<RedisNodeAddress> address =
        ParseHostPort(absl::StripAsciiWhitespace(node), url, kSentinelPort);
    if (!address.ok()) return address.status();
    parsed.sentinels.push_back(*std::move(address));
  }
  if (parsed.sentinels.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("redis URL \"", url, "\" names no Sentinel"));
  }
  parsed.host = parsed.sentinels.front().host;
  parsed.port = parsed.sentinels.front().port;
  return parsed;
}

}  // namespace

absl::StatusOr<RedisUrl> ParseRedisUrl(absl::string_view url) {
  absl::string_view rest = url;
  const bool cluster = absl::ConsumePrefix(&rest, "redis+cluster://");
  const bool sentinel = !cluster && absl::ConsumePrefix(&rest, "redis+sentinel://");
  if (!cluster && !sentinel && !absl::ConsumePrefix(&rest, "redis://")) {
    return absl::InvalidArgumentError(
        absl::StrCat("redis URL \"", url,
                     "\" must start with redis:// (one server), redis+cluster:// (a Redis Cluster) "
                     "or redis+sentinel:// (a primary watched by Redis Sentinel)"));
  }
  RedisUrl parsed;
  if (size_t at = rest.rfind('@'); at != absl::string_view::npos) {
    absl::string_view credentials = rest.substr(0, at);
    rest = rest.substr(at + 1);
    // "user:password" or ":password"; Redis 6 users are not used by this suite.
    size_t colon = credentials.find(':');
    parsed.password =
        std::string(colon == absl::string_view::npos ? credentials : credentials.substr(colon + 1));
  }
  if (sentinel) return ParseSentinelUrl(rest, url, std::move(parsed));
  absl::string_view hosts = rest;
  if (size_t slash = rest.find('/'); slash != absl::string_view::npos) {
    hosts = rest.substr(0, slash);
    absl::string_view db = rest.substr(slash + 1);
    if (!db.empty() && (!absl::SimpleAtoi(db, &parsed.db) || parsed.db < 0)) {
      return absl::InvalidArgumentError(
          absl::StrCat("redis URL \"", url, "\" has a bad db number"));
    }
  }
  if (!cluster) {
    absl::StatusOr<RedisNodeAddress> address = ParseHostPort(hosts, url);
    if (!address.ok()) return address.status();
    parsed.host = address->host;
    parsed.port = address->port;
    return parsed;
  }
  if (parsed.db != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("redis URL \"", url, "\": a Redis Cluster has database 0 only"));
  }
  for (absl::string_view node : absl::StrSplit(hosts, ',', absl::SkipWhitespace())) {
    absl::StatusOr<RedisNodeAddress> address = ParseHostPort(absl::StripAsciiWhitespace(node), url);
    if (!address.ok()) return address.status();
    parsed.cluster_seeds.push_back(*std::move(address));
  }
  if (parsed.cluster_seeds.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("redis URL \"", url, "\" names no cluster node"));
  }
  parsed.host = parsed.cluster_seeds.front().host;
  parsed.port = parsed.cluster_seeds.front().port;
  return parsed;
}

// The connections to one server (the one server, or one cluster node).
class RedisPool::Node {
 public:
  Node(const Options& options, std::string host, int port)
      : options_(options),
        host_(std::move(host)),
        port_(port),
        breaker_(SharedCircuitBreaker(absl::StrCat("redis ", host_, ":", port_), "redis",
                                      options.breaker)) {}

  const std::string& host() const { return host_; }
  int port() const { return port_; }

  // Once, and once more on a fresh connection if the first was stale. `sent` tells whether the
  // commands may have reached the server (false: surely not run, safe to send elsewhere).
  absl::StatusOr<std::vector<RedisReply>> RunWithRetry(CommandRefs commands, bool* sent);
  // A new connection, authenticated, on the URL's database, and (behind Sentinel) checked to reach
  // the primary.
  absl::StatusOr<Connection> Connect();
  // Closes every idle connection (after one turned out to be stale, or the node stopped being the
  // primary).
  void DropIdleConnections() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  // `reused` tells whether the connection came from the idle list (and so may be stale).
  absl::StatusOr<Connection> Acquire(bool* reused);
  // `unreachable` tells whether it failed because Redis could not be reached (for the breaker).
  absl::StatusOr<std::vector<RedisReply>> RunPipeline(CommandRefs commands, bool* stale_connection,
                                                      bool* unreachable, bool* sent);
  void Release(Connection connection, bool healthy);

  const Options& options_;
  const std::string host_;
  const int port_;
  const std::shared_ptr<CircuitBreaker> breaker_;
  absl::Mutex mu_;
  std::vector<Connection> idle_ ABSL_GUARDED_BY(mu_);
  int open_ ABSL_GUARDED_BY(mu_) = 0;
};

RedisPool::RedisPool(Options options)
    : options_(std::move(options)),
      slot_node_(options_.url.cluster() ? kRedisClusterSlots : 0, -1) {
  if (options_.wait_replicas > 0) {
    wait_command_ = {"WAIT", absl::StrCat(options_.wait_replicas),
                     absl::StrCat(absl::ToInt64Milliseconds(options_.wait_timeout))};
  }
  // hiredis writes with write(2): a peer that closed the socket would raise SIGPIPE and kill the
  // process instead of returning EPIPE.
  static std::once_flag ignore_sigpipe;
  std::call_once(ignore_sigpipe, [] { std::signal(SIGPIPE, SIG_IGN); });
  absl::MutexLock lock(&map_mu_);
  // Behind Sentinel the primary's node is added once a Sentinel names it.
  if (options_.url.sentinel()) return;
  if (!options_.url.cluster()) {
    nodes_.push_back(std::make_unique<Node>(options_, options_.url.host, options_.url.port));
    single_node_ = nodes_.front().get();
    return;
  }
  for (const RedisNodeAddress& seed : options_.url.cluster_seeds) {
    nodes_.push_back(std::make_unique<Node>(options_, seed.host, seed.port));
  }
}

RedisPool::~RedisPool() = default;

absl::StatusOr<RedisPool::Connection> RedisPool::Node::Connect() {
  timeval connect_timeout = absl::ToTimeval(options_.connect_timeout);
  Connection connection(redisConnectWithTimeout(host_.c_str(), port_, connect_timeout));
  if (connection == nullptr) return absl::UnavailableError("redis connect: out of memory");
  if (connection->err) return ContextError(*connection, "connect");
  timeval command_timeout = absl::ToTimeval(options_.command_timeout);
  if (redisSetTimeout(connection.get(), command_timeout) != REDIS_OK) {
    return ContextError(*connection, "set timeout");
  }
  redisEnableKeepAlive(connection.get());
  if (!options_.url.password.empty()) {
    RedisReply reply(static_cast<redisReply*>(redisCommand(
        connection.get(), "AUTH %b", options_.url.password.data(), options_.url.password.size())));
    if (reply == nullptr) return ContextError(*connection, "auth");
    // Redis refusing this service's own settings is an outage of it for the caller, never a
    // PERMISSION_DENIED or INVALID_ARGUMENT of theirs (whose messages reach clients).
    if (reply->type == REDIS_REPLY_ERROR) {
      return absl::UnavailableError(absl::StrCat("redis auth: ", reply->str));
    }
  }
  if (options_.url.db != 0) {
    RedisReply reply(
        static_cast<redisReply*>(redisCommand(connection.get(), "SELECT %d", options_.url.db)));
    if (reply == nullptr) return ContextError(*connection, "select");
    if (reply->type == REDIS_REPLY_ERROR) {
      return absl::UnavailableError(absl::StrCat("redis select: ", reply->str));
    }
  }
  if (options_.url.sentinel()) {
    if (absl::Status primary = CheckIsPrimary(*connection, {host_, port_}); !primary.ok()) {
      return primary;
    }
  }
  return connection;
}

absl::StatusOr<RedisPool::Connection> RedisPool::Node::Acquire(bool* reused) {
  *reused = false;
  {
    absl::MutexLock lock(&mu_);
    auto can_proceed = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return !idle_.empty() || open_ < options_.max_connections;
    };
    // Checked first: waiting (even for a condition that holds) reads the clock for its deadline.
    if (!can_proceed() &&
        !mu_.AwaitWithTimeout(absl::Condition(&can_proceed), options_.lease_timeout)) {
      return absl::UnavailableError(kPoolExhausted);
    }
    if (!idle_.empty()) {
      Connection connection = std::move(idle_.back());
      idle_.pop_back();
      *reused = true;
      return connection;
    }
    ++open_;  // Reserve a slot; connect outside the lock.
  }
  absl::StatusOr<Connection> connection = Connect();
  if (!connection.ok()) {
    absl::MutexLock lock(&mu_);
    --open_;
  }
  return connection;
}

void RedisPool::Node::Release(Connection connection, bool healthy) {
  absl::MutexLock lock(&mu_);
  if (healthy && connection != nullptr && connection->err == 0) {
    idle_.push_back(std::move(connection));
  } else {
    --open_;
  }
}

absl::StatusOr<RedisReply> RedisPool::Command(const std::vector<std::string>& argv) {
  const absl::Time start = absl::Now();
  absl::StatusOr<RedisReply> result = [&]() -> absl::StatusOr<RedisReply> {
    const std::vector<std::string>* const one[] = {&argv};
    // Only a cluster routes by key (RoutingKey upper-cases the command's name to look it up).
    absl::StatusOr<std::vector<RedisReply>> replies =
        Route(one, cluster() ? RoutingKey(argv) : nullptr);
    if (!replies.ok()) return replies.status();
    RedisReply reply = std::move(replies->front());
    if (reply->type == REDIS_REPLY_ERROR) {
      return absl::InternalError(absl::StrCat("redis ", argv.empty() ? "" : argv[0], ": ",
                                              absl::string_view(reply->str, reply->len)));
    }
    return reply;
  }();
  RecordRedisCommand(CommandLabel(argv), absl::Now() - start,
                     result.ok() ? "" : absl::StatusCodeToString(result.status().code()));
  return result;
}

absl::StatusOr<std::vector<RedisReply>> RedisPool::Pipeline(
    const std::vector<std::vector<std::string>>& commands) {
  return PipelineRefs(RefsOf(commands));
}

absl::StatusOr<std::vector<RedisReply>> RedisPool::PipelineRefs(CommandRefs commands) {
  const absl::Time start = absl::Now();
  absl::StatusOr<std::vector<RedisReply>> replies = [&] {
    if (!cluster()) return Route(commands, nullptr);
    const bool transaction = !commands.empty() && !commands.front()->empty() &&
                             absl::EqualsIgnoreCase(commands.front()->front(), "MULTI");
    if (!transaction) return ScatterPipeline(commands);
    // A MULTI block runs where its (one) slot is; the cluster would refuse one across slots.
    const std::string* first_key = nullptr;
    int first_slot = 0;
    for (const std::vector<std::string>* command : commands) {
      const std::string* key = RoutingKey(*command);
      if (key == nullptr) continue;
      if (first_key == nullptr) {
        first_key = key;
        first_slot = RedisKeySlot(*key);
      } else if (RedisKeySlot(*key) != first_slot) {
        return absl::StatusOr<std::vector<RedisReply>>(absl::InternalError(
            absl::StrCat("redis: CROSSSLOT a MULTI block touches keys of two hash slots (",
                         *first_key, ", ", *key, ")")));
      }
    }
    return Route(commands, first_key);
  }();
  RecordRedisCommand(commands.empty() ? "NONE" : CommandLabel(*commands.front()),
                     absl::Now() - start,
                     replies.ok() ? "" : absl::StatusCodeToString(replies.status().code()));
  return replies;
}

namespace {

// The cluster's answer that asks to send the command again (elsewhere, or later), if any.
enum class ClusterRetry { kNone, kMoved, kAsk, kLater };
ClusterRetry RetryOf(const redisReply& reply, std::optional<RedisRedirect>* redirect) {
  if (reply.type != REDIS_REPLY_ERROR) return ClusterRetry::kNone;
  const absl::string_view error(reply.str, reply.len);
  if (std::optional<RedisRedirect> parsed = ParseRedisRedirect(error); parsed.has_value()) {
    *redirect = std::move(parsed);
    return (*redirect)->ask ? ClusterRetry::kAsk : ClusterRetry::kMoved;
  }
  if (absl::StartsWith(error, "TRYAGAIN") || absl::StartsWith(error, "CLUSTERDOWN")) {
    return ClusterRetry::kLater;
  }
  return ClusterRetry::kNone;
}

}  // namespace

absl::StatusOr<std::vector<RedisReply>> RedisPool::RunOnNode(Node& node, CommandRefs commands,
                                                             bool* sent) {
  bool writes = false;
  if (options_.wait_replicas > 0) {
    for (const std::vector<std::string>* command : commands) {
      if (!IsReadOnlyCommand(*command)) writes = true;
    }
  }
  if (!writes) return node.RunWithRetry(commands, sent);
  CommandList waited(commands.begin(), commands.end());
  waited.push_back(&wait_command_);
  absl::StatusOr<std::vector<RedisReply>> replies = node.RunWithRetry(waited, sent);
  if (!replies.ok()) return replies;
  RedisReply wait = std::move(replies->back());
  replies->pop_back();
  // A write refused or redirected was not made: nothing to wait for.
  for (const RedisReply& reply : *replies) {
    std::optional<RedisRedirect> ignored;
    if (RetryOf(*reply, &ignored) != ClusterRetry::kNone) return replies;
  }
  if (wait->type != REDIS_REPLY_INTEGER || wait->integer < options_.wait_replicas) {
    return absl::UnavailableError(absl::StrCat(
        "redis ", node.host(), ":", node.port(), ": the write reached ",
        wait->type == REDIS_REPLY_INTEGER ? wait->integer : 0, " of ", options_.wait_replicas,
        " replicas within ", absl::FormatDuration(options_.wait_timeout),
        "; it may be lost if that primary fails"));
  }
  return replies;
}

absl::StatusOr<std::vector<RedisReply>> RedisPool::Route(CommandRefs commands,
                                                         const std::string* key) {
  if (single_node_ != nullptr) {
    bool sent = false;
    return RunOnNode(*single_node_, commands, &sent);
  }
  const int slot = key != nullptr ? RedisKeySlot(*key) : 0;
  const absl::Time deadline = absl::Now() + options_.failover_wait;
  absl::Duration pause = absl::Milliseconds(20);
  std::optional<RedisRedirect> ask;
  int redirects = 0;  // MOVED/ASK followed: a bound on a map that keeps changing under us.
  while (true) {
    Node* node = ask.has_value() ? &NodeAt(ask->host, ask->port) : NodeForSlot(slot);
    if (node == nullptr) {
      // No slot map yet (or this slot is not served; or no primary known): read it, and try again.
      bool primary_named = true;
      absl::Status refreshed = sentinel() ? RefreshPrimary(&primary_named) : RefreshSlotMap();
      node = NodeForSlot(slot);
      if (node == nullptr) {
        // No Sentinel naming a primary (all down, or the name or password wrong) is no failover
        // under way: waiting will not help.
        if (absl::Now() >= deadline || !primary_named) {
          return refreshed.ok() ? absl::UnavailableError(
                                      absl::StrCat("redis cluster: no node serves slot ", slot))
                                : refreshed;
        }
        absl::SleepFor(pause);
        pause = std::min(pause * 2, absl::Milliseconds(500));
        continue;
      }
    }
    static const std::vector<std::string>& asking = *new std::vector<std::string>{"ASKING"};
    CommandList sending;
    if (ask.has_value()) sending.push_back(&asking);
    sending.insert(sending.end(), commands.begin(), commands.end());
    bool sent = false;
    absl::StatusOr<std::vector<RedisReply>> replies = RunOnNode(*node, sending, &sent);
    const bool asked = ask.has_value();
    ask.reset();
    if (!replies.ok()) {
      // Resend elsewhere only what surely did not run: a node that died (failover under way)
      // refuses connections; a reply lost in flight may belong to a write that was made.
      if (sent || absl::Now() >= deadline) return replies;
      (void)RefreshSlotMap();
      absl::SleepFor(pause);
      pause = std::min(pause * 2, absl::Milliseconds(500));
      continue;
    }
    if (asked) replies->erase(replies->begin());
    ClusterRetry retry = ClusterRetry::kNone;
    std::optional<RedisRedirect> redirect;
    for (const RedisReply& reply : *replies) {
      retry = RetryOf(*reply, &redirect);
      if (retry != ClusterRetry::kNone) break;
    }
    if (retry == ClusterRetry::kNone || absl::Now() >= deadline) return replies;
    if ((retry == ClusterRetry::kMoved || retry == ClusterRetry::kAsk) && ++redirects > 16) {
      return replies;
    }
    // A redirection for another slot than the one routed by: the commands span slots (a script
    // naming keys of two slots), which no resend fixes.
    if ((retry == ClusterRetry::kMoved || retry == ClusterRetry::kAsk) && key != nullptr &&
        redirect->slot != slot) {
      return replies;
    }
    switch (retry) {
      case ClusterRetry::kMoved: {
        Node& target = NodeAt(redirect->host, redirect->port);
        {
          absl::MutexLock lock(&map_mu_);
          for (size_t i = 0; i < nodes_.size(); ++i) {
            if (nodes_[i].get() == &target) slot_node_[redirect->slot] = static_cast<int>(i);
          }
        }
        // One slot moved: most likely more did (a failover, a resharding).
        (void)RefreshSlotMap();
        break;
      }
      case ClusterRetry::kAsk:
        ask = std::move(redirect);
        break;
      case ClusterRetry::kLater:
      case ClusterRetry::kNone:
        absl::SleepFor(pause);
        pause = std::min(pause * 2, absl::Milliseconds(500));
        (void)RefreshSlotMap();
        break;
    }
  }
}

absl::StatusOr<std::vector<RedisReply>> RedisPool::ScatterPipeline(CommandRefs commands) {
  // Group by the node serving each command's slot (keyless commands go with the first group);
  // each group is one pipeline, and a command redirected within it is sent again on its own.
  std::vector<RedisReply> replies(commands.size());
  std::vector<std::pair<Node*, std::vector<size_t>>> groups;
  for (size_t i = 0; i < commands.size(); ++i) {
    const std::string* key = RoutingKey(*commands[i]);
    Node* node = key != nullptr ? NodeForSlot(RedisKeySlot(*key)) : nullptr;
    if (node == nullptr && key != nullptr) {
      (void)RefreshSlotMap();
      node = NodeForSlot(RedisKeySlot(*key));
    }
    auto group = std::find_if(groups.begin(), groups.end(),
                              [&](const auto& g) { return key == nullptr || g.first == node; });
    if (group == groups.end()) {
      groups.push_back({node, {i}});
    } else {
      group->second.push_back(i);
    }
  }
  for (const auto& [node, indexes] : groups) {
    CommandList part;
    const std::string* key = nullptr;
    for (size_t i : indexes) {
      part.push_back(commands[i]);
      if (key == nullptr) key = RoutingKey(*commands[i]);
    }
    absl::StatusOr<std::vector<RedisReply>> answered = Route(part, key);
    if (!answered.ok()) return answered.status();
    for (size_t j = 0; j < indexes.size(); ++j) {
      std::optional<RedisRedirect> redirect;
      if (RetryOf(*(*answered)[j], &redirect) != ClusterRetry::kNone) {
        absl::StatusOr<std::vector<RedisReply>> alone =
            Route(commands.subspan(indexes[j], 1), RoutingKey(*commands[indexes[j]]));
        if (!alone.ok()) return alone.status();
        replies[indexes[j]] = std::move(alone->front());
      } else {
        replies[indexes[j]] = std::move((*answered)[j]);
      }
    }
  }
  return replies;
}

RedisPool::Node* RedisPool::NodeForSlot(int slot) {
  absl::MutexLock lock(&map_mu_);
  const int index = sentinel() ? primary_ : slot_node_[slot];
  return index < 0 ? nullptr : nodes_[index].get();
}

RedisPool::Node& RedisPool::NodeAt(const std::string& host, int port) {
  absl::MutexLock lock(&map_mu_);
  for (const std::unique_ptr<Node>& node : nodes_) {
    if (node->host() == host && node->port() == port) return *node;
  }
  nodes_.push_back(std::make_unique<Node>(options_, host, port));
  return *nodes_.back();
}

absl::Status RedisPool::RefreshSlotMap() {
  if (sentinel()) {
    bool named = false;
    return RefreshPrimary(&named);
  }
  if (!cluster()) return absl::OkStatus();
  absl::MutexLock refreshing(&refresh_mu_);
  std::vector<Node*> candidates;
  {
    absl::MutexLock lock(&map_mu_);
    // Another caller refreshed it just now (several commands saw the same MOVED).
    if (absl::Now() - last_refresh_ < absl::Milliseconds(50)) return absl::OkStatus();
    // Nodes that serve slots first, then the rest (seeds, nodes that failed over).
    absl::flat_hash_set<int> serving(slot_node_.begin(), slot_node_.end());
    for (size_t i = 0; i < nodes_.size(); ++i) {
      if (serving.contains(static_cast<int>(i))) candidates.push_back(nodes_[i].get());
    }
    for (size_t i = 0; i < nodes_.size(); ++i) {
      if (!serving.contains(static_cast<int>(i))) candidates.push_back(nodes_[i].get());
    }
  }
  absl::Status last_error = absl::UnavailableError("redis cluster: no node to ask for slots");
  for (Node* asked : candidates) {
    static const std::vector<std::string>& cluster_slots =
        *new std::vector<std::string>{"CLUSTER", "SLOTS"};
    const std::vector<std::string>* const ask_slots[] = {&cluster_slots};
    bool sent = false;
    absl::StatusOr<std::vector<RedisReply>> replies = asked->RunWithRetry(ask_slots, &sent);
    if (!replies.ok()) {
      last_error = replies.status();
      continue;
    }
    const redisReply& ranges = *replies->front();
    if (ranges.type != REDIS_REPLY_ARRAY || ranges.elements == 0) {
      last_error = absl::UnavailableError(
          absl::StrCat("redis cluster: ", asked->host(), ":", asked->port(),
                       " answered CLUSTER SLOTS with no slots: ", ReplyString(ranges)));
      continue;
    }
    // [[start, end, [ip, port, id...], replica...], ...]
    std::vector<std::tuple<int, int, std::string, int>> served;
    for (size_t r = 0; r < ranges.elements; ++r) {
      const redisReply& range = *ranges.element[r];
      if (range.type != REDIS_REPLY_ARRAY || range.elements < 3) continue;
      const redisReply& master = *range.element[2];
      if (master.type != REDIS_REPLY_ARRAY || master.elements < 2) continue;
      std::string host = ReplyString(*master.element[0]);
      // An empty or "?" address is the node's that answered (cluster-preferred-endpoint-type).
      if (host.empty() || host == "?") host = asked->host();
      served.emplace_back(static_cast<int>(range.element[0]->integer),
                          static_cast<int>(range.element[1]->integer), std::move(host),
                          static_cast<int>(master.element[1]->integer));
    }
    for (const auto& [first, last, host, port] : served) {
      Node& node = NodeAt(host, port);
      absl::MutexLock lock(&map_mu_);
      int index = 0;
      while (nodes_[index].get() != &node) ++index;
      for (int slot = std::max(first, 0); slot <= std::min(last, kRedisClusterSlots - 1); ++slot) {
        slot_node_[slot] = index;
      }
    }
    absl::MutexLock lock(&map_mu_);
    last_refresh_ = absl::Now();
    return absl::OkStatus();
  }
  return last_error;
}

absl::Status RedisPool::RefreshPrimary(bool* named_any) {
  *named_any = false;
  absl::MutexLock refreshing(&refresh_mu_);
  Node* previous = nullptr;
  {
    absl::MutexLock lock(&map_mu_);
    if (primary_ >= 0) previous = nodes_[primary_].get();
    // Another caller found it just now (several commands saw the same failure).
    if (previous != nullptr && absl::Now() - last_refresh_ < absl::Milliseconds(50)) {
      *named_any = true;
      return absl::OkStatus();
    }
  }
  std::vector<std::string> errors;
  for (const RedisNodeAddress& sentinel : options_.url.sentinels) {
    // A Sentinel known to be down (its breaker open) is skipped without a connection attempt.
    std::shared_ptr<CircuitBreaker> breaker =
        SharedCircuitBreaker(absl::StrCat("redis sentinel ", sentinel.host, ":", sentinel.port),
                             "redis", options_.breaker);
    if (absl::Status allowed = breaker->Allow(); !allowed.ok()) {
      errors.push_back(
          absl::StrCat("sentinel ", sentinel.host, ":", sentinel.port, ": ", allowed.message()));
      continue;
    }
    bool answered = false;
    absl::StatusOr<RedisNodeAddress> named =
        AskSentinelForPrimary(sentinel, options_.url.master_name, options_.url.password,
                              options_.connect_timeout, options_.command_timeout, &answered);
    if (answered) {
      breaker->RecordSuccess();
    } else {
      breaker->RecordFailure();
    }
    if (!named.ok()) {
      errors.push_back(std::string(named.status().message()));
      continue;
    }
    *named_any = true;
    Node& node = NodeAt(named->host, named->port);
    // A Sentinel cut off during a failover names the old primary, now a replica (or gone).
    if (absl::StatusOr<Connection> checked = node.Connect(); !checked.ok()) {
      errors.push_back(absl::StrCat("sentinel ", sentinel.host, ":", sentinel.port, " named ",
                                    named->host, ":", named->port, ": ",
                                    checked.status().message()));
      continue;
    }
    {
      absl::MutexLock lock(&map_mu_);
      for (size_t i = 0; i < nodes_.size(); ++i) {
        if (nodes_[i].get() == &node) primary_ = static_cast<int>(i);
      }
      last_refresh_ = absl::Now();
    }
    // The old primary's idle connections lead to a replica, or nowhere.
    if (previous != nullptr && previous != &node) previous->DropIdleConnections();
    return absl::OkStatus();
  }
  return absl::UnavailableError(absl::StrCat("redis sentinel: found no primary named \"",
                                             options_.url.master_name,
                                             "\": ", absl::StrJoin(errors, "; ")));
}

std::string RedisPool::NodeOf(const std::string& key) {
  if (sentinel()) {
    Node* primary = NodeForSlot(0);
    if (primary == nullptr) {
      (void)RefreshSlotMap();
      primary = NodeForSlot(0);
    }
    return primary == nullptr ? "" : absl::StrCat(primary->host(), ":", primary->port());
  }
  if (!cluster()) return absl::StrCat(options_.url.host, ":", options_.url.port);
  Node* node = NodeForSlot(RedisKeySlot(key));
  if (node == nullptr) {
    (void)RefreshSlotMap();
    node = NodeForSlot(RedisKeySlot(key));
  }
  return node == nullptr ? "" : absl::StrCat(node->host(), ":", node->port());
}

absl::StatusOr<RedisPool::Connection> RedisPool::OpenDedicatedConnection() {
  if (sentinel()) {
    // The primary named last, and if it fails (gone, or demoted), the one the Sentinels name now.
    absl::Status last_error = absl::UnavailableError("redis sentinel: no primary known");
    for (int attempt = 0; attempt < 2; ++attempt) {
      Node* primary = attempt == 0 ? NodeForSlot(0) : nullptr;
      if (primary == nullptr) {
        bool named = false;
        if (absl::Status refreshed = RefreshPrimary(&named); !refreshed.ok()) return refreshed;
        primary = NodeForSlot(0);
        if (primary == nullptr) break;
      }
      absl::StatusOr<Connection> connection = primary->Connect();
      if (connection.ok()) return connection;
      last_error = connection.status();
    }
    return last_error;
  }
  std::vector<Node*> candidates;
  {
    absl::MutexLock lock(&map_mu_);
    for (const std::unique_ptr<Node>& node : nodes_) candidates.push_back(node.get());
  }
  absl::Status last_error = absl::UnavailableError("redis: no node");
  for (Node* node : candidates) {
    absl::StatusOr<Connection> connection = node->Connect();
    if (connection.ok()) return connection;
    last_error = connection.status();
  }
  return last_error;
}

absl::StatusOr<std::vector<RedisReply>> RedisPool::Node::RunWithRetry(CommandRefs commands,
                                                                      bool* sent) {
  *sent = false;
  if (absl::Status allowed = breaker_->Allow(); !allowed.ok()) return allowed;
  bool stale_connection = false;
  bool unreachable = false;
  absl::StatusOr<std::vector<RedisReply>> replies =
      RunPipeline(commands, &stale_connection, &unreachable, sent);
  if (!replies.ok() && stale_connection) {
    // The server closed an idle connection (a restart, an idle timeout): the other idle ones are
    // as old and most likely dead too, so the retry must not pick one of them.
    DropIdleConnections();
    replies = RunPipeline(commands, &stale_connection, &unreachable, sent);
  }
  if (replies.ok()) {
    breaker_->RecordSuccess();
  } else if (unreachable) {
    breaker_->RecordFailure();
  }
  return replies;
}

void RedisPool::Node::DropIdleConnections() {
  std::vector<Connection> dropped;
  {
    absl::MutexLock lock(&mu_);
    open_ -= static_cast<int>(idle_.size());
    dropped.swap(idle_);
  }
  // Closed outside the lock.
}

absl::StatusOr<std::vector<RedisReply>> RedisPool::Node::RunPipeline(CommandRefs commands,
                                                                     bool* stale_connection,
                                                                     bool* unreachable,
                                                                     bool* sent) {
  bool reused = false;
  *stale_connection = false;
  *sent = false;
  // Every failure below is Redis not answering, except a pool with no free connection (busy, not
  // down) and a refused AUTH or SELECT (misconfigured, not down).
  *unreachable = true;
  absl::StatusOr<Connection> connection = Acquire(&reused);
  if (!connection.ok()) {
    *unreachable = absl::IsUnavailable(connection.status()) &&
                   !absl::StartsWith(connection.status().message(), kPoolExhausted);
    return connection.status();
  }
  redisContext* context = connection->get();
  // The whole pipeline in one buffer and one write(2); hiredis reads the replies. Its output
  // buffer is empty here: a connection goes back to the pool only after all its replies came.
  size_t size = 0;
  for (const std::vector<std::string>* argv : commands) size += RedisCommandSize(*argv);
  char* const bytes = PipelineBuffer(size);
  char* end = bytes;
  for (const std::vector<std::string>* argv : commands) end = WriteRedisCommand(*argv, end);
  if (!WriteAll(*context, absl::string_view(bytes, size))) {
    // As for a lost first reply below: a reused connection the server had closed.
    const int error_number = errno;
    *stale_connection = reused && (error_number == ECONNRESET || error_number == EPIPE);
    *sent = !*stale_connection;
    absl::Status error = ContextError(*context, "write");
    Release(*std::move(connection), false);
    return error;
  }
  std::vector<RedisReply> replies;
  replies.reserve(commands.size());
  for (size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(context, &raw) != REDIS_OK || raw == nullptr) {
      // A reused connection that fails before its first reply was most likely closed by the
      // server while idle; the caller may try once more on a fresh connection.
      const int error_number = errno;
      *stale_connection =
          reused && i == 0 &&
          (context->err == REDIS_ERR_EOF ||
           (context->err == REDIS_ERR_IO && (error_number == ECONNRESET || error_number == EPIPE)));
      // The commands may have run unless the connection was found closed before any reply.
      *sent = !*stale_connection;
      absl::Status error = ContextError(*context, "reply");
      Release(*std::move(connection), false);
      return error;
    }
    *sent = true;
    replies.emplace_back(static_cast<redisReply*>(raw));
  }
  // A failover turned the server this connection reaches into a replica (the address now leads
  // to the new primary, this connection still to the old one): nothing was written, so the
  // caller sends it again on a fresh connection.
  for (const RedisReply& reply : replies) {
    if (reply->type != REDIS_REPLY_ERROR ||
        !absl::StartsWith(absl::string_view(reply->str, reply->len), "READONLY")) {
      continue;
    }
    *stale_connection = true;
    *sent = false;
    *unreachable = false;
    absl::Status error = absl::UnavailableError(absl::StrCat(
        "redis ", host_, ":", port_, ": ", ReplyString(*reply), " (a failover made it a replica)"));
    Release(*std::move(connection), false);
    return error;
  }
  Release(*std::move(connection), true);
  return replies;
}

absl::Status RedisPool::Ping() {
  absl::StatusOr<RedisReply> reply = Command({"PING"});
  return reply.status();
}

absl::StatusOr<int64_t> TrimAndCountIndex(RedisPool& redis, const std::string& key,
                                          int64_t oldest_kept_ms) {
  absl::StatusOr<std::vector<RedisReply>> replies = redis.Pipeline(
      {{"ZREMRANGEBYSCORE", key, "-inf", absl::StrCat("(", oldest_kept_ms)}, {"ZCARD", key}});
  if (!replies.ok()) return replies.status();
  const redisReply& count = *replies->back();
  if (count.type != REDIS_REPLY_INTEGER) {
    return absl::InternalError(absl::StrCat("redis ZCARD ", key, ": ", ReplyString(count)));
  }
  return static_cast<int64_t>(count.integer);
}

bool IsNil(const redisReply& reply) { return reply.type == REDIS_REPLY_NIL; }

std::string ReplyString(const redisReply& reply) {
  if (reply.type == REDIS_REPLY_STRING || reply.type == REDIS_REPLY_STATUS ||
      reply.type == REDIS_REPLY_ERROR) {
    return std::string(reply.str, reply.len);
  }
  if (reply.type == REDIS_REPLY_INTEGER) return absl::StrCat(reply.integer);
  return "";
}

}  // namespace livecall
