#include "services/call-control/twilio/twilio_provider.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/enum_json.h"
#include "common/proto_time.h"
#include "services/call-control/calls/call_state_machine.h"
#include "services/call-control/twilio/twiml.h"

namespace livecall::call_control {
namespace {

absl::Status NotAConference(const livecall::v1::Call& call, absl::string_view what) {
  return absl::FailedPreconditionError(absl::StrCat("call ", call.call_sid(),
                                                    " is not a conference call with an agent; ",
                                                    what, " works only on those"));
}

size_t Utf8Characters(absl::string_view text) {
  size_t characters = 0;
  for (char c : text) characters += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return characters;
}

void AddStatusCallback(FormFields& fields, const std::string& public_url) {
  fields.emplace_back("StatusCallback", absl::StrCat(public_url, "/twilio/status"));
  fields.emplace_back("StatusCallbackMethod", "POST");
  for (const char* event : {"initiated", "ringing", "answered", "completed"}) {
    fields.emplace_back("StatusCallbackEvent", event);
  }
}

}  // namespace

absl::StatusOr<livecall::v1::Call> TwilioProvider::Place(livecall::v1::Call call) {
  FormFields fields = {{"To", call.to()}, {"From", call.from()}};
  if (call.mode() == livecall::v1::CALL_MODE_AI) {
    // The voice agent's greeting needs the call's AI session, which starts once Twilio has named
    // the call: Twilio fetches the opening TwiML when the callee answers.
    fields.emplace_back("Url", absl::StrCat(options_.public_url, "/twilio/gather?step=greet"));
    fields.emplace_back("Method", "POST");
  } else {
    absl::StatusOr<TwimlElement> speech = speech_.Render(
        SpokenText{.text = call.text(), .language = call.language(), .voice = call.voice()});
    if (!speech.ok()) return speech.status();
    call.set_audio_url(PlayedAudioUrl(*speech));
    std::string twiml = RenderTwiml({*speech});
    // Twilio refuses inline TwiML over 4,000 characters (error 32018) after we would have taken
    // the call's slot: say so before calling it.
    const size_t characters = Utf8Characters(twiml);
    if (characters > kMaxInlineTwimlCharacters) {
      return absl::InvalidArgumentError(
          absl::StrCat("text is too long for one call: its TwiML is ", characters,
                       " characters and Twilio takes at most ", kMaxInlineTwimlCharacters,
                       " inline; shorten the text"));
    }
    fields.emplace_back("Twiml", std::move(twiml));
  }
  AddStatusCallback(fields, options_.public_url);
  absl::StatusOr<TwilioCall> created = client_.CreateCall(fields);
  if (!created.ok()) return created.status();

  const absl::Time now = absl::Now();
  call.set_call_sid(created->sid);
  call.set_direction("outbound-api");
  call.set_provider("twilio");
  *call.mutable_created_at() = ToProtoTimestamp(now);
  RecordCallStatus(
      call, ParseCallStatus(created->status).value_or(livecall::v1::CALL_STATUS_QUEUED), now);
  if (absl::Status stored = store_.Put(call, std::nullopt); !stored.ok()) return stored;
  return call;
}

absl::StatusOr<std::string> TwilioProvider::ConferenceSid(const livecall::v1::Call& call) {
  if (!call.conference_sid().empty()) return call.conference_sid();
  if (call.conference_name().empty()) return NotAConference(call, "this");
  absl::StatusOr<std::optional<std::string>> found = client_.FindConference(call.conference_name());
  if (!found.ok()) return found.status();
  if (!found->has_value()) {
    return absl::FailedPreconditionError(
        absl::StrCat("the conference of call ", call.call_sid(), " is not in progress"));
  }
  return **found;
}

absl::Status TwilioProvider::Hold(const livecall::v1::Call& call, bool on_hold) {
  if (call.conference_name().empty()) return NotAConference(call, "hold");
  absl::StatusOr<std::string> conference = ConferenceSid(call);
  if (!conference.ok()) return conference.status();
  FormFields fields = {{"Hold", on_hold ? "true" : "false"}};
  if (on_hold && !options_.hold_music_url.empty()) {
    fields.emplace_back("HoldUrl", options_.hold_music_url);
    fields.emplace_back("HoldMethod", "GET");
  }
  return client_.UpdateParticipant(*conference, call.call_sid(), fields).status();
}

absl::Status TwilioProvider::Mute(const livecall::v1::Call& call, bool muted) {
  if (call.conference_name().empty()) return NotAConference(call, "mute");
  absl::StatusOr<std::string> conference = ConferenceSid(call);
  if (!conference.ok()) return conference.status();
  return client_
      .UpdateParticipant(*conference, call.call_sid(), {{"Muted", muted ? "true" : "false"}})
      .status();
}

absl::Status TwilioProvider::Hangup(const livecall::v1::Call& call) {
  if (!call.conference_name().empty()) {
    absl::StatusOr<std::string> conference = ConferenceSid(call);
    if (conference.ok()) {
      // Ending the conference ends every leg in it (each has endConferenceOnExit).
      absl::Status ended = client_.UpdateConference(*conference, {{"Status", "completed"}});
      if (!absl::IsNotFound(ended)) return ended;
    } else if (!absl::IsFailedPrecondition(conference.status())) {
      return conference.status();
    }
  }
  return client_.UpdateCall(call.call_sid(), {{"Status", "completed"}}).status();
}

absl::Status TwilioProvider::SendDigits(const livecall::v1::Call& call, absl::string_view digits) {
  if (call.conference_name().empty()) return NotAConference(call, "DTMF");
  absl::StatusOr<std::string> conference = ConferenceSid(call);
  if (!conference.ok()) return conference.status();
  // A participant announcement plays TwiML to that participant only, and the call stays in the
  // conference; /twilio/dtmf answers <Play digits="…"/>.
  return client_
      .UpdateParticipant(
          *conference, call.call_sid(),
          {{"AnnounceUrl",
            absl::StrCat(options_.public_url, "/twilio/dtmf?digits=", PercentEncode(digits))},
           {"AnnounceMethod", "POST"}})
      .status();
}

absl::StatusOr<TwilioParticipant> TwilioProvider::DialIntoConference(
    const std::string& conference_name, const std::string& to, const std::string& from,
    const std::string& label, bool end_conference_on_exit, absl::Time deadline) {
  FormFields fields = {
      {"From", from},
      {"To", to},
      {"Label", label},
      {"EarlyMedia", "true"},
      {"Beep", "false"},
      {"StartConferenceOnEnter", "true"},
      {"EndConferenceOnExit", end_conference_on_exit ? "true" : "false"},
      {"ConferenceStatusCallback", absl::StrCat(options_.public_url, "/twilio/conference")},
      {"ConferenceStatusCallbackMethod", "POST"}};
  for (const char* event : {"start", "end", "join", "leave", "hold", "mute"}) {
    fields.emplace_back("ConferenceStatusCallbackEvent", event);
  }
  AddStatusCallback(fields, options_.public_url);
  return client_.CreateParticipant(conference_name, fields, deadline);
}

absl::Status TwilioProvider::Cancel(const std::string& call_sid) {
  return client_.UpdateCall(call_sid, {{"Status", "canceled"}}).status();
}

absl::Status TwilioProvider::Complete(const std::string& call_sid) {
  return client_.UpdateCall(call_sid, {{"Status", "completed"}}).status();
}

absl::Status TwilioProvider::RemoveParticipant(const std::string& conference_sid,
                                               const std::string& call_sid) {
  return client_.DeleteParticipant(conference_sid, call_sid);
}

absl::Status TwilioProvider::SetEndConferenceOnExit(const std::string& conference_sid,
                                                    const std::string& call_sid,
                                                    bool end_conference_on_exit) {
  return client_
      .UpdateParticipant(conference_sid, call_sid,
                         {{"EndConferenceOnExit", end_conference_on_exit ? "true" : "false"}})
      .status();
}

absl::Status TwilioProvider::EndConference(const std::string& conference_sid) {
  return client_.UpdateConference(conference_sid, {{"Status", "completed"}});
}

}  // namespace livecall::call_control
