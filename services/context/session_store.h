#ifndef LIVECALL_SERVICES_CONTEXT_SESSION_STORE_H_
#define LIVECALL_SERVICES_CONTEXT_SESSION_STORE_H_

// Conversation state in Redis. Key layout (every key has a TTL, refreshed on write):
//   livecall:session:{session_id}        STRING  serialized livecall.v1.Session
//   livecall:phone:{e164}:sessions       ZSET    session ids scored by creation time (unix ms)
// The session and its phone index are written in one MULTI/EXEC block, so a reader on another
// replica never sees one without the other.

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/redis_pool.h"
#include "livecall/v1/context.pb.h"

namespace livecall::context {

std::string SessionKey(const std::string& session_id);
std::string PhoneSessionsKey(const std::string& e164);

class SessionStore {
 public:
  SessionStore(RedisPool& redis, absl::Duration ttl) : redis_(redis), ttl_(ttl) {}

  // Stores a new session; assigns session_id ("ses_" + 32 hex), status "active" and the times.
  absl::StatusOr<livecall::v1::Session> Create(livecall::v1::Session session, absl::Time now);

  // NOT_FOUND when there is no such session (or it expired).
  absl::StatusOr<livecall::v1::Session> Get(const std::string& session_id);

 private:
  RedisPool& redis_;
  const absl::Duration ttl_;
};

}  // namespace livecall::context

#endif  // LIVECALL_SERVICES_CONTEXT_SESSION_STORE_H_
