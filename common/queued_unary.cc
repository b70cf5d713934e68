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
// How long every polling thread of a shared queue may be inside events (blocking calls) before
// one more thread polls.
constexpr absl::Duration kStuckAfter = absl::Milliseconds(5);
// How long the load must have left a polling thread unneeded before it parks.
constexpr int64_t kParkAfterNs = 50'000'000;
// Set on a polling thread whose call's work has just told it to park.
thread_local bool park_after_event = false;

}  // namespace

void FailQueuedSetup(absl::string_view why) {
  LogError("gRPC method table does not match the contract", {{"error", std::string(why)}});
  std::abort();
}

void QueuedCall::Stream(std::unique_ptr<QueuedServerStream> stream, StopStream stop) {
  QueuedServerStream* started = stream.get();
  bool done = false;
  {
    absl::MutexLock lock(&stream_mu_);
    server_stream_ = std::move(stream);
    stop_ = std::move(stop);
    done = done_arrived_;
  }
  // The call ended while the stream started, and the done tag passed it by on another thread.
  if (done) started->OnCallDone();
}

bool QueuedCall::StartOnQueue(absl::FunctionRef<void()> start) {
  QueuedUnaryMethods::Queue& queue = *owner_.queues_[queue_];
  absl::MutexLock lock(&queue.mu);
  if (queue.shut_down) return false;
  start();
  return true;
}

std::optional<size_t> QueuedServerStream::WriteMessage(const google::protobuf::Message& message) {
  grpc::ByteBuffer bytes;
  bool own_buffer = false;
  if (grpc::Status serialized = grpc::SerializationTraits<google::protobuf::Message>::Serialize(
          message, &bytes, &own_buffer);
      !serialized.ok()) {
    Finish(ToAbslStatus(serialized));
    return std::nullopt;
  }
  absl::MutexLock lock(&mu_);
  if (finish_started_ || finish_after_writes_) return std::nullopt;
  if (write_in_flight_) {
    waiting_.push_back(std::move(bytes));
    return waiting_.size();
  }
  StartWriteLocked(std::move(bytes));
  if (!write_in_flight_) return std::nullopt;
  return 0;
}

void QueuedServerStream::Finish(const absl::Status& status) {
  absl::MutexLock lock(&mu_);
  if (finish_started_ || finish_after_writes_) return;
  if (status.ok() && write_in_flight_) {
    finish_after_writes_ = true;
    return;
  }
  StartFinishLocked(ToGrpcStatus(status));
}

void QueuedServerStream::StartWriteLocked(grpc::ByteBuffer message) {
  writing_ = std::move(message);
  // The call cannot go meanwhile: its answer (the Finish, not started yet) is still to come.
  call_.outstanding_.fetch_add(1, std::memory_order_relaxed);
  write_in_flight_ = call_.StartOnQueue(
      [this] { call_.stream_.Write(writing_, static_cast<QueuedTag*>(&write_tag_)); });
  if (!write_in_flight_) {
    // The queue is shutting down, so the server has cancelled the call: its done tag ends it.
    call_.outstanding_.fetch_sub(1, std::memory_order_relaxed);
    waiting_.clear();
  }
}

void QueuedServerStream::StartFinishLocked(const grpc::Status& status) {
  finish_started_ = true;
  waiting_.clear();
  // When the queue is shutting down the Finish is not started; the done tag releases the answer.
  finish_queued_ = call_.StartOnQueue(
      [this, &status] { call_.stream_.Finish(status, static_cast<QueuedTag*>(&finish_tag_)); });
}

void QueuedServerStream::OnWritten(bool ok) {
  {
    absl::MutexLock lock(&mu_);
    write_in_flight_ = false;
    if (!finish_started_) {
      if (!ok) {
        StartFinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "write failed"));
      } else if (!waiting_.empty()) {
        grpc::ByteBuffer next = std::move(waiting_.front());
        waiting_.pop_front();
        StartWriteLocked(std::move(next));
      } else if (finish_after_writes_) {
        StartFinishLocked(grpc::Status::OK);
      }
    }
  }
  call_.Release();  // This write's.
}

void QueuedServerStream::FinishTag::OnQueued(bool) { stream.call_.Release(); }

void QueuedServerStream::OnCallDone() {
  bool answer_not_queued = false;
  {
    absl::MutexLock lock(&mu_);
    // Over without a Finish: the client cancelled, or its deadline passed.
    if (!finish_started_) StartFinishLocked(grpc::Status::CANCELLED);
    answer_not_queued = !finish_queued_;
  }
  if (answer_not_queued) call_.Release();
}

void QueuedCall::Answer(const absl::Status& status, const google::protobuf::Message* response) {
  step_ = Step::kAnswered;
  QueuedTag* const tag = this;
  if (!status.ok() || response == nullptr) {
    stream_.Finish(ToGrpcStatus(status), tag);
    return;
  }
  bool own_buffer = false;
  if (grpc::Status serialized = grpc::SerializationTraits<google::protobuf::Message>::Serialize(
          *response, &reply_, &own_buffer);
      !serialized.ok()) {
    stream_.Finish(serialized, tag);
    return;
  }
  stream_.WriteAndFinish(reply_, grpc::WriteOptions(), grpc::Status::OK, tag);
}

