#include "common/log.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace livecall {
namespace {

// What lines are written with. A published LogConfig never changes: InitLogging and
// RegisterLogSecret publish a changed copy, so a line reads the current one without a lock (an
// absl::Mutex reader lock and unlock were about 450 instructions of every line). Every copy is
// kept, as a line may still be reading an older one; they are a handful, made at start-up.
struct LogConfig {
  std::string service = "livecall";
  LogLevel min_level = LogLevel::kInfo;
  // Longest first, so a secret that contains another is replaced whole.
  std::vector<std::string> secrets;
};

struct LogState {
  absl::Mutex mu;  // Taken by those who publish.
  std::vector<std::unique_ptr<const LogConfig>> published ABSL_GUARDED_BY(mu);
  std::atomic<const LogConfig*> current{nullptr};
};

// Where finished lines go: straight to stderr, or (StartBufferedLogging) into `pending`, which the
// flusher thread writes. `write_mu` is held across each write to stderr, so a flush that took
// lines out of `pending` finishes writing them before anyone writes lines logged after them.
struct LogSink {
  absl::Mutex write_mu;
  absl::Mutex mu;
  bool buffered ABSL_GUARDED_BY(mu) = false;
  bool flusher_started ABSL_GUARDED_BY(mu) = false;
  absl::Duration flush_interval ABSL_GUARDED_BY(mu) = absl::Milliseconds(50);
  std::string pending ABSL_GUARDED_BY(mu);
};

// A full buffer is written at once rather than growing until the next interval.
constexpr size_t kMaxPendingBytes = 64 * 1024;

constexpr char kRedacted[] = "[redacted]";
constexpr size_t kRedactedLength = sizeof(kRedacted) - 1;

bool IsBase64UrlChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
}

// Field names whose values are credentials whatever they hold: any of these words, in any case,
// anywhere in the name.
//
// One pass over the name that compares only the words starting with the letter at hand: comparing
// every word at every position cost about 86 absl::EqualsIgnoreCase calls per line of the gRPC
// access log.
// Whether `text` starts with `word` (lower case) in any case, its first letter already matched.
inline bool StartsWithWord(absl::string_view text, absl::string_view word) {
  if (text.size() < word.size()) return false;
  for (size_t k = 1; k < word.size(); ++k) {
    if (absl::ascii_tolower(static_cast<unsigned char>(text[k])) != word[k]) return false;
  }
  return true;
}

bool IsSecretFieldName(absl::string_view name) {
  for (size_t i = 0; i < name.size(); ++i) {
    const absl::string_view rest = name.substr(i);
    switch (absl::ascii_tolower(static_cast<unsigned char>(name[i]))) {
      case 'a':
        if (StartsWithWord(rest, "authorization") || StartsWithWord(rest, "api_key") ||
            StartsWithWord(rest, "api-key") || StartsWithWord(rest, "apikey")) {
          return true;
        }
        break;
      case 't':
        if (StartsWithWord(rest, "token")) return true;
        break;
      case 's':
        if (StartsWithWord(rest, "secret") || StartsWithWord(rest, "signature")) {
          return true;
        }
        break;
      case 'p':
        if (StartsWithWord(rest, "password")) return true;
        break;
      case 'c':
        if (StartsWithWord(rest, "cookie")) return true;
        break;
      default:
        break;
    }
  }
  return false;
}

// Replaces every JSON Web Token (three base64url parts, the first starting "eyJ", i.e. '{"') and
// the credential after "Bearer "/"Basic ".
std::string RedactShapes(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    if (text.substr(i, 3) == "eyJ") {
      size_t end = i;
      int dots = 0;
      while (end < text.size() && (IsBase64UrlChar(text[end]) || (text[end] == '.' && dots < 2))) {
        if (text[end] == '.') ++dots;
        ++end;
      }
      if (dots == 2) {
        out.append(kRedacted);
        i = end;
        continue;
      }
    }
    for (absl::string_view scheme : {"Bearer ", "Basic "}) {
      if (text.size() - i > scheme.size() &&
          absl::EqualsIgnoreCase(text.substr(i, scheme.size()), scheme)) {
        size_t end = i + scheme.size();
        while (end < text.size() && !absl::ascii_isspace(static_cast<unsigned char>(text[end])) &&
               text[end] != '"' && text[end] != ',') {
          ++end;
        }
        if (end > i + scheme.size()) {
          absl::StrAppend(&out, text.substr(i, scheme.size()), kRedacted);
          i = end;
          goto next;
        }
      }
    }
    out.push_back(text[i++]);
  next:;
  }
  return out;
}

