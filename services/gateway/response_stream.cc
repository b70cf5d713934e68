#include "services/gateway/response_stream.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/write.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>

#include "common/log.h"

namespace livecall::gateway {

namespace net = boost::asio;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;

namespace {

// The stream whose mutex the current thread holds (ResponseStream::Lock), if any.
thread_local const void* t_locked_stream = nullptr;

constexpr char kCrlf[] = "\r\n";

}  // namespace

// Holds a stream's state for the current thread; re-entrant, because a stream's own handlers
// reach it again (the body's Start -> its first Write). The outermost one runs the `finished`
// callback that Finish left due, after unlocking: the connection's lock is taken before the
// stream's (End, Abort), never while it is held.
class ABSL_SCOPED_LOCKABLE ResponseStream::Lock {
 public:
  explicit Lock(ResponseStream* stream)
      ABSL_EXCLUSIVE_LOCK_FUNCTION(stream->mu_) ABSL_NO_THREAD_SAFETY_ANALYSIS
      : stream_(t_locked_stream == stream ? nullptr : stream) {
    if (stream_ == nullptr) return;
    stream_->mu_.Lock();
    previous_ = t_locked_stream;
    t_locked_stream = stream_;
  }
  // Takes a mutex this thread already locked with TryLock().
  Lock(ResponseStream* stream, std::adopt_lock_t)
      ABSL_EXCLUSIVE_LOCK_FUNCTION(stream->mu_) ABSL_NO_THREAD_SAFETY_ANALYSIS : stream_(stream) {
    previous_ = t_locked_stream;
    t_locked_stream = stream_;
  }
  ~Lock() ABSL_UNLOCK_FUNCTION() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    if (stream_ == nullptr) return;
    std::function<void(Outcome)> finished = std::move(stream_->finished_due_);
    stream_->finished_due_ = nullptr;
    const Outcome outcome = stream_->finished_outcome_;
    t_locked_stream = previous_;
    stream_->mu_.Unlock();
    // The stream may be gone after this (the connection drops it).
    if (finished) finished(outcome);
  }
  Lock(const Lock&) = delete;
  Lock& operator=(const Lock&) = delete;

 private:
  ResponseStream* const stream_;
  const void* previous_ = nullptr;
};

// What the body writes to. A sink that outlives its stream writes nothing.
class ResponseStream::Sink final : public StreamSink {
 public:
  explicit Sink(std::weak_ptr<ResponseStream> stream) : stream_(std::move(stream)) {}

  void Write(std::string data) override {
    if (data.empty()) return;
    if (std::shared_ptr<ResponseStream> stream = stream_.lock()) stream->Accept(std::move(data));
  }

  void End() override {
    if (std::shared_ptr<ResponseStream> stream = stream_.lock()) stream->EndFromSink();
  }

 private:
  const std::weak_ptr<ResponseStream> stream_;
};

ResponseStream::ResponseStream(tcp::socket& socket, std::shared_ptr<void> owner,
                               http::response<http::string_body> head,
                               std::shared_ptr<StreamBody> body, Limits limits,
                               std::atomic<size_t>* total_pending, std::string request_id,
                               std::function<void(Outcome)> finished)
    : socket_(socket),
      owner_(std::move(owner)),
      head_(std::move(head)),
      body_(std::move(body)),
      limits_(limits),
      total_pending_(total_pending),
      request_id_(std::move(request_id)),
      end_timer_(socket.get_executor()),
      finished_(std::move(finished)) {}

// No lock: nothing else holds the stream any more, and a destructor that locked would order the
// stream's mutex after whatever its last holder holds.
ResponseStream::~ResponseStream() ABSL_NO_THREAD_SAFETY_ANALYSIS { Release(pending_bytes_); }

size_t ResponseStream::pending_bytes() const {
  absl::MutexLock lock(&mu_);
  return pending_bytes_;
}

void ResponseStream::Start(absl::Time ends_at) {
  const Lock lock(this);
  writing_ = true;
  head_serializer_.emplace(head_);
  http::async_write_header(socket_, *head_serializer_,
                           [self = shared_from_this()](boost::system::error_code ec, size_t) {
                             const Lock lock(self.get());
                             self->OnHeadWritten(ec);
                           });
  if (ends_at != absl::InfiniteFuture()) {
    // The token that opened the stream expires: end it; the client reconnects with a new one.
    end_timer_.expires_after(
        absl::ToChronoNanoseconds(std::max(absl::ZeroDuration(), ends_at - absl::Now())));
    end_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec != net::error::operation_aborted) self->End();
    });
  }
}

