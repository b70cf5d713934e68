#include "common/language.h"

#include "common/phone_number.h"

namespace livecall {

bool IsSupportedLanguage(absl::string_view language) {
  return language == "uz" || language == "ru" || language == "en";
}

std::string DefaultLanguageForNumber(absl::string_view e164) {
  const std::string region = PhoneRegion(e164);
  if (region == "UZ") return "uz";
  if (region == "RU" || region == "KZ" || region == "KG" || region == "TJ" || region == "BY") {
    return "ru";
  }
  return "en";
}

}  // namespace livecall