LogState& State() {
  static LogState* state = [] {
    auto* created = new LogState();
    absl::MutexLock lock(&created->mu);
    created->published.push_back(std::make_unique<const LogConfig>());
    created->current.store(created->published.back().get(), std::memory_order_release);
    return created;
  }();
  return *state;
}

const LogConfig& CurrentConfig() { return *State().current.load(std::memory_order_acquire); }

// Publishes a copy of the current configuration changed by `change`.
template <typename Change>
void PublishConfig(Change change) {
  LogState& state = State();
  absl::MutexLock lock(&state.mu);
  auto next = std::make_unique<LogConfig>(*state.current.load(std::memory_order_relaxed));
  change(*next);
  state.current.store(next.get(), std::memory_order_release);
  state.published.push_back(std::move(next));
}

// Never destroyed: threads and atexit handlers may log until the very end.
LogSink& Sink() {
  static LogSink* sink = new LogSink();
  return *sink;
}

void WriteToStderr(absl::string_view bytes) {
  if (!bytes.empty()) std::fwrite(bytes.data(), 1, bytes.size(), stderr);
}

// Writes what is pending, and then `line` (may be empty).
void WritePendingAnd(absl::string_view line) {
  LogSink& sink = Sink();
  absl::MutexLock write_lock(&sink.write_mu);
  std::string batch;
  {
    absl::MutexLock lock(&sink.mu);
    batch.swap(sink.pending);
  }
  // One fwrite per batch (stderr is unbuffered: one write(2)) keeps lines whole when threads log
  // at once.
  WriteToStderr(batch);
  WriteToStderr(line);
  // Keep the buffer's capacity for the next batch.
  batch.clear();
  absl::MutexLock lock(&sink.mu);
  if (sink.pending.empty() && sink.pending.capacity() < batch.capacity()) sink.pending.swap(batch);
}

void FlusherLoop() {
  LogSink& sink = Sink();
  for (;;) {
    absl::Duration interval;
    {
      absl::MutexLock lock(&sink.mu);
      interval = sink.flush_interval;
    }
    absl::SleepFor(interval);
    WritePendingAnd("");
  }
}

// At exit, buffered lines are written and later ones (static destructors, other threads) go
// straight to stderr.
void FlushAtExit() {
  LogSink& sink = Sink();
  {
    absl::MutexLock lock(&sink.mu);
    sink.buffered = false;
  }
  WritePendingAnd("");
}

// Hands a finished line to the sink: kept for the flusher, or written now with what is pending.
void Emit(LogLevel level, const std::string& line) {
  LogSink& sink = Sink();
  {
    absl::MutexLock lock(&sink.mu);
    if (sink.buffered && level <= LogLevel::kInfo && sink.pending.size() < kMaxPendingBytes) {
      sink.pending.append(line);
      return;
    }
  }
  WritePendingAnd(line);
}

absl::string_view LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

}  // namespace

void InitLogging(absl::string_view service_name, LogLevel min_level) {
  PublishConfig([&](LogConfig& config) {
    config.service = std::string(service_name);
    config.min_level = min_level;
  });
}

absl::StatusOr<LogLevel> ParseLogLevel(absl::string_view name) {
  std::string lower = absl::AsciiStrToLower(name);
  if (lower == "debug") return LogLevel::kDebug;
  if (lower == "info" || lower.empty()) return LogLevel::kInfo;
  if (lower == "warning" || lower == "warn") return LogLevel::kWarning;
  if (lower == "error") return LogLevel::kError;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown log level \"", name, "\" (want debug, info, warning or error)"));
}

