#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <ATen/core/Tensor.h>

#include "dcscope/cancel.h"
#include "dcscope/model.h"
#include "dcscope/solver.h"
#include "png_metadata.h"

namespace dcscope::cli {

/// Flags shared by every command that loads a model.
struct ModelFlags {
    std::string model;   ///< path or builtin:NAME; empty = the embedded default package
    std::string device = "cpu";
};
void addModelFlags(CLI::App& command, ModelFlags& flags);
/// Loads the model (or the default package); throws dcscope::Error.
std::shared_ptr<DiffusionModel> openModel(const ModelFlags& flags);
/// --model default names the embedded package explicitly (as an empty --model does).
inline constexpr const char* kDefaultModelSpec = "default";
/// The spec actually used for an empty --model or "default" (the default package, or an error
/// naming the places looked in).
std::string resolveModelSpec(const std::string& model);

/// Solver flags with the documented defaults: unipc, bh2, order 2, time_uniform, dc-order 2,
/// lower-order-final on, corrector on every update but the last, no compensation.
struct SolverFlags {
    std::string solver = "unipc";
    std::string variant = "bh2";
    int order = 2;
    std::string grid = "time_uniform";
    bool noLowerOrderFinal = false;
    std::vector<int> disabledCorrectors;
    int dcOrder = 2;
    int nfe = 0;
    std::string ratiosFile;
    std::string cprFile;  ///< --cpr: ratios predicted for the run's NFE and guidance
};
/// Which of the solver flags a command takes: all of them; all but --ratios/--cpr (commands that
/// search or compare ratios themselves); or also without --nfe (commands that take an NFE list).
enum class SolverFlagSet { All, WithoutRatios, WithoutRatiosOrNfe };
void addSolverFlags(CLI::App& command, SolverFlags& flags, SolverFlagSet set = SolverFlagSet::All);
/// Builds and validates the config: ratios read from --ratios, or predicted by --cpr (a .npy or a
/// package folder with a compensation entry) for `guidance`. A command that passes no guidance
/// has no use for --cpr and refuses it rather than ignoring it.
SolverConfig toSolverConfig(const SolverFlags& flags, std::optional<double> guidance = std::nullopt);

/// Noise and conditioning of a batch.
struct BatchFlags {
    std::string noiseFile;
    uint64_t seed = 0;
    int batch = 1;
    std::string classes;   ///< "0,1,..." (one per sample or one for all); empty = unconditional
    double cfg = 1.0;
};
void addBatchFlags(CLI::App& command, BatchFlags& flags);
/// Start noise [B, shape...] on CPU: from --noise, else sample b is datapoint seed + b of core's
/// makeDatapoints (CPU generator, so a seed gives the same noise on every device).
at::Tensor makeNoise(const BatchFlags& flags, const DiffusionModel& model);
/// int64 [B] classes or an undefined tensor (unconditional); validates the range.
at::Tensor parseClasses(const std::string& text, int64_t batch, const DiffusionModel& model);

/// Writes a grid of image samples [B,C,H,W] (value range of the model) as a PNG, `columns` wide,
/// with the given text chunks, atomically.
void writeImageGrid(const std::string& path, const at::Tensor& images, std::pair<double, double> valueRange, int columns,
                    const std::vector<PngTextChunk>& text = {});

/// The process-wide token that SIGINT sets, so Ctrl-C stops within one model evaluation.
CancelToken& interruptToken();
void installInterruptHandler();

/// Progress line on stderr ("step k/S  t=...  nfe=..."), unless quiet.
StepObserver progressPrinter(bool quiet, const std::string& label);

}  // namespace dcscope::cli
