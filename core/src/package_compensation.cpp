#include "dcscope/package_compensation.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "dcscope/errors.h"
#include "dcscope/npy.h"

namespace dcscope {
namespace fs = std::filesystem;

namespace {

[[noreturn]] void badEntry(const std::string& manifestPath, const std::string& message) {
    throw Error(ErrorCode::BadFile, manifestPath + ": " + message);
}

std::string resolveFile(const nlohmann::json& value, const std::string& field, const std::string& manifestPath) {
    if (!value.is_string() || value.get<std::string>().empty())
        badEntry(manifestPath, "field '" + field + "' must name a file (a non-empty string)");
    const fs::path file = fs::path(manifestPath).parent_path() / value.get<std::string>();
    // The non-throwing overload: a name the system refuses (too long, ...) is a bad entry too,
    // not a std::filesystem::filesystem_error.
    std::error_code error;
    if (!fs::is_regular_file(file, error)) {
        const bool missing = !error || error == std::errc::no_such_file_or_directory || error == std::errc::not_a_directory;
        badEntry(manifestPath, "field '" + field + "' names " + file.string() +
                                   (missing ? ", which does not exist" : ", which cannot be read (" + error.message() + ")"));
    }
    return fs::absolute(file).lexically_normal().string();
}

}  // namespace

std::optional<PackageCompensation> readPackageCompensation(const nlohmann::json& manifest, const std::string& manifestPath) {
    if (!manifest.is_object() || !manifest.contains("compensation")) return std::nullopt;
    const auto& entry = manifest["compensation"];
    if (!entry.is_object()) badEntry(manifestPath, "field 'compensation' must be an object");
    PackageCompensation result;
    if (entry.contains("cpr")) {
        result.cprFile = resolveFile(entry["cpr"], "compensation.cpr", manifestPath);
        try {
            result.cpr = loadCprCoefficients(result.cprFile);
        } catch (const Error& e) {
            badEntry(manifestPath, std::string("field 'compensation.cpr': ") + e.what());
        }
    }
    if (entry.contains("ratio_files")) {
        const auto& files = entry["ratio_files"];
        if (!files.is_array()) badEntry(manifestPath, "field 'compensation.ratio_files' must be a list of file names");
        for (size_t i = 0; i < files.size(); ++i) {
            const std::string field = "compensation.ratio_files[" + std::to_string(i) + "]";
            const std::string file = resolveFile(files[i], field, manifestPath);
            try {
                result.ratioSamples.push_back(loadCprSample(file));
            } catch (const Error& e) {
                badEntry(manifestPath, "field '" + field + "': " + e.what());
            }
            result.ratioFiles.push_back(file);
        }
    }
    if (entry.contains("solver")) {
        if (!entry["solver"].is_string()) badEntry(manifestPath, "field 'compensation.solver' must be a string");
        result.solver = entry["solver"].get<std::string>();
    }
    if (!result.cpr && result.ratioFiles.empty())
        badEntry(manifestPath, "field 'compensation' names neither 'cpr' nor 'ratio_files'");
    return result;
}

std::optional<PackageCompensation> loadPackageCompensation(const std::string& package) {
    fs::path manifestPath(package);
    std::error_code error;  // non-throwing checks: an unusable path is "not found", an Error
    if (fs::is_directory(manifestPath, error)) manifestPath /= "model.json";
    const std::string where = manifestPath.string();
    if (!fs::is_regular_file(manifestPath, error)) throw Error(ErrorCode::BadFile, where + ": model package not found (need a folder with model.json)");
    nlohmann::json manifest;
    try {
        manifest = nlohmann::json::parse(readFile(where));
    } catch (const nlohmann::json::exception&) {
        throw Error(ErrorCode::BadFile, where + ": malformed JSON");
    }
    return readPackageCompensation(manifest, where);
}

CprCoefficients loadCprCoefficientsFrom(const std::string& path) {
    fs::path manifestPath(path);
    std::error_code error;
    if (fs::is_directory(manifestPath, error)) manifestPath /= "model.json";
    if (manifestPath.filename() != "model.json") return loadCprCoefficients(path);
    const auto compensation = loadPackageCompensation(manifestPath.string());
    if (!compensation || !compensation->cpr)
        throw Error(ErrorCode::BadFile, manifestPath.string() + ": the package has no 'compensation.cpr' entry");
    return *compensation->cpr;
}

}  // namespace dcscope
