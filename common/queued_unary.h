#ifndef LIVECALL_COMMON_QUEUED_UNARY_H_
#define LIVECALL_COMMON_QUEUED_UNARY_H_

// Unary and server-streaming methods served from gRPC's completion queues (the "async" server
// API) instead of the callback API. Why: with Debian's gRPC 1.51 on Linux, every callback-API RPC
// goes through a process-global queue served by gRPC's own "nexting" threads, so a callback RPC
// costs about twice the CPU of a completion-queue RPC on this kind of machine and several thread
// switches (bench/README.md, "gRPC's floor": 36 µs and 1.4 switches against 16.5 µs and none at 64
// in flight). Here a few threads poll the queues and run the methods' work in place (see
// "Threads" below).
//
// A service keeps its generated CallbackService base for what stays on the callback API and marks
// each method served here as generic (QueuedService below); every unmarked method of every service
// of the server comes to this one AsyncGenericService, which answers a method it does not know
// UNIMPLEMENTED. A process whose every method is queued uses no callback API, and gRPC then starts
// none of its nexting threads (with any callback-API service it does, and they poll the same
// sockets as the queues' threads: 2.5-3.9 more thread switches per request, bench/README.md).
//
// The work kinds, with one contract: the caller is authenticated first (UNAUTHENTICATED without
// the work running; QueuedAccess::kPublic for health checks), the work runs with the caller's
// x-request-id as the thread's, and a call whose deadline passed before its work started is
// answered DEADLINE_EXCEEDED without it. A request that does not parse is INVALID_ARGUMENT.
//   Handle       work(caller, context, request, response) -> absl::Status, run in place on the
//                polling thread. With QueuedWork::kMayBlock (Redis through hiredis) a thread asks
//                gRPC for its next call only once it is free (and one call more is asked for
//                ahead, see "Threads"): calls that find every thread busy wait in gRPC until one
//                is free, or until their deadline (DEADLINE_EXCEEDED, where a bounded executor
//                queue used to refuse at once with RESOURCE_EXHAUSTED).
//   HandleAsync  work(caller, scope, request, response, finish), started on the polling thread;
//                it must not block, and calls finish(status) once, from any thread
//                (common/async_unary.h). CallScope::StillWanted sees the deadline, and the
//                client's cancellation with QueuedUnaryOptions::watch_cancellation.
//   HandleServerStream  start(caller, context, request, stream) on the polling thread; it must not
//                block. It refuses the call with a status (nothing written), or returns the
//                stream's StopStream. The stream (QueuedStream) then takes messages and its
//                Finish from any thread, and writes them in order, one at a time (gRPC allows one
//                outstanding write per stream). The client's cancellation, its deadline or a
//                failed write ends the stream (CANCELLED/DEADLINE_EXCEEDED). Once the call is
//                over, the stop runs once, on a polling thread; after it returns, nothing may
//                touch the stream (a hub's callback is unsubscribed there). Any stream method
//                turns on the done tag (ServerContext::AsyncNotifyWhenDone) for every call of the
//                set: gRPC queues that event anyway and drops it when no tag was asked for.
//
// Threads. kNeverBlocks: each thread polls a queue of its own. kMayBlock with several threads:
// they share one queue, and only as many of them poll as the load needs; the others wait parked
// outside gRPC. Why: with gRPC 1.51's epoll1 poller every thread waiting in any queue's Next takes
// its turn as the process's one epoll poller, handed on each time the poller wakes, so idle
// threads cost switches at low load. A lone context driven at one call in flight measured 6.3-8.0
// switches per RPC with 8 threads on a queue each, 9-12 with 8 threads sharing a queue that all
// poll, 2.0 with one thread; but one thread answered 20-30 % fewer CreateSessions at 64 in flight
// (its Redis calls block it). So: one thread polls at first. A call taken while every polling
// thread already holds one (the call asked for ahead was taken too) unparks another; a thread
// whose work ends once the load has left a polling thread unneeded for 50 ms parks; and a watch
// thread unparks one when every polling thread has been inside an event for 5 ms (a slow CRM
// lookup), so that a call waits at most that long unread behind blocking work. Measured the same
// way: 2.1 switches per RPC at one in flight, and 8 threads' req/s at 64 in flight.
//
// Shutdown: grpc::Server::Shutdown first (no call is taken after it returns, but a chain may still
// hold one it cancelled), then Stop() (or the destructor), which waits until every call is gone
// before it shuts the queues down and joins the threads, and only then is the grpc::Server
// destroyed (queued tags refer to it). ServeGrpcUntilSignal (common/grpc_server.h) does this in
// order.

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/rpc_service_method.h>
#include <grpcpp/support/async_unary_call.h>
#include <grpcpp/support/method_handler.h>

