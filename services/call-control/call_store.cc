#include "services/call-control/call_store.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/enum_json.h"
#include "common/ids.h"
#include "common/live_events.h"
#include "common/proto_time.h"
#include "livecall/v1/context.pb.h"
#include "services/call-control/call_state_machine.h"

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

std::string CallKey(const std::string& call_sid) {
  return absl::StrCat("livecall:call:", call_sid);
}

absl::Status RunTransaction(RedisPool& redis, RedisCommands commands) {
  commands.insert(commands.begin(), {"MULTI"});
  commands.push_back({"EXEC"});
  absl::StatusOr<std::vector<RedisReply>> replies = redis.Pipeline(commands);
  if (!replies.ok()) return replies.status();
  const redisReply& exec = *replies->back();
  if (exec.type != REDIS_REPLY_ARRAY) {
    return absl::InternalError(absl::StrCat("redis EXEC failed: ", ReplyString(exec)));
  }
  for (size_t i = 0; i < exec.elements; ++i) {
    if (exec.element[i]->type == REDIS_REPLY_ERROR) {
      return absl::InternalError(absl::StrCat("redis: ", ReplyString(*exec.element[i])));
    }
  }
  return absl::OkStatus();
}

namespace {

std::string AliasKey(const std::string& sid) { return absl::StrCat("livecall:call-alias:", sid); }

}  // namespace

RedisCommands CallStore::CallWrites(const livecall::v1::Call& call) const {
  const std::string ttl = absl::StrCat(absl::ToInt64Seconds(ttl_));
  const std::string events = CallEventsKey(call.call_sid());
  // The state and its live event are written together (MULTI): a watcher never misses a change.
  RedisCommands commands = {
      {"SET", CallKey(call.call_sid()), SerializeWithLegacyEnumStrings(call), "EX", ttl},
      {"XADD", events, "MAXLEN", "~", absl::StrCat(kLiveEventsKept), "*", "type", "call.status",
       "data", CallStatusEventJson(call)},
      {"EXPIRE", events, ttl},
      {"PUBLISH", kLiveEventsChannel, events},
  };
  // The live floor's index moves with the call, in the same transaction.
  if (IsTerminalCallStatus(call.status())) {
    commands.push_back({"ZREM", kLiveCallsKey, call.call_sid()});
    // So does ending its AI session: the job outlives this process (CallSessions works it off).
    if (!call.session_id().empty()) {
      commands.push_back({"ZADD", kSessionsToEndKey, "NX",
                          absl::StrCat(absl::ToUnixMillis(absl::Now())), call.call_sid()});
    }
  } else {
    commands.push_back({"ZADD", kLiveCallsKey, LiveScore(call), call.call_sid()});
  }
  return commands;
}

absl::Status CallStore::Put(const livecall::v1::Call& call,
                            std::optional<absl::Time> next_step_at) {
  RedisCommands commands = CallWrites(call);
  if (next_step_at.has_value()) {
    commands.push_back(
        {"ZADD", kSandboxDueKey, absl::StrCat(absl::ToUnixMillis(*next_step_at)), call.call_sid()});
  } else {
    commands.push_back({"ZREM", kSandboxDueKey, call.call_sid()});
  }
  return RunTransaction(redis_, std::move(commands));
}

