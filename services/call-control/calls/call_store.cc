#include "services/call-control/calls/call_store.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/enum_json.h"
#include "common/ids.h"
#include "common/live_events.h"
#include "common/proto_time.h"
#include "common/status.h"
#include "livecall/v1/context.pb.h"
#include "services/call-control/calls/call_state_machine.h"

namespace livecall::call_control {
namespace {

// The call.status live event for `call` (common/live_events.h), as JSON without empty fields.
std::string CallStatusEventJson(const livecall::v1::Call& call) {
  livecall::v1::LiveEvent event;
  event.set_type("call.status");
  event.set_call_sid(call.call_sid());
  *event.mutable_at() = ToProtoTimestamp(absl::Now());
  *event.mutable_call() = call;
  // Serialising our own well-formed message cannot fail.
  return PrintJson(event).value_or("");
}

// A call as stored, and a record the previous version stored (status and mode as strings:
// replaces_string_field in call_control.proto). False when the bytes are not a Call.
bool ParseStoredCall(const char* data, size_t size, livecall::v1::Call* call) {
  if (!call->ParseFromArray(data, static_cast<int>(size))) return false;
  ReadLegacyEnumStrings(call);
  return true;
}

// A call's score in the live floor's index: when it was created (unix ms).
std::string LiveScore(const livecall::v1::Call& call) {
  return absl::StrCat(absl::ToUnixMillis(FromProtoTimestamp(call.created_at())));
}

}  // namespace

std::string CallKey(const std::string& call_sid) { return CallKeyPrefix(call_sid); }

namespace {

std::string AliasKey(const std::string& sid) { return absl::StrCat(CallKeyPrefix(sid), ":alias"); }
std::string SessionEndKey(const std::string& sid) {
  return absl::StrCat(CallKeyPrefix(sid), ":session-end");
}

// KEYS: the call, its live events, its session-ending marker. ARGV: the call's bytes, ttl (s),
// call.status event JSON, events kept, "1" when its AI session must now be ended.
// The state, its live event and the session-ending marker are written together: a watcher never
// misses a change, and an ended call's session is never forgotten.
constexpr char kPutScript[] = R"lua(
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*', 'type', 'call.status', 'data', ARGV[3])
  redis.call('EXPIRE', KEYS[2], ARGV[2])
  redis.call('PUBLISH', ')lua" LIVECALL_LIVE_EVENTS_CHANNEL R"lua(', KEYS[2])
  if ARGV[5] == '1' then redis.call('SET', KEYS[3], '1', 'EX', ARGV[2]) end
  return 1)lua";

}  // namespace

CallStore::IndexWrites CallStore::IndexWritesOf(const livecall::v1::Call& call,
                                                bool end_session) const {
  IndexWrites writes;
  // Additions before the call's write, removals after it: the indexes may name calls that are not
  // (yet, or any more) live -- readers check the call -- but never miss one that is.
  if (IsTerminalCallStatus(call.status())) {
    writes.after.push_back({"ZREM", kLiveCallsKey, call.call_sid()});
  } else {
    writes.before.push_back({"ZADD", kLiveCallsKey, LiveScore(call), call.call_sid()});
  }
  // The session-ending job: on the schedule before the call's write sets its marker, so every
  // marker is on the schedule; ClaimSessionEnd skips entries without one.
  if (end_session) {
    writes.before.push_back({"ZADD", kSessionsToEndKey, "NX",
                             absl::StrCat(absl::ToUnixMillis(absl::Now())), call.call_sid()});
  }
  return writes;
}

absl::Status CallStore::WriteCall(const livecall::v1::Call& call, const IndexWrites& indexes,
                                  bool end_session) {
  static const RedisScript& script = *new RedisScript(kPutScript);
  absl::StatusOr<RedisReply> written = script.RunAfter(
      redis_, indexes.before,
      {CallKey(call.call_sid()), CallEventsKey(call.call_sid()), SessionEndKey(call.call_sid())},
      {SerializeWithLegacyEnumStrings(call), absl::StrCat(absl::ToInt64Seconds(ttl_)),
       CallStatusEventJson(call), absl::StrCat(kLiveEventsKept), end_session ? "1" : "0"});
  if (!written.ok()) return written.status();
  if (indexes.after.empty()) return absl::OkStatus();
  absl::StatusOr<std::vector<RedisReply>> removed = redis_.Pipeline(indexes.after);
  if (!removed.ok()) return removed.status();
  return CheckReplies(*removed);
}

