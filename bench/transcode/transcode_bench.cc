// CPU per conversion of the gateway's JSON ⇄ proto transcoding (issue 17), before and after the
// one-pass converters of common/wire_json.h, on the bench's own request: POST /ai/call/start with
// {"phoneNumber":"+998901112233"} (bench/run's START_BODY) and the Session it is answered with
// for that customer (data/customers.json's first entry: four attributes, two notes; a greeting,
// three suggestions, the greeting turn, timestamps).
//
//   transcode_bench [case] [iterations]
//
// case: all (default), request-protobuf, request, reply-protobuf, reply. The *-protobuf cases
// call protobuf's stream converter exactly as transcoder.cc did before; request and reply the
// gateway's BuildRequestPayload and PayloadToJson as they are now. CPU time is the process's
// (CLOCK_PROCESS_CPUTIME_ID), so the figure holds on a busy machine; for instruction counts run
// one case under `valgrind --tool=callgrind` at two iteration counts and divide the difference.
// Built with the suite (target transcode_bench, tests/unit/gateway/CMakeLists.txt); not a test.

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/wire_format_lite.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>

#include "absl/strings/string_view.h"
#include "common/enum_json.h"
#include "livecall/v1/ai_session.pb.h"
#include "livecall/v1/context.pb.h"
#include "services/gateway/route_table.h"
#include "services/gateway/transcoder.h"

