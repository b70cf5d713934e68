// livecall-bench-load: the benchmark's load client (bench/run drives it).
//
// Why our own client: the suite needs closed-loop AND open-loop HTTP/1.1 load with latency taken
// from the *intended* send time (no coordinated omission; wrk2 is not in Debian), uniquely signed
// Twilio webhooks per request, 10,000 Server-Sent-Events connections that time each event from
// its publish timestamp, and turn → SSE-suggestion latency. One tool for the suite and its HTTP
// baseline (nginx) keeps the ratios honest.
//
// Modes (all print one line of key=value pairs on stdout; diagnostics go to stderr):
//   http    --port P --connections C --duration S [--warmup S] [--rate R]
//           (--request-file F | --webhook TOKEN --public-url URL [--webhook-path /twilio/voice])
//   grpc    --target HOST:PORT --method /pkg.Svc/M --payload-hex HEX --concurrency C
//           --duration S [--warmup S] [--rate R]
//   events  --port P --redis-port RP --clients N --streams S --rate R --duration S [--warmup S]
//           [--gateway-pid PID]
//   turn    --port P --sessions N --rate R --duration S [--warmup S] [--connections C]
//           [--texts rotate|topics] [--mark-file F]
//   populate --port P --sessions N --turns T     (prints the session ids, one a line)
// Every mode also prints completed= (answers over the whole run, warm-up included), which bench/run
// divides the services' CPU time by.
// Closed loop: each connection sends its next request when the previous answer arrives.
// Open loop (--rate): request k is due at start + k/R; it goes out on the first idle connection,
// and its latency counts from the due time, so a stall is charged to every request it delays.

#include <arpa/inet.h>
#include <fcntl.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

int64_t MonoNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

int64_t RealNs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

void SleepUntilMono(int64_t t) {
  timespec ts{static_cast<time_t>(t / 1000000000), static_cast<long>(t % 1000000000)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
  }
}

double CpuSeconds() {
  rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 + usage.ru_stime.tv_sec +
         usage.ru_stime.tv_usec / 1e6;
}

[[noreturn]] void Die(const std::string& message) {
  fprintf(stderr, "livecall-bench-load: %s\n", message.c_str());
  exit(2);
}

// --name value pairs.
class Args {
 public:
  Args(int argc, char** argv) {
    for (int i = 2; i + 1 < argc; i += 2) {
      if (strncmp(argv[i], "--", 2) != 0) Die(std::string("bad argument ") + argv[i]);
      values_[argv[i] + 2] = argv[i + 1];
    }
  }
  std::string Str(const std::string& name, const std::string& fallback = "\x01") const {
    auto it = values_.find(name);
    if (it != values_.end()) return it->second;
    if (fallback == "\x01") Die("--" + name + " is required");
    return fallback;
  }
  double Num(const std::string& name, double fallback = -1) const {
    auto it = values_.find(name);
    if (it != values_.end()) return atof(it->second.c_str());
    if (fallback < 0) Die("--" + name + " is required");
    return fallback;
  }
  bool Has(const std::string& name) const { return values_.count(name) > 0; }

 private:
  std::map<std::string, std::string> values_;
};

// Latency samples (ns) and the figures printed from them.
struct Recorder {
  std::vector<int64_t> samples;
  int64_t errors = 0;
  void Add(int64_t ns) { samples.push_back(ns); }
  static double Ms(int64_t ns) { return ns / 1e6; }
  std::string Summary(double seconds) {
    std::sort(samples.begin(), samples.end());
    auto pct = [&](double p) -> double {
      if (samples.empty()) return 0;
      size_t i = static_cast<size_t>(p / 100.0 * (samples.size() - 1) + 0.5);
      return Ms(samples[std::min(i, samples.size() - 1)]);
    };
    char line[512];
    snprintf(line, sizeof line,
             "count=%zu errors=%lld rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f p999_ms=%.3f "
             "max_ms=%.3f",
             samples.size(), static_cast<long long>(errors),
             seconds > 0 ? samples.size() / seconds : 0.0, pct(50), pct(90), pct(99), pct(99.9),
             samples.empty() ? 0.0 : Ms(samples.back()));
    return line;
  }
};

std::string Hex(uint64_t v, int width) {
  char buf[32];
  snprintf(buf, sizeof buf, "%0*llx", width, static_cast<unsigned long long>(v));
  return buf;
}

// A per-run random prefix so ids never collide with an earlier run's (idempotency keys, TTLs).
uint64_t RunNonce() {
  std::random_device rd;
  return (uint64_t{rd()} << 32) ^ rd();
}

// ---------------------------------------------------------------------------------------------
// HTTP/1.1 event loop: request/response connections and SSE connections, one thread, epoll.

struct Conn {
  enum Kind { kRequest, kSse };
  int fd = -1;
  Kind kind = kRequest;
  std::string rbuf;
  std::string wbuf;
  size_t woff = 0;
  bool busy = false;
  bool sse_open = false;
  int64_t due = 0;  // intended send time of the request in flight (mono ns)
  uint64_t tag = 0;
  std::string sse_event;  // the current SSE event's type
};

struct HttpResult {
  int status = 0;
  std::string body;
};

class Loop {
 public:
  using OnResponse = std::function<void(Conn&, const HttpResult&)>;
  using OnSseLine = std::function<void(Conn&, const std::string& event, std::string_view data)>;

  explicit Loop(int port) : port_(port) {
    epoll_ = epoll_create1(0);
    if (epoll_ < 0) Die("epoll_create1");
  }

