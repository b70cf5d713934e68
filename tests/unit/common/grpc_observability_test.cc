// The server interceptor (common/grpc_observability.h) on a real in-process gRPC server: every RPC
// is counted by method and code and logged with the caller's x-request-id.

#include "common/grpc_observability.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <memory>
#include <string>
#include <vector>

#include "common/log.h"
#include "common/metrics.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "livecall/v1/context.grpc.pb.h"

namespace livecall {
namespace {

using ::testing::HasSubstr;

TEST(ParseRpcNameTest, KnownMethodsKeepTheirNames) {
  RpcName name = ParseRpcName("/livecall.v1.Context/LookupCustomer");
  EXPECT_EQ(name.service, "livecall.v1.Context");
  EXPECT_EQ(name.method, "LookupCustomer");
  name = ParseRpcName("/grpc.health.v1.Health/Check");
  EXPECT_EQ(name.service, "grpc.health.v1.Health");
  EXPECT_EQ(name.method, "Check");
}

TEST(ParseRpcNameTest, AnythingElseIsUnknownSoLabelsStayBounded) {
  for (const char* path : {"/livecall.v1.Context/NoSuchMethod", "/attacker.Svc/Random123", "",
                           "no-slash", "/livecall.v1.Context"}) {
    SCOPED_TRACE(path);
    RpcName name = ParseRpcName(path);
    EXPECT_EQ(name.service, "unknown");
    EXPECT_EQ(name.method, "unknown");
  }
}

TEST(ObservabilityInterceptorTest, CountsAndLogsEveryRpcWithItsRequestId) {
  InitLogging("interceptor-test", LogLevel::kDebug);
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> factories;
  factories.push_back(NewObservabilityInterceptorFactory());
  builder.experimental().SetInterceptorCreators(std::move(factories));
  // A service whose every method answers UNIMPLEMENTED (gRPC needs one registered service).
  livecall::v1::Context::CallbackService unimplemented;
  builder.RegisterService(&unimplemented);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  server->GetHealthCheckService()->SetServingStatus("livecall.Known", true);

  auto stub = grpc::health::v1::Health::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
  ::testing::internal::CaptureStderr();
  for (const char* service : {"livecall.Known", "livecall.Unknown"}) {
    grpc::ClientContext context;
    context.AddMetadata("x-request-id", std::string("req-") + service);
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(service);
    grpc::health::v1::HealthCheckResponse response;
    stub->Check(&context, request, &response);
  }
  {
    auto context_stub = livecall::v1::Context::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
    grpc::ClientContext context;
    context.AddMetadata("x-request-id", "req-unimplemented");
    livecall::v1::LookupCustomerRequest request;
    livecall::v1::Customer response;
    EXPECT_EQ(context_stub->LookupCustomer(&context, request, &response).error_code(),
              grpc::StatusCode::UNIMPLEMENTED);
  }
  server->Shutdown();
  server->Wait();
  const std::string logs = ::testing::internal::GetCapturedStderr();

  EXPECT_THAT(logs, HasSubstr("\"request_id\":\"req-livecall.Known\""));
  EXPECT_THAT(logs, HasSubstr("\"code\":\"OK\""));
  EXPECT_THAT(logs, HasSubstr("\"request_id\":\"req-livecall.Unknown\""));
  EXPECT_THAT(logs, HasSubstr("\"code\":\"NOT_FOUND\""));
  const std::string metrics = SerializeMetrics();
  EXPECT_THAT(metrics,
              HasSubstr("livecall_grpc_server_handled_total{grpc_code=\"OK\","
                        "grpc_method=\"Check\",grpc_service=\"grpc.health.v1.Health\"} 1"));
  EXPECT_THAT(metrics,
              HasSubstr("livecall_grpc_server_handled_total{grpc_code=\"NOT_FOUND\","
                        "grpc_method=\"Check\",grpc_service=\"grpc.health.v1.Health\"} 1"));
  EXPECT_THAT(metrics,
              HasSubstr("livecall_grpc_server_handled_total{grpc_code=\"UNIMPLEMENTED\","
                        "grpc_method=\"LookupCustomer\",grpc_service=\"livecall.v1.Context\"} 1"));
  EXPECT_THAT(logs, HasSubstr("\"request_id\":\"req-unimplemented\""));
  EXPECT_THAT(metrics, HasSubstr("livecall_grpc_server_in_flight 0"));
}

}  // namespace
}  // namespace livecall
