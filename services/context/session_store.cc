#include "services/context/session_store.h"

#include "absl/strings/ascii.h"
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

}  // namespace

std::string SessionKey(const std::string& session_id) {
  return absl::StrCat("livecall:session:", session_id);
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
  const std::string ttl_seconds = absl::StrCat(absl::ToInt64Seconds(ttl_));
  const std::string key = SessionKey(session.session_id());
  const std::string index = PhoneSessionsKey(session.phone_number());
  absl::StatusOr<std::vector<RedisReply>> replies = redis_.Pipeline({
      {"MULTI"},
      {"SET", key, session.SerializeAsString(), "EX", ttl_seconds},
      {"ZADD", index, absl::StrCat(absl::ToUnixMillis(now)), session.session_id()},
      {"EXPIRE", index, ttl_seconds},
      {"EXEC"},
  });
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
  return session;
}

absl::StatusOr<livecall::v1::Session> SessionStore::Get(const std::string& session_id) {
  if (!IsWellFormedSessionId(session_id)) {
    return absl::NotFoundError(absl::StrCat("no session \"", session_id, "\""));
  }
  absl::StatusOr<RedisReply> reply = redis_.Command({"GET", SessionKey(session_id)});
  if (!reply.ok()) return reply.status();
  if (IsNil(**reply)) return absl::NotFoundError(absl::StrCat("no session \"", session_id, "\""));
  livecall::v1::Session session;
  if (!session.ParseFromArray((*reply)->str, static_cast<int>((*reply)->len))) {
    return absl::DataLossError(absl::StrCat("session \"", session_id, "\" is corrupt in redis"));
  }
  return session;
}

}  // namespace livecall::context
