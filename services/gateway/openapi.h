#ifndef LIVECALL_SERVICES_GATEWAY_OPENAPI_H_
#define LIVECALL_SERVICES_GATEWAY_OPENAPI_H_

// /openapi.json, generated from the route table and the message descriptors it points at, so the
// document describes exactly what the gateway serves. Schemas follow the proto3 JSON mapping the
// transcoder uses: lowerCamelCase names, 64-bit integers as strings, Timestamp as an RFC 3339
// date-time string, maps as objects with additionalProperties, enums as their value names.

#include <string>

#include "absl/status/statusor.h"
#include "services/gateway/route_table.h"

namespace livecall::gateway {

// The OpenAPI 3.0.3 document as JSON. Schema names are the messages' full proto names
// ("livecall.v1.Session"); "Error" is the error body.
absl::StatusOr<std::string> GenerateOpenApi(const RouteTable& routes);

}  // namespace livecall::gateway

#endif  // LIVECALL_SERVICES_GATEWAY_OPENAPI_H_