// Log lines are written with this escaper, not protobuf's JSON printer (common/json.h): a line
// through a google.protobuf.Struct costs about 24 times as much (7.6 µs against 0.3 µs for seven
// fields, -O2), comes out with its keys in hash order instead of ts, level, service, msg first,
// and loses invalid UTF-8 bytes with a complaint of libprotobuf's own on stderr.
namespace {

// Eight bytes at a time ("SWAR"; Bit Twiddling Hacks' haszero and hasless, exact as yes/no tests):
// most text needs no escape and no redaction, and skipping it a word at a time costs about a
// quarter of looking at each byte.
constexpr uint64_t kEachByte = 0x0101010101010101u;
constexpr uint64_t kHighBits = 0x8080808080808080u;
uint64_t LoadWord(const char* at) {
  uint64_t word;
  std::memcpy(&word, at, sizeof(word));
  return word;
}
// Nonzero when a byte of `word` is zero.
constexpr uint64_t HasZeroByte(uint64_t word) { return (word - kEachByte) & ~word & kHighBits; }
// Nonzero when a byte of `word` is `byte`.
constexpr uint64_t HasByte(uint64_t word, unsigned char byte) {
  return HasZeroByte(word ^ (kEachByte * byte));
}
// Nonzero when a byte of `word` is below `limit` (at most 128).
constexpr uint64_t HasByteBelow(uint64_t word, unsigned char limit) {
  return (word - kEachByte * limit) & ~word & kHighBits;
}

// Nonzero when a byte of `word` needs a JSON escape: a control character, '"' or '\\'.
constexpr uint64_t NeedsJsonEscape(uint64_t word) {
  return HasByteBelow(word, 0x20) | HasByte(word, '"') | HasByte(word, '\\');
}

void AppendJsonEscaped(std::string* out, absl::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  const char* const data = text.data();
  const size_t size = text.size();
  size_t plain_from = 0;
  size_t i = 0;
  while (i < size) {
    if (i + 8 <= size && NeedsJsonEscape(LoadWord(data + i)) == 0) {
      i += 8;
      continue;
    }
    // The next eight bytes (or the last few) one at a time.
    for (const size_t end = std::min(i + 8, size); i < end; ++i) {
      const unsigned char c = static_cast<unsigned char>(data[i]);
      if (c >= 0x20 && c != '"' && c != '\\') continue;
      out->append(data + plain_from, i - plain_from);
      plain_from = i + 1;
      switch (c) {
        case '"':
          out->append("\\\"");
          break;
        case '\\':
          out->append("\\\\");
          break;
        case '\n':
          out->append("\\n");
          break;
        case '\r':
          out->append("\\r");
          break;
        case '\t':
          out->append("\\t");
          break;
        default: {
          const char escaped[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xf]};
          out->append(escaped, sizeof(escaped));
        }
      }
    }
  }
  out->append(data + plain_from, size - plain_from);
}

}  // namespace

std::string JsonEscape(absl::string_view text) {
  std::string out;
  out.reserve(text.size() + 8);
  AppendJsonEscaped(&out, text);
  return out;
}

void RegisterLogSecret(absl::string_view secret) {
  // Short values would redact ordinary words.
  if (secret.size() < 8) return;
  const std::vector<std::string>& known = CurrentConfig().secrets;
  if (std::find(known.begin(), known.end(), secret) != known.end()) return;
  PublishConfig([&](LogConfig& config) {
    std::vector<std::string>& secrets = config.secrets;
    if (std::find(secrets.begin(), secrets.end(), secret) != secrets.end()) return;
    auto at = std::find_if(secrets.begin(), secrets.end(),
                           [&](const std::string& other) { return other.size() < secret.size(); });
    secrets.emplace(at, secret);
  });
}

namespace {

std::string RedactSecretsWith(const LogConfig& config, absl::string_view text) {
  std::string out = RedactShapes(text);
  for (const std::string& secret : config.secrets) {
    for (size_t at = out.find(secret); at != std::string::npos; at = out.find(secret, at)) {
      out.replace(at, secret.size(), kRedacted);
      at += kRedactedLength;
    }
  }
  return out;
}

// False when RedactSecretsLocked would return `text` as it is: no "eyJ", no "bearer "/"basic " in
// any case, no registered secret. Most lines are plain, and this check allocates nothing.
bool MayHoldSecrets(const LogConfig& config, absl::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    if (i + 8 <= text.size()) {
      const uint64_t word = LoadWord(text.data() + i);
      if ((HasByte(word, 'e') | HasByte(word, 'b') | HasByte(word, 'B')) == 0) {
        i += 8;
        continue;
      }
    }
    for (const size_t end = std::min(i + 8, text.size()); i < end; ++i) {
      const char c = text[i];
      if (c == 'e' && text.substr(i, 3) == "eyJ") return true;
      if ((c == 'b' || c == 'B') && (absl::StartsWithIgnoreCase(text.substr(i), "bearer ") ||
                                     absl::StartsWithIgnoreCase(text.substr(i), "basic "))) {
        return true;
      }
    }
  }
  for (const std::string& secret : config.secrets) {
    // Most values (codes, durations, ids) are shorter than any secret (8 bytes and more).
    if (text.size() >= secret.size() && absl::StrContains(text, secret)) return true;
  }
  return false;
}

