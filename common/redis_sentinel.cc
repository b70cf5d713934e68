#include "common/redis_sentinel.h"

#include <sys/time.h>

#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace livecall {
namespace {

std::string Address(const RedisNodeAddress& address) {
  return absl::StrCat(address.host, ":", address.port);
}

RedisReply Ask(redisContext& context, int argc, const char** argv) {
  return RedisReply(static_cast<redisReply*>(redisCommandArgv(&context, argc, argv, nullptr)));
}

}  // namespace

absl::StatusOr<RedisNodeAddress> AskSentinelForPrimary(
    const RedisNodeAddress& sentinel, const std::string& master_name, const std::string& password,
    absl::Duration connect_timeout, absl::Duration command_timeout, bool* answered) {
  *answered = false;
  const std::string where = absl::StrCat("redis sentinel ", Address(sentinel));
  timeval connect = absl::ToTimeval(connect_timeout);
  RedisPool::Connection context(
      redisConnectWithTimeout(sentinel.host.c_str(), sentinel.port, connect));
  if (context == nullptr) return absl::UnavailableError(absl::StrCat(where, ": out of memory"));
  if (context->err) return absl::UnavailableError(absl::StrCat(where, ": ", context->errstr));
  timeval command = absl::ToTimeval(command_timeout);
  if (redisSetTimeout(context.get(), command) != REDIS_OK) {
    return absl::UnavailableError(absl::StrCat(where, ": ", context->errstr));
  }
  const char* question[] = {"SENTINEL", "get-master-addr-by-name", master_name.c_str()};
  RedisReply reply = Ask(*context, 3, question);
  if (reply != nullptr && reply->type == REDIS_REPLY_ERROR &&
      absl::StartsWith(absl::string_view(reply->str, reply->len), "NOAUTH") && !password.empty()) {
    // A Sentinel with requirepass (Bitnami's chart gives its Sentinels the data nodes' password).
    const char* auth[] = {"AUTH", password.c_str()};
    RedisReply authenticated = Ask(*context, 2, auth);
    if (authenticated == nullptr) {
      return absl::UnavailableError(absl::StrCat(where, ": ", context->errstr));
    }
    if (authenticated->type == REDIS_REPLY_ERROR) {
      *answered = true;
      return absl::UnavailableError(
          absl::StrCat(where, " refused the password: ", ReplyString(*authenticated)));
    }
    reply = Ask(*context, 3, question);
  }
  if (reply == nullptr) return absl::UnavailableError(absl::StrCat(where, ": ", context->errstr));
  *answered = true;
  if (reply->type == REDIS_REPLY_ERROR) {
    return absl::UnavailableError(absl::StrCat(where, ": ", ReplyString(*reply)));
  }
  // [ip, port], or nil for a name it does not monitor.
  RedisNodeAddress primary;
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
      !absl::SimpleAtoi(ReplyString(*reply->element[1]), &primary.port)) {
    return absl::UnavailableError(
        absl::StrCat(where, " knows no primary named \"", master_name, "\""));
  }
  primary.host = ReplyString(*reply->element[0]);
  return primary;
}

absl::Status CheckIsPrimary(redisContext& context, const RedisNodeAddress& address) {
  const char* role[] = {"ROLE"};
  RedisReply reply = Ask(context, 1, role);
  if (reply == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("redis ", Address(address), " role: ", context.errstr));
  }
  // ["master", offset, replicas] / ["slave", ...] / ["sentinel", ...]
  std::string name;
  if (reply->type == REDIS_REPLY_ARRAY && reply->elements > 0)
    name = ReplyString(*reply->element[0]);
  if (name == "master") return absl::OkStatus();
  return absl::UnavailableError(
      absl::StrCat("redis ", Address(address), " is not the primary (ROLE answers \"",
                   name.empty() ? ReplyString(*reply) : name,
                   "\"): a failover moved the primary, or a Sentinel named an old one"));
}

}  // namespace livecall
