#ifndef LIVECALL_TESTS_UNIT_COMMON_QUEUED_TEST_SERVER_H_
#define LIVECALL_TESTS_UNIT_COMMON_QUEUED_TEST_SERVER_H_

// The server the QueuedUnaryMethods tests (queued_unary_test.cc, queued_stream_test.cc) share: a
// real gRPC server over TCP serving `service` and the queued `methods`, behind the observability
// interceptor as every service runs, and its shutdown in the services' order.

#include <grpcpp/grpcpp.h>

#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/grpc_observability.h"
#include "common/queued_unary.h"

namespace livecall::testing {

struct QueuedTestServer {
  std::unique_ptr<grpc::Server> server;  // Null when it did not start.
  std::shared_ptr<grpc::Channel> channel;
};

// Builds and starts the server, after the test has added its handlers to `methods`.
inline QueuedTestServer StartQueuedTestServer(grpc::Service& service, QueuedUnaryMethods& methods) {
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> factories;
  factories.push_back(NewObservabilityInterceptorFactory());
  builder.experimental().SetInterceptorCreators(std::move(factories));
  methods.AddTo(builder);
  QueuedTestServer started;
  started.server = builder.BuildAndStart();
  if (started.server == nullptr) return started;
  methods.Start();
  started.channel =
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
  return started;
}

// grpc::Server::Shutdown with `grace`, then the queues' Stop (ServeGrpcUntilSignal's order).
inline void ShutDownQueuedTestServer(grpc::Server& server, QueuedUnaryMethods& methods,
                                     absl::Duration grace) {
  server.Shutdown(absl::ToChronoTime(absl::Now() + grace));
  methods.Stop();
}

}  // namespace livecall::testing

#endif  // LIVECALL_TESTS_UNIT_COMMON_QUEUED_TEST_SERVER_H_
