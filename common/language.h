#ifndef LIVECALL_COMMON_LANGUAGE_H_
#define LIVECALL_COMMON_LANGUAGE_H_

// The languages the suite speaks to customers: Uzbek (Latin script), Russian, English.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace livecall {

// True for "uz", "ru" and "en".
bool IsSupportedLanguage(absl::string_view language);

// The one reader of a language someone gives the suite (requests, Twilio parameters, data files,
// configuration): "uz", "ru" or "en" for those codes or a BCP-47 tag of one of them, in any case
// ("ru-RU", "EN-us", "uz-UZ", "uz-Latn-UZ", "ru-KZ"). A script subtag must be the script the suite
// speaks the language in (Latn for Uzbek and English, Cyrl for Russian: "uz-Cyrl" is refused).
// INVALID_ARGUMENT naming the tag for anything else, empty included.
absl::StatusOr<std::string> ParseLanguage(absl::string_view tag);

// The language to greet an E.164 number in when nothing else is known: "uz" for Uzbekistan,
// "ru" for Russian-speaking neighbours, "en" elsewhere.
std::string DefaultLanguageForNumber(absl::string_view e164);

}  // namespace livecall

#endif  // LIVECALL_COMMON_LANGUAGE_H_
