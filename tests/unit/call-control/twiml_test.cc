#include "services/call-control/twiml.h"

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

}  // namespace
}  // namespace livecall::call_control
