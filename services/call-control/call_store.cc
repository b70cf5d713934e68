#include "services/call-control/call_store.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace livecall::call_control {
namespace {

// Twilio call SIDs: "CA" + 32 hex digits.
bool IsWellFormedCallSid(const std::string& sid) {
  if (sid.size() != 34 || sid.rfind("CA", 0) != 0) return false;
  for (size_t i = 2; i < sid.size(); ++i) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(sid[i]))) return false;
  }
  return true;
}

}  // namespace

std::string CallKey(const std::string& call_sid) {
  return absl::StrCat("livecall:call:", call_sid);
}

absl::Status CallStore::Put(const livecall::v1::Call& call,
                            std::optional<absl::Time> next_step_at) {
  std::vector<std::vector<std::string>> commands = {
      {"MULTI"},
      {"SET", CallKey(call.call_sid()), call.SerializeAsString(), "EX",
       absl::StrCat(absl::ToInt64Seconds(ttl_))},
  };
  if (next_step_at.has_value()) {
    commands.push_back(
        {"ZADD", kSandboxDueKey, absl::StrCat(absl::ToUnixMillis(*next_step_at)), call.call_sid()});
  } else {
    commands.push_back({"ZREM", kSandboxDueKey, call.call_sid()});
  }
  commands.push_back({"EXEC"});
  absl::StatusOr<std::vector<RedisReply>> replies = redis_.Pipeline(commands);
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

absl::StatusOr<livecall::v1::Call> CallStore::Get(const std::string& call_sid) {
  if (!IsWellFormedCallSid(call_sid)) {
    return absl::NotFoundError(absl::StrCat("no call \"", call_sid, "\""));
  }
  absl::StatusOr<RedisReply> reply = redis_.Command({"GET", CallKey(call_sid)});
  if (!reply.ok()) return reply.status();
  if (IsNil(**reply)) return absl::NotFoundError(absl::StrCat("no call \"", call_sid, "\""));
  livecall::v1::Call call;
  if (!call.ParseFromArray((*reply)->str, static_cast<int>((*reply)->len))) {
    return absl::DataLossError(absl::StrCat("call \"", call_sid, "\" is corrupt in redis"));
  }
  return call;
}

absl::StatusOr<std::vector<std::string>> CallStore::DueSteps(absl::Time now, int limit) {
  absl::StatusOr<RedisReply> reply =
      redis_.Command({"ZRANGEBYSCORE", kSandboxDueKey, "-inf",
                      absl::StrCat(absl::ToUnixMillis(now)), "LIMIT", "0", absl::StrCat(limit)});
  if (!reply.ok()) return reply.status();
  std::vector<std::string> sids;
  for (size_t i = 0; i < (*reply)->elements; ++i)
    sids.push_back(ReplyString(*(*reply)->element[i]));
  return sids;
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

}  // namespace livecall::call_control
