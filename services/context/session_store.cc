#include "services/context/session_store.h"

#include <algorithm>

#include "absl/hash/hash.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/enum_json.h"
#include "common/ids.h"
#include "common/live_events.h"
#include "common/log.h"
#include "common/proto_time.h"
#include "common/redis_cluster.h"
#include "common/redis_script.h"
#include "services/context/session_wire.h"

namespace livecall::context {
namespace {

using livecall::v1::LiveEvent;

// Ids are "ses_" + 32 lowercase hex digits; anything else cannot name a session.
bool IsWellFormedSessionId(const std::string& id) {
  if (id.size() != 36 || id.rfind("ses_", 0) != 0) return false;
  for (size_t i = 4; i < id.size(); ++i) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(id[i])) ||
        absl::ascii_isupper(static_cast<unsigned char>(id[i]))) {
      return false;
    }
  }
  return true;
}

absl::Status NoSession(const std::string& session_id) {
  return absl::NotFoundError(absl::StrCat("no session \"", session_id, "\""));
}

// Events leave out empty fields (they live in Redis per session and go to every watcher); the
// CRM's record prints them all, so its shape never depends on the values.
std::string ToJson(const google::protobuf::Message& message, bool print_empty_fields = false) {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = print_empty_fields;
  // Serialising our own well-formed messages cannot fail.
  return PrintJson(message, options).value_or("");
}

LiveEvent NewEvent(const std::string& type, const std::string& session_id,
                   const std::string& call_sid, absl::Time now) {
  LiveEvent event;
  event.set_type(type);
  event.set_session_id(session_id);
  event.set_call_sid(call_sid);
  *event.mutable_at() = ToProtoTimestamp(now);
  return event;
}

// `keys`, and the call's event stream after them when the session runs beside a call.
std::vector<std::string> WithCallStream(std::vector<std::string> keys,
                                        const std::string& call_sid) {
  if (!call_sid.empty()) keys.push_back(CallEventsKey(call_sid));
  return keys;
}

// Lua helpers shared by the scripts. append: one event to a stream; announce: the stream's TTL
// and its notification, once per stream and script however many events it appended (readers
// XREAD everything new on a notification). publish: one event to the session's stream and, when
// the session has a call, to the call's stream. Numbers travel as strings: Redis formats a Lua
// number argument with printf.
#define LIVECALL_PUBLISH_LUA                                       \
  "local function append(stream, type, data)\n"                    \
  "  redis.call('XADD', stream, 'MAXLEN', '~', '" LIVECALL_KEPT    \
  "', '*', 'type', type, 'data', data)\n"                          \
  "end\n"                                                          \
  "local function announce(stream, ttl)\n"                         \
  "  redis.call('EXPIRE', stream, ttl)\n"                          \
  "  redis.call('PUBLISH', '" LIVECALL_LIVE_EVENTS_CHANNEL         \
  "', stream)\n"                                                   \
  "end\n"                                                          \
  "local function publish(stream, call_stream, type, data, ttl)\n" \
  "  append(stream, type, data)\n"                                 \
  "  announce(stream, ttl)\n"                                      \
  "  if call_stream ~= '' then\n"                                  \
  "    append(call_stream, type, data)\n"                          \
  "    announce(call_stream, ttl)\n"                               \
  "  end\n"                                                        \
  "end\n"
#define LIVECALL_KEPT "1000"
static_assert(kLiveEventsKept == 1000, "keep LIVECALL_KEPT in step");

