#ifndef LIVECALL_TESTS_SUPPORT_SSE_H_
#define LIVECALL_TESTS_SUPPORT_SSE_H_

// A Server-Sent Events reader for the gateway's live-event routes, reading as a browser's
// EventSource does.

#include <functional>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace livecall::testing {

struct SseEvent {
  std::string id;
  std::string type;
  std::string data;
};

struct SseResult {
  long status = 0;
  std::string content_type;
  std::string raw;
  std::vector<SseEvent> events;
};

// GETs `url` with `headers` ("Name: value") and reads events until `enough` says so (or
// `timeout`); only events with an id are kept (": ping" comments and retry hints are not).
SseResult ReadSseEvents(const std::string& url, const std::vector<std::string>& headers,
                        const std::function<bool(const std::vector<SseEvent>&)>& enough,
                        absl::Duration timeout = absl::Seconds(10));

}  // namespace livecall::testing

#endif  // LIVECALL_TESTS_SUPPORT_SSE_H_
