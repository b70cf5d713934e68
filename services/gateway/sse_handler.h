#ifndef LIVECALL_SERVICES_GATEWAY_SSE_HANDLER_H_
#define LIVECALL_SERVICES_GATEWAY_SSE_HANDLER_H_

// The live-event routes (GET /api/calls/{call_sid}/events, GET /ai/sessions/{session_id}/events)
// as Server-Sent Events, read from the Redis event streams through the process's EventHub — so
// an event written on any replica reaches a browser on any gateway replica. Each event is
//   id: <redis stream id>\nevent: <type>\ndata: <LiveEvent as JSON>\n\n
// Last-Event-ID (header, or ?lastEventId= for clients that cannot set headers) resumes after that
// event; without it the stream starts at the oldest event kept, so a reloaded page rebuilds its
// transcript. Idle streams get a ": ping" comment every heartbeat.

#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "common/event_hub.h"
#include "services/gateway/http_response.h"
#include "services/gateway/http_server.h"
#include "services/gateway/route_table.h"

namespace livecall::gateway {

// One event in SSE framing; multi-line data becomes several data: lines.
std::string FormatServerSentEvent(const StreamEntry& entry);

// The answer to a matched live-event route: a streamed 200, or the error response for a bad
// request (unknown id shape 404, malformed Last-Event-ID 400). `hub` null: 503.
HttpResponse ServeLiveEvents(EventHub* hub, const RouteMatch& match, const HttpRequest& request,
                             absl::string_view query);

}  // namespace livecall::gateway

#endif  // LIVECALL_SERVICES_GATEWAY_SSE_HANDLER_H_