// KEYS: header, turns, the previous version's suggestions key (LegacySuggestionsKey), session
// events, and the call's events when it has a call (a key named only when it exists: on a Redis
// Cluster every key named must be in the slot).
// ARGV: turn, suggestions, ttl, transcript event JSON, suggestions event JSON ("": the caller
// takes the suggestions to be the stored ones), expected version ("0": any), the header's time to
// live (ms) at or below which the session's TTLs are refreshed.
// Returns {turns, version} after the append; {-1} when the session does not exist, {-3, version}
// when its version is not the expected one (nothing written), {-2} when it has ended, {-4} when
// the suggestions event was left out but the suggestions changed (nothing written).
// The suggestions are the header's `suggestions` field. A session the previous version wrote has
// them in a key of their own instead, which is newer than the field while it exists (a replica of
// the previous version writes only that key during a rolling deploy): this turn moves them into
// the field and deletes the key.
// The session's own keys (header, turns, its stream) share one TTL, set together: a turn
// refreshes it only once it has run down past the refresh point (ARGV[7]), so most turns write no
// EXPIRE and each key expires at most the refresh window sooner than when every turn refreshed it
// (never later). A turns list this turn created gets its TTL here. The call's stream is written by
// call-control too, with its own TTLs: every turn sets it, as before. Each stream is announced
// once, after both of its events. The version and the suggestions are written by one HSET.
constexpr char kAppendTurnScript[] = LIVECALL_PUBLISH_LUA R"lua(
  local header = redis.call('HMGET', KEYS[1], 'status', 'version', 'suggestions')
  local status = header[1]
  if not status then return {-1} end
  if ARGV[6] ~= '0' and header[2] ~= ARGV[6] then return {-3, tonumber(header[2]) or 0} end
  if status ~= 'active' then return {-2} end
  local legacy = redis.call('GET', KEYS[3])
  local stored = legacy or header[3]
  -- No suggestions event JSON: the caller takes these suggestions for the stored ones; when they
  -- are not, it is asked for the event ({-4}, nothing written).
  local same = ARGV[5] == ''
  if same and stored ~= ARGV[2] then return {-4} end
  local ttl = ARGV[3]
  local refresh = redis.call('PTTL', KEYS[1]) <= tonumber(ARGV[7])
  local count = redis.call('RPUSH', KEYS[2], ARGV[1])
  if refresh or count == 1 then redis.call('EXPIRE', KEYS[2], ttl) end
  -- Suggestions that did not change are not news: no event for them, nothing written.
  local changed = not same and stored ~= ARGV[2]
  local version = (tonumber(header[2]) or 0) + 1
  if changed or legacy then
    redis.call('HSET', KEYS[1], 'version', version, 'suggestions', changed and ARGV[2] or legacy)
    if legacy then redis.call('DEL', KEYS[3]) end
  else
    redis.call('HSET', KEYS[1], 'version', version)
  end
  if refresh then redis.call('EXPIRE', KEYS[1], ttl) end
  for i = 4, #KEYS do
    local stream = KEYS[i]
    append(stream, 'transcript', ARGV[4])
    if changed then append(stream, 'suggestions', ARGV[5]) end
    if refresh or i == 5 then
      announce(stream, ttl)
    else
      redis.call('PUBLISH', ')lua" LIVECALL_LIVE_EVENTS_CHANNEL R"lua(', stream)
    end
  end
  return {count, version})lua";

// KEYS: header, session events, and the call's events when it has a call.
// ARGV: expected version, new header, ttl, summary event JSON, the CRM outbox entry's id.
// Returns 1 when written, 0 when the session changed since the snapshot (retry), -1 when gone.
// The outbox entry was added just before (End): recording its id here is what makes it the
// session's, in the same step as the end; an entry no session names is dropped unsent (outbox.h).
constexpr char kEndScript[] = LIVECALL_PUBLISH_LUA R"lua(
  local version = redis.call('HGET', KEYS[1], 'version')
  if not version then return -1 end
  if version ~= ARGV[1] then return 0 end
  redis.call('HSET', KEYS[1], 'proto', ARGV[2], 'status', 'ended', 'version', tonumber(version) + 1,
             'outbox_id', ARGV[5])
  redis.call('EXPIRE', KEYS[1], ARGV[3])
  publish(KEYS[2], KEYS[3] or '', 'summary', ARGV[4], ARGV[3])
  return 1)lua";

// KEYS: header. ARGV: expected version, new header.
// Returns 1 when written, 0 when the session changed since the snapshot (retry), -1 when gone.
constexpr char kAssignScript[] = R"lua(
  local version = redis.call('HGET', KEYS[1], 'version')
  if not version then return -1 end
  if version ~= ARGV[1] then return 0 end
  redis.call('HSET', KEYS[1], 'proto', ARGV[2], 'version', tonumber(version) + 1)
  return 1)lua";