#include <atomic>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "common/async_unary.h"
#include "common/caller_identity.h"
#include "google/protobuf/arena.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"

namespace livecall {

enum class QueuedWork {
  // Handlers may block (hiredis, libcurl): a thread has at most one call at a time.
  kMayBlock,
  // Handlers never block: each thread keeps several calls asked for ahead of a burst.
  kNeverBlocks,
};

// Whether a queued method authenticates its caller first (common/caller_identity.h).
enum class QueuedAccess {
  kAuthenticated,
  // Open to any caller, as gRPC's own health service is: health checks (probes carry no key).
  kPublic,
};

struct QueuedUnaryOptions {
  // Polling threads; 0: one per core (std::thread::hardware_concurrency, at most 16), for work
  // that never blocks.
  int threads = 0;
  QueuedWork work = QueuedWork::kMayBlock;
  // Whether HandleAsync's chains learn that a client cancelled (CallScope::StillWanted): one more
  // queue event per call (ServerContext::AsyncNotifyWhenDone).
  bool watch_cancellation = false;
};

// What a completion queue of QueuedUnaryMethods hands back: each event runs its tag's OnQueued on
// the thread that polls the queue.
class QueuedTag {
 public:
  virtual void OnQueued(bool ok) = 0;

 protected:
  ~QueuedTag() = default;
};

// Stops the process at start-up with `why`: a method table that does not match the contract is
// a programming error.
[[noreturn]] void FailQueuedSetup(absl::string_view why);

class QueuedUnaryMethods;
class QueuedCall;

// What HandleServerStream's start returns for a stream it accepts: run once, on the polling
// thread, when the call is over; it stops whatever writes to the stream (unsubscribes), and
// nothing may touch the stream after it returns.
using StopStream = absl::AnyInvocable<void() &&>;

// The writing side of a server stream served from a queue (HandleServerStream). Lives as long as
// its call, i.e. until its StopStream has returned.
class QueuedServerStream {
 public:
  QueuedServerStream(const QueuedServerStream&) = delete;
  QueuedServerStream& operator=(const QueuedServerStream&) = delete;
  virtual ~QueuedServerStream() = default;

  // Ends the stream with `status`, from any thread; only the first Finish counts. OK: after the
  // messages already written; an error: at once, and what still waits is dropped (a client that
  // reads too slowly must not hold an error back).
  void Finish(const absl::Status& status) ABSL_LOCKS_EXCLUDED(mu_);