  size_t Open(Conn::Kind kind, uint64_t tag) {
    Conn conn;
    conn.kind = kind;
    conn.tag = tag;
    conn.fd = Connect();
    conns_.push_back(std::move(conn));
    size_t index = conns_.size() - 1;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT;
    ev.data.u64 = index;
    if (epoll_ctl(epoll_, EPOLL_CTL_ADD, conns_[index].fd, &ev) != 0) Die("epoll_ctl add");
    return index;
  }

  Conn& At(size_t i) { return conns_[i]; }
  size_t size() const { return conns_.size(); }

  void Send(size_t i, std::string request, int64_t due) {
    Conn& conn = conns_[i];
    conn.busy = true;
    conn.due = due;
    conn.wbuf = std::move(request);
    conn.woff = 0;
    Flush(i);
  }

  // Runs until `deadline` (mono ns) or until `idle()` returns true after an event batch; `tick`
  // runs after every batch and returns the next time it wants to run (0: no wish).
  void Run(int64_t deadline, const std::function<int64_t()>& tick,
           const std::function<bool()>& done = nullptr) {
    std::vector<epoll_event> events(1024);
    int64_t next = tick ? tick() : 0;
    while (true) {
      int64_t now = MonoNs();
      if (now >= deadline) return;
      if (done && done()) return;
      int64_t wake = deadline;
      if (next > 0) wake = std::min(wake, next);
      int64_t wait_ns = std::max<int64_t>(0, wake - now);
      timespec timeout{static_cast<time_t>(wait_ns / 1000000000),
                       static_cast<long>(wait_ns % 1000000000)};
      int n =
          epoll_pwait2(epoll_, events.data(), static_cast<int>(events.size()), &timeout, nullptr);
      if (n < 0 && errno != EINTR) Die("epoll_pwait2");
      for (int e = 0; e < n; ++e) {
        size_t i = events[e].data.u64;
        if (events[e].events & EPOLLOUT) Flush(i);
        if (events[e].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) ReadFrom(i);
      }
      if (tick) next = tick();
    }
  }

  OnResponse on_response;
  OnSseLine on_sse;
  std::function<void(Conn&)> on_sse_open;
  int64_t closed = 0;

 private:
  int Connect() {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0) Die(std::string("socket: ") + strerror(errno));
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port_));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 && errno != EINPROGRESS) {
      Die(std::string("connect: ") + strerror(errno));
    }
    return fd;
  }

  void Rearm(size_t i) {
    Conn& conn = conns_[i];
    epoll_event ev{};
    ev.events = EPOLLIN | (conn.woff < conn.wbuf.size() ? EPOLLOUT : 0);
    ev.data.u64 = i;
    epoll_ctl(epoll_, EPOLL_CTL_MOD, conn.fd, &ev);
  }

  void Flush(size_t i) {
    Conn& conn = conns_[i];
    while (conn.woff < conn.wbuf.size()) {
      ssize_t n =
          send(conn.fd, conn.wbuf.data() + conn.woff, conn.wbuf.size() - conn.woff, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN || errno == EINPROGRESS || errno == ENOTCONN) break;
        Reopen(i);
        return;
      }
      conn.woff += static_cast<size_t>(n);
    }
    Rearm(i);
  }

  // The server closed (or reset) the connection: count it and dial again.
  void Reopen(size_t i) {
    Conn& conn = conns_[i];
    ++closed;
    epoll_ctl(epoll_, EPOLL_CTL_DEL, conn.fd, nullptr);
    close(conn.fd);
    bool was_busy = conn.busy;
    conn.fd = Connect();
    conn.rbuf.clear();
    conn.sse_open = false;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT;
    ev.data.u64 = i;
    epoll_ctl(epoll_, EPOLL_CTL_ADD, conn.fd, &ev);
    if (was_busy && conn.kind == Conn::kRequest) {
      conn.busy = false;
      if (on_response) on_response(conn, HttpResult{599, ""});
    } else if (conn.kind == Conn::kSse) {
      // The SSE request is resent by the owner through on_sse_open with status 0.
      conn.woff = 0;
      Flush(i);
    }
  }

  void ReadFrom(size_t i) {
    char buf[65536];
    while (true) {
      Conn& conn = conns_[i];
      ssize_t n = recv(conn.fd, buf, sizeof buf, 0);
      if (n > 0) {
        conn.rbuf.append(buf, static_cast<size_t>(n));
        if (conn.kind == Conn::kRequest) {
          ParseResponses(i);
        } else {
          ParseSse(i);
        }
        if (static_cast<size_t>(n) < sizeof buf) return;
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
      Reopen(i);
      return;
    }
  }

  static bool HeaderValue(std::string_view head, std::string_view name, std::string* value) {
    size_t pos = 0;
    while ((pos = head.find("\r\n", pos)) != std::string_view::npos) {
      pos += 2;
      if (head.size() - pos >= name.size() &&
          strncasecmp(head.data() + pos, name.data(), name.size()) == 0 &&
          head[pos + name.size()] == ':') {
        size_t start = pos + name.size() + 1;
        while (start < head.size() && head[start] == ' ') ++start;
        size_t end = head.find("\r\n", start);
        *value = std::string(head.substr(start, end - start));
        return true;
      }
    }
    return false;
  }

  void ParseResponses(size_t i) {
    Conn& conn = conns_[i];
    while (true) {
      size_t head_end = conn.rbuf.find("\r\n\r\n");
      if (head_end == std::string::npos) return;
      std::string_view head(conn.rbuf.data(), head_end + 2);
      HttpResult result;
      if (head.size() > 12) result.status = atoi(head.data() + 9);
      std::string value;
      size_t body_start = head_end + 4;
      size_t consumed = 0;
      bool close_after =
          HeaderValue(head, "connection", &value) && strcasecmp(value.c_str(), "close") == 0;
      if (HeaderValue(head, "content-length", &value)) {
        size_t length = strtoull(value.c_str(), nullptr, 10);
        if (conn.rbuf.size() < body_start + length) return;
        result.body = conn.rbuf.substr(body_start, length);
        consumed = body_start + length;
      } else if (HeaderValue(head, "transfer-encoding", &value)) {
        size_t pos = body_start;
        while (true) {
          size_t line_end = conn.rbuf.find("\r\n", pos);
          if (line_end == std::string::npos) return;
          size_t size = strtoull(conn.rbuf.c_str() + pos, nullptr, 16);
          if (conn.rbuf.size() < line_end + 2 + size + 2) return;
          result.body.append(conn.rbuf, line_end + 2, size);
          pos = line_end + 2 + size + 2;
          if (size == 0) break;
        }
        consumed = pos;
      } else {
        consumed = body_start;
      }
      conn.rbuf.erase(0, consumed);
      conn.busy = false;
      if (on_response) on_response(conn, result);
      if (close_after) {
        Reopen(i);
        return;
      }
    }
  }

  void ParseSse(size_t i) {
    Conn& conn = conns_[i];
    size_t pos = 0;
    if (!conn.sse_open) {
      size_t head_end = conn.rbuf.find("\r\n\r\n");
      if (head_end == std::string::npos) return;
      int status = conn.rbuf.size() > 12 ? atoi(conn.rbuf.c_str() + 9) : 0;
      conn.sse_open = true;
      conn.busy = false;
      pos = head_end + 4;
      if (status != 200) {
        fprintf(stderr, "SSE answered %d: %s\n", status, conn.rbuf.substr(0, 300).c_str());
      }
      if (on_sse_open) on_sse_open(conn);
    }
    while (true) {
      size_t nl = conn.rbuf.find('\n', pos);
      if (nl == std::string::npos) break;
      std::string_view line(conn.rbuf.data() + pos, nl - pos);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.rfind("event: ", 0) == 0) {
        conn.sse_event = std::string(line.substr(7));
      } else if (line.rfind("data: ", 0) == 0) {
        if (on_sse) on_sse(conn, conn.sse_event, line.substr(6));
      } else if (line.empty()) {
        conn.sse_event.clear();
      }
      pos = nl + 1;
    }
    conn.rbuf.erase(0, pos);
  }

  int port_;
  int epoll_;
  std::deque<Conn> conns_;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) Die("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Base64(const unsigned char* data, size_t size) {
  std::string out(4 * ((size + 2) / 3) + 1, '\0');
  int n =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(size));
  out.resize(static_cast<size_t>(n));
  return out;
}