// KEYS: header, turns, session events, then, for a session beside a call, the call's events and
// the call's session index (CallSessionKey) -- a key is named only when it exists: on a Redis
// Cluster every key named must be in the slot, and all of these are (a session beside a call is
// made for the call's slot).
// ARGV: id, ttl, header (serialized Session without turns and suggestions), call sid, serialized
// suggestions, session.started event JSON, the key prefix of a session beside this call
// (SessionKeyPrefix without the id), then the serialized turns (none, or more).
// Returns the id of the session: for a session beside a call, the one the call's index names while
// that session is still stored (nothing is written), else the new one, written here with the index
// in one step, so concurrent starts for one call make one session. Repeating it (a retried
// command) answers the id the first run wrote. Each value travels once (the event was sent twice,
// once per stream, when this script ran a list of generic commands). The suggestions are a field
// of the header, written with it: no key and no EXPIRE of their own.
constexpr char kCreateScript[] = LIVECALL_PUBLISH_LUA R"lua(
  local ttl = ARGV[2]
  if KEYS[5] then
    local existing = redis.call('GET', KEYS[5])
    -- SessionKey(existing): a session that expired leaves its index entry behind.
    if existing and redis.call('EXISTS', ARGV[7] .. existing) == 1 then
      return existing
    end
    redis.call('SET', KEYS[5], ARGV[1], 'EX', ttl)
  end
  redis.call('HSET', KEYS[1], 'proto', ARGV[3], 'status', 'active', 'call_sid', ARGV[4],
             'version', '1', 'suggestions', ARGV[5])
  redis.call('EXPIRE', KEYS[1], ttl)
  if #ARGV >= 8 then
    redis.call('RPUSH', KEYS[2], unpack(ARGV, 8, #ARGV))
    redis.call('EXPIRE', KEYS[2], ttl)
  end
  publish(KEYS[3], KEYS[4] or '', 'session.started', ARGV[6], ttl)
  return ARGV[1])lua";

// KEYS: the session's header. ARGV: an outbox entry id. Decides, on the session's own slot,
// whether the entry is the session's record: 1 when End recorded it (or the session ended before
// entries were named, or it has expired: deliver), 0 when no End did and none ever will (the
// version is bumped, so the End that added it fails and adds another): drop it unsent.
constexpr char kConfirmOutboxScript[] = R"lua(
  local header = redis.call('HMGET', KEYS[1], 'status', 'outbox_id', 'version')
  if not header[1] then return 1 end
  if header[2] == ARGV[1] then return 1 end
  if header[1] == 'ended' then
    if not header[2] then return 1 end
    return 0
  end
  redis.call('HINCRBY', KEYS[1], 'version', 1)
  return 0)lua";

constexpr int kMaxEndAttempts = 5;

}  // namespace

absl::Duration TtlRefreshWindow(absl::Duration ttl) {
  return std::min(kMaxTtlRefreshWindow, ttl / 10);
}

namespace {

// The header's version field as a number; 0 (never a stored version) when unreadable.
int64_t ParseVersion(absl::string_view stored) {
  int64_t version = 0;
  if (!absl::SimpleAtoi(stored, &version)) return 0;
  return version;
}

}  // namespace

std::string SessionKey(const std::string& session_id) { return SessionKeyPrefix(session_id); }
std::string TurnsKey(const std::string& session_id) {
  return absl::StrCat(SessionKey(session_id), ":turns");
}
std::string SuggestionsKey(const std::string& session_id) { return SessionKey(session_id); }
std::string LegacySuggestionsKey(const std::string& session_id) {
  return absl::StrCat(SessionKey(session_id), ":suggestions");
}
std::string PhoneSessionsKey(const std::string& e164) {
  return absl::StrCat("livecall:phone:{", e164, "}:sessions");
}
std::string CallSessionKey(const std::string& call_sid) {
  return absl::StrCat(CallKeyPrefix(call_sid), ":session");
}

absl::StatusOr<bool> ConfirmOutboxEntry(RedisPool& redis, const std::string& session_id,
                                        const std::string& entry_id) {
  static const RedisScript& script = *new RedisScript(kConfirmOutboxScript);
  if (!IsWellFormedSessionId(session_id)) return true;  // Not ours to judge: deliver.
  absl::StatusOr<RedisReply> reply = script.Run(redis, {SessionKey(session_id)}, {entry_id});
  if (!reply.ok()) return reply.status();
  return (*reply)->integer == 1;
}

