#include "services/call-control/tts/remote_tts.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/log.h"

namespace livecall::call_control::tts {

std::string AudioSpeechUrl(const std::string& base_url) {
  absl::string_view base = absl::StripSuffix(base_url, "/");
  if (absl::EndsWith(base, "/v1")) return absl::StrCat(base, "/audio/speech");
  return absl::StrCat(base, "/v1/audio/speech");
}

absl::StatusOr<Synthesis> RemoteTts::Synthesize(absl::string_view text,
                                                absl::string_view language) {
  HttpRequest request;
  request.method = "POST";
  request.url = AudioSpeechUrl(options_.base_url);
  request.metrics_target = "tts";
  request.timeout = options_.deadline;
  request.connect_timeout = std::min(options_.deadline, absl::Seconds(1));
  request.headers = {{"Content-Type", "application/json"}, {"Accept", "audio/wav"}};
  if (!options_.api_key.empty()) {
    request.headers.emplace_back("Authorization", absl::StrCat("Bearer ", options_.api_key));
  }
  request.body =
      absl::StrCat(R"({"model":")", JsonEscape(options_.model), R"(","input":")", JsonEscape(text),
                   R"(","voice":")", JsonEscape(options_.voice), R"(","response_format":"wav"})");
  absl::StatusOr<HttpResponse> response = http_.Send(request);
  if (!response.ok()) return response.status();
  if (response->status != 200) {
    return absl::UnavailableError(absl::StrCat("tts server answered HTTP ", response->status, ": ",
                                               response->body.substr(0, 200)));
  }
  absl::StatusOr<PcmAudio> audio = DecodeAudio(response->body);
  if (!audio.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("tts server's answer is no audio: ", audio.status().message()));
  }
  return Synthesis{.audio = *std::move(audio), .provider = provider(), .voice = options_.voice};
}

}  // namespace livecall::call_control::tts
