#ifndef LIVECALL_SERVICES_CONTEXT_SESSION_STORE_H_
#define LIVECALL_SERVICES_CONTEXT_SESSION_STORE_H_

// Conversation state in Redis. Key layout (every key has the session TTL, refreshed on write; a
// turn refreshes the header's, the turns' and the session stream's only once they have run down by
// TtlRefreshWindow).
// The braces are Redis Cluster hash tags: all of one session's keys, and those of the call it runs
// beside, share one hash slot, so each script below touches one slot. <tag> is the tag of the slot
// the session id was made for (common/live_events.h: SessionKeyPrefix; its call's slot, or a random
// one for a session without a call):
//   livecall:session:{<tag>}:<id>              HASH    proto: serialized Session without
//                                                        conversation and suggestions
//                                                      status: "active" | "ended"
//                                                      call_sid: the call it runs beside, or ""
//                                                      version: bumped by every write to
//                                                        the session (create sets 1; append,
//                                                        assign, end and a refused outbox
//                                                        entry add 1): equal versions, equal
//                                                        sessions
//                                                      outbox_id: the CRM outbox entry of its end
//                                                      suggestions: serialized SuggestionList
//                                                        (latest)
//   livecall:session:{<tag>}:<id>:turns        LIST    serialized livecall.v1.Turn, oldest first
//   livecall:session:{<tag>}:<id>:suggestions  STRING  the previous version's place for the
//                                                      suggestions: read while it exists (newer
//                                                      than the field), moved into the field and
//                                                      deleted by the next turn; never written
//   livecall:session:{<tag>}:<id>:events       STREAM  live events (common/live_events.h)
//   livecall:call:{<sid>}:events               STREAM  the same events for the session's call
//   livecall:call:{<sid>}:session              STRING  the id of the session beside call <sid>:
//                                                      one session per call (set with the session,
//                                                      TTL of the session at its start)
// Indexes, each in a slot of its own, written before the session (added) or after it (removed),
// so they may name sessions that are not stored or not active -- readers skip or trim those --
// but never miss one that is:
//   livecall:phone:{<e164>}:sessions           ZSET    session ids scored by creation (unix ms)
//   livecall:sessions:active                   ZSET    sessions not ended, scored by creation;
//                                                      no TTL: CountActive drops entries past TTL
//   livecall:{outbox}                          STREAM  finished conversations for the CRM (no
//                                                      TTL; never trimmed; see outbox.h)
// Appending a turn is one Lua script (check active, RPUSH, replace suggestions, publish the
// events, refresh TTLs), so two replicas appending to the same session interleave whole turns,
// never half-writes. Ending is one Lua script too, guarded by the version read with the snapshot
// it summarises: it writes the header and publishes the summary together, or not at all (and
// retries on a conflicting write). The CRM record is added to the outbox just before that script
// and becomes the session's when the script records its entry id (outbox_id) -- in the same step
// as the end. The deliverer sends an entry only once the session's slot confirms it
// (ConfirmOutboxEntry), and drops entries no end names: an end is never without its record, and
// a record never without its end.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/bounded_cache.h"
#include "common/redis_pool.h"
#include "common/redis_script.h"
#include "livecall/v1/context.pb.h"

namespace livecall::context {

std::string SessionKey(const std::string& session_id);
std::string TurnsKey(const std::string& session_id);
// The key that holds the session's latest suggestions: the header (its `suggestions` field).
std::string SuggestionsKey(const std::string& session_id);
// Where the previous version kept them (a STRING of their own), read until it is gone.
std::string LegacySuggestionsKey(const std::string& session_id);
std::string PhoneSessionsKey(const std::string& e164);
std::string CallSessionKey(const std::string& call_sid);
inline constexpr char kOutboxKey[] = "livecall:{outbox}";
// ZSET of the sessions that have not ended, scored by creation (unix ms).
inline constexpr char kActiveSessionsKey[] = "livecall:sessions:active";

// Whether the outbox entry `entry_id` is the record of `session_id`'s end, decided on the
// session's slot (see the layout above): true to deliver it, false to drop it unsent (no end
// names it, and from now on none will).
absl::StatusOr<bool> ConfirmOutboxEntry(RedisPool& redis, const std::string& session_id,
                                        const std::string& entry_id);

// How far the TTL of a session's keys may run down before a turn refreshes it
// (kAppendTurnScript): a tenth of the TTL, at most kMaxTtlRefreshWindow. Most turns then write no
// EXPIRE, and a session's keys expire at most this much sooner than when every turn refreshed them.
inline constexpr absl::Duration kMaxTtlRefreshWindow = absl::Seconds(60);
absl::Duration TtlRefreshWindow(absl::Duration ttl);

class SessionStore {
 public:
  // Sessions whose call this process remembers: ~150 bytes each (2.5 MB at most), more than
  // the sessions live at once on one replica.
  static constexpr size_t kCallSidCacheCapacity = 16384;

