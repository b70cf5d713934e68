#include "tests/support/redis_fixture.h"

#include <utility>

#include "tests/support/status_matchers.h"

namespace livecall::testing {

RedisFixture::RedisFixture(RedisPool::Options pool) : pool_options_(std::move(pool)) {}

void RedisFixture::SetUp() {
  ASSERT_THAT(redis_server_.Start(), IsOk());
  pool_options_.url = redis_server_.parsed_url();
  redis_ = std::make_unique<RedisPool>(pool_options_);
}

}  // namespace livecall::testing
