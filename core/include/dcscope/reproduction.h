#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "dcscope/ground_truth.h"
#include "dcscope/model.h"
#include "dcscope/solver.h"

namespace dcscope {

/// Version of the reproduction record's JSON. parseReproductionRecord refuses any other, so a
/// record it accepts holds every setting this version of the sampler needs.
inline constexpr int kReproductionFormatVersion = 1;
/// The "format" member of the JSON, so the chunk says what it is when read by other tools.
inline constexpr const char* kReproductionFormatName = "dcscope.reproduction";

/// Where the start noise of the batch came from.
enum class NoiseSource {
    /// makeDatapoints(model, seed, batchSize): sample b is datapoint seed + b, N(0, I) in float32
    /// from a torch CPU generator seeded with seed + b (the same noise on every device).
    Datapoints,
    /// A .npy file (`noiseFile`) given by the user; reproducible only where that file is.
    NpyFile,
};

/// Ground-truth settings of a run whose error was measured (optional part of a record).
struct ReproductionGroundTruth {
    int fineSteps = GroundTruthOptions{}.fineSteps;
    FineSolver fineSolver = GroundTruthOptions{}.fineSolver;
};

/// Everything needed to re-run a sampling and check the result bit for bit: written into every
/// PNG dcscope exports (as JSON, toJson) and read back by `dcscope-cli sample --from-png`.
/// A plain value; front ends fill it from their own settings.
struct ReproductionRecord {
    int formatVersion = kReproductionFormatVersion;
    std::string software;               ///< "dcscope-cli 0.4.0"; informational, may be empty
    // The model.
    std::string modelSpec;              ///< as given: package folder or "builtin:NAME"
    std::string modelName;              ///< ModelInfo::name
    std::string modelIdentity;          ///< modelIdentity(model); empty: not identifiable
    // The solver: everything of SolverConfig (ratios empty = no compensation).
    SolverConfig solver;
    // The batch.
    uint64_t seed = 0;                  ///< datapoint of the first sample (NoiseSource::Datapoints)
    int batchSize = 1;                  ///< 1..kMaxReproductionBatch
    NoiseSource noiseSource = NoiseSource::Datapoints;
    std::string noiseFile;              ///< NoiseSource::NpyFile only
    std::string device = "cpu";         ///< "cpu", "cuda" or "cuda:N"
    std::string dtype = "float32";      ///< the sampler's dtype; the only one there is
    double guidance = 1.0;              ///< classifier-free guidance scale w
    std::vector<int64_t> classes;       ///< one per sample (the actual list); empty = unconditional
    // What was measured, when it was.
    std::optional<ReproductionGroundTruth> groundTruth;
    std::optional<double> mse;          ///< mean squared error against that ground truth
    // The export and its result.
    int pngColumns = 1;                 ///< columns of the PNG grid, >= 1
    std::vector<int64_t> resultShape;   ///< shape of the final tensor [B, sampleShape...]
    std::string resultHash;             ///< tensorHash of the final tensor (16 hex digits)
};

/// Largest batch a record may describe (the CLI's --batch limit).
inline constexpr int kMaxReproductionBatch = 100000;

/// FNV-1a 64 of the tensor's float32 values in C order, as 16 lower-case hex digits. The tensor
/// may be on any device (it is copied to the CPU); any dtype but float32 is Error(InvalidArgument)
/// (a conversion would hide differences). Any thread.
std::string tensorHash(const at::Tensor& tensor);

/// A short hash of a model identity for people: the first 10 hex digits of FNV-1a 64 of the
/// identity string; empty for an empty identity.
std::string shortModelHash(const std::string& identity);

/// Fills modelSpec, modelName and modelIdentity from a loaded model.
void setModel(ReproductionRecord& record, const std::string& spec, const DiffusionModel& model);
/// Fills resultShape and resultHash from the final tensor.
void setResult(ReproductionRecord& record, const at::Tensor& result);
/// The classes tensor as the record's list (undefined tensor: empty list, unconditional).
std::vector<int64_t> classList(const at::Tensor& classes);

/// The record as JSON (one object; members in a fixed order).
std::string toJson(const ReproductionRecord& record);
/// Parses and checks a record: the format name and version, every field's presence and type,
/// and impossible values (validate() on the solver, batch size, classes per sample, shapes,
/// hash). Throws Error(BadFile) "<source>: <what>, field '<name>'" naming the first bad field.
ReproductionRecord parseReproductionRecord(const std::string& json, const std::string& source);

/// The one-line summary other generation tools write into a PNG's "parameters" chunk
/// (AUTOMATIC1111's form), e.g. "Steps: 10, Sampler: UniPC (bh2) + DC, CFG scale: 3, Seed: 0,
/// Size: 32x32, Model: fashion, Model hash: 1a2b3c4d5e, Batch size: 16, NFE: 10, Time grid:
/// time_uniform, DC order: 2, Ratios: 1,1,0.95,...". " + DC" when some ratio is not 1; DC order
/// and Ratios only when there are ratios; Size (width x height: the last two result dimensions)
/// only for images; Model hash only for identifiable models.
std::string parametersText(const ReproductionRecord& record);

/// Checks that a loaded model is the one the record was made with: the identity (when both are
/// known), the sample shape and the classes' range. Throws Error(BadFile) naming `source`.
void checkModelMatches(const ReproductionRecord& record, const DiffusionModel& model, const std::string& source);
/// The record's classes as an int64 [B] tensor, or an undefined tensor when unconditional.
at::Tensor classesTensor(const ReproductionRecord& record);
/// The start noise of NoiseSource::Datapoints: makeDatapoints(model, seed, batchSize).noise.
/// Error(InvalidArgument) for NoiseSource::NpyFile (the caller loads that file itself).
at::Tensor datapointNoise(const ReproductionRecord& record, const DiffusionModel& model);

}  // namespace dcscope
