// /twilio/transcription: final utterances become turns of the call's AI session, once per
// TranscriptionSid + SequenceId; a transcription-error becomes a speech.error live event.

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status.h"
#include "common/utf8.h"
#include "services/call-control/calls/answer_once.h"
#include "services/call-control/twilio/twilio_webhook_internal.h"
#include "services/call-control/twilio/twilio_webhook_service.h"

namespace livecall::call_control {
namespace {

// A retried transcription event within this time is recognised as one.
constexpr absl::Duration kTranscriptDedupTtl = absl::Hours(1);
// Twilio's error text in a speech.error event is cut to this many bytes.
constexpr size_t kMaxSpeechErrorLength = 500;

using webhook_internal::Param;

// Runs `work` for the first delivery of a transcription event (TranscriptionSid + SequenceId)
// only: Twilio's retry of it does nothing again, unless the first delivery failed.
absl::Status OncePerEvent(CallStore& calls, const Params& params,
                          absl::FunctionRef<absl::Status()> work) {
  return AnswerOnce(calls,
                    absl::StrCat("transcript:", Param(params, "TranscriptionSid"), ":",
                                 Param(params, "SequenceId")),
                    {.ttl = kTranscriptDedupTtl, .still_running = absl::OkStatus()},
                    [&]() -> absl::StatusOr<std::string> {
                      LIVECALL_RETURN_IF_ERROR(work());
                      return "";
                    })
      .status();
}

}  // namespace

absl::Status TwilioWebhookService::TranscriptionFailed(const Params& params) {
  const std::string sid = Param(params, "CallSid");
  absl::StatusOr<livecall::v1::Call> call = calls_.GetByAnyLeg(sid);
  if (absl::IsNotFound(call.status())) {
    LogWarning("real-time transcription failed on a call we do not track",
               {{"callSid", sid}, {"code", Param(params, "TranscriptionErrorCode")}});
    return absl::OkStatus();
  }
  if (!call.ok()) return call.status();
  livecall::v1::SpeechError error;
  error.set_source("transcription");
  error.set_leg_call_sid(sid);
  error.set_leg(sid == call->call_sid() ? "customer" : "agent");
  error.set_track(Param(params, "Track"));
  error.set_code(Param(params, "TranscriptionErrorCode"));
  const std::string text = Param(params, "TranscriptionError");
  error.set_message(text.empty() ? "real-time transcription failed"
                                 : TruncateUtf8(text, kMaxSpeechErrorLength));
  // A retried delivery tells the agent nothing new; a failed one is delivered again.
  return OncePerEvent(calls_, params, [&] { return PublishSpeechError(*call, error); });
}

absl::Status TwilioWebhookService::HandleTranscription(const Params& params) {
  const std::string event = Param(params, "TranscriptionEvent");
  const std::string sid = Param(params, "CallSid");
  if (event == "transcription-error") return TranscriptionFailed(params);
  // Partial results are not turns (yet): only a final utterance is.
  if (event != "transcription-content" || Param(params, "Final") != "true") return absl::OkStatus();
  google::protobuf::Struct data;
  const std::string raw = Param(params, "TranscriptionData");
  if (!google::protobuf::util::JsonStringToMessage(raw, &data).ok()) {
    return absl::InvalidArgumentError("TranscriptionData is not a JSON object");
  }
  auto transcript = data.fields().find("transcript");
  if (transcript == data.fields().end() ||
      transcript->second.kind_case() != google::protobuf::Value::kStringValue ||
      absl::StripAsciiWhitespace(transcript->second.string_value()).empty()) {
    return absl::OkStatus();
  }
  absl::StatusOr<livecall::v1::Call> call = calls_.GetByAnyLeg(sid);
  if (absl::IsNotFound(call.status())) {
    LogInfo("transcription for a call we do not track", {{"callSid", sid}});
    return absl::OkStatus();
  }
  if (!call.ok()) return call.status();
  if (call->session_id().empty()) {
    LogWarning("transcription for a call without an AI session", {{"callSid", sid}});
    return absl::OkStatus();
  }
  // The inbound track is the party on the leg that runs the <Start><Transcription>.
  const bool leg_is_customer = sid == call->call_sid();
  const bool inbound = Param(params, "Track") == "inbound_track";
  const std::string speaker = leg_is_customer == inbound ? "customer" : "agent";

  livecall::v1::AddTurnRequest turn;
  turn.set_session_id(call->session_id());
  turn.set_speaker(speaker);
  turn.set_text(TruncateUtf8(transcript->second.string_value(), kMaxTurnTextLength));
  // A retried delivery of a turn already added adds nothing.
  return OncePerEvent(calls_, params, [&]() -> absl::Status {
    absl::StatusOr<livecall::v1::AddTurnResponse> added = sessions_.ai().AddTurn(turn);
    if (added.ok()) return absl::OkStatus();
    return absl::Status(added.status().code(),
                        absl::StrCat("ai-session AddTurn: ", added.status().message()));
  });
}

}  // namespace livecall::call_control
