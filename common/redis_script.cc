#include "common/redis_script.h"

#include <openssl/sha.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace livecall {
namespace {

bool IsNoScript(const redisReply& reply) {
  return reply.type == REDIS_REPLY_ERROR && reply.len >= 8 &&
         absl::string_view(reply.str, 8) == "NOSCRIPT";
}

absl::Status ErrorReply(const redisReply& reply) {
  return absl::InternalError(absl::StrCat("redis: ", ReplyString(reply)));
}

}  // namespace

RedisScript::RedisScript(std::string source) : source_(std::move(source)) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(source_.data()), source_.size(), digest);
  sha1_ = absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

std::vector<std::string> RedisScript::Command(const char* verb, const std::string& body,
                                              const std::vector<std::string>& keys,
                                              const std::vector<std::string>& args) const {
  std::vector<std::string> argv;
  argv.reserve(3 + keys.size() + args.size());
  argv.push_back(verb);
  argv.push_back(body);
  argv.push_back(absl::StrCat(keys.size()));
  argv.insert(argv.end(), keys.begin(), keys.end());
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

absl::StatusOr<RedisReply> RedisScript::Run(RedisPool& redis, const std::vector<std::string>& keys,
                                            const std::vector<std::string>& args) const {
  return RunAfter(redis, {}, keys, args);
}

absl::StatusOr<RedisReply> RedisScript::RunAfter(RedisPool& redis, const RedisCommands& before,
                                                 const std::vector<std::string>& keys,
                                                 const std::vector<std::string>& args) const {
  RedisCommands commands = before;
  if (redis.cluster() && !before.empty()) {
    // In a cluster the commands of one pipeline go to several nodes, in no set order across
    // them: what must come first is sent first.
    absl::StatusOr<std::vector<RedisReply>> done = redis.Pipeline(before);
    if (!done.ok()) return done.status();
    if (absl::Status status = CheckReplies(*done); !status.ok()) return status;
    commands.clear();
  }
  commands.push_back(Command("EVALSHA", sha1_, keys, args));
  absl::StatusOr<std::vector<RedisReply>> replies = redis.Pipeline(commands);
  if (!replies.ok()) return replies.status();
  for (size_t i = 0; i + 1 < replies->size(); ++i) {
    if ((*replies)[i]->type == REDIS_REPLY_ERROR) return ErrorReply(*(*replies)[i]);
  }
  RedisReply reply = std::move(replies->back());
  if (IsNoScript(*reply)) {
    // First use on this server (or it restarted, or a failover promoted a replica): EVAL sends
    // the source once and caches it there.
    absl::StatusOr<std::vector<RedisReply>> evaluated =
        redis.Pipeline({Command("EVAL", source_, keys, args)});
    if (!evaluated.ok()) return evaluated.status();
    reply = std::move(evaluated->front());
  }
  if (reply->type == REDIS_REPLY_ERROR) return ErrorReply(*reply);
  return reply;
}

absl::Status CheckExec(const std::vector<RedisReply>& replies) {
  const redisReply& exec = *replies.back();
  if (exec.type != REDIS_REPLY_ARRAY) {
    // EXECABORT: say why (the command refused while queueing).
    for (const RedisReply& reply : replies) {
      if (reply.get() != &exec && reply->type == REDIS_REPLY_ERROR) {
        return absl::InternalError(
            absl::StrCat("redis EXEC failed: ", ReplyString(exec), " (", ReplyString(*reply), ")"));
      }
    }
    return absl::InternalError(absl::StrCat("redis EXEC failed: ", ReplyString(exec)));
  }
  for (size_t i = 0; i < exec.elements; ++i) {
    if (exec.element[i]->type == REDIS_REPLY_ERROR) return ErrorReply(*exec.element[i]);
  }
  return absl::OkStatus();
}

absl::Status CheckReplies(const std::vector<RedisReply>& replies) {
  for (const RedisReply& reply : replies) {
    if (reply->type == REDIS_REPLY_ERROR) return ErrorReply(*reply);
  }
  return absl::OkStatus();
}

absl::Status RunTransaction(RedisPool& redis, RedisCommands commands) {
  if (commands.empty()) return absl::OkStatus();
  commands.insert(commands.begin(), {"MULTI"});
  commands.push_back({"EXEC"});
  absl::StatusOr<std::vector<RedisReply>> replies = redis.Pipeline(commands);
  if (!replies.ok()) return replies.status();
  return CheckExec(*replies);
}

}  // namespace livecall
