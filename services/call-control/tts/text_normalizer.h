#ifndef LIVECALL_SERVICES_CALL_CONTROL_TTS_TEXT_NORMALIZER_H_
#define LIVECALL_SERVICES_CALL_CONTROL_TTS_TEXT_NORMALIZER_H_

// Text as a person would read it aloud, before it reaches a synthesiser. espeak-ng's Uzbek voice
// reads "150000" digit by digit ("bir besh nol nol nol nol"), so for Uzbek every number becomes
// words: amounts in UZS ("150 000 so'm" -> "bir yuz ellik ming so'm"), +998 phone numbers in the
// groups people say them (+998 90 111 22 33 -> "plyus to'qqiz yuz to'qson sakkiz, to'qson, ...").
// For Russian and English the synthesisers read numbers well themselves; there phone numbers are
// split into the same groups and amounts get one currency word ("сум", "soums") with their
// thousands separators removed.

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace livecall::call_control::tts {

// `language` is "uz", "ru" or "en"; other text passes through unchanged.
std::string NormalizeForSpeech(absl::string_view text, absl::string_view language);

// 0 -> "nol", 125 -> "bir yuz yigirma besh", 2025 -> "ikki ming yigirma besh".
std::string UzbekNumber(uint64_t number);

}  // namespace livecall::call_control::tts

#endif  // LIVECALL_SERVICES_CALL_CONTROL_TTS_TEXT_NORMALIZER_H_
