#include "services/call-control/tts/audio_url_signer.h"

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace livecall::call_control::tts {
namespace {

using ::livecall::testing::IsOk;
using ::livecall::testing::StatusIs;

constexpr char kKey[] = "0123456789abcdef0123456789abcdef";
const AudioUrlSigner kSigner("a-secret-of-at-least-thirty-two-bytes!!");

TEST(AudioUrlSignerTest, ASignedIdVerifiesUntilItExpires) {
  const absl::Time now = absl::FromUnixSeconds(1800000000);
  const std::string id = kSigner.Sign(kKey, now + absl::Minutes(10));
  absl::StatusOr<std::string> key = kSigner.Verify(id, now);
  ASSERT_THAT(key.status(), IsOk());
  EXPECT_EQ(*key, kKey);
  EXPECT_THAT(kSigner.Verify(id, now + absl::Minutes(10)).status(),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST(AudioUrlSignerTest, ForgedIdsAreRefused) {
  const absl::Time now = absl::FromUnixSeconds(1800000000);
  const std::string id = kSigner.Sign(kKey, now + absl::Minutes(10));
  // Another key, a later expiry, a flipped MAC digit, another secret, garbage.
  std::string other_key = id;
  other_key[0] = other_key[0] == '0' ? '1' : '0';
  std::string later = kSigner.Sign(kKey, now + absl::Hours(10));
  later = id.substr(0, 33) + later.substr(33, later.rfind('-') - 33) + id.substr(id.rfind('-'));
  std::string flipped = id;
  flipped.back() = flipped.back() == 'a' ? 'b' : 'a';
  const AudioUrlSigner other("another-secret-of-at-least-thirty-two-bytes");
  for (const std::string& forged :
       {other_key, later, flipped, other.Sign(kKey, now + absl::Minutes(10)), std::string(""),
        std::string("..%2f..%2fetc%2fpasswd"), id + "-00", id.substr(0, id.size() - 1)}) {
    EXPECT_THAT(kSigner.Verify(forged, now).status(), StatusIs(absl::StatusCode::kPermissionDenied))
        << forged;
  }
}

}  // namespace
}  // namespace livecall::call_control::tts
