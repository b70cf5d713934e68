#include "services/gateway/response_stream.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"

namespace livecall::gateway {
namespace {

namespace net = boost::asio;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;

// A body the test drives: it keeps the sink it is started with and counts Stop().
class ScriptedBody final : public StreamBody {
 public:
  void Start(std::shared_ptr<StreamSink> sink) override {
    absl::MutexLock lock(&mu_);
    sink_ = std::move(sink);
    started_.Notify();
  }
  void Stop() override {
    absl::MutexLock lock(&mu_);
    ++stops_;
    if (!stopped_.HasBeenNotified()) stopped_.Notify();
  }

  std::shared_ptr<StreamSink> WaitForSink() {
    EXPECT_TRUE(started_.WaitForNotificationWithTimeout(absl::Seconds(10)));
    absl::MutexLock lock(&mu_);
    return sink_;
  }
  bool WaitForStop() { return stopped_.WaitForNotificationWithTimeout(absl::Seconds(10)); }
  bool started() const { return started_.HasBeenNotified(); }
  int stops() {
    absl::MutexLock lock(&mu_);
    return stops_;
  }

 private:
  absl::Mutex mu_;
  std::shared_ptr<StreamSink> sink_ ABSL_GUARDED_BY(mu_);
  int stops_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Notification started_;
  absl::Notification stopped_;
};

// A body whose Start holds the stream (it runs on the stream's strand, under its lock) until the
// test lets it go, so the sink's writes from another thread meanwhile cannot take the stream.
class HeldStartBody final : public StreamBody {
 public:
  void Start(std::shared_ptr<StreamSink> sink) override {
    {
      absl::MutexLock lock(&mu_);
      sink_ = std::move(sink);
    }
    started_.Notify();
    EXPECT_TRUE(release_.WaitForNotificationWithTimeout(absl::Seconds(10)));
  }
  void Stop() override {}

  std::shared_ptr<StreamSink> WaitForSink() {
    EXPECT_TRUE(started_.WaitForNotificationWithTimeout(absl::Seconds(10)));
    absl::MutexLock lock(&mu_);
    return sink_;
  }
  void Release() { release_.Notify(); }

 private:
  absl::Mutex mu_;
  std::shared_ptr<StreamSink> sink_ ABSL_GUARDED_BY(mu_);
  absl::Notification started_;
  absl::Notification release_;
};

// A connected pair of loopback sockets: `server` is the stream's, `client` the test's. The
// io_context runs on its own thread (one thread: the stream's implicit strand).
class ResponseStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tcp::acceptor acceptor(io_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    client_.connect(acceptor.local_endpoint());
    acceptor.accept(server_);
    runner_ = std::thread([this] { io_.run(); });
  }

  void TearDown() override {
    net::post(io_, [this] {
      if (stream_) stream_->Abort();
      stream_.reset();
      boost::system::error_code ignored;
      server_.close(ignored);
    });
    work_.reset();
    runner_.join();
  }

  // Starts a stream of `body` on the server socket (on the io thread).
  void StartStream(std::shared_ptr<StreamBody> body, ResponseStream::Limits limits = {},
                   absl::Time ends_at = absl::InfiniteFuture()) {
    http::response<http::string_body> head(http::status::ok, 11);
    head.set(http::field::content_type, "text/event-stream");
    head.chunked(true);
    absl::Notification started;
    net::post(io_, [&] {
      stream_ = std::make_shared<ResponseStream>(
          server_, nullptr, std::move(head), std::move(body), limits, &total_pending_, "req-1",
          [this](ResponseStream::Outcome outcome) {
            outcome_ = outcome;
            // As the connection does: a clean end closes gracefully, a failure at once.
            boost::system::error_code ignored;
            server_.shutdown(outcome == ResponseStream::Outcome::kEnded
                                 ? tcp::socket::shutdown_send
                                 : tcp::socket::shutdown_both,
                             ignored);
            finished_.Notify();
          });
      stream_->Start(ends_at);
      started.Notify();
    });
    started.WaitForNotification();
  }

  // The whole chunked response as the client's HTTP parser decodes it.
  http::response<http::string_body> ReadResponse() {
    http::response<http::string_body> response;
    boost::beast::flat_buffer buffer;
    http::read(client_, buffer, response);
    return response;
  }

