#include "tests/fakes/fake_speech_server.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "tests/support/wav.h"

namespace livecall::fakes {
namespace {

constexpr int kSampleRate = 24000;

// 16-bit mono PCM WAV: a 300 Hz tone, 60 ms per byte of input (at least half a second).
std::string ToneWav(size_t characters) {
  const double seconds = std::max(0.5, 0.06 * static_cast<double>(characters));
  return livecall::testing::PcmWav(livecall::testing::Tone(seconds, kSampleRate, 300), kSampleRate);
}

}  // namespace

FakeSpeechServer::FakeSpeechServer(std::string api_key)
    : api_key_(std::move(api_key)),
      server_([this](const FakeRequest& request) { return Answer(request); }) {}

void FakeSpeechServer::SetMode(Mode mode, absl::Duration delay) {
  absl::MutexLock lock(&mu_);
  mode_ = mode;
  delay_ = delay;
}

std::vector<std::string> FakeSpeechServer::violations() const {
  absl::MutexLock lock(&mu_);
  return violations_;
}

FakeResponse FakeSpeechServer::Answer(const FakeRequest& request) {
  absl::MutexLock lock(&mu_);
  auto refuse = [&](int status, const std::string& why) {
    violations_.push_back(why);
    FakeResponse response;
    response.status = status;
    response.chunks = {absl::StrCat(R"({"error":{"message":")", why, R"("}})")};
    return response;
  };
  if (request.method != "POST" || request.target != "/v1/audio/speech") {
    return refuse(404, absl::StrCat("unknown route ", request.method, " ", request.target));
  }
  auto auth = request.headers.find("authorization");
  if (auth == request.headers.end() || auth->second != absl::StrCat("Bearer ", api_key_)) {
    return refuse(401, "missing or wrong bearer key");
  }
  google::protobuf::Struct body;
  if (!google::protobuf::util::JsonStringToMessage(request.body, &body).ok()) {
    return refuse(400, "body is not JSON");
  }
  for (const char* field : {"model", "input", "voice"}) {
    auto value = body.fields().find(field);
    if (value == body.fields().end() || value->second.string_value().empty()) {
      return refuse(400, absl::StrCat("missing ", field));
    }
  }
  FakeResponse response;
  switch (mode_) {
    case Mode::kServerError:
      response.status = 500;
      response.chunks = {R"({"error":{"message":"the model is overloaded"}})"};
      return response;
    case Mode::kGarbage:
      response.headers = {{"content-type", "audio/wav"}};
      response.chunks = {"RIFF\x10\x00\x00\x00WAVEthis is not audio at all"};
      return response;
    case Mode::kDropConnection:
      response.drop_connection = true;
      return response;
    case Mode::kSlow:
      response.delay_before_headers = delay_;
      break;
    case Mode::kAudio:
      break;
  }
  response.headers = {{"content-type", "audio/wav"}};
  response.chunks = {ToneWav(body.fields().at("input").string_value().size())};
  return response;
}

}  // namespace livecall::fakes
