#ifndef LIVECALL_SERVICES_GATEWAY_CLIENT_QUEUES_H_
#define LIVECALL_SERVICES_GATEWAY_CLIENT_QUEUES_H_

// The completion queues the gateway's calls to the backends finish on (backend_client.h,
// readiness.h), each polled by one thread of its own, which runs the call's completion in place:
// the answer goes on from there to the HTTP connection (http_server.h takes the connection on
// that thread when it is idle).
//
// Why not gRPC's callback API: with Debian's gRPC 1.51, any callback-API use in a process starts
// gRPC's "nexting" threads (CallbackAlternativeCQ), which poll the sockets and hand every event
// on to another thread — two to four more thread switches per call (bench/README.md, issue 17).
// Here the thread that polls the socket is the one that answers.
//
// Shutdown: every call on the queues must have finished before the queues go; their owners wait
// for their calls (common/pending_calls.h) and hold the queues by shared_ptr.

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

namespace livecall::gateway {

// What a call hands a queue as its tag: OnQueued runs on the queue's thread, once per operation
// the tag was given to.
class ClientQueueTag {
 public:
  virtual void OnQueued(bool ok) = 0;

 protected:
  ~ClientQueueTag() = default;
};

class ClientQueues {
 public:
  // `threads` queues (at least one), each with its polling thread, started at once.
  explicit ClientQueues(int threads = 1);
  // Shuts the queues down and joins their threads.
  ~ClientQueues();
  ClientQueues(const ClientQueues&) = delete;
  ClientQueues& operator=(const ClientQueues&) = delete;

  // The queue for the next call, round robin.
  grpc::CompletionQueue* Pick();

 private:
  std::vector<std::unique_ptr<grpc::CompletionQueue>> queues_;
  std::vector<std::thread> threads_;
  std::atomic<unsigned> next_{0};
};

}  // namespace livecall::gateway

#endif  // LIVECALL_SERVICES_GATEWAY_CLIENT_QUEUES_H_
