#ifndef LIVECALL_TESTS_SUPPORT_FILES_H_
#define LIVECALL_TESTS_SUPPORT_FILES_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace livecall::testing {

// The whole text of a file; empty when it cannot be read.
std::string ReadFileOrEmpty(const std::string& path);

// A new empty directory under $TMPDIR (or /tmp), named `prefix` + random characters.
absl::StatusOr<std::string> MakeTempDir(absl::string_view prefix);

// True unless LIVECALL_TEST_KEEP_TMP is set: then temporary directories (data, logs) are kept
// for a look after the run.
bool ShouldRemoveTempDirs();

// An absolute path inside the source tree, e.g. RepoPath("data/customers.json").
std::string RepoPath(absl::string_view relative);

}  // namespace livecall::testing

#endif  // LIVECALL_TESTS_SUPPORT_FILES_H_