// A signed Twilio Voice webhook for an inbound customer call, CallSid unique per request.
// `path` is /twilio/voice for the suite; baseline C (Twilio's quickstart server, which checks no
// signature) gets the same bytes on its /voice.
std::string WebhookRequest(const std::string& token, const std::string& public_url,
                           const std::string& path, int port, uint64_t nonce, uint64_t seq) {
  const std::string call_sid = "CA" + Hex(nonce, 16) + Hex(seq, 16);
  // Parameters in name order, as Twilio signs them: name + decoded value.
  const std::vector<std::pair<std::string, std::string>> params = {
      {"AccountSid", "AC00000000000000000000000000bench"},
      {"ApiVersion", "2010-04-01"},
      {"CallSid", call_sid},
      {"CallStatus", "ringing"},
      {"Direction", "inbound"},
      {"From", "+998901112233"},
      {"To", "+998712000000"}};
  std::string signed_data = public_url + path;
  std::string body;
  for (const auto& [name, value] : params) {
    signed_data += name + value;
    if (!body.empty()) body += '&';
    body += name + '=';
    for (char c : value) {
      if (c == '+') {
        body += "%2B";
      } else {
        body += c;
      }
    }
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha1(), token.data(), static_cast<int>(token.size()),
       reinterpret_cast<const unsigned char*>(signed_data.data()), signed_data.size(), digest,
       &length);
  return "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
         "\r\nContent-Type: application/x-www-form-urlencoded\r\nX-Twilio-Signature: " +
         Base64(digest, length) + "\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

// "Authorization: Bearer <LIVECALL_BENCH_TOKEN>\r\n" (bench/run mints one through the dev login),
// or nothing when it is unset.
const std::string& AuthorizationLine() {
  static const std::string line = [] {
    const char* token = getenv("LIVECALL_BENCH_TOKEN");
    return token == nullptr || *token == '\0'
               ? std::string()
               : std::string("Authorization: Bearer ") + token + "\r\n";
  }();
  return line;
}

std::string JsonPost(int port, const std::string& path, const std::string& body) {
  return "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) + "\r\n" +
         AuthorizationLine() +
         "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

std::string SseGet(int port, const std::string& path) {
  return "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) + "\r\n" +
         AuthorizationLine() + "Accept: text/event-stream\r\n\r\n";
}

// Drives request/response connections closed- or open-loop; see the file comment.
class RequestDriver {
 public:
  RequestDriver(Loop& loop, std::vector<size_t> conns, double rate,
                std::function<std::string(uint64_t seq, size_t conn)> make)
      : loop_(loop), conns_(std::move(conns)), rate_(rate), make_(std::move(make)) {
    for (size_t c : conns_) idle_.push_back(c);
  }

  void Begin(int64_t start) { start_ = start; }

  // Sends what is due; returns the next due time (open loop) or 0.
  int64_t Tick() {
    int64_t now = MonoNs();
    if (stopped_) return 0;
    if (rate_ <= 0) {
      while (!idle_.empty()) {
        size_t c = idle_.back();
        idle_.pop_back();
        loop_.Send(c, make_(seq_++, c), now);
      }
      return 0;
    }
    while (true) {
      int64_t due = start_ + static_cast<int64_t>(seq_ * 1e9 / rate_);
      if (due > now) return due;
      if (idle_.empty()) return 0;  // backlog: the next answer frees a connection
      size_t c = idle_.back();
      idle_.pop_back();
      loop_.Send(c, make_(seq_++, c), due);
    }
  }

  void Done(size_t conn) { idle_.push_back(conn); }
  void Stop() { stopped_ = true; }
  // Requests due by `now` that never went out (open loop): the backlog at the end.
  int64_t Backlog(int64_t now) const {
    if (rate_ <= 0) return 0;
    int64_t due = static_cast<int64_t>((now - start_) * rate_ / 1e9);
    return std::max<int64_t>(0, due - static_cast<int64_t>(seq_));
  }
  uint64_t sent() const { return seq_; }

 private:
  Loop& loop_;
  std::vector<size_t> conns_;
  std::vector<size_t> idle_;
  double rate_;
  std::function<std::string(uint64_t, size_t)> make_;
  int64_t start_ = 0;
  uint64_t seq_ = 0;
  bool stopped_ = false;
};

// Maps a Loop slot index back from a Conn& (conns live in a deque, addresses are stable).
struct SlotOf {
  std::map<const Conn*, size_t> slots;
  size_t operator()(const Conn& c) const { return slots.at(&c); }
};

// ---------------------------------------------------------------------------------------------

int RunHttp(const Args& args) {
  const int port = static_cast<int>(args.Num("port"));
  const int connections = static_cast<int>(args.Num("connections", 64));
  const double duration = args.Num("duration");
  const double warmup = args.Num("warmup", 2);
  const double rate = args.Num("rate", 0);
  std::string fixed;
  std::string token;
  std::string public_url;
  const std::string webhook_path = args.Str("webhook-path", "/twilio/voice");
  if (args.Has("request-file")) {
    fixed = ReadFile(args.Str("request-file"));
  } else {
    token = args.Str("webhook");
    public_url = args.Str("public-url");
  }
  const uint64_t nonce = RunNonce();

  Loop loop(port);
  SlotOf slot;
  std::vector<size_t> conns;
  for (int i = 0; i < connections; ++i) {
    size_t c = loop.Open(Conn::kRequest, 0);
    slot.slots[&loop.At(c)] = c;
    conns.push_back(c);
  }
  RequestDriver driver(loop, conns, rate, [&](uint64_t seq, size_t) {
    return fixed.empty() ? WebhookRequest(token, public_url, webhook_path, port, nonce, seq)
                         : fixed;
  });
  Recorder rec;
  const int64_t start = MonoNs();
  const int64_t measure_from = start + static_cast<int64_t>(warmup * 1e9);
  const int64_t end = measure_from + static_cast<int64_t>(duration * 1e9);
  int64_t statuses[6] = {0, 0, 0, 0, 0, 0};
  int64_t completed = 0;
  std::string first_error;
  loop.on_response = [&](Conn& conn, const HttpResult& result) {
    int64_t now = MonoNs();
    ++completed;
    if (conn.due >= measure_from && now <= end) {
      if (result.status >= 200 && result.status < 300) {
        rec.Add(now - conn.due);
      } else {
        ++rec.errors;
      }
      ++statuses[std::min(5, result.status / 100)];
    }
    if ((result.status < 200 || result.status >= 300) && first_error.empty()) {
      first_error = std::to_string(result.status) + " " + result.body.substr(0, 200);
    }
    driver.Done(slot(conn));
  };
  driver.Begin(start);
  const double cpu0 = CpuSeconds();
  loop.Run(end, [&] { return driver.Tick(); });
  const double cpu = CpuSeconds() - cpu0;
  if (!first_error.empty()) fprintf(stderr, "first error answer: %s\n", first_error.c_str());
  printf("%s completed=%lld backlog=%lld reconnects=%lld s5xx=%lld s4xx=%lld loadgen_cpu=%.2f\n",
         rec.Summary(duration).c_str(), static_cast<long long>(completed),
         static_cast<long long>(driver.Backlog(end)), static_cast<long long>(loop.closed),
         static_cast<long long>(statuses[5]), static_cast<long long>(statuses[4]),
         cpu / (duration + warmup));
  return 0;
}

// ---------------------------------------------------------------------------------------------

std::string Unhex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(strtol(hex.substr(i, 2).c_str(), nullptr, 16)));
  }
  return out;
}