  net::io_context io_;
  net::executor_work_guard<net::io_context::executor_type> work_ = net::make_work_guard(io_);
  tcp::socket server_{io_};
  tcp::socket client_{io_};
  std::thread runner_;
  std::atomic<size_t> total_pending_{0};
  std::shared_ptr<ResponseStream> stream_;
  // Written on the io thread before finished_ is notified.
  ResponseStream::Outcome outcome_ = ResponseStream::Outcome::kFailed;
  absl::Notification finished_;
};

TEST_F(ResponseStreamTest, WritesTheHeadThenThePiecesAsChunksThenTheLastChunk) {
  auto body = std::make_shared<ScriptedBody>();
  StartStream(body);
  std::shared_ptr<StreamSink> sink = body->WaitForSink();
  sink->Write("data: one\n\n");
  sink->Write("");  // Nothing to send: no empty chunk (that would end the body).
  sink->Write("data: two\n\n");
  sink->End();

  http::response<http::string_body> response = ReadResponse();
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_TRUE(response.chunked());
  EXPECT_EQ(response[http::field::content_type], "text/event-stream");
  EXPECT_EQ(response.body(), "data: one\n\ndata: two\n\n");
  ASSERT_TRUE(finished_.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(outcome_, ResponseStream::Outcome::kEnded);
  EXPECT_EQ(body->stops(), 1);
  EXPECT_EQ(total_pending_.load(), 0u);
}

TEST_F(ResponseStreamTest, AClientThatGoesAwayStopsTheBody) {
  auto body = std::make_shared<ScriptedBody>();
  StartStream(body);
  body->WaitForSink()->Write("data: one\n\n");
  client_.close();

  ASSERT_TRUE(body->WaitForStop());
  ASSERT_TRUE(finished_.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(outcome_, ResponseStream::Outcome::kFailed);
}

TEST_F(ResponseStreamTest, AReaderTooSlowForThePendingCapIsDisconnected) {
  // Small socket buffers, so writes stall as soon as the client stops reading.
  server_.set_option(net::socket_base::send_buffer_size(4096));
  client_.set_option(net::socket_base::receive_buffer_size(4096));
  auto body = std::make_shared<ScriptedBody>();
  StartStream(body, ResponseStream::Limits{.max_pending_bytes = 64 * 1024,
                                           .max_total_pending_bytes = 1 << 30});
  std::shared_ptr<StreamSink> sink = body->WaitForSink();
  const std::string piece(16 * 1024, 'x');
  for (int i = 0; i < 256 && !finished_.HasBeenNotified(); ++i) sink->Write(piece);

  ASSERT_TRUE(finished_.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(outcome_, ResponseStream::Outcome::kFailed);
  EXPECT_TRUE(body->WaitForStop());
  // What was never written is no longer counted against the server's total.
  absl::Notification checked;
  size_t stream_pending = 1;
  net::post(io_, [&] {
    stream_pending = stream_->pending_bytes();
    checked.Notify();
  });
  checked.WaitForNotification();
  EXPECT_EQ(stream_pending, 0u);
  EXPECT_EQ(total_pending_.load(), 0u);
}

TEST_F(ResponseStreamTest, EndsCleanlyAtItsEndTime) {
  auto body = std::make_shared<ScriptedBody>();
  StartStream(body, {}, absl::Now() + absl::Milliseconds(50));
  body->WaitForSink()->Write("data: before the end\n\n");

  http::response<http::string_body> response = ReadResponse();
  EXPECT_EQ(response.body(), "data: before the end\n\n");
  ASSERT_TRUE(finished_.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(outcome_, ResponseStream::Outcome::kEnded);
  EXPECT_EQ(body->stops(), 1);
}

TEST_F(ResponseStreamTest, EndedBeforeItsHeadIsWrittenTheBodyNeverStarts) {
  auto body = std::make_shared<ScriptedBody>();
  http::response<http::string_body> head(http::status::ok, 11);
  head.chunked(true);
  absl::Notification started;
  net::post(io_, [&] {
    stream_ = std::make_shared<ResponseStream>(server_, nullptr, std::move(head), body,
                                               ResponseStream::Limits{}, &total_pending_, "r",
                                               [this](ResponseStream::Outcome outcome) {
                                                 outcome_ = outcome;
                                                 finished_.Notify();
                                               });
    stream_->Start();
    stream_->End();  // As a draining server does.
    started.Notify();
  });
  started.WaitForNotification();

  http::response<http::string_body> response = ReadResponse();
  EXPECT_EQ(response.body(), "");
  ASSERT_TRUE(finished_.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(outcome_, ResponseStream::Outcome::kEnded);
  EXPECT_FALSE(body->started());
  EXPECT_EQ(body->stops(), 0);
}

TEST_F(ResponseStreamTest, PiecesAfterTheEndAreNotWritten) {
  auto body = std::make_shared<ScriptedBody>();
  StartStream(body);
  std::shared_ptr<StreamSink> sink = body->WaitForSink();
  sink->Write("data: kept\n\n");
  sink->End();
  sink->Write("data: too late\n\n");

  http::response<http::string_body> response = ReadResponse();
  EXPECT_EQ(response.body(), "data: kept\n\n");
  ASSERT_TRUE(finished_.WaitForNotificationWithTimeout(absl::Seconds(10)));
  // The server sent FIN right after the last chunk: nothing follows it.
  char byte;
  boost::system::error_code ec;
  client_.read_some(net::buffer(&byte, 1), ec);
  EXPECT_EQ(ec, net::error::eof);
}

TEST_F(ResponseStreamTest, PiecesWrittenWhileTheStreamIsBusyKeepTheirOrder) {
  auto body = std::make_shared<HeldStartBody>();
  StartStream(body);
  std::shared_ptr<StreamSink> sink = body->WaitForSink();
  // The strand holds the stream: these wait for it, in order.
  sink->Write("data: 1\n\n");
  sink->Write("data: 2\n\n");
  body->Release();
  // These may find the stream free or still busy; either way they follow the first two.
  std::string expected = "data: 1\n\ndata: 2\n\n";
  for (int i = 3; i <= 200; ++i) {
    const std::string piece = "data: " + std::to_string(i) + "\n\n";
    sink->Write(piece);
    expected += piece;
  }
  sink->End();

  http::response<http::string_body> response = ReadResponse();
  EXPECT_EQ(response.body(), expected);
  ASSERT_TRUE(finished_.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(outcome_, ResponseStream::Outcome::kEnded);
  EXPECT_EQ(total_pending_.load(), 0u);
}

TEST_F(ResponseStreamTest, ChunksAreFramedByteForByteAsBeastFramesThem) {
  auto body = std::make_shared<ScriptedBody>();
  StartStream(body);
  std::shared_ptr<StreamSink> sink = body->WaitForSink();
  boost::asio::streambuf head;
  net::read_until(client_, head, "\r\n\r\n");
  // Nothing but the head was sent yet.
  EXPECT_TRUE(boost::beast::buffers_to_string(head.data()).ends_with("\r\n\r\n"));
  const std::string pieces[] = {"a", std::string(15, 'b'), std::string(16, 'c'),
                                std::string(4097, 'd'), "data: \xe2\x9c\x93\n\n"};
  for (const std::string& piece : pieces) {
    // Each piece is read before the next is written, so each is a chunk of its own.
    sink->Write(piece);
    const std::string expected =
        boost::beast::buffers_to_string(http::make_chunk(net::buffer(piece)));
    std::string received(expected.size(), '\0');
    net::read(client_, net::buffer(received));
    EXPECT_EQ(received, expected);
  }
  sink->End();
  std::string rest;
  boost::system::error_code ec;
  net::read(client_, net::dynamic_buffer(rest), ec);  // Up to the FIN after the last chunk.
  EXPECT_EQ(ec, net::error::eof);
  EXPECT_EQ(rest, boost::beast::buffers_to_string(http::make_chunk_last()));
}

TEST_F(ResponseStreamTest, APieceLargerThanTheSocketTakesAtOnceIsWrittenWhole) {
  server_.set_option(net::socket_base::send_buffer_size(4096));
  client_.set_option(net::socket_base::receive_buffer_size(4096));
  auto body = std::make_shared<ScriptedBody>();
  StartStream(body);
  std::shared_ptr<StreamSink> sink = body->WaitForSink();
  std::string expected;
  for (char c : {'x', 'y', 'z'}) {
    const std::string piece(200 * 1024, c);
    sink->Write(piece);
    expected += piece;
  }
  sink->End();

  http::response<http::string_body> response = ReadResponse();
  EXPECT_EQ(response.body(), expected);
  ASSERT_TRUE(finished_.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(outcome_, ResponseStream::Outcome::kEnded);
  EXPECT_EQ(total_pending_.load(), 0u);
}

}  // namespace
}  // namespace livecall::gateway
