#ifndef LIVECALL_TESTS_SUPPORT_ENV_READER_H_
#define LIVECALL_TESTS_SUPPORT_ENV_READER_H_

#include <map>
#include <string>

#include "common/config.h"

namespace livecall::testing {

// An EnvReader (common/config.h) that reads `vars` instead of the process environment, so a
// configuration test says exactly which variables are set. Copies share the variables.
EnvReader EnvReaderFor(std::map<std::string, std::string> vars);

}  // namespace livecall::testing

#endif  // LIVECALL_TESTS_SUPPORT_ENV_READER_H_
