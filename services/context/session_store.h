#ifndef LIVECALL_SERVICES_CONTEXT_SESSION_STORE_H_
#define LIVECALL_SERVICES_CONTEXT_SESSION_STORE_H_

// Conversation state in Redis. Key layout (every key has the session TTL, refreshed on write;
// the braces are Redis Cluster hash tags, so one session's keys live on one shard):
//   livecall:session:{<id>}               HASH    proto: serialized Session without conversation
//                                                         and suggestions
//                                                 status: "active" | "ended"
//                                                 version: bumped by every header rewrite
//   livecall:session:{<id>}:turns         LIST    serialized livecall.v1.Turn, oldest first
//   livecall:session:{<id>}:suggestions   STRING  serialized livecall.v1.SuggestionList (latest)
//   livecall:phone:<e164>:sessions        ZSET    session ids scored by creation time (unix ms)
// Appending a turn is one Lua script (check active, RPUSH, replace suggestions, refresh TTLs), so
// two replicas appending to the same session interleave whole turns, never half-writes. Ending
// rewrites the header with an optimistic version check, retried on conflict.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/redis_pool.h"
#include "livecall/v1/context.pb.h"

namespace livecall::context {

std::string SessionKey(const std::string& session_id);
std::string TurnsKey(const std::string& session_id);
std::string SuggestionsKey(const std::string& session_id);
std::string PhoneSessionsKey(const std::string& e164);

class SessionStore {
 public:
  SessionStore(RedisPool& redis, absl::Duration ttl) : redis_(redis), ttl_(ttl) {}

  // Stores a new session (its conversation and suggestions included); assigns session_id
  // ("ses_" + 32 hex), status "active" and the times.
  absl::StatusOr<livecall::v1::Session> Create(livecall::v1::Session session, absl::Time now);

  // The whole session, conversation included. NOT_FOUND when there is none (or it expired).
  absl::StatusOr<livecall::v1::Session> Get(const std::string& session_id);

  // Appends `turn` and replaces the suggestions; returns the number of turns.
  // NOT_FOUND / FAILED_PRECONDITION (ended).
  absl::StatusOr<int> AppendTurn(const std::string& session_id, const livecall::v1::Turn& turn,
                                 const std::vector<livecall::v1::Suggestion>& suggestions);

  // Marks the session ended with its summary and disposition.
  absl::StatusOr<livecall::v1::Session> End(const std::string& session_id,
                                            const livecall::v1::Summary& summary,
                                            const std::string& disposition, absl::Time now);

  // The customer's sessions, newest first.
  absl::StatusOr<std::vector<livecall::v1::Session>> ListByPhone(const std::string& e164,
                                                                 int limit);

 private:
  absl::StatusOr<livecall::v1::Session> ParseSession(const std::string& session_id,
                                                     const redisReply& header,
                                                     const redisReply& turns,
                                                     const redisReply& suggestions);

  RedisPool& redis_;
  const absl::Duration ttl_;
};

}  // namespace livecall::context

#endif  // LIVECALL_SERVICES_CONTEXT_SESSION_STORE_H_
