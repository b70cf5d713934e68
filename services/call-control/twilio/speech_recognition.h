#ifndef LIVECALL_SERVICES_CALL_CONTROL_TWILIO_SPEECH_RECOGNITION_H_
#define LIVECALL_SERVICES_CALL_CONTROL_TWILIO_SPEECH_RECOGNITION_H_

// How Twilio listens to each language the suite speaks, and what the agent's page hears when it
// cannot.
//
// Twilio recognises speech in two places: real-time transcription (<Start><Transcription>, on
// agent and inbound calls and after a hand-off: the transcript turns) and the AI voice agent's
// <Gather input="speech">. Which engine and model can hear which language differs (sources below),
// and Uzbek is the hard one, so each of uz, ru and en has its own settings, checked at start-up.
//
// What Twilio documents (the sources this relies on):
//  - <Transcription>: transcriptionEngine "google" (default) or "deepgram"; speechModel: Google's
//    STT v2 models ("telephony", Twilio's default, "telephony_short", "long", "short"), Deepgram's
//    "nova-2" / "nova-3". https://www.twilio.com/docs/voice/twiml/transcription, summarised in
//    /work/shared/twilio/TRANSCRIPTION.md §1.1.
//  - Deepgram has no Uzbek model (nova-2's 36 languages, nova-3 mono- and multilingual lists):
//    https://developers.deepgram.com/docs/models-languages-overview (TRANSCRIPTION.md §2), so
//    Uzbek transcription must use Google. Whether Google's "telephony" model serves uz-UZ is not
//    confirmed; "long" is its general model, which TRANSCRIPTION.md §2 names to try for Uzbek:
//    the Uzbek default is "long", UNVERIFIED against a live account (watch for speech.error events
//    with codes 32650/32651).
//  - <Gather> speechModel: generic "default" (any language of Google STT v2), "phone_call"
//    (en-US, en-GB, en-AU, fr-FR, fr-CA, ja-JP, ru-RU, es-US, es-ES, pt-BR),
//    "numbers_and_commands" (Deepgram nova-2's languages), "experimental_conversations" and
//    "experimental_utterances" (a list with ru-RU and en-*, no uz-UZ); specific "googlev2_long",
//    "googlev2_short", "googlev2_telephony", "googlev2_telephony_short", "deepgram_nova-2",
//    "deepgram_nova-3" (and "deepgram_nova-2-<variant>"). Without a speechModel Twilio picks the
//    provider and fails over between providers itself; with one, speechTimeout must be a number of
//    seconds, not "auto" (warning 13335). https://www.twilio.com/docs/voice/twiml/gather
//    (speechModel, language) and https://www.twilio.com/docs/api/errors/13335. So Uzbek <Gather>
//    may use no model, "default" or a googlev2_* model only; the defaults send no model at all.

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/config.h"
#include "common/redis_pool.h"
#include "livecall/v1/context.pb.h"
#include "services/call-control/twilio/twiml.h"

namespace livecall::call_control {

// One language's recognition settings.
struct RecognitionSettings {
  // <Start><Transcription>: languageCode (BCP-47), transcriptionEngine, speechModel.
  std::string transcription_language;
  std::string transcription_engine;
  std::string transcription_model;
  // <Gather input="speech">: language (BCP-47) and speechModel; an empty model sends none (Twilio
  // chooses, with provider failover) and keeps speechTimeout="auto".
  std::string gather_language;
  std::string gather_model;
};

struct SpeechRecognitionConfig {
  RecognitionSettings uz{.transcription_language = "uz-UZ",
                         .transcription_engine = "google",
                         .transcription_model = "long",
                         .gather_language = "uz-UZ"};
  RecognitionSettings ru{.transcription_language = "ru-RU",
                         .transcription_engine = "google",
                         .transcription_model = "telephony",
                         .gather_language = "ru-RU"};
  RecognitionSettings en{.transcription_language = "en-US",
                         .transcription_engine = "google",
                         .transcription_model = "telephony",
                         .gather_language = "en-US"};

  // For "uz", "ru" or "en"; anything else (no AI session, so no language known): Uzbek's, the
  // suite's first language.
  const RecognitionSettings& For(absl::string_view language) const;
};

// LIVECALL_TRANSCRIPTION_{LANGUAGE,ENGINE,MODEL}_{UZ,RU,EN} and
// LIVECALL_GATHER_{LANGUAGE,MODEL}_{UZ,RU,EN} over the defaults above. The older
// LIVECALL_TRANSCRIPTION_LANGUAGE, when set, is every language's transcription languageCode
// unless its own variable says otherwise. Records every problem on `env` by variable name: an
// unknown engine or model, a model that does not hear that language, a tag of another language.
SpeechRecognitionConfig ReadSpeechRecognitionConfig(EnvReader& env);

// <Start><Transcription> of both tracks with `settings`; the leg's inbound track is
// `inbound_label`. Twilio posts its events to `callback_url`.
TwimlElement StartTranscriptionTwiml(const RecognitionSettings& settings,
                                     absl::string_view callback_url,
                                     absl::string_view inbound_label,
                                     absl::string_view outbound_label);

// <Gather input="speech"> listening with `settings`, posting what it heard (or nothing:
// actionOnEmptyResult) to `action_url`.
TwimlElement SpeechGatherTwiml(const RecognitionSettings& settings, absl::string_view action_url);

// Appends "speech.error" live events to a call's event stream (common/live_events.h), where the
// agent's page reads them.
class SpeechErrorEvents {
 public:
  // `ttl`: how long the stream lives after its last event (LIVECALL_CALL_TTL_S, as the call).
  SpeechErrorEvents(RedisPool& redis, absl::Duration ttl) : redis_(redis), ttl_(ttl) {}

  absl::Status Publish(const std::string& call_sid, const livecall::v1::SpeechError& error);

 private:
  RedisPool& redis_;
  const absl::Duration ttl_;
};

}  // namespace livecall::call_control

#endif  // LIVECALL_SERVICES_CALL_CONTROL_TWILIO_SPEECH_RECOGNITION_H_
