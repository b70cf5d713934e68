#include "services/call-control/call_control_metrics.h"

#include "common/metrics.h"

namespace livecall::call_control {

prometheus::Gauge& ActiveCallsGauge() {
  static auto& gauge = SingleGauge("livecall_active_calls", "Calls that have not ended.");
  return gauge;
}

}  // namespace livecall::call_control
