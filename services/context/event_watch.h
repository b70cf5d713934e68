#ifndef LIVECALL_SERVICES_CONTEXT_EVENT_WATCH_H_
#define LIVECALL_SERVICES_CONTEXT_EVENT_WATCH_H_

// The server-streaming side of Context.WatchSessionEvents / WatchCallEvents for back ends that
// speak gRPC: one EventHub subscription per call, written out one message at a time.

#include <grpcpp/grpcpp.h>

#include <deque>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "common/event_hub.h"
#include "livecall/v1/context.pb.h"

namespace livecall::context {

class EventWatchReactor final : public grpc::ServerWriteReactor<livecall::v1::LiveEventEnvelope> {
 public:
  // Messages queued for a client that does not read; past this the watch ends.
  static constexpr size_t kMaxQueued = 1000;

  // Starts at once; deletes itself when the RPC is done.
  EventWatchReactor(EventHub& hub, const std::string& stream, const std::string& after_event_id);

  // grpc::ServerWriteReactor
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  void OnEntries(const std::vector<StreamEntry>& entries) ABSL_LOCKS_EXCLUDED(mu_);
  void WriteNextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FinishLocked(grpc::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  EventHub& hub_;
  uint64_t handle_ = 0;
  absl::Mutex mu_;
  std::deque<livecall::v1::LiveEventEnvelope> queue_ ABSL_GUARDED_BY(mu_);
  livecall::v1::LiveEventEnvelope writing_message_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace livecall::context

#endif  // LIVECALL_SERVICES_CONTEXT_EVENT_WATCH_H_