QueuedUnaryMethods::QueuedUnaryMethods(QueuedUnaryOptions options) : options_(options) {
  if (options_.threads <= 0) {
    options_.threads = std::clamp(static_cast<int>(std::thread::hardware_concurrency()), 1, 16);
  }
  adaptive_ = options_.work == QueuedWork::kMayBlock && options_.threads > 1;
}

QueuedUnaryMethods::~QueuedUnaryMethods() { Stop(); }

void QueuedUnaryMethods::CheckContract(absl::string_view method, bool server_stream,
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
  if (found->client_streaming()) {
    FailQueuedSetup(absl::StrCat(method, " takes a stream; client streams are not queued"));
  }
  if (found->server_streaming() != server_stream) {
    FailQueuedSetup(absl::StrCat(method, server_stream
                                             ? " does not stream; HandleServerStream is for "
                                               "server-streaming methods"
                                             : " streams; HandleServerStream serves it"));
  }
  if (found->input_type() != request || found->output_type() != response) {
    FailQueuedSetup(absl::StrCat(method, " takes ", found->input_type()->full_name(),
                                 " and answers ", found->output_type()->full_name(), ", not ",
                                 request->full_name(), " and ", response->full_name()));
  }
}

void QueuedUnaryMethods::AddTo(grpc::ServerBuilder& builder) {
  builder.RegisterAsyncGenericService(&service_);
  for (int i = 0; i < (adaptive_ ? 1 : options_.threads); ++i) {
    auto queue = std::make_unique<Queue>();
    queue->queue = builder.AddCompletionQueue();
    queues_.push_back(std::move(queue));
  }
}

void QueuedUnaryMethods::Start() {
  if (adaptive_) {
    // One call asked for beyond the polling threads' own: when it is taken too, calls are
    // waiting for a thread, and one more polls.
    AskForCall(0);
    watch_ = std::thread([this] { Watch(); });
  }
  for (int i = 0; i < options_.threads; ++i) {
    threads_.emplace_back([this, i] {
      // Of a shared queue, one thread polls at first; the load unparks the others.
      if (adaptive_ && i > 0 && !Park()) return;
      Poll(adaptive_ ? 0 : i);
    });
  }
}

void QueuedUnaryMethods::CallGone() {
  if (calls_alive_.fetch_sub(1) == 1 && stopping_.load()) {
    absl::MutexLock lock(&gone_mu_);
    all_gone_.SignalAll();
  }
}

void QueuedCall::Delete(QueuedCall* call) {
  QueuedUnaryMethods& owner = call->owner_;
  delete call;
  owner.CallGone();
}

void QueuedUnaryMethods::Stop() {
  stopping_.store(true);
  {
    // After Server::Shutdown the calls still asked for come back failed and the taken ones end,
    // on the threads, which still poll.
    absl::MutexLock lock(&gone_mu_);
    while (calls_alive_.load() > 0) all_gone_.Wait(&gone_mu_);
  }
  for (std::unique_ptr<Queue>& queue : queues_) {
    absl::MutexLock lock(&queue->mu);
    if (queue->shut_down) continue;
    queue->shut_down = true;
    queue->queue->Shutdown();
  }
  {
    absl::MutexLock lock(&pool_mu_);
    polling_over_ = true;
    park_cv_.SignalAll();
    watch_cv_.Signal();
  }
  for (std::thread& thread : threads_) thread.join();
  if (watch_.joinable()) watch_.join();
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
  calls_alive_.fetch_add(1);
  auto* call = new QueuedCall(*this, index);
  if (NotifiesDone()) {
    call->context_.AsyncNotifyWhenDone(static_cast<QueuedTag*>(&call->done_));
  }
  service_.RequestCall(&call->context_, &call->stream_, queue.queue.get(), queue.queue.get(),
                       static_cast<QueuedTag*>(call));
}

void QueuedUnaryMethods::Poll(int queue) {
  Queue& polled = *queues_[queue];
  this_threads_queue = {polled.queue.get(), &polled.mu, &polled.shut_down};
  const int ahead = options_.work == QueuedWork::kMayBlock ? 1 : kCallsAskedAhead;
  while (true) {
    // This thread's share of the calls asked for on its queue.
    for (int i = 0; i < ahead; ++i) AskForCall(queue);
    void* tag = nullptr;
    bool ok = false;
    bool more = false;
    while ((more = polled.queue->Next(&tag, &ok))) {
      if (!adaptive_) {
        static_cast<QueuedTag*>(tag)->OnQueued(ok);
        continue;
      }
      EventStarts();
      static_cast<QueuedTag*>(tag)->OnQueued(ok);
      EventEnds();
      if (park_after_event) break;
    }
    // The queue is shut down, or this thread parks (the other threads go on polling it) and is
    // let poll again under load.
    if (!more) break;
    park_after_event = false;
    if (!Park()) break;
  }
  this_threads_queue = {};
}