absl::Status CallStore::Create(const livecall::v1::Call& call,
                               const std::vector<std::string>& aliases, const RedisCommands& also) {
  RedisCommands commands = CallWrites(call);
  for (const std::string& alias : aliases) {
    commands.push_back(
        {"SET", AliasKey(alias), call.call_sid(), "EX", absl::StrCat(absl::ToInt64Seconds(ttl_))});
  }
  commands.insert(commands.end(), also.begin(), also.end());
  return RunTransaction(redis_, std::move(commands));
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

absl::StatusOr<std::vector<std::string>> CallStore::DueMembers(const char* schedule,
                                                               absl::Time now, int limit) {
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
  return redis_
      .Command({"ZADD", kSandboxDueKey, absl::StrCat(absl::ToUnixMillis(at)), call_sid})
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
  absl::StatusOr<RedisReply> reply = redis_.Command(
      {"EVAL", kClaimScript, "1", kSandboxDueKey, call_sid, absl::StrCat(absl::ToUnixMillis(now)),
       absl::StrCat(absl::ToUnixMillis(now + lease))});
  if (!reply.ok()) return reply.status();
  return (*reply)->integer == 1;
}

namespace {

std::string LegsKey(const std::string& sid) { return absl::StrCat("livecall:call-legs:", sid); }
std::string LegAgentsKey(const std::string& sid) {
  return absl::StrCat("livecall:call-leg-agents:", sid);
}
std::string VoiceSeenKey(const std::string& sid) {
  return absl::StrCat("livecall:voice-seen:", sid);
}
constexpr char kSessionEndTriesKey[] = "livecall:sessions:end-tries";
std::string SequenceKey(const std::string& sid) { return absl::StrCat("livecall:call-seq:", sid); }
std::string IdempotencyKey(const std::string& scoped) {
  return absl::StrCat("livecall:idem:", scoped);
}
constexpr char kAvailableAgentsKey[] = "livecall:agents:available";

}  // namespace

absl::StatusOr<livecall::v1::Call> CallStore::Update(const std::string& call_sid,
                                                     const Mutation& mutate) {
  // Compare-and-set in one script: the write happens only if the stored bytes are still the ones
  // this caller read, so no concurrent update is lost.
  // KEYS: call, its live events, the live floor's index, the session-ending schedule. ARGV: old
  // bytes, new bytes, ttl, call.status event JSON, events kept, call sid, "1" while the call is
  // live, its index score, "1" when its AI session must now be ended, now (ms).
  static constexpr char kCasScript[] = R"lua(
    local current = redis.call('GET', KEYS[1])
    if not current then return -1 end
    if current ~= ARGV[1] then return 0 end
    redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
    redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '*', 'type', 'call.status', 'data', ARGV[4])
    redis.call('EXPIRE', KEYS[2], ARGV[3])
    redis.call('PUBLISH', ')lua" LIVECALL_LIVE_EVENTS_CHANNEL R"lua(', KEYS[2])
    if ARGV[7] == '1' then
      redis.call('ZADD', KEYS[3], ARGV[8], ARGV[6])
    else
      redis.call('ZREM', KEYS[3], ARGV[6])
    end
    if ARGV[9] == '1' then redis.call('ZADD', KEYS[4], 'NX', ARGV[10], ARGV[6]) end
    return 1)lua";
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
    const bool end_session = !had_session_to_end && IsTerminalCallStatus(call->status()) &&
                             !call->session_id().empty();
    absl::StatusOr<RedisReply> reply = redis_.Command(
        {"EVAL", kCasScript, "4", CallKey(call_sid), CallEventsKey(call_sid), kLiveCallsKey,
         kSessionsToEndKey, before, SerializeWithLegacyEnumStrings(*call),
         absl::StrCat(absl::ToInt64Seconds(ttl_)), CallStatusEventJson(*call),
         absl::StrCat(kLiveEventsKept), call_sid, IsTerminalCallStatus(call->status()) ? "0" : "1",
         LiveScore(*call), end_session ? "1" : "0", absl::StrCat(absl::ToUnixMillis(absl::Now()))});
    if (!reply.ok()) return reply.status();
    if ((*reply)->type != REDIS_REPLY_INTEGER) {
      return absl::InternalError(absl::StrCat("redis: ", ReplyString(**reply)));
    }
    if ((*reply)->integer == 1) return call;
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
  // One script: a leg is never an alias without being a leg of the call, nor without the identity
  // it rings (which lets that agent read the call before its join is reported).
  // KEYS: legs, leg agents, the leg's alias. ARGV: leg, identity, call sid, ttl (s).
  static constexpr char kAddLegScript[] = R"lua(
    redis.call('SADD', KEYS[1], ARGV[1])
    redis.call('EXPIRE', KEYS[1], ARGV[4])
    redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
    redis.call('EXPIRE', KEYS[2], ARGV[4])
    redis.call('SET', KEYS[3], ARGV[3], 'EX', ARGV[4])
    return 1)lua";
  absl::StatusOr<RedisReply> reply = redis_.Command(
      {"EVAL", kAddLegScript, "3", LegsKey(call_sid), LegAgentsKey(call_sid), AliasKey(leg_sid),
       leg_sid, identity, call_sid, absl::StrCat(absl::ToInt64Seconds(ttl_))});
  if (!reply.ok()) return reply.status();
  if ((*reply)->type == REDIS_REPLY_ERROR) {
    return absl::InternalError(absl::StrCat("redis: ", ReplyString(**reply)));
  }
  return absl::OkStatus();
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
  static constexpr char kMarkScript[] = R"lua(
    if redis.call('EXISTS', KEYS[1], KEYS[2]) > 0 then return 0 end
    if redis.call('SET', KEYS[3], '1', 'NX', 'EX', ARGV[1]) then return 1 end
    return 0)lua";
  absl::StatusOr<RedisReply> reply =
      redis_.Command({"EVAL", kMarkScript, "3", CallKey(call_sid), AliasKey(call_sid),
                      VoiceSeenKey(call_sid), absl::StrCat(absl::ToInt64Seconds(ttl_))});
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
  // Check-and-set in one script, as ClaimStep: of two replicas only one sees the entry due.
  // KEYS: the schedule, the tries. ARGV: sid, now (ms), retry (ms), max retry (ms).
  static constexpr char kClaimScript[] = R"lua(
    local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
    if not score or tonumber(score) > tonumber(ARGV[2]) then return 0 end
    local tries = redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
    local wait = math.min(tonumber(ARGV[3]) * 2 ^ math.min(tries - 1, 30), tonumber(ARGV[4]))
    redis.call('ZADD', KEYS[1], math.floor(tonumber(ARGV[2]) + wait), ARGV[1])
    return tries)lua";
  absl::StatusOr<RedisReply> reply = redis_.Command(
      {"EVAL", kClaimScript, "2", kSessionsToEndKey, kSessionEndTriesKey, call_sid,
       absl::StrCat(absl::ToUnixMillis(now)), absl::StrCat(absl::ToInt64Milliseconds(retry)),
       absl::StrCat(absl::ToInt64Milliseconds(max_retry))});
  if (!reply.ok()) return reply.status();
  if ((*reply)->type != REDIS_REPLY_INTEGER) {
    return absl::InternalError(absl::StrCat("redis: ", ReplyString(**reply)));
  }
  return static_cast<int>((*reply)->integer);
}