 protected:
  explicit QueuedServerStream(QueuedCall& call) : call_(call) {}
  // Serialized on the calling thread; see QueuedStream::Write.
  std::optional<size_t> WriteMessage(const google::protobuf::Message& message)
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  friend class QueuedCall;
  struct WriteTag final : QueuedTag {
    explicit WriteTag(QueuedServerStream& stream) : stream(stream) {}
    void OnQueued(bool ok) override { stream.OnWritten(ok); }
    QueuedServerStream& stream;
  };
  struct FinishTag final : QueuedTag {
    explicit FinishTag(QueuedServerStream& stream) : stream(stream) {}
    void OnQueued(bool ok) override;
    QueuedServerStream& stream;
  };
  void StartWriteLocked(grpc::ByteBuffer message) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void StartFinishLocked(const grpc::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The polling thread's side: a write came back; the call is over (its done tag).
  void OnWritten(bool ok) ABSL_LOCKS_EXCLUDED(mu_);
  void OnCallDone() ABSL_LOCKS_EXCLUDED(mu_);

  QueuedCall& call_;
  WriteTag write_tag_{*this};
  FinishTag finish_tag_{*this};
  absl::Mutex mu_;
  grpc::ByteBuffer writing_ ABSL_GUARDED_BY(mu_);
  bool write_in_flight_ ABSL_GUARDED_BY(mu_) = false;
  // Messages waiting for the one in flight.
  std::deque<grpc::ByteBuffer> waiting_ ABSL_GUARDED_BY(mu_);
  // An OK Finish waiting for the writes before it.
  bool finish_after_writes_ ABSL_GUARDED_BY(mu_) = false;
  // No more writes: a Finish has been started, or would have been but the queue was shutting
  // down (then finish_queued_ stays false and the done tag releases the answer instead).
  bool finish_started_ ABSL_GUARDED_BY(mu_) = false;
  bool finish_queued_ ABSL_GUARDED_BY(mu_) = false;
};

// A QueuedServerStream of `Response` messages.
template <typename Response>
class QueuedStream final : public QueuedServerStream {
 public:
  explicit QueuedStream(QueuedCall& call) : QueuedServerStream(call) {}
  // Sends `message` after those written before it, from any thread. How many messages now wait
  // behind the one being written (0: this one is being written); nullopt when the stream is over
  // (finished, or its client gone) and nothing was sent.
  std::optional<size_t> Write(const Response& message) { return WriteMessage(message); }
};

// One call taken from a queue, from its request to its answer. Internal to QueuedUnaryMethods
// and its templates.
class QueuedCall final : public QueuedTag {
 public:
  grpc::GenericServerContext& context() { return context_; }
  grpc::ByteBuffer& request_bytes() { return request_; }
  // Set once the client has cancelled (with QueuedUnaryOptions::watch_cancellation).
  const std::atomic<bool>& cancelled() const { return cancelled_; }
  // Answers the call once, from any thread: `response` (read before this returns) when `status`
  // is OK, else the status alone.
  void Answer(const absl::Status& status, const google::protobuf::Message* response);
  // Keeps `state` (a call's messages) alive until the call's answer has been sent.
  void Keep(std::shared_ptr<void> state) { kept_ = std::move(state); }
  // A server stream: `stream` writes the call's messages from now on; `stop` runs once it is over.
  void Stream(std::unique_ptr<QueuedServerStream> stream, StopStream stop);

  void OnQueued(bool ok) override;

 private:
  friend class QueuedUnaryMethods;
  friend class QueuedServerStream;
  enum class Step { kRequested, kRead, kAnswered };
  // AsyncNotifyWhenDone's tag: the call is over, answered or cancelled.
  struct DoneTag final : QueuedTag {
    explicit DoneTag(QueuedCall& call) : call(call) {}
    void OnQueued(bool ok) override;
    QueuedCall& call;
  };
  QueuedCall(QueuedUnaryMethods& owner, int queue) : owner_(owner), queue_(queue) {}
  // Deletes the call once neither its answer nor its done tag (nor a stream's write) is still to
  // come; a stream's stop runs first. On the polling thread.
  void Release();
  // Deletes `call` and tells its owner.
  static void Delete(QueuedCall* call);
  // Starts an operation on the call from any thread, unless its queue is shutting down (false).
  bool StartOnQueue(absl::FunctionRef<void()> start);

  QueuedUnaryMethods& owner_;
  const int queue_;
  Step step_ = Step::kRequested;
  // Events still to come on the queue before the call may go. Released on the polling thread
  // only; a stream's writes add theirs from any thread while another is still held.
  std::atomic<int> outstanding_{1};
  DoneTag done_{*this};
  std::atomic<bool> cancelled_{false};
  // A queue shared by several threads may hand the done tag to one thread while another still
  // runs the stream's start: whichever comes second ends the stream (Stream, DoneTag).
  absl::Mutex stream_mu_;
  bool done_arrived_ ABSL_GUARDED_BY(stream_mu_) = false;
  grpc::GenericServerContext context_;
  grpc::GenericServerAsyncReaderWriter stream_{&context_};
  grpc::ByteBuffer request_;
  grpc::ByteBuffer reply_;
  std::shared_ptr<void> kept_;
  std::unique_ptr<QueuedServerStream> server_stream_;
  StopStream stop_;
};

class QueuedUnaryMethods {
 public:
  explicit QueuedUnaryMethods(QueuedUnaryOptions options);
  // Stop().
  ~QueuedUnaryMethods();
  QueuedUnaryMethods(const QueuedUnaryMethods&) = delete;
  QueuedUnaryMethods& operator=(const QueuedUnaryMethods&) = delete;

