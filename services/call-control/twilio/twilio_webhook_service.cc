// The TwilioWebhooks service itself: each RPC runs its webhook family's handler on the executor
// (voice_webhook.cc, call_status_webhook.cc, conference_webhook.cc, transcription_webhook.cc,
// gather_webhook.cc, dtmf_webhook.cc), and the pieces more than one family uses.

#include "services/call-control/twilio/twilio_webhook_service.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/async_unary.h"
#include "common/log.h"
#include "common/request_id.h"
#include "common/status.h"
#include "services/call-control/twilio/twilio_webhook_internal.h"

namespace livecall::call_control {
namespace webhook_internal {

std::string Param(const Params& params, const char* name) {
  auto it = params.find(name);
  return it == params.end() ? "" : it->second;
}

absl::Time EventTime(const Params& params) {
  absl::Time at;
  std::string error;
  if (absl::ParseTime("%a, %d %b %Y %H:%M:%S %z", Param(params, "Timestamp"), &at, &error)) {
    return at;
  }
  return absl::Now();
}

}  // namespace webhook_internal

absl::Status TwilioWebhookService::PublishSpeechError(const livecall::v1::Call& call,
                                                      const livecall::v1::SpeechError& error) {
  LogWarning("speech recognition failed", {{"callSid", call.call_sid()},
                                           {"source", error.source()},
                                           {"leg", error.leg()},
                                           {"code", error.code()},
                                           {"error", error.message()}});
  if (options_.speech_errors == nullptr) return absl::OkStatus();
  return options_.speech_errors->Publish(call.call_sid(), error);
}

TwimlElement TwilioWebhookService::CustomerConferenceDial(const std::string& conference) const {
  TwimlElement dial = Verb("Dial");
  dial.Add(Verb("Conference", conference))
      .Attr("participantLabel", "customer")
      .Attr("startConferenceOnEnter", "false")
      .Attr("endConferenceOnExit", "true")
      .Attr("beep", "false")
      .Attr("statusCallback", absl::StrCat(options_.public_url, "/twilio/conference"))
      .Attr("statusCallbackEvent", "start end join leave hold mute");
  return dial;
}

TwimlElement TwilioWebhookService::StartTranscription(const std::string& session_language,
                                                      absl::string_view inbound_label,
                                                      absl::string_view outbound_label) const {
  return StartTranscriptionTwiml(options_.recognition.For(session_language),
                                 absl::StrCat(options_.public_url, "/twilio/transcription"),
                                 inbound_label, outbound_label);
}

void TwilioWebhookService::StopOtherLegs(const livecall::v1::Call& call, bool cancel_customer) {
  if (twilio_ == nullptr) return;
  executor_.Submit([this, call, cancel_customer] {
    auto warn = [&](const char* what, const std::string& sid, const absl::Status& status) {
      if (status.ok() || absl::IsNotFound(status)) return;
      LogWarning(what, {{"callSid", call.call_sid()}, {"leg", sid}, {"error", status.ToString()}});
    };
    // Agents still ringing for the call stop (the one who answered leaves with the conference).
    absl::StatusOr<std::vector<std::string>> legs = calls_.AgentLegs(call.call_sid());
    warn("cannot list the agents rung for an ended call", call.call_sid(), legs.status());
    for (const std::string& leg : legs.ok() ? *legs : std::vector<std::string>()) {
      if (leg != call.agent_call_sid()) {
        warn("cannot stop ringing an agent", leg, twilio_->Cancel(leg));
      }
    }
    if (cancel_customer) {
      warn("cannot stop dialling the customer", call.call_sid(), twilio_->Cancel(call.call_sid()));
    }
    // A customer who answered ends the conference by leaving (endConferenceOnExit); one who never
    // answered would leave the agent alone in it.
    if (call.status() == livecall::v1::CALL_STATUS_COMPLETED) return;
    if (!call.conference_sid().empty()) {
      warn("cannot end the conference of an ended call", call.conference_sid(),
           twilio_->EndConference(call.conference_sid()));
    } else if (!call.agent_call_sid().empty()) {
      warn("cannot hang up the agent of an ended call", call.agent_call_sid(),
           twilio_->Complete(call.agent_call_sid()));
    }
  });
}

TwilioWebhookService::TwilioWebhookService(TwilioProvider* twilio, CallStore& calls,
                                           CallSessions& sessions, VoiceAgent& voice_agent,
                                           SpeechRenderer& speech, Executor& executor,
                                           QueuedUnaryMethods& unary, TwilioWebhookOptions options)
    : twilio_(twilio),
      calls_(calls),
      sessions_(sessions),
      voice_agent_(voice_agent),
      speech_(speech),
      executor_(executor),
      options_(std::move(options)) {
  using livecall::v1::TwilioWebhookRequest;
  using livecall::v1::TwimlResponse;
  using livecall::v1::WebhookAck;
  for (const char* method :
       {"Voice", "CallStatus", "ConferenceStatus", "Transcription", "Gather", "DtmfAnnouncement"}) {
    MarkQueued(method);
  }
  // Finished from HandleVoice's answer, which for a customer's call comes once its AI session
  // has started, without a thread waiting.
  unary.HandleAsync<TwilioWebhookRequest, TwimlResponse>(
      "/livecall.v1.TwilioWebhooks/Voice",
      [this](const CallerIdentity&, CallScope, const TwilioWebhookRequest& request,
             TwimlResponse& response, AsyncFinish finish) {
        HandleVoice(request.params(), [&response, finish](absl::StatusOr<std::string> twiml) {
          if (twiml.ok()) *response.mutable_twiml() = *std::move(twiml);
          finish(twiml.status());
        });
      });
  unary.Handle<TwilioWebhookRequest, WebhookAck>(
      "/livecall.v1.TwilioWebhooks/CallStatus",
      [this](const CallerIdentity&, grpc::ServerContextBase&, const TwilioWebhookRequest& request,
             WebhookAck&) { return HandleCallStatus(request.params()); });
  unary.Handle<TwilioWebhookRequest, WebhookAck>(
      "/livecall.v1.TwilioWebhooks/ConferenceStatus",
      [this](const CallerIdentity&, grpc::ServerContextBase&, const TwilioWebhookRequest& request,
             WebhookAck&) { return HandleConferenceStatus(request.params()); });
  unary.Handle<TwilioWebhookRequest, WebhookAck>(
      "/livecall.v1.TwilioWebhooks/Transcription",
      [this](const CallerIdentity&, grpc::ServerContextBase&, const TwilioWebhookRequest& request,
             WebhookAck&) { return HandleTranscription(request.params()); });
  unary.Handle<TwilioWebhookRequest, TwimlResponse>(
      "/livecall.v1.TwilioWebhooks/Gather",
      [this](const CallerIdentity&, grpc::ServerContextBase&, const TwilioWebhookRequest& request,
             TwimlResponse& response) -> absl::Status {
        LIVECALL_ASSIGN_OR_RETURN(*response.mutable_twiml(),
                                  HandleGather(request.params(), request.query()));
        return absl::OkStatus();
      });
  unary.Handle<TwilioWebhookRequest, TwimlResponse>(
      "/livecall.v1.TwilioWebhooks/DtmfAnnouncement",
      [this](const CallerIdentity&, grpc::ServerContextBase&, const TwilioWebhookRequest& request,
             TwimlResponse& response) -> absl::Status {
        LIVECALL_ASSIGN_OR_RETURN(*response.mutable_twiml(), HandleDtmf(request.query()));
        return absl::OkStatus();
      });
}

}  // namespace livecall::call_control
