#include "tests/support/redis_server.h"

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <csignal>
#include <filesystem>
#include <memory>

#include "absl/strings/str_cat.h"
#include "tests/support/files.h"
#include "tests/support/free_port.h"

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
  // 16 KiB stream nodes, as production runs Redis (k8s/base/redis.yaml).
  return StartRedisProcess(process_, port_, data_dir_, {"--stream-node-max-bytes", "16384"},
                           timeout);
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

bool RedisServer::Ping() const { return port_ != 0 && RedisAnswersPing(port_); }

std::string RedisServer::url() const { return absl::StrCat("redis://127.0.0.1:", port_, "/0"); }

RedisUrl RedisServer::parsed_url() const { return *ParseRedisUrl(url()); }

absl::Status StartRedisProcess(ChildProcess& process, int port, const std::string& dir,
                               const std::vector<std::string>& extra_args, absl::Duration timeout) {
  std::vector<std::string> args = {"--port",
                                   absl::StrCat(port),
                                   "--bind",
                                   "127.0.0.1",
                                   "--dir",
                                   dir,
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
                                   "--logfile",
                                   ""};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  absl::Status started = process.Start("redis-server", args, {}, absl::StrCat(dir, "/redis.log"));
  if (!started.ok()) return started;
  absl::Status ready = process.WaitUntilReady(
      absl::StrCat("redis-server on port ", port), [port] { return RedisAnswersPing(port); },
      timeout, 20);
  if (!ready.ok()) process.Kill();
  return ready;
}

bool RedisAnswersPing(int port) {
  timeval timeout = {0, 250000};
  std::unique_ptr<redisContext, decltype(&redisFree)> context(
      redisConnectWithTimeout("127.0.0.1", port, timeout), redisFree);
  if (context == nullptr || context->err != 0) return false;
  redisSetTimeout(context.get(), timeout);
  auto* reply = static_cast<redisReply*>(redisCommand(context.get(), "PING"));
  if (reply == nullptr) return false;
  bool pong = reply->type == REDIS_REPLY_STATUS && std::string(reply->str, reply->len) == "PONG";
  freeReplyObject(reply);
  return pong;
}

}  // namespace livecall::testing
