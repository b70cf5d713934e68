// gRPC options for the floor probes from the environment ("name=value,..."), to measure one of
// gRPC's options at a time: a value of digits is an integer argument, anything else a string
// (grpc.optimization_target=throughput).
#pragma once

#include <cstdlib>
#include <sstream>
#include <string>

// Calls set_int(name, int) or set_string(name, value) for each item of the variable `variable`.
template <typename SetInt, typename SetString>
void ForEachFloorArg(const char* variable, SetInt set_int, SetString set_string) {
  const char* list = std::getenv(variable);
  if (list == nullptr) return;
  std::stringstream items(list);
  std::string item;
  while (std::getline(items, item, ',')) {
    const size_t eq = item.find('=');
    if (eq == std::string::npos) continue;
    const std::string name = item.substr(0, eq);
    const std::string value = item.substr(eq + 1);
    if (value.find_first_not_of("-0123456789") == std::string::npos) {
      set_int(name, std::atoi(value.c_str()));
    } else {
      set_string(name, value);
    }
  }
}
