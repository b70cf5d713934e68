#include "services/context/context_metrics.h"

#include "common/metrics.h"

namespace livecall::context {

prometheus::Gauge& ActiveSessionsGauge() {
  static auto& gauge = SingleGauge("livecall_active_sessions", "AI sessions that have not ended.");
  return gauge;
}

}  // namespace livecall::context
