#pragma once

#include <string>

namespace dcscope::cli {

struct ModelBenchOptions {
    std::string model;   ///< package folder or builtin:NAME; empty: the embedded package
    std::string device = "cpu";
    int repeats = 10;
    bool quick = false;
};

/// Prints the per-call table of `dcscope-cli bench --model` (README, "Interactive speed").
void runModelBench(const ModelBenchOptions& options);

}  // namespace dcscope::cli