absl::Status CallStore::Put(const livecall::v1::Call& call,
                            std::optional<absl::Time> next_step_at) {
  const bool end_session = IsTerminalCallStatus(call.status()) && !call.session_id().empty();
  IndexWrites indexes = IndexWritesOf(call, end_session);
  if (next_step_at.has_value()) {
    indexes.before.push_back(
        {"ZADD", kSandboxDueKey, absl::StrCat(absl::ToUnixMillis(*next_step_at)), call.call_sid()});
  } else {
    indexes.after.push_back({"ZREM", kSandboxDueKey, call.call_sid()});
  }
  return WriteCall(call, indexes, end_session);
}

absl::Status CallStore::Create(const livecall::v1::Call& call,
                               const std::vector<std::string>& aliases, const RedisCommands& also) {
  const bool end_session = IsTerminalCallStatus(call.status()) && !call.session_id().empty();
  IndexWrites indexes = IndexWritesOf(call, end_session);
  // An alias (its own slot) before the call: one naming a call not yet written reads as no call.
  for (const std::string& alias : aliases) {
    indexes.before.push_back(
        {"SET", AliasKey(alias), call.call_sid(), "EX", absl::StrCat(absl::ToInt64Seconds(ttl_))});
  }
  LIVECALL_RETURN_IF_ERROR(WriteCall(call, indexes, end_session));
  // `also` after the record (e.g. the outbound slot becoming the call's: a slot named by a sid
  // always has its record).
  return RunTransaction(redis_, also);
}

absl::StatusOr<livecall::v1::Call> CallStore::Get(const std::string& call_sid) {
  std::string unused;
  return GetStored(call_sid, &unused);
}

absl::StatusOr<livecall::v1::Call> CallStore::GetStored(const std::string& call_sid,
                                                        std::string* stored) {
  if (!IsCallSidShaped(call_sid)) {
    return absl::NotFoundError(absl::StrCat("no call \"", call_sid, "\""));
  }
  absl::StatusOr<RedisReply> reply = redis_.Command({"GET", CallKey(call_sid)});
  if (!reply.ok()) return reply.status();
  if (IsNil(**reply)) return absl::NotFoundError(absl::StrCat("no call \"", call_sid, "\""));
  livecall::v1::Call call;
  if (!ParseStoredCall((*reply)->str, (*reply)->len, &call)) {
    return absl::DataLossError(absl::StrCat("call \"", call_sid, "\" is corrupt in redis"));
  }
  stored->assign((*reply)->str, (*reply)->len);
  return call;
}

absl::StatusOr<std::vector<std::string>> CallStore::DueMembers(const char* schedule, absl::Time now,
                                                               int limit) {
  absl::StatusOr<RedisReply> reply =
      redis_.Command({"ZRANGEBYSCORE", schedule, "-inf", absl::StrCat(absl::ToUnixMillis(now)),
                      "LIMIT", "0", absl::StrCat(limit)});
  if (!reply.ok()) return reply.status();
  std::vector<std::string> sids;
  for (size_t i = 0; i < (*reply)->elements; ++i) {
    sids.push_back(ReplyString(*(*reply)->element[i]));
  }
  return sids;
}

absl::StatusOr<std::vector<std::string>> CallStore::DueSteps(absl::Time now, int limit) {
  return DueMembers(kSandboxDueKey, now, limit);
}

absl::Status CallStore::Schedule(const std::string& call_sid, absl::Time at) {
  return redis_.Command({"ZADD", kSandboxDueKey, absl::StrCat(absl::ToUnixMillis(at)), call_sid})
      .status();
}

absl::Status CallStore::Unschedule(const std::string& call_sid) {
  return redis_.Command({"ZREM", kSandboxDueKey, call_sid}).status();
}

absl::StatusOr<bool> CallStore::ClaimStep(const std::string& call_sid, absl::Time now,
                                          absl::Duration lease) {
  // Check-and-set in one script: a plain ZADD would let two replicas both see the step as due.
  static constexpr char kClaimScript[] = R"lua(
    local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
    if score and tonumber(score) <= tonumber(ARGV[2]) then
      redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
      return 1
    end
    return 0)lua";
  static const RedisScript& script = *new RedisScript(kClaimScript);
  absl::StatusOr<RedisReply> reply = script.Run(redis_, {kSandboxDueKey},
                                                {call_sid, absl::StrCat(absl::ToUnixMillis(now)),
                                                 absl::StrCat(absl::ToUnixMillis(now + lease))});
  if (!reply.ok()) return reply.status();
  return (*reply)->integer == 1;
}

