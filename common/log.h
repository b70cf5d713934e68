#ifndef LIVECALL_COMMON_LOG_H_
#define LIVECALL_COMMON_LOG_H_

// Structured logs: one JSON object per line on stderr, e.g.
//   {"ts":"2026-11-26T09:00:00.123Z","level":"info","service":"gateway","msg":"listening","addr":"0.0.0.0:8080"}
// Abseil 20220623 has no absl/log, so this small facade is the suite's logger. Thread-safe.

#include <initializer_list>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace livecall {

enum class LogLevel { kDebug, kInfo, kWarning, kError };

using LogField = std::pair<absl::string_view, std::string>;

// Sets the "service" field of every line and the minimum level (LIVECALL_LOG_LEVEL).
void InitLogging(absl::string_view service_name, LogLevel min_level = LogLevel::kInfo);
absl::StatusOr<LogLevel> ParseLogLevel(absl::string_view name);

void Log(LogLevel level, absl::string_view message, std::initializer_list<LogField> fields = {});
inline void LogInfo(absl::string_view m, std::initializer_list<LogField> f = {}) {
  Log(LogLevel::kInfo, m, f);
}
inline void LogWarning(absl::string_view m, std::initializer_list<LogField> f = {}) {
  Log(LogLevel::kWarning, m, f);
}
inline void LogError(absl::string_view m, std::initializer_list<LogField> f = {}) {
  Log(LogLevel::kError, m, f);
}
inline void LogDebug(absl::string_view m, std::initializer_list<LogField> f = {}) {
  Log(LogLevel::kDebug, m, f);
}

// Escapes text for a JSON string literal (without the quotes).
std::string JsonEscape(absl::string_view text);

}  // namespace livecall

#endif  // LIVECALL_COMMON_LOG_H_