absl::Status CallStore::FinishSessionEnd(const std::string& call_sid) {
  return RunTransaction(
      redis_, {{"ZREM", kSessionsToEndKey, call_sid}, {"HDEL", kSessionEndTriesKey, call_sid}});
}

absl::StatusOr<bool> CallStore::AdvanceSequence(const std::string& call_sid,
                                                const std::string& kind, int64_t sequence) {
  static constexpr char kAdvanceScript[] = R"lua(
    local last = redis.call('HGET', KEYS[1], ARGV[1])
    if last and tonumber(last) >= tonumber(ARGV[2]) then return 0 end
    redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
    redis.call('EXPIRE', KEYS[1], ARGV[3])
    return 1)lua";
  absl::StatusOr<RedisReply> reply =
      redis_.Command({"EVAL", kAdvanceScript, "1", SequenceKey(call_sid), kind,
                      absl::StrCat(sequence), absl::StrCat(absl::ToInt64Seconds(ttl_))});
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
    absl::StatusOr<RedisReply> page = redis_.Command(
        {"ZREVRANGE", kLiveCallsKey, absl::StrCat(offset), absl::StrCat(offset + limit - 1)});
    if (!page.ok()) return page.status();
    const size_t count = (*page)->elements;
    if (count == 0) break;
    std::vector<std::string> sids;
    std::vector<std::vector<std::string>> reads;
    for (size_t i = 0; i < count; ++i) {
      sids.push_back(ReplyString(*(*page)->element[i]));
      reads.push_back({"GET", CallKey(sids.back())});
    }
    absl::StatusOr<std::vector<RedisReply>> stored = redis_.Pipeline(reads);
    if (!stored.ok()) return stored.status();
    std::vector<std::string> gone = {"ZREM", kLiveCallsKey};
    for (size_t i = 0; i < count; ++i) {
      const redisReply& reply = *(*stored)[i];
      livecall::v1::Call call;
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
  return redis_
      .Command({"ZADD", kAvailableAgentsKey, absl::StrCat(absl::ToUnixMillis(until)), identity})
      .status();
}

absl::StatusOr<std::vector<std::string>> CallStore::AvailableAgents(absl::Time now, int limit) {
  absl::StatusOr<std::vector<RedisReply>> replies = redis_.Pipeline(
      {{"ZREMRANGEBYSCORE", kAvailableAgentsKey, "-inf", absl::StrCat(absl::ToUnixMillis(now))},
       {"ZREVRANGE", kAvailableAgentsKey, "0", absl::StrCat(limit - 1)}});
  if (!replies.ok()) return replies.status();
  const redisReply& range = *replies->back();
  std::vector<std::string> agents;
  for (size_t i = 0; i < range.elements; ++i) agents.push_back(ReplyString(*range.element[i]));
  return agents;
}

}  // namespace livecall::call_control