absl::StatusOr<livecall::v1::Session> SessionStore::Create(livecall::v1::Session session,
                                                           absl::Time now, int64_t* version) {
  // Beside a call, the session is made for the call's slot: its scripts write the call's stream
  // and its index on one Redis Cluster node.
  session.set_session_id(NewSessionId(
      session.call_sid().empty() ? -1 : RedisKeySlot(CallKeyPrefix(session.call_sid()))));
  session.set_status("active");
  *session.mutable_created_at() = ToProtoTimestamp(now);
  *session.mutable_updated_at() = ToProtoTimestamp(now);
  const std::string ttl = absl::StrCat(absl::ToInt64Seconds(ttl_));
  const std::string& id = session.session_id();
  const std::string& call_sid = session.call_sid();
  // The header is the session without its turns and suggestions: serialised with them set aside
  // (not copied), stored as it is and printed inside the session.started event (session_wire.h).
  // The page already has the whole session from /ai/call/start: the event carries the header
  // (customer, greeting, language) without turns and suggestions, to keep each stream small.
  google::protobuf::RepeatedPtrField<livecall::v1::Turn> turns;
  google::protobuf::RepeatedPtrField<livecall::v1::Suggestion> suggestions;
  session.mutable_conversation()->Swap(&turns);
  session.mutable_suggestions()->Swap(&suggestions);
  std::string header = session.SerializeAsString();
  session.mutable_conversation()->Swap(&turns);
  session.mutable_suggestions()->Swap(&suggestions);
  std::string started = LiveEventJson(NewEvent("session.started", id, call_sid, now),
                                      LiveEvent::kSessionFieldNumber, header);
  std::vector<std::string> keys = {SessionKey(id), TurnsKey(id), SessionEventsKey(id)};
  std::string call_prefix;
  if (!call_sid.empty()) {
    keys.push_back(CallEventsKey(call_sid));
    keys.push_back(CallSessionKey(call_sid));
    call_prefix = SessionKeyPrefix(id);
    call_prefix.resize(call_prefix.size() - id.size());
  }
  std::vector<std::string> args;
  args.reserve(7 + session.conversation_size());
  args.push_back(id);
  args.push_back(ttl);
  args.push_back(std::move(header));
  args.push_back(call_sid);
  std::string stored_suggestions = std::move(SerializeSuggestionList(session.suggestions()).stored);
  const size_t suggestions_digest = absl::Hash<std::string>{}(stored_suggestions);
  args.push_back(std::move(stored_suggestions));
  args.push_back(std::move(started));
  args.push_back(std::move(call_prefix));
  for (const livecall::v1::Turn& turn : session.conversation()) {
    args.push_back(turn.SerializeAsString());
  }
  // The indexes live in slots of their own, so they are written first: an index entry may name
  // a session that is not (yet, or any more) stored -- readers skip those -- but a stored session
  // is always in its indexes.
  const std::string index = PhoneSessionsKey(session.phone_number());
  const std::string created_ms = absl::StrCat(absl::ToUnixMillis(now));
  const RedisCommands indexes = {
      {"ZADD", index, created_ms, id},
      {"EXPIRE", index, ttl},
      {"ZADD", kActiveSessionsKey, created_ms, id},
  };
  static const RedisScript& create = *new RedisScript(kCreateScript);
  absl::StatusOr<RedisReply> reply = create.RunAfter(redis_, indexes, keys, args);
  if (!reply.ok()) return reply.status();
  if ((*reply)->type != REDIS_REPLY_STRING) {
    return absl::InternalError(absl::StrCat("redis: ", ReplyString(**reply)));
  }
  const std::string session_id = ReplyString(**reply);
  if (session_id == id) {
    call_sids_.Insert(id, call_sid);
    suggestion_digests_.Insert(id, suggestions_digest);
    if (version != nullptr) *version = 1;  // As kCreateScript writes it.
    return session;
  }
  // The call had its session: this one was not made, so its index entries go again.
  absl::StatusOr<std::vector<RedisReply>> unindexed =
      redis_.Pipeline({{"ZREM", index, id}, {"ZREM", kActiveSessionsKey, id}});
  if (!unindexed.ok()) return unindexed.status();
  return Get(session_id, version);
}

