#include "services/gateway/client_queues.h"

#include <pthread.h>

#include <algorithm>

namespace livecall::gateway {

ClientQueues::ClientQueues(int threads) {
  const int count = std::max(1, threads);
  for (int i = 0; i < count; ++i) queues_.push_back(std::make_unique<grpc::CompletionQueue>());
  for (int i = 0; i < count; ++i) {
    threads_.emplace_back([queue = queues_[i].get()] {
      // Named so that /proc/<pid>/task/*/comm tells these from gRPC's own threads.
      pthread_setname_np(pthread_self(), "gw-backend-cq");
      void* tag = nullptr;
      bool ok = false;
      while (queue->Next(&tag, &ok)) static_cast<ClientQueueTag*>(tag)->OnQueued(ok);
    });
  }
}

ClientQueues::~ClientQueues() {
  for (auto& queue : queues_) queue->Shutdown();
  for (std::thread& thread : threads_) thread.join();
}

grpc::CompletionQueue* ClientQueues::Pick() {
  return queues_[next_.fetch_add(1, std::memory_order_relaxed) % queues_.size()].get();
}

}  // namespace livecall::gateway
