#ifndef LIVECALL_SERVICES_CALL_CONTROL_CALLS_CALL_STORE_H_
#define LIVECALL_SERVICES_CALL_CONTROL_CALLS_CALL_STORE_H_

// Calls in Redis. Key layout. The braces are Redis Cluster hash tags: every key of one call shares
// the call's slot, so each script below touches one slot; the indexes across calls are each in a
// slot of their own (and the AI session beside a call is made for the call's slot too:
// services/context/session_store.h).
//   livecall:call:{<sid>}             STRING serialized livecall.v1.Call, TTL (LIVECALL_CALL_TTL_S)
//   livecall:call:{<sid>}:events      STREAM live events (common/live_events.h): every write of the
//                                            call adds a "call.status" event in the same script
//   livecall:call:{<sid>}:alias       STRING the call's own sid for its other leg <sid> (the
//                                            agent's browser leg, a ringing agent), TTL as the call
//   livecall:call:{<sid>}:legs        SET    agent legs rung for an inbound call, TTL as the call
//   livecall:call:{<sid>}:leg-agents  HASH   agent leg -> the Twilio identity it rings, TTL as the
//                                            call; written with the legs (AddAgentLeg)
//   livecall:call:{<sid>}:voice-seen  STRING a browser's CallSid /twilio/voice has answered, TTL as
//                                            the call: a replay after the dedup window dials
//                                            nobody (a customer's call is marked by its own key)
//   livecall:call:{<sid>}:voice-answer STRING the TwiML /twilio/voice answered a customer's call
//                                            (CreateAnsweredCall), kept for the dedup window
//   livecall:call:{<sid>}:seq         HASH   event kind -> highest SequenceNumber applied (hold...)
//   livecall:call:{<sid>}:session-end STRING "1": the call has ended and its AI session must still
//                                            be ended; set in the same script as the write that
//                                            ends the call (Put, Update), deleted when ai-session
//                                            confirms (FinishSessionEnd). TTL as the call.
//   livecall:idem:{<scope>:<key>}     STRING "" while the first request runs, then its call sid
// Indexes (one slot each). An addition is written before the call's script and a removal after
// it, so an index may name a call that is not (yet, or any more) live or due -- its readers check
// the call -- but never misses one that is:
//   livecall:{sandbox}:due            ZSET   call sids scored by when the sandbox's next step is
//   due
//                                            (unix ms); no TTL: a member leaves when its call ends.
//                                            A replica claims a due step by pushing its score a
//                                            lease into the future, so a replica that dies
//                                            mid-step leaves the step to be retried, never lost.
//   livecall:{sessions:to-end}:due    ZSET   sids of ended calls whose AI session must still be
//                                            ended, scored by when to try next (unix ms); added
//                                            before the write that sets the call's session-end
//                                            marker; an entry whose call has no marker is put off
//                                            (that write is under way or failed), not taken:
//                                            ClaimSessionEnd. Removed when ai-session confirms.
//   livecall:{sessions:to-end}:tries  HASH   sid -> attempts so far, for the backoff
//   livecall:agents:available         ZSET   Twilio identities scored by their token's expiry (ms)
//   livecall:{calls}:live             ZSET   sids of the calls that have not ended, scored by
//                                            creation (unix ms); added before each write of a live
//                                            call, removed after the write that ends it. No TTL:
//                                            entries of ended or expired calls are swept by
//                                            ListLive.
// So the durable promise stands on one slot: the write that ends a call sets its session-end
// marker atomically with the terminal state, and the schedule that finds it was written first.
// Concurrent writers of one call (status callbacks, conference events, API actions, replicas)
// use Update(): an optimistic compare-and-set on the serialized call, retried on conflict.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/redis_pool.h"
#include "common/redis_script.h"
#include "livecall/v1/call_control.pb.h"

namespace livecall::call_control {

std::string CallKey(const std::string& call_sid);
inline constexpr char kSandboxDueKey[] = "livecall:{sandbox}:due";
inline constexpr char kLiveCallsKey[] = "livecall:{calls}:live";
inline constexpr char kSessionsToEndKey[] = "livecall:{sessions:to-end}:due";

class CallStore {
 public:
  CallStore(RedisPool& redis, absl::Duration ttl) : redis_(redis), ttl_(ttl) {}

