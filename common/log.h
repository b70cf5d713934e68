#ifndef LIVECALL_COMMON_LOG_H_
#define LIVECALL_COMMON_LOG_H_

// Structured logs: one JSON object per line on stderr, e.g.
//   {"ts":"2026-11-26T09:00:00.123Z","level":"info","service":"gateway","msg":"listening","addr":"0.0.0.0:8080"}
// Abseil 20220623 has no absl/log, so this small facade is the suite's logger. Thread-safe.
//
// Each line is written when it is logged, unless a process turns on buffered writing
// (StartBufferedLogging): then info and debug lines are gathered in memory and written together
// by a flusher thread within the flush interval, and at exit; a warning or an error writes what is
// gathered and itself at once. Lines stay whole and in order either way.
//
// Logs never carry credentials: a field whose name says it holds one (authorization, token,
// secret, signature, api_key, password, cookie) is written as "[redacted]", and in every message
// and value JSON Web Tokens, the credential after "Bearer "/"Basic " and every secret registered
// with RegisterLogSecret (the process's keys, from its configuration) become "[redacted]".

#include <initializer_list>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace livecall {

enum class LogLevel { kDebug, kInfo, kWarning, kError };

using LogField = std::pair<absl::string_view, std::string>;

// Sets the "service" field of every line and the minimum level (LIVECALL_LOG_LEVEL).
void InitLogging(absl::string_view service_name, LogLevel min_level = LogLevel::kInfo);

// Buffers info and debug lines and writes them every `flush_interval` from a thread of the
// logger's own (a busy server's access log then costs one write per interval, not one per
// request), and at exit (std::atexit). Calling it again changes the interval.
void StartBufferedLogging(absl::Duration flush_interval = absl::Milliseconds(50));
// Writes every buffered line now; returns once they are written.
void FlushLogs();
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

// A field whose value is borrowed, not copied: for lines logged on every request (the gRPC access
// line, common/grpc_observability.cc), whose values already exist as strings.
using LogFieldView = std::pair<absl::string_view, absl::string_view>;
// Log with borrowed values; the same line as Log with the same fields.
void LogViews(LogLevel level, absl::string_view message,
              std::initializer_list<LogFieldView> fields);

// Registers a configured secret (an API key, the JWT secret, the Twilio auth token) so that it is
// never written to the log, whatever message it turns up in. Values under 8 bytes are ignored.
void RegisterLogSecret(absl::string_view secret);
// `text` with credentials replaced as the log does it.
std::string RedactSecrets(absl::string_view text);

// Escapes text for a JSON string literal (without the quotes).
std::string JsonEscape(absl::string_view text);

}  // namespace livecall

#endif  // LIVECALL_COMMON_LOG_H_
