// `dcscope-cli search-bench`: cost and held-out quality of the ratio search, rho = 1 vs the public
// reference's own search (adamw on its own target) vs adamw vs scan (the default) and golden,
// over several NFE. Timing lives here, never in unit tests.
#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <cstdio>

#include "cli_commands.h"
#include "cli_common.h"
#include "cli_search_common.h"
#include "dcscope/errors.h"
#include "dcscope/evaluation.h"
#include "dcscope/guided_denoiser.h"
#include "dcscope/search.h"

namespace dcscope::cli {
namespace {

struct SearchBenchFlags {
    ModelFlags model{"builtin:gmm-image", "cpu"};
    SolverFlags solver;
    GroundTruthFlags truth;
    std::vector<int> nfes{5, 6, 8, 10};
    double cfg = 7.5;
    int datapoints = 10;
    int heldout = 256;
    int repeats = 5;
    uint64_t seed = 0;
    std::optional<uint64_t> heldOutSeed;  // default: seed + kHeldOutSeedOffset
    std::vector<std::string> methods{"ref", "adamw", "scan"};
    bool showRatios = false;
    SearchOptions search;
};

struct MethodTotals {
    std::string name;
    long evaluations = 0;
    double seconds = 0.0;
    std::vector<double> perDatapoint;  // held-out MSE per datapoint, averaged over the repeats
};

double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    const size_t n = values.size();
    return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

// The public reference records its search target with this many plain DDIM steps (spec section
// 6), whatever ground truth judges the result: so `ref` stays the reference's own search when
// --fine or --fine-solver sharpen the ground truth. Its target lags t_k by up to one of these
// steps, and how far it lags changes the ratios it finds (README, "What the search achieves").
constexpr int kReferenceFineSteps = 200;

// The states of one plain DDIM run of `fineSteps` time-uniform steps, as the public reference
// records them for its search (`ref_ts`, `ref_xs`). It does not depend on the coarse grid, so the
// bench computes it once per search batch for all NFE.
struct FinePath {
    std::vector<double> times;
    std::vector<at::Tensor> states;
};

FinePath plainDdimPath(GuidedDenoiser& denoiser, const at::Tensor& noise, int fineSteps) {
    SolverConfig ddim;
    ddim.solver = SolverType::Ddim;
    ddim.order = 1;
    ddim.steps = fineSteps;
    ddim.grid = TimeGrid::TimeUniform;
    const MultistepSampler fine(denoiser.model().schedule(), ddim);
    SamplerState state = fine.start(denoiser, noise);
    FinePath path{fine.times(), {state.x}};
    for (int j = 0; j < fineSteps; ++j) {
        state = fine.advance(denoiser, state, 1.0);
        path.states.push_back(state.x);
    }
    return path;
}

// The target of the reference's own search: the state at the last fine time strictly ABOVE t_k
// stands in for the ground truth at t_k (its `np.where(ref_ts > t)[0].max()`); at t_0 = T that
// is the noise itself.
GroundTruth referenceSearchTarget(const FinePath& path, const std::vector<double>& coarseTimes) {
    GroundTruth target;
    target.coarseTimes = coarseTimes;
    for (double t : coarseTimes) {
        size_t above = 0;
        while (above + 1 < path.times.size() && path.times[above + 1] > t) ++above;  // times decrease
        target.states.push_back(path.states[above]);
    }
    return target;
}

// A method of the bench: an optimiser against the exact ground truth; "ref", the reference's own
// search (adamw against its own target); or "ref-scan", the greedy scan (without the final-state
// refinement) against the reference's target, which tells whether a difference between ref and
// the greedy scan comes from the optimiser or from the target.
struct BenchMethod {
    std::string name;
    RatioOptimizer optimizer;
    bool referenceTarget;
};

std::vector<BenchMethod> parseMethods(const std::vector<std::string>& names) {
    std::vector<BenchMethod> methods;
    for (const auto& name : names) {
        if (name == "ref") methods.push_back({name, RatioOptimizer::AdamW, true});
        else if (name == "ref-scan") methods.push_back({name, RatioOptimizer::Scan, true});
        else methods.push_back({name, parseRatioOptimizer(name), false});  // names the bad method
    }
    if (methods.empty()) throw Error(ErrorCode::InvalidArgument, "methods: need at least one of ref, ref-scan, adamw, golden, scan");
    return methods;
}

// One search's ratios, for --show-ratios.
struct SearchedRatios {
    std::string method;
    uint64_t firstSeed;
    std::vector<double> ratios;
};

void printRatios(int nfe, const SearchedRatios& searched) {
    std::printf("%4d  %-8s ratios of the batch from seed %llu:", nfe, searched.method.c_str(),
                static_cast<unsigned long long>(searched.firstSeed));
    for (double rho : searched.ratios) std::printf(" %.4f", rho);
    std::printf("\n");
}

const MethodTotals* findTotals(const std::vector<MethodTotals>& totals, const std::string& name) {
    for (const auto& total : totals)
        if (total.name == name) return &total;
    return nullptr;
}

// Held-out MSEs are heavy-tailed at high guidance (a few datapoints switch modes or blow up), and
// a 10-datapoint search batch is a noisy sample: so every search is repeated on `repeats`
// independent batches (seeds seed + r * datapoints) and scored on one large held-out set. Every
// ratio of held-out MSEs carries a 95% bootstrap interval over the held-out datapoints.
void runSearchBench(const SearchBenchFlags& flags) {
    if (flags.repeats < 1) throw Error(ErrorCode::InvalidArgument, "repeats: must be >= 1");
    if (flags.heldout < 2) throw Error(ErrorCode::InvalidArgument, "heldout: need at least 2 datapoints for an interval");
    if (flags.nfes.empty()) throw Error(ErrorCode::InvalidArgument, "nfe: need at least one value");
    const std::vector<BenchMethod> methods = parseMethods(flags.methods);
    for (const auto& method : methods) {  // each method's options, before any ground truth is computed
        SearchOptions options = flags.search;
        options.optimizer = method.optimizer;
        validate(options);
    }
    const auto model = openModel(flags.model);
    const c10::Device device = parseDevice(flags.model.device);
    const GroundTruthOptions truthOptions = toGroundTruthOptions(flags.truth);
    const uint64_t heldOutSeed = flags.heldOutSeed.value_or(flags.seed + kHeldOutSeedOffset);
    if (heldOutSeed < flags.seed + uint64_t(flags.repeats) * uint64_t(flags.datapoints) &&
        heldOutSeed + uint64_t(flags.heldout) > flags.seed)
        throw Error(ErrorCode::InvalidArgument, "heldout-seed: the held-out datapoints overlap the search batches");
    const Datapoints heldOut = makeDatapoints(*model, heldOutSeed, flags.heldout);
    GuidedDenoiser heldOutDenoiser(*model, Conditioning{heldOut.classes, flags.cfg}, &interruptToken());
    const at::Tensor heldOutNoise = heldOut.noise.to(device);
    const std::string defaultMethod = toString(SearchOptions{}.optimizer);

    SolverFlags solverFlags = flags.solver;
    solverFlags.nfe = flags.nfes.front();
    std::printf("search-bench: %s, %s, cfg %g; %d search batch(es) of %d datapoints (seeds from %llu), %d held-out datapoints "
                "(seeds from %llu); ground truth %s %s steps\n",
                model->info().source.c_str(), solverLabel(toSolverConfig(solverFlags)).c_str(), flags.cfg, flags.repeats,
                flags.datapoints, static_cast<unsigned long long>(flags.seed), flags.heldout,
                static_cast<unsigned long long>(heldOutSeed), describeFineSteps(truthOptions.fineSteps).c_str(),
                toString(truthOptions.fineSolver).c_str());
    std::printf("ref: adamw against the reference's target (a plain %d-step time-uniform DDIM run, state at the last fine time "
                "above t_k); ref-scan: the greedy scan against that target; %s is the default search\n", kReferenceFineSteps,
                defaultMethod.c_str());
    std::printf("evals, seconds: per search; MSE: held-out mean with its 95%% t interval; ratio: MSE / MSE(rho=1) with its 95%% "
                "bootstrap interval; med.rat: median over datapoints of the per-datapoint ratio\n");
    std::printf("%4s  %-8s %7s %9s %12s  %-27s %7s  %-17s %8s\n", "NFE", "method", "evals", "seconds", "held-out MSE", "95% interval",
                "ratio", "ratio 95% interval", "med.rat");
    std::vector<FinePath> referencePaths(size_t(flags.repeats));  // one per search batch, shared by all NFE
    for (int nfe : flags.nfes) {
        solverFlags.nfe = nfe;
        const SolverConfig config = toSolverConfig(solverFlags);
        const MultistepSampler sampler(model->schedule(), config);
        std::vector<MethodTotals> totals{{"rho=1", 0, 0.0, {}}};
        for (const auto& method : methods) totals.push_back({method.name, 0, 0.0, {}});
        for (auto& total : totals) total.perDatapoint.assign(size_t(flags.heldout), 0.0);
        double truthError = 0.0, truthErrorRms = 0.0, searchTruthErrorRms = 0.0;
        std::vector<SearchedRatios> searchedRatios;
        for (int r = 0; r < flags.repeats; ++r) {
            const Datapoints search = makeDatapoints(*model, flags.seed + uint64_t(r) * uint64_t(flags.datapoints), flags.datapoints);
            GuidedDenoiser searchDenoiser(*model, Conditioning{search.classes, flags.cfg}, &interruptToken());
            const at::Tensor searchNoise = search.noise.to(device);
            const GroundTruth truth = computeGroundTruth(searchDenoiser, searchNoise, sampler.times(), truthOptions);
            searchTruthErrorRms = worseGroundTruthError(searchTruthErrorRms, truth.errorRms);
            GroundTruth referenceTarget;
            std::vector<EvaluationEntry> entries{{totals[0].name, config}};
            for (size_t m = 0; m < methods.size(); ++m) {
                if (methods[m].referenceTarget && referenceTarget.states.empty()) {
                    if (referencePaths[size_t(r)].states.empty())
                        referencePaths[size_t(r)] = plainDdimPath(searchDenoiser, searchNoise, kReferenceFineSteps);
                    referenceTarget = referenceSearchTarget(referencePaths[size_t(r)], sampler.times());
                }
                SearchOptions options = flags.search;
                options.optimizer = methods[m].optimizer;
                if (methods[m].referenceTarget) {  // the reference's target has no predictions to compare
                    options.finalRefineSteps = 0;
                    options.predictionLoss = false;
                }
                const SearchResult result =
                    searchRatios(searchDenoiser, searchNoise, config, methods[m].referenceTarget ? referenceTarget : truth, options);
                searchedRatios.push_back({methods[m].name, search.firstSeed, result.ratios});
                MethodTotals& total = totals[m + 1];
                total.evaluations += result.evaluations;
                total.seconds += result.seconds;
                SolverConfig searched = config;
                searched.ratios = result.ratios;
                entries.push_back({total.name, searched});
            }
            const HeldOutEvaluation evaluation = evaluateHeldOut(heldOutDenoiser, heldOutNoise, entries, truthOptions);
            truthError = worseGroundTruthError(truthError, evaluation.groundTruthError);
            truthErrorRms = worseGroundTruthError(truthErrorRms, evaluation.groundTruthErrorRms);
            for (size_t m = 0; m < totals.size(); ++m)
                for (size_t d = 0; d < totals[m].perDatapoint.size(); ++d)
                    totals[m].perDatapoint[d] += evaluation.rows[m].perDatapoint[d] / flags.repeats;
        }
        double smallestMse = std::numeric_limits<double>::infinity();
        std::vector<RatioInterval> ratios;
        for (const auto& total : totals) {
            const MeanInterval mse = meanWithInterval(total.perDatapoint);
            smallestMse = std::min(smallestMse, mse.mean);
            const RatioInterval ratio = ratioOfMeansInterval(total.perDatapoint, totals[0].perDatapoint);
            ratios.push_back(ratio);
            std::vector<double> perDatapointRatios;
            for (size_t d = 0; d < total.perDatapoint.size(); ++d)
                perDatapointRatios.push_back(total.perDatapoint[d] / totals[0].perDatapoint[d]);
            std::printf("%4d  %-8s %7.1f %9.4f %12.4e  [%11.4e, %11.4e] %7.4f  [%6.4f, %6.4f] %8.4f\n", nfe, total.name.c_str(),
                        double(total.evaluations) / flags.repeats, total.seconds / flags.repeats, mse.mean, mse.lower, mse.upper,
                        ratio.ratio, ratio.lower, ratio.upper, median(perDatapointRatios));
        }
        if (flags.showRatios)
            for (const auto& searched : searchedRatios) printRatios(nfe, searched);
        // The default search against the reference's and adamw's, where the bench ran them.
        const MethodTotals* chosen = findTotals(totals, defaultMethod);
        const MethodTotals* reference = findTotals(totals, "ref");
        const MethodTotals* adamw = findTotals(totals, "adamw");
        if (chosen && reference) {
            const size_t c = size_t(chosen - totals.data()), f = size_t(reference - totals.data());
            const RatioInterval paired = ratioOfMeansInterval(chosen->perDatapoint, reference->perDatapoint);
            const char* verdict = ratios[c].ratio <= ratios[f].ratio ? "at or below ref"
                                  : ratios[c].lower > ratios[f].upper ? "WORSE than ref (intervals apart)"
                                                                      : "above ref, intervals overlap";
            std::printf("%4d  %s/ref held-out MSE %.4f [%.4f, %.4f] (paired bootstrap): %s\n", nfe, defaultMethod.c_str(), paired.ratio,
                        paired.lower, paired.upper, verdict);
        }
        if (chosen && adamw)
            std::printf("%4d  %s/adamw: evaluations %.3f (target <= 0.333), held-out MSE %.4f\n", nfe, defaultMethod.c_str(),
                        double(chosen->evaluations) / std::max(1L, adamw->evaluations),
                        meanWithInterval(chosen->perDatapoint).mean / meanWithInterval(adamw->perDatapoint).mean);
        std::printf("%4d  ground-truth error (held out): max %.2e, rms %.2e; search batch rms %.2e; smallest rms error %.2e\n", nfe,
                    truthError, truthErrorRms, searchTruthErrorRms, std::sqrt(smallestMse));
        const std::string warning = groundTruthWarning(truthErrorRms, smallestMse, truthOptions.fineSolver);
        if (!warning.empty()) std::printf("%4d  %s\n", nfe, warning.c_str());
        std::fflush(stdout);
    }
}

}  // namespace

void registerSearchBenchCommand(CLI::App& app) {
    auto flags = std::make_shared<SearchBenchFlags>();
    CLI::App* command = app.add_subcommand(
        "search-bench", "Ratio search cost and held-out MSE: rho = 1 vs the reference's search vs adamw vs scan (and golden)");
    command->add_option("--model", flags->model.model, "Model package folder, builtin:NAME, or default (the embedded package)")
        ->capture_default_str();
    command->add_option("--device", flags->model.device, "cpu, cuda or cuda:N")->capture_default_str();
    command->add_option("--nfe", flags->nfes, "NFE values")->delimiter(',')->capture_default_str();
    addSolverFlags(*command, flags->solver, SolverFlagSet::WithoutRatiosOrNfe);
    command->add_option("--cfg", flags->cfg, "Classifier-free guidance scale")->capture_default_str();
    command->add_option("--datapoints", flags->datapoints, "Search batch size")->capture_default_str();
    command->add_option("--heldout", flags->heldout, "Held-out datapoints")->capture_default_str();
    command->add_option("--repeats", flags->repeats, "Independent search batches per NFE (results averaged)")->capture_default_str();
    command->add_option("--seed", flags->seed, "First search seed (held-out from seed + 1000000)")->capture_default_str();
    command->add_option("--heldout-seed", flags->heldOutSeed,
                        "First held-out seed (default seed + 1000000): runs with other --seed can share held-out data and its cached "
                        "ground truth");
    command->add_option("--methods", flags->methods, "Searches to compare: ref, ref-scan, adamw, golden, scan")
        ->delimiter(',')
        ->capture_default_str();
    command->add_flag("--show-ratios", flags->showRatios, "Print the ratios of every search");
    addOptimizerFlags(*command, flags->search);
    addGroundTruthFlags(*command, flags->truth);
    command->callback([flags] { runSearchBench(*flags); });
}

}  // namespace dcscope::cli
