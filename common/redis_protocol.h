#ifndef LIVECALL_COMMON_REDIS_PROTOCOL_H_
#define LIVECALL_COMMON_REDIS_PROTOCOL_H_

// Commands as Redis' protocol (RESP) carries them: "*<argc>\r\n" and per argument
// "$<length>\r\n<bytes>\r\n" -- the bytes hiredis' redisFormatCommandArgv writes. RedisPool formats
// a whole pipeline into one buffer with these instead of hiredis' per-command formatter, which
// spends about a thousand instructions per argument in sdscatfmt and grows its output buffer once
// per command.

#include <cstddef>
#include <string>
#include <vector>

namespace livecall {

// How many bytes `argv` takes on the wire.
size_t RedisCommandSize(const std::vector<std::string>& argv);

// Writes `argv` at `out`, which has room for RedisCommandSize(argv) bytes; returns the end.
char* WriteRedisCommand(const std::vector<std::string>& argv, char* out);

// Appends `argv` to `out` (binary-safe: arguments may hold NUL, CR and LF).
void AppendRedisCommand(const std::vector<std::string>& argv, std::string* out);

}  // namespace livecall

#endif  // LIVECALL_COMMON_REDIS_PROTOCOL_H_
