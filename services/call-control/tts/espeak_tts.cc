#include "services/call-control/tts/espeak_tts.h"

#include <espeak-ng/espeak_ng.h>

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace livecall::call_control::tts {
namespace {

// Words per minute: a little slower than espeak-ng's 175, which is hard to follow on a phone line.
constexpr int kWordsPerMinute = 150;

absl::Mutex& EspeakMutex() {
  static absl::Mutex* const mutex = new absl::Mutex;
  return *mutex;
}

std::string StatusMessage(espeak_ng_STATUS status) {
  char message[512] = {};
  espeak_ng_GetStatusCodeMessage(status, message, sizeof(message));
  return message;
}

// Where the synthesis in progress collects its samples. espeak-ng hands audio to one global
// callback; syntheses are serialised by EspeakMutex(), so one pointer, written and read under it,
// is enough.
std::vector<int16_t>* collecting ABSL_GUARDED_BY(EspeakMutex()) = nullptr;

int CollectSamples(short* wav, int count, espeak_EVENT*) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  // Called by espeak_ng_Synthesize on the calling thread, which holds EspeakMutex().
  if (wav != nullptr && count > 0 && collecting != nullptr) {
    collecting->insert(collecting->end(), wav, wav + count);
  }
  return 0;
}

}  // namespace

absl::StatusOr<EspeakTts*> EspeakTts::Get(const std::string& data_path) {
  absl::MutexLock lock(&EspeakMutex());
  static EspeakTts* instance = nullptr;
  static absl::Status* const failure = new absl::Status;
  if (instance != nullptr) return instance;
  if (!failure->ok()) return *failure;
  espeak_ng_InitializePath(data_path.empty() ? nullptr : data_path.c_str());
  espeak_ng_ERROR_CONTEXT context = nullptr;
  espeak_ng_STATUS status = espeak_ng_Initialize(&context);
  if (status != ENS_OK) {
    espeak_ng_ClearErrorContext(&context);
    *failure = absl::FailedPreconditionError(absl::StrCat(
        "espeak-ng cannot start (is espeak-ng-data installed?): ", StatusMessage(status)));
    return *failure;
  }
  status = espeak_ng_InitializeOutput(ENOUTPUT_MODE_SYNCHRONOUS, 0, nullptr);
  if (status != ENS_OK) {
    *failure = absl::InternalError(absl::StrCat("espeak-ng output: ", StatusMessage(status)));
    return *failure;
  }
  espeak_SetSynthCallback(CollectSamples);
  espeak_ng_SetParameter(espeakRATE, kWordsPerMinute, 0);
  instance = new EspeakTts(espeak_ng_GetSampleRate());
  return instance;
}

std::string EspeakTts::VoiceFor(absl::string_view language) const {
  if (language == "ru") return "ru";
  if (language == "en") return "en-us";
  return "uz";
}

absl::StatusOr<Synthesis> EspeakTts::Synthesize(absl::string_view text,
                                                absl::string_view language) {
  Synthesis synthesis{
      .audio = {.sample_rate = sample_rate_}, .provider = provider(), .voice = VoiceFor(language)};
  const std::string input(text);
  absl::MutexLock lock(&EspeakMutex());
  espeak_ng_STATUS status = espeak_ng_SetVoiceByName(synthesis.voice.c_str());
  if (status != ENS_OK) {
    return absl::FailedPreconditionError(
        absl::StrCat("espeak-ng has no voice \"", synthesis.voice, "\": ", StatusMessage(status)));
  }
  collecting = &synthesis.audio.samples;
  status = espeak_ng_Synthesize(input.c_str(), input.size() + 1, 0, POS_CHARACTER, 0,
                                espeakCHARS_UTF8, nullptr, nullptr);
  if (status == ENS_OK) status = espeak_ng_Synchronize();
  collecting = nullptr;
  if (status != ENS_OK) {
    return absl::InternalError(absl::StrCat("espeak-ng: ", StatusMessage(status)));
  }
  if (synthesis.audio.samples.empty()) {
    return absl::InvalidArgumentError("espeak-ng produced no audio for this text");
  }
  return synthesis;
}

}  // namespace livecall::call_control::tts
