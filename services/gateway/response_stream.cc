#include "services/gateway/response_stream.h"

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/write.hpp>
#include <chrono>

#include "common/log.h"

namespace livecall::gateway {

namespace net = boost::asio;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;

// What the body writes to: each call is posted to the stream's executor. A sink that outlives
// its stream writes nothing.
class ResponseStream::Sink final : public StreamSink {
 public:
  explicit Sink(std::weak_ptr<ResponseStream> stream, tcp::socket::executor_type executor)
      : stream_(std::move(stream)), executor_(std::move(executor)) {}

  void Write(std::string data) override {
    if (data.empty()) return;
    if (std::shared_ptr<ResponseStream> stream = stream_.lock()) {
      net::post(executor_, [stream = std::move(stream), data = std::move(data)]() mutable {
        stream->Queue(std::move(data));
      });
    }
  }

  void End() override {
    if (std::shared_ptr<ResponseStream> stream = stream_.lock()) {
      net::post(executor_, [stream = std::move(stream)] { stream->End(); });
    }
  }

 private:
  const std::weak_ptr<ResponseStream> stream_;
  const tcp::socket::executor_type executor_;
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
      finished_(std::move(finished)),
      end_timer_(socket.get_executor()) {}

ResponseStream::~ResponseStream() { Release(pending_bytes_); }

void ResponseStream::Start(absl::Time ends_at) {
  writing_ = true;
  head_serializer_.emplace(head_);
  http::async_write_header(socket_, *head_serializer_,
                           [self = shared_from_this()](boost::system::error_code ec, size_t) {
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
    body_->Start(std::make_shared<Sink>(weak_from_this(), socket_.get_executor()));
  }
  WriteNext();
}

void ResponseStream::End() {
  StopBody();
  if (state_ != State::kWritingHead && state_ != State::kStreaming) return;
  state_ = State::kEnding;
  WriteNext();
}

void ResponseStream::Abort() {
  StopBody();
  state_ = State::kDone;
  finished_ = nullptr;
  end_timer_.cancel();
  Release(pending_bytes_);
}

void ResponseStream::Queue(std::string data) {
  if (state_ != State::kStreaming) return;
  pending_bytes_ += data.size();
  const size_t total = total_pending_->fetch_add(data.size()) + data.size();
  if (pending_bytes_ > limits_.max_pending_bytes || total > limits_.max_total_pending_bytes) {
    LogWarning("stream client too slow; closing", {{"request_id", request_id_}});
    return Finish(Outcome::kFailed);
  }
  queued_.append(data);
  WriteNext();
}

void ResponseStream::WriteNext() {
  if (writing_ || state_ == State::kDone || state_ == State::kWritingLastChunk) return;
  auto on_written = [self = shared_from_this()](boost::system::error_code ec, size_t) {
    self->OnWritten(ec);
  };
  if (!queued_.empty()) {
    writing_ = true;
    in_flight_.clear();
    in_flight_.swap(queued_);
    net::async_write(socket_,
                     http::make_chunk(net::const_buffer(in_flight_.data(), in_flight_.size())),
                     std::move(on_written));
    return;
  }
  if (state_ == State::kEnding) {
    writing_ = true;
    state_ = State::kWritingLastChunk;
    net::async_write(socket_, http::make_chunk_last(), std::move(on_written));
  }
}

void ResponseStream::OnWritten(boost::system::error_code ec) {
  writing_ = false;
  if (state_ == State::kDone) return;
  if (ec) return Finish(Outcome::kFailed);
  Release(in_flight_.size());
  if (state_ == State::kWritingLastChunk) return Finish(Outcome::kEnded);
  WriteNext();
}

void ResponseStream::WatchForClientClose() {
  socket_.async_wait(
      tcp::socket::wait_read, [self = shared_from_this()](boost::system::error_code ec) {
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

void ResponseStream::Finish(Outcome outcome) {
  if (state_ == State::kDone) return;
  StopBody();
  state_ = State::kDone;
  end_timer_.cancel();
  Release(pending_bytes_);
  if (auto finished = std::move(finished_)) {
    finished_ = nullptr;
    finished(outcome);
  }
}

void ResponseStream::Release(size_t bytes) {
  bytes = std::min(bytes, pending_bytes_);
  pending_bytes_ -= bytes;
  total_pending_->fetch_sub(bytes);
}

}  // namespace livecall::gateway
