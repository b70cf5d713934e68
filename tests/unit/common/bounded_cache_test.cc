#include "common/bounded_cache.h"

#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace livecall {
namespace {

using ::testing::Optional;

TEST(BoundedCacheTest, AnswersWhatWasInserted) {
  BoundedCache<std::string> cache(8);
  EXPECT_EQ(cache.Find("a"), std::nullopt);
  cache.Insert("a", "1");
  EXPECT_THAT(cache.Find("a"), Optional(std::string("1")));
  cache.Insert("a", "2");
  EXPECT_THAT(cache.Find("a"), Optional(std::string("2")));
}

TEST(BoundedCacheTest, NeverHoldsMoreThanItsCapacity) {
  BoundedCache<int> cache(10);
  for (int i = 0; i < 1000; ++i) {
    cache.Insert(absl::StrCat(i), i);
    ASSERT_LE(cache.size(), 10u);
  }
  // The newest entries are still there; the oldest have aged out.
  EXPECT_THAT(cache.Find("999"), Optional(999));
  EXPECT_EQ(cache.Find("0"), std::nullopt);
}

TEST(BoundedCacheTest, AnEntryInUseOutlivesTheOnesNotUsed) {
  BoundedCache<int> cache(10);
  cache.Insert("kept", 1);
  for (int i = 0; i < 100; ++i) {
    cache.Insert(absl::StrCat(i), i);
    ASSERT_THAT(cache.Find("kept"), Optional(1)) << "after " << i;
  }
  EXPECT_EQ(cache.Find("0"), std::nullopt);
}

TEST(BoundedCacheTest, ThreadsShareIt) {
  BoundedCache<int> cache(64);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&cache, t] {
      for (int i = 0; i < 2000; ++i) {
        const std::string key = absl::StrCat(t, ":", i % 40);
        if (std::optional<int> found = cache.Find(key)) {
          ASSERT_EQ(*found, i % 40);
        } else {
          cache.Insert(key, i % 40);
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_LE(cache.size(), 64u);
}

}  // namespace
}  // namespace livecall
