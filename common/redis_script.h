#ifndef LIVECALL_COMMON_REDIS_SCRIPT_H_
#define LIVECALL_COMMON_REDIS_SCRIPT_H_

// One logical write = one Lua script or one MULTI block, on one hash slot (so it runs on a Redis
// Cluster too). Scripts travel as their SHA1 (EVALSHA); a server (or cluster node) that does not
// have one yet answers NOSCRIPT and gets the source once with EVAL, which also caches it there.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/redis_pool.h"

namespace livecall {

using RedisCommands = std::vector<std::vector<std::string>>;

class RedisScript {
 public:
  explicit RedisScript(std::string source);

  const std::string& source() const { return source_; }
  const std::string& sha1() const { return sha1_; }  // Lowercase hex, as SCRIPT LOAD answers.

  // Runs the script: EVALSHA, and EVAL when the server lacks it. An error reply is INTERNAL.
  absl::StatusOr<RedisReply> Run(RedisPool& redis, const std::vector<std::string>& keys,
                                 const std::vector<std::string>& args) const;
  // Sends `before` (single-key commands that must precede the script, e.g. index entries that
  // may only ever name more than exists) and the script in one pipeline, and answers the
  // script's reply. An error reply of any of them is INTERNAL.
  absl::StatusOr<RedisReply> RunAfter(RedisPool& redis, const RedisCommands& before,
                                      const std::vector<std::string>& keys,
                                      const std::vector<std::string>& args) const;

 private:
  // `argv` = verb, body, the number of keys, the keys, the arguments (reusing its strings).
  static void FillCommand(const char* verb, const std::string& body,
                          const std::vector<std::string>& keys,
                          const std::vector<std::string>& args, std::vector<std::string>* argv);

  std::string source_;
  std::string sha1_;
};

// Runs `commands` in one MULTI/EXEC block (they must share a hash slot); an error reply of any of
// them is the answer.
absl::Status RunTransaction(RedisPool& redis, RedisCommands commands);
// The replies of a MULTI ... EXEC pipeline: OK unless EXEC failed or a command in it did.
absl::Status CheckExec(const std::vector<RedisReply>& replies);
// The replies of a plain pipeline: OK unless one of them is an error reply.
absl::Status CheckReplies(const std::vector<RedisReply>& replies);

}  // namespace livecall

#endif  // LIVECALL_COMMON_REDIS_SCRIPT_H_