int RunGrpc(const Args& args) {
  const std::string target = args.Str("target");
  const std::string method = args.Str("method");
  const std::string payload = Unhex(args.Str("payload-hex"));
  const int concurrency = static_cast<int>(args.Num("concurrency", 64));
  const double duration = args.Num("duration");
  const double warmup = args.Num("warmup", 2);
  const double rate = args.Num("rate", 0);

  grpc::ChannelArguments channel_args;
  auto channel =
      grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), channel_args);
  if (!channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(5))) {
    Die("cannot connect to " + target);
  }
  grpc::GenericStub stub(channel);
  grpc::Slice slice(payload);
  const grpc::ByteBuffer request(&slice, 1);

  std::mutex mu;
  std::condition_variable cv;
  Recorder rec;
  int64_t outstanding = 0;
  int64_t completed = 0;
  std::string first_error;
  const int64_t start = MonoNs();
  const int64_t measure_from = start + static_cast<int64_t>(warmup * 1e9);
  const int64_t end = measure_from + static_cast<int64_t>(duration * 1e9);
  std::atomic<bool> stopping{false};

  std::function<void(int64_t)> issue;
  issue = [&](int64_t due) {
    struct Call {
      grpc::ClientContext context;
      grpc::ByteBuffer response;
    };
    auto* call = new Call;
    call->context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    // The services let in only peers with an API key (bench/run's LIVECALL_GRPC_API_KEY).
    if (const char* key = getenv("LIVECALL_GRPC_API_KEY"); key != nullptr && *key != '\0') {
      call->context.AddMetadata("x-api-key", key);
    }
    {
      std::lock_guard<std::mutex> lock(mu);
      ++outstanding;
    }
    stub.UnaryCall(&call->context, method, grpc::StubOptions(), &request, &call->response,
                   [&, call, due](grpc::Status status) {
                     int64_t now = MonoNs();
                     delete call;
                     {
                       std::lock_guard<std::mutex> lock(mu);
                       --outstanding;
                       ++completed;
                       if (due >= measure_from && now <= end) {
                         if (status.ok()) {
                           rec.Add(now - due);
                         } else {
                           ++rec.errors;
                         }
                       }
                       if (!status.ok() && first_error.empty()) {
                         first_error = status.error_message();
                       }
                     }
                     cv.notify_all();
                     if (rate <= 0 && !stopping.load() && MonoNs() < end) issue(MonoNs());
                   });
  };
  const double cpu0 = CpuSeconds();
  if (rate <= 0) {
    for (int i = 0; i < concurrency; ++i) issue(MonoNs());
    SleepUntilMono(end);
  } else {
    for (uint64_t k = 0;; ++k) {
      int64_t due = start + static_cast<int64_t>(k * 1e9 / rate);
      if (due >= end) break;
      SleepUntilMono(due);
      issue(due);
    }
  }
  stopping = true;
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait_for(lock, std::chrono::seconds(10), [&] { return outstanding == 0; });
  }
  const double cpu = CpuSeconds() - cpu0;
  if (!first_error.empty()) fprintf(stderr, "first gRPC error: %s\n", first_error.c_str());
  std::lock_guard<std::mutex> lock(mu);
  printf("%s completed=%lld backlog=0 loadgen_cpu=%.2f\n", rec.Summary(duration).c_str(),
         static_cast<long long>(completed), cpu / (duration + warmup));
  fflush(stdout);
  _exit(0);  // gRPC's threads need not be torn down politely
}

