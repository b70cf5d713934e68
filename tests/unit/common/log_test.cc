#include "common/log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/support/files.h"
#include "tests/support/status_matchers.h"
#include "tests/support/wait_for.h"

namespace livecall {
namespace {

TEST(JsonEscapeTest, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(JsonEscape("say \"hi\"\\\n\t\x01"), "say \\\"hi\\\"\\\\\\n\\t\\u0001");
}

TEST(JsonEscapeTest, KeepsUtf8TextAsIs) {
  EXPECT_EQ(JsonEscape("Assalomu alaykum, Дильшод"), "Assalomu alaykum, Дильшод");
}

TEST(ParseLogLevelTest, KnownNamesParseAndUnknownOnesAreRejected) {
  EXPECT_EQ(*ParseLogLevel("DEBUG"), LogLevel::kDebug);
  EXPECT_EQ(*ParseLogLevel("warn"), LogLevel::kWarning);
  EXPECT_THAT(ParseLogLevel("loud"),
              ::livecall::testing::StatusIs(absl::StatusCode::kInvalidArgument));
}

constexpr char kJwt[] =
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZ2VudC0xIn0.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

TEST(RedactSecretsTest, TokensBearerCredentialsAndRegisteredSecretsAreReplaced) {
  EXPECT_EQ(RedactSecrets(absl::StrCat("token ", kJwt, " rejected")), "token [redacted] rejected");
  EXPECT_EQ(RedactSecrets("Authorization: Bearer abc.def-ghi, next"),
            "Authorization: Bearer [redacted], next");
  EXPECT_EQ(RedactSecrets("basic dXNlcjpwYXNz"), "basic [redacted]");
  RegisterLogSecret("grpc-key-0123456789abcdef");
  EXPECT_EQ(RedactSecrets("x-api-key grpc-key-0123456789abcdef refused"),
            "x-api-key [redacted] refused");
  RegisterLogSecret("short");  // Under 8 bytes: would redact ordinary words.
  EXPECT_EQ(RedactSecrets("a short note"), "a short note");
  EXPECT_EQ(RedactSecrets("eyJ-not.a-token"), "eyJ-not.a-token");
}

TEST(RedactSecretsTest, TheLogNeverWritesCredentials) {
  RegisterLogSecret("twilio-auth-token-secret-42");
  ::testing::internal::CaptureStderr();
  LogWarning(absl::StrCat("bad token ", kJwt),
             {{"authorization", "Bearer xyz"},
              {"x-twilio-signature", "RSOYDt4T1cUTdK1PDd93/VVr8B8="},
              {"apiKey", "whatever"},
              {"detail", "signed with twilio-auth-token-secret-42"},
              {"path", "/api/calls/CA1"}});
  const std::string line = ::testing::internal::GetCapturedStderr();
  for (const char* secret :
       {kJwt, "xyz", "RSOYDt4T1cUTdK1PDd93", "whatever", "twilio-auth-token-secret-42"}) {
    EXPECT_EQ(line.find(secret), std::string::npos) << secret << " in " << line;
  }
  EXPECT_NE(line.find("\"path\":\"/api/calls/CA1\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"authorization\":\"[redacted]\""), std::string::npos) << line;
}

// Buffered logging is process-wide and cannot be turned off, so each of these tests runs in a
// child process of its own (gtest's death-test machinery, in its "threadsafe" style: a fresh
// run of this binary rather than a fork of a process with threads), which exits 0 when every
// expectation held and names the first that did not otherwise.

// Points stderr at a new file and returns its path.
std::string RedirectStderrToFile() {
  absl::StatusOr<std::string> dir = livecall::testing::MakeTempDir("log_test");
  if (!dir.ok()) std::_Exit(10);
  const std::string path = absl::StrCat(*dir, "/stderr.log");
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0 || ::dup2(fd, STDERR_FILENO) < 0) std::_Exit(11);
  ::close(fd);
  return path;
}

void ExitUnless(bool condition, const char* what) {
  if (condition) return;
  std::fprintf(stdout, "failed: %s\n", what);
  std::fflush(stdout);
  std::_Exit(1);
}

TEST(BufferedLoggingTest, InfoLinesWaitForTheFlushAndAWarningWritesThemFirst) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        const std::string path = RedirectStderrToFile();
        StartBufferedLogging(absl::Hours(1));
        LogInfo("held back", {{"n", "1"}});
        ExitUnless(!absl::StrContains(livecall::testing::ReadFileOrEmpty(path), "held back"),
                   "an info line was written before the flush");
        LogWarning("written at once");
        const std::string text = livecall::testing::ReadFileOrEmpty(path);
        const size_t held = text.find("\"msg\":\"held back\",\"n\":\"1\"}\n");
        const size_t warning = text.find("\"msg\":\"written at once\"}\n");
        ExitUnless(held != std::string::npos && warning != std::string::npos && held < warning,
                   "the warning did not write the held line, then itself");
        LogInfo("flushed");
        FlushLogs();
        ExitUnless(absl::StrContains(livecall::testing::ReadFileOrEmpty(path), "flushed"),
                   "FlushLogs did not write the held line");
        std::_Exit(0);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(BufferedLoggingTest, ALineIsWrittenWithinTheFlushInterval) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        const std::string path = RedirectStderrToFile();
        StartBufferedLogging(absl::Milliseconds(20));
        LogInfo("soon visible");
        ExitUnless(livecall::testing::WaitFor(
                       [&] {
                         return absl::StrContains(livecall::testing::ReadFileOrEmpty(path),
                                                  "soon visible");
                       },
                       absl::Seconds(10)),
                   "the flusher did not write the line");
        std::_Exit(0);
      },
      ::testing::ExitedWithCode(0), "");
}

// Every line logged before exit() is on stderr afterwards, whole and in order, though the flush
// interval never came.
TEST(BufferedLoggingTest, EveryLineLoggedBeforeExitIsWritten) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  constexpr int kLines = 100;
  std::string all_in_order;
  for (int i = 0; i < kLines; ++i) {
    absl::StrAppend(&all_in_order, "\"msg\":\"line ", i, "\",\"path\":\"/ai/call/start\"\\}\n.*");
  }
  absl::StrAppend(&all_in_order, "\"msg\":\"last\"");
  EXPECT_EXIT(
      {
        StartBufferedLogging(absl::Hours(1));
        for (int i = 0; i < kLines; ++i) {
          LogInfo(absl::StrCat("line ", i), {{"path", "/ai/call/start"}});
        }
        LogInfo("last");
        std::exit(0);
      },
      ::testing::ExitedWithCode(0), all_in_order);
}

}  // namespace
}  // namespace livecall
