// /twilio/gather: the AI voice agent's calls ("ai" mode): the greeting, then each thing the
// caller says answered in the next <Gather>, a goodbye, or a hand-off to a human agent.

#include <openssl/sha.h>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/enum_json.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/proto_time.h"
#include "common/status.h"
#include "services/call-control/calls/answer_once.h"
#include "services/call-control/twilio/twilio_webhook_internal.h"
#include "services/call-control/twilio/twilio_webhook_service.h"
#include "services/call-control/twilio/twiml.h"

namespace livecall::call_control {
namespace {

// How many times the opening of an AI call waits a second for its session.
constexpr int kGreetAttempts = 5;
// A retried /twilio/gather within this time answers the first TwiML again.
constexpr absl::Duration kGatherDedupTtl = absl::Minutes(10);
// How long a retry waits for the first request of its turn to be answered.
constexpr absl::Duration kGatherDedupWait = absl::Seconds(5);

// The first 64 bits of SHA-256 of `text`, in hex: names what the caller said in a key.
std::string TextDigest(absl::string_view text) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), 8));
}

}  // namespace

using webhook_internal::kConferencePrefix;
using webhook_internal::Param;

absl::StatusOr<std::string> TwilioWebhookService::HandleGather(const Params& params,
                                                               const Params& query) {
  const std::string sid = Param(params, "CallSid");
  if (!IsCallSidShaped(sid)) return absl::InvalidArgumentError("CallSid is missing or malformed");
  absl::StatusOr<livecall::v1::Call> call = calls_.GetByAnyLeg(sid);
  if (absl::IsNotFound(call.status())) {
    LogWarning("gather for a call we do not track", {{"callSid", sid}});
    return RenderTwiml({Verb("Hangup")});
  }
  if (!call.ok()) return call.status();
  if (call->mode() != livecall::v1::CALL_MODE_AI) {
    return absl::FailedPreconditionError(
        absl::StrCat("call ", call->call_sid(), " is not an AI voice-agent call"));
  }
  if (call->handed_off()) {
    return absl::FailedPreconditionError(
        absl::StrCat("call ", call->call_sid(), " has been handed to a human agent"));
  }
  if (Param(query, "step") == "greet") {
    int attempt = 0;
    if (!absl::SimpleAtoi(Param(query, "attempt"), &attempt)) attempt = 0;
    // Twilio may fetch the opening before the call's AI session is recorded (the callee answered
    // within milliseconds): wait a second on the line and ask again, a few times.
    if (call->text().empty() && call->session_id().empty() && attempt < kGreetAttempts) {
      TwimlElement pause = Verb("Pause");
      pause.Attr("length", "1");
      TwimlElement again = Verb(
          "Redirect",
          absl::StrCat(options_.public_url, "/twilio/gather?step=greet&attempt=", attempt + 1));
      again.Attr("method", "POST");
      return RenderTwiml({pause, again});
    }
    return VoiceAgentTwiml(*call, voice_agent_.Greet(*call), 0, /*next_turn=*/1);
  }
  int unclear = 0;
  if (!absl::SimpleAtoi(Param(query, "unclear"), &unclear) || unclear < 0) unclear = 0;
  // Which of the caller's turns this is: every <Gather> we answer names the next one in its
  // action URL, so a retry of one request carries the same number and the next turn another.
  int turn_number = 0;
  if (!absl::SimpleAtoi(Param(query, "turn"), &turn_number) || turn_number < 0) turn_number = 0;
  float confidence = 0;
  if (!absl::SimpleAtof(Param(params, "Confidence"), &confidence)) confidence = 0;
  const std::string speech = Param(params, "SpeechResult");

  auto answer_first = [&]() -> absl::StatusOr<std::string> {
    // Nothing heard (a silent caller, or a model that does not hear the language) or Twilio's
    // ErrorCode: the agent following the call sees the voice agent's hearing fail.
    if (const std::string code = Param(params, "ErrorCode"); speech.empty() || !code.empty()) {
      livecall::v1::SpeechError error;
      error.set_source("gather");
      error.set_leg_call_sid(sid);
      error.set_leg("customer");
      error.set_code(code);
      error.set_message(code.empty() ? "the voice agent heard no speech"
                                     : "Twilio could not recognise the caller's speech");
      if (absl::Status published = PublishSpeechError(*call, error); !published.ok()) {
        LogError("cannot publish a speech.error event",
                 {{"callSid", call->call_sid()}, {"error", published.ToString()}});
      }
    }
    const VoiceAgentTurn turn = voice_agent_.Hear(*call, speech, confidence, unclear);
    LogInfo("voice agent turn", {{"callSid", call->call_sid()},
                                 {"action", turn.action},
                                 {"unclear", turn.unclear ? "yes" : "no"}});
    return VoiceAgentTwiml(*call, turn, unclear, turn_number + 1);
  };
  // Twilio may deliver a Gather action more than once (a timeout, connection overrides): a retry
  // must not add the caller's words to the conversation again nor hand over twice, so it gets the
  // first answer's TwiML.
  LIVECALL_ASSIGN_OR_RETURN(
      OnceAnswer answer, AnswerOnce(calls_,
                                    absl::StrCat("gather:", call->call_sid(), ":", turn_number, ":",
                                                 unclear, ":", TextDigest(speech)),
                                    {.ttl = kGatherDedupTtl,
                                     .wait = kGatherDedupWait,
                                     .still_running = absl::UnavailableError(
                                         "this turn's first request is still being answered")},
                                    answer_first));
  if (answer.repeated) LogInfo("retried gather answered again", {{"callSid", call->call_sid()}});
  return answer.text;
}