namespace {

std::string LegsKey(const std::string& sid) { return absl::StrCat(CallKeyPrefix(sid), ":legs"); }
std::string LegAgentsKey(const std::string& sid) {
  return absl::StrCat(CallKeyPrefix(sid), ":leg-agents");
}
std::string VoiceSeenKey(const std::string& sid) {
  return absl::StrCat(CallKeyPrefix(sid), ":voice-seen");
}
std::string VoiceAnswerKey(const std::string& sid) {
  return absl::StrCat(CallKeyPrefix(sid), ":voice-answer");
}
constexpr char kSessionEndTriesKey[] = "livecall:{sessions:to-end}:tries";
std::string SequenceKey(const std::string& sid) { return absl::StrCat(CallKeyPrefix(sid), ":seq"); }
std::string IdempotencyKey(const std::string& scoped) {
  return absl::StrCat("livecall:idem:{", scoped, "}");
}
constexpr char kAvailableAgentsKey[] = "livecall:agents:available";

}  // namespace

absl::StatusOr<livecall::v1::Call> CallStore::Update(const std::string& call_sid,
                                                     const Mutation& mutate) {
  // Compare-and-set in one script: the write happens only if the stored bytes are still the ones
  // this caller read, so no concurrent update is lost.
  // KEYS: call, its live events, its session-ending marker. ARGV: old bytes, new bytes, ttl,
  // call.status event JSON, events kept, "1" when its AI session must now be ended.
  static const RedisScript& script = *new RedisScript(R"lua(
    local current = redis.call('GET', KEYS[1])
    if not current then return -1 end
    if current ~= ARGV[1] then return 0 end
    redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
    redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '*', 'type', 'call.status', 'data', ARGV[4])
    redis.call('EXPIRE', KEYS[2], ARGV[3])
    redis.call('PUBLISH', ')lua" LIVECALL_LIVE_EVENTS_CHANNEL R"lua(', KEYS[2])
    if ARGV[6] == '1' then redis.call('SET', KEYS[3], '1', 'EX', ARGV[3]) end
    return 1)lua");
  constexpr int kMaxAttempts = 20;
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    std::string before;
    absl::StatusOr<livecall::v1::Call> call = GetStored(call_sid, &before);
    if (!call.ok()) return call.status();
    // The session is to be ended once: when the call ends, or when a session is recorded on a
    // call that has ended already (it started while the call was ending).
    const bool had_session_to_end =
        IsTerminalCallStatus(call->status()) && !call->session_id().empty();
    absl::StatusOr<bool> changed = mutate(*call);
    if (!changed.ok()) return changed.status();
    if (!*changed) return call;
    const bool end_session =
        !had_session_to_end && IsTerminalCallStatus(call->status()) && !call->session_id().empty();
    const IndexWrites indexes = IndexWritesOf(*call, end_session);
    absl::StatusOr<RedisReply> reply = script.RunAfter(
        redis_, indexes.before,
        {CallKey(call_sid), CallEventsKey(call_sid), SessionEndKey(call_sid)},
        {before, SerializeWithLegacyEnumStrings(*call), absl::StrCat(absl::ToInt64Seconds(ttl_)),
         CallStatusEventJson(*call), absl::StrCat(kLiveEventsKept), end_session ? "1" : "0"});
    if (!reply.ok()) return reply.status();
    if ((*reply)->type != REDIS_REPLY_INTEGER) {
      return absl::InternalError(absl::StrCat("redis: ", ReplyString(**reply)));
    }
    if ((*reply)->integer == 1) {
      if (!indexes.after.empty()) {
        absl::StatusOr<std::vector<RedisReply>> removed = redis_.Pipeline(indexes.after);
        if (!removed.ok()) return removed.status();
        LIVECALL_RETURN_IF_ERROR(CheckReplies(*removed));
      }
      return call;
    }
    if ((*reply)->integer == -1) {
      return absl::NotFoundError(absl::StrCat("no call \"", call_sid, "\""));
    }
  }
  return absl::AbortedError(absl::StrCat("call ", call_sid, " is being changed too often; retry"));
}

