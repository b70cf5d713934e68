#include "services/gateway/console_files.h"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <system_error>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "services/gateway/url.h"

namespace livecall::gateway {
namespace {

namespace fs = std::filesystem;

// FNV-1a 64: a stable fingerprint of the content for the ETag (not a security property).
std::string ContentEtag(absl::string_view content) {
  uint64_t hash = 1469598103934665603ull;
  for (unsigned char c : content) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return absl::StrFormat("\"%016x-%x\"", hash, content.size());
}

bool EtagMatches(absl::string_view if_none_match, absl::string_view etag) {
  if (absl::StripAsciiWhitespace(if_none_match) == "*") return true;
  for (absl::string_view candidate : absl::StrSplit(if_none_match, ',')) {
    candidate = absl::StripAsciiWhitespace(candidate);
    absl::ConsumePrefix(&candidate, "W/");
    if (candidate == etag) return true;
  }
  return false;
}

}  // namespace

std::string ContentTypeForFile(absl::string_view name) {
  const size_t dot = name.rfind('.');
  const std::string extension =
      dot == absl::string_view::npos ? "" : absl::AsciiStrToLower(name.substr(dot + 1));
  static const auto* const kTypes = new absl::flat_hash_map<std::string, std::string>({
      {"html", "text/html; charset=utf-8"},
      {"js", "text/javascript; charset=utf-8"},
      {"mjs", "text/javascript; charset=utf-8"},
      {"css", "text/css; charset=utf-8"},
      {"json", "application/json; charset=utf-8"},
      {"map", "application/json; charset=utf-8"},
      {"webmanifest", "application/manifest+json"},
      {"svg", "image/svg+xml"},
      {"png", "image/png"},
      {"ico", "image/x-icon"},
      {"wav", "audio/wav"},
      {"woff2", "font/woff2"},
      {"txt", "text/plain; charset=utf-8"},
  });
  auto it = kTypes->find(extension);
  return it == kTypes->end() ? "application/octet-stream" : it->second;
}

absl::StatusOr<ConsoleFiles> ConsoleFiles::Load(const std::string& directory,
                                                size_t max_total_bytes) {
  std::error_code error;
  if (!fs::is_directory(directory, error)) {
    return absl::InvalidArgumentError(absl::StrCat(directory, " is not a directory"));
  }
  ConsoleFiles console;
  size_t total = 0;
  fs::recursive_directory_iterator it(directory, fs::directory_options::none, error);
  if (error) return absl::InvalidArgumentError(absl::StrCat(directory, ": ", error.message()));
  for (; it != fs::recursive_directory_iterator(); it.increment(error)) {
    if (error) return absl::InvalidArgumentError(absl::StrCat(directory, ": ", error.message()));
    const fs::path relative = it->path().lexically_relative(directory);
    const std::string name = relative.filename().string();
    if (!name.empty() && name[0] == '.') {
      if (it->is_directory()) it.disable_recursion_pending();
      continue;
    }
    if (it->is_symlink() || !it->is_regular_file()) continue;
    std::ifstream in(it->path(), std::ios::binary);
    std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof()) {
      return absl::InvalidArgumentError(absl::StrCat("cannot read ", it->path().string()));
    }
    total += content.size();
    if (total > max_total_bytes) {
      return absl::InvalidArgumentError(
          absl::StrCat(directory, " holds more than ", max_total_bytes, " bytes"));
    }
    const std::string url_path = absl::StrCat("/", relative.generic_string());
    File file;
    file.content_type = ContentTypeForFile(name);
    file.etag = ContentEtag(content);
    file.immutable = absl::StartsWith(url_path, "/assets/");
    file.content = std::move(content);
    console.files_.emplace(url_path, std::move(file));
  }
  if (!console.files_.contains("/index.html")) {
    return absl::InvalidArgumentError(absl::StrCat(directory, " has no index.html"));
  }
  return console;
}

std::optional<HttpResponse> ConsoleFiles::Serve(absl::string_view path,
                                                absl::string_view if_none_match) const {
  absl::StatusOr<std::string> decoded = PercentDecode(path, /*plus_is_space=*/false);
  if (!decoded.ok()) return std::nullopt;
  const std::string key = *decoded == "/" ? "/index.html" : *decoded;
  auto it = files_.find(key);
  if (it == files_.end()) return std::nullopt;
  const File& file = it->second;
  HttpResponse response;
  response.headers.emplace_back("ETag", file.etag);
  response.headers.emplace_back(
      "Cache-Control", file.immutable ? "public, max-age=31536000, immutable" : "no-cache");
  response.headers.emplace_back("X-Content-Type-Options", "nosniff");
  response.content_type = file.content_type;
  if (!if_none_match.empty() && EtagMatches(if_none_match, file.etag)) {
    response.status = 304;
    return response;
  }
  response.status = 200;
  response.body = file.content;
  return response;
}

}  // namespace livecall::gateway
