#ifndef LIVECALL_TESTS_SUPPORT_REDIS_FIXTURE_H_
#define LIVECALL_TESTS_SUPPORT_REDIS_FIXTURE_H_

#include <memory>

#include "common/redis_pool.h"
#include "gtest/gtest.h"
#include "tests/support/redis_server.h"

namespace livecall::testing {

// The base of a test fixture that runs against a real Redis: each test gets a redis-server of its
// own (RedisServer: a free port, its own data directory) and `redis_`, a pool connected to it.
// Being the base, it is torn down last: the derived fixture's members (stores, hubs, servers that
// use the pool) go first, then the pool, then the server.
//
//   class CallStoreTest : public livecall::testing::RedisFixture {
//    protected:
//     void SetUp() override {
//       ASSERT_NO_FATAL_FAILURE(RedisFixture::SetUp());
//       calls_ = std::make_unique<CallStore>(*redis_, absl::Hours(1));
//     }
//   };
class RedisFixture : public ::testing::Test {
 protected:
  // `pool`: the options of `redis_`; its url is replaced by the test's server's.
  explicit RedisFixture(RedisPool::Options pool = {});

  // Starts the server, then connects `redis_`.
  void SetUp() override;

  RedisServer redis_server_;
  std::unique_ptr<RedisPool> redis_;

 private:
  RedisPool::Options pool_options_;
};

}  // namespace livecall::testing

#endif  // LIVECALL_TESTS_SUPPORT_REDIS_FIXTURE_H_
