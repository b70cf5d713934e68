#ifndef LIVECALL_COMMON_LANGUAGE_H_
#define LIVECALL_COMMON_LANGUAGE_H_

// The languages the suite speaks to customers: Uzbek (Latin script), Russian, English.

#include <string>

#include "absl/strings/string_view.h"

namespace livecall {

// True for "uz", "ru" and "en".
bool IsSupportedLanguage(absl::string_view language);

// The language to greet an E.164 number in when nothing else is known: "uz" for Uzbekistan,
// "ru" for Russian-speaking neighbours, "en" elsewhere.
std::string DefaultLanguageForNumber(absl::string_view e164);

}  // namespace livecall

#endif  // LIVECALL_COMMON_LANGUAGE_H_
