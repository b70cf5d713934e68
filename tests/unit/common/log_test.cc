#include "common/log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

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

// The escape as the log wrote it one byte at a time; the logger skips plain text eight bytes at a
// time and must write the same.
std::string JsonEscapeByteByByte(absl::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (const char byte : text) {
    const unsigned char c = static_cast<unsigned char>(byte);
    if (c == '"') {
      out += "\\\"";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20) {
      out += {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xf]};
    } else {
      out.push_back(byte);
    }
  }
  return out;
}

TEST(JsonEscapeTest, AgreesWithAByteByByteEscapeOnAnyBytes) {
  std::mt19937 random(29);
  // Mostly plain text with an escape now and then, at every offset within a word; and raw bytes
  // of every value, invalid UTF-8 among them.
  const std::string plain = "Assalomu alaykum, Дильшод! abc-123_XYZ ";
  for (int n = 0; n < 5000; ++n) {
    std::string text;
    const size_t length = random() % 70;
    for (size_t k = 0; k < length; ++k) {
      const unsigned roll = random() % 100;
      if (n % 2 == 0 && roll < 90) {
        text.push_back(plain[random() % plain.size()]);
      } else {
        text.push_back(static_cast<char>(random() % 256));
      }
    }
    ASSERT_EQ(JsonEscape(text), JsonEscapeByteByByte(text)) << n;
  }
  for (int c = 0; c < 256; ++c) {
    for (size_t at = 0; at < 17; ++at) {
      std::string text(20, 'x');
      text[at] = static_cast<char>(c);
      ASSERT_EQ(JsonEscape(text), JsonEscapeByteByByte(text)) << c << " at " << at;
    }
  }
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

// The redacting shapes at every offset from the start of a line, in any case, and at its end.
TEST(RedactSecretsTest, CredentialsAreFoundAtAnyOffsetAndAtTheEnd) {
  for (size_t offset = 0; offset < 20; ++offset) {
    const std::string before(offset, 'x');
    SCOPED_TRACE(offset);
    EXPECT_EQ(RedactSecrets(absl::StrCat(before, " bEaReR abc.def")),
              absl::StrCat(before, " bEaReR [redacted]"));
    EXPECT_EQ(RedactSecrets(absl::StrCat(before, "BASIC dXNlcjpwYXNz")),
              absl::StrCat(before, "BASIC [redacted]"));
    EXPECT_EQ(RedactSecrets(absl::StrCat(before, " ", kJwt)), absl::StrCat(before, " [redacted]"));
    EXPECT_EQ(RedactSecrets(absl::StrCat(before, " ", kJwt, ", next")),
              absl::StrCat(before, " [redacted], next"));
    // A scheme word with nothing after it is left.
    EXPECT_EQ(RedactSecrets(absl::StrCat(before, " Bearer")), absl::StrCat(before, " Bearer"));
    ::testing::internal::CaptureStderr();
    LogWarning(absl::StrCat(before, " Bearer abc"), {{"detail", absl::StrCat(before, kJwt)}});
    const std::string line = ::testing::internal::GetCapturedStderr();
    EXPECT_NE(line.find(absl::StrCat("\"msg\":\"", before, " Bearer [redacted]\"")),
              std::string::npos)
        << line;
    EXPECT_NE(line.find(absl::StrCat("\"detail\":\"", before, "[redacted]\"")), std::string::npos)
        << line;
  }
}

// A value that is a registered secret and nothing else, or the secret with a byte missing.
TEST(RedactSecretsTest, AValueThatIsExactlyASecretIsRedacted) {
  RegisterLogSecret("exact-secret-value-77");
  ::testing::internal::CaptureStderr();
  LogWarning("exact", {{"detail", "exact-secret-value-77"}, {"near", "exact-secret-value-7"}});
  const std::string line = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(line.find("\"detail\":\"[redacted]\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"near\":\"exact-secret-value-7\""), std::string::npos) << line;
}

// The field names redacted whatever their value, as the log used to find them: every word at
// every position, compared ignoring case. The logger's one-pass search must agree with it.
bool NamesACredentialByFullScan(absl::string_view name) {
  for (absl::string_view word : {"authorization", "token", "secret", "signature", "password",
                                 "api_key", "api-key", "apikey", "cookie"}) {
    for (size_t i = 0; i + word.size() <= name.size(); ++i) {
      if (absl::EqualsIgnoreCase(name.substr(i, word.size()), word)) return true;
    }
  }
  return false;
}

// `value` is what the log wrote for field `name`, or "" when the line has no such field.
std::string LoggedValue(absl::string_view name) {
  ::testing::internal::CaptureStderr();
  LogWarning("field", {{name, "plain-value"}});
  const std::string line = ::testing::internal::GetCapturedStderr();
  const std::string key = absl::StrCat("\"", name, "\":\"");
  const size_t at = line.find(key);
  if (at == std::string::npos) return "";
  const size_t from = at + key.size();
  return line.substr(from, line.find('"', from) - from);
}

TEST(RedactSecretsTest, FieldNamesNamingACredentialInAnyCaseAnywhereAreRedacted) {
  for (const char* name : {"TOKEN", "x-Auth-Token", "userPassword", "sessionCOOKIE", "My_Api-Key",
                           "ApiKey", "api_KEY", "Client_Secret", "x-twilio-SIGNATURE",
                           "Authorization", "refresh_token", "tokenized", "set-cookie", "secret"}) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(NamesACredentialByFullScan(name));
    EXPECT_EQ(LoggedValue(name), "[redacted]");
  }
  for (const char* name :
       {"method", "code",  "duration_ms", "request_id", "tok",      "toke",     "api",  "apike",
        "api_ke", "secre", "signatur",    "passwor",    "cooki",    "authoriz", "path", "s",
        "a",      "c",     "p",           "t",          "Cookbook", "apiKe y"}) {
    SCOPED_TRACE(name);
    ASSERT_FALSE(NamesACredentialByFullScan(name));
    EXPECT_EQ(LoggedValue(name), "plain-value");
  }
}

// Names made of pieces of the words, their neighbours and case changes: the one-pass search and
// the full scan agree on every one.
TEST(RedactSecretsTest, FieldNameSearchAgreesWithAFullScan) {
  const std::vector<std::string> pieces = {
      "a",    "A",    "api", "API", "_",       "-",      "key",   "KEY", "k",
      "tok",  "en",   "EN",  "t",   "o",       "sec",    "ret",   "sig", "nature",
      "pass", "word", "coo", "kie", "authori", "zation", "x",     "Co",  "Ok",
      "ie",   "s",    "p",   "c",   "Token",   "cookie", "Secret"};
  std::mt19937 random(17);
  int redacted = 0;
  for (int n = 0; n < 3000; ++n) {
    std::string name;
    const int parts = 1 + static_cast<int>(random() % 6);
    for (int k = 0; k < parts; ++k) name += pieces[random() % pieces.size()];
    const bool expected = NamesACredentialByFullScan(name);
    redacted += expected;
    ASSERT_EQ(LoggedValue(name), expected ? "[redacted]" : "plain-value") << name;
  }
  // Both kinds were tried.
  EXPECT_GT(redacted, 100);
  EXPECT_LT(redacted, 2900);
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