  // `method` is the full path, "/livecall.v1.Context/GetSession"; a method registered twice, or
  // whose messages are not the contract's (the generated pool's descriptor), stops the process at
  // start-up: that is a programming error.
  template <typename Request, typename Response, typename Work>
  void Handle(absl::string_view method, Work work,
              QueuedAccess access = QueuedAccess::kAuthenticated) {
    AddMethod<Request, Response>(
        method, access, /*server_stream=*/false,
        [work = std::move(work)](QueuedCall& call, const CallerIdentity& caller) {
          google::protobuf::Arena arena;
          auto* request = google::protobuf::Arena::CreateMessage<Request>(&arena);
          if (absl::Status parsed = Parse(call, *request); !parsed.ok()) {
            call.Answer(parsed, nullptr);
            return;
          }
          Response response;
          absl::Status status = work(caller, call.context(), *request, response);
          call.Answer(status, &response);
        });
  }

  template <typename Request, typename Response, typename Work>
  void HandleAsync(absl::string_view method, Work work) {
    AddMethod<Request, Response>(
        method, QueuedAccess::kAuthenticated, /*server_stream=*/false,
        [work = std::move(work)](QueuedCall& call, const CallerIdentity& caller) {
          struct Messages {
            Request request;
            Response response;
          };
          auto messages = std::make_shared<Messages>();
          if (absl::Status parsed = Parse(call, messages->request); !parsed.ok()) {
            call.Answer(parsed, nullptr);
            return;
          }
          call.Keep(messages);
          Response* response = &messages->response;
          AsyncFinish finish(
              [&call, response](const absl::Status& status) { call.Answer(status, response); });
          work(caller, CallScope::ForQueuedRpc(call.context(), &call.cancelled()),
               messages->request, *response, std::move(finish));
        });
  }

  // A server-streaming method (see the top of this file): `start(caller, context, request,
  // QueuedStream<Response>& stream)` -> absl::StatusOr<StopStream>.
  template <typename Request, typename Response, typename Start>
  void HandleServerStream(absl::string_view method, Start start) {
    AddMethod<Request, Response>(
        method, QueuedAccess::kAuthenticated, /*server_stream=*/true,
        [start = std::move(start)](QueuedCall& call, const CallerIdentity& caller) {
          Request request;
          if (absl::Status parsed = Parse(call, request); !parsed.ok()) {
            call.Answer(parsed, nullptr);
            return;
          }
          auto stream = std::make_unique<QueuedStream<Response>>(call);
          absl::StatusOr<StopStream> stop = start(caller, call.context(), request, *stream);
          if (!stop.ok()) {
            call.Answer(stop.status(), nullptr);
            return;
          }
          call.Stream(std::move(stream), *std::move(stop));
        });
    streams_ = true;
  }

  // Adds the generic service and one completion queue per thread to `builder`. Call once,
  // after every Handle and before BuildAndStart.
  void AddTo(grpc::ServerBuilder& builder);
  // Starts the polling threads; after BuildAndStart.
  void Start();
  // After grpc::Server::Shutdown: waits until every call taken from the queues is gone, then
  // shuts the queues down and joins the threads. Idempotent. The wait matters: Server::Shutdown
  // may return while a cancelled call's last events are still queued, and with an interceptor
  // gRPC hands a done tag back through one more operation on the call, which a queue already
  // shut down refuses by aborting the process (call.cc: grpc_cq_begin_op).
  void Stop();

  // The queue of the polling thread this runs on, held against Stop() while the lease lives: its
  // tags (a QueuedTag) come back to a thread polling it (this same thread when the queue is its
  // own). Empty on any other thread, or once the queue is shutting down. For peer calls made from
  // a chain (CallOnQueue).
  class QueueLease {
   public:
    static QueueLease ForThisThread();
    QueueLease(QueueLease&& other) noexcept
        : mu_(std::exchange(other.mu_, nullptr)), queue_(other.queue_) {}
    QueueLease& operator=(QueueLease&&) = delete;
    ~QueueLease() {
      if (mu_ != nullptr) mu_->Unlock();
    }
    explicit operator bool() const { return mu_ != nullptr; }
    grpc::CompletionQueue* queue() const { return queue_; }

