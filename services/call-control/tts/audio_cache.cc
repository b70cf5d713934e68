#include "services/call-control/tts/audio_cache.h"

#include <vector>

#include "absl/strings/str_cat.h"

namespace livecall::call_control::tts {
namespace {

constexpr char kLruKey[] = "livecall:tts:lru";

std::string AudioKey(const std::string& key) { return absl::StrCat("livecall:tts:audio:", key); }

absl::Status ReplyError(const redisReply& reply) {
  if (reply.type == REDIS_REPLY_ERROR) {
    return absl::UnavailableError(absl::StrCat("redis: ", ReplyString(reply)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::optional<std::string>> AudioCache::Get(const std::string& key, absl::Time now) {
  const std::string ttl_ms = absl::StrCat(absl::ToInt64Milliseconds(options_.ttl));
  // Touching a missing key does nothing: PEXPIRE answers 0 and ZADD XX adds no member.
  absl::StatusOr<std::vector<RedisReply>> replies =
      redis_.Pipeline({{"GET", AudioKey(key)},
                       {"PEXPIRE", AudioKey(key), ttl_ms},
                       {"ZADD", kLruKey, "XX", absl::StrCat(absl::ToUnixMillis(now)), key}});
  if (!replies.ok()) return replies.status();
  for (const RedisReply& reply : *replies) {
    if (absl::Status error = ReplyError(*reply); !error.ok()) return error;
  }
  if (IsNil(*(*replies)[0])) return std::nullopt;
  return ReplyString(*(*replies)[0]);
}

absl::StatusOr<bool> AudioCache::Touch(const std::string& key, absl::Time now) {
  // PEXPIRE answers 1 when the key exists; on a missing key neither command changes anything.
  absl::StatusOr<std::vector<RedisReply>> replies = redis_.Pipeline(
      {{"PEXPIRE", AudioKey(key), absl::StrCat(absl::ToInt64Milliseconds(options_.ttl))},
       {"ZADD", kLruKey, "XX", absl::StrCat(absl::ToUnixMillis(now)), key}});
  if (!replies.ok()) return replies.status();
  for (const RedisReply& reply : *replies) {
    if (absl::Status error = ReplyError(*reply); !error.ok()) return error;
  }
  return (*replies)[0]->integer == 1;
}

absl::Status AudioCache::Put(const std::string& key, const std::string& wav, absl::Time now) {
  const int64_t now_ms = absl::ToUnixMillis(now);
  absl::StatusOr<std::vector<RedisReply>> replies = redis_.Pipeline(
      {{"SET", AudioKey(key), wav, "PX", absl::StrCat(absl::ToInt64Milliseconds(options_.ttl))},
       {"ZADD", kLruKey, absl::StrCat(now_ms), key},
       // Members whose audio expired by TTL.
       {"ZREMRANGEBYSCORE", kLruKey, "-inf",
        absl::StrCat("(", now_ms - absl::ToInt64Milliseconds(options_.ttl))},
       {"ZCARD", kLruKey}});
  if (!replies.ok()) return replies.status();
  for (const RedisReply& reply : *replies) {
    if (absl::Status error = ReplyError(*reply); !error.ok()) return error;
  }
  const int64_t entries = (*replies)[3]->integer;
  if (entries <= options_.max_entries) return absl::OkStatus();
  absl::StatusOr<RedisReply> evicted =
      redis_.Command({"ZPOPMIN", kLruKey, absl::StrCat(entries - options_.max_entries)});
  if (!evicted.ok()) return evicted.status();
  if (absl::Status error = ReplyError(**evicted); !error.ok()) return error;
  // One DEL per key: the keys are in different Redis Cluster slots.
  std::vector<std::vector<std::string>> deletes;
  // ZPOPMIN answers member, score, member, score, ...
  for (size_t i = 0; i + 1 < (*evicted)->elements; i += 2) {
    deletes.push_back({"DEL", AudioKey(ReplyString(*(*evicted)->element[i]))});
  }
  if (deletes.empty()) return absl::OkStatus();
  absl::StatusOr<std::vector<RedisReply>> deleted = redis_.Pipeline(deletes);
  if (!deleted.ok()) return deleted.status();
  for (const RedisReply& reply : *deleted) {
    if (absl::Status error = ReplyError(*reply); !error.ok()) return error;
  }
  return absl::OkStatus();
}

}  // namespace livecall::call_control::tts
