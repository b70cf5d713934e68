#include "services/call-control/tts/remote_tts.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/json.h"

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
  google::protobuf::Struct body;
  auto& fields = *body.mutable_fields();
  fields["model"].set_string_value(options_.model);
  fields["input"].set_string_value(std::string(text));
  fields["voice"].set_string_value(options_.voice);
  fields["response_format"].set_string_value("wav");
  absl::StatusOr<std::string> body_json = ToJson(body);
  if (!body_json.ok()) return body_json.status();
  request.body = *std::move(body_json);
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
