// Error kinds with the exit status the mmusim executable maps them to.
#pragma once
#include <stdexcept>
#include <string>

namespace mmusim {

// Bad input from the user (CLI, config file, trace): one clear line, exit status 2.
struct UsageError : std::runtime_error {
  explicit UsageError(const std::string& what) : std::runtime_error(what) {}
};

// An internal invariant of the model broke: a bug in mmusim, not in the input.
struct ModelError : std::logic_error {
  explicit ModelError(const std::string& what) : std::logic_error(what) {}
};

}  // namespace mmusim
