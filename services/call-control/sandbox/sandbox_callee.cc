#include "services/call-control/sandbox/sandbox_callee.h"

#include "absl/strings/str_cat.h"
#include "common/json_file.h"
#include "common/language.h"
#include "common/log.h"

namespace livecall::call_control {
namespace {

// What a recogniser reports for clear speech; the sandbox's callee always speaks clearly.
constexpr float kScriptedSpeechConfidence = 0.92f;

}  // namespace

absl::StatusOr<SandboxScripts> SandboxScripts::Load(const std::string& path) {
  livecall::v1::SandboxScriptList list;
  if (absl::Status status = ParseJsonArrayFile(path, "scripts", &list); !status.ok()) {
    return status;
  }
  return FromList(list);
}

absl::StatusOr<SandboxScripts> SandboxScripts::FromList(
    const livecall::v1::SandboxScriptList& list) {
  SandboxScripts scripts;
  for (const livecall::v1::SandboxScript& script : list.scripts()) {
    absl::StatusOr<std::string> language = ParseLanguage(script.language());
    if (!language.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("sandbox script: ", language.status().message()));
    }
    if (scripts.lines_.contains(*language)) {
      return absl::InvalidArgumentError(
          absl::StrCat("two sandbox scripts for language \"", *language, "\""));
    }
    std::vector<std::string>& lines = scripts.lines_[*language];
    for (const std::string& line : script.lines()) {
      if (line.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("sandbox script \"", *language, "\" has an empty line"));
      }
      lines.push_back(line);
    }
  }
  return scripts;
}

const std::vector<std::string>& SandboxScripts::LinesFor(const std::string& language) const {
  static const std::vector<std::string> kNone;
  if (auto it = lines_.find(language); it != lines_.end()) return it->second;
  if (auto it = lines_.find("uz"); it != lines_.end()) return it->second;
  return kNone;
}

absl::StatusOr<bool> SandboxCallee::Step(livecall::v1::Call& call) {
  const std::vector<std::string>& lines = scripts_.LinesFor(call.language());
  const int next = call.script_lines_spoken();
  const bool script_done = next >= static_cast<int>(lines.size());
  if (call.mode() == livecall::v1::CALL_MODE_AI && !call.handed_off()) {
    // The scripted customer hangs up once they have said everything.
    if (script_done) return false;
    VoiceAgentTurn turn = voice_agent_.Hear(call, lines[next], kScriptedSpeechConfidence, 0);
    call.set_script_lines_spoken(next + 1);
    // What Twilio would play for this reply. The turn is already in the conversation, so a failed
    // rendering must not make the step run (and the customer speak) again: the call goes on
    // without audio for this line, and the failure is logged.
    absl::StatusOr<TwimlElement> said =
        speech_.Render({.text = turn.text, .language = turn.language, .voice = call.voice()});
    if (!said.ok()) {
      LogWarning("sandbox: the voice agent's reply could not be rendered",
                 {{"callSid", call.call_sid()}, {"error", said.status().ToString()}});
    }
    call.set_audio_url(said.ok() ? PlayedAudioUrl(*said) : "");
    if (turn.action == "goodbye") return false;
    if (turn.action == "handoff") {
      call.set_handed_off(true);
      LogInfo("sandbox: AI call handed to a human agent", {{"callSid", call.call_sid()}});
    }
    return true;
  }
  // An agent's call: the customer talks until the agent hangs up.
  if (script_done || call.session_id().empty()) return true;
  livecall::v1::AddTurnRequest turn;
  turn.set_session_id(call.session_id());
  turn.set_speaker("customer");
  turn.set_text(lines[next]);
  absl::StatusOr<livecall::v1::AddTurnResponse> added = sessions_.ai().AddTurn(turn);
  if (!added.ok()) return added.status();
  call.set_script_lines_spoken(next + 1);
  return true;
}

}  // namespace livecall::call_control
