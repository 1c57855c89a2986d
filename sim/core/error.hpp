// Error kinds with the exit status the mmusim executable maps them to: UsageError 2,
// ModelError and DeadlockError 3.
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

// The simulation stopped with threads still blocked and nothing left to wake them (a lock never
// released, a flush waiting for a vCPU that never runs). The message names every blocked thread
// and what it waits for. A ModelError too, so callers that catch model errors still catch it;
// the executable reports it as "simulated deadlock" with exit status 3.
struct DeadlockError : ModelError {
  explicit DeadlockError(const std::string& what) : ModelError(what) {}
};

}  // namespace mmusim
