#include "dcscope/ground_truth.h"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>

#include "dcscope/errors.h"
#include "dcscope/gaussian_mixture_model.h"
#include "dcscope/mixture_definition.h"
#include "dcscope/npy.h"
#include "fnv1a.h"

namespace dcscope {
namespace {

namespace fs = std::filesystem;

std::string hex64(uint64_t value) {
    static const char* digits = "0123456789abcdef";
    std::string text(16, '0');
    for (int i = 15; i >= 0; --i, value >>= 4) text[size_t(i)] = digits[value & 0xf];
    return text;
}

// ---- fine solve ----------------------------------------------------------------------------

struct FineSolve {
    std::vector<at::Tensor> coarseStates;  // at every coarse time, the noise first
    std::vector<at::Tensor> path;          // at every fine time (when asked)
};

// DDIM or DPM-Solver++ 2M through `fineTimes`, in the noise's dtype with double coefficients
// from the exact (double) schedule. Every `perInterval`-th fine time is a coarse time.
FineSolve solveFine(GuidedDenoiser& denoiser, const at::Tensor& noise, const std::vector<double>& fineTimes, int perInterval,
                    FineSolver solver, bool keepPath, int& done, int total, const GroundTruthProgress& progress) {
    const NoiseSchedule& schedule = denoiser.model().schedule();
    FineSolve result;
    at::Tensor x = noise;
    result.coarseStates.push_back(x);
    if (keepPath) result.path.push_back(x);
    at::Tensor previousModel;
    double previousLambda = 0.0;
    for (size_t i = 0; i + 1 < fineTimes.size(); ++i) {
        const double s = fineTimes[i], t = fineTimes[i + 1];
        const double alphaS = schedule.alpha(s), sigmaS = schedule.sigma(s), lambdaS = schedule.lambda(s);
        const double alphaT = schedule.alpha(t), sigmaT = schedule.sigma(t), lambdaT = schedule.lambda(t);
        // Noise prediction converted with the double schedule (dataPrediction() uses the float32
        // reference arithmetic, which is ~1e-4 off in lambda near t = 1/N).
        const at::Tensor e = denoiser.noise(x, s);
        ++done;
        if (progress) progress(done, total);
        const at::Tensor model = at::sub(x, e, sigmaS).div_(alphaS);
        const double h = lambdaT - lambdaS;
        const double expm1MinusH = std::expm1(-h);
        at::Tensor next = at::mul(x, sigmaT / sigmaS).add_(model, -alphaT * expm1MinusH);
        if (solver == FineSolver::DpmSolverPlusPlus2M && previousModel.defined()) {
            const double r = (lambdaS - previousLambda) / h;
            const double c = -0.5 * alphaT * expm1MinusH / r;  // coefficient of (m_s - m_p)
            next.add_(model, c).add_(previousModel, -c);
        }
        previousModel = model;
        previousLambda = lambdaS;
        x = next;
        if ((i + 1) % size_t(perInterval) == 0) result.coarseStates.push_back(x);
        if (keepPath) result.path.push_back(x);
    }
    return result;
}

// ---- cache ---------------------------------------------------------------------------------

constexpr char kMagic[8] = {'D', 'C', 'S', 'G', 'T', '0', '1', '\n'};
constexpr size_t kHeaderSize = 8 + 3 * sizeof(uint64_t);  // magic, key, payload size, checksum

template <typename T>
void append(std::string& out, const T& value) {
    out.append(reinterpret_cast<const char*>(&value), sizeof value);
}

void appendTensor(std::string& out, const at::Tensor& tensor) {
    const at::Tensor cpu = tensor.detach().to(at::kCPU).contiguous();
    const uint8_t dtype = cpu.scalar_type() == at::kDouble ? 1 : 0;
    const at::Tensor data = dtype == 1 ? cpu : cpu.to(at::kFloat);
    append(out, dtype);
    append(out, static_cast<uint8_t>(data.dim()));
    for (int64_t d = 0; d < data.dim(); ++d) append(out, static_cast<int64_t>(data.size(d)));
    out.append(static_cast<const char*>(data.data_ptr()), data.numel() * data.element_size());
}

// Bounds-checked reader over the payload; any overrun means a corrupt entry.
class Reader {
public:
    Reader(const std::string& bytes, size_t offset) : m_bytes(bytes), m_offset(offset) {}
    template <typename T>
    bool read(T& value) {
        if (m_bytes.size() - m_offset < sizeof value) return false;
        std::memcpy(&value, m_bytes.data() + m_offset, sizeof value);
        m_offset += sizeof value;
        return true;
    }
    bool readTensor(at::Tensor& tensor) {
        uint8_t dtype = 0, dims = 0;
        if (!read(dtype) || !read(dims) || dtype > 1 || dims > 8) return false;
        std::vector<int64_t> shape(dims);
        int64_t count = 1;
        for (auto& size : shape) {
            if (!read(size) || size < 0 || size > (int64_t(1) << 40)) return false;
            count *= size;
            if (count > (int64_t(1) << 40)) return false;
        }
        const size_t elementSize = dtype == 1 ? 8 : 4;
        const size_t bytes = size_t(count) * elementSize;
        if (m_bytes.size() - m_offset < bytes) return false;
        tensor = at::empty(shape, at::TensorOptions().dtype(dtype == 1 ? at::kDouble : at::kFloat));
        std::memcpy(tensor.data_ptr(), m_bytes.data() + m_offset, bytes);
        m_offset += bytes;
        return true;
    }
    bool atEnd() const { return m_offset == m_bytes.size(); }

private:
    const std::string& m_bytes;
    size_t m_offset;
};

struct CacheEntry {
    double error = 0.0;
    double errorRms = 0.0;
    int perInterval = 0;
    std::vector<at::Tensor> states;
    std::vector<at::Tensor> path;
};

std::string encodeEntry(uint64_t key, const CacheEntry& entry) {
    std::string payload;
    append(payload, entry.error);
    append(payload, entry.errorRms);
    append(payload, static_cast<int32_t>(entry.perInterval));
    append(payload, static_cast<uint32_t>(entry.states.size()));
    for (const auto& state : entry.states) appendTensor(payload, state);
    append(payload, static_cast<uint32_t>(entry.path.size()));
    for (const auto& state : entry.path) appendTensor(payload, state);
    std::string file(kMagic, sizeof kMagic);
    append(file, key);
    append(file, static_cast<uint64_t>(payload.size()));
    append(file, detail::fnv1a64(payload.data(), payload.size()));
    return file + payload;
}

// Validates magic, key, length and checksum before trusting a single payload byte.
std::optional<CacheEntry> decodeEntry(const std::string& bytes, uint64_t key, size_t expectedStates, bool expectPath) {
    if (bytes.size() < kHeaderSize || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) return std::nullopt;
    Reader header(bytes, sizeof kMagic);
    uint64_t storedKey = 0, payloadSize = 0, checksum = 0;
    header.read(storedKey);
    header.read(payloadSize);
    header.read(checksum);
    if (storedKey != key || payloadSize != bytes.size() - kHeaderSize) return std::nullopt;
    if (detail::fnv1a64(bytes.data() + kHeaderSize, payloadSize) != checksum) return std::nullopt;
    Reader reader(bytes, kHeaderSize);
    CacheEntry entry;
    int32_t perInterval = 0;
    uint32_t count = 0;
    if (!reader.read(entry.error) || !reader.read(entry.errorRms) || !reader.read(perInterval) || perInterval < 1 || !reader.read(count) ||
        count != expectedStates)
        return std::nullopt;
    entry.perInterval = perInterval;
    entry.states.resize(count);
    for (auto& state : entry.states)
        if (!reader.readTensor(state)) return std::nullopt;
    if (!reader.read(count)) return std::nullopt;
    if (expectPath && count == 0) return std::nullopt;
    entry.path.resize(count);
    for (auto& state : entry.path)
        if (!reader.readTensor(state)) return std::nullopt;
    if (!reader.atEnd()) return std::nullopt;
    return entry;
}

void hashTensor(detail::Fnv1a64& hash, const at::Tensor& tensor) {
    const at::Tensor cpu = tensor.detach().to(at::kCPU).contiguous();
    hash.updateField(std::string(c10::toString(cpu.scalar_type())));
    const int64_t dims = cpu.dim();
    hash.update(&dims, sizeof dims);
    for (int64_t d = 0; d < dims; ++d) {
        const int64_t size = cpu.size(d);
        hash.update(&size, sizeof size);
    }
    hash.update(cpu.data_ptr(), size_t(cpu.numel()) * cpu.element_size());
}

uint64_t cacheKey(const std::string& identity, const GuidedDenoiser& denoiser, const at::Tensor& noise,
                  const std::vector<double>& coarseTimes, int perInterval, const GroundTruthOptions& options) {
    detail::Fnv1a64 hash;
    hash.updateField("dcscope ground truth v2");  // v2: entries carry the RMS error
    hash.updateField(identity);
    hashTensor(hash, noise);
    const Conditioning& conditioning = denoiser.conditioning();
    if (conditioning.classes.defined()) {
        hash.updateField("classes");
        hashTensor(hash, conditioning.classes.to(at::kLong));
    } else {
        hash.updateField("unconditional");
    }
    hash.update(&conditioning.guidanceScale, sizeof(double));
    const uint64_t count = coarseTimes.size();
    hash.update(&count, sizeof count);
    hash.update(coarseTimes.data(), coarseTimes.size() * sizeof(double));
    const int32_t fine = perInterval;
    hash.update(&fine, sizeof fine);
    hash.updateField(toString(options.fineSolver));
    const uint8_t flags = uint8_t(options.estimateError ? 1 : 0) | uint8_t(options.keepFinePath ? 2 : 0);
    hash.update(&flags, sizeof flags);
    return hash.value();
}

}  // namespace

FineSolver parseFineSolver(const std::string& name) {
    if (name == "ddim") return FineSolver::Ddim;
    if (name == "dpmpp2m") return FineSolver::DpmSolverPlusPlus2M;
    throw Error(ErrorCode::InvalidArgument, "fine-solver '" + name + "' is not one of ddim, dpmpp2m");
}

std::string toString(FineSolver solver) { return solver == FineSolver::Ddim ? "ddim" : "dpmpp2m"; }

std::string displayName(FineSolver solver) { return solver == FineSolver::Ddim ? "DDIM" : "DPM-Solver++ (2M)"; }

int defaultFineSteps(int coarseSteps) { return std::max(kDefaultFineStepsInAll, kDefaultFinePerInterval * coarseSteps); }

int resolveFineSteps(int fineSteps, int coarseSteps) {
    if (fineSteps < 0)
        throw Error(ErrorCode::InvalidArgument, "fine: must be >= 1 (or 0 for the default), got " + std::to_string(fineSteps));
    if (coarseSteps < 1) throw Error(ErrorCode::InvalidArgument, "nfe: must be >= 1, got " + std::to_string(coarseSteps));
    return fineSteps == kDefaultFineSteps ? defaultFineSteps(coarseSteps) : fineSteps;
}

std::string describeFineSteps(int fineSteps) {
    if (fineSteps != kDefaultFineSteps) return std::to_string(fineSteps);
    return "max(" + std::to_string(kDefaultFineStepsInAll) + ", " + std::to_string(kDefaultFinePerInterval) + " x NFE)";
}

int finePerInterval(int fineSteps, int coarseSteps) { return std::max(1, resolveFineSteps(fineSteps, coarseSteps) / coarseSteps); }

std::vector<double> fineTimeGrid(const NoiseSchedule& schedule, const std::vector<double>& coarseTimes, int perInterval) {
    if (coarseTimes.size() < 2) throw Error(ErrorCode::InvalidArgument, "ground truth: need at least two coarse times");
    if (perInterval < 1) throw Error(ErrorCode::InvalidArgument, "fine: steps per interval must be >= 1");
    std::vector<double> times;
    times.reserve((coarseTimes.size() - 1) * size_t(perInterval) + 1);
    for (size_t k = 0; k + 1 < coarseTimes.size(); ++k) {
        const double from = coarseTimes[k], to = coarseTimes[k + 1];
        if (!(to < from)) throw Error(ErrorCode::InvalidArgument, "ground truth: coarse times must decrease");
        times.push_back(from);
        const double lambdaFrom = schedule.lambda(from), lambdaTo = schedule.lambda(to);
        for (int j = 1; j < perInterval; ++j) {
            const double t = schedule.inverseLambda(lambdaFrom + (lambdaTo - lambdaFrom) * j / perInterval);
            if (!(t < times.back() && t > to))
                throw Error(ErrorCode::InvalidArgument, "fine: too many fine steps for the interval [" + std::to_string(to) + ", " +
                                                            std::to_string(from) + "] (times must decrease)");
            times.push_back(t);
        }
    }
    times.push_back(coarseTimes.back());
    return times;
}

std::string defaultGroundTruthCacheDir() {
    const char* xdg = std::getenv("XDG_CACHE_HOME");
    if (xdg && *xdg && fs::path(xdg).is_absolute()) return (fs::path(xdg) / "dcscope" / "gt").string();
    const char* home = std::getenv("HOME");
    if (home && *home) return (fs::path(home) / ".cache" / "dcscope" / "gt").string();
    return {};
}

std::string modelIdentity(const DiffusionModel& model) {
    const std::string& source = model.info().source;
    if (source.rfind("builtin:", 0) == 0) return source;
    if (source.empty()) return {};
    if (isMixtureModelSpec(source)) {
        // The file's bytes, but only while they still describe the model in memory: a file
        // edited on disk after loading must not file this model's ground truth under its new
        // contents (a later load of the new file would then get the old model's answers).
        try {
            const auto* mixture = dynamic_cast<const GaussianMixtureModel*>(&model);
            if (!mixture) return {};
            const std::string bytes = readFile(source);
            const auto onDisk = makeMixtureModel(parseMixtureDefinition(bytes, source), source);
            if (definitionOf(*onDisk) != definitionOf(*mixture)) return {};
            return "mixture:" + hex64(detail::fnv1a64(bytes.data(), bytes.size()));
        } catch (const std::exception&) {
            return {};  // unreadable or no longer a mixture file: not cacheable
        }
    }
    try {
        const fs::path folder(source);
        const std::string manifest = readFile((folder / "model.json").string());
        const auto document = nlohmann::json::parse(manifest);
        const fs::path network = folder / document.at("network").get<std::string>();
        std::ifstream in(network, std::ios::binary);
        if (!in) return {};
        // Streamed: a network file can be gigabytes.
        detail::Fnv1a64 hash;
        std::vector<char> buffer(1 << 20);
        uint64_t size = 0;
        while (in) {
            in.read(buffer.data(), std::streamsize(buffer.size()));
            const auto got = in.gcount();
            hash.update(buffer.data(), size_t(got));
            size += uint64_t(got);
        }
        if (in.bad()) return {};
        return "package:" + hex64(detail::fnv1a64(manifest.data(), manifest.size())) + ":" + std::to_string(size) + ":" +
               hex64(hash.value());
    } catch (const std::exception&) {
        return {};  // not a readable package: not cacheable
    }
}

GroundTruth computeGroundTruth(GuidedDenoiser& denoiser, const at::Tensor& noise, const std::vector<double>& coarseTimes,
                               const GroundTruthOptions& options, const GroundTruthProgress& progress) {
    at::NoGradGuard noGrad;
    denoiser.validateNoise(noise);
    if (coarseTimes.size() < 2) throw Error(ErrorCode::InvalidArgument, "ground truth: need at least two coarse times");
    const int coarseSteps = static_cast<int>(coarseTimes.size()) - 1;
    const int perInterval = finePerInterval(options.fineSteps, coarseSteps);
    const NoiseSchedule& schedule = denoiser.model().schedule();

    GroundTruth result;
    result.coarseTimes = coarseTimes;
    result.finePerInterval = perInterval;
    result.fineTimes = fineTimeGrid(schedule, coarseTimes, perInterval);

    // Cache lookup.
    std::string cacheFile;
    uint64_t key = 0;
    if (options.useCache) {
        const std::string identity = options.modelIdentity.empty() ? modelIdentity(denoiser.model()) : options.modelIdentity;
        const std::string folder = options.cacheDir.empty() ? defaultGroundTruthCacheDir() : options.cacheDir;
        if (!identity.empty() && !folder.empty()) {
            key = cacheKey(identity, denoiser, noise, coarseTimes, perInterval, options);
            cacheFile = (fs::path(folder) / (hex64(key) + ".gt")).string();
        }
    }
    if (!cacheFile.empty()) {
        std::error_code ec;
        if (fs::exists(cacheFile, ec)) {
            std::optional<CacheEntry> entry;
            try {
                entry = decodeEntry(readFile(cacheFile), key, coarseTimes.size(), options.keepFinePath);
            } catch (const Error&) {
                entry.reset();  // unreadable counts as corrupt
            }
            if (entry && entry->perInterval == perInterval) {
                result.error = entry->error;
                result.errorRms = entry->errorRms;
                for (auto& state : entry->states) result.states.push_back(state.to(noise.device(), noise.scalar_type()));
                for (auto& state : entry->path) result.finePath.push_back(state.to(noise.device(), noise.scalar_type()));
                result.fromCache = true;
                result.cacheFile = cacheFile;
                return result;
            }
            // Never trusted: deleted, then recomputed and rewritten below.
            fs::remove(cacheFile, ec);
            result.discardedCorruptEntry = true;
        }
    }

    const int halfPerInterval = std::max(1, perInterval / 2);
    const bool halve = options.estimateError && perInterval > 1;
    const int total = coarseSteps * perInterval + (halve ? coarseSteps * halfPerInterval : 0);
    const int nfeBefore = denoiser.nfe();
    int done = 0;
    FineSolve fine = solveFine(denoiser, noise, result.fineTimes, perInterval, options.fineSolver, options.keepFinePath, done,
                               total, progress);
    result.states = std::move(fine.coarseStates);
    result.finePath = std::move(fine.path);
    result.error = result.errorRms = std::numeric_limits<double>::quiet_NaN();
    if (halve) {
        const auto halfTimes = fineTimeGrid(schedule, coarseTimes, halfPerInterval);
        const FineSolve half =
            solveFine(denoiser, noise, halfTimes, halfPerInterval, options.fineSolver, false, done, total, progress);
        const at::Tensor change = half.coarseStates.back().to(at::kDouble) - result.states.back().to(at::kDouble);
        result.error = change.abs().max().item<double>();
        result.errorRms = std::sqrt(change.pow(2).mean().item<double>());
    }
    result.modelEvaluations = denoiser.nfe() - nfeBefore;

    if (!cacheFile.empty()) {
        std::error_code ec;
        fs::create_directories(fs::path(cacheFile).parent_path(), ec);
        try {
            writeFileAtomically(cacheFile, encodeEntry(key, {result.error, result.errorRms, perInterval, result.states, result.finePath}));
            result.cacheFile = cacheFile;
        } catch (const Error&) {
            // A read-only or full cache folder costs only the recomputation next time.
        }
    }
    return result;
}

}  // namespace dcscope
