// Mixture model files: a Gaussian mixture written down as JSON, accepted wherever a model is.
//
// Format "dcscope-mixture", version 1:
//   {
//     "format": "dcscope-mixture",
//     "version": 1,
//     "name": "ring",
//     "description": "one line",                       (optional, default none)
//     "labels": ["left", "right"],                     (optional, default ["all"])
//     "components": [
//       {"mean": [-0.5, 0.0], "weight": 1.0, "std": 0.08, "class": 0},
//       ...                                            (1 to 64 components)
//     ]
//   }
// Per component only "mean" is required: "weight" defaults to 1 (weights are normalised, so
// only their ratios matter), "std" to 0.1, "class" to 0. Every mean has the same number of
// values (the dimension, at least 1). Fields this version does not know are rejected rather
// than ignored, so that a misspelt "stdev" is an error instead of a silent default of 0.1.
// At most 64 components: the trajectory view's density shader holds that many.
#include "dcscope/mixture_definition.h"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <set>

#include "dcscope/errors.h"
#include "dcscope/gaussian_mixture_model.h"
#include "dcscope/npy.h"

namespace dcscope {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

constexpr double kDefaultWeight = 1.0;
constexpr double kDefaultStd = 0.1;
// A mixture file is a few kilobytes; a bigger ".json" is something else, not worth reading whole.
constexpr uintmax_t kMaxFileBytes = 16u << 20;

// Numbers in messages as JSON writes them (shortest form that reads back), NaN and inf by name.
std::string formatNumber(double value) {
    if (std::isnan(value)) return "nan";
    if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
    return Json(value).dump();
}

// A JSON value in a message: short, on one line (dump() escapes control characters).
std::string describeValue(const Json& value) {
    std::string text = value.dump(-1, ' ', false, Json::error_handler_t::replace);
    if (text.size() > 40) text = text.substr(0, 37) + "...";
    return text;
}

std::string componentField(size_t index, const std::string& field) {
    return "components[" + std::to_string(index) + "]" + (field.empty() ? "" : "." + field);
}

std::string classOutOfRange(const std::string& value, size_t labelCount) {
    return value + " is out of range (" + std::to_string(labelCount) + (labelCount == 1 ? " label: class 0)" : " labels: classes 0.." + std::to_string(labelCount - 1) + ")");
}

void requirePositiveFinite(double value, const std::string& field) {
    if (!std::isfinite(value)) throw Error(ErrorCode::InvalidArgument, field + ": must be finite, got " + formatNumber(value));
    if (!(value > 0)) throw Error(ErrorCode::InvalidArgument, field + ": must be > 0, got " + formatNumber(value));
}

std::string plural(size_t count, const std::string& noun) {
    return std::to_string(count) + " " + noun + (count == 1 ? "" : noun.back() == 's' ? "es" : "s");
}

// What a model from a file without a description says about itself. definitionOf() recognises
// it and leaves the description empty, so that saving an edit does not freeze a stale one.
std::string generatedDescription(const std::string& name, const std::string& source, size_t components, size_t classes) {
    const std::string from = source.empty() ? "(unsaved)" : "from " + fs::path(source).filename().string();
    return name + ": Gaussian mixture " + from + ", " + plural(components, "component") + ", " + plural(classes, "class");
}

// ---- parsing: every failure is a message naming the field; the caller adds the file ------

struct FieldError {
    std::string message;
};

[[noreturn]] void fail(const std::string& message) { throw FieldError{message}; }

void rejectUnknownFields(const Json& object, const std::set<std::string>& known, const std::string& prefix) {
    for (const auto& item : object.items()) {
        if (known.count(item.key())) continue;
        std::string have;
        for (const auto& name : known) have += (have.empty() ? "" : ", ") + name;
        fail(prefix + item.key() + ": unknown field (version 1 has " + have + ")");
    }
}

std::string stringField(const Json& value, const std::string& field) {
    if (!value.is_string()) fail(field + ": expected a string, got " + describeValue(value));
    return value.get<std::string>();
}

double numberField(const Json& value, const std::string& field) {
    if (!value.is_number()) fail(field + ": expected a number, got " + describeValue(value));
    return value.get<double>();
}

int classField(const Json& value, const std::string& field, size_t labelCount) {
    if (!value.is_number_integer()) fail(field + ": expected an integer, got " + describeValue(value));
    // Outside int the value cannot be a class; say so in validate()'s words.
    if (value.is_number_unsigned() ? value.get<uint64_t>() > uint64_t(INT_MAX)
                                   : (value.get<int64_t>() > INT_MAX || value.get<int64_t>() < INT_MIN))
        fail(field + ": " + classOutOfRange(value.dump(), labelCount));
    return value.get<int>();
}

MixtureComponent parseComponent(const Json& value, size_t index, size_t labelCount) {
    const std::string prefix = componentField(index, "");
    if (!value.is_object()) fail(prefix + ": expected an object like {\"mean\": [0, 0]}, got " + describeValue(value));
    rejectUnknownFields(value, {"mean", "weight", "std", "class"}, prefix + ".");
    MixtureComponent component;
    const auto mean = value.find("mean");
    if (mean == value.end()) fail(prefix + ".mean: missing");
    if (!mean->is_array()) fail(prefix + ".mean: expected a list of numbers, got " + describeValue(*mean));
    for (size_t j = 0; j < mean->size(); ++j)
        component.mean.push_back(numberField((*mean)[j], prefix + ".mean[" + std::to_string(j) + "]"));
    component.weight = value.contains("weight") ? numberField(value["weight"], prefix + ".weight") : kDefaultWeight;
    component.std = value.contains("std") ? numberField(value["std"], prefix + ".std") : kDefaultStd;
    component.classIndex = value.contains("class") ? classField(value["class"], prefix + ".class", labelCount) : 0;
    return component;
}

MixtureDefinition parseDocument(const Json& document) {
    if (!document.is_object()) fail("expected a JSON object with \"format\": \"" + std::string(kMixtureFormat) + "\"");
    const auto format = document.find("format");
    if (format == document.end() || !format->is_string() || format->get<std::string>() != kMixtureFormat)
        fail("format: expected \"" + std::string(kMixtureFormat) + "\"" +
             (format == document.end() ? ", missing" : ", got " + describeValue(*format)));
    const auto version = document.find("version");
    if (version == document.end()) fail("version: missing (this dcscope reads " + std::to_string(kMixtureFormatVersion) + ")");
    if (!version->is_number_integer()) fail("version: expected an integer, got " + describeValue(*version));
    if (version->is_number_unsigned() ? version->get<uint64_t>() > uint64_t(kMixtureFormatVersion)
                                      : version->get<int64_t>() > kMixtureFormatVersion)
        fail("version " + version->dump() + " is newer than this dcscope reads (" + std::to_string(kMixtureFormatVersion) + ")");
    if (version->get<int64_t>() < 1)
        fail("version: expected " + std::to_string(kMixtureFormatVersion) + ", got " + version->dump());
    rejectUnknownFields(document, {"format", "version", "name", "description", "labels", "components"}, "");

    MixtureDefinition definition;
    if (!document.contains("name")) fail("name: missing");
    definition.name = stringField(document["name"], "name");
    if (document.contains("description")) definition.description = stringField(document["description"], "description");
    if (document.contains("labels")) {
        const Json& labels = document["labels"];
        if (!labels.is_array()) fail("labels: expected a list of strings, got " + describeValue(labels));
        for (size_t c = 0; c < labels.size(); ++c) definition.labels.push_back(stringField(labels[c], "labels[" + std::to_string(c) + "]"));
    } else {
        definition.labels = {"all"};
    }
    const auto components = document.find("components");
    if (components == document.end()) fail("components: missing");
    if (!components->is_array()) fail("components: expected a list of components, got " + describeValue(*components));
    for (size_t i = 0; i < components->size(); ++i)
        definition.components.push_back(parseComponent((*components)[i], i, definition.labels.size()));
    return definition;
}

// One line, without nlohmann's "[json.exception.parse_error.101] " prefix.
std::string jsonErrorText(const std::exception& error) {
    std::string text = error.what();
    if (!text.empty() && text[0] == '[') {
        const auto end = text.find("] ");
        if (end != std::string::npos) text = text.substr(end + 2);
    }
    return text;
}

}  // namespace