absl::Status CallStore::PutAlias(const std::string& alias, const std::string& call_sid) {
  return redis_
      .Command({"SET", AliasKey(alias), call_sid, "EX", absl::StrCat(absl::ToInt64Seconds(ttl_))})
      .status();
}

absl::StatusOr<std::string> CallStore::Resolve(const std::string& sid) {
  if (!IsCallSidShaped(sid)) return absl::NotFoundError(absl::StrCat("no call \"", sid, "\""));
  absl::StatusOr<RedisReply> reply = redis_.Command({"GET", AliasKey(sid)});
  if (!reply.ok()) return reply.status();
  if (IsNil(**reply)) return sid;
  return ReplyString(**reply);
}

absl::StatusOr<livecall::v1::Call> CallStore::GetByAnyLeg(const std::string& sid) {
  absl::StatusOr<std::string> own = Resolve(sid);
  if (!own.ok()) return own.status();
  return Get(*own);
}

absl::Status CallStore::AddAgentLeg(const std::string& call_sid, const std::string& leg_sid,
                                    const std::string& identity) {
  // One script for the call's side: a leg is never without the identity it rings (which lets that
  // agent read the call before its join is reported). The leg's alias is in the leg's own slot:
  // written first, it names the call before the call lists the leg, never after.
  // KEYS: legs, leg agents. ARGV: leg, identity, ttl (s).
  static const RedisScript& script = *new RedisScript(R"lua(
    redis.call('SADD', KEYS[1], ARGV[1])
    redis.call('EXPIRE', KEYS[1], ARGV[3])
    redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
    redis.call('EXPIRE', KEYS[2], ARGV[3])
    return 1)lua");
  const std::string ttl = absl::StrCat(absl::ToInt64Seconds(ttl_));
  return script
      .RunAfter(redis_, {{"SET", AliasKey(leg_sid), call_sid, "EX", ttl}},
                {LegsKey(call_sid), LegAgentsKey(call_sid)}, {leg_sid, identity, ttl})
      .status();
}

absl::StatusOr<std::vector<std::string>> CallStore::AgentLegs(const std::string& call_sid) {
  absl::StatusOr<RedisReply> reply = redis_.Command({"SMEMBERS", LegsKey(call_sid)});
  if (!reply.ok()) return reply.status();
  std::vector<std::string> legs;
  for (size_t i = 0; i < (*reply)->elements; ++i) {
    legs.push_back(ReplyString(*(*reply)->element[i]));
  }
  return legs;
}

absl::StatusOr<bool> CallStore::WasAgentRung(const std::string& call_sid,
                                             const std::string& identity) {
  absl::StatusOr<RedisReply> reply = redis_.Command({"HVALS", LegAgentsKey(call_sid)});
  if (!reply.ok()) return reply.status();
  for (size_t i = 0; i < (*reply)->elements; ++i) {
    if (ReplyString(*(*reply)->element[i]) == identity) return true;
  }
  return false;
}

absl::StatusOr<bool> CallStore::MarkVoiceCallNew(const std::string& call_sid) {
  // KEYS: the call, an alias of that sid, its marker. ARGV: ttl (s). 1 when new.
  static const RedisScript& script = *new RedisScript(R"lua(
    if redis.call('EXISTS', KEYS[1], KEYS[2]) > 0 then return 0 end
    if redis.call('SET', KEYS[3], '1', 'NX', 'EX', ARGV[1]) then return 1 end
    return 0)lua");
  absl::StatusOr<RedisReply> reply =
      script.Run(redis_, {CallKey(call_sid), AliasKey(call_sid), VoiceSeenKey(call_sid)},
                 {absl::StrCat(absl::ToInt64Seconds(ttl_))});
  if (!reply.ok()) return reply.status();
  if ((*reply)->type != REDIS_REPLY_INTEGER) {
    return absl::InternalError(absl::StrCat("redis: ", ReplyString(**reply)));
  }
  return (*reply)->integer == 1;
}

absl::Status CallStore::ForgetVoiceCall(const std::string& call_sid) {
  return redis_.Command({"DEL", VoiceSeenKey(call_sid)}).status();
}

absl::StatusOr<std::vector<std::string>> CallStore::DueSessionEnds(absl::Time now, int limit) {
  return DueMembers(kSessionsToEndKey, now, limit);
}

