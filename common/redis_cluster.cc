#include "common/redis_cluster.h"

#include <array>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace livecall {
namespace {

std::array<uint16_t, 256> MakeCrc16Table() {
  std::array<uint16_t, 256> table{};
  for (int byte = 0; byte < 256; ++byte) {
    uint16_t crc = static_cast<uint16_t>(byte << 8);
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc & 0x8000) ? static_cast<uint16_t>((crc << 1) ^ 0x1021)
                           : static_cast<uint16_t>(crc << 1);
    }
    table[byte] = crc;
  }
  return table;
}

// The space-separated words as a set (built once, never freed).
const absl::flat_hash_set<std::string>* WordSet(absl::string_view words) {
  auto* set = new absl::flat_hash_set<std::string>();
  for (absl::string_view word : absl::StrSplit(words, ' ', absl::SkipEmpty())) set->emplace(word);
  return set;
}

bool NameIs(const std::string& name, absl::string_view expected) {
  return absl::EqualsIgnoreCase(name, expected);
}

}  // namespace

uint16_t RedisCrc16(absl::string_view data) {
  static const std::array<uint16_t, 256> table = MakeCrc16Table();
  uint16_t crc = 0;
  for (unsigned char byte : data) {
    crc = static_cast<uint16_t>((crc << 8) ^ table[((crc >> 8) ^ byte) & 0xff]);
  }
  return crc;
}

int RedisKeySlot(absl::string_view key) {
  if (size_t open = key.find('{'); open != absl::string_view::npos) {
    size_t close = key.find('}', open + 1);
    if (close != absl::string_view::npos && close > open + 1) {
      key = key.substr(open + 1, close - open - 1);
    }
  }
  return RedisCrc16(key) & (kRedisClusterSlots - 1);
}

absl::string_view SlotHashTag(int slot) {
  // The first decimal number (0, 1, 2, ...) that lands in each slot: about 180k CRC16s of a few
  // bytes, once per process.
  static const std::vector<std::string>* const tags = [] {
    auto* found = new std::vector<std::string>(kRedisClusterSlots);
    int missing = kRedisClusterSlots;
    for (uint64_t n = 0; missing > 0; ++n) {
      std::string tag = absl::StrCat(n);
      std::string& entry = (*found)[RedisCrc16(tag) & (kRedisClusterSlots - 1)];
      if (entry.empty()) {
        entry = std::move(tag);
        --missing;
      }
    }
    return found;
  }();
  return (*tags)[slot & (kRedisClusterSlots - 1)];
}

const std::string* RoutingKey(const std::vector<std::string>& argv) {
  if (argv.size() < 2) return nullptr;
  const std::string& name = argv[0];
  if (NameIs(name, "EVAL") || NameIs(name, "EVALSHA") || NameIs(name, "EVAL_RO") ||
      NameIs(name, "EVALSHA_RO")) {
    int keys = 0;
    if (argv.size() < 4 || !absl::SimpleAtoi(argv[2], &keys) || keys < 1) return nullptr;
    return &argv[3];
  }
  if (NameIs(name, "XREAD") || NameIs(name, "XREADGROUP")) {
    for (size_t i = 1; i + 1 < argv.size(); ++i) {
      if (NameIs(argv[i], "STREAMS")) return &argv[i + 1];
    }
    return nullptr;
  }
  if (NameIs(name, "XGROUP") || NameIs(name, "XINFO") || NameIs(name, "OBJECT") ||
      NameIs(name, "MEMORY")) {
    return argv.size() > 2 ? &argv[2] : nullptr;
  }
  static const auto* const keyless = WordSet(
      "PING PUBLISH TIME MULTI EXEC DISCARD ASKING SCRIPT WAIT INFO AUTH SELECT CLUSTER DBSIZE "
      "FLUSHALL FLUSHDB READONLY COMMAND SUBSCRIBE ECHO CLIENT CONFIG SCAN");
  if (keyless->contains(absl::AsciiStrToUpper(name))) return nullptr;
  return &argv[1];
}

bool IsReadOnlyCommand(const std::vector<std::string>& argv) {
  if (argv.empty()) return true;
  // Commands that change no data (WAIT after them would wait for nothing).
  static const auto* const reads = WordSet(
      "GET MGET HGET HMGET HGETALL HVALS HKEYS HEXISTS SMEMBERS SISMEMBER SCARD LRANGE LLEN ZRANGE "
      "ZREVRANGE ZRANGEBYSCORE ZREVRANGEBYSCORE ZSCORE ZCARD ZCOUNT XRANGE XREVRANGE XREAD XLEN "
      "XPENDING XINFO EXISTS TTL PTTL TYPE TIME PING CLUSTER INFO SCAN ECHO DBSIZE EVAL_RO "
      "EVALSHA_RO MULTI EXEC WAIT ASKING SCRIPT READONLY COMMAND SUBSCRIBE PUBLISH");
  return reads->contains(absl::AsciiStrToUpper(argv[0]));
}

std::optional<RedisRedirect> ParseRedisRedirect(absl::string_view error) {
  RedisRedirect redirect;
  absl::string_view rest = error;
  if (absl::ConsumePrefix(&rest, "MOVED ")) {
    redirect.ask = false;
  } else if (absl::ConsumePrefix(&rest, "ASK ")) {
    redirect.ask = true;
  } else {
    return std::nullopt;
  }
  size_t space = rest.find(' ');
  if (space == absl::string_view::npos ||
      !absl::SimpleAtoi(rest.substr(0, space), &redirect.slot) || redirect.slot < 0 ||
      redirect.slot >= kRedisClusterSlots) {
    return std::nullopt;
  }
  absl::string_view address = rest.substr(space + 1);
  size_t colon = address.rfind(':');
  if (colon == absl::string_view::npos ||
      !absl::SimpleAtoi(address.substr(colon + 1), &redirect.port) || redirect.port <= 0) {
    return std::nullopt;
  }
  redirect.host = std::string(address.substr(0, colon));
  return redirect;
}

}  // namespace livecall
