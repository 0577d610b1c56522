#pragma once

#include <CLI/CLI.hpp>

namespace dcscope::cli {

// Each registers one subcommand (or group) on the dcscope-cli app. Callbacks throw
// dcscope::Error for bad input; main() turns that into a one-line message and exit code 2.
void registerSampleCommand(CLI::App& app);
void registerInfoCommand(CLI::App& app);
void registerBenchCommand(CLI::App& app);
void registerGroundTruthCommand(CLI::App& app);
void registerSearchCommand(CLI::App& app);
void registerEvaluateCommand(CLI::App& app);
void registerCprCommand(CLI::App& app);
void registerSearchBenchCommand(CLI::App& app);
void registerQualityCommand(CLI::App& app);

}  // namespace dcscope::cli