namespace {

using livecall::gateway::RouteMatch;
using livecall::gateway::RouteTable;

constexpr absl::string_view kStartBody = R"({"phoneNumber":"+998901112233"})";

livecall::v1::Session BenchSession() {
  livecall::v1::Session session;
  session.set_session_id("S-4f1c2a9e7b3d4e06a1b2c3d4e5f60718");
  session.set_phone_number("+998901112233");
  session.set_direction("outbound");
  session.set_agent_id("agent-1");
  session.set_language("uz");
  livecall::v1::Customer* customer = session.mutable_customer();
  customer->set_phone_number("+998901112233");
  customer->set_name("Dilshod Karimov");
  customer->set_language("uz");
  (*customer->mutable_attributes())["plan"] = "Uy interneti 100 Mbit/s";
  (*customer->mutable_attributes())["open_issue"] = "internet tez-tez uzilib qolmoqda";
  (*customer->mutable_attributes())["last_contact"] = "2026-11-20";
  (*customer->mutable_attributes())["balance"] = "45000 so'm";
  customer->add_notes("Kechqurun qo'ng'iroq qilishni afzal ko'radi");
  customer->add_notes("Router modeli: TP-Link Archer C6");
  customer->set_known(true);
  customer->set_source("directory");
  session.set_greeting(
      "Assalomu alaykum, Dilshod Karimov! Men sizning internet xizmatingiz bo'yicha "
      "qo'ng'iroq qilyapman. Internet tez-tez uzilib qolayotgani haqida murojaatingizni ko'rdim.");
  const char* const kSuggestions[][3] = {
      {"greeting", "Mijozga salom bering va murojaatini tasdiqlang.", "greeting"},
      {"context",
       "Ochiq muammo: internet tez-tez uzilib qolmoqda. Routerni qayta yoqishni so'rang.",
       "context"},
      {"kb-router-reset", "Router modeli TP-Link Archer C6: zavod sozlamalariga qaytarish tartibi.",
       "kb-router-reset"}};
  float confidence = 0.9f;
  for (const auto& [id, text, source] : kSuggestions) {
    livecall::v1::Suggestion* suggestion = session.add_suggestions();
    suggestion->set_id(id);
    suggestion->set_text(text);
    suggestion->set_kind(livecall::v1::SUGGESTION_KIND_ANSWER);
    suggestion->set_source(source);
    suggestion->set_confidence(confidence);
    confidence -= 0.15f;
  }
  livecall::v1::Turn* turn = session.add_conversation();
  turn->set_speaker("ai");
  turn->set_text(session.greeting());
  turn->mutable_at()->set_seconds(1765076400);
  turn->mutable_at()->set_nanos(123000000);
  session.set_status("active");
  session.mutable_created_at()->set_seconds(1765076400);
  session.mutable_created_at()->set_nanos(120000000);
  session.mutable_updated_at()->set_seconds(1765076400);
  session.mutable_updated_at()->set_nanos(123000000);
  return session;
}

google::protobuf::util::JsonParseOptions StrictParseOptions() {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  return options;
}

google::protobuf::util::JsonPrintOptions StablePrintOptions() {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  return options;
}

double CpuSeconds() {
  timespec now;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return now.tv_sec + now.tv_nsec * 1e-9;
}

template <typename Convert>
void Run(const char* name, long iterations, Convert convert) {
  size_t bytes = 0;
  for (int i = 0; i < 200; ++i) bytes = convert();  // Warm the caches and the plans.
  const double start = CpuSeconds();
  size_t total = 0;
  for (long i = 0; i < iterations; ++i) total += convert();
  const double seconds = CpuSeconds() - start;
  std::printf("%-18s %8.2f us/conversion  (%ld conversions, %zu output bytes each)\n", name,
              seconds * 1e6 / iterations, iterations, total == bytes * iterations ? bytes : 0);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string which = argc > 1 ? argv[1] : "all";
  const long iterations = argc > 2 ? std::atol(argv[2]) : 20000;
  const RouteTable routes = *RouteTable::BuildServed();
  const RouteMatch match = routes.Match("POST", "/ai/call/start");
  if (match.result != RouteMatch::Result::kMatched) {
    std::fprintf(stderr, "no route for POST /ai/call/start\n");
    return 1;
  }
  const google::protobuf::Descriptor* request_type = match.route->method->input_type();
  const google::protobuf::Descriptor* reply_type = match.route->method->output_type();
  const std::string request_url = livecall::TypeUrlOf(request_type);
  const std::string reply_url = livecall::TypeUrlOf(reply_type);
  const std::string reply = BenchSession().SerializeAsString();

  // Both paths answer the same bytes, or the figures compare nothing.
  std::string protobuf_payload;
  std::string protobuf_json;
  google::protobuf::util::JsonToBinaryString(livecall::EnumJsonTypeResolver(), request_url,
                                             std::string(kStartBody), &protobuf_payload,
                                             StrictParseOptions())
      .ok();
  google::protobuf::util::BinaryToJsonString(livecall::EnumJsonTypeResolver(), reply_url, reply,
                                             &protobuf_json, StablePrintOptions())
      .ok();
  if (livecall::gateway::BuildRequestPayload(match, kStartBody, "").value_or("?") !=
          protobuf_payload ||
      livecall::gateway::PayloadToJson(reply_type, reply).value_or("?") != protobuf_json) {
    std::fprintf(stderr, "the two converters disagree\n");
    return 1;
  }
  std::printf("request %zu bytes of JSON, reply %zu wire bytes -> %zu bytes of JSON\n",
              kStartBody.size(), reply.size(), protobuf_json.size());

  if (which == "all" || which == "request-protobuf") {
    Run("request-protobuf", iterations, [&] {
      std::string payload;
      google::protobuf::util::JsonToBinaryString(
          livecall::EnumJsonTypeResolver(), request_url,
          google::protobuf::StringPiece(kStartBody.data(), kStartBody.size()), &payload,
          StrictParseOptions())
          .ok();
      return payload.size();
    });
  }
  if (which == "all" || which == "request") {
    Run("request", iterations,
        [&] { return livecall::gateway::BuildRequestPayload(match, kStartBody, "")->size(); });
  }
  if (which == "all" || which == "reply-protobuf") {
    Run("reply-protobuf", iterations, [&] {
      // As PayloadToJson did: the bytes checked, then converted.
      google::protobuf::io::CodedInputStream input(reinterpret_cast<const uint8_t*>(reply.data()),
                                                   static_cast<int>(reply.size()));
      google::protobuf::internal::WireFormatLite::SkipMessage(&input);
      std::string json;
      google::protobuf::util::BinaryToJsonString(livecall::EnumJsonTypeResolver(), reply_url, reply,
                                                 &json, StablePrintOptions())
          .ok();
      return json.size();
    });
  }
  if (which == "all" || which == "reply") {
    Run("reply", iterations,
        [&] { return livecall::gateway::PayloadToJson(reply_type, reply)->size(); });
  }
  return 0;
}
