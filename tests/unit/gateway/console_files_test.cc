// ConsoleFiles: what the gateway serves at "/" from the console's build output.

#include "services/gateway/console_files.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace livecall::gateway {
namespace {

namespace fs = std::filesystem;

std::string HeaderOf(const HttpResponse& response, const std::string& name) {
  for (const auto& [key, value] : response.headers) {
    if (key == name) return value;
  }
  return "<absent>";
}

class ConsoleFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("console_files_test_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "site" / "assets");
    fs::create_directories(root_ / "site" / ".git");
    Write("site/index.html", "<!doctype html><title>Live Call</title>");
    Write("site/assets/index-3f2a.js", "console.log(1)");
    Write("site/assets/index-77aa.css", "body{}");
    Write("site/.env", "SECRET=1");
    Write("site/.git/config", "[core]");
    Write("secret.txt", "outside the console");
    fs::create_symlink(root_ / "secret.txt", root_ / "site" / "link.txt");
  }
  void TearDown() override { fs::remove_all(root_); }

  void Write(const std::string& relative, const std::string& content) {
    std::ofstream(root_ / relative, std::ios::binary) << content;
  }

  fs::path root_;
};

TEST_F(ConsoleFilesTest, RootIsIndexHtmlRevalidatedEveryTime) {
  absl::StatusOr<ConsoleFiles> console = ConsoleFiles::Load((root_ / "site").string());
  ASSERT_TRUE(console.ok()) << console.status();
  std::optional<HttpResponse> index = console->Serve("/", "");
  ASSERT_TRUE(index.has_value());
  EXPECT_EQ(index->status, 200);
  EXPECT_EQ(index->body, "<!doctype html><title>Live Call</title>");
  EXPECT_EQ(index->content_type, "text/html; charset=utf-8");
  EXPECT_EQ(HeaderOf(*index, "Cache-Control"), "no-cache");
  EXPECT_EQ(HeaderOf(*index, "X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(console->Serve("/index.html", "")->body, index->body);
}

TEST_F(ConsoleFilesTest, HashedAssetsAreImmutableWithTheirContentTypes) {
  absl::StatusOr<ConsoleFiles> console = ConsoleFiles::Load((root_ / "site").string());
  ASSERT_TRUE(console.ok()) << console.status();
  std::optional<HttpResponse> script = console->Serve("/assets/index-3f2a.js", "");
  ASSERT_TRUE(script.has_value());
  EXPECT_EQ(script->content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(HeaderOf(*script, "Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(console->Serve("/assets/index-77aa.css", "")->content_type, "text/css; charset=utf-8");
}

TEST_F(ConsoleFilesTest, MatchingEtagAnswersNotModified) {
  absl::StatusOr<ConsoleFiles> console = ConsoleFiles::Load((root_ / "site").string());
  ASSERT_TRUE(console.ok()) << console.status();
  const std::string etag = HeaderOf(*console->Serve("/", ""), "ETag");
  std::optional<HttpResponse> again = console->Serve("/", etag);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->status, 304);
  EXPECT_EQ(again->body, "");
  EXPECT_EQ(console->Serve("/", "W/" + etag)->status, 304);
  EXPECT_EQ(console->Serve("/", "\"other\"")->status, 200);
}

TEST_F(ConsoleFilesTest, NothingOutsideTheDirectoryOrHiddenIsServed) {
  absl::StatusOr<ConsoleFiles> console = ConsoleFiles::Load((root_ / "site").string());
  ASSERT_TRUE(console.ok()) << console.status();
  for (const char* path : {"/../secret.txt", "/%2e%2e/secret.txt", "/assets/../../secret.txt",
                           "/link.txt", "/.env", "/.git/config", "/assets/", "/assets",
                           "//index.html", "/index.html%00", "/%ZZ", "/missing.js"}) {
    EXPECT_FALSE(console->Serve(path, "").has_value()) << path;
  }
  EXPECT_EQ(console->file_count(), 3u);
}

TEST_F(ConsoleFilesTest, DirectoryWithoutIndexIsRefused) {
  fs::remove(root_ / "site" / "index.html");
  absl::StatusOr<ConsoleFiles> console = ConsoleFiles::Load((root_ / "site").string());
  EXPECT_EQ(console.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ConsoleFiles::Load((root_ / "nowhere").string()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(ConsoleFilesTest, OversizedDirectoryIsRefused) {
  EXPECT_EQ(ConsoleFiles::Load((root_ / "site").string(), 10).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ContentTypeForFileTest, KnownAndUnknownExtensions) {
  EXPECT_EQ(ContentTypeForFile("a.SVG"), "image/svg+xml");
  EXPECT_EQ(ContentTypeForFile("voice.wav"), "audio/wav");
  EXPECT_EQ(ContentTypeForFile("favicon.ico"), "image/x-icon");
  EXPECT_EQ(ContentTypeForFile("README"), "application/octet-stream");
}

}  // namespace
}  // namespace livecall::gateway