   private:
    QueueLease(absl::Mutex* mu, grpc::CompletionQueue* queue) : mu_(mu), queue_(queue) {}
    absl::Mutex* mu_;
    grpc::CompletionQueue* queue_;
  };

 private:
  using Run = absl::AnyInvocable<void(QueuedCall&, const CallerIdentity&) const>;
  struct Queue {
    std::unique_ptr<grpc::ServerCompletionQueue> queue;
    absl::Mutex mu;
    bool shut_down ABSL_GUARDED_BY(mu) = false;
  };

  struct Method {
    QueuedAccess access;
    bool server_stream;
    Run run;
  };
  template <typename Request, typename Response>
  void AddMethod(absl::string_view method, QueuedAccess access, bool server_stream, Run run) {
    CheckContract(method, server_stream, Request::descriptor(), Response::descriptor());
    if (!methods_.emplace(std::string(method), Method{access, server_stream, std::move(run)})
             .second) {
      FailQueuedSetup(absl::StrCat(method, " is handled twice"));
    }
  }
  template <typename Request>
  static absl::Status Parse(QueuedCall& call, Request& request) {
    if (grpc::Status status =
            grpc::SerializationTraits<Request>::Deserialize(&call.request_bytes(), &request);
        !status.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("the request is not a valid ", Request::descriptor()->full_name()));
    }
    return absl::OkStatus();
  }
  static void CheckContract(absl::string_view method, bool server_stream,
                            const google::protobuf::Descriptor* request,
                            const google::protobuf::Descriptor* response);

  friend class QueuedCall;
  void CallGone();
  // Whether each call asks for its done tag: with watch_cancellation, or for streams.
  bool NotifiesDone() const { return options_.watch_cancellation || streams_; }
  // The polling thread's loop over its queue.
  void Poll(int queue);
  void AskForCall(int index);
  void Advance(QueuedCall& call, bool ok);
  void Dispatch(QueuedCall& call);

  QueuedUnaryOptions options_;
  // Some method streams (HandleServerStream); set before Start.
  bool streams_ = false;
  absl::flat_hash_map<std::string, Method> methods_;
  grpc::AsyncGenericService service_;
  std::vector<std::unique_ptr<Queue>> queues_;
  std::vector<std::thread> threads_;

