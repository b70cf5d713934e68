#ifndef LIVECALL_TESTS_FAKES_FAKE_SPEECH_SERVER_H_
#define LIVECALL_TESTS_FAKES_FAKE_SPEECH_SERVER_H_

// A fake OpenAI-compatible speech server (POST /v1/audio/speech), the fake LLM's sibling, on
// FakeHttpServer. It checks each request the way the real API would (path, bearer key, JSON with
// model, input and voice) and answers a 24 kHz 16-bit WAV tone whose length grows with the input,
// unless a test scripts it to be slow, to fail with a status, or to answer bytes that are no audio.

#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "tests/fakes/fake_http_server.h"

namespace livecall::fakes {

class FakeSpeechServer {
 public:
  enum class Mode { kAudio, kSlow, kServerError, kGarbage, kDropConnection };

  explicit FakeSpeechServer(std::string api_key = "tts-test-key");

  absl::Status Start() { return server_.Start(); }
  std::string base_url() const { return server_.base_url(); }

  // How the following requests are answered; kSlow waits `delay` before answering audio.
  void SetMode(Mode mode, absl::Duration delay = absl::Seconds(5)) ABSL_LOCKS_EXCLUDED(mu_);
  // Requests received, well-formed or not.
  std::vector<FakeRequest> requests() const { return server_.requests(); }
  // Requests that broke the API's rules (a bad path, key or body), with why.
  std::vector<std::string> violations() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  FakeResponse Answer(const FakeRequest& request) ABSL_LOCKS_EXCLUDED(mu_);

  const std::string api_key_;
  mutable absl::Mutex mu_;
  Mode mode_ ABSL_GUARDED_BY(mu_) = Mode::kAudio;
  absl::Duration delay_ ABSL_GUARDED_BY(mu_) = absl::Seconds(5);
  std::vector<std::string> violations_ ABSL_GUARDED_BY(mu_);
  FakeHttpServer server_;
};

}  // namespace livecall::fakes

#endif  // LIVECALL_TESTS_FAKES_FAKE_SPEECH_SERVER_H_
