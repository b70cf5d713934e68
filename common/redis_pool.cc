#include "common/redis_pool.h"

#include <sys/time.h>

#include <cerrno>
#include <csignal>
#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/metrics.h"

namespace livecall {
namespace {

constexpr absl::string_view kPoolExhausted = "redis: no free connection in the pool";

absl::Status ContextError(const redisContext& context, absl::string_view what) {
  return absl::UnavailableError(absl::StrCat("redis ", what, ": ", context.errstr));
}

// The metrics label of a command or pipeline: its first command's name, upper-case. The names are
// written in the code, so the label's values are a small fixed set.
std::string CommandLabel(const std::vector<std::vector<std::string>>& commands) {
  if (commands.empty() || commands.front().empty()) return "NONE";
  return absl::AsciiStrToUpper(commands.front().front());
}

}  // namespace

absl::StatusOr<RedisUrl> ParseRedisUrl(absl::string_view url) {
  absl::string_view rest = url;
  if (!absl::ConsumePrefix(&rest, "redis://")) {
    return absl::InvalidArgumentError(
        absl::StrCat("redis URL \"", url, "\" must start with redis://"));
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
  absl::string_view host_port = rest;
  if (size_t slash = rest.find('/'); slash != absl::string_view::npos) {
    host_port = rest.substr(0, slash);
    absl::string_view db = rest.substr(slash + 1);
    if (!db.empty() && (!absl::SimpleAtoi(db, &parsed.db) || parsed.db < 0)) {
      return absl::InvalidArgumentError(
          absl::StrCat("redis URL \"", url, "\" has a bad db number"));
    }
  }
  if (size_t colon = host_port.rfind(':'); colon != absl::string_view::npos) {
    if (!absl::SimpleAtoi(host_port.substr(colon + 1), &parsed.port) || parsed.port <= 0 ||
        parsed.port > 65535) {
      return absl::InvalidArgumentError(absl::StrCat("redis URL \"", url, "\" has a bad port"));
    }
    host_port = host_port.substr(0, colon);
  }
  if (!host_port.empty()) parsed.host = std::string(host_port);
  return parsed;
}

RedisPool::RedisPool(Options options)
    : options_(std::move(options)),
      breaker_(
          SharedCircuitBreaker(absl::StrCat("redis ", options_.url.host, ":", options_.url.port),
                               "redis", options_.breaker)) {
  // hiredis writes with write(2): a peer that closed the socket would raise SIGPIPE and kill the
  // process instead of returning EPIPE.
  static std::once_flag ignore_sigpipe;
  std::call_once(ignore_sigpipe, [] { std::signal(SIGPIPE, SIG_IGN); });
}

RedisPool::~RedisPool() = default;

absl::StatusOr<RedisPool::Connection> RedisPool::Connect() {
  timeval connect_timeout = absl::ToTimeval(options_.connect_timeout);
  Connection connection(
      redisConnectWithTimeout(options_.url.host.c_str(), options_.url.port, connect_timeout));
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
  return connection;
}

absl::StatusOr<RedisPool::Connection> RedisPool::Acquire(bool* reused) {
  *reused = false;
  {
    absl::MutexLock lock(&mu_);
    auto can_proceed = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return !idle_.empty() || open_ < options_.max_connections;
    };
    if (!mu_.AwaitWithTimeout(absl::Condition(&can_proceed), options_.lease_timeout)) {
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

void RedisPool::Release(Connection connection, bool healthy) {
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
    absl::StatusOr<std::vector<RedisReply>> replies = RunWithRetry({argv});
    if (!replies.ok()) return replies.status();
    RedisReply reply = std::move(replies->front());
    if (reply->type == REDIS_REPLY_ERROR) {
      return absl::InternalError(absl::StrCat("redis ", argv.empty() ? "" : argv[0], ": ",
                                              absl::string_view(reply->str, reply->len)));
    }
    return reply;
  }();
  RecordRedisCommand(CommandLabel({argv}), absl::Now() - start,
                     result.ok() ? "" : absl::StatusCodeToString(result.status().code()));
  return result;
}

absl::StatusOr<std::vector<RedisReply>> RedisPool::Pipeline(
    const std::vector<std::vector<std::string>>& commands) {
  const absl::Time start = absl::Now();
  absl::StatusOr<std::vector<RedisReply>> replies = RunWithRetry(commands);
  RecordRedisCommand(CommandLabel(commands), absl::Now() - start,
                     replies.ok() ? "" : absl::StatusCodeToString(replies.status().code()));
  return replies;
}

absl::StatusOr<std::vector<RedisReply>> RedisPool::RunWithRetry(
    const std::vector<std::vector<std::string>>& commands) {
  if (absl::Status allowed = breaker_->Allow(); !allowed.ok()) return allowed;
  bool stale_connection = false;
  bool unreachable = false;
  absl::StatusOr<std::vector<RedisReply>> replies =
      RunPipeline(commands, &stale_connection, &unreachable);
  if (!replies.ok() && stale_connection) {
    // The server closed an idle connection (a restart, an idle timeout): the other idle ones are
    // as old and most likely dead too, so the retry must not pick one of them.
    DropIdleConnections();
    replies = RunPipeline(commands, &stale_connection, &unreachable);
  }
  if (replies.ok()) {
    breaker_->RecordSuccess();
  } else if (unreachable) {
    breaker_->RecordFailure();
  }
  return replies;
}

void RedisPool::DropIdleConnections() {
  std::vector<Connection> dropped;
  {
    absl::MutexLock lock(&mu_);
    open_ -= static_cast<int>(idle_.size());
    dropped.swap(idle_);
  }
  // Closed outside the lock.
}

absl::StatusOr<std::vector<RedisReply>> RedisPool::RunPipeline(
    const std::vector<std::vector<std::string>>& commands, bool* stale_connection,
    bool* unreachable) {
  bool reused = false;
  *stale_connection = false;
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
  for (const std::vector<std::string>& argv : commands) {
    std::vector<const char*> args;
    std::vector<size_t> lengths;
    args.reserve(argv.size());
    lengths.reserve(argv.size());
    for (const std::string& arg : argv) {
      args.push_back(arg.data());
      lengths.push_back(arg.size());
    }
    if (redisAppendCommandArgv(context, static_cast<int>(args.size()), args.data(),
                               lengths.data()) != REDIS_OK) {
      *stale_connection = reused;
      absl::Status error = ContextError(*context, "append");
      Release(*std::move(connection), false);
      return error;
    }
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
      absl::Status error = ContextError(*context, "reply");
      Release(*std::move(connection), false);
      return error;
    }
    replies.emplace_back(static_cast<redisReply*>(raw));
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
  absl::StatusOr<std::vector<RedisReply>> replies =
      redis.Pipeline({{"ZREMRANGEBYSCORE", key, "-inf", absl::StrCat("(", oldest_kept_ms)},
                      {"ZCARD", key}});
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
