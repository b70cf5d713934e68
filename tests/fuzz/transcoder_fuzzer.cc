// The gateway's JSON ⇄ proto mapping (services/gateway/transcoder.h) on every REST route: the
// first byte picks a route, the rest up to the first newline is the query string and the
// remainder the JSON body, as BuildRequestMessage receives them.
//
// Properties: nothing crashes; a message the mapping accepted prints as JSON (MessageToJson),
// and that JSON parses back (JsonToMessage) into an equal message.

#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/util/message_differencer.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "services/gateway/route_table.h"
#include "services/gateway/transcoder.h"

namespace gw = livecall::gateway;

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  // Protobuf logs every string field with invalid UTF-8 it parses; the fuzzer makes many.
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const gw::RouteTable* routes = new gw::RouteTable(*gw::RouteTable::BuildServed());
  // Only routes that call an RPC are transcoded; the gateway answers its builtin ones (/healthz,
  // /openapi.json, ...) itself, and they have no method.
  static const std::vector<const gw::Route*>* transcoded = [] {
    auto* list = new std::vector<const gw::Route*>();
    for (const gw::Route& route : routes->routes()) {
      if (!route.builtin && route.method != nullptr) list->push_back(&route);
    }
    return list;
  }();
  if (size < 1 || transcoded->empty()) return 0;
  const gw::Route& route = *(*transcoded)[data[0] % transcoded->size()];
  absl::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  absl::string_view query;
  if (const size_t newline = rest.find('\n'); newline != absl::string_view::npos) {
    query = rest.substr(0, newline);
    rest.remove_prefix(newline + 1);
  }

  gw::RouteMatch match;
  match.result = gw::RouteMatch::Result::kMatched;
  match.route = &route;
  absl::StatusOr<std::unique_ptr<google::protobuf::Message>> message =
      gw::BuildRequestMessage(match, route.body_is_request ? rest : "", query);
  if (!message.ok()) return 0;

  absl::StatusOr<std::string> json = gw::MessageToJson(**message);
  if (!json.ok()) abort();
  std::unique_ptr<google::protobuf::Message> again = gw::NewMessage((*message)->GetDescriptor());
  if (!gw::JsonToMessage(*json, again.get()).ok()) abort();
  if (!google::protobuf::util::MessageDifferencer::Equals(**message, *again)) abort();

  // The answer side: any message of the method's output type, from the same bytes as protobuf's
  // wire format, prints as JSON that parses back.
  std::unique_ptr<google::protobuf::Message> reply = gw::NewMessage(route.method->output_type());
  if (reply->ParseFromArray(data + 1, static_cast<int>(size - 1))) {
    reply->DiscardUnknownFields();
    absl::StatusOr<std::string> reply_json = gw::MessageToJson(*reply);
    if (reply_json.ok()) {
      std::unique_ptr<google::protobuf::Message> parsed = gw::NewMessage(reply->GetDescriptor());
      if (!gw::JsonToMessage(*reply_json, parsed.get()).ok()) abort();
    }
  }
  return 0;
}
