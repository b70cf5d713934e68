#include "tests/support/xml.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace livecall::testing {
namespace {

class Parser {
 public:
  explicit Parser(absl::string_view text) : text_(text) {}

  absl::StatusOr<XmlNode> Document() {
    if (absl::StartsWith(text_, "<?xml")) {
      const size_t end = text_.find("?>");
      if (end == absl::string_view::npos) return Error("unterminated XML declaration");
      pos_ = end + 2;
    }
    SkipSpace();
    absl::StatusOr<XmlNode> root = Element();
    if (!root.ok()) return root;
    SkipSpace();
    if (pos_ != text_.size()) return Error("content after the root element");
    return root;
  }

 private:
  absl::Status Error(absl::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat("XML at offset ", pos_, ": ", what));
  }
  void SkipSpace() {
    while (pos_ < text_.size() && absl::ascii_isspace(static_cast<unsigned char>(text_[pos_]))) {
      ++pos_;
    }
  }
  bool IsNameChar(char c) const {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' ||
           c == ':';
  }
  std::string Name() {
    const size_t start = pos_;
    while (pos_ < text_.size() && IsNameChar(text_[pos_])) ++pos_;
    return std::string(text_.substr(start, pos_ - start));
  }
  // Decodes text up to `stop` (exclusive), rejecting raw '<' and bad entities.
  absl::StatusOr<std::string> Decode(absl::string_view raw) {
    std::string out;
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '<') return Error("unescaped '<'");
      if (raw[i] != '&') {
        out.push_back(raw[i]);
        continue;
      }
      const size_t semi = raw.find(';', i);
      if (semi == absl::string_view::npos) return Error("unterminated entity");
      const absl::string_view entity = raw.substr(i + 1, semi - i - 1);
      if (entity == "amp") {
        out += "&";
      } else if (entity == "lt") {
        out += "<";
      } else if (entity == "gt") {
        out += ">";
      } else if (entity == "quot") {
        out += "\"";
      } else if (entity == "apos") {
        out += "'";
      } else if (absl::StartsWith(entity, "#")) {
        uint32_t code = 0;
        if (!absl::SimpleAtoi(entity.substr(1), &code) || code > 0x7f) {
          return Error("unsupported character reference");
        }
        out.push_back(static_cast<char>(code));
      } else {
        return Error(absl::StrCat("unknown entity &", entity, ";"));
      }
      i = semi;
    }
    return out;
  }

  absl::StatusOr<XmlNode> Element() {
    if (pos_ >= text_.size() || text_[pos_] != '<') return Error("expected '<'");
    ++pos_;
    XmlNode node;
    node.name = Name();
    if (node.name.empty()) return Error("expected an element name");
    while (true) {
      SkipSpace();
      if (pos_ >= text_.size()) return Error("unterminated start tag");
      if (absl::StartsWith(text_.substr(pos_), "/>")) {
        pos_ += 2;
        return node;
      }
      if (text_[pos_] == '>') {
        ++pos_;
        break;
      }
      const std::string key = Name();
      if (key.empty()) return Error("expected an attribute name");
      SkipSpace();
      if (pos_ >= text_.size() || text_[pos_] != '=') return Error("expected '='");
      ++pos_;
      SkipSpace();
      if (pos_ >= text_.size() || (text_[pos_] != '"' && text_[pos_] != '\'')) {
        return Error("expected a quoted attribute value");
      }
      const char quote = text_[pos_++];
      const size_t end = text_.find(quote, pos_);
      if (end == absl::string_view::npos) return Error("unterminated attribute value");
      absl::StatusOr<std::string> value = Decode(text_.substr(pos_, end - pos_));
      if (!value.ok()) return value.status();
      if (!node.attributes.emplace(key, *value).second) return Error("duplicate attribute");
      pos_ = end + 1;
    }
    while (true) {
      const size_t next = text_.find('<', pos_);
      if (next == absl::string_view::npos) return Error("unterminated element");
      absl::StatusOr<std::string> text = Decode(text_.substr(pos_, next - pos_));
      if (!text.ok()) return text.status();
      node.text += *text;
      pos_ = next;
      if (absl::StartsWith(text_.substr(pos_), "</")) {
        pos_ += 2;
        if (Name() != node.name) return Error(absl::StrCat("mismatched end tag for ", node.name));
        SkipSpace();
        if (pos_ >= text_.size() || text_[pos_] != '>') return Error("expected '>'");
        ++pos_;
        return node;
      }
      if (absl::StartsWith(text_.substr(pos_), "<!") ||
          absl::StartsWith(text_.substr(pos_), "<?")) {
        return Error("comments, CDATA and processing instructions are not expected");
      }
      absl::StatusOr<XmlNode> child = Element();
      if (!child.ok()) return child;
      node.children.push_back(*std::move(child));
    }
  }

  absl::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

std::string XmlNode::Attr(const std::string& key) const {
  auto it = attributes.find(key);
  return it == attributes.end() ? "<absent>" : it->second;
}

const XmlNode* XmlNode::Child(const std::string& child_name) const {
  for (const XmlNode& child : children) {
    if (child.name == child_name) return &child;
  }
  return nullptr;
}

std::vector<std::string> XmlNode::ChildNames() const {
  std::vector<std::string> names;
  for (const XmlNode& child : children) names.push_back(child.name);
  return names;
}

absl::StatusOr<XmlNode> ParseXml(absl::string_view text) { return Parser(text).Document(); }

}  // namespace livecall::testing
