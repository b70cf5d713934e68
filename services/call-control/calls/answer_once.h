#ifndef LIVECALL_SERVICES_CALL_CONTROL_CALLS_ANSWER_ONCE_H_
#define LIVECALL_SERVICES_CALL_CONTROL_CALLS_ANSWER_ONCE_H_

// Twilio delivers every webhook at least once, and API clients retry PlaceCall with the same
// Idempotency-Key: whatever must happen once per key (dial a customer, add a caller's words to the
// conversation, place a call) goes through AnswerOnce. The first request with a key does the work
// and the key keeps its answer for `ttl` (CallStore's idempotency keys, in Redis, so every replica
// sees them); a retry gets that answer and does nothing.

#include <functional>
#include <optional>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/call-control/calls/call_store.h"

namespace livecall::call_control {

struct AnswerOnceOptions {
  // How long the answer is kept.
  absl::Duration ttl;
  // How long a retry that arrives while the first request is still running waits for its answer
  // (polling Redis); zero: it does not wait.
  absl::Duration wait = absl::ZeroDuration();
  // What such a retry gets when no answer came within `wait`. OK: it counts as answered, with an
  // empty answer (for requests whose effect matters, not what they answer).
  absl::Status still_running =
      absl::UnavailableError("the first request with this key is still being answered");
  // Whether a failure of the first request lets the key go, so that a retry does the work afresh.
  // Unset: every failure does. A failure that keeps the key keeps retries waiting until it lapses.
  std::function<bool(const absl::Status&)> failure_lets_key_go;
};

struct OnceAnswer {
  std::string text;
  // True when `text` is the answer of an earlier request with the key: nothing was done now.
  bool repeated = false;
};

// The first request with `key` runs `answer`; its text is kept under `key` and returned. A retry
// returns the kept text (repeated). An empty text is kept as "answered" too, but a retry cannot
// tell it from a request still running (see `still_running`).
absl::StatusOr<OnceAnswer> AnswerOnce(CallStore& calls, const std::string& key,
                                      const AnswerOnceOptions& options,
                                      absl::FunctionRef<absl::StatusOr<std::string>()> answer);

// AnswerOnce in two halves, for an answer that comes later than the call that claims the key
// (a browser's /twilio/voice goes on from its AI session's answer). ClaimOnce answers the kept
// answer of an earlier request (repeated), or nullopt when this request has claimed `key`: it
// must then call FinishOnce once with its answer, which keeps it (or, failed, lets the key go as
// AnswerOnce would) and answers it.
absl::StatusOr<std::optional<OnceAnswer>> ClaimOnce(CallStore& calls, const std::string& key,
                                                    const AnswerOnceOptions& options);
absl::StatusOr<OnceAnswer> FinishOnce(CallStore& calls, const std::string& key,
                                      const AnswerOnceOptions& options,
                                      absl::StatusOr<std::string> text);

}  // namespace livecall::call_control

#endif  // LIVECALL_SERVICES_CALL_CONTROL_CALLS_ANSWER_ONCE_H_