void ResponseStream::OnHeadWritten(boost::system::error_code ec) {
  writing_ = false;
  head_serializer_.reset();
  if (state_ == State::kDone) return;
  if (ec) return Finish(Outcome::kFailed);
  WatchForClientClose();
  if (state_ == State::kWritingHead) {
    state_ = State::kStreaming;
    body_state_ = BodyState::kRunning;
    body_->Start(std::make_shared<Sink>(weak_from_this()));
  }
  WriteNext(/*on_strand=*/true);
}

void ResponseStream::End() {
  const Lock lock(this);
  StopBody();
  if (state_ != State::kWritingHead && state_ != State::kStreaming) return;
  state_ = State::kEnding;
  WriteNext(/*on_strand=*/true);
}

void ResponseStream::Abort() {
  const Lock lock(this);
  StopBody();
  state_ = State::kDone;
  finished_ = nullptr;
  finished_due_ = nullptr;
  end_timer_.cancel();
  Release(pending_bytes_);
}

// Whether this thread holds the stream is known only at run time (t_locked_stream).
void ResponseStream::Accept(std::string data) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  if (sink_ended_.load(std::memory_order_acquire)) return;
  if (t_locked_stream == this) return Queue(std::move(data), /*on_strand=*/true);
  if (mu_.TryLock()) {
    const Lock lock(this, std::adopt_lock);
    // Pieces that could not be handed over earlier go first (their DrainInbox finds none).
    std::string earlier;
    {
      absl::MutexLock inbox(&inbox_mu_);
      earlier.swap(inbox_);
    }
    if (!earlier.empty()) {
      earlier.append(data);
      data = std::move(earlier);
    }
    return Queue(std::move(data), /*on_strand=*/false);
  }
  bool post = false;
  {
    absl::MutexLock inbox(&inbox_mu_);
    inbox_.append(data);
    post = !drain_posted_;
    drain_posted_ = true;
  }
  if (post) {
    net::post(socket_.get_executor(), [self = shared_from_this()] {
      const Lock lock(self.get());
      self->DrainInbox();
    });
  }
}

void ResponseStream::DrainInbox() {
  std::string pieces;
  {
    absl::MutexLock inbox(&inbox_mu_);
    pieces = std::move(inbox_);
    inbox_.clear();
    drain_posted_ = false;
  }
  if (!pieces.empty()) Queue(std::move(pieces), /*on_strand=*/true);
}

void ResponseStream::EndFromSink() {
  sink_ended_.store(true, std::memory_order_release);
  // After any DrainInbox already posted, so the pieces written before End() still go out.
  net::post(socket_.get_executor(), [self = shared_from_this()] { self->End(); });
}

void ResponseStream::Queue(std::string data, bool on_strand) {
  if (state_ != State::kStreaming || failing_) return;
  pending_bytes_ += data.size();
  const size_t total = total_pending_->fetch_add(data.size()) + data.size();
  if (pending_bytes_ > limits_.max_pending_bytes || total > limits_.max_total_pending_bytes) {
    LogWarning("stream client too slow; closing", {{"request_id", request_id_}});
    if (!on_strand) return FailLater();
    return Finish(Outcome::kFailed);
  }
  if (queued_.empty()) {
    queued_ = std::move(data);
  } else {
    queued_.append(data);
  }
  WriteNext(on_strand);
}