absl::StatusOr<int> CallStore::ClaimSessionEnd(const std::string& call_sid, absl::Time now,
                                               absl::Duration retry, absl::Duration max_retry) {
  // The schedule is in a slot of its own, written before the call's marker (IndexWritesOf): an
  // entry whose call has no marker is a job not yet (or never) due -- the write that ends the
  // call is under way or failed -- so it is put off, never taken off, until the call has its
  // marker or has expired.
  absl::StatusOr<std::vector<RedisReply>> call_state =
      redis_.Pipeline({{"EXISTS", SessionEndKey(call_sid)}, {"EXISTS", CallKey(call_sid)}});
  if (!call_state.ok()) return call_state.status();
  LIVECALL_RETURN_IF_ERROR(CheckReplies(*call_state));
  const bool marked = (*call_state)[0]->integer == 1;
  const bool call_exists = (*call_state)[1]->integer == 1;
  if (!marked && call_exists) {
    absl::StatusOr<RedisReply> deferred =
        redis_.Command({"ZADD", kSessionsToEndKey, "XX", "GT",
                        absl::StrCat(absl::ToUnixMillis(now + retry)), call_sid});
    if (!deferred.ok()) return deferred.status();
    return 0;
  }
  // Check-and-set in one script, as ClaimStep: of two replicas only one sees the entry due.
  // KEYS: the schedule, the tries. ARGV: sid, now (ms), retry (ms), max retry (ms).
  static const RedisScript& script = *new RedisScript(R"lua(
    local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
    if not score or tonumber(score) > tonumber(ARGV[2]) then return 0 end
    local tries = redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
    local wait = math.min(tonumber(ARGV[3]) * 2 ^ math.min(tries - 1, 30), tonumber(ARGV[4]))
    redis.call('ZADD', KEYS[1], math.floor(tonumber(ARGV[2]) + wait), ARGV[1])
    return tries)lua");
  absl::StatusOr<RedisReply> reply =
      script.Run(redis_, {kSessionsToEndKey, kSessionEndTriesKey},
                 {call_sid, absl::StrCat(absl::ToUnixMillis(now)),
                  absl::StrCat(absl::ToInt64Milliseconds(retry)),
                  absl::StrCat(absl::ToInt64Milliseconds(max_retry))});
  if (!reply.ok()) return reply.status();
  if ((*reply)->type != REDIS_REPLY_INTEGER) {
    return absl::InternalError(absl::StrCat("redis: ", ReplyString(**reply)));
  }
  return static_cast<int>((*reply)->integer);
}

absl::Status CallStore::FinishSessionEnd(const std::string& call_sid) {
  // Off the schedule first: a marker left behind (a crash in between) is harmless, an entry left
  // without its marker would wait for the call to expire.
  LIVECALL_RETURN_IF_ERROR(RunTransaction(
      redis_, {{"ZREM", kSessionsToEndKey, call_sid}, {"HDEL", kSessionEndTriesKey, call_sid}}));
  return redis_.Command({"DEL", SessionEndKey(call_sid)}).status();
}

absl::StatusOr<bool> CallStore::AdvanceSequence(const std::string& call_sid,
                                                const std::string& kind, int64_t sequence) {
  static const RedisScript& script = *new RedisScript(R"lua(
    local last = redis.call('HGET', KEYS[1], ARGV[1])
    if last and tonumber(last) >= tonumber(ARGV[2]) then return 0 end
    redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
    redis.call('EXPIRE', KEYS[1], ARGV[3])
    return 1)lua");
  absl::StatusOr<RedisReply> reply =
      script.Run(redis_, {SequenceKey(call_sid)},
                 {kind, absl::StrCat(sequence), absl::StrCat(absl::ToInt64Seconds(ttl_))});
  if (!reply.ok()) return reply.status();
  return (*reply)->integer == 1;
}

absl::StatusOr<bool> CallStore::ReserveIdempotencyKey(const std::string& scoped_key,
                                                      absl::Duration ttl) {
  absl::StatusOr<RedisReply> reply = redis_.Command(
      {"SET", IdempotencyKey(scoped_key), "", "NX", "EX", absl::StrCat(absl::ToInt64Seconds(ttl))});
  if (!reply.ok()) return reply.status();
  return !IsNil(**reply);
}

