#include "common/queued_unary.h"

#include <grpcpp/impl/codegen/proto_utils.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>

#include "common/log.h"
#include "common/request_id.h"
#include "common/status.h"

namespace livecall {
namespace {

// Calls each thread of a kNeverBlocks set keeps asked for: a burst finds one waiting.
constexpr int kCallsAskedAhead = 8;

}  // namespace

void FailQueuedSetup(absl::string_view why) {
  LogError("gRPC method table does not match the contract", {{"error", std::string(why)}});
  std::abort();
}

void QueuedCall::Answer(const absl::Status& status, const google::protobuf::Message* response) {
  step_ = Step::kAnswered;
  QueuedTag* const tag = this;
  // Read before the answer starts: once it has, the polling thread may delete the call.
  QueuedUnaryMethods& owner = owner_;
  const int queue = queue_;
  bool own_buffer = false;
  if (!status.ok() || response == nullptr) {
    stream_.Finish(ToGrpcStatus(status), tag);
  } else if (grpc::Status serialized =
                 grpc::SerializationTraits<google::protobuf::Message>::Serialize(*response, &reply_,
                                                                                 &own_buffer);
             !serialized.ok()) {
    stream_.Finish(serialized, tag);
  } else {
    stream_.WriteAndFinish(reply_, grpc::WriteOptions(), grpc::Status::OK, tag);
  }
  owner.Answered(queue);
}

QueuedUnaryMethods::QueuedUnaryMethods(QueuedUnaryOptions options) : options_(options) {
  if (options_.threads <= 0) {
    options_.threads = std::clamp(static_cast<int>(std::thread::hardware_concurrency()), 1, 16);
  }
}

QueuedUnaryMethods::~QueuedUnaryMethods() { Stop(); }

void QueuedUnaryMethods::CheckContract(absl::string_view method,
                                       const google::protobuf::Descriptor* request,
                                       const google::protobuf::Descriptor* response) {
  // "/livecall.v1.Context/GetSession"
  const size_t slash = method.rfind('/');
  if (method.empty() || method[0] != '/' || slash == 0 || slash == absl::string_view::npos) {
    FailQueuedSetup(
        absl::StrCat("\"", method, "\" is not a method path (/package.Service/Method)"));
  }
  const google::protobuf::ServiceDescriptor* service =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
          std::string(method.substr(1, slash - 1)));
  const google::protobuf::MethodDescriptor* found =
      service == nullptr ? nullptr
                         : service->FindMethodByName(std::string(method.substr(slash + 1)));
  if (found == nullptr) FailQueuedSetup(absl::StrCat("no method ", method, " in the contract"));
  if (found->client_streaming() || found->server_streaming()) {
    FailQueuedSetup(absl::StrCat(method, " streams; only unary methods are queued"));
  }
  if (found->input_type() != request || found->output_type() != response) {
    FailQueuedSetup(absl::StrCat(method, " takes ", found->input_type()->full_name(),
                                 " and answers ", found->output_type()->full_name(), ", not ",
                                 request->full_name(), " and ", response->full_name()));
  }
}

void QueuedUnaryMethods::AddTo(grpc::ServerBuilder& builder) {
  builder.RegisterAsyncGenericService(&service_);
  for (int i = 0; i < options_.threads; ++i) {
    auto queue = std::make_unique<Queue>();
    queue->queue = builder.AddCompletionQueue();
    queues_.push_back(std::move(queue));
  }
}

void QueuedUnaryMethods::Start() {
  for (int i = 0; i < static_cast<int>(queues_.size()); ++i) {
    threads_.emplace_back([this, i] { Poll(i); });
  }
}

void QueuedUnaryMethods::Stop() {
  for (std::unique_ptr<Queue>& queue : queues_) {
    absl::MutexLock lock(&queue->mu);
    if (queue->shut_down) continue;
    // The server has shut down, but a call it cancelled may still be in a chain's hands (an LLM
    // reply on its way): its answer needs the queue, and the threads keep polling meanwhile.
    queue->mu.Await(absl::Condition(
        +[](Queue* polled)
             ABSL_EXCLUSIVE_LOCKS_REQUIRED(polled->mu) { return polled->calls_in_hand == 0; },
        queue.get()));
    queue->shut_down = true;
    queue->queue->Shutdown();
  }
  for (std::thread& thread : threads_) thread.join();
  if (threads_.empty()) {
    // Never started: nothing was asked for, but a queue is drained before it goes.
    for (std::unique_ptr<Queue>& queue : queues_) {
      void* tag = nullptr;
      bool ok = false;
      while (queue->queue->Next(&tag, &ok)) {
      }
    }
  }
  threads_.clear();
}

namespace {
// The queue (and its lock and shutdown flag) the calling thread polls, if it is one of a
// QueuedUnaryMethods' threads.
struct PolledQueue {
  grpc::ServerCompletionQueue* queue = nullptr;
  absl::Mutex* mu = nullptr;
  const bool* shut_down = nullptr;
};
thread_local PolledQueue this_threads_queue;
}  // namespace

