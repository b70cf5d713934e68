#ifndef LIVECALL_SERVICES_CALL_CONTROL_SANDBOX_PROVIDER_H_
#define LIVECALL_SERVICES_CALL_CONTROL_SANDBOX_PROVIDER_H_

// Simulates the PSTN: a placed call goes queued -> ringing -> in-progress -> completed on timers.
// The schedule lives in Redis (CallStore's due set), not in memory, so a restarted or second
// replica carries on any call; each step is claimed by exactly one replica.

#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/call-control/call_store.h"
#include "services/call-control/speech.h"
#include "services/call-control/telephony_provider.h"

namespace livecall::call_control {

struct SandboxTimings {
  absl::Duration ring = absl::Seconds(2);    // queued -> ringing
  absl::Duration answer = absl::Seconds(3);  // ringing -> in-progress
  absl::Duration talk = absl::Seconds(5);    // in-progress -> completed
  absl::Duration poll = absl::Milliseconds(50);
};

class SandboxProvider final : public TelephonyProvider {
 public:
  // `speech` renders what a call says just as for Twilio, so a sandbox call carries the same
  // synthesised audio (Call.audio_url) for the console and tests to play.
  SandboxProvider(CallStore& store, SandboxTimings timings, SpeechRenderer& speech)
      : store_(store), timings_(timings), speech_(speech) {}
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

  CallStore& store_;
  const SandboxTimings timings_;
  SpeechRenderer& speech_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread loop_;
};

}  // namespace livecall::call_control

#endif  // LIVECALL_SERVICES_CALL_CONTROL_SANDBOX_PROVIDER_H_
