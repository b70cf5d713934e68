#include "services/gateway/readiness.h"

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "services/gateway/error_response.h"

namespace livecall::gateway {
namespace {

using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

struct HealthCall {
  grpc::ClientContext context;
  HealthCheckRequest request;
  HealthCheckResponse response;
};

// Collects the results of one /readyz request; the last check to finish answers.
class Round {
 public:
  Round(std::vector<std::string> names, std::function<void(HttpResponse)> done)
      : names_(std::move(names)),
        results_(names_.size()),
        remaining_(names_.size()),
        done_(std::move(done)) {}

  void Report(size_t index, const absl::Status& status) ABSL_LOCKS_EXCLUDED(mu_) {
    {
      absl::MutexLock lock(&mu_);
      results_[index] = status;
      if (--remaining_ > 0) return;
    }
    done_(Render());
  }

 private:
  HttpResponse Render() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    bool ready = true;
    std::string checks;
    for (size_t i = 0; i < names_.size(); ++i) {
      const absl::Status& status = results_[i];
      ready = ready && status.ok();
      const std::string text = status.ok() ? "ok"
                                           : absl::StrCat(absl::StatusCodeToString(status.code()),
                                                          ": ", status.message());
      absl::StrAppend(&checks, i == 0 ? "" : ",", "\"", JsonEscape(names_[i]), "\":\"",
                      JsonEscape(ToValidUtf8(text)), "\"");
    }
    HttpResponse response;
    response.status = ready ? 200 : 503;
    response.body = absl::StrCat("{\"status\":\"", ready ? "ready" : "not ready", "\",\"checks\":{",
                                 checks, "}}");
    return response;
  }

  const std::vector<std::string> names_;
  absl::Mutex mu_;
  std::vector<absl::Status> results_ ABSL_GUARDED_BY(mu_);
  size_t remaining_ ABSL_GUARDED_BY(mu_);
  std::function<void(HttpResponse)> done_;
};

}  // namespace

ReadinessCheck GrpcHealthCheck(std::shared_ptr<grpc::Channel> channel, absl::Duration timeout) {
  auto stub = std::shared_ptr<Health::Stub>(Health::NewStub(channel));
  return [stub, timeout](std::function<void(absl::Status)> done) {
    auto call = std::make_shared<HealthCall>();
    call->context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
    stub->async()->Check(&call->context, &call->request, &call->response,
                         [call, done = std::move(done)](grpc::Status status) {
                           if (!status.ok()) {
                             done(absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                                               status.error_message()));
                           } else if (call->response.status() != HealthCheckResponse::SERVING) {
                             done(absl::UnavailableError(
                                 HealthCheckResponse::ServingStatus_Name(call->response.status())));
                           } else {
                             done(absl::OkStatus());
                           }
                         });
  };
}

ReadinessCheck RedisPingCheck(RedisPool* pool, Executor* executor) {
  return [pool, executor](std::function<void(absl::Status)> done) {
    executor->Submit([pool, done = std::move(done)] { done(pool->Ping()); });
  };
}

ReadinessChecker::ReadinessChecker(std::vector<std::pair<std::string, ReadinessCheck>> checks)
    : checks_(std::move(checks)) {}

void ReadinessChecker::Check(std::function<void(HttpResponse)> done) const {
  if (checks_.empty()) {
    done(JsonResponse(200, "{\"status\":\"ready\",\"checks\":{}}"));
    return;
  }
  std::vector<std::string> names;
  for (const auto& [name, check] : checks_) names.push_back(name);
  auto round = std::make_shared<Round>(std::move(names), std::move(done));
  for (size_t i = 0; i < checks_.size(); ++i) {
    checks_[i].second([round, i](absl::Status status) { round->Report(i, status); });
  }
}

}  // namespace livecall::gateway
