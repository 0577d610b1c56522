// `dcscope-cli cpr fit|predict`: cascade polynomial regression of the ratios (spec section 7).
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli_commands.h"
#include "cli_common.h"
#include "dcscope/cpr.h"
#include "dcscope/errors.h"

namespace dcscope::cli {
namespace {

struct CprFitFlags {
    std::vector<std::string> files;
    std::string out;
};

struct CprPredictFlags {
    std::string coefficients;
    int nfe = 0;
    double cfg = 1.0;
};

void runFit(const CprFitFlags& flags) {
    std::vector<CprSample> samples;
    for (const auto& path : flags.files) samples.push_back(loadCprSample(path));
    const CprFit fit = fitCpr(samples);
    saveCprCoefficients(flags.out, fit.coefficients);
    std::printf("fitted 36 coefficients to %d equations from %zu ratio files (condition number %.3g) -> %s\n", fit.equations,
                samples.size(), fit.conditionNumber, flags.out.c_str());
    std::printf("%-40s %8s %5s %12s %12s\n", "file", "cfg", "nfe", "rms resid", "max resid");
    for (const auto& residual : fit.residuals)
        std::printf("%-40s %8g %5d %12.4e %12.4e\n", residual.source.c_str(), residual.guidance, residual.steps, residual.rms,
                    residual.maxAbs);
}

void runPredict(const CprPredictFlags& flags) {
    const auto ratios = predictCprRatios(loadCprCoefficients(flags.coefficients), flags.cfg, flags.nfe);
    nlohmann::json list = ratios;
    std::printf("%s\n", list.dump().c_str());
}

}  // namespace

void registerCprCommand(CLI::App& app) {
    CLI::App* group = app.add_subcommand("cpr", "Cascade polynomial regression of the compensation ratios");
    group->require_subcommand(1);

    auto fit = std::make_shared<CprFitFlags>();
    CLI::App* fitCommand = group->add_subcommand("fit", "Fit 36 coefficients to searched ratio files over a (cfg, nfe) grid");
    fitCommand->add_option("files", fit->files, "Ratio files written by search (need cfg metadata)")->required();
    fitCommand->add_option("--out", fit->out, "Coefficients to write (.npy, 36 float64)")->required();
    fitCommand->callback([fit] { runFit(*fit); });

    auto predict = std::make_shared<CprPredictFlags>();
    CLI::App* predictCommand = group->add_subcommand("predict", "Print the ratios predicted for an NFE and guidance as JSON");
    predictCommand->add_option("--coeffs", predict->coefficients, "Coefficients (.npy, 36 values)")->required();
    predictCommand->add_option("--nfe", predict->nfe, "Number of steps")->required();
    predictCommand->add_option("--cfg", predict->cfg, "Classifier-free guidance scale")->required();
    predictCommand->callback([predict] { runPredict(*predict); });
}

}  // namespace dcscope::cli