bool MixtureComponent::operator==(const MixtureComponent& other) const {
    return mean == other.mean && weight == other.weight && std == other.std && classIndex == other.classIndex;
}

bool MixtureDefinition::operator==(const MixtureDefinition& other) const {
    return name == other.name && description == other.description && labels == other.labels && components == other.components;
}

void MixtureDefinition::validate() const {
    const auto invalid = [](const std::string& message) { throw Error(ErrorCode::InvalidArgument, message); };
    if (name.empty()) invalid("name: must not be empty");
    if (labels.empty()) invalid("labels: need at least one label (one per class)");
    if (components.empty()) invalid("components: need at least one component");
    if (components.size() > size_t(kMaxMixtureComponents))
        invalid("components: " + std::to_string(components.size()) + " components, more than the " +
                std::to_string(kMaxMixtureComponents) + " a mixture may have (the trajectory view's density shader draws at most " +
                std::to_string(kMaxMixtureComponents) + ")");
    const size_t dims = components[0].mean.size();
    for (size_t i = 0; i < components.size(); ++i) {
        const MixtureComponent& component = components[i];
        if (component.mean.empty()) invalid(componentField(i, "mean") + ": dimension 0, need at least one number");
        if (component.mean.size() != dims)
            invalid(componentField(i, "mean") + ": expected " + plural(dims, "number") + " like components[0], got " +
                    std::to_string(component.mean.size()));
        for (size_t j = 0; j < dims; ++j)
            if (!std::isfinite(component.mean[j]))
                invalid(componentField(i, "mean") + "[" + std::to_string(j) + "]: must be finite, got " + formatNumber(component.mean[j]));
        requirePositiveFinite(component.weight, componentField(i, "weight"));
        requirePositiveFinite(component.std, componentField(i, "std"));
        if (component.classIndex < 0 || size_t(component.classIndex) >= labels.size())
            invalid(componentField(i, "class") + ": " + classOutOfRange(std::to_string(component.classIndex), labels.size()));
    }
}

