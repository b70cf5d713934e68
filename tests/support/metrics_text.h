#ifndef LIVECALL_TESTS_SUPPORT_METRICS_TEXT_H_
#define LIVECALL_TESTS_SUPPORT_METRICS_TEXT_H_

// Reads one sample out of Prometheus' text exposition format.

#include "absl/strings/string_view.h"

namespace livecall::testing {

// The value of `series` (the name with its labels exactly as exposed, sorted by label name:
// `livecall_tts_cache_lookups_total{result="hit"}`), or 0 when it is not there yet.
double MetricValue(absl::string_view exposition, absl::string_view series);

}  // namespace livecall::testing

#endif  // LIVECALL_TESTS_SUPPORT_METRICS_TEXT_H_