  // kMayBlock with several threads: one queue that they share, polled by only as many of them as
  // the load needs (see Poll); the others are parked outside gRPC.
  bool adaptive_ = false;
  // Parks the calling thread until it is let poll again (true) or polling is over (false).
  bool Park() ABSL_LOCKS_EXCLUDED(pool_mu_);
  // Lets one parked thread poll, if there is one.
  void Unpark() ABSL_LOCKS_EXCLUDED(pool_mu_);
  void UnparkLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(pool_mu_);
  // Whether the thread that has just finished a call's work should park instead of asking for
  // another call: the load has not needed every polling thread for a while.
  bool ShouldPark() ABSL_LOCKS_EXCLUDED(pool_mu_);
  // The watch: lets one more thread poll when every polling thread has been inside an event (a
  // blocking call) for a whole period, so that no call waits unread behind blocking work.
  void Watch() ABSL_LOCKS_EXCLUDED(pool_mu_);
  // An event's OnQueued starts and ends (on a polling thread).
  void EventStarts();
  void EventEnds();
  absl::Mutex pool_mu_;
  absl::CondVar park_cv_;
  absl::CondVar watch_cv_;
  // Threads allowed to poll, and parked threads told to.
  std::atomic<int> polling_{1};
  int unparked_ ABSL_GUARDED_BY(pool_mu_) = 0;
  int parked_ ABSL_GUARDED_BY(pool_mu_) = 0;
  bool polling_over_ ABSL_GUARDED_BY(pool_mu_) = false;
  // Calls taken and not yet through their work.
  std::atomic<int> in_work_{0};
  // When calls taken last filled every polling thread (absl::GetCurrentTimeNanos).
  std::atomic<int64_t> last_full_ns_{0};
  // Events being run, and events run so far.
  std::atomic<int> in_event_{0};
  std::atomic<int64_t> events_run_{0};
  std::atomic<bool> watch_sleeping_{false};
  std::thread watch_;
  // QueuedCalls alive, asked for or taken; Stop waits for none.
  std::atomic<int> calls_alive_{0};
  std::atomic<bool> stopping_{false};
  absl::Mutex gone_mu_;
  absl::CondVar all_gone_;
};

// A unary call to a peer whose answer comes back on a thread polling the queue of the thread that
// made it (that same thread when the queue is its own: kNeverBlocks, or one thread), instead of on
// gRPC's callback threads. `prepare(queue)` is the stub's PrepareAsync<Method>(context, request,
// queue). False when this thread polls no queue (the caller then uses the callback API), and
// `done` is left as it was; otherwise `done(status)` runs once, on such a polling thread, after
// `*response` has been filled.
template <typename Response, typename Prepare>
bool CallOnQueue(Prepare prepare, Response* response, std::function<void(grpc::Status)>& done) {
  class Reply final : public QueuedTag {
   public:
    explicit Reply(std::function<void(grpc::Status)> done) : done_(std::move(done)) {}
    void OnQueued(bool) override {
      reader_.reset();  // Before `done` drops the ClientContext that holds the call.
      done_(status_);
      delete this;
    }
    // The stub's reader: std::unique_ptr<grpc::ClientAsyncResponseReader(Interface)<Response>>.
    std::invoke_result_t<Prepare&, grpc::CompletionQueue*> reader_;
    grpc::Status status_;

   private:
    std::function<void(grpc::Status)> done_;
  };
  QueuedUnaryMethods::QueueLease lease = QueuedUnaryMethods::QueueLease::ForThisThread();
  if (!lease) return false;
  auto* reply = new Reply(std::move(done));
  reply->reader_ = prepare(lease.queue());
  reply->reader_->StartCall();
  reply->reader_->Finish(response, &reply->status_, static_cast<QueuedTag*>(reply));
  return true;
}

// The generated service class `Generated` (livecall::v1::Context), served through `Base` (its
// CallbackService, or its synchronous Service) except for the methods named in MarkQueued, which
// a QueuedUnaryMethods of the same server serves.
template <typename Generated, typename Base = typename Generated::CallbackService>
class QueuedService : public Base {
 protected:
  // `method` is the method's name in the proto ("GetSession").
  void MarkQueued(absl::string_view method) {
    const google::protobuf::ServiceDescriptor* service =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
            Generated::service_full_name());
    const google::protobuf::MethodDescriptor* found =
        service == nullptr ? nullptr : service->FindMethodByName(std::string(method));
    if (found == nullptr) {
      FailQueuedSetup(absl::StrCat(Generated::service_full_name(), " has no method ", method));
    }
    this->MarkMethodGeneric(found->index());
    if (!named_) AddNamePlaceholder();
    named_ = true;
  }

 private:
  // gRPC lists a service (server reflection: grpcurl, Postman) by the path of a method it
  // registers, and a generic method registers none: a service whose every method is queued would
  // vanish from the list. A method at "/<service>/", which no client of the contract calls
  // (UNIMPLEMENTED on gRPC's synchronous threads, which reflection starts anyway), keeps its name.
  void AddNamePlaceholder() {
    using Bytes = grpc::ByteBuffer;
    this->AddMethod(new grpc::internal::RpcServiceMethod(
        placeholder_path_.c_str(), grpc::internal::RpcMethod::NORMAL_RPC,
        new grpc::internal::RpcMethodHandler<QueuedService, Bytes, Bytes>(
            [](QueuedService*, grpc::ServerContext*, const Bytes*, Bytes*) {
              return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not a method of the service");
            },
            this)));
  }

  bool named_ = false;
  // The path outlives the method, which keeps a pointer to it.
  const std::string placeholder_path_ = absl::StrCat("/", Generated::service_full_name(), "/");
};

}  // namespace livecall

#endif  // LIVECALL_COMMON_QUEUED_UNARY_H_