absl::StatusOr<SessionStore::Snapshot> SessionStore::Read(const std::string& session_id) {
  if (!IsWellFormedSessionId(session_id)) return NoSession(session_id);
  // One MULTI block: a consistent snapshot even while another replica appends.
  absl::StatusOr<std::vector<RedisReply>> replies = redis_.Pipeline({
      {"MULTI"},
      {"HMGET", SessionKey(session_id), "proto", "status", "version", "suggestions"},
      {"LRANGE", TurnsKey(session_id), "0", "-1"},
      {"GET", LegacySuggestionsKey(session_id)},
      {"EXEC"},
  });
  if (!replies.ok()) return replies.status();
  if (absl::Status status = CheckExec(*replies); !status.ok()) return status;
  const redisReply& exec = *replies->back();
  const redisReply& header = *exec.element[0];
  const redisReply& turns = *exec.element[1];
  if (header.type != REDIS_REPLY_ARRAY || header.elements != 4 || IsNil(*header.element[0])) {
    return NoSession(session_id);
  }
  // The previous version's own key while it exists (see kAppendTurnScript), else the field.
  const redisReply& suggestions =
      exec.element[2]->type == REDIS_REPLY_STRING ? *exec.element[2] : *header.element[3];
  Snapshot snapshot;
  livecall::v1::Session& session = snapshot.session;
  const redisReply& proto = *header.element[0];
  if (!session.ParseFromArray(proto.str, static_cast<int>(proto.len))) {
    return absl::DataLossError(absl::StrCat("session \"", session_id, "\" is corrupt in redis"));
  }
  session.set_status(ReplyString(*header.element[1]));
  snapshot.version = ReplyString(*header.element[2]);
  call_sids_.Insert(session_id, session.call_sid());
  for (size_t i = 0; i < turns.elements; ++i) {
    const redisReply& item = *turns.element[i];
    if (!session.add_conversation()->ParseFromArray(item.str, static_cast<int>(item.len))) {
      return absl::DataLossError(absl::StrCat("a turn of \"", session_id, "\" is corrupt"));
    }
  }
  if (suggestions.type == REDIS_REPLY_STRING) {
    livecall::v1::SuggestionList list;
    if (!list.ParseFromArray(suggestions.str, static_cast<int>(suggestions.len))) {
      return absl::DataLossError(absl::StrCat("suggestions of \"", session_id, "\" are corrupt"));
    }
    ReadLegacySuggestionKinds(&list);  // Kinds as strings, as the previous version stored them.
    *session.mutable_suggestions() = std::move(*list.mutable_suggestions());
  }
  return snapshot;
}

absl::StatusOr<livecall::v1::Session> SessionStore::Get(const std::string& session_id,
                                                        int64_t* version) {
  absl::StatusOr<Snapshot> snapshot = Read(session_id);
  if (!snapshot.ok()) return snapshot.status();
  if (version != nullptr) *version = ParseVersion(snapshot->version);
  return std::move(snapshot->session);
}

