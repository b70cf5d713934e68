#include "services/gateway/json_output.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/type_resolver.h>
#include <google/protobuf/util/type_resolver_util.h>

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace livecall::gateway {

std::string ToValidUtf8(absl::string_view text) {
  static constexpr absl::string_view kReplacement = "\xEF\xBF\xBD";
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    size_t length = 0;
    uint32_t min_code_point = 0;
    if (c < 0x80) {
      // A run of ASCII (all of a log line's method and path, usually) in one append.
      size_t end = i + 1;
      while (end < text.size() && static_cast<unsigned char>(text[end]) < 0x80) ++end;
      out.append(text.data() + i, end - i);
      i = end;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      length = 2;
      min_code_point = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      length = 3;
      min_code_point = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      length = 4;
      min_code_point = 0x10000;
    }
    bool valid = length != 0 && i + length <= text.size();
    uint32_t code_point = valid ? (c & (0x7F >> length)) : 0;
    for (size_t k = 1; valid && k < length; ++k) {
      const unsigned char next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) {
        valid = false;
      } else {
        code_point = (code_point << 6) | (next & 0x3F);
      }
    }
    // Overlong forms, UTF-16 surrogates and values past U+10FFFF are not UTF-8 either.
    if (valid && (code_point < min_code_point || code_point > 0x10FFFF ||
                  (code_point >= 0xD800 && code_point <= 0xDFFF))) {
      valid = false;
    }
    if (valid) {
      out.append(text.data() + i, length);
      i += length;
    } else {
      out.append(kReplacement.data(), kReplacement.size());
      ++i;
    }
  }
  return out;
}

google::protobuf::Value JsonString(absl::string_view text) {
  google::protobuf::Value value;
  value.set_string_value(ToValidUtf8(text));
  return value;
}

std::string PrintJson(const google::protobuf::Struct& object) {
  // Deterministic serialization writes map entries sorted by key; the printer keeps that order.
  std::string binary;
  {
    google::protobuf::io::StringOutputStream stream(&binary);
    google::protobuf::io::CodedOutputStream output(&stream);
    output.SetSerializationDeterministic(true);
    if (!object.SerializeToCodedStream(&output)) {
      LogError("cannot serialize a JSON object");
      return "{}";
    }
  }
  static google::protobuf::util::TypeResolver* const resolver =
      google::protobuf::util::NewTypeResolverForDescriptorPool(
          "type.googleapis.com", google::protobuf::DescriptorPool::generated_pool());
  std::string json;
  const auto printed = google::protobuf::util::BinaryToJsonString(
      resolver, absl::StrCat("type.googleapis.com/", object.GetDescriptor()->full_name()), binary,
      &json);
  if (!printed.ok()) {
    LogError("cannot print a JSON object", {{"error", printed.ToString()}});
    return "{}";
  }
  return json;
}

}  // namespace livecall::gateway