absl::StatusOr<std::string> TwilioWebhookService::VoiceAgentTwiml(const livecall::v1::Call& call,
                                                                  const VoiceAgentTurn& turn,
                                                                  int unclear_attempts,
                                                                  int next_turn) {
  LIVECALL_ASSIGN_OR_RETURN(
      TwimlElement speech,
      speech_.Render({.text = turn.text, .language = turn.language, .voice = call.voice()}));
  if (turn.action == "goodbye") return RenderTwiml({speech, Verb("Hangup")});
  if (turn.action == "handoff") {
    const std::string conference = absl::StrCat(kConferencePrefix, call.call_sid());
    LIVECALL_RETURN_IF_ERROR(
        calls_
            .Update(call.call_sid(),
                    [&](livecall::v1::Call& stored) -> absl::StatusOr<bool> {
                      if (stored.handed_off() && stored.conference_name() == conference)
                        return false;
                      stored.set_handed_off(true);
                      stored.set_conference_name(conference);
                      *stored.mutable_updated_at() = ToProtoTimestamp(absl::Now());
                      return true;
                    })
            .status());
    LIVECALL_ASSIGN_OR_RETURN(bool ringing, RingAgents(call.call_sid(), conference, call.from()));
    if (!ringing) {
      LogWarning("voice agent hand-off but no agent is available", {{"callSid", call.call_sid()}});
      LIVECALL_ASSIGN_OR_RETURN(TwimlElement busy,
                                speech_.Render({.text = VoiceAgentBusyLine(turn.language),
                                                .language = turn.language,
                                                .voice = call.voice()}));
      return RenderTwiml({speech, busy, Verb("Hangup")});
    }
    // From here on the call is a conference with a human agent, transcribed like any other.
    TwimlElement start = StartTranscription(turn.language, "customer", "agent");
    return RenderTwiml({speech, start, CustomerConferenceDial(conference)});
  }
  // Listen while speaking, so the caller can interrupt; an empty result comes back here too
  // (actionOnEmptyResult), counted as unclear.
  TwimlElement gather =
      SpeechGatherTwiml(options_.recognition.For(turn.language),
                        absl::StrCat(options_.public_url, "/twilio/gather?unclear=",
                                     turn.unclear ? unclear_attempts + 1 : 0, "&turn=", next_turn));
  gather.Add(std::move(speech));
  return RenderTwiml({gather});
}

}  // namespace livecall::call_control
