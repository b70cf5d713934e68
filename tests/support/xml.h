#ifndef LIVECALL_TESTS_SUPPORT_XML_H_
#define LIVECALL_TESTS_SUPPORT_XML_H_

// A strict parser for the XML the suite writes (TwiML), so tests check its structure rather than
// its bytes: one root element, attributes in double or single quotes, text, the five predefined
// entities and numeric character references, self-closing tags, an optional XML declaration.
// Text is read as XML 1.0 reads it: line ends normalised (CR LF, CR → LF), whitespace in attribute
// values turned into spaces, the document valid UTF-8 of XML characters. Anything else (DOCTYPE,
// CDATA, mismatched tags, '<' or '&' unescaped) is an error, which is what a test of escaping
// wants.

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace livecall::testing {

struct XmlNode {
  std::string name;
  std::map<std::string, std::string> attributes;
  std::string text;  // All direct text, concatenated, entities decoded.
  std::vector<XmlNode> children;

  // The attribute's value, or "<absent>".
  std::string Attr(const std::string& key) const;
  // The first child named `name`, or nullptr.
  const XmlNode* Child(const std::string& name) const;
  std::vector<std::string> ChildNames() const;
};

absl::StatusOr<XmlNode> ParseXml(absl::string_view text);

}  // namespace livecall::testing

#endif  // LIVECALL_TESTS_SUPPORT_XML_H_