void QueuedUnaryMethods::EventStarts() {
  if (in_event_.fetch_add(1) == 0 && watch_sleeping_.load()) {
    absl::MutexLock lock(&pool_mu_);
    watch_cv_.Signal();
  }
}

void QueuedUnaryMethods::EventEnds() {
  in_event_.fetch_sub(1);
  events_run_.fetch_add(1, std::memory_order_relaxed);
}

bool QueuedUnaryMethods::Park() {
  absl::MutexLock lock(&pool_mu_);
  ++parked_;
  while (unparked_ == 0 && !polling_over_) park_cv_.Wait(&pool_mu_);
  --parked_;
  if (polling_over_) return false;
  --unparked_;
  return true;
}

void QueuedUnaryMethods::Unpark() {
  absl::MutexLock lock(&pool_mu_);
  UnparkLocked();
}

void QueuedUnaryMethods::UnparkLocked() {
  if (polling_over_ || parked_ - unparked_ <= 0) return;
  ++unparked_;
  polling_.fetch_add(1);
  park_cv_.Signal();
}

bool QueuedUnaryMethods::ShouldPark() {
  if (polling_.load() <= 1) return false;
  if (absl::GetCurrentTimeNanos() - last_full_ns_.load(std::memory_order_relaxed) < kParkAfterNs) {
    return false;
  }
  absl::MutexLock lock(&pool_mu_);
  if (polling_.load() <= 1 || polling_over_) return false;
  polling_.fetch_sub(1);
  // Counted as full again: the next thread parks only once the load has left it unneeded too.
  last_full_ns_.store(absl::GetCurrentTimeNanos(), std::memory_order_relaxed);
  return true;
}

void QueuedUnaryMethods::Watch() {
  absl::MutexLock lock(&pool_mu_);
  int64_t runs_seen = -1;
  while (!polling_over_) {
    if (in_event_.load() == 0 && events_run_.load() == runs_seen) {
      // Nothing ran for a whole period: sleep until an event starts (EventStarts).
      watch_sleeping_.store(true);
      while (!polling_over_ && in_event_.load() == 0) watch_cv_.Wait(&pool_mu_);
      watch_sleeping_.store(false);
    }
    runs_seen = events_run_.load();
    watch_cv_.WaitWithTimeout(&pool_mu_, kStuckAfter);
    // No event ended for a whole period while every polling thread was inside one: nobody polls.
    if (events_run_.load() == runs_seen && in_event_.load() >= polling_.load()) UnparkLocked();
  }
}

void QueuedCall::OnQueued(bool ok) { owner_.Advance(*this, ok); }

void QueuedCall::DoneTag::OnQueued(bool) {
  // Safe now: AsyncNotifyWhenDone's tag has come back.
  if (call.context_.IsCancelled()) call.cancelled_.store(true, std::memory_order_relaxed);
  QueuedServerStream* stream = nullptr;
  {
    absl::MutexLock lock(&call.stream_mu_);
    call.done_arrived_ = true;
    stream = call.server_stream_.get();
  }
  // Without a stream yet, Stream() ends it when it comes.
  if (stream != nullptr) stream->OnCallDone();
  call.Release();
}

void QueuedCall::Release() {
  if (outstanding_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  if (stop_) std::move(stop_)();
  Delete(this);
}

void QueuedUnaryMethods::Advance(QueuedCall& call, bool ok) {
  const bool may_block = options_.work == QueuedWork::kMayBlock;
  switch (call.step_) {
    case QueuedCall::Step::kRequested:
      if (!ok) {  // The server is shutting down: no call came (nor will its done tag).
        QueuedCall::Delete(&call);
        return;
      }
      // The answer, and the done tag that a matched call now owes.
      if (NotifiesDone()) call.outstanding_.store(2, std::memory_order_relaxed);
      if (!may_block) AskForCall(call.queue_);
      if (adaptive_) {
        // More calls taken than threads polling: calls wait, so one more thread polls.
        const int taken = in_work_.fetch_add(1) + 1;
        const int polling = polling_.load();
        if (taken >= polling) last_full_ns_.store(absl::GetCurrentTimeNanos());
        if (taken > polling) Unpark();
      }
      call.step_ = QueuedCall::Step::kRead;
      call.stream_.Read(&call.request_, static_cast<QueuedTag*>(&call));
      return;
    case QueuedCall::Step::kRead: {
      const int queue = call.queue_;
      if (ok) {
        Dispatch(call);
      } else {
        call.Answer(absl::CancelledError("the call ended before its request arrived"), nullptr);
      }
      if (adaptive_) in_work_.fetch_sub(1);
      // Free again: a blocking thread asks for its next call only now, unless it parks.
      if (adaptive_ && ShouldPark()) {
        park_after_event = true;
      } else if (may_block) {
        AskForCall(queue);
      }
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
  if (!method->second.server_stream) {
    method->second.run(call, *caller);
    return;
  }
  // Held while the stream starts: its first writes, its Finish and its done tag may come back on
  // other threads of a shared queue, and the call must outlive Stream().
  call.outstanding_.fetch_add(1, std::memory_order_relaxed);
  method->second.run(call, *caller);
  call.Release();
}

}  // namespace livecall