  // Writes the call and schedules the sandbox's next step at `next_step_at`, or unschedules it.
  // An ended call with an AI session is put on the session-ending schedule in the same write.
  absl::Status Put(const livecall::v1::Call& call, std::optional<absl::Time> next_step_at);
  // Writes a new call, makes each of `aliases` name it (first), and runs `also` in one MULTI block
  // after the call is written (e.g. the outbound slot's OutboundCallLimit::CommitWrites, which
  // must only ever name a call that has its record).
  absl::Status Create(const livecall::v1::Call& call, const std::vector<std::string>& aliases,
                      const RedisCommands& also);

  // NOT_FOUND when there is no such call.
  absl::StatusOr<livecall::v1::Call> Get(const std::string& call_sid);

  // Sids whose sandbox step is due at or before `now`, at most `limit`.
  absl::StatusOr<std::vector<std::string>> DueSteps(absl::Time now, int limit);

  // Puts `call_sid` on the sandbox's schedule at `at` (after an Update; a step that finds the call
  // ended just takes it off again).
  absl::Status Schedule(const std::string& call_sid, absl::Time at);
  // Takes `call_sid` off the sandbox's schedule.
  absl::Status Unschedule(const std::string& call_sid);

  // Claims a due step for `lease`: true when this caller got it (its score was still due), so
  // exactly one replica takes each step.
  absl::StatusOr<bool> ClaimStep(const std::string& call_sid, absl::Time now, absl::Duration lease);

  // Read-modify-write of one call: `mutate` edits the call and returns true to write it (false:
  // nothing to change). Re-run on a fresh copy when another writer got in between. Answers the
  // call as stored afterwards. NOT_FOUND when there is no such call.
  using Mutation = std::function<absl::StatusOr<bool>(livecall::v1::Call& call)>;
  absl::StatusOr<livecall::v1::Call> Update(const std::string& call_sid, const Mutation& mutate);

  // Makes `alias` (another leg's sid) name the call `call_sid`.
  absl::Status PutAlias(const std::string& alias, const std::string& call_sid);
  // The call's own sid for `sid`: itself unless it is an alias.
  absl::StatusOr<std::string> Resolve(const std::string& sid);
  // Get(Resolve(sid)).
  absl::StatusOr<livecall::v1::Call> GetByAnyLeg(const std::string& sid);

  // Records `leg_sid`, rung for `identity` (a Twilio client identity), as an agent leg of the call
  // and as its alias, in one script.
  absl::Status AddAgentLeg(const std::string& call_sid, const std::string& leg_sid,
                           const std::string& identity);
  absl::StatusOr<std::vector<std::string>> AgentLegs(const std::string& call_sid);
  // Whether one of the call's agent legs rang `identity`.
  absl::StatusOr<bool> WasAgentRung(const std::string& call_sid, const std::string& identity);

  // Remembers that /twilio/voice answered `call_sid`: true when it is new, false when it was
  // answered before (its marker, or a call or alias under that sid, exists).
  absl::StatusOr<bool> MarkVoiceCallNew(const std::string& call_sid);
  // Forgets the marker again (the first answer failed; Twilio's retry may try afresh).
  absl::Status ForgetVoiceCall(const std::string& call_sid);

  // /twilio/voice for a customer calling our number, in one round trip: one script on the call's
  // slot (AnswerVoiceCall). It answers a delivery of a CallSid it has answered before with that
  // answer, writes nothing for a sid known otherwise (a call or a leg: past the dedup window, a
  // replay), and otherwise reads the agents to ring and writes the new call, its call.status
  // event and the answer it chose (`ring` when there are agents, else `busy`), kept for
  // `answer_ttl`; on one server the live floor's entry too. In a Redis Cluster the agents and the
  // live floor are in slots of their own: the agents are read first (a second round trip) and the
  // live floor's entry goes first in the script's pipeline, as Put's.
  struct VoiceAnswers {
    std::string ring;
    std::string busy;
  };
  struct VoiceCallWrite {
    bool written = false;
    // The answer written, or a delivery's answer written before (not written); nullopt when a
    // call or leg is under the sid (a replay).
    std::optional<std::string> answer;
    // Written: the agents to ring (AvailableAgents, at most `max_agents`; none: `busy`).
    std::vector<std::string> agents;
  };
  absl::StatusOr<VoiceCallWrite> AnswerVoiceCall(const livecall::v1::Call& call,
                                                 const VoiceAnswers& answers,
                                                 absl::Duration answer_ttl, absl::Time now,
                                                 int max_agents);
  // AnswerVoiceCall with one answer and nobody to ring.
  absl::StatusOr<VoiceCallWrite> CreateAnsweredCall(const livecall::v1::Call& call,
                                                    const std::string& twiml,
                                                    absl::Duration answer_ttl);
  // What Redis knows of a CallSid and who may be rung, read in one pipeline (no longer on the
  // webhook's path; tests and tools).
  struct VoiceCallState {
    // The TwiML a delivery of this CallSid was answered with, within the dedup window.
    std::optional<std::string> answer;
    // A call, a leg or an earlier answer exists under this sid: past the window, a replay.
    bool known = false;
    // Agents that hold a valid Voice token (AvailableAgents), at most `max_agents`.
    std::vector<std::string> agents;
  };
  absl::StatusOr<VoiceCallState> LookupVoiceCall(const std::string& call_sid, absl::Time now,
                                                 int max_agents);