void AppendRedactedEscaped(const LogConfig& config, std::string* out, absl::string_view text) {
  if (MayHoldSecrets(config, text)) {
    AppendJsonEscaped(out, RedactSecretsWith(config, text));
  } else {
    AppendJsonEscaped(out, text);
  }
}

// "2026-11-26T09:00:00.123Z". Formatting the date and time is most of a line's cost, and lines
// come many to a second: each thread keeps the last second's text.
void AppendTimestamp(std::string* out, absl::Time now) {
  thread_local int64_t cached_second = -1;
  thread_local char cached_text[32];
  thread_local size_t cached_length = 0;
  const int64_t millis = absl::ToUnixMillis(now);
  const int64_t second = millis >= 0 ? millis / 1000 : (millis - 999) / 1000;
  if (second != cached_second) {
    const std::string text =
        absl::FormatTime("%Y-%m-%dT%H:%M:%S", absl::FromUnixSeconds(second), absl::UTCTimeZone());
    cached_length = std::min(text.size(), sizeof(cached_text));
    text.copy(cached_text, cached_length);
    cached_second = second;
  }
  out->append(cached_text, cached_length);
  const int ms = static_cast<int>(millis - second * 1000);
  const char fraction[] = {'.', static_cast<char>('0' + ms / 100),
                           static_cast<char>('0' + ms / 10 % 10), static_cast<char>('0' + ms % 10),
                           'Z'};
  out->append(fraction, sizeof(fraction));
}

}  // namespace

std::string RedactSecrets(absl::string_view text) {
  return RedactSecretsWith(CurrentConfig(), text);
}

void StartBufferedLogging(absl::Duration flush_interval) {
  LogSink& sink = Sink();
  absl::MutexLock lock(&sink.mu);
  sink.buffered = true;
  sink.flush_interval = std::max(flush_interval, absl::Milliseconds(1));
  if (sink.flusher_started) return;
  sink.flusher_started = true;
  // Detached: it holds no state of its own, and FlushAtExit writes what it has not.
  std::thread(FlusherLoop).detach();
  std::atexit(FlushAtExit);
}

void FlushLogs() { WritePendingAnd(""); }

namespace {

// One line; `Field` is LogField or LogFieldView.
template <typename Field>
void LogLine(LogLevel level, absl::string_view message, std::initializer_list<Field> fields) {
  const LogConfig& config = CurrentConfig();
  if (level < config.min_level) return;
  // Reused by each thread's lines: a line then allocates nothing once the thread has logged one.
  thread_local std::string line;
  line.clear();
  line.append("{\"ts\":\"");
  AppendTimestamp(&line, absl::Now());
  line.append("\",\"level\":\"");
  line.append(LevelName(level).data(), LevelName(level).size());
  line.append("\",\"service\":\"");
  AppendJsonEscaped(&line, config.service);
  line.append("\",\"msg\":\"");
  AppendRedactedEscaped(config, &line, message);
  line.push_back('"');
  for (const auto& [key, value] : fields) {
    line.append(",\"");
    AppendJsonEscaped(&line, key);
    line.append("\":\"");
    if (!value.empty() && IsSecretFieldName(key)) {
      line.append(kRedacted, kRedactedLength);
    } else {
      AppendRedactedEscaped(config, &line, value);
    }
    line.push_back('"');
  }
  line.append("}\n");
  Emit(level, line);
  // A rare huge line should not stay allocated in every thread that logged one.
  if (line.capacity() > 16 * 1024) std::string().swap(line);
}

}  // namespace

void Log(LogLevel level, absl::string_view message, std::initializer_list<LogField> fields) {
  LogLine(level, message, fields);
}

void LogViews(LogLevel level, absl::string_view message,
              std::initializer_list<LogFieldView> fields) {
  LogLine(level, message, fields);
}

}  // namespace livecall