QueuedUnaryMethods::QueueLease QueuedUnaryMethods::QueueLease::ForThisThread() {
  const PolledQueue& polled = this_threads_queue;
  if (polled.queue == nullptr) return QueueLease(nullptr, nullptr);
  polled.mu->Lock();
  if (*polled.shut_down) {
    polled.mu->Unlock();
    return QueueLease(nullptr, nullptr);
  }
  return QueueLease(polled.mu, polled.queue);
}

void QueuedUnaryMethods::AskForCall(int index) {
  Queue& queue = *queues_[index];
  absl::MutexLock lock(&queue.mu);
  if (queue.shut_down) return;
  auto* call = new QueuedCall(*this, index);
  if (options_.watch_cancellation) {
    call->context_.AsyncNotifyWhenDone(static_cast<QueuedTag*>(&call->done_));
  }
  service_.RequestCall(&call->context_, &call->stream_, queue.queue.get(), queue.queue.get(),
                       static_cast<QueuedTag*>(call));
}

void QueuedUnaryMethods::Poll(int index) {
  Queue& polled = *queues_[index];
  this_threads_queue = {polled.queue.get(), &polled.mu, &polled.shut_down};
  const int ahead = options_.work == QueuedWork::kMayBlock ? 1 : kCallsAskedAhead;
  for (int i = 0; i < ahead; ++i) AskForCall(index);
  void* tag = nullptr;
  bool ok = false;
  while (polled.queue->Next(&tag, &ok)) static_cast<QueuedTag*>(tag)->OnQueued(ok);
  this_threads_queue = {};
}

void QueuedCall::OnQueued(bool ok) { owner_.Advance(*this, ok); }

void QueuedUnaryMethods::Answered(int index) {
  Queue& queue = *queues_[index];
  absl::MutexLock lock(&queue.mu);
  --queue.calls_in_hand;
}

void QueuedCall::DoneTag::OnQueued(bool) {
  // Safe now: AsyncNotifyWhenDone's tag has come back.
  if (call.context_.IsCancelled()) call.cancelled_.store(true, std::memory_order_relaxed);
  call.Release();
}

void QueuedCall::Release() {
  if (--outstanding_ == 0) delete this;
}

void QueuedUnaryMethods::Advance(QueuedCall& call, bool ok) {
  const bool may_block = options_.work == QueuedWork::kMayBlock;
  switch (call.step_) {
    case QueuedCall::Step::kRequested: {
      if (!ok) {  // The server is shutting down: no call came (nor will its done tag).
        delete &call;
        return;
      }
      // The answer, and the done tag that a matched call now owes.
      if (options_.watch_cancellation) call.outstanding_ = 2;
      Queue& queue = *queues_[call.queue_];
      {
        absl::MutexLock lock(&queue.mu);
        if (!queue.shut_down) {
          ++queue.calls_in_hand;
        } else {
          // Taken by the server just before it shut down, found only after Stop(): it cannot be
          // read or answered any more. Cancelled, its done tag still comes, and the call goes.
          call.context_.TryCancel();
          call.step_ = QueuedCall::Step::kAnswered;
          if (options_.watch_cancellation) {
            call.Release();
          } else {
            delete &call;
          }
          return;
        }
      }
      if (!may_block) AskForCall(call.queue_);
      call.step_ = QueuedCall::Step::kRead;
      call.stream_.Read(&call.request_, static_cast<QueuedTag*>(&call));
      return;
    }
    case QueuedCall::Step::kRead: {
      const int queue = call.queue_;
      if (ok) {
        Dispatch(call);
      } else {
        call.Answer(absl::CancelledError("the call ended before its request arrived"), nullptr);
      }
      // Free again: a blocking thread asks for its next call only now.
      if (may_block) AskForCall(queue);
      return;
    }
    case QueuedCall::Step::kAnswered:
      call.Release();
      return;
  }
}

void QueuedUnaryMethods::Dispatch(QueuedCall& call) {
  auto method = methods_.find(call.context_.method());
  if (method == methods_.end()) {
    call.Answer(absl::UnimplementedError(absl::StrCat("no method ", call.context_.method())),
                nullptr);
    return;
  }
  absl::StatusOr<CallerIdentity> caller = method->second.access == QueuedAccess::kPublic
                                              ? CallerIdentity{}
                                              : AuthenticateCaller(call.context_);
  if (!caller.ok()) {
    call.Answer(caller.status(), nullptr);
    return;
  }
  if (call.context_.deadline() <= std::chrono::system_clock::now()) {
    call.Answer(
        absl::DeadlineExceededError("the deadline passed while the request waited for a thread"),
        nullptr);
    return;
  }
  ScopedRequestId request_id(RequestIdOf(call.context_));
  method->second.run(call, *caller);
}

}  // namespace livecall