// ---------------------------------------------------------------------------------------------

// Appends a line to --mark-file (if given): bench/run reads the services' CPU time and memory when
// a mark appears.
void Mark(const std::string& mark_file, const char* what) {
  if (mark_file.empty()) return;
  FILE* file = fopen(mark_file.c_str(), "a");
  if (file == nullptr) Die("cannot write the mark file");
  fprintf(file, "%s\n", what);
  fclose(file);
}

long RssKiB(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return atol(line.c_str() + 6);
  }
  return -1;
}

// Ids made for hash slot 0 (their first four hex digits), so their keys carry the tag of slot 0,
// "{3560}" (common/live_events.h: SessionKeyPrefix).
std::string SessionId(uint64_t nonce, uint64_t i) {
  return "ses_0000" + Hex(nonce & 0xffffffffffffULL, 12) + Hex(i, 16);
}
std::string SessionEventsKey(const std::string& session_id) {
  return "livecall:session:{3560}:" + session_id + ":events";
}

// Opens `paths.size()` SSE connections, at most `window` handshakes at a time; returns when all
// answered their head or after `timeout_s`.
std::vector<size_t> OpenSse(Loop& loop, int port, const std::vector<std::string>& paths, int window,
                            double timeout_s) {
  std::vector<size_t> conns;
  size_t opened = 0;
  size_t next = 0;
  auto prev = loop.on_sse_open;
  loop.on_sse_open = [&](Conn& conn) {
    ++opened;
    if (prev) prev(conn);
  };
  const int64_t deadline = MonoNs() + static_cast<int64_t>(timeout_s * 1e9);
  loop.Run(
      deadline,
      [&]() -> int64_t {
        while (next < paths.size() && next - opened < static_cast<size_t>(window)) {
          size_t c = loop.Open(Conn::kSse, next);
          loop.Send(c, SseGet(port, paths[next]), MonoNs());
          conns.push_back(c);
          ++next;
        }
        return 0;
      },
      [&] { return opened >= paths.size(); });
  loop.on_sse_open = prev;
  if (opened < paths.size()) {
    fprintf(stderr, "only %zu of %zu SSE connections opened\n", opened, paths.size());
  }
  return conns;
}

