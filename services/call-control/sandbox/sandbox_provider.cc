#include "services/call-control/sandbox/sandbox_provider.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/proto_time.h"
#include "common/status.h"
#include "services/call-control/calls/call_state_machine.h"

namespace livecall::call_control {

using livecall::v1::CALL_MODE_AGENT;
using livecall::v1::CALL_MODE_AI;
namespace {

// A replica that claimed a step and died leaves it to the others after this long.
constexpr absl::Duration kStepLease = absl::Seconds(10);

}  // namespace

SandboxProvider::~SandboxProvider() { Stop(); }

absl::StatusOr<livecall::v1::Call> SandboxProvider::Place(livecall::v1::Call call) {
  absl::StatusOr<TwimlElement> speech = speech_.Render(
      SpokenText{.text = call.text(), .language = call.language(), .voice = call.voice()});
  if (!speech.ok()) return speech.status();
  call.set_audio_url(PlayedAudioUrl(*speech));
  const absl::Time now = absl::Now();
  call.set_call_sid(NewId("CA"));
  call.set_direction("outbound-api");
  call.set_provider("sandbox");
  *call.mutable_created_at() = ToProtoTimestamp(now);
  RecordCallStatus(call, CALL_STATUS_QUEUED, now);
  if (absl::Status status = store_.Put(call, now + timings_.ring); !status.ok()) return status;
  return call;
}

bool SandboxProvider::Converses(const livecall::v1::Call& call) const {
  return conversation_ != nullptr &&
         (call.mode() == CALL_MODE_AI || call.mode() == CALL_MODE_AGENT);
}

absl::Status SandboxProvider::Advance(const std::string& call_sid, absl::Time now) {
  absl::StatusOr<livecall::v1::Call> call = store_.Get(call_sid);
  if (absl::IsNotFound(call.status())) return store_.Unschedule(call_sid);  // Expired.
  if (!call.ok()) return call.status();
  CallStatus next = livecall::v1::CALL_STATUS_UNSPECIFIED;
  std::optional<absl::Time> next_step_at;
  if (call->status() == CALL_STATUS_QUEUED) {
    next = CALL_STATUS_RINGING;
    next_step_at = now + timings_.answer;
  } else if (call->status() == CALL_STATUS_RINGING) {
    next = CALL_STATUS_IN_PROGRESS;
    next_step_at = now + (Converses(*call) ? timings_.line : timings_.talk);
    if (Converses(*call) && call->mode() == CALL_MODE_AI) {
      // The voice agent's greeting, heard when the callee answers (as Twilio fetches it then);
      // an AI call's text is the greeting its session set after Place.
      absl::StatusOr<TwimlElement> greeting = speech_.Render(
          SpokenText{.text = call->text(), .language = call->language(), .voice = call->voice()});
      if (!greeting.ok()) {
        LogWarning("sandbox: the greeting could not be rendered",
                   {{"callSid", call_sid}, {"error", greeting.status().ToString()}});
      }
      call->set_audio_url(greeting.ok() ? PlayedAudioUrl(*greeting) : "");
    }
  } else if (call->status() == CALL_STATUS_IN_PROGRESS) {
    if (Converses(*call)) return Converse(*std::move(call), now);
    return Complete(call_sid, now);
  } else {
    return store_.Unschedule(call_sid);  // Terminal (e.g. hung up meanwhile).
  }
  if (absl::Status legal = CheckCallTransition(call->status(), next); !legal.ok()) return legal;
  RecordCallStatus(*call, next, now);
  return store_.Put(*call, next_step_at);
}

absl::Status SandboxProvider::Converse(livecall::v1::Call call, absl::Time now) {
  absl::Time answered_at = now;
  for (const livecall::v1::CallEvent& event : call.history()) {
    if (event.status() == CALL_STATUS_IN_PROGRESS) answered_at = FromProtoTimestamp(event.at());
  }
  const int script_lines_before = call.script_lines_spoken();
  const bool handed_off_before = call.handed_off();
  bool goes_on = now - answered_at < timings_.max_call;
  if (goes_on) {
    absl::StatusOr<bool> stepped = conversation_->Step(call);
    if (!stepped.ok()) {
      LogWarning("sandbox: the scripted customer's step failed; retrying",
                 {{"callSid", call.call_sid()}, {"error", stepped.status().ToString()}});
      return store_.Schedule(call.call_sid(), now + timings_.line);
    }
    goes_on = *stepped;
  }
  const bool changed = !goes_on || call.script_lines_spoken() != script_lines_before ||
                       call.handed_off() != handed_off_before;
  // Nothing said and nothing changed (an agent's call after the script): no write, no event.
  if (!changed) return store_.Schedule(call.call_sid(), now + timings_.line);
  // The step talked to other services meanwhile: apply what it changed to the call as stored now,
  // so a hold or a hang-up that came in between is kept.
  absl::StatusOr<livecall::v1::Call> updated =
      store_.Update(call.call_sid(), [&](livecall::v1::Call& stored) -> absl::StatusOr<bool> {
        if (stored.status() != CALL_STATUS_IN_PROGRESS) return false;
        stored.set_script_lines_spoken(call.script_lines_spoken());
        stored.set_handed_off(call.handed_off());
        stored.set_audio_url(call.audio_url());
        if (!goes_on) {
          stored.set_on_hold(false);
          RecordCallStatus(stored, CALL_STATUS_COMPLETED, now);
        }
        *stored.mutable_updated_at() = ToProtoTimestamp(now);
        return true;
      });
  if (!updated.ok()) return updated.status();
  if (updated->status() != CALL_STATUS_IN_PROGRESS) {
    LIVECALL_RETURN_IF_ERROR(store_.Unschedule(call.call_sid()));
    if (IsTerminalCallStatus(updated->status())) conversation_->Ended(*updated);
    return absl::OkStatus();
  }
  return store_.Schedule(call.call_sid(), now + timings_.line);
}

absl::Status SandboxProvider::Complete(const std::string& call_sid, absl::Time now) {
  absl::StatusOr<livecall::v1::Call> updated =
      store_.Update(call_sid, [&](livecall::v1::Call& stored) -> absl::StatusOr<bool> {
        if (stored.status() != CALL_STATUS_IN_PROGRESS) return false;
        stored.set_on_hold(false);
        RecordCallStatus(stored, CALL_STATUS_COMPLETED, now);
        return true;
      });
  if (!updated.ok()) return updated.status();
  LIVECALL_RETURN_IF_ERROR(store_.Unschedule(call_sid));
  if (conversation_ != nullptr && updated->status() == CALL_STATUS_COMPLETED)
    conversation_->Ended(*updated);
  return absl::OkStatus();
}

absl::StatusOr<int> SandboxProvider::RunDueSteps(absl::Time now) {
  absl::StatusOr<std::vector<std::string>> due = store_.DueSteps(now, 100);
  if (!due.ok()) return due.status();
  int moved = 0;
  for (const std::string& sid : *due) {
    absl::StatusOr<bool> claimed = store_.ClaimStep(sid, now, kStepLease);
    if (!claimed.ok()) return claimed.status();
    if (!*claimed) continue;  // Another replica took it.
    if (absl::Status status = Advance(sid, now); !status.ok()) {
      LogError("sandbox step failed", {{"callSid", sid}, {"error", status.ToString()}});
      continue;
    }
    ++moved;
  }
  return moved;
}

void SandboxProvider::Start() {
  loop_ = std::thread([this] {
    absl::MutexLock lock(&mu_);
    while (!stopping_) {
      mu_.Unlock();
      absl::StatusOr<int> moved = RunDueSteps(absl::Now());
      if (!moved.ok()) LogWarning("sandbox poll failed", {{"error", moved.status().ToString()}});
      mu_.Lock();
      mu_.AwaitWithTimeout(absl::Condition(&stopping_), timings_.poll);
    }
  });
}

void SandboxProvider::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (loop_.joinable()) loop_.join();
}

}  // namespace livecall::call_control
