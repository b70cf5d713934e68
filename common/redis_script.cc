#include "common/redis_script.h"

#include <openssl/sha.h>

#include <charconv>

#include "absl/container/inlined_vector.h"
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

// A script's command line, built per thread into strings kept from its last script: copying the
// keys and arguments in then costs their bytes, not an allocation each.
class ScratchCommand {
 public:
  ScratchCommand() : argv_(Lease()) {}
  ~ScratchCommand() {
    // A huge script call (a long conversation's turns) does not pin its memory to the thread.
    size_t held = argv_.capacity() * sizeof(std::string);
    for (const std::string& arg : argv_) held += arg.capacity();
    if (held <= kMaxKept) Free() = std::move(argv_);
  }
  ScratchCommand(const ScratchCommand&) = delete;
  ScratchCommand& operator=(const ScratchCommand&) = delete;

  std::vector<std::string>& operator*() { return argv_; }

 private:
  static constexpr size_t kMaxKept = 64 << 10;

  // The thread's kept command line, if it is not in use (a script run inside another's: never
  // today, but then the inner one simply starts empty).
  static std::vector<std::string>& Free() {
    thread_local std::vector<std::string> free;
    return free;
  }
  static std::vector<std::string> Lease() { return std::move(Free()); }

  std::vector<std::string> argv_;
};

}  // namespace

RedisScript::RedisScript(std::string source) : source_(std::move(source)) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(source_.data()), source_.size(), digest);
  sha1_ = absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

void RedisScript::FillCommand(const char* verb, const std::string& body,
                              const std::vector<std::string>& keys,
                              const std::vector<std::string>& args,
                              std::vector<std::string>* argv) {
  argv->resize(3 + keys.size() + args.size());
  auto out = argv->begin();
  (out++)->assign(verb);
  (out++)->assign(body);
  char count[24];
  (out++)->assign(count, std::to_chars(count, count + sizeof(count), keys.size()).ptr);
  for (const std::string& key : keys) (out++)->assign(key);
  for (const std::string& arg : args) (out++)->assign(arg);
}

absl::StatusOr<RedisReply> RedisScript::Run(RedisPool& redis, const std::vector<std::string>& keys,
                                            const std::vector<std::string>& args) const {
  return RunAfter(redis, {}, keys, args);
}

absl::StatusOr<RedisReply> RedisScript::RunAfter(RedisPool& redis, const RedisCommands& before,
                                                 const std::vector<std::string>& keys,
                                                 const std::vector<std::string>& args) const {
  absl::InlinedVector<const std::vector<std::string>*, 8> commands;
  if (redis.cluster() && !before.empty()) {
    // In a cluster the commands of one pipeline go to several nodes, in no set order across
    // them: what must come first is sent first.
    absl::StatusOr<std::vector<RedisReply>> done = redis.Pipeline(before);
    if (!done.ok()) return done.status();
    if (absl::Status status = CheckReplies(*done); !status.ok()) return status;
  } else {
    for (const std::vector<std::string>& command : before) commands.push_back(&command);
  }
  ScratchCommand evalsha;
  FillCommand("EVALSHA", sha1_, keys, args, &*evalsha);
  commands.push_back(&*evalsha);
  absl::StatusOr<std::vector<RedisReply>> replies = redis.PipelineRefs(commands);
  if (!replies.ok()) return replies.status();
  for (size_t i = 0; i + 1 < replies->size(); ++i) {
    if ((*replies)[i]->type == REDIS_REPLY_ERROR) return ErrorReply(*(*replies)[i]);
  }
  RedisReply reply = std::move(replies->back());
  if (IsNoScript(*reply)) {
    // First use on this server (or it restarted, or a failover promoted a replica): EVAL sends
    // the source once and caches it there.
    FillCommand("EVAL", source_, keys, args, &*evalsha);
    const std::vector<std::string>* const eval[] = {&*evalsha};
    absl::StatusOr<std::vector<RedisReply>> evaluated = redis.PipelineRefs(eval);
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
