#include "tests/support/redis_command.h"

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace livecall::testing {
namespace {

using Context = std::unique_ptr<redisContext, decltype(&redisFree)>;
using Reply = std::unique_ptr<redisReply, decltype(&freeReplyObject)>;

std::string ReplyText(const redisReply& reply) {
  switch (reply.type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
      return std::string(reply.str, reply.len);
    case REDIS_REPLY_INTEGER:
      return absl::StrCat(reply.integer);
    case REDIS_REPLY_ARRAY: {
      std::vector<std::string> parts;
      for (size_t i = 0; i < reply.elements; ++i) parts.push_back(ReplyText(*reply.element[i]));
      return absl::StrJoin(parts, "\n");
    }
    default:
      return "";
  }
}

Reply Run(redisContext& context, const std::vector<std::string>& argv) {
  std::vector<const char*> args;
  std::vector<size_t> lengths;
  for (const std::string& arg : argv) {
    args.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  return Reply(static_cast<redisReply*>(redisCommandArgv(&context, static_cast<int>(args.size()),
                                                         args.data(), lengths.data())),
               freeReplyObject);
}

}  // namespace

absl::StatusOr<std::string> RedisCommandText(int port, const std::vector<std::string>& argv,
                                             absl::string_view password) {
  timeval timeout = {1, 0};
  Context context(redisConnectWithTimeout("127.0.0.1", port, timeout), redisFree);
  if (context == nullptr || context->err != 0) {
    return absl::UnavailableError(absl::StrCat("cannot reach 127.0.0.1:", port));
  }
  redisSetTimeout(context.get(), timeout);
  if (!password.empty()) {
    Reply auth = Run(*context, {"AUTH", std::string(password)});
    if (auth == nullptr) {
      return absl::UnavailableError(absl::StrCat("no answer from 127.0.0.1:", port));
    }
    if (auth->type == REDIS_REPLY_ERROR) return ReplyText(*auth);
  }
  Reply reply = Run(*context, argv);
  if (reply == nullptr) {
    return absl::UnavailableError(absl::StrCat("no answer from 127.0.0.1:", port));
  }
  return ReplyText(*reply);
}

}  // namespace livecall::testing