int RunEvents(const Args& args) {
  const int port = static_cast<int>(args.Num("port"));
  const int redis_port = static_cast<int>(args.Num("redis-port"));
  const int clients = static_cast<int>(args.Num("clients"));
  const int streams = static_cast<int>(args.Num("streams"));
  const double rate = args.Num("rate");
  const double duration = args.Num("duration");
  const double warmup = args.Num("warmup", 2);
  const int gateway_pid = static_cast<int>(args.Num("gateway-pid", 0));
  // "begin" when publishing starts, "end" once the last deliveries had their 2 s.
  const std::string mark_file = args.Str("mark-file", "");
  const uint64_t nonce = RunNonce();

  const long rss_before = gateway_pid > 0 ? RssKiB(gateway_pid) : -1;
  Loop loop(port);
  std::vector<std::string> paths;
  for (int i = 0; i < clients; ++i) {
    paths.push_back("/ai/sessions/" + SessionId(nonce, i % streams) + "/events");
  }
  const int64_t t0 = MonoNs();
  std::vector<size_t> conns = OpenSse(loop, port, paths, 512, 120);
  const double connect_s = (MonoNs() - t0) / 1e9;
  // Let the hub catch every subscriber up before the first event.
  loop.Run(MonoNs() + 2000000000LL, nullptr);
  const long rss_after = gateway_pid > 0 ? RssKiB(gateway_pid) : -1;

  Recorder rec;
  std::atomic<int64_t> published{0};
  int64_t received = 0;
  int64_t measured_published_from = 0;
  const int64_t start_real = RealNs();
  const int64_t measure_from = start_real + static_cast<int64_t>(warmup * 1e9);
  const int64_t end_real = measure_from + static_cast<int64_t>(duration * 1e9);
  std::atomic<int64_t> published_measured{0};
  (void)measured_published_from;
  Mark(mark_file, "begin");

  std::thread publisher([&] {
    redisContext* redis = redisConnect("127.0.0.1", redis_port);
    if (redis == nullptr || redis->err) Die("publisher cannot connect to Redis");
    const int64_t start_mono = MonoNs();
    for (uint64_t k = 0;; ++k) {
      int64_t due_mono = start_mono + static_cast<int64_t>(k * 1e9 / rate);
      int64_t due_real = start_real + (due_mono - start_mono);
      if (due_real >= end_real) break;
      SleepUntilMono(due_mono);
      std::string key = SessionEventsKey(SessionId(nonce, k % streams));
      std::string data = "{\"type\":\"bench\",\"benchTs\":" + std::to_string(due_real) + "}";
      // As the services write: the entry, then its notification (common/live_events.h), in one
      // round trip; Redis applies them in order.
      redisAppendCommand(redis, "XADD %s MAXLEN ~ 1000 * type bench data %s", key.c_str(),
                         data.c_str());
      redisAppendCommand(redis, "PUBLISH livecall:live-events %s", key.c_str());
      for (int r = 0; r < 2; ++r) {
        void* reply = nullptr;
        if (redisGetReply(redis, &reply) != REDIS_OK || reply == nullptr) Die("XADD failed");
        freeReplyObject(reply);
      }
      ++published;
      if (due_real >= measure_from) ++published_measured;
    }
    // Tidy: the benchmark's streams expire.
    for (int s = 0; s < streams; ++s) {
      std::string key = SessionEventsKey(SessionId(nonce, s));
      freeReplyObject(redisCommand(redis, "EXPIRE %s 60", key.c_str()));
    }
    redisFree(redis);
  });

  loop.on_sse = [&](Conn&, const std::string& event, std::string_view data) {
    size_t at = data.find("\"benchTs\":");
    if (at == std::string_view::npos) return;
    int64_t ts = strtoll(data.data() + at + 10, nullptr, 10);
    ++received;
    if (ts >= measure_from) rec.Add(RealNs() - ts);
  };
  const double cpu0 = CpuSeconds();
  // Deliveries still in flight get 2 s after the last publish.
  loop.Run(MonoNs() + static_cast<int64_t>((end_real - RealNs()) + 2e9), nullptr);
  publisher.join();
  Mark(mark_file, "end");
  const double cpu = CpuSeconds() - cpu0;
  const int per_stream = clients / streams;
  const long rss_end = gateway_pid > 0 ? RssKiB(gateway_pid) : -1;
  printf(
      "%s completed=%lld connected=%zu connect_s=%.1f published=%lld expected=%lld delivered=%zu "
      "gw_rss_before_kib=%ld gw_rss_after_kib=%ld gw_rss_end_kib=%ld per_conn_kib=%.2f "
      "reconnects=%lld loadgen_cpu=%.2f\n",
      rec.Summary(duration).c_str(), static_cast<long long>(published.load()), conns.size(),
      connect_s, static_cast<long long>(published_measured.load()),
      static_cast<long long>(published_measured.load() * per_stream), rec.samples.size(),
      rss_before, rss_after, rss_end,
      rss_before > 0 ? double(rss_after - rss_before) / clients : -1.0,
      static_cast<long long>(loop.closed), cpu / (duration + warmup));
  return 0;
}

// ---------------------------------------------------------------------------------------------

// Starts `count` sessions through POST /ai/call/start; returns their ids.
std::vector<std::string> StartSessions(Loop& loop, int port, int count, int connections) {
  std::vector<std::string> ids;
  SlotOf slot;
  std::vector<size_t> conns;
  for (int i = 0; i < connections; ++i) {
    size_t c = loop.Open(Conn::kRequest, 0);
    slot.slots[&loop.At(c)] = c;
    conns.push_back(c);
  }
  const std::string request =
      JsonPost(port, "/ai/call/start", R"({"phoneNumber":"+998901112233"})");
  int sent = 0;
  std::vector<size_t> idle = conns;
  loop.on_response = [&](Conn& conn, const HttpResult& result) {
    const std::string marker = "\"sessionId\":\"";
    size_t at = result.body.find(marker);
    if (result.status == 200 && at != std::string::npos) {
      size_t from = at + marker.size();
      ids.push_back(result.body.substr(from, result.body.find('"', from) - from));
    } else {
      fprintf(stderr, "start answered %d: %s\n", result.status, result.body.substr(0, 200).c_str());
    }
    idle.push_back(slot(conn));
  };
  loop.Run(
      MonoNs() + 300000000000LL,
      [&]() -> int64_t {
        while (!idle.empty() && sent < count) {
          size_t c = idle.back();
          idle.pop_back();
          loop.Send(c, request, MonoNs());
          ++sent;
        }
        return 0;
      },
      [&] {
        return static_cast<int>(ids.size()) >= count ||
               (sent >= count && idle.size() == conns.size());
      });
  loop.on_response = nullptr;
  return ids;
}

const char* const kTurnTexts[] = {
    "Assalomu alaykum, internet tarifim qancha turadi?",
    "Hisobimni qanday to'ldiraman?",
    "Menga yangi tarif kerak, arzonrog'i bormi?",
    "Internet juda sekin ishlayapti",
};