  // The session-ending schedule. Sids due at or before `now`, at most `limit`.
  absl::StatusOr<std::vector<std::string>> DueSessionEnds(absl::Time now, int limit);
  // Claims a due entry: its next try is pushed `retry` * 2^(tries so far) (at most `max_retry`)
  // into the future, so one replica tries at a time and a failure backs off. The attempt number
  // (1, 2, ...) when claimed, 0 when it was not due (another replica has it, or it is done).
  absl::StatusOr<int> ClaimSessionEnd(const std::string& call_sid, absl::Time now,
                                      absl::Duration retry, absl::Duration max_retry);
  // ai-session has ended the session (or there is nothing left to end): off the schedule.
  absl::Status FinishSessionEnd(const std::string& call_sid);

  // True when `sequence` is higher than every one recorded for (call, kind), and records it; so
  // of two events of one kind (hold/unhold) the later one in Twilio's order wins.
  absl::StatusOr<bool> AdvanceSequence(const std::string& call_sid, const std::string& kind,
                                       int64_t sequence);

  // Idempotency keys. Reserve: true when this caller is the first with the key (it then must
  // Complete or Release it). Lookup: the call sid a completed key answered, "" while the first
  // request still runs, nullopt when the key is unknown.
  absl::StatusOr<bool> ReserveIdempotencyKey(const std::string& scoped_key, absl::Duration ttl);
  absl::StatusOr<std::optional<std::string>> LookupIdempotencyKey(const std::string& scoped_key);
  absl::Status CompleteIdempotencyKey(const std::string& scoped_key, const std::string& call_sid,
                                      absl::Duration ttl);
  absl::Status ReleaseIdempotencyKey(const std::string& scoped_key);

  // The calls that have not ended, newest first, at most `limit` (the supervisors' live floor).
  // Index entries of calls that ended or expired meanwhile are removed on the way.
  absl::StatusOr<std::vector<livecall::v1::Call>> ListLive(int limit);

  // How many calls have not ended (the livecall_active_calls gauge): two O(log n) commands, where
  // counting call keys would SCAN the whole keyspace. Entries created longer ago than the call
  // TTL (their calls expired without ending) are dropped on the way.
  absl::StatusOr<int64_t> CountLive(absl::Time now);

  // Agents that hold a valid Voice token, so an inbound call can ring them, latest expiry first.
  // Expired entries are dropped when a token is marked (so reading stays a read).
  absl::Status MarkAgentAvailable(const std::string& identity, absl::Time until);
  absl::StatusOr<std::vector<std::string>> AvailableAgents(absl::Time now, int limit);

 private:
  // Members of the sorted set `schedule` scored at or before `now`, at most `limit`.
  absl::StatusOr<std::vector<std::string>> DueMembers(const char* schedule, absl::Time now,
                                                      int limit);
  // The index writes around a write of `call`: additions before it, removals after it.
  struct IndexWrites {
    RedisCommands before;
    RedisCommands after;
  };
  IndexWrites IndexWritesOf(const livecall::v1::Call& call, bool end_session) const;
  // Get, and the record's bytes as stored (Update's compare-and-set compares them).
  absl::StatusOr<livecall::v1::Call> GetStored(const std::string& call_sid, std::string* stored);
  // The call's script (state, live event, session-ending marker when `end_session`) after
  // `indexes.before`, then `indexes.after`.
  absl::Status WriteCall(const livecall::v1::Call& call, const IndexWrites& indexes,
                         bool end_session);

  RedisPool& redis_;
  const absl::Duration ttl_;
};

}  // namespace livecall::call_control

#endif  // LIVECALL_SERVICES_CALL_CONTROL_CALLS_CALL_STORE_H_
