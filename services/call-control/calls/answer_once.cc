#include "services/call-control/calls/answer_once.h"

#include <optional>
#include <utility>

#include "absl/time/clock.h"
#include "common/status.h"

namespace livecall::call_control {
namespace {

// How often a waiting retry looks for the first request's answer.
constexpr absl::Duration kPollInterval = absl::Milliseconds(50);

}  // namespace

absl::StatusOr<std::optional<OnceAnswer>> ClaimOnce(CallStore& calls, const std::string& key,
                                                    const AnswerOnceOptions& options) {
  const absl::Time give_up = absl::Now() + options.wait;
  while (true) {
    LIVECALL_ASSIGN_OR_RETURN(bool first, calls.ReserveIdempotencyKey(key, options.ttl));
    if (first) return std::nullopt;
    LIVECALL_ASSIGN_OR_RETURN(std::optional<std::string> answered, calls.LookupIdempotencyKey(key));
    if (answered.has_value() && !answered->empty()) {
      return OnceAnswer{.text = *std::move(answered), .repeated = true};
    }
    if (!answered.has_value()) continue;  // The first request failed and let the key go.
    if (absl::Now() >= give_up) {
      if (options.still_running.ok()) return OnceAnswer{.repeated = true};
      return options.still_running;
    }
    absl::SleepFor(kPollInterval);
  }
}

absl::StatusOr<OnceAnswer> FinishOnce(CallStore& calls, const std::string& key,
                                      const AnswerOnceOptions& options,
                                      absl::StatusOr<std::string> text) {
  if (!text.ok()) {
    if (!options.failure_lets_key_go || options.failure_lets_key_go(text.status())) {
      LIVECALL_RETURN_IF_ERROR(calls.ReleaseIdempotencyKey(key));
    }
    return text.status();
  }
  LIVECALL_RETURN_IF_ERROR(calls.CompleteIdempotencyKey(key, *text, options.ttl));
  return OnceAnswer{.text = *std::move(text)};
}

absl::StatusOr<OnceAnswer> AnswerOnce(CallStore& calls, const std::string& key,
                                      const AnswerOnceOptions& options,
                                      absl::FunctionRef<absl::StatusOr<std::string>()> answer) {
  LIVECALL_ASSIGN_OR_RETURN(std::optional<OnceAnswer> earlier, ClaimOnce(calls, key, options));
  if (earlier.has_value()) return *std::move(earlier);
  return FinishOnce(calls, key, options, answer());
}

}  // namespace livecall::call_control
