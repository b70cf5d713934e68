#ifndef LIVECALL_SERVICES_CALL_CONTROL_SANDBOX_SANDBOX_CALLEE_H_
#define LIVECALL_SERVICES_CALL_CONTROL_SANDBOX_SANDBOX_CALLEE_H_

// The sandbox's simulated customer on "ai" and "agent" calls: says the scripted lines of the
// call's language (LIVECALL_SANDBOX_SCRIPT_FILE), one per step. On an AI call each line goes to
// the voice agent exactly as a Twilio <Gather> result would; on an agent's call (or after a
// hand-off) it arrives as a transcript turn, as real-time transcription would deliver it. So the
// whole flow — greeting, transcript, suggestions, replies, hand-off, summary — is visible without
// a Twilio account.

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "livecall/v1/data_files.pb.h"
#include "services/call-control/calls/call_sessions.h"
#include "services/call-control/sandbox/sandbox_provider.h"
#include "services/call-control/speech.h"
#include "services/call-control/voice_agent.h"

namespace livecall::call_control {

class SandboxScripts {
 public:
  static absl::StatusOr<SandboxScripts> Load(const std::string& path);
  static absl::StatusOr<SandboxScripts> FromList(const livecall::v1::SandboxScriptList& list);
  // The lines for `language`, else the Uzbek ones, else none.
  const std::vector<std::string>& LinesFor(const std::string& language) const;

 private:
  absl::flat_hash_map<std::string, std::vector<std::string>> lines_;
};

class SandboxCallee final : public SandboxConversation {
 public:
  // All must outlive this.
  // `speech` renders each voice-agent reply as on Twilio, so the call carries the audio of what
  // the agent just said (Call.audio_url, in every call.status event) for the console to play.
  SandboxCallee(const SandboxScripts& scripts, VoiceAgent& voice_agent, CallSessions& sessions,
                SpeechRenderer& speech)
      : scripts_(scripts), voice_agent_(voice_agent), sessions_(sessions), speech_(speech) {}

  // SandboxConversation
  absl::StatusOr<bool> Step(livecall::v1::Call& call) override;
  void Ended(const livecall::v1::Call& call) override { sessions_.EndIfFinished(call); }

 private:
  const SandboxScripts& scripts_;
  VoiceAgent& voice_agent_;
  CallSessions& sessions_;
  SpeechRenderer& speech_;
};

}  // namespace livecall::call_control

#endif  // LIVECALL_SERVICES_CALL_CONTROL_SANDBOX_SANDBOX_CALLEE_H_
