#include "services/call-control/tts/text_normalizer.h"

#include "gtest/gtest.h"

namespace livecall::call_control::tts {
namespace {

TEST(UzbekNumberTest, SaysNumbersAsWords) {
  EXPECT_EQ(UzbekNumber(0), "nol");
  EXPECT_EQ(UzbekNumber(7), "yetti");
  EXPECT_EQ(UzbekNumber(10), "o'n");
  EXPECT_EQ(UzbekNumber(42), "qirq ikki");
  EXPECT_EQ(UzbekNumber(125), "bir yuz yigirma besh");
  EXPECT_EQ(UzbekNumber(2025), "ikki ming yigirma besh");
  EXPECT_EQ(UzbekNumber(150000), "bir yuz ellik ming");
  EXPECT_EQ(UzbekNumber(1000000), "bir million");
  EXPECT_EQ(UzbekNumber(3500000000), "uch milliard besh yuz million");
}

TEST(NormalizeForSpeechTest, UzbekNumbersBecomeWords) {
  EXPECT_EQ(NormalizeForSpeech("Sizda 3 ta buyurtma bor.", "uz"), "Sizda uch ta buyurtma bor.");
  EXPECT_EQ(NormalizeForSpeech("Chegirma 15% gacha", "uz"), "Chegirma o'n besh foiz gacha");
}

TEST(NormalizeForSpeechTest, UzbekAmountsInSum) {
  EXPECT_EQ(NormalizeForSpeech("Qarzingiz 150 000 so'm.", "uz"),
            "Qarzingiz bir yuz ellik ming so'm.");
  EXPECT_EQ(NormalizeForSpeech("To'lov: 25000 UZS", "uz"), "To'lov: yigirma besh ming so'm");
  EXPECT_EQ(NormalizeForSpeech("1\xC2\xA0"
                               "200\xC2\xA0"
                               "000 so\xCA\xBBm",
                               "uz"),
            "bir million ikki yuz ming so'm");
}

TEST(NormalizeForSpeechTest, UzbekPhoneNumbersInGroups) {
  EXPECT_EQ(NormalizeForSpeech("Raqam: +998 90 111 22 33.", "uz"),
            "Raqam: plyus to'qqiz yuz to'qson sakkiz, to'qson, bir yuz o'n bir, yigirma ikki, "
            "o'ttiz uch.");
  EXPECT_EQ(NormalizeForSpeech("+998901112233", "uz"),
            "plyus to'qqiz yuz to'qson sakkiz, to'qson, bir yuz o'n bir, yigirma ikki, o'ttiz uch");
  EXPECT_EQ(NormalizeForSpeech("(71) 200-05-07 ga", "uz"),
            "yetmish bir, ikki yuz, nol besh, nol yetti ga");
}

TEST(NormalizeForSpeechTest, LongDigitStringsAndLeadingZerosAreSpelt) {
  EXPECT_EQ(NormalizeForSpeech("kod 0042", "uz"), "kod nol nol to'rt ikki");
}

TEST(NormalizeForSpeechTest, RussianAndEnglishGroupPhonesAndNameTheCurrency) {
  EXPECT_EQ(NormalizeForSpeech("Звоните +998 90 111 22 33", "ru"),
            "Звоните плюс 998, 90, 111, 22, 33");
  EXPECT_EQ(NormalizeForSpeech("Долг 150 000 сум", "ru"), "Долг 150000 сум");
  EXPECT_EQ(NormalizeForSpeech("Call +998901112233", "en"), "Call plus 998, 90, 111, 22, 33");
  EXPECT_EQ(NormalizeForSpeech("You owe 1,500 UZS", "en"), "You owe 1500 soums");
  EXPECT_EQ(NormalizeForSpeech("Order 42 is ready", "en"), "Order 42 is ready");
}

TEST(NormalizeForSpeechTest, WordsWithDigitsAndOtherTextAreLeftAlone) {
  EXPECT_EQ(NormalizeForSpeech("Model A320 va COVID19", "uz"), "Model A320 va COVID19");
  EXPECT_EQ(NormalizeForSpeech("Salom, xush kelibsiz!", "uz"), "Salom, xush kelibsiz!");
  EXPECT_EQ(NormalizeForSpeech("12", "de"), "12");
}

}  // namespace
}  // namespace livecall::call_control::tts