absl::StatusOr<int> SessionStore::AppendTurn(
    const std::string& session_id, const livecall::v1::Turn& turn,
    const google::protobuf::RepeatedPtrField<livecall::v1::Suggestion>& suggestions,
    int64_t expected_version, int64_t* version) {
  if (expected_version < 0) {
    return absl::InvalidArgumentError("expected_version must not be negative");
  }
  if (!IsWellFormedSessionId(session_id)) return NoSession(session_id);
  absl::StatusOr<std::string> call_sid = CallSidOf(session_id);
  if (!call_sid.ok()) return call_sid.status();
  const std::string& sid = *call_sid;
  const absl::Time now = absl::Now();
  // Each part serialised once: stored as it is and printed inside its event (session_wire.h).
  std::string turn_wire = turn.SerializeAsString();
  SuggestionListWire list = SerializeSuggestionList(suggestions);
  // Suggestions this process stored last for the session are most likely still the stored ones:
  // their event (printed only when they change) is not built unless the script says they changed.
  const size_t digest = absl::Hash<std::string>{}(list.stored);
  const std::optional<size_t> last = suggestion_digests_.Find(session_id);
  bool with_suggestions_event = !last.has_value() || *last != digest;
  constexpr size_t kSuggestionsEventArg = 4;
  auto suggestions_event = [&] {
    return LiveEventJson(NewEvent("suggestions", session_id, sid, now),
                         LiveEvent::kSuggestionsFieldNumber, list.plain);
  };
  std::vector<std::string> args;
  args.reserve(7);
  args.push_back(std::move(turn_wire));
  args.push_back(list.stored);
  args.push_back(absl::StrCat(absl::ToInt64Seconds(ttl_)));
  args.push_back(LiveEventJson(NewEvent("transcript", session_id, sid, now),
                               LiveEvent::kTurnFieldNumber, args[0]));
  args.push_back(with_suggestions_event ? suggestions_event() : std::string());
  args.push_back(absl::StrCat(expected_version));
  args.push_back(absl::StrCat(absl::ToInt64Milliseconds(ttl_ - TtlRefreshWindow(ttl_))));
  const std::vector<std::string> keys =
      WithCallStream({SessionKey(session_id), TurnsKey(session_id),
                      LegacySuggestionsKey(session_id), SessionEventsKey(session_id)},
                     sid);
  static const RedisScript& script = *new RedisScript(kAppendTurnScript);
  absl::StatusOr<RedisReply> reply = script.Run(redis_, keys, args);
  if (!reply.ok()) return reply.status();
  if (!with_suggestions_event && (*reply)->type == REDIS_REPLY_ARRAY && (*reply)->elements >= 1 &&
      (*reply)->element[0]->type == REDIS_REPLY_INTEGER && (*reply)->element[0]->integer == -4) {
    // Another replica changed them since: with their event this time (nothing was written).
    args[kSuggestionsEventArg] = suggestions_event();
    reply = script.Run(redis_, keys, args);
    if (!reply.ok()) return reply.status();
  }
  const redisReply& answer = **reply;
  if (answer.type != REDIS_REPLY_ARRAY || answer.elements < 1 ||
      answer.element[0]->type != REDIS_REPLY_INTEGER || answer.element[0]->integer == -4) {
    return absl::InternalError(absl::StrCat("redis: ", ReplyString(answer)));
  }
  const long long result = answer.element[0]->integer;
  if (result == -1) return NoSession(session_id);
  if (result == -2) {
    return absl::FailedPreconditionError(
        absl::StrCat("session \"", session_id, "\" has ended; it takes no more turns"));
  }
  const long long now_version = answer.elements > 1 ? answer.element[1]->integer : 0;
  if (result == -3) {
    return absl::AbortedError(absl::StrCat("session \"", session_id, "\" is at version ",
                                           now_version, ", not the expected ", expected_version,
                                           "; nothing was written: read it again"));
  }
  suggestion_digests_.Insert(session_id, digest);
  if (version != nullptr) *version = now_version;
  return static_cast<int>(result);
}

absl::StatusOr<std::string> SessionStore::CallSidOf(const std::string& session_id) {
  if (std::optional<std::string> known = call_sids_.Find(session_id)) return *std::move(known);
  absl::StatusOr<RedisReply> call_sid =
      redis_.Command({"HGET", SessionKey(session_id), "call_sid"});
  if (!call_sid.ok()) return call_sid.status();
  if (IsNil(**call_sid)) return NoSession(session_id);
  std::string sid = ReplyString(**call_sid);
  call_sids_.Insert(session_id, sid);
  return sid;
}

absl::StatusOr<int64_t> SessionStore::CountActive(absl::Time now) {
  return TrimAndCountIndex(redis_, kActiveSessionsKey, absl::ToUnixMillis(now - ttl_));
}

