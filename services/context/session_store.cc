#include "services/context/session_store.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/proto_time.h"

namespace livecall::context {
namespace {

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

absl::Status CheckExec(const std::vector<RedisReply>& replies) {
  const redisReply& exec = *replies.back();
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

std::string SerializeSuggestions(
    const google::protobuf::RepeatedPtrField<livecall::v1::Suggestion>& suggestions) {
  livecall::v1::SuggestionList list;
  *list.mutable_suggestions() = suggestions;
  return list.SerializeAsString();
}

// KEYS: header, turns, suggestions. ARGV: turn, suggestions, ttl seconds.
// Returns the new number of turns, -1 when the session does not exist, -2 when it has ended.
constexpr char kAppendTurnScript[] = R"lua(
  local status = redis.call('HGET', KEYS[1], 'status')
  if not status then return -1 end
  if status ~= 'active' then return -2 end
  local count = redis.call('RPUSH', KEYS[2], ARGV[1])
  redis.call('SET', KEYS[3], ARGV[2], 'EX', ARGV[3])
  redis.call('EXPIRE', KEYS[1], ARGV[3])
  redis.call('EXPIRE', KEYS[2], ARGV[3])
  return count)lua";

// KEYS: header. ARGV: expected version, new header, new status, ttl seconds.
// Returns 1 when written, 0 when the version moved on (retry), -1 when the session is gone.
constexpr char kRewriteHeaderScript[] = R"lua(
  local version = redis.call('HGET', KEYS[1], 'version')
  if not version then return -1 end
  if version ~= ARGV[1] then return 0 end
  redis.call('HSET', KEYS[1], 'proto', ARGV[2], 'status', ARGV[3], 'version', tonumber(version) + 1)
  redis.call('EXPIRE', KEYS[1], ARGV[4])
  return 1)lua";

constexpr int kMaxRewriteAttempts = 5;

}  // namespace

std::string SessionKey(const std::string& session_id) {
  return absl::StrCat("livecall:session:{", session_id, "}");
}
std::string TurnsKey(const std::string& session_id) {
  return absl::StrCat(SessionKey(session_id), ":turns");
}
std::string SuggestionsKey(const std::string& session_id) {
  return absl::StrCat(SessionKey(session_id), ":suggestions");
}
std::string PhoneSessionsKey(const std::string& e164) {
  return absl::StrCat("livecall:phone:", e164, ":sessions");
}

absl::StatusOr<livecall::v1::Session> SessionStore::Create(livecall::v1::Session session,
                                                           absl::Time now) {
  session.set_session_id(NewId("ses_"));
  session.set_status("active");
  *session.mutable_created_at() = ToProtoTimestamp(now);
  *session.mutable_updated_at() = ToProtoTimestamp(now);
  livecall::v1::Session header = session;
  header.clear_conversation();
  header.clear_suggestions();
  const std::string ttl = absl::StrCat(absl::ToInt64Seconds(ttl_));
  const std::string& id = session.session_id();
  std::vector<std::vector<std::string>> commands = {
      {"MULTI"},
      {"HSET", SessionKey(id), "proto", header.SerializeAsString(), "status", "active", "version",
       "1"},
      {"EXPIRE", SessionKey(id), ttl},
      {"SET", SuggestionsKey(id), SerializeSuggestions(session.suggestions()), "EX", ttl},
  };
  if (session.conversation_size() > 0) {
    std::vector<std::string> push = {"RPUSH", TurnsKey(id)};
    for (const livecall::v1::Turn& turn : session.conversation()) {
      push.push_back(turn.SerializeAsString());
    }
    commands.push_back(std::move(push));
    commands.push_back({"EXPIRE", TurnsKey(id), ttl});
  }
  const std::string index = PhoneSessionsKey(session.phone_number());
  commands.push_back({"ZADD", index, absl::StrCat(absl::ToUnixMillis(now)), id});
  commands.push_back({"EXPIRE", index, ttl});
  commands.push_back({"EXEC"});
  absl::StatusOr<std::vector<RedisReply>> replies = redis_.Pipeline(commands);
  if (!replies.ok()) return replies.status();
  if (absl::Status status = CheckExec(*replies); !status.ok()) return status;
  return session;
}

