// Helpers shared by the kernel tests: seeded random data and a readable way to expect a validation error.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "common/input_error.h"
#include "cpu/spawned_threads.h"

namespace glm_ops::test {

// The kernels' loops in tests: four threads even on a smaller machine, so the work splitting is exercised.
inline const cpu::Parallel& Threads() {
  static const cpu::SpawnedThreads threads(4);
  return threads;
}

inline std::vector<float> RandomFloats(std::mt19937& rng, size_t count, float low = -1.0f, float high = 1.0f) {
  std::uniform_real_distribution<float> dist(low, high);
  std::vector<float> values(count);
  for (float& v : values) v = dist(rng);
  return values;
}

// Runs `body`, expecting an InputError whose message contains every fragment.
template <typename Body>
void ExpectInputError(Body&& body, const std::vector<std::string>& fragments) {
  try {
    body();
    ADD_FAILURE() << "expected an InputError mentioning '" << (fragments.empty() ? "" : fragments[0]) << "'";
  } catch (const InputError& e) {
    const std::string message = e.what();
    for (const std::string& fragment : fragments)
      EXPECT_NE(message.find(fragment), std::string::npos) << "message '" << message << "' lacks '" << fragment << "'";
  }
}

}  // namespace glm_ops::test