absl::StatusOr<std::optional<std::string>> CallStore::LookupIdempotencyKey(
    const std::string& scoped_key) {
  absl::StatusOr<RedisReply> reply = redis_.Command({"GET", IdempotencyKey(scoped_key)});
  if (!reply.ok()) return reply.status();
  if (IsNil(**reply)) return std::optional<std::string>();
  return std::optional<std::string>(ReplyString(**reply));
}

absl::Status CallStore::CompleteIdempotencyKey(const std::string& scoped_key,
                                               const std::string& call_sid, absl::Duration ttl) {
  return redis_
      .Command({"SET", IdempotencyKey(scoped_key), call_sid, "EX",
                absl::StrCat(absl::ToInt64Seconds(ttl))})
      .status();
}

absl::Status CallStore::ReleaseIdempotencyKey(const std::string& scoped_key) {
  return redis_.Command({"DEL", IdempotencyKey(scoped_key)}).status();
}

absl::StatusOr<int64_t> CallStore::CountLive(absl::Time now) {
  return TrimAndCountIndex(redis_, kLiveCallsKey, absl::ToUnixMillis(now - ttl_));
}

absl::StatusOr<std::vector<livecall::v1::Call>> CallStore::ListLive(int limit) {
  std::vector<livecall::v1::Call> calls;
  int offset = 0;
  // A page at a time: entries of calls that ended without their write reaching the index (an
  // expired call) are dropped, and the next page is read until `limit` live calls are found.
  while (static_cast<int>(calls.size()) < limit) {
    absl::StatusOr<RedisReply> page =
        redis_.Command({"ZREVRANGE", kLiveCallsKey, absl::StrCat(offset),
                        absl::StrCat(offset + limit - 1), "WITHSCORES"});
    if (!page.ok()) return page.status();
    const size_t count = (*page)->elements / 2;
    if (count == 0) break;
    std::vector<std::string> sids;
    std::vector<int64_t> created_ms;
    std::vector<std::vector<std::string>> reads;
    for (size_t i = 0; i < count; ++i) {
      sids.push_back(ReplyString(*(*page)->element[2 * i]));
      int64_t score = 0;
      (void)absl::SimpleAtoi(ReplyString(*(*page)->element[2 * i + 1]), &score);
      created_ms.push_back(score);
      reads.push_back({"GET", CallKey(sids.back())});
    }
    absl::StatusOr<std::vector<RedisReply>> stored = redis_.Pipeline(reads);
    if (!stored.ok()) return stored.status();
    // The entry is written before its call: one without a call younger than this may belong to
    // a call being written right now, so it is skipped, not swept.
    const int64_t young_ms = absl::ToUnixMillis(absl::Now() - absl::Minutes(1));
    std::vector<std::string> gone = {"ZREM", kLiveCallsKey};
    for (size_t i = 0; i < count; ++i) {
      const redisReply& reply = *(*stored)[i];
      livecall::v1::Call call;
      if (reply.type == REDIS_REPLY_NIL && created_ms[i] > young_ms) continue;
      if (reply.type != REDIS_REPLY_STRING || !ParseStoredCall(reply.str, reply.len, &call) ||
          IsTerminalCallStatus(call.status())) {
        gone.push_back(sids[i]);
        continue;
      }
      if (static_cast<int>(calls.size()) < limit) calls.push_back(std::move(call));
    }
    if (gone.size() > 2) {
      if (absl::Status swept = redis_.Command(gone).status(); !swept.ok()) return swept;
    }
    // Removed entries no longer take a rank: the next page starts after the ones kept.
    offset += static_cast<int>(count - (gone.size() - 2));
    if (static_cast<int>(count) < limit) break;
  }
  return calls;
}

absl::Status CallStore::MarkAgentAvailable(const std::string& identity, absl::Time until) {
  absl::StatusOr<std::vector<RedisReply>> replies = redis_.Pipeline(
      {{"ZREMRANGEBYSCORE", kAvailableAgentsKey, "-inf",
        absl::StrCat(absl::ToUnixMillis(absl::Now()))},
       {"ZADD", kAvailableAgentsKey, absl::StrCat(absl::ToUnixMillis(until)), identity}});
  if (!replies.ok()) return replies.status();
  return CheckReplies(*replies);
}