absl::StatusOr<livecall::v1::Session> SessionStore::End(const std::string& session_id,
                                                        const livecall::v1::Summary& summary,
                                                        const std::string& disposition,
                                                        const livecall::v1::Call* call,
                                                        absl::Time now) {
  for (int attempt = 0; attempt < kMaxEndAttempts; ++attempt) {
    absl::StatusOr<Snapshot> snapshot = Read(session_id);
    if (!snapshot.ok()) return snapshot.status();
    livecall::v1::Session& session = snapshot->session;
    if (session.status() != "active") {
      return absl::FailedPreconditionError(
          absl::StrCat("session \"", session_id, "\" has already ended"));
    }
    session.set_status("ended");
    *session.mutable_summary() = summary;
    session.set_disposition(disposition);
    *session.mutable_ended_at() = ToProtoTimestamp(now);
    *session.mutable_updated_at() = ToProtoTimestamp(now);

    livecall::v1::Session header = session;
    header.clear_conversation();
    header.clear_suggestions();
    LiveEvent ended = NewEvent("summary", session_id, session.call_sid(), now);
    *ended.mutable_summary() = summary;
    livecall::v1::ConversationRecord record;
    record.set_idempotency_key(absl::StrCat("conversation:", session_id));
    *record.mutable_session() = session;
    if (call != nullptr) *record.mutable_call() = *call;
    *record.mutable_finished_at() = ToProtoTimestamp(now);

    // The outbox lives in a slot of its own: the record goes in first, and becomes the
    // session's only when the end below names it (the deliverer drops entries no end names).
    absl::StatusOr<RedisReply> entry = redis_.Command(
        {"XADD", kOutboxKey, "*", "session_id", session_id, "idempotency_key",
         record.idempotency_key(), "record", ToJson(record, /*print_empty_fields=*/true)});
    if (!entry.ok()) return entry.status();
    const std::string entry_id = ReplyString(**entry);
    static const RedisScript& script = *new RedisScript(kEndScript);
    absl::StatusOr<RedisReply> written = script.Run(
        redis_,
        WithCallStream({SessionKey(session_id), SessionEventsKey(session_id)}, session.call_sid()),
        {snapshot->version, header.SerializeAsString(), absl::StrCat(absl::ToInt64Seconds(ttl_)),
         ToJson(ended), entry_id});
    if (!written.ok()) return written.status();
    if ((*written)->integer == 1) {
      // Off the active index after the end (it may name more sessions than are active, never
      // fewer); a failure here only leaves the gauge high until the entry ages out.
      if (absl::Status removed = redis_.Command({"ZREM", kActiveSessionsKey, session_id}).status();
          !removed.ok()) {
        LogWarning("session ended; its active-index entry stays until it ages out",
                   {{"sessionId", session_id}, {"error", removed.ToString()}});
      }
      return session;
    }
    // Not ended: the entry is nobody's. Deleting it saves the deliverer a check.
    (void)redis_.Command({"XDEL", kOutboxKey, entry_id});
    if ((*written)->integer == -1) return NoSession(session_id);
  }
  return absl::AbortedError(
      absl::StrCat("session \"", session_id, "\" kept changing; try ending it again"));
}

absl::StatusOr<livecall::v1::Session> SessionStore::Assign(const std::string& session_id,
                                                           const std::string& agent_id,
                                                           absl::Time now, int64_t* version) {
  // Optimistic, like End: the header is rewritten only if no other write came in between (a
  // turn, the end, another agent's assignment), so two agents answering at once cannot both win.
  for (int attempt = 0; attempt < kMaxEndAttempts; ++attempt) {
    absl::StatusOr<Snapshot> snapshot = Read(session_id);
    if (!snapshot.ok()) return snapshot.status();
    livecall::v1::Session& session = snapshot->session;
    const int64_t read_version = ParseVersion(snapshot->version);
    if (session.agent_id() == agent_id) {
      if (version != nullptr) *version = read_version;
      return session;
    }
    if (!session.agent_id().empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat("session \"", session_id, "\" belongs to agent ", session.agent_id(),
                       " already; only an unowned session is assigned"));
    }
    session.set_agent_id(agent_id);
    *session.mutable_updated_at() = ToProtoTimestamp(now);
    livecall::v1::Session header = session;
    header.clear_conversation();
    header.clear_suggestions();
    static const RedisScript& script = *new RedisScript(kAssignScript);
    absl::StatusOr<RedisReply> written = script.Run(
        redis_, {SessionKey(session_id)}, {snapshot->version, header.SerializeAsString()});
    if (!written.ok()) return written.status();
    if ((*written)->integer == -1) return NoSession(session_id);
    if ((*written)->integer == 1) {
      if (version != nullptr) *version = read_version + 1;  // As kAssignScript writes it.
      return session;
    }
  }
  return absl::AbortedError(
      absl::StrCat("session \"", session_id, "\" kept changing; try assigning it again"));
}

absl::StatusOr<std::vector<livecall::v1::Session>> SessionStore::ListByPhone(
    const std::string& e164, int limit) {
  absl::StatusOr<RedisReply> ids =
      redis_.Command({"ZREVRANGE", PhoneSessionsKey(e164), "0", absl::StrCat(limit - 1)});
  if (!ids.ok()) return ids.status();
  std::vector<livecall::v1::Session> sessions;
  for (size_t i = 0; i < (*ids)->elements; ++i) {
    absl::StatusOr<livecall::v1::Session> session = Get(ReplyString(*(*ids)->element[i]));
    if (absl::IsNotFound(session.status())) continue;  // Expired before its index entry.
    if (!session.ok()) return session.status();
    sessions.push_back(*std::move(session));
  }
  return sessions;
}

}  // namespace livecall::context
