#include "common/redis_protocol.h"

#include <charconv>
#include <cstring>

namespace livecall {
namespace {

size_t DecimalDigits(size_t n) {
  size_t digits = 1;
  while (n >= 10) {
    n /= 10;
    ++digits;
  }
  return digits;
}

// "<kind><n>\r\n".
char* WriteHeader(char kind, size_t n, char* out) {
  *out++ = kind;
  out = std::to_chars(out, out + 20, n).ptr;
  *out++ = '\r';
  *out++ = '\n';
  return out;
}

}  // namespace

size_t RedisCommandSize(const std::vector<std::string>& argv) {
  size_t size = 3 + DecimalDigits(argv.size());
  for (const std::string& arg : argv) size += 5 + DecimalDigits(arg.size()) + arg.size();
  return size;
}

char* WriteRedisCommand(const std::vector<std::string>& argv, char* out) {
  out = WriteHeader('*', argv.size(), out);
  for (const std::string& arg : argv) {
    out = WriteHeader('$', arg.size(), out);
    std::memcpy(out, arg.data(), arg.size());
    out += arg.size();
    *out++ = '\r';
    *out++ = '\n';
  }
  return out;
}

void AppendRedisCommand(const std::vector<std::string>& argv, std::string* out) {
  const size_t start = out->size();
  out->resize(start + RedisCommandSize(argv));
  WriteRedisCommand(argv, out->data() + start);
}

}  // namespace livecall
