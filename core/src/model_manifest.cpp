#include "dcscope/model_manifest.h"

#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>

#include "dcscope/errors.h"

namespace dcscope {
namespace fs = std::filesystem;

namespace {

// One sample of the largest package this accepts: the load-time probe allocates a batch of two.
constexpr int64_t kMaxSampleElements = int64_t(1) << 26;

[[noreturn]] void badManifest(const std::string& path, const std::string& message) {
    throw Error(ErrorCode::BadFile, path + ": " + message);
}

const nlohmann::json& requireField(const nlohmann::json& object, const char* key, const std::string& path,
                                   const std::string& prefix = "") {
    if (!object.contains(key)) badManifest(path, "missing field '" + prefix + key + "'");
    return object[key];
}

std::string requireString(const nlohmann::json& object, const char* key, const std::string& path, const std::string& prefix = "") {
    const auto& value = requireField(object, key, path, prefix);
    if (!value.is_string() || value.get<std::string>().empty()) badManifest(path, "field '" + prefix + key + "' must be a non-empty string");
    return value.get<std::string>();
}

bool fitsInt(const nlohmann::json& value) {
    if (value.is_number_unsigned()) return value.get<uint64_t>() <= uint64_t(std::numeric_limits<int>::max());
    if (!value.is_number_integer()) return false;
    const auto number = value.get<int64_t>();
    return number >= std::numeric_limits<int>::min() && number <= std::numeric_limits<int>::max();
}

int requireInt(const nlohmann::json& object, const char* key, const std::string& path, const std::string& prefix = "") {
    const auto& value = requireField(object, key, path, prefix);
    // Range first: get<int>() would wrap 4294967306 to 10.
    if (!fitsInt(value)) badManifest(path, "field '" + prefix + key + "' must be an integer");
    return value.get<int>();
}

void readSampleShape(const nlohmann::json& manifest, const std::string& where, ModelInfo& info) {
    const auto& shape = requireField(manifest, "sample_shape", where);
    const std::string message = "field 'sample_shape' must be a list of 1-4 positive integers";
    if (!shape.is_array() || shape.empty() || shape.size() > 4) badManifest(where, message);
    int64_t elements = 1;
    for (const auto& dim : shape) {
        if (!dim.is_number_integer() || dim.get<int64_t>() <= 0 || dim.get<int64_t>() > 65536) badManifest(where, message);
        info.sampleShape.push_back(dim.get<int64_t>());
        elements *= dim.get<int64_t>();  // at most 2^26 * 2^16: no overflow
        if (elements > kMaxSampleElements)
            badManifest(where, "field 'sample_shape' has more than " + std::to_string(kMaxSampleElements) + " elements per sample");
    }
}

void readConditioning(const nlohmann::json& manifest, const std::string& where, ModelInfo& info) {
    const auto& conditioning = requireField(manifest, "conditioning", where);
    if (!conditioning.is_object()) badManifest(where, "field 'conditioning' must be an object");
    const std::string type = requireString(conditioning, "type", where, "conditioning.");
    if (type == "none") return;
    if (type != "class") badManifest(where, "field 'conditioning.type' must be 'none' or 'class'");
    info.numClasses = requireInt(conditioning, "num_classes", where, "conditioning.");
    if (info.numClasses < 1 || info.numClasses > 100000) badManifest(where, "field 'conditioning.num_classes' must be >= 1");
    info.nullClass = requireInt(conditioning, "null_class", where, "conditioning.");
    if (info.nullClass >= 0 && info.nullClass < info.numClasses)
        badManifest(where, "field 'conditioning.null_class' must not be one of the classes 0.." + std::to_string(info.numClasses - 1));
    if (info.nullClass < 0) badManifest(where, "field 'conditioning.null_class' must be >= 0");
    if (conditioning.contains("labels")) {
        const auto& labels = conditioning["labels"];
        if (!labels.is_array() || labels.size() != size_t(info.numClasses))
            badManifest(where, "field 'conditioning.labels' must list num_classes strings");
        for (const auto& label : labels) {
            if (!label.is_string()) badManifest(where, "field 'conditioning.labels' must list num_classes strings");
            info.labels.push_back(label.get<std::string>());
        }
    } else {
        for (int c = 0; c < info.numClasses; ++c) info.labels.push_back("class " + std::to_string(c));
    }
}

}  // namespace

ModelManifest readModelManifest(const nlohmann::json& manifest, const std::string& where) {
    if (!manifest.is_object()) badManifest(where, "top level must be an object");
    ModelInfo info;
    info.source = fs::absolute(fs::path(where).parent_path()).lexically_normal().string();
    info.name = requireString(manifest, "name", where);
    const std::string networkFile = requireString(manifest, "network", where);
    try {
        info.predictionType = parsePredictionType(requireString(manifest, "prediction_type", where));
    } catch (const Error& e) {
        badManifest(where, std::string("field 'prediction_type': ") + e.what());
    }
    const auto& schedulerJson = requireField(manifest, "scheduler", where);
    NoiseSchedule schedule = NoiseSchedule::fromConfig(schedulerJson, where + " (field 'scheduler')");
    readSampleShape(manifest, where, info);
    readConditioning(manifest, where, info);

    if (manifest.contains("value_range")) {
        const auto& range = manifest["value_range"];
        if (!range.is_array() || range.size() != 2 || !range[0].is_number() || !range[1].is_number() ||
            !(range[0].get<double>() < range[1].get<double>()))
            badManifest(where, "field 'value_range' must be [low, high] with low < high");
        info.valueRange = {range[0].get<double>(), range[1].get<double>()};
    }
    const std::string decoderFile = manifest.contains("decoder") ? requireString(manifest, "decoder", where) : std::string();
    // Checked here so that a package naming a missing or malformed ratio file fails at load.
    auto compensation = readPackageCompensation(manifest, where);
    return ModelManifest{std::move(info), std::move(schedule), networkFile, decoderFile, std::move(compensation)};
}

}  // namespace dcscope