MixtureDefinition parseMixtureDefinition(const std::string& text, const std::string& file) {
    Json document;
    try {
        document = Json::parse(text);
    } catch (const Json::exception& error) {
        throw Error(ErrorCode::BadFile, file + ": not valid JSON (" + jsonErrorText(error) + ")");
    }
    try {
        MixtureDefinition definition = parseDocument(document);
        definition.validate();
        return definition;
    } catch (const FieldError& error) {
        throw Error(ErrorCode::BadFile, file + ": " + error.message);
    } catch (const Error& error) {
        throw Error(ErrorCode::BadFile, file + ": " + error.what());
    }
}

MixtureDefinition readMixtureDefinition(const std::string& path) {
    const auto cannotRead = [&](const std::string& why) { throw Error(ErrorCode::BadFile, path + ": cannot read (" + why + ")"); };
    std::error_code ec;
    if (fs::is_directory(path, ec)) cannotRead("is a folder, not a mixture file");
    std::FILE* file = std::fopen(path.c_str(), "rb");
    if (!file) cannotRead(std::strerror(errno));
    std::string text;
    char buffer[1 << 14];
    size_t got = 0;
    while ((got = std::fread(buffer, 1, sizeof buffer, file)) > 0) {
        text.append(buffer, got);
        if (text.size() > kMaxFileBytes) {
            std::fclose(file);
            cannotRead("larger than " + std::to_string(kMaxFileBytes >> 20) + " MiB, not a mixture file");
        }
    }
    const bool failed = std::ferror(file);
    const int error = errno;
    std::fclose(file);
    if (failed) cannotRead(std::strerror(error));
    return parseMixtureDefinition(text, path);
}

