#ifndef LIVECALL_SERVICES_CALL_CONTROL_SANDBOX_SANDBOX_PROVIDER_H_
#define LIVECALL_SERVICES_CALL_CONTROL_SANDBOX_SANDBOX_PROVIDER_H_

// Simulates the PSTN: a placed call goes queued -> ringing -> in-progress -> completed on timers.
// The schedule lives in Redis (CallStore's due set), not in memory, so a restarted or second
// replica carries on any call; each step is claimed by exactly one replica. While an "ai" or
// "agent" call is in progress a SandboxConversation plays the customer, one line per step, until
// it hangs up (AI calls) or the agent does.

#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/call-control/calls/call_store.h"
#include "services/call-control/speech.h"
#include "services/call-control/telephony_provider.h"

namespace livecall::call_control {

struct SandboxTimings {
  absl::Duration ring = absl::Seconds(2);       // queued -> ringing
  absl::Duration answer = absl::Seconds(3);     // ringing -> in-progress
  absl::Duration talk = absl::Seconds(5);       // in-progress -> completed ("tts" calls)
  absl::Duration line = absl::Seconds(4);       // between the scripted customer's lines
  absl::Duration max_call = absl::Minutes(10);  // a conversation call ends after this anyway
  absl::Duration poll = absl::Milliseconds(50);
};

// The customer on a sandbox call in "ai" or "agent" mode.
class SandboxConversation {
 public:
  virtual ~SandboxConversation() = default;
  // One step of an in-progress call: the customer says their next line (recorded in `call`).
  // Answers whether the call goes on; an error retries the step later.
  virtual absl::StatusOr<bool> Step(livecall::v1::Call& call) = 0;
  // The call has ended (any way: hung up, or the customer's last line).
  virtual void Ended(const livecall::v1::Call& call) = 0;
};

class SandboxProvider final : public TelephonyProvider {
 public:
  // `speech` renders what a call says just as for Twilio, so a sandbox call carries the same
  // synthesised audio (Call.audio_url) for the console and tests to play. `conversation` may be
  // null (no scripted customer: every call is a "tts" call).
  SandboxProvider(CallStore& store, SandboxTimings timings, SpeechRenderer& speech,
                  SandboxConversation* conversation = nullptr)
      : store_(store), timings_(timings), speech_(speech), conversation_(conversation) {}
  ~SandboxProvider() override;

  // TelephonyProvider
  absl::string_view name() const override { return "sandbox"; }
  absl::StatusOr<livecall::v1::Call> Place(livecall::v1::Call call) override;
  // Simulated: nothing to tell a network; the call store records hold/mute/digits. Hangup takes
  // the call off the schedule, so it ends where it is.
  absl::Status Hold(const livecall::v1::Call& call, bool on_hold) override {
    return absl::OkStatus();
  }
  absl::Status Mute(const livecall::v1::Call& call, bool muted) override {
    return absl::OkStatus();
  }
  absl::Status Hangup(const livecall::v1::Call& call) override {
    return store_.Unschedule(call.call_sid());
  }
  absl::Status SendDigits(const livecall::v1::Call& call, absl::string_view digits) override {
    return absl::OkStatus();
  }

  // Takes every step due at `now`; returns how many calls moved. Called by the background loop,
  // and directly by tests.
  absl::StatusOr<int> RunDueSteps(absl::Time now);

  // Starts / stops the background loop that calls RunDueSteps every `timings.poll`.
  void Start();
  void Stop() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  absl::Status Advance(const std::string& call_sid, absl::Time now);
  // An in-progress "ai"/"agent" call's step: the customer's next line, then the next step or the
  // end of the call.
  absl::Status Converse(livecall::v1::Call call, absl::Time now);
  absl::Status Complete(const std::string& call_sid, absl::Time now);
  bool Converses(const livecall::v1::Call& call) const;

  CallStore& store_;
  const SandboxTimings timings_;
  SpeechRenderer& speech_;
  SandboxConversation* const conversation_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread loop_;
};

}  // namespace livecall::call_control

#endif  // LIVECALL_SERVICES_CALL_CONTROL_SANDBOX_SANDBOX_PROVIDER_H_