void ResponseStream::WriteNext(bool on_strand) {
  if (writing_ || state_ == State::kDone || state_ == State::kWritingLastChunk || failing_) return;
  if (!queued_.empty()) {
    // The chunk as Beast's make_chunk frames it: size in hex, CRLF, data, CRLF.
    in_flight_.clear();
    in_flight_.swap(queued_);
    const int length = std::snprintf(in_flight_size_line_.data(), in_flight_size_line_.size(),
                                     "%zx\r\n", in_flight_.size());
    in_flight_size_line_length_ = static_cast<size_t>(length);
    in_flight_written_ = 0;
    iovec parts[3] = {
        {in_flight_size_line_.data(), in_flight_size_line_length_},
        {in_flight_.data(), in_flight_.size()},
        {const_cast<char*>(kCrlf), 2},
    };
    msghdr message{};
    message.msg_iov = parts;
    message.msg_iovlen = 3;
    // Non-blocking whatever the socket's mode, so a sink's thread never waits for a client.
    const ssize_t sent = ::sendmsg(socket_.native_handle(), &message, MSG_DONTWAIT | MSG_NOSIGNAL);
    const size_t total = in_flight_size_line_length_ + in_flight_.size() + 2;
    if (sent == static_cast<ssize_t>(total)) {
      Release(in_flight_.size());
      in_flight_.clear();
      return WriteNext(on_strand);  // kEnding: the last chunk.
    }
    if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      if (!on_strand) return FailLater();
      return Finish(Outcome::kFailed);
    }
    // The socket's buffer is full (a slow reader): the rest goes out when it drains.
    writing_ = true;
    in_flight_written_ = sent > 0 ? static_cast<size_t>(sent) : 0;
    if (on_strand) return ContinueWrite();
    net::post(socket_.get_executor(), [self = shared_from_this()] {
      const Lock lock(self.get());
      self->ContinueWrite();
    });
    return;
  }
  if (state_ == State::kEnding) {
    writing_ = true;
    state_ = State::kWritingLastChunk;
    net::async_write(socket_, http::make_chunk_last(),
                     [self = shared_from_this()](boost::system::error_code ec, size_t) {
                       const Lock lock(self.get());
                       self->OnWritten(ec);
                     });
  }
}

void ResponseStream::ContinueWrite() {
  if (state_ == State::kDone) return;
  std::array<net::const_buffer, 3> rest = {
      net::const_buffer(in_flight_size_line_.data(), in_flight_size_line_length_),
      net::const_buffer(in_flight_.data(), in_flight_.size()),
      net::const_buffer(kCrlf, 2),
  };
  size_t skip = in_flight_written_;
  for (net::const_buffer& part : rest) {
    const size_t n = std::min(skip, part.size());
    part += n;
    skip -= n;
  }
  net::async_write(socket_, rest,
                   [self = shared_from_this()](boost::system::error_code ec, size_t) {
                     const Lock lock(self.get());
                     self->OnWritten(ec);
                   });
}

void ResponseStream::OnWritten(boost::system::error_code ec) {
  writing_ = false;
  if (state_ == State::kDone) return;
  if (ec) return Finish(Outcome::kFailed);
  if (state_ == State::kWritingLastChunk) return Finish(Outcome::kEnded);
  Release(in_flight_.size());
  in_flight_.clear();
  if (failing_) return;  // Finished on the strand by the task FailLater posted.
  WriteNext(/*on_strand=*/true);
}

void ResponseStream::WatchForClientClose() {
  socket_.async_wait(
      tcp::socket::wait_read, [self = shared_from_this()](boost::system::error_code ec) {
        const Lock lock(self.get());
        if (self->state_ == State::kDone) return;
        if (ec) return self->Finish(Outcome::kFailed);
        boost::system::error_code read_error;
        const size_t n = self->socket_.read_some(net::buffer(self->discard_), read_error);
        if (read_error == net::error::would_block) return self->WatchForClientClose();
        if (read_error || n == 0) return self->Finish(Outcome::kFailed);
        self->WatchForClientClose();  // Ignore what it sends.
      });
}

void ResponseStream::StopBody() {
  if (body_state_ == BodyState::kRunning) body_->Stop();
  body_state_ = BodyState::kStopped;
}

void ResponseStream::FailLater() {
  // Stopping the body and telling the connection happen on the strand: the body's Stop waits
  // for its deliveries, one of which may be this very call.
  failing_ = true;
  net::post(socket_.get_executor(), [self = shared_from_this()] {
    const Lock lock(self.get());
    self->Finish(Outcome::kFailed);
  });
}

void ResponseStream::Finish(Outcome outcome) {
  if (state_ == State::kDone) return;
  StopBody();
  state_ = State::kDone;
  end_timer_.cancel();
  Release(pending_bytes_);
  // Called by the outermost Lock once the stream's mutex is released.
  finished_due_ = std::move(finished_);
  finished_ = nullptr;
  finished_outcome_ = outcome;
}

void ResponseStream::Release(size_t bytes) {
  bytes = std::min(bytes, pending_bytes_);
  pending_bytes_ -= bytes;
  total_pending_->fetch_sub(bytes);
}

}  // namespace livecall::gateway
