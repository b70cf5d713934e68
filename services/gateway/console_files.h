#ifndef LIVECALL_SERVICES_GATEWAY_CONSOLE_FILES_H_
#define LIVECALL_SERVICES_GATEWAY_CONSOLE_FILES_H_

// The Live Call console's static files (the build output of console/, LIVECALL_CONSOLE_DIR),
// served at "/" without authentication. Every regular file under the directory is read into
// memory once at start-up, so a request can only ever name one of those files: there is no path
// resolution at request time and nothing outside the directory (no "..", no symlink escape) can be
// reached. The build output is a few hundred KiB.

#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/gateway/http_response.h"

namespace livecall::gateway {

class ConsoleFiles {
 public:
  // Reads every regular file under `directory` (hidden files and symlinks skipped).
  // INVALID_ARGUMENT when the directory does not exist, has no index.html, or holds more than
  // `max_total_bytes`.
  static absl::StatusOr<ConsoleFiles> Load(const std::string& directory,
                                           size_t max_total_bytes = 64 << 20);

  // The answer for GET or HEAD of `path` (the request path, still percent-encoded), or nullopt
  // when no file has that path. "/" is index.html. `if_none_match` is the request's header
  // (empty when absent): a matching ETag answers 304.
  std::optional<HttpResponse> Serve(absl::string_view path, absl::string_view if_none_match) const;

  size_t file_count() const { return files_.size(); }

 private:
  struct File {
    std::string content;
    std::string content_type;
    std::string etag;
    // Vite names the files under assets/ by a hash of their content, so they never change.
    bool immutable = false;
  };
  ConsoleFiles() = default;

  absl::flat_hash_map<std::string, File> files_;  // by URL path, "/index.html"
};

// The Content-Type for a file name, by extension; application/octet-stream when unknown.
std::string ContentTypeForFile(absl::string_view name);

}  // namespace livecall::gateway

#endif  // LIVECALL_SERVICES_GATEWAY_CONSOLE_FILES_H_
