#include "dcscope/reproduction.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "dcscope/errors.h"
#include "dcscope/search.h"
#include "fnv1a.h"

namespace dcscope {

namespace {

using Json = nlohmann::ordered_json;

// The datapoint recipe, spelled out in the record so that other tools can regenerate the noise.
constexpr const char* kRngGenerator = "torch.cpu";
constexpr const char* kRngSeeding = "seed+index";
constexpr const char* kRngDistribution = "randn";
constexpr const char* kDtype = "float32";

std::string hex(uint64_t value, int digits) {
    static const char* kDigits = "0123456789abcdef";
    std::string text(size_t(digits), '0');
    for (int i = digits - 1; i >= 0; --i, value >>= 4) text[size_t(i)] = kDigits[value & 0xf];
    return text;
}

// The shortest decimal that reads back as the same double ("3", "0.95", "0.1").
std::string formatNumber(double value) {
    char buffer[40];
    for (int precision = 1; precision <= 17; ++precision) {
        std::snprintf(buffer, sizeof buffer, "%.*g", precision, value);
        if (std::strtod(buffer, nullptr) == value) break;
    }
    return buffer;
}

// ---- strict reading: every error names the field ---------------------------------------------

class Reader {
public:
    explicit Reader(std::string source) : m_source(std::move(source)) {}

    [[noreturn]] void fail(const std::string& field, const std::string& what) const {
        throw Error(ErrorCode::BadFile, m_source + ": field '" + field + "' " + what);
    }

