#ifndef LIVECALL_SERVICES_CONTEXT_CONTEXT_METRICS_H_
#define LIVECALL_SERVICES_CONTEXT_CONTEXT_METRICS_H_

// context's own metrics (the shared ones are in common/metrics.h; the outbox's are beside it, in
// outbox.cc):
//
//   livecall_active_sessions   gauge, sampled from Redis every 15 s

#include <prometheus/gauge.h>

namespace livecall::context {

prometheus::Gauge& ActiveSessionsGauge();

}  // namespace livecall::context

#endif  // LIVECALL_SERVICES_CONTEXT_CONTEXT_METRICS_H_
