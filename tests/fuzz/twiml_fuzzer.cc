// The TwiML writer (services/call-control/twilio/twiml.h): a tree of TwiML verbs with arbitrary
// attribute values and texts, built from the input, rendered, then read back with the strict
// parser of tests/support/xml.h.
//
// Properties: the output is always well-formed XML (valid UTF-8, XML 1.0 characters only, one
// Response root) and reads back to the same tree, every attribute value and text equal to what
// was written, minus the characters XML 1.0 cannot carry.

#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "services/call-control/twilio/twiml.h"
#include "tests/support/xml.h"

namespace {

using livecall::call_control::TwimlElement;
using livecall::testing::XmlNode;

// Names come from code, never from input; values and texts come from input.
constexpr const char* kVerbs[] = {"Say",           "Dial",      "Conference", "Start",
                                  "Transcription", "Play",      "Pause",      "Hangup",
                                  "Client",        "Parameter", "Number"};
constexpr const char* kAttributes[] = {"voice",   "language", "statusCallback",
                                       "name",    "value",    "startConferenceOnEnter",
                                       "waitUrl", "track",    "to"};

TwimlElement RandomElement(FuzzedDataProvider* input, int depth) {
  TwimlElement element{.name = input->PickValueInArray(kVerbs)};
  std::vector<std::string> used;
  const int attributes = input->ConsumeIntegralInRange(0, 3);
  for (int i = 0; i < attributes; ++i) {
    const std::string key = input->PickValueInArray(kAttributes);
    if (std::find(used.begin(), used.end(), key) != used.end()) continue;
    used.push_back(key);
    element.Attr(key, input->ConsumeRandomLengthString(64));
  }
  element.text = input->ConsumeRandomLengthString(128);
  const int children = depth < 3 ? input->ConsumeIntegralInRange(0, 2) : 0;
  for (int i = 0; i < children; ++i) element.Add(RandomElement(input, depth + 1));
  return element;
}

// Decodes one UTF-8 sequence at `text[*i]`; false when it is not valid UTF-8 (overlong forms,
// surrogates and code points past U+10FFFF are invalid).
bool NextCodePoint(const std::string& text, size_t* i, uint32_t* code) {
  const unsigned char lead = text[*i];
  int length = lead < 0x80         ? 1
               : (lead >> 5) == 6  ? 2
               : (lead >> 4) == 14 ? 3
               : (lead >> 3) == 30 ? 4
                                   : 0;
  if (length == 0 || *i + length > text.size()) return false;
  uint32_t value = length == 1 ? lead : lead & (0x7f >> length);
  for (int k = 1; k < length; ++k) {
    const unsigned char c = text[*i + k];
    if ((c >> 6) != 2) return false;
    value = (value << 6) | (c & 0x3f);
  }
  static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (value < kMin[length] || value > 0x10ffff || (value >= 0xd800 && value <= 0xdfff)) {
    return false;
  }
  *i += length;
  *code = value;
  return true;
}

bool IsXmlChar(uint32_t c) {
  return c == 0x9 || c == 0xa || c == 0xd || (c >= 0x20 && c <= 0xd7ff) ||
         (c >= 0xe000 && c <= 0xfffd) || (c >= 0x10000 && c <= 0x10ffff);
}

// What XML can carry of `text`: valid UTF-8 of XML characters; everything else is dropped.
std::string Carried(const std::string& text) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    const size_t start = i;
    uint32_t code = 0;
    if (!NextCodePoint(text, &i, &code)) {
      ++i;
      continue;
    }
    if (IsXmlChar(code)) out.append(text, start, i - start);
  }
  return out;
}

bool IsWellFormedText(const std::string& text) {
  size_t i = 0;
  while (i < text.size()) {
    uint32_t code = 0;
    if (!NextCodePoint(text, &i, &code) || !IsXmlChar(code)) return false;
  }
  return true;
}

void ExpectSame(const TwimlElement& written, const XmlNode& read) {
  if (read.name != written.name) abort();
  if (read.attributes.size() != written.attributes.size()) abort();
  for (const auto& [key, value] : written.attributes) {
    if (read.Attr(key) != Carried(value)) abort();
  }
  if (read.text != Carried(written.text)) abort();
  if (read.children.size() != written.children.size()) abort();
  for (size_t i = 0; i < written.children.size(); ++i) {
    ExpectSame(written.children[i], read.children[i]);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider input(data, size);
  std::vector<TwimlElement> verbs;
  const int count = input.ConsumeIntegralInRange(0, 3);
  for (int i = 0; i < count; ++i) verbs.push_back(RandomElement(&input, 0));

  const std::string twiml = livecall::call_control::RenderTwiml(verbs);
  if (!IsWellFormedText(twiml)) abort();
  absl::StatusOr<XmlNode> root = livecall::testing::ParseXml(twiml);
  if (!root.ok()) abort();
  ExpectSame(TwimlElement{.name = "Response", .children = verbs}, *root);

  // The escapers alone, on the raw input.
  const std::string raw(reinterpret_cast<const char*>(data), size);
  if (!IsWellFormedText(livecall::call_control::XmlEscapeText(raw))) abort();
  if (!IsWellFormedText(livecall::call_control::XmlEscapeAttribute(raw))) abort();
  return 0;
}