std::string mixtureDefinitionJson(const MixtureDefinition& definition) {
    // Laid out by hand: one line per component reads (and diffs) better than JSON's one line per
    // number. Values go through nlohmann so strings are escaped and doubles read back exactly.
    const auto value = [](const Json& json) { return json.dump(-1, ' ', false, Json::error_handler_t::replace); };
    std::string text = "{\n";
    text += "  \"format\": " + value(kMixtureFormat) + ",\n";
    text += "  \"version\": " + std::to_string(kMixtureFormatVersion) + ",\n";
    text += "  \"name\": " + value(definition.name) + ",\n";
    text += "  \"description\": " + value(definition.description) + ",\n";
    text += "  \"labels\": [";
    for (size_t c = 0; c < definition.labels.size(); ++c) text += (c ? ", " : "") + value(definition.labels[c]);
    text += "],\n  \"components\": [\n";
    for (size_t i = 0; i < definition.components.size(); ++i) {
        const MixtureComponent& component = definition.components[i];
        text += "    {\"mean\": [";
        for (size_t j = 0; j < component.mean.size(); ++j) text += (j ? ", " : "") + value(component.mean[j]);
        text += "], \"weight\": " + value(component.weight) + ", \"std\": " + value(component.std) +
                ", \"class\": " + std::to_string(component.classIndex) + "}";
        text += i + 1 < definition.components.size() ? ",\n" : "\n";
    }
    text += "  ]\n}\n";
    return text;
}

void writeMixtureDefinition(const std::string& path, const MixtureDefinition& definition) {
    // A file this dcscope could not read back is not written (JSON has no NaN; it would be null).
    try {
        definition.validate();
    } catch (const Error& error) {
        throw Error(ErrorCode::InvalidArgument, path + ": not written: " + error.what());
    }
    writeFileAtomically(path, mixtureDefinitionJson(definition));
}

bool isMixtureModelSpec(const std::string& spec) {
    const std::string suffix = ".json";
    if (spec.size() <= suffix.size() || spec.compare(spec.size() - suffix.size(), suffix.size(), suffix) != 0) return false;
    return fs::path(spec).filename() != "model.json";
}

std::shared_ptr<GaussianMixtureModel> makeMixtureModel(const MixtureDefinition& definition, const std::string& source) {
    definition.validate();
    std::vector<std::vector<double>> means;
    std::vector<int> classes;
    std::vector<double> weights, stds;
    for (const MixtureComponent& component : definition.components) {
        means.push_back(component.mean);
        classes.push_back(component.classIndex);
        weights.push_back(component.weight);
        stds.push_back(component.std);
    }
    const auto dims = static_cast<int64_t>(definition.components[0].mean.size());
    const std::string description = definition.description.empty()
        ? generatedDescription(definition.name, source, definition.components.size(), definition.labels.size())
        : definition.description;
    auto info = GaussianMixtureModel::mixtureInfo(definition.name, source, {dims}, static_cast<int>(definition.labels.size()),
                                                  definition.labels, description);
    return std::make_shared<GaussianMixtureModel>(std::move(info), GaussianMixtureModel::builtinSchedule(), std::move(means),
                                                  std::move(classes), std::move(weights), std::move(stds));
}

MixtureDefinition definitionOf(const GaussianMixtureModel& model) {
    const ModelInfo& info = model.info();
    MixtureDefinition definition;
    definition.name = info.name;
    // An unconditional model is one class that holds every component.
    const bool conditional = model.isConditional() && !info.labels.empty();
    definition.labels = conditional ? info.labels : std::vector<std::string>{"all"};
    const auto classes = model.componentClass().to(at::kCPU);
    const auto& means = model.meanValues();
    for (size_t i = 0; i < means.size(); ++i) {
        MixtureComponent component;
        component.mean = means[i];
        component.weight = model.givenWeights()[i];
        component.std = model.componentStds()[i];
        component.classIndex = conditional ? static_cast<int>(classes[int64_t(i)].item<int64_t>()) : 0;
        definition.components.push_back(std::move(component));
    }
    if (info.description != generatedDescription(info.name, info.source, means.size(), definition.labels.size()))
        definition.description = info.description;
    return definition;
}

}  // namespace dcscope
