#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "dcscope/cpr.h"
#include "dcscope/compensation.h"

// A throwaway package folder for the manifest targets, so that inputs naming its files reach the
// checks behind them: compensation/cpr.npy and two ratio files (nfe 5 and 6, cfg 1). Created on
// first use, removed at exit.
class FuzzPackageFolder {
public:
    static const std::string& manifestPath() {
        static FuzzPackageFolder folder;
        return folder.m_manifest;
    }

private:
    FuzzPackageFolder() {
        namespace fs = std::filesystem;
        std::string pattern = (fs::temp_directory_path() / "dcscope_fuzz_XXXXXX").string();
        if (!mkdtemp(pattern.data())) std::abort();
        m_folder = pattern;
        fs::create_directories(m_folder / "compensation");
        dcscope::CprCoefficients coefficients{};
        coefficients[0] = 1.0;
        dcscope::saveCprCoefficients((m_folder / "compensation" / "cpr.npy").string(), coefficients);
        dcscope::saveRatios((m_folder / "compensation" / "ratios_nfe5_cfg1.json").string(), {1, 1, 1.16, 1.07, 1.16},
                            {{"nfe", 5}, {"cfg", 1.0}});
        dcscope::saveRatios((m_folder / "compensation" / "ratios_nfe6_cfg1.json").string(), {1, 1, 1.1, 1.0, 0.9, 1.2},
                            {{"nfe", 6}, {"cfg", 1.0}});
        m_manifest = (m_folder / "model.json").string();
    }
    ~FuzzPackageFolder() {
        std::error_code ignored;
        std::filesystem::remove_all(m_folder, ignored);
    }
    std::filesystem::path m_folder;
    std::string m_manifest;
};
