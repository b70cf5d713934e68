#include "services/call-control/twilio/speech_recognition.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <initializer_list>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/enum_json.h"
#include "common/language.h"
#include "common/live_events.h"
#include "common/proto_time.h"

namespace livecall::call_control {
namespace {

// The models each <Transcription> engine takes (speech_recognition.h has the sources).
constexpr std::initializer_list<absl::string_view> kGoogleModels = {"telephony", "telephony_short",
                                                                    "long", "short"};
constexpr std::initializer_list<absl::string_view> kDeepgramModels = {"nova-2", "nova-3"};
// The <Gather> speechModel values Twilio lists.
constexpr std::initializer_list<absl::string_view> kGatherModels = {"default",
                                                                    "numbers_and_commands",
                                                                    "phone_call",
                                                                    "experimental_conversations",
                                                                    "experimental_utterances",
                                                                    "googlev2_long",
                                                                    "googlev2_short",
                                                                    "googlev2_telephony",
                                                                    "googlev2_telephony_short",
                                                                    "deepgram_nova-2",
                                                                    "deepgram_nova-3"};
// Seconds of silence that end the caller's turn when a <Gather> names its speechModel: Twilio
// refuses speechTimeout="auto" with a model (warning 13335).
constexpr char kSpeechTimeoutWithModel[] = "2";

bool OneOf(std::initializer_list<absl::string_view> values, absl::string_view value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

bool IsGatherModel(absl::string_view model) {
  if (OneOf(kGatherModels, model)) return true;
  // Twilio: "deepgram_nova-2{-model}", Deepgram's variants such as deepgram_nova-2-phonecall.
  for (absl::string_view prefix : {"deepgram_nova-2-", "deepgram_nova-3-"}) {
    absl::string_view variant = model;
    if (absl::ConsumePrefix(&variant, prefix) && !variant.empty() &&
        std::all_of(variant.begin(), variant.end(),
                    [](char c) { return absl::ascii_islower(static_cast<unsigned char>(c)); })) {
      return true;
    }
  }
  return false;
}

// Only Twilio's choice, "default" (any Google STT v2 language) and Google STT v2 models may hear
// Uzbek; the others list their languages, and uz-UZ is in none of those lists.
bool GatherModelHearsUzbek(absl::string_view model) {
  return model.empty() || model == "default" || absl::StartsWith(model, "googlev2_");
}

// The variable's value, or `default_value` when it is unset or empty.
std::string ValueOr(EnvReader& env, const std::string& name, absl::string_view default_value) {
  std::string value = env.OptionalString(name.c_str());
  return value.empty() ? std::string(default_value) : value;
}

// The language `tag` (in variable `name`) is a tag of; records the problem and answers "" when
// it is none of the suite's, or not `expected` (unless `expected` is empty).
std::string CheckTag(EnvReader& env, const std::string& name, const std::string& tag,
                     absl::string_view expected) {
  absl::StatusOr<std::string> language = ParseLanguage(tag);
  if (!language.ok()) {
    env.AddError(name.c_str(), language.status().message());
    return "";
  }
  if (!expected.empty() && *language != expected) {
    env.AddError(name.c_str(), absl::StrCat("\"", tag, "\" is not a tag of ", expected));
    return "";
  }
  return *language;
}

void ReadLanguage(EnvReader& env, absl::string_view language,
                  const std::string& legacy_transcription_language, RecognitionSettings& settings) {
  const std::string suffix = absl::AsciiStrToUpper(language);
  const std::string transcription_language =
      absl::StrCat("LIVECALL_TRANSCRIPTION_LANGUAGE_", suffix);
  const std::string engine = absl::StrCat("LIVECALL_TRANSCRIPTION_ENGINE_", suffix);
  const std::string model = absl::StrCat("LIVECALL_TRANSCRIPTION_MODEL_", suffix);
  const std::string gather_language = absl::StrCat("LIVECALL_GATHER_LANGUAGE_", suffix);
  const std::string gather_model = absl::StrCat("LIVECALL_GATHER_MODEL_", suffix);

  // Transcription. LIVECALL_TRANSCRIPTION_LANGUAGE (older, one code for every call) may name
  // another of the suite's languages; a per-language variable must name its own.
  std::string heard;
  if (!env.OptionalString(transcription_language.c_str()).empty()) {
    settings.transcription_language = env.OptionalString(transcription_language.c_str());
    heard = CheckTag(env, transcription_language, settings.transcription_language, language);
  } else if (!legacy_transcription_language.empty()) {
    settings.transcription_language = legacy_transcription_language;
    heard = CheckTag(env, "LIVECALL_TRANSCRIPTION_LANGUAGE", legacy_transcription_language, "");
  } else {
    heard = std::string(language);
  }
  const std::string default_engine = settings.transcription_engine;
  settings.transcription_engine = ValueOr(env, engine, default_engine);
  // Another engine than the default starts from Twilio's own default model for it.
  const absl::string_view default_model = settings.transcription_engine == default_engine
                                              ? absl::string_view(settings.transcription_model)
                                          : settings.transcription_engine == "deepgram"
                                              ? "nova-2"
                                              : "telephony";
  settings.transcription_model = ValueOr(env, model, default_model);
  if (settings.transcription_engine == "google") {
    if (!OneOf(kGoogleModels, settings.transcription_model)) {
      env.AddError(model.c_str(), absl::StrCat("\"", settings.transcription_model,
                                               "\" is not a Google model Twilio transcribes with (",
                                               absl::StrJoin(kGoogleModels, ", "), ")"));
    }
  } else if (settings.transcription_engine == "deepgram") {
    if (!OneOf(kDeepgramModels, settings.transcription_model)) {
      env.AddError(model.c_str(),
                   absl::StrCat("\"", settings.transcription_model,
                                "\" is not a Deepgram model Twilio transcribes with (",
                                absl::StrJoin(kDeepgramModels, ", "), ")"));
    }
    if (heard == "uz") {
      env.AddError(engine.c_str(), "Deepgram has no Uzbek model: transcribe Uzbek with google");
    }
  } else {
    env.AddError(engine.c_str(),
                 absl::StrCat("\"", settings.transcription_engine, "\" is not google or deepgram"));
  }

  // <Gather>.
  settings.gather_language = ValueOr(env, gather_language, settings.gather_language);
  CheckTag(env, gather_language, settings.gather_language, language);
  settings.gather_model = env.OptionalString(gather_model.c_str());
  if (!settings.gather_model.empty() && !IsGatherModel(settings.gather_model)) {
    env.AddError(gather_model.c_str(),
                 absl::StrCat("\"", settings.gather_model, "\" is not a <Gather> speechModel (",
                              absl::StrJoin(kGatherModels, ", "), ", deepgram_nova-2-<variant>)"));
  } else if (language == "uz" && !GatherModelHearsUzbek(settings.gather_model)) {
    env.AddError(gather_model.c_str(),
                 absl::StrCat("\"", settings.gather_model,
                              "\" does not hear Uzbek: leave it unset, or use default or a "
                              "googlev2_* model"));
  }
}

}  // namespace

const RecognitionSettings& SpeechRecognitionConfig::For(absl::string_view language) const {
  if (language == "ru") return ru;
  if (language == "en") return en;
  return uz;
}

SpeechRecognitionConfig ReadSpeechRecognitionConfig(EnvReader& env) {
  SpeechRecognitionConfig config;
  const std::string legacy = env.OptionalString("LIVECALL_TRANSCRIPTION_LANGUAGE");
  ReadLanguage(env, "uz", legacy, config.uz);
  ReadLanguage(env, "ru", legacy, config.ru);
  ReadLanguage(env, "en", legacy, config.en);
  return config;
}

TwimlElement StartTranscriptionTwiml(const RecognitionSettings& settings,
                                     absl::string_view callback_url,
                                     absl::string_view inbound_label,
                                     absl::string_view outbound_label) {
  TwimlElement start = Verb("Start");
  start.Add(Verb("Transcription"))
      .Attr("statusCallbackUrl", callback_url)
      .Attr("languageCode", settings.transcription_language)
      .Attr("transcriptionEngine", settings.transcription_engine)
      .Attr("speechModel", settings.transcription_model)
      .Attr("track", "both_tracks")
      .Attr("partialResults", "false")
      .Attr("name", "live")
      .Attr("inboundTrackLabel", inbound_label)
      .Attr("outboundTrackLabel", outbound_label);
  return start;
}

TwimlElement SpeechGatherTwiml(const RecognitionSettings& settings, absl::string_view action_url) {
  TwimlElement gather = Verb("Gather");
  gather.Attr("input", "speech").Attr("language", settings.gather_language);
  if (settings.gather_model.empty()) {
    gather.Attr("speechTimeout", "auto");
  } else {
    gather.Attr("speechModel", settings.gather_model)
        .Attr("speechTimeout", kSpeechTimeoutWithModel);
  }
  gather.Attr("actionOnEmptyResult", "true").Attr("method", "POST").Attr("action", action_url);
  return gather;
}

absl::Status SpeechErrorEvents::Publish(const std::string& call_sid,
                                        const livecall::v1::SpeechError& error) {
  livecall::v1::LiveEvent event;
  event.set_type("speech.error");
  event.set_call_sid(call_sid);
  *event.mutable_at() = ToProtoTimestamp(absl::Now());
  *event.mutable_speech_error() = error;
  // Serialising our own well-formed message cannot fail.
  const std::string json = PrintJson(event).value_or("");
  const std::string events = CallEventsKey(call_sid);
  absl::StatusOr<std::vector<RedisReply>> replies = redis_.Pipeline({
      {"MULTI"},
      {"XADD", events, "MAXLEN", "~", absl::StrCat(kLiveEventsKept), "*", "type", "speech.error",
       "data", json},
      {"EXPIRE", events, absl::StrCat(absl::ToInt64Seconds(ttl_))},
      {"PUBLISH", kLiveEventsChannel, events},
      {"EXEC"},
  });
  if (!replies.ok()) return replies.status();
  const redisReply& exec = *replies->back();
  if (exec.type != REDIS_REPLY_ARRAY) {
    return absl::InternalError(absl::StrCat("redis EXEC failed: ", ReplyString(exec)));
  }
  return absl::OkStatus();
}

}  // namespace livecall::call_control
