// Keeps gRPC's process-wide state alive for the whole test binary.
//
// gRPC 1.51 runs callback-API completions on a shared "callback alternative" completion queue,
// reference-counted by the channels and servers that used the callback API. When a test drops the
// last such channel right after its callback ran, the queue is shut down while its own thread is
// still finishing that callback, and ASan reports a double free in grpc_cq_internal_unref. A real
// gateway keeps its channels for its whole life; here one channel that has made a callback call
// is kept for the life of the binary, so the queue is never torn down between tests.

#include <grpc/grpc.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>

#include "absl/synchronization/notification.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace {

class GrpcEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    grpc_init();
    channel_ = grpc::CreateChannel("127.0.0.1:1", grpc::InsecureChannelCredentials());
    auto stub = grpc::health::v1::Health::NewStub(channel_);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(100));
    grpc::health::v1::HealthCheckRequest request;
    grpc::health::v1::HealthCheckResponse response;
    absl::Notification done;
    stub->async()->Check(&context, &request, &response, [&done](grpc::Status) { done.Notify(); });
    done.WaitForNotification();
  }

  void TearDown() override {
    channel_.reset();
    grpc_shutdown();
  }

 private:
  std::shared_ptr<grpc::Channel> channel_;
};

[[maybe_unused]] ::testing::Environment* const kGrpcEnvironment =
    ::testing::AddGlobalTestEnvironment(new GrpcEnvironment);

}  // namespace
