#include "tests/support/redis_server.h"

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <csignal>
#include <filesystem>
#include <memory>

#include "absl/strings/str_cat.h"
#include "tests/support/files.h"
#include "tests/support/free_port.h"
#include "tests/support/wait_for.h"

namespace livecall::testing {

RedisServer::~RedisServer() {
  process_.Kill();
  if (!data_dir_.empty() && ShouldRemoveTempDirs()) {
    std::error_code ignored;
    std::filesystem::remove_all(data_dir_, ignored);
  }
}

absl::Status RedisServer::Start(absl::Duration timeout) {
  if (data_dir_.empty()) {
    absl::StatusOr<std::string> dir = MakeTempDir("livecall-redis-");
    if (!dir.ok()) return dir.status();
    data_dir_ = *dir;
  }
  if (port_ == 0) port_ = FreeTcpPort();
  absl::Status started = process_.Start("redis-server",
                                        {"--port",
                                         absl::StrCat(port_),
                                         "--bind",
                                         "127.0.0.1",
                                         "--dir",
                                         data_dir_,
                                         "--appendonly",
                                         "yes",
                                         "--appendfsync",
                                         "always",
                                         "--save",
                                         "",
                                         "--daemonize",
                                         "no",
                                         "--protected-mode",
                                         "no",
                                         "--stream-node-max-bytes",
                                         "16384",
                                         "--logfile",
                                         ""},
                                        {}, absl::StrCat(data_dir_, "/redis.log"));
  if (!started.ok()) return started;
  bool exited = false;
  bool ready = WaitFor(
      [&] {
        if (!process_.Running()) {
          exited = true;
          return true;
        }
        return Ping();
      },
      timeout);
  if (exited || !ready) {
    std::string log = process_.LogTail(20);
    process_.Kill();
    return absl::UnavailableError(absl::StrCat("redis-server on port ", port_,
                                               exited ? " exited" : " did not answer PING",
                                               "; its log:\n", log));
  }
  return absl::OkStatus();
}

absl::Status RedisServer::Stop(absl::Duration timeout) {
  absl::Status signalled = process_.Signal(SIGTERM);
  if (!signalled.ok()) return signalled;
  absl::StatusOr<int> code = process_.WaitForExit(timeout);
  if (!code.ok()) return code.status();
  if (*code != 0) {
    return absl::InternalError(absl::StrCat("redis-server exited with code ", *code, "; its log:\n",
                                            process_.LogTail(20)));
  }
  return absl::OkStatus();
}

absl::Status RedisServer::Restart() {
  absl::Status stopped = Stop();
  if (!stopped.ok()) return stopped;
  return Start();
}

bool RedisServer::Ping() const {
  if (port_ == 0) return false;
  timeval timeout = {0, 250000};
  std::unique_ptr<redisContext, decltype(&redisFree)> context(
      redisConnectWithTimeout("127.0.0.1", port_, timeout), redisFree);
  if (context == nullptr || context->err != 0) return false;
  redisSetTimeout(context.get(), timeout);
  auto* reply = static_cast<redisReply*>(redisCommand(context.get(), "PING"));
  if (reply == nullptr) return false;
  bool pong = reply->type == REDIS_REPLY_STATUS && std::string(reply->str, reply->len) == "PONG";
  freeReplyObject(reply);
  return pong;
}

std::string RedisServer::url() const { return absl::StrCat("redis://127.0.0.1:", port_, "/0"); }

RedisUrl RedisServer::parsed_url() const { return *ParseRedisUrl(url()); }

}  // namespace livecall::testing