// One utterance from each of four different knowledge-base topics (data/kb.json: outage, double
// charge, Wi-Fi password, TV channels), so each of a session's consecutive turns changes its
// suggestions and publishes a "suggestions" event (`--texts topics`, the sessions5k scenario).
const char* const kTopicTexts[] = {
    "Internetim ishlamayapti, aloqa yo'q",
    "Hisobimdan ikki marta pul yechildi",
    "Wifi parolini unutdim",
    "Kanallar ko'rinmayapti, televizor ishlamayapti",
};

int RunTurn(const Args& args) {
  const int port = static_cast<int>(args.Num("port"));
  const int sessions = static_cast<int>(args.Num("sessions"));
  const double rate = args.Num("rate");
  const double duration = args.Num("duration");
  const double warmup = args.Num("warmup", 2);
  const int connections = static_cast<int>(args.Num("connections", 32));
  const int start_connections = static_cast<int>(args.Num("start-connections", 16));
  const std::string texts = args.Str("texts", "rotate");
  if (texts != "rotate" && texts != "topics") Die("--texts is rotate or topics");
  // Written "ready" once the sessions are started and their SSE streams open, "begin" when the
  // turns start and "end" when they stop, so the caller can read the services' CPU time over
  // exactly the turns (without the session starts before them) and memory at each stage.
  const std::string mark_file = args.Str("mark-file", "");
  auto mark = [&](const char* what) { Mark(mark_file, what); };

  Loop loop(port);
  const int64_t t_start = MonoNs();
  std::vector<std::string> ids = StartSessions(loop, port, sessions, start_connections);
  if (static_cast<int>(ids.size()) < sessions) Die("could not start the sessions");
  const double start_s = (MonoNs() - t_start) / 1e9;
  std::vector<std::string> paths;
  for (const std::string& id : ids) paths.push_back("/ai/sessions/" + id + "/events");
  std::vector<size_t> sse = OpenSse(loop, port, paths, 256, std::max(60.0, sessions / 50.0));
  if (sse.size() < ids.size()) Die("could not open an SSE stream on every session");
  loop.Run(MonoNs() + 2000000000LL, nullptr);  // replays of session.started etc. drain
  mark("ready");

  // A turn's events are matched to it through its "transcript" event, which every accepted turn
  // publishes, in order, just before its "suggestions" event (one script writes both): per
  // session, the due times of the turns sent and not yet transcribed (FIFO), and the due time of
  // the turn transcribed last whose suggestions have not arrived (0: none). A turn whose
  // suggestions did not change publishes no "suggestions" event; it is counted, not timed.
  std::vector<std::deque<int64_t>> queued(ids.size());
  std::vector<int64_t> transcribed(ids.size(), 0);
  Recorder event_rec;  // POST due -> "suggestions" SSE event
  Recorder post_rec;   // POST due -> HTTP answer
  int64_t unmatched = 0;
  int64_t skipped_busy = 0;
  int64_t unchanged = 0;  // transcribed turns of the measured window without a "suggestions" event
  int64_t answered = 0;   // POST answers between the "begin" and "end" marks (warm-up included)
  int64_t events = 0;     // "suggestions" events matched to a turn over the same span
  const int64_t start = MonoNs();
  const int64_t measure_from = start + static_cast<int64_t>(warmup * 1e9);
  const int64_t end = measure_from + static_cast<int64_t>(duration * 1e9);

  SlotOf slot;
  std::vector<size_t> conns;
  for (int i = 0; i < connections; ++i) {
    size_t c = loop.Open(Conn::kRequest, 0);
    slot.slots[&loop.At(c)] = c;
    conns.push_back(c);
  }
  std::vector<std::string> bodies;
  for (const char* text : kTurnTexts) {
    if (texts == "rotate") {
      bodies.push_back(std::string(R"({"speaker":"customer","text":")") + text + "\"}");
    }
  }
  for (const char* text : kTopicTexts) {
    if (texts == "topics") {
      bodies.push_back(std::string(R"({"speaker":"customer","text":")") + text + "\"}");
    }
  }
  RequestDriver driver(loop, conns, rate, [&](uint64_t seq, size_t conn) {
    size_t s = seq % ids.size();
    loop.At(conn).tag = s;
    if (!queued[s].empty()) ++skipped_busy;  // the earlier turn is late; keep going
    // A session's consecutive turns say different things: the engine publishes a "suggestions"
    // event only when they change, so repeating one text would leave turns without an event.
    const size_t said = (seq / ids.size() + s) % bodies.size();
    return JsonPost(port, "/ai/sessions/" + ids[s] + "/turns", bodies[said]);
  });
  loop.on_response = [&](Conn& conn, const HttpResult& result) {
    int64_t now = MonoNs();
    if (now <= end) ++answered;
    if (result.status != 200) {  // no events will come for it
      std::deque<int64_t>& fifo = queued[conn.tag];
      auto it = std::find(fifo.begin(), fifo.end(), conn.due);
      if (it != fifo.end()) fifo.erase(it);
    }
    if (conn.due >= measure_from && now <= end) {
      if (result.status == 200) {
        post_rec.Add(now - conn.due);
      } else {
        ++post_rec.errors;
        if (post_rec.errors < 3) {
          fprintf(stderr, "turn answered %d: %s\n", result.status,
                  result.body.substr(0, 200).c_str());
        }
      }
    }
    driver.Done(slot(conn));
  };
  // The POST's due time is stamped when the request is handed to a connection.
  auto base_tick = [&]() -> int64_t { return driver.Tick(); };
  loop.on_sse = [&](Conn& conn, const std::string& event, std::string_view) {
    const size_t s = conn.tag;
    if (event == "transcript") {
      if (transcribed[s] >= measure_from) ++unchanged;
      transcribed[s] = 0;
      if (queued[s].empty()) {
        ++unmatched;
        return;
      }
      transcribed[s] = queued[s].front();
      queued[s].pop_front();
      return;
    }
    if (event != "suggestions") return;
    int64_t due = transcribed[s];
    if (due == 0) {
      ++unmatched;
      return;
    }
    transcribed[s] = 0;
    int64_t now = MonoNs();
    if (now <= end) ++events;
    if (due >= measure_from && now <= end + 2000000000LL) event_rec.Add(now - due);
  };
  // Wrap Send so every POST records its session's due time.
  mark("begin");
  driver.Begin(start);
  loop.Run(end, [&]() -> int64_t {
    uint64_t before = driver.sent();
    int64_t next = base_tick();
    for (uint64_t k = before; k < driver.sent(); ++k) {
      size_t s = k % ids.size();
      queued[s].push_back(rate > 0 ? start + static_cast<int64_t>(k * 1e9 / rate) : MonoNs());
    }
    return next;
  });
  mark("end");
  driver.Stop();
  loop.Run(MonoNs() + 2000000000LL, nullptr);
  (void)sse;
  // Turns of the measured window with no event 2 s after the end: their latency is not in the
  // percentiles (it is at least end + 2 s - due), so they are counted here.
  int64_t unanswered = 0;
  for (size_t s = 0; s < ids.size(); ++s) {
    for (int64_t due : queued[s]) {
      if (due >= measure_from) ++unanswered;
    }
    if (transcribed[s] >= measure_from) ++unchanged;
  }
  printf(
      "completed=%lld turns_sent=%llu events_in_span=%lld unanswered=%lld unchanged=%lld "
      "sse_open=%zu ",
      static_cast<long long>(answered), static_cast<unsigned long long>(driver.sent()),
      static_cast<long long>(events), static_cast<long long>(unanswered),
      static_cast<long long>(unchanged), sse.size());
  printf(
      "%s post_p50_ms=%.3f post_p99_ms=%.3f post_errors=%lld sessions=%zu sessions_start_s=%.1f "
      "unmatched=%lld overlapped=%lld backlog=%lld\n",
      event_rec.Summary(duration).c_str(),
      [&] {
        Recorder r = post_rec;
        std::sort(r.samples.begin(), r.samples.end());
        return r.samples.empty() ? 0.0 : r.samples[r.samples.size() / 2] / 1e6;
      }(),
      [&] {
        Recorder r = post_rec;
        std::sort(r.samples.begin(), r.samples.end());
        return r.samples.empty()
                   ? 0.0
                   : r.samples[static_cast<size_t>(0.99 * (r.samples.size() - 1))] / 1e6;
      }(),
      static_cast<long long>(post_rec.errors), ids.size(), start_s,
      static_cast<long long>(unmatched), static_cast<long long>(skipped_busy),
      static_cast<long long>(driver.Backlog(end)));
  return 0;
}