  SessionStore(RedisPool& redis, absl::Duration ttl) : redis_(redis), ttl_(ttl) {}

  // Every method given a `version` (may be null) sets it to the session's version (the header's
  // `version` above) as answered: a reader that holds a copy at version v knows the stored one is
  // the same while the version is still v.

  // Stores a new session (its conversation and suggestions included); assigns session_id
  // ("ses_" + 32 hex), status "active" and the times. A session for a call (call_sid set) that
  // has one already is not created: the call's session is answered as stored (so concurrent and
  // repeated starts for one call share one session; the caller compares owners).
  absl::StatusOr<livecall::v1::Session> Create(livecall::v1::Session session, absl::Time now,
                                               int64_t* version = nullptr);

  // The whole session, conversation included. NOT_FOUND when there is none (or it expired).
  absl::StatusOr<livecall::v1::Session> Get(const std::string& session_id,
                                            int64_t* version = nullptr);

  // Appends `turn` and replaces the suggestions; returns the number of turns. With
  // `expected_version` (not 0) nothing is written unless the session is at that version: ABORTED
  // otherwise (checked after existence, before the status). NOT_FOUND / FAILED_PRECONDITION
  // (ended). `version`: the version the append made.
  absl::StatusOr<int> AppendTurn(
      const std::string& session_id, const livecall::v1::Turn& turn,
      const google::protobuf::RepeatedPtrField<livecall::v1::Suggestion>& suggestions,
      int64_t expected_version = 0, int64_t* version = nullptr);

  // Marks the session ended with its summary and disposition, and enqueues the finished
  // conversation (with `call`, when given) in the CRM outbox.
  absl::StatusOr<livecall::v1::Session> End(const std::string& session_id,
                                            const livecall::v1::Summary& summary,
                                            const std::string& disposition,
                                            const livecall::v1::Call* call, absl::Time now);

  // Makes `agent_id` the session's owner (Session.agent_id) when it has none; a no-op when it is
  // already that agent's; FAILED_PRECONDITION when another agent owns it. NOT_FOUND when gone.
  // Answers the whole session as stored afterwards.
  absl::StatusOr<livecall::v1::Session> Assign(const std::string& session_id,
                                               const std::string& agent_id, absl::Time now,
                                               int64_t* version = nullptr);

  // How many sessions have not ended (the livecall_active_sessions gauge), from an index written
  // with each session (Create adds, End removes), not a SCAN of the keyspace. Entries created
  // longer ago than the session TTL (expired without ending) are dropped on the way.
  absl::StatusOr<int64_t> CountActive(absl::Time now);

  // The customer's sessions, newest first.
  absl::StatusOr<std::vector<livecall::v1::Session>> ListByPhone(const std::string& e164,
                                                                 int limit);

 private:
  // The session with its version, read in one MULTI block.
  struct Snapshot {
    livecall::v1::Session session;
    std::string version;
  };
  absl::StatusOr<Snapshot> Read(const std::string& session_id);
  // The call a session runs beside ("" for none): it is set when the session is created and never
  // changes, so it is asked of Redis only the first time this process meets the session.
  // NOT_FOUND when there is no such session.
  absl::StatusOr<std::string> CallSidOf(const std::string& session_id);

  RedisPool& redis_;
  const absl::Duration ttl_;
  // Session id -> call sid, for the sessions this process created or read lately.
  BoundedCache<std::string> call_sids_{kCallSidCacheCapacity};
  // Session id -> hash of the suggestions this process stored last for it (Create, AppendTurn):
  // a turn whose suggestions hash the same builds no suggestions event unless the script finds
  // the stored ones differ (another replica wrote since, or the hashes collided).
  BoundedCache<size_t> suggestion_digests_{kCallSidCacheCapacity};
};

}  // namespace livecall::context

#endif  // LIVECALL_SERVICES_CONTEXT_SESSION_STORE_H_