    const Json& field(const Json& object, const std::string& prefix, const char* key) const {
        if (!object.contains(key)) fail(prefix + key, "is missing");
        return object[key];
    }
    const Json& object(const Json& parent, const std::string& prefix, const char* key) const {
        const Json& value = field(parent, prefix, key);
        if (!value.is_object()) fail(prefix + key, "must be an object");
        onlyKnownMembers(value, prefix + key + ".");
        return value;
    }
    std::string string(const Json& object, const std::string& prefix, const char* key, bool allowEmpty = false) const {
        const Json& value = field(object, prefix, key);
        if (!value.is_string() || (!allowEmpty && value.get<std::string>().empty()))
            fail(prefix + key, allowEmpty ? "must be a string" : "must be a non-empty string");
        return value.get<std::string>();
    }
    bool boolean(const Json& object, const std::string& prefix, const char* key) const {
        const Json& value = field(object, prefix, key);
        if (!value.is_boolean()) fail(prefix + key, "must be true or false");
        return value.get<bool>();
    }
    int64_t integer(const Json& value, const std::string& name, int64_t low, int64_t high) const {
        // Range first: get<int>() would wrap 4294967306 to 10.
        bool inRange = false;
        if (value.is_number_unsigned()) {
            const uint64_t number = value.get<uint64_t>();
            inRange = high >= 0 && number <= uint64_t(high) && (low <= 0 || number >= uint64_t(low));
        } else if (value.is_number_integer()) {
            inRange = value.get<int64_t>() >= low && value.get<int64_t>() <= high;
        }
        if (!inRange) fail(name, "must be an integer in " + std::to_string(low) + ".." + std::to_string(high));
        return value.get<int64_t>();
    }
    int64_t integer(const Json& object, const std::string& prefix, const char* key, int64_t low, int64_t high) const {
        return integer(field(object, prefix, key), prefix + key, low, high);
    }
    uint64_t unsignedInteger(const Json& object, const std::string& prefix, const char* key) const {
        const Json& value = field(object, prefix, key);
        if (!value.is_number_unsigned() && !(value.is_number_integer() && value.get<int64_t>() >= 0))
            fail(prefix + key, "must be a non-negative integer");
        return value.get<uint64_t>();
    }
    double number(const Json& value, const std::string& name) const {
        if (!value.is_number() || !std::isfinite(value.get<double>())) fail(name, "must be a finite number");
        return value.get<double>();
    }
    const Json& array(const Json& object, const std::string& prefix, const char* key) const {
        const Json& value = field(object, prefix, key);
        if (!value.is_array()) fail(prefix + key, "must be a list");
        return value;
    }
    void onlyKnownMembers(const Json& object, const std::string& prefix) const;

private:
    std::string m_source;
};

// Members this version writes; anything else means a record this version does not understand.
const std::vector<std::pair<std::string, std::vector<std::string>>>& knownMembers() {
    static const std::vector<std::pair<std::string, std::vector<std::string>>> known = {
        {"", {"format", "version", "software", "model", "solver", "seed", "batchSize", "rng", "device", "dtype", "guidance",
              "classes", "groundTruth", "mse", "png", "result"}},
        {"model.", {"spec", "name", "identity"}},
        {"solver.", {"solver", "variant", "order", "steps", "grid", "lowerOrderFinal", "disabledCorrectors", "dcOrder", "ratios"}},
        {"rng.", {"source", "generator", "seeding", "distribution", "dtype", "file"}},
        {"groundTruth.", {"fineSteps", "fineSolver"}},
        {"png.", {"columns"}},
        {"result.", {"shape", "dtype", "fnv1a64"}},
    };
    return known;
}

void Reader::onlyKnownMembers(const Json& object, const std::string& prefix) const {
    for (const auto& [where, names] : knownMembers()) {
        if (where != prefix) continue;
        for (const auto& item : object.items())
            if (std::find(names.begin(), names.end(), item.key()) == names.end()) fail(prefix + item.key(), "is not part of this format");
        return;
    }
}

template <typename Parse>
auto parseName(const Reader& reader, const Json& object, const std::string& prefix, const char* key, Parse parse) {
    const std::string text = reader.string(object, prefix, key);
    try {
        return parse(text);
    } catch (const Error&) {
        reader.fail(prefix + key, "has the unknown value '" + text + "'");
    }
}

bool isDeviceName(const std::string& name) {
    if (name == "cpu" || name == "cuda") return true;
    if (name.rfind("cuda:", 0) != 0 || name.size() == 5 || name.size() > 8) return false;
    return name.find_first_not_of("0123456789", 5) == std::string::npos;
}

SolverConfig readSolver(const Reader& reader, const Json& document) {
    const std::string p = "solver.";
    const Json& solver = reader.object(document, "", "solver");
    SolverConfig config;
    config.solver = parseName(reader, solver, p, "solver", parseSolverType);
    config.variant = parseName(reader, solver, p, "variant", parseUniPCVariant);
    config.order = int(reader.integer(solver, p, "order", 1, 3));
    config.steps = int(reader.integer(solver, p, "steps", 1, 100000));
    config.grid = parseName(reader, solver, p, "grid", parseTimeGrid);
    config.lowerOrderFinal = reader.boolean(solver, p, "lowerOrderFinal");
    const Json& disabled = reader.array(solver, p, "disabledCorrectors");
    for (size_t i = 0; i < disabled.size(); ++i)
        config.disabledCorrectors.push_back(
            int(reader.integer(disabled[i], p + "disabledCorrectors[" + std::to_string(i) + "]", 0, config.steps - 1)));
    config.dcOrder = int(reader.integer(solver, p, "dcOrder", 1, 3));
    const Json& ratios = reader.array(solver, p, "ratios");
    for (size_t i = 0; i < ratios.size(); ++i) config.ratios.push_back(reader.number(ratios[i], p + "ratios[" + std::to_string(i) + "]"));
    try {
        validate(config);
    } catch (const Error& error) {
        reader.fail("solver", std::string("is impossible: ") + error.what());
    }
    return config;
}

void readBatch(const Reader& reader, const Json& document, ReproductionRecord& record) {
    record.seed = reader.unsignedInteger(document, "", "seed");
    record.batchSize = int(reader.integer(document, "", "batchSize", 1, kMaxReproductionBatch));
    const Json& rng = reader.object(document, "", "rng");
    const std::string source = reader.string(rng, "rng.", "source");
    if (source == "datapoints") {
        record.noiseSource = NoiseSource::Datapoints;
        const std::pair<const char*, const char*> recipe[] = {
            {"generator", kRngGenerator}, {"seeding", kRngSeeding}, {"distribution", kRngDistribution}, {"dtype", kDtype}};
        for (const auto& [key, expected] : recipe)
            if (reader.string(rng, "rng.", key) != expected) reader.fail(std::string("rng.") + key, std::string("must be '") + expected + "'");
    } else if (source == "npy") {
        record.noiseSource = NoiseSource::NpyFile;
        record.noiseFile = reader.string(rng, "rng.", "file");
    } else {
        reader.fail("rng.source", "must be 'datapoints' or 'npy'");
    }
    record.device = reader.string(document, "", "device");
    if (!isDeviceName(record.device)) reader.fail("device", "must be cpu, cuda or cuda:N");
    record.dtype = reader.string(document, "", "dtype");
    if (record.dtype != kDtype) reader.fail("dtype", "must be 'float32'");
    record.guidance = reader.number(reader.field(document, "", "guidance"), "guidance");
    const Json& classes = reader.array(document, "", "classes");
    if (!classes.empty() && classes.size() != size_t(record.batchSize))
        reader.fail("classes", "must list one class per sample (" + std::to_string(record.batchSize) + ") or none");
    for (size_t i = 0; i < classes.size(); ++i)
        record.classes.push_back(reader.integer(classes[i], "classes[" + std::to_string(i) + "]", 0, 100000 - 1));
}

void readResult(const Reader& reader, const Json& document, ReproductionRecord& record) {
    const Json& png = reader.object(document, "", "png");
    record.pngColumns = int(reader.integer(png, "png.", "columns", 1, kMaxReproductionBatch));
    const Json& result = reader.object(document, "", "result");
    const Json& shape = reader.array(result, "result.", "shape");
    if (shape.size() < 2 || shape.size() > 5) reader.fail("result.shape", "must list 2 to 5 dimensions");
    for (size_t i = 0; i < shape.size(); ++i)
        record.resultShape.push_back(reader.integer(shape[i], "result.shape[" + std::to_string(i) + "]", 1, 1 << 26));
    if (record.resultShape[0] != record.batchSize) reader.fail("result.shape", "must start with batchSize");
    if (reader.string(result, "result.", "dtype") != kDtype) reader.fail("result.dtype", "must be 'float32'");
    record.resultHash = reader.string(result, "result.", "fnv1a64");
    if (record.resultHash.size() != 16 || record.resultHash.find_first_not_of("0123456789abcdef") != std::string::npos)
        reader.fail("result.fnv1a64", "must be 16 lower-case hex digits");
}

}  // namespace

// ---- hashes and filling ------------------------------------------------------------------------

std::string tensorHash(const at::Tensor& tensor) {
    if (!tensor.defined() || tensor.scalar_type() != at::kFloat)
        throw Error(ErrorCode::InvalidArgument, "tensorHash: the tensor must be float32");
    const at::Tensor values = tensor.detach().to(at::kCPU).contiguous();
    return hex(detail::fnv1a64(values.data_ptr(), size_t(values.numel()) * sizeof(float)), 16);
}

std::string shortModelHash(const std::string& identity) {
    if (identity.empty()) return {};
    return hex(detail::fnv1a64(identity.data(), identity.size()), 16).substr(0, 10);
}

void setModel(ReproductionRecord& record, const std::string& spec, const DiffusionModel& model) {
    record.modelSpec = spec;
    record.modelName = model.info().name;
    record.modelIdentity = modelIdentity(model);
}

void setResult(ReproductionRecord& record, const at::Tensor& result) {
    record.resultShape.assign(result.sizes().begin(), result.sizes().end());
    record.resultHash = tensorHash(result);
}

std::vector<int64_t> classList(const at::Tensor& classes) {
    if (!classes.defined()) return {};
    const at::Tensor values = classes.to(at::kCPU, at::kLong).contiguous();
    return std::vector<int64_t>(values.data_ptr<int64_t>(), values.data_ptr<int64_t>() + values.numel());
}

// ---- JSON --------------------------------------------------------------------------------------

std::string toJson(const ReproductionRecord& record) {
    const SolverConfig& solver = record.solver;
    Json document;
    document["format"] = kReproductionFormatName;
    document["version"] = record.formatVersion;
    document["software"] = record.software;
    document["model"] = {{"spec", record.modelSpec}, {"name", record.modelName}, {"identity", record.modelIdentity}};
    document["solver"] = {{"solver", toString(solver.solver)},
                          {"variant", toString(solver.variant)},
                          {"order", solver.order},
                          {"steps", solver.steps},
                          {"grid", toString(solver.grid)},
                          {"lowerOrderFinal", solver.lowerOrderFinal},
                          {"disabledCorrectors", solver.disabledCorrectors},
                          {"dcOrder", solver.dcOrder},
                          {"ratios", solver.ratios}};
    document["seed"] = record.seed;
    document["batchSize"] = record.batchSize;
    if (record.noiseSource == NoiseSource::Datapoints)
        document["rng"] = {{"source", "datapoints"}, {"generator", kRngGenerator}, {"seeding", kRngSeeding},
                           {"distribution", kRngDistribution}, {"dtype", kDtype}};
    else
        document["rng"] = {{"source", "npy"}, {"file", record.noiseFile}};
    document["device"] = record.device;
    document["dtype"] = record.dtype;
    document["guidance"] = record.guidance;
    document["classes"] = record.classes;
    if (record.groundTruth)
        document["groundTruth"] = {{"fineSteps", record.groundTruth->fineSteps}, {"fineSolver", toString(record.groundTruth->fineSolver)}};
    if (record.mse && std::isfinite(*record.mse)) document["mse"] = *record.mse;
    document["png"] = {{"columns", record.pngColumns}};
    document["result"] = {{"shape", record.resultShape}, {"dtype", kDtype}, {"fnv1a64", record.resultHash}};
    try {
        return document.dump();
    } catch (const nlohmann::json::type_error&) {
        // A path given in another encoding: replacing its bytes would name another file.
        throw Error(ErrorCode::InvalidArgument, "reproduction record: a text field (model spec, noise file, ...) is not valid UTF-8");
    }
}

ReproductionRecord parseReproductionRecord(const std::string& json, const std::string& source) {
    const Reader reader(source);
    Json document;
    try {
        document = Json::parse(json);
    } catch (const nlohmann::json::exception& error) {
        // nlohmann's message says where ("at line 1, column 17"); keep it after our own words.
        throw Error(ErrorCode::BadFile, source + ": malformed JSON (" + error.what() + ")");
    }
    if (!document.is_object()) throw Error(ErrorCode::BadFile, source + ": the record must be a JSON object");
    if (reader.string(document, "", "format") != kReproductionFormatName)
        reader.fail("format", std::string("must be '") + kReproductionFormatName + "'");
    ReproductionRecord record;
    record.formatVersion = int(reader.integer(document, "", "version", 1, std::numeric_limits<int>::max()));
    if (record.formatVersion != kReproductionFormatVersion)
        reader.fail("version", "is " + std::to_string(record.formatVersion) + "; this dcscope reads version " +
                                   std::to_string(kReproductionFormatVersion) + " (a newer dcscope wrote it?)");
    reader.onlyKnownMembers(document, "");
    record.software = reader.string(document, "", "software", true);
    const Json& model = reader.object(document, "", "model");
    record.modelSpec = reader.string(model, "model.", "spec");
    record.modelName = reader.string(model, "model.", "name");
    record.modelIdentity = reader.string(model, "model.", "identity", true);
    record.solver = readSolver(reader, document);
    readBatch(reader, document, record);
    if (document.contains("groundTruth")) {
        const Json& groundTruth = reader.object(document, "", "groundTruth");
        ReproductionGroundTruth settings;
        settings.fineSteps = int(reader.integer(groundTruth, "groundTruth.", "fineSteps", 1, 10000000));
        settings.fineSolver = parseName(reader, groundTruth, "groundTruth.", "fineSolver", parseFineSolver);
        record.groundTruth = settings;
    }
    if (document.contains("mse")) {
        record.mse = reader.number(document["mse"], "mse");
        if (*record.mse < 0) reader.fail("mse", "must be >= 0");
    }
    readResult(reader, document, record);
    return record;
}

// ---- the A1111-style line ----------------------------------------------------------------------

std::string parametersText(const ReproductionRecord& record) {
    const SolverConfig& solver = record.solver;
    const bool compensated = std::any_of(solver.ratios.begin(), solver.ratios.end(), [](double rho) { return rho != 1.0; });
    std::string text = "Steps: " + std::to_string(solver.steps) + ", Sampler: " + displayName(solver) + (compensated ? " + DC" : "") +
                       ", CFG scale: " + formatNumber(record.guidance) + ", Seed: " + std::to_string(record.seed);
    const auto& shape = record.resultShape;
    if (shape.size() >= 3) text += ", Size: " + std::to_string(shape.back()) + "x" + std::to_string(shape[shape.size() - 2]);
    text += ", Model: " + record.modelName;
    const std::string hash = shortModelHash(record.modelIdentity);
    if (!hash.empty()) text += ", Model hash: " + hash;
    text += ", Batch size: " + std::to_string(record.batchSize) + ", NFE: " + std::to_string(solver.steps) +
            ", Time grid: " + toString(solver.grid);
    if (!solver.ratios.empty()) {
        text += ", DC order: " + std::to_string(solver.dcOrder) + ", Ratios: ";
        for (size_t i = 0; i < solver.ratios.size(); ++i) text += (i ? "," : "") + formatNumber(solver.ratios[i]);
    }
    // One line: a model name from a package could hold anything.
    for (char& c : text)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
    return text;
}

// ---- back to a run -----------------------------------------------------------------------------

void checkModelMatches(const ReproductionRecord& record, const DiffusionModel& model, const std::string& source) {
    const auto& info = model.info();
    const std::string identity = modelIdentity(model);
    if (!record.modelIdentity.empty() && !identity.empty() && identity != record.modelIdentity)
        throw Error(ErrorCode::BadFile, source + ": field 'model.identity' names another model than " + record.modelSpec +
                                            " holds now (" + shortModelHash(record.modelIdentity) + " vs " + shortModelHash(identity) +
                                            "): the package changed");
    std::vector<int64_t> expected{record.batchSize};
    expected.insert(expected.end(), info.sampleShape.begin(), info.sampleShape.end());
    if (record.resultShape != expected) {
        std::ostringstream message;
        message << source << ": field 'result.shape' " << c10::IntArrayRef(record.resultShape) << " does not match the model's "
                << c10::IntArrayRef(expected);
        throw Error(ErrorCode::BadFile, message.str());
    }
    if (!record.classes.empty() && !model.isConditional())
        throw Error(ErrorCode::BadFile, source + ": field 'classes' given, but model '" + info.name + "' is unconditional");
    for (size_t i = 0; i < record.classes.size(); ++i)
        if (record.classes[i] >= info.numClasses)
            throw Error(ErrorCode::BadFile, source + ": field 'classes[" + std::to_string(i) + "]' is outside 0.." +
                                                std::to_string(info.numClasses - 1));
}

at::Tensor classesTensor(const ReproductionRecord& record) {
    if (record.classes.empty()) return {};
    return at::tensor(record.classes, at::TensorOptions().dtype(at::kLong));
}

at::Tensor datapointNoise(const ReproductionRecord& record, const DiffusionModel& model) {
    if (record.noiseSource != NoiseSource::Datapoints)
        throw Error(ErrorCode::InvalidArgument, "datapointNoise: the record's noise comes from " + record.noiseFile);
    return makeDatapoints(model, record.seed, record.batchSize).noise;
}

}  // namespace dcscope
