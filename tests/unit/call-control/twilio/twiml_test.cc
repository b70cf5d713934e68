#include "services/call-control/twilio/twiml.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"
#include "tests/support/xml.h"

namespace livecall::call_control {
namespace {

using ::livecall::testing::IsOk;
using ::livecall::testing::ParseXml;
using ::livecall::testing::XmlNode;
using ::testing::ElementsAre;

// vectors.json (Twilio's Node helper library, twilio 6.2.0): the same TwiML byte for byte.
TEST(TwimlTest, SayIsEscapedAsTwiliosHelperLibraryWritesIt) {
  TwimlElement say = Verb("Say", "Здравствуйте! <b> & \"quotes\"");
  say.Attr("voice", "Google.ru-RU-Standard-A").Attr("language", "ru-RU");
  EXPECT_EQ(RenderTwiml({say}),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Say "
            "voice=\"Google.ru-RU-Standard-A\" language=\"ru-RU\">Здравствуйте! &lt;b&gt; &amp; "
            "\"quotes\"</Say></Response>");
}

TEST(TwimlTest, TranscriptionAndClientMatchTheVectors) {
  TwimlElement start = Verb("Start");
  start.Add(Verb("Transcription"))
      .Attr("statusCallbackUrl", "https://example.com/twilio/transcription")
      .Attr("languageCode", "uz-UZ")
      .Attr("track", "both_tracks")
      .Attr("partialResults", "false")
      .Attr("name", "live");
  EXPECT_EQ(RenderTwiml({start}),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Start><Transcription "
            "statusCallbackUrl=\"https://example.com/twilio/transcription\" languageCode=\"uz-UZ\" "
            "track=\"both_tracks\" partialResults=\"false\" name=\"live\"/></Start></Response>");
  TwimlElement dial = Verb("Dial");
  dial.Add(Verb("Client", "agent-alice"));
  EXPECT_EQ(RenderTwiml({dial}),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Dial><Client>agent-alice</Client>"
            "</Dial></Response>");
}

TEST(TwimlTest, GatherActionAmpersandIsEscaped) {
  TwimlElement gather = Verb("Gather");
  gather.Attr("input", "speech")
      .Attr("language", "ru-RU")
      .Attr("action", "https://example.com/twilio/gather?session=s1&turn=2")
      .Attr("speechTimeout", "auto")
      .Attr("actionOnEmptyResult", "true");
  gather.Add(Verb("Say", "Чем могу помочь?")).Attr("language", "ru-RU");
  EXPECT_EQ(RenderTwiml({gather}),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Gather input=\"speech\" "
            "language=\"ru-RU\" action=\"https://example.com/twilio/gather?session=s1&amp;turn=2\" "
            "speechTimeout=\"auto\" actionOnEmptyResult=\"true\"><Say language=\"ru-RU\">Чем могу "
            "помочь?</Say></Gather></Response>");
}

TEST(TwimlTest, HostileTextCannotInjectAVerb) {
  const std::string hostile = "</Say><Dial>+1900</Dial><Say a=\"' & \x01";
  TwimlElement say = Verb("Say", hostile);
  say.Attr("voice", hostile);
  absl::StatusOr<XmlNode> parsed = ParseXml(RenderTwiml({say}));
  ASSERT_THAT(parsed.status(), IsOk());
  EXPECT_EQ(parsed->name, "Response");
  ASSERT_THAT(parsed->ChildNames(), ElementsAre("Say"));
  EXPECT_TRUE(parsed->children[0].children.empty());
  // The control character XML cannot carry is dropped; everything else survives as text.
  EXPECT_EQ(parsed->children[0].text, "</Say><Dial>+1900</Dial><Say a=\"' & ");
  EXPECT_EQ(parsed->children[0].Attr("voice"), "</Say><Dial>+1900</Dial><Say a=\"' & ");
}

TEST(TwimlTest, EmptyResponse) {
  EXPECT_EQ(RenderTwiml({}), "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>");
}

// Found by tests/fuzz/twiml_fuzzer: a literal carriage return in text came back as a line feed
// (XML readers normalise line ends), so it is written as a character reference.
TEST(TwimlTest, CarriageReturnInTextSurvivesAReader) {
  EXPECT_EQ(XmlEscapeText("a\r\nb"), "a&#13;\nb");
  absl::StatusOr<XmlNode> root = ParseXml(RenderTwiml({Verb("Say", "a\r\nb\rc")}));
  ASSERT_THAT(root, IsOk());
  ASSERT_EQ(root->children.size(), 1u);
  EXPECT_EQ(root->children[0].text, "a\r\nb\rc");
}

// Found by tests/fuzz/twiml_fuzzer: invalid UTF-8 (a stray byte, a surrogate) or U+FFFE made the
// whole document unreadable; they are dropped like the other characters XML cannot carry, and
// valid text in any script is kept.
TEST(TwimlTest, InvalidUtf8AndNonCharactersAreDropped) {
  EXPECT_EQ(XmlEscapeText("ok\xff\xfe \xed\xa0\x80 \xef\xbf\xbe end"), "ok   end");
  EXPECT_EQ(XmlEscapeAttribute("\xc3\x28x\xe2\x82"), "(x");
  EXPECT_EQ(XmlEscapeText("Здравствуйте, Dilshod! \xF0\x9F\x98\x80"),
            "Здравствуйте, Dilshod! \xF0\x9F\x98\x80");
  TwimlElement say = Verb("Say", "Salom\xff dunyo");
  say.Attr("voice", "Google.uz\xc0\xaf");
  absl::StatusOr<XmlNode> root = ParseXml(RenderTwiml({say}));
  ASSERT_THAT(root, IsOk());
  EXPECT_EQ(root->children[0].text, "Salom dunyo");
  EXPECT_EQ(root->children[0].Attr("voice"), "Google.uz");
}

}  // namespace
}  // namespace livecall::call_control