absl::StatusOr<livecall::v1::Session> SessionStore::ParseSession(const std::string& session_id,
                                                                 const redisReply& header,
                                                                 const redisReply& turns,
                                                                 const redisReply& suggestions) {
  // header: HMGET proto status.
  if (header.type != REDIS_REPLY_ARRAY || header.elements != 2 || IsNil(*header.element[0])) {
    return NoSession(session_id);
  }
  livecall::v1::Session session;
  const redisReply& proto = *header.element[0];
  if (!session.ParseFromArray(proto.str, static_cast<int>(proto.len))) {
    return absl::DataLossError(absl::StrCat("session \"", session_id, "\" is corrupt in redis"));
  }
  session.set_status(ReplyString(*header.element[1]));
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
    *session.mutable_suggestions() = std::move(*list.mutable_suggestions());
  }
  return session;
}

absl::StatusOr<livecall::v1::Session> SessionStore::Get(const std::string& session_id) {
  if (!IsWellFormedSessionId(session_id)) return NoSession(session_id);
  // One MULTI block: a consistent snapshot even while another replica appends.
  absl::StatusOr<std::vector<RedisReply>> replies = redis_.Pipeline({
      {"MULTI"},
      {"HMGET", SessionKey(session_id), "proto", "status"},
      {"LRANGE", TurnsKey(session_id), "0", "-1"},
      {"GET", SuggestionsKey(session_id)},
      {"EXEC"},
  });
  if (!replies.ok()) return replies.status();
  if (absl::Status status = CheckExec(*replies); !status.ok()) return status;
  const redisReply& exec = *replies->back();
  return ParseSession(session_id, *exec.element[0], *exec.element[1], *exec.element[2]);
}

absl::StatusOr<int> SessionStore::AppendTurn(
    const std::string& session_id, const livecall::v1::Turn& turn,
    const std::vector<livecall::v1::Suggestion>& suggestions) {
  if (!IsWellFormedSessionId(session_id)) return NoSession(session_id);
  livecall::v1::SuggestionList list;
  for (const livecall::v1::Suggestion& suggestion : suggestions)
    *list.add_suggestions() = suggestion;
  absl::StatusOr<RedisReply> reply =
      redis_.Command({"EVAL", kAppendTurnScript, "3", SessionKey(session_id), TurnsKey(session_id),
                      SuggestionsKey(session_id), turn.SerializeAsString(),
                      list.SerializeAsString(), absl::StrCat(absl::ToInt64Seconds(ttl_))});
  if (!reply.ok()) return reply.status();
  const long long result = (*reply)->integer;
  if (result == -1) return NoSession(session_id);
  if (result == -2) {
    return absl::FailedPreconditionError(
        absl::StrCat("session \"", session_id, "\" has ended; it takes no more turns"));
  }
  return static_cast<int>(result);
}

absl::StatusOr<livecall::v1::Session> SessionStore::End(const std::string& session_id,
                                                        const livecall::v1::Summary& summary,
                                                        const std::string& disposition,
                                                        absl::Time now) {
  if (!IsWellFormedSessionId(session_id)) return NoSession(session_id);
  for (int attempt = 0; attempt < kMaxRewriteAttempts; ++attempt) {
    absl::StatusOr<RedisReply> header =
        redis_.Command({"HMGET", SessionKey(session_id), "proto", "status", "version"});
    if (!header.ok()) return header.status();
    const redisReply& fields = **header;
    if (fields.elements != 3 || IsNil(*fields.element[0])) return NoSession(session_id);
    if (ReplyString(*fields.element[1]) != "active") {
      return absl::FailedPreconditionError(
          absl::StrCat("session \"", session_id, "\" has already ended"));
    }
    livecall::v1::Session session;
    if (!session.ParseFromArray(fields.element[0]->str, static_cast<int>(fields.element[0]->len))) {
      return absl::DataLossError(absl::StrCat("session \"", session_id, "\" is corrupt in redis"));
    }
    session.set_status("ended");
    *session.mutable_summary() = summary;
    session.set_disposition(disposition);
    *session.mutable_ended_at() = ToProtoTimestamp(now);
    *session.mutable_updated_at() = ToProtoTimestamp(now);
    absl::StatusOr<RedisReply> written = redis_.Command(
        {"EVAL", kRewriteHeaderScript, "1", SessionKey(session_id), ReplyString(*fields.element[2]),
         session.SerializeAsString(), "ended", absl::StrCat(absl::ToInt64Seconds(ttl_))});
    if (!written.ok()) return written.status();
    if ((*written)->integer == -1) return NoSession(session_id);
    if ((*written)->integer == 1) return Get(session_id);
  }
  return absl::AbortedError(
      absl::StrCat("session \"", session_id, "\" kept changing; try ending it again"));
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
