#ifndef LIVECALL_SERVICES_CONTEXT_EVENT_WATCH_H_
#define LIVECALL_SERVICES_CONTEXT_EVENT_WATCH_H_

// The server-streaming side of Context.WatchSessionEvents / WatchCallEvents for back ends that
// speak gRPC: one EventHub subscription per call, its entries written out as LiveEventEnvelopes
// through a stream served from a completion queue (common/queued_unary.h), one at a time.

#include <cstddef>
#include <string>

#include "common/event_hub.h"
#include "common/queued_unary.h"
#include "livecall/v1/context.pb.h"

namespace livecall::context {

// Events waiting for a client that does not read; past this the watch ends with
// RESOURCE_EXHAUSTED (the client resumes from the last event it has).
inline constexpr size_t kMaxQueuedEvents = 1000;

// Subscribes `out` to `stream` on `hub` from the entry after `after_event_id` (its oldest kept
// entry when empty). The stop unsubscribes; it must run before `out` goes.
StopStream StartEventWatch(EventHub& hub, const std::string& stream,
                           const std::string& after_event_id,
                           QueuedStream<livecall::v1::LiveEventEnvelope>& out);

}  // namespace livecall::context

#endif  // LIVECALL_SERVICES_CONTEXT_EVENT_WATCH_H_
