#include "services/context/event_watch.h"

#include "common/enum_json.h"
#include "common/live_events.h"
#include "common/log.h"

namespace livecall::context {
EventWatchReactor::EventWatchReactor(EventHub& hub, const std::string& stream,
                                     const std::string& after_event_id)
    : hub_(hub) {
  // Last: the hub may call back before Subscribe returns.
  handle_ = hub_.Subscribe(stream, after_event_id,
                           [this](const std::vector<StreamEntry>& entries) { OnEntries(entries); });
}

void EventWatchReactor::OnEntries(const std::vector<StreamEntry>& entries) {
  absl::MutexLock lock(&mu_);
  if (finished_ || entries.empty()) return;  // Heartbeats are for SSE; gRPC has its own.
  for (const StreamEntry& entry : entries) {
    livecall::v1::LiveEventEnvelope envelope;
    envelope.set_event_id(entry.id);
    google::protobuf::util::JsonParseOptions options;
    options.ignore_unknown_fields = true;  // Events written by a newer version of the suite.
    if (!ParseJson(entry.data, envelope.mutable_event(), options).ok()) {
      LogWarning("unreadable live event skipped", {{"id", entry.id}});
      continue;
    }
    queue_.push_back(std::move(envelope));
  }
  if (queue_.size() > kMaxQueued) {
    return FinishLocked(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                     "the watcher reads too slowly; resume from the last event"));
  }
  if (!writing_) WriteNextLocked();
}

void EventWatchReactor::WriteNextLocked() {
  if (finished_ || queue_.empty()) return;
  writing_ = true;
  writing_message_ = std::move(queue_.front());
  queue_.pop_front();
  StartWrite(&writing_message_);
}

void EventWatchReactor::OnWriteDone(bool ok) {
  absl::MutexLock lock(&mu_);
  writing_ = false;
  if (!ok) return FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "write failed"));
  WriteNextLocked();
}

void EventWatchReactor::OnCancel() {
  absl::MutexLock lock(&mu_);
  FinishLocked(grpc::Status::CANCELLED);
}

void EventWatchReactor::FinishLocked(grpc::Status status) {
  if (finished_) return;
  finished_ = true;
  Finish(std::move(status));
}

void EventWatchReactor::OnDone() {
  hub_.Unsubscribe(handle_);
  delete this;
}

}  // namespace livecall::context
