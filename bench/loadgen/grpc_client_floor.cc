// The floor of a unary gRPC *client* call on this machine, made as the services make their peer
// calls (common/queued_unary.h's CallOnQueue, the gateway's backend queue): one thread polls a
// completion queue of its own, starts each call on it and takes its answer from it.
//   livecall-bench-grpc-client-floor TARGET METHOD IN_FLIGHT CALLS
// The channel has common/grpc_server.cc's peer arguments (keepalive, reconnect back-off,
// round_robin, no retry filter); FLOOR_CHANNEL_ARGS="name=value,..." adds or overrides arguments
// (integers, or strings), to measure one of gRPC's options at a time. Each call carries a 5 s
// deadline. Prints CPU µs and context switches per call of this process (getrusage, warm-up
// excluded); count its system calls with `perf trace -s -- livecall-bench-grpc-client-floor ...`.
// Pair it with livecall-bench-grpc-floor as the server (bench/README.md, issue 17). Under `valgrind
// --tool=callgrind` the counters are zeroed after the warm-up and dumped at the end, so the dump's
// total divided by CALLS is the instructions per call.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "floor_args.h"

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#else
#define CALLGRIND_ZERO_STATS
#define CALLGRIND_DUMP_STATS
#endif

namespace {

struct Call {
  grpc::ClientContext context;
  grpc::ByteBuffer response;
  grpc::Status status;
  std::unique_ptr<grpc::GenericClientAsyncResponseReader> reader;
};

struct Usage {
  double cpu_s;
  long switches;
};

Usage Now() {
  rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return {usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 + usage.ru_stime.tv_sec +
              usage.ru_stime.tv_usec / 1e6,
          usage.ru_nvcsw + usage.ru_nivcsw};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s TARGET METHOD IN_FLIGHT CALLS\n", argv[0]);
    return 2;
  }
  const std::string target = argv[1];
  const std::string method = argv[2];
  const int in_flight = std::atoi(argv[3]);
  const long calls = std::atol(argv[4]);

  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  args.SetServiceConfigJSON(R"({"loadBalancingConfig":[{"round_robin":{}}]})");
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
  ForEachFloorArg(
      "FLOOR_CHANNEL_ARGS", [&](const std::string& name, int value) { args.SetInt(name, value); },
      [&](const std::string& name, const std::string& value) { args.SetString(name, value); });
  auto channel = grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
  if (!channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(60))) {
    std::fprintf(stderr, "cannot connect to %s\n", target.c_str());
    return 1;
  }
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue queue;
  grpc::Slice empty{std::string()};
  const grpc::ByteBuffer request(&empty, 1);

  long started = 0;
  long done = 0;
  long failed = 0;
  auto start_call = [&] {
    auto* call = new Call;
    call->context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    call->reader = stub.PrepareUnaryCall(&call->context, method, request, &queue);
    call->reader->StartCall();
    call->reader->Finish(&call->response, &call->status, call);
    ++started;
  };
  const long warmup = calls / 10;
  Usage from{};
  auto wall_from = std::chrono::steady_clock::now();
  for (int i = 0; i < in_flight; ++i) start_call();
  void* tag = nullptr;
  bool ok = false;
  while (done < warmup + calls && queue.Next(&tag, &ok)) {
    auto* call = static_cast<Call*>(tag);
    if (!call->status.ok()) ++failed;
    delete call;
    if (++done == warmup) {
      CALLGRIND_ZERO_STATS;
      from = Now();
      wall_from = std::chrono::steady_clock::now();
    }
    if (started < warmup + calls) start_call();
  }
  CALLGRIND_DUMP_STATS;
  const Usage to = Now();
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_from).count();
  std::printf("calls=%ld failed=%ld rps=%.0f cpu_us=%.2f csw=%.3f\n", calls, failed, calls / wall,
              (to.cpu_s - from.cpu_s) * 1e6 / calls,
              static_cast<double>(to.switches - from.switches) / calls);
  queue.Shutdown();
  while (queue.Next(&tag, &ok)) delete static_cast<Call*>(tag);
  return failed == 0 ? 0 : 1;
}
