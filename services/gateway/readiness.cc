#include "services/gateway/readiness.h"

#include <google/protobuf/struct.pb.h>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/grpc_server.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/pending_calls.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "services/gateway/error_response.h"
#include "services/gateway/json_output.h"
#include "services/gateway/url.h"

namespace livecall::gateway {
namespace {

using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

// One channel's health stub. The check's function owns it; destroyed with the checker, it waits
// for every call it started to be gone (common/pending_calls.h) before the stub, its channel and
// the queues go.
struct HealthClient {
  std::unique_ptr<Health::Stub> stub;
  absl::Duration timeout;
  std::shared_ptr<ClientQueues> queues;
  PendingCalls pending;  // Last: destroyed (waited for) first.
};

// One Check in flight: the queue's tag.
class HealthCall final : public ClientQueueTag {
 public:
  HealthCall(PendingCalls* calls, std::function<void(absl::Status)> done)
      : pending_(calls), done_(std::move(done)) {}

  void Start(HealthClient& client) {
    PreparePeerCall(&context_, absl::Now() + client.timeout, /*request_id=*/"");
    reader_ = client.stub->PrepareAsyncCheck(&context_, request_, client.queues->Pick());
    reader_->StartCall();
    reader_->Finish(&response_, &status_, static_cast<ClientQueueTag*>(this));
  }

  void OnQueued(bool /*ok: always true for a unary call's Finish*/) override {
    std::unique_ptr<HealthCall> self(this);
    // The reader lives in the call's arena, which the context releases: it goes first.
    reader_.reset();
    if (!status_.ok()) {
      done_(absl::Status(static_cast<absl::StatusCode>(status_.error_code()),
                         status_.error_message()));
    } else if (response_.status() != HealthCheckResponse::SERVING) {
      done_(absl::UnavailableError(HealthCheckResponse::ServingStatus_Name(response_.status())));
    } else {
      done_(absl::OkStatus());
    }
  }

 private:
  PendingCalls::Guard pending_;  // First: released after everything below.
  grpc::ClientContext context_;
  HealthCheckRequest request_;
  HealthCheckResponse response_;
  grpc::Status status_;
  std::unique_ptr<grpc::ClientAsyncResponseReader<HealthCheckResponse>> reader_;
  std::function<void(absl::Status)> done_;
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
    google::protobuf::Struct checks;
    for (size_t i = 0; i < names_.size(); ++i) {
      const absl::Status& status = results_[i];
      ready = ready && status.ok();
      (*checks.mutable_fields())[names_[i]] =
          JsonString(status.ok() ? "ok"
                                 : absl::StrCat(absl::StatusCodeToString(status.code()), ": ",
                                                status.message()));
    }
    return ReadinessResponse(ready, std::move(checks));
  }

  const std::vector<std::string> names_;
  absl::Mutex mu_;
  std::vector<absl::Status> results_ ABSL_GUARDED_BY(mu_);
  size_t remaining_ ABSL_GUARDED_BY(mu_);
  std::function<void(HttpResponse)> done_;
};

}  // namespace

std::string HealthzBody() {
  google::protobuf::Struct body;
  (*body.mutable_fields())["status"] = JsonString("ok");
  return PrintJson(body);
}

HttpResponse ReadinessResponse(bool ready, google::protobuf::Struct checks) {
  google::protobuf::Struct body;
  (*body.mutable_fields())["status"] = JsonString(ready ? "ready" : "not ready");
  *(*body.mutable_fields())["checks"].mutable_struct_value() = std::move(checks);
  return JsonResponse(ready ? 200 : 503, PrintJson(body));
}

ReadinessCheck GrpcHealthCheck(std::shared_ptr<grpc::Channel> channel, absl::Duration timeout,
                               std::shared_ptr<ClientQueues> queues) {
  auto client = std::make_shared<HealthClient>();
  client->stub = Health::NewStub(channel);
  client->timeout = timeout;
  client->queues = std::move(queues);
  return [client](std::function<void(absl::Status)> done) {
    (new HealthCall(&client->pending, std::move(done)))->Start(*client);
  };
}

ReadinessCheck RedisPingCheck(RedisPool* pool, Executor* executor) {
  return [pool, executor](std::function<void(absl::Status)> done) {
    executor->Submit([pool, done = std::move(done)] { done(pool->Ping()); });
  };
}

ReadinessChecker::ReadinessChecker(std::vector<std::pair<std::string, ReadinessCheck>> checks,
                                   ReadinessOptions options)
    : checks_(std::move(checks)), options_(std::move(options)) {}

ReadinessChecker::~ReadinessChecker() {
  absl::MutexLock lock(&mu_);
  auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !in_flight_; };
  mu_.Await(absl::Condition(&idle));
}

void ReadinessChecker::Check(std::function<void(HttpResponse)> done) const {
  if (checks_.empty()) {
    done(ReadinessResponse(/*ready=*/true, {}));
    return;
  }
  std::optional<HttpResponse> fresh;
  {
    absl::MutexLock lock(&mu_);
    if (cached_.has_value() && options_.now() - cached_at_ < options_.cache_for) {
      fresh = *cached_;
    } else {
      waiting_.push_back(std::move(done));
      if (in_flight_) return;  // Answered when the round in flight finishes.
      in_flight_ = true;
      round_started_at_ = options_.now();
    }
  }
  if (fresh.has_value()) return done(*std::move(fresh));
  std::vector<std::string> names;
  for (const auto& [name, check] : checks_) names.push_back(name);
  auto round = std::make_shared<Round>(std::move(names),
                                       [this](HttpResponse response) { Finish(response); });
  for (size_t i = 0; i < checks_.size(); ++i) {
    checks_[i].second([round, i](absl::Status status) { round->Report(i, status); });
  }
}

void ReadinessChecker::Finish(HttpResponse response) const {
  std::vector<std::function<void(HttpResponse)>> waiting;
  {
    absl::MutexLock lock(&mu_);
    // Whoever reads a cached answer can tell how old it is: a test that restarted a backend waits
    // for a round that began after the restart, not for a copy of the one before.
    response.headers.emplace_back(
        std::string(kReadinessCheckedAtHeader),
        absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", round_started_at_, absl::UTCTimeZone()));
    cached_ = response;
    cached_at_ = options_.now();
    waiting.swap(waiting_);
    in_flight_ = false;
  }
  for (std::function<void(HttpResponse)>& done : waiting) done(response);
}

void AdminHandler::Handle(const HttpRequest& request, const std::string&, const std::string&,
                          HttpResponder respond) {
  const std::string path(
      SplitTarget(absl::string_view(request.target().data(), request.target().size())).path);
  if (path != "/healthz" && path != "/readyz" && path != "/metrics") {
    return respond(HttpErrorResponse(404, "NOT_FOUND",
                                     "the admin port serves /healthz, /readyz and /metrics"));
  }
  if (request.method() != boost::beast::http::verb::get) {
    HttpResponse refused = HttpErrorResponse(405, "METHOD_NOT_ALLOWED", "use GET");
    refused.headers.emplace_back("Allow", "GET");
    return respond(std::move(refused));
  }
  if (path == "/healthz") return respond(JsonResponse(200, HealthzBody()));
  if (path == "/metrics") {
    HttpResponse metrics = JsonResponse(200, SerializeMetrics());
    metrics.content_type = std::string(kMetricsContentType);
    return respond(std::move(metrics));
  }
  readiness_->Check(std::move(respond));
}

}  // namespace livecall::gateway
