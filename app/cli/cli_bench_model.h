#pragma once

#include <string>
#include <vector>

namespace dcscope::cli {

struct ModelBenchOptions {
    std::string model;   ///< package folder or builtin:NAME; empty: the embedded package
    std::string device = "cpu";
    int repeats = 10;
    bool quick = false;
};

/// rho = 1 for the first dcOrder updates, then values near 1 that differ from 1, so DC really runs.
std::vector<double> benchRatios(int steps, int dcOrder);

/// Prints the per-call table of `dcscope-cli bench --model` (README, "Interactive speed").
void runModelBench(const ModelBenchOptions& options);

}  // namespace dcscope::cli
