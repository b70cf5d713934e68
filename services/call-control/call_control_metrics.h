#ifndef LIVECALL_SERVICES_CALL_CONTROL_CALL_CONTROL_METRICS_H_
#define LIVECALL_SERVICES_CALL_CONTROL_CALL_CONTROL_METRICS_H_

// call-control's own metrics (the shared ones are in common/metrics.h):
//
//   livecall_active_calls      gauge, sampled from Redis every 15 s

#include <prometheus/gauge.h>

namespace livecall::call_control {

prometheus::Gauge& ActiveCallsGauge();

}  // namespace livecall::call_control

#endif  // LIVECALL_SERVICES_CALL_CONTROL_CALL_CONTROL_METRICS_H_
