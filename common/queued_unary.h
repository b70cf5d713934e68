#ifndef LIVECALL_COMMON_QUEUED_UNARY_H_
#define LIVECALL_COMMON_QUEUED_UNARY_H_

// Unary methods served from gRPC's completion queues (the "async" server API) instead of the
// callback API. Why: with Debian's gRPC 1.51 on Linux, every callback-API RPC goes through a
// process-global queue served by gRPC's own "nexting" threads, so a callback RPC costs about
// twice the CPU of a completion-queue RPC on this kind of machine and several thread switches
// (bench/README.md, "gRPC's floor": 36 µs and 1.4 switches against 16.5 µs and none at 64 in
// flight). Here each of a few threads polls its own queue and runs the methods' work in place.
//
// A service keeps its generated CallbackService base for what stays on the callback API (server
// streams) and marks each method served here as generic (QueuedService below); every unmarked
// method of every service of the server comes to this one AsyncGenericService, which answers a
// method it does not know UNIMPLEMENTED.
//
// The work kinds, with one contract: the caller is authenticated first (UNAUTHENTICATED without
// the work running; QueuedAccess::kPublic for health checks), the work runs with the caller's
// x-request-id as the thread's, and a call whose deadline passed before its work started is
// answered DEADLINE_EXCEEDED without it. A request that does not parse is INVALID_ARGUMENT.
//   Handle       work(caller, context, request, response) -> absl::Status, run in place on the
//                polling thread. With QueuedWork::kMayBlock (Redis through hiredis) a thread asks
//                gRPC for its next call only once it is free, so a call never waits behind
//                another's blocking work while a thread is idle: calls that find every thread busy
//                wait in gRPC until one is free, or until their deadline (DEADLINE_EXCEEDED, where
//                a bounded executor queue used to refuse at once with RESOURCE_EXHAUSTED).
//   HandleAsync  work(caller, scope, request, response, finish), started on the polling thread;
//                it must not block, and calls finish(status) once, from any thread
//                (common/async_unary.h). CallScope::StillWanted sees the deadline, and the
//                client's cancellation with QueuedUnaryOptions::watch_cancellation.
//
// Shutdown: grpc::Server::Shutdown first (no call is taken after it returns), then Stop() (or the
// destructor), which waits until every call already taken has started its answer -- a chain may
// still be at work on a call the server has cancelled, and gRPC refuses an answer on a queue that
// is shut down -- then shuts the queues down and joins the threads; the grpc::Server is destroyed
// after that. ServeGrpcUntilSignal (common/grpc_server.h) does this in order.

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/rpc_service_method.h>
#include <grpcpp/support/async_unary_call.h>
#include <grpcpp/support/method_handler.h>

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
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

  void OnQueued(bool ok) override;

 private:
  friend class QueuedUnaryMethods;
  enum class Step { kRequested, kRead, kAnswered };
  // AsyncNotifyWhenDone's tag: the call is over, answered or cancelled.
  struct DoneTag final : QueuedTag {
    explicit DoneTag(QueuedCall& call) : call(call) {}
    void OnQueued(bool ok) override;
    QueuedCall& call;
  };
  QueuedCall(QueuedUnaryMethods& owner, int queue) : owner_(owner), queue_(queue) {}
  // Deletes the call once neither its answer nor its done tag is still to come.
  void Release();

  QueuedUnaryMethods& owner_;
  const int queue_;
  Step step_ = Step::kRequested;
  // Events still to come on the queue before the call may go (only its polling thread counts).
  int outstanding_ = 1;
  DoneTag done_{*this};
  std::atomic<bool> cancelled_{false};
  grpc::GenericServerContext context_;
  grpc::GenericServerAsyncReaderWriter stream_{&context_};
  grpc::ByteBuffer request_;
  grpc::ByteBuffer reply_;
  std::shared_ptr<void> kept_;
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
        method, access, [work = std::move(work)](QueuedCall& call, const CallerIdentity& caller) {
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
        method, QueuedAccess::kAuthenticated,
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

  // Adds the generic service and one completion queue per thread to `builder`. Call once,
  // after every Handle and before BuildAndStart.
  void AddTo(grpc::ServerBuilder& builder);
  // Starts the polling threads; after BuildAndStart.
  void Start();
  // After grpc::Server::Shutdown and before the grpc::Server is destroyed (the queues hold tags
  // that refer to it until drained): shuts the queues down and joins the threads. Idempotent.
  void Stop();

  // The queue of the polling thread this runs on, held against Stop() while the lease lives: its
  // tags (a QueuedTag) come back to this same thread. Empty on any other thread, or once the
  // queue is shutting down. For peer calls made from a chain (CallOnQueue).
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
    // Calls taken from this queue and not yet answered: each will still start an operation on
    // the queue (its read, its answer), which gRPC refuses once the queue is shut down. Stop()
    // waits for none.
    int calls_in_hand ABSL_GUARDED_BY(mu) = 0;
  };

  struct Method {
    QueuedAccess access;
    Run run;
  };
  template <typename Request, typename Response>
  void AddMethod(absl::string_view method, QueuedAccess access, Run run) {
    CheckContract(method, Request::descriptor(), Response::descriptor());
    if (!methods_.emplace(std::string(method), Method{access, std::move(run)}).second) {
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
  static void CheckContract(absl::string_view method, const google::protobuf::Descriptor* request,
                            const google::protobuf::Descriptor* response);

  friend class QueuedCall;
  void Poll(int index);
  void AskForCall(int index);
  // A call of queue `index` has started its answer (QueuedCall::Answer).
  void Answered(int index);
  void Advance(QueuedCall& call, bool ok);
  void Dispatch(QueuedCall& call);

  QueuedUnaryOptions options_;
  absl::flat_hash_map<std::string, Method> methods_;
  grpc::AsyncGenericService service_;
  std::vector<std::unique_ptr<Queue>> queues_;
  std::vector<std::thread> threads_;
};

// A unary call to a peer whose answer comes back on the polling thread that made it, instead of
// on gRPC's callback threads: no thread hand-off between a chain's steps. `prepare(queue)` is
// the stub's PrepareAsync<Method>(context, request, queue). False when this thread polls no queue
// (the caller then uses the callback API), and `done` is left as it was; otherwise `done(status)`
// runs once, on this thread, after `*response` has been filled.
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