// ---------------------------------------------------------------------------------------------

int RunPopulate(const Args& args) {
  const int port = static_cast<int>(args.Num("port"));
  const int sessions = static_cast<int>(args.Num("sessions"));
  const int turns = static_cast<int>(args.Num("turns"));
  Loop loop(port);
  std::vector<std::string> ids = StartSessions(loop, port, sessions, 8);
  SlotOf slot;
  std::vector<size_t> conns;
  for (int i = 0; i < 8; ++i) {
    size_t c = loop.Open(Conn::kRequest, 0);
    slot.slots[&loop.At(c)] = c;
    conns.push_back(c);
  }
  const uint64_t total = static_cast<uint64_t>(ids.size()) * turns;
  uint64_t done = 0;
  int64_t errors = 0;
  RequestDriver driver(loop, conns, 0, [&](uint64_t seq, size_t) {
    const size_t s = seq % ids.size();
    const char* speaker = (seq / ids.size()) % 2 == 0 ? "customer" : "agent";
    return JsonPost(
        port, "/ai/sessions/" + ids[s] + "/turns",
        std::string(R"({"speaker":")") + speaker + R"(","text":")" + kTurnTexts[seq % 4] + "\"}");
  });
  loop.on_response = [&](Conn& conn, const HttpResult& result) {
    ++done;
    if (result.status != 200 && ++errors < 3) {
      fprintf(stderr, "turn answered %d: %s\n", result.status, result.body.substr(0, 200).c_str());
    }
    if (driver.sent() >= total) driver.Stop();
    driver.Done(slot(conn));
  };
  driver.Begin(MonoNs());
  loop.Run(
      MonoNs() + 300000000000LL, [&] { return driver.Tick(); }, [&] { return done >= total; });
  for (const std::string& id : ids) printf("%s\n", id.c_str());
  fprintf(stderr, "populate: %zu sessions, %llu turns, %lld errors\n", ids.size(),
          static_cast<unsigned long long>(done), static_cast<long long>(errors));
  return errors == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) Die("usage: livecall-bench-load http|grpc|events|turn|populate --flag value ...");
  prctl(PR_SET_TIMERSLACK, 1UL);
  signal(SIGPIPE, SIG_IGN);
  const std::string mode = argv[1];
  Args args(argc, argv);
  if (mode == "http") return RunHttp(args);
  if (mode == "grpc") return RunGrpc(args);
  if (mode == "events") return RunEvents(args);
  if (mode == "turn") return RunTurn(args);
  if (mode == "populate") return RunPopulate(args);
  Die("unknown mode " + mode);
}
