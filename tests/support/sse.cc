#include "tests/support/sse.h"

#include <curl/curl.h>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace livecall::testing {

SseResult ReadSseEvents(const std::string& url, const std::vector<std::string>& headers,
                        const std::function<bool(const std::vector<SseEvent>&)>& enough,
                        absl::Duration timeout) {
  struct State {
    SseResult result;
    std::string pending;
    std::function<bool(const std::vector<SseEvent>&)> enough;
  } state{{}, "", enough};
  CURL* curl = curl_easy_init();
  curl_slist* list = nullptr;
  for (const std::string& header : headers) list = curl_slist_append(list, header.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(absl::ToInt64Milliseconds(timeout)));
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &state);
  curl_easy_setopt(
      curl, CURLOPT_WRITEFUNCTION,
      +[](char* data, size_t size, size_t count, void* user) -> size_t {
        auto* s = static_cast<State*>(user);
        s->result.raw.append(data, size * count);
        s->pending.append(data, size * count);
        size_t end;
        while ((end = s->pending.find("\n\n")) != std::string::npos) {
          SseEvent event;
          for (absl::string_view line : absl::StrSplit(s->pending.substr(0, end), '\n')) {
            if (absl::ConsumePrefix(&line, "id: ")) event.id = std::string(line);
            if (absl::ConsumePrefix(&line, "event: ")) event.type = std::string(line);
            if (absl::ConsumePrefix(&line, "data: ")) event.data += std::string(line);
          }
          s->pending.erase(0, end + 2);
          if (!event.id.empty()) s->result.events.push_back(std::move(event));
        }
        return s->enough(s->result.events) ? 0 : size * count;  // 0 ends the transfer.
      });
  curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &state.result.status);
  char* type = nullptr;
  curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &type);
  if (type != nullptr) state.result.content_type = type;
  curl_slist_free_all(list);
  curl_easy_cleanup(curl);
  return state.result;
}

}  // namespace livecall::testing