namespace {

// The agents whose token is valid after `now`, latest expiry first: a read, so a webhook's
// lookup writes nothing (MarkAgentAvailable drops the expired ones).
std::vector<std::string> AvailableAgentsCommand(absl::Time now, int limit) {
  return {"ZREVRANGEBYSCORE",
          kAvailableAgentsKey,
          "+inf",
          absl::StrCat("(", absl::ToUnixMillis(now)),
          "LIMIT",
          "0",
          absl::StrCat(limit)};
}

std::vector<std::string> Members(const redisReply& range) {
  std::vector<std::string> members;
  members.reserve(range.elements);
  for (size_t i = 0; i < range.elements; ++i) members.push_back(ReplyString(*range.element[i]));
  return members;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> CallStore::AvailableAgents(absl::Time now, int limit) {
  if (limit <= 0) return std::vector<std::string>();
  absl::StatusOr<RedisReply> range = redis_.Command(AvailableAgentsCommand(now, limit));
  if (!range.ok()) return range.status();
  if ((*range)->type != REDIS_REPLY_ARRAY) {
    return absl::InternalError(absl::StrCat("redis: ", ReplyString(**range)));
  }
  return Members(**range);
}

absl::StatusOr<CallStore::VoiceCallState> CallStore::LookupVoiceCall(const std::string& call_sid,
                                                                     absl::Time now,
                                                                     int max_agents) {
  RedisCommands reads = {{"GET", VoiceAnswerKey(call_sid)},
                         {"EXISTS", CallKey(call_sid), AliasKey(call_sid), VoiceSeenKey(call_sid)}};
  if (max_agents > 0) reads.push_back(AvailableAgentsCommand(now, max_agents));
  absl::StatusOr<std::vector<RedisReply>> replies = redis_.Pipeline(reads);
  if (!replies.ok()) return replies.status();
  LIVECALL_RETURN_IF_ERROR(CheckReplies(*replies));
  VoiceCallState state;
  if (!IsNil(*(*replies)[0])) state.answer = ReplyString(*(*replies)[0]);
  state.known = (*replies)[1]->integer > 0;
  if (max_agents > 0) state.agents = Members(*(*replies)[2]);
  return state;
}

absl::StatusOr<CallStore::VoiceCallWrite> CallStore::CreateAnsweredCall(
    const livecall::v1::Call& call, const std::string& twiml, absl::Duration answer_ttl) {
  return AnswerVoiceCall(call, {.ring = twiml, .busy = twiml}, answer_ttl, absl::Now(), 0);
}

absl::StatusOr<CallStore::VoiceCallWrite> CallStore::AnswerVoiceCall(const livecall::v1::Call& call,
                                                                     const VoiceAnswers& answers,
                                                                     absl::Duration answer_ttl,
                                                                     absl::Time now,
                                                                     int max_agents) {
  // Put's script with the webhook's dedup and its reads in front: the check, the agents to ring
  // and every write of the call's slot are one script, so a delivery writes the call, its event
  // and its answer, or nothing (a retry, a lost race, a replay), in one round trip. On one server
  // (or Sentinel's primary) the agents, the live floor's entry and the session-ending schedule are
  // in the same script too (KEYS[7..9]). In a cluster those are each in a slot of their own: the
  // agents are read before (the caller's answer is then chosen here), the index additions go
  // before the script in its pipeline and removals after it, as Put's do.
  // Redis does not undo a script's writes when a later command fails, so the commands that can
  // fail (on a key of another type) come first, index additions before XADD: a failed script has
  // written nothing of the call and Twilio's retry starts afresh.
  // The call's own key is its replay marker (MarkVoiceCallNew checks it): it is written with the
  // same TTL as a voice-seen marker would be, every later write of the call renews it and nothing
  // deletes it, so a customer's call needs no voice-seen key of its own.
  // KEYS: the answer, the call, its alias, its voice-seen marker, its live events, its
  // session-ending marker; on one server also the live floor, the session-ending schedule and the
  // available agents.
  // ARGV: the TwiML when agents are rung, the TwiML when none is, answer ttl (s), the call's bytes,
  // ttl (s), the call.status event JSON, events kept, "1" when its AI session must now be ended,
  // the sid, its live floor score ("" once it has ended: it leaves the floor), now (unix ms), the
  // agents' lowest score ("(" now), how many agents at most.
  // Answers {0, the answer kept or nil} when the sid was known, else {1, agents rung}.
  static const RedisScript& script = *new RedisScript(R"lua(
    if redis.call('EXISTS', KEYS[1], KEYS[2], KEYS[3], KEYS[4]) > 0 then
      return {0, redis.call('GET', KEYS[1])}
    end
    local agents = {}
    if KEYS[9] and ARGV[13] ~= '0' then
      agents = redis.call('ZREVRANGEBYSCORE', KEYS[9], '+inf', ARGV[12], 'LIMIT', '0', ARGV[13])
    end
    if KEYS[7] then
      if ARGV[10] ~= '' then redis.call('ZADD', KEYS[7], ARGV[10], ARGV[9]) end
      if ARGV[8] == '1' then redis.call('ZADD', KEYS[8], 'NX', ARGV[11], ARGV[9]) end
    end
    redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[7], '*', 'type', 'call.status', 'data', ARGV[6])
    redis.call('EXPIRE', KEYS[5], ARGV[5])
    redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[5])
    if ARGV[8] == '1' then redis.call('SET', KEYS[6], '1', 'EX', ARGV[5]) end
    if #agents > 0 then
      redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
    else
      redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
    end
    redis.call('PUBLISH', ')lua" LIVECALL_LIVE_EVENTS_CHANNEL R"lua(', KEYS[5])
    if KEYS[7] and ARGV[10] == '' then redis.call('ZREM', KEYS[7], ARGV[9]) end
    return {1, agents})lua");
  const std::string& sid = call.call_sid();
  const bool ended = IsTerminalCallStatus(call.status());
  const bool end_session = ended && !call.session_id().empty();
  std::vector<std::string> keys = {VoiceAnswerKey(sid), CallKey(sid),       AliasKey(sid),
                                   VoiceSeenKey(sid),   CallEventsKey(sid), SessionEndKey(sid)};
  IndexWrites indexes;
  // In a cluster the agents are read here and the script answers `busy` unless the caller's
  // `ring` is passed in its place.
  std::vector<std::string> agents;
  const std::string* ring = &answers.ring;
  const std::string* busy = &answers.busy;
  if (redis_.cluster()) {
    indexes = IndexWritesOf(call, end_session);
    if (max_agents > 0) {
      LIVECALL_ASSIGN_OR_RETURN(agents, AvailableAgents(now, max_agents));
      if (!agents.empty()) busy = ring;
    }
  } else {
    keys.push_back(kLiveCallsKey);
    keys.push_back(kSessionsToEndKey);
    keys.push_back(kAvailableAgentsKey);
  }
  absl::StatusOr<RedisReply> reply = script.RunAfter(
      redis_, indexes.before, keys,
      {redis_.cluster() ? std::string() : *ring, *busy,
       absl::StrCat(absl::ToInt64Seconds(answer_ttl)), SerializeWithLegacyEnumStrings(call),
       absl::StrCat(absl::ToInt64Seconds(ttl_)), CallStatusEventJson(call),
       absl::StrCat(kLiveEventsKept), end_session ? "1" : "0", sid,
       ended ? std::string() : LiveScore(call), absl::StrCat(absl::ToUnixMillis(now)),
       absl::StrCat("(", absl::ToUnixMillis(now)), absl::StrCat(std::max(max_agents, 0))});
  if (!reply.ok()) return reply.status();
  const redisReply& result = **reply;
  if (result.type != REDIS_REPLY_ARRAY || result.elements == 0 ||
      result.element[0]->type != REDIS_REPLY_INTEGER) {
    return absl::InternalError(absl::StrCat("redis: unexpected answer ", ReplyString(result)));
  }
  VoiceCallWrite write;
  write.written = result.element[0]->integer == 1;
  if (!write.written) {
    if (result.elements > 1 && !IsNil(*result.element[1])) {
      write.answer = ReplyString(*result.element[1]);
    }
    return write;
  }
  if (!redis_.cluster() && result.elements > 1 && result.element[1]->type == REDIS_REPLY_ARRAY) {
    agents = Members(*result.element[1]);
  }
  write.answer = agents.empty() ? answers.busy : answers.ring;
  write.agents = std::move(agents);
  if (!indexes.after.empty()) {
    absl::StatusOr<std::vector<RedisReply>> removed = redis_.Pipeline(indexes.after);
    if (!removed.ok()) return removed.status();
    LIVECALL_RETURN_IF_ERROR(CheckReplies(*removed));
  }
  return write;
}

}  // namespace livecall::call_control
