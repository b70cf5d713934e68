#include "tests/support/files.h"

#include <stdlib.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace livecall::testing {

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

absl::StatusOr<std::string> MakeTempDir(absl::string_view prefix) {
  const char* tmpdir = std::getenv("TMPDIR");
  std::string pattern =
      absl::StrCat(tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/tmp", "/", prefix, "XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) {
    return absl::InternalError(absl::StrCat("mkdtemp ", pattern, ": ", std::strerror(errno)));
  }
  return pattern;
}

bool ShouldRemoveTempDirs() { return std::getenv("LIVECALL_TEST_KEEP_TMP") == nullptr; }

std::string RepoPath(absl::string_view relative) {
  return absl::StrCat(LIVECALL_TEST_SOURCE_DIR, "/", relative);
}

}  // namespace livecall::testing
