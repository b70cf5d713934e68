#include "tests/support/env_reader.h"

#include <memory>
#include <utility>

namespace livecall::testing {

EnvReader EnvReaderFor(std::map<std::string, std::string> vars) {
  auto shared = std::make_shared<const std::map<std::string, std::string>>(std::move(vars));
  return EnvReader([shared](const char* name) -> const char* {
    auto it = shared->find(name);
    return it == shared->end() ? nullptr : it->second.c_str();
  });
}

}  // namespace livecall::testing
