#include "services/ai-session/greeting.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace livecall::ai_session {
namespace {

struct GreetingTemplates {
  const char* hello_named;  // {name}
  const char* hello_unknown;
  const char* company_inbound;
  const char* company_outbound;
  const char* open_issue;  // {issue}
  const char* offer_help;
};

const GreetingTemplates& TemplatesFor(const std::string& language) {
  static const GreetingTemplates kUzbek = {
      "Assalomu alaykum, {name}!",
      "Assalomu alaykum!",
      "Livecall aloqa markaziga qo'ng'iroq qilganingiz uchun rahmat.",
      "Sizni Livecall aloqa markazidan bezovta qilyapmiz.",
      "Ko'rib turibmanki, sizda ochiq murojaat bor: {issue}.",
      "Sizga qanday yordam bera olaman?",
  };
  static const GreetingTemplates kRussian = {
      "Здравствуйте, {name}!",
      "Здравствуйте!",
      "Спасибо, что позвонили в контакт-центр Livecall.",
      "Вас беспокоит контакт-центр Livecall.",
      "Я вижу, у вас есть открытое обращение: {issue}.",
      "Чем я могу вам помочь?",
  };
  static const GreetingTemplates kEnglish = {
      "Hello, {name}!",
      "Hello!",
      "Thank you for calling the Livecall contact centre.",
      "This is the Livecall contact centre calling.",
      "I can see you have an open request: {issue}.",
      "How can I help you today?",
  };
  if (language == "ru") return kRussian;
  if (language == "en") return kEnglish;
  return kUzbek;
}

std::string Fill(const char* text, const std::string& placeholder, const std::string& value) {
  std::string out(text);
  size_t at = out.find(placeholder);
  if (at != std::string::npos) out.replace(at, placeholder.size(), value);
  return out;
}

}  // namespace

std::string FirstName(const std::string& full_name) {
  absl::string_view name = absl::StripAsciiWhitespace(full_name);
  size_t space = name.find(' ');
  return std::string(space == absl::string_view::npos ? name : name.substr(0, space));
}

std::string BuildGreeting(const livecall::v1::Customer& customer, const std::string& language,
                          const std::string& direction) {
  const GreetingTemplates& templates = TemplatesFor(language);
  const std::string first_name = FirstName(customer.name());
  std::string greeting = first_name.empty() ? templates.hello_unknown
                                            : Fill(templates.hello_named, "{name}", first_name);
  absl::StrAppend(&greeting, " ",
                  direction == "inbound" ? templates.company_inbound : templates.company_outbound);
  auto issue = customer.attributes().find("open_issue");
  if (issue != customer.attributes().end() && !issue->second.empty()) {
    absl::StrAppend(&greeting, " ", Fill(templates.open_issue, "{issue}", issue->second));
  }
  absl::StrAppend(&greeting, " ", templates.offer_help);
  return greeting;
}

}  // namespace livecall::ai_session
