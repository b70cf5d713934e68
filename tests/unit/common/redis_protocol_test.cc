#include "common/redis_protocol.h"

#include <hiredis/hiredis.h>

#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace livecall {
namespace {

// What hiredis itself sends for `argv` (redisAppendCommandArgv formats the same bytes).
std::string HiredisBytes(const std::vector<std::string>& argv) {
  std::vector<const char*> args;
  std::vector<size_t> lengths;
  for (const std::string& arg : argv) {
    args.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  char* formatted = nullptr;
  const int length = redisFormatCommandArgv(&formatted, static_cast<int>(argv.size()), args.data(),
                                            lengths.data());
  EXPECT_GE(length, 0);
  std::string bytes(formatted, static_cast<size_t>(length));
  redisFreeCommand(formatted);
  return bytes;
}

void ExpectSameAsHiredis(const std::vector<std::string>& argv) {
  std::string ours;
  AppendRedisCommand(argv, &ours);
  EXPECT_EQ(ours, HiredisBytes(argv));
  EXPECT_EQ(ours.size(), RedisCommandSize(argv));
}

TEST(RedisProtocolTest, WritesTheBytesHiredisWrites) {
  ExpectSameAsHiredis({"PING"});
  ExpectSameAsHiredis({"GET", "session:{abc}"});
  ExpectSameAsHiredis({"SET", "k", ""});
  ExpectSameAsHiredis({"", "", ""});
  ExpectSameAsHiredis({std::string("a\0b\r\n$3\r\n*1\r\n%s%b", 19), std::string(1, '\0')});
  // Lengths around each new decimal digit.
  for (size_t length : {9, 10, 11, 99, 100, 101, 999, 1000, 1001, 9999, 10000, 65536, 1 << 20}) {
    ExpectSameAsHiredis({"SET", std::string(length, 'x'), std::string(length, '\n')});
  }
  // Argument counts around each new digit too.
  for (size_t count : {1, 9, 10, 11, 99, 100, 101, 1000}) {
    std::vector<std::string> argv(count);
    for (size_t i = 0; i < count; ++i) argv[i] = std::to_string(i);
    ExpectSameAsHiredis(argv);
  }
}

TEST(RedisProtocolTest, RandomBinaryArgumentsMatchHiredis) {
  std::mt19937 random(17);
  for (int round = 0; round < 500; ++round) {
    std::vector<std::string> argv(1 + random() % 40);
    for (std::string& arg : argv) {
      // Mostly short, some past the small-string buffer, a few of kilobytes.
      const size_t length = random() % 8 == 0 ? random() % 5000 : random() % 40;
      arg.resize(length);
      for (char& c : arg) c = static_cast<char>(random() % 256);
    }
    ExpectSameAsHiredis(argv);
  }
}

TEST(RedisProtocolTest, AppendsAfterWhatIsThere) {
  std::string pipeline;
  AppendRedisCommand({"MULTI"}, &pipeline);
  AppendRedisCommand({"INCR", "n"}, &pipeline);
  AppendRedisCommand({"EXEC"}, &pipeline);
  EXPECT_EQ(pipeline,
            HiredisBytes({"MULTI"}) + HiredisBytes({"INCR", "n"}) + HiredisBytes({"EXEC"}));
}

TEST(RedisProtocolTest, WriteReturnsTheEndOfTheCommand) {
  const std::vector<std::string> argv = {"HSET", "h", "field", std::string(300, 'v')};
  std::string buffer(RedisCommandSize(argv) + 4, '#');
  char* end = WriteRedisCommand(argv, buffer.data());
  EXPECT_EQ(end, buffer.data() + RedisCommandSize(argv));
  EXPECT_EQ(buffer.substr(0, RedisCommandSize(argv)), HiredisBytes(argv));
  EXPECT_EQ(buffer.substr(RedisCommandSize(argv)), "####");
}

}  // namespace
}  // namespace livecall
