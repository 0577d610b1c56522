#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dcscope/cancel.h"
#include "dcscope/ground_truth.h"
#include "dcscope/mixture_definition.h"
#include "dcscope/solver.h"

/// One job for the inference worker: sample a batch twice from the same noise, plainly and with
/// dynamic compensation, optionally against core's ground truth. Built on the GUI thread and then
/// shared read-only (std::shared_ptr<const SamplingRequest>); afterwards only the cancel token is
/// touched, by the GUI setting it (atomically) to cancel or supersede the job.
struct SamplingRequest {
    /// classChoice: give the samples the classes 0, 1, ..., K-1, 0, 1, ... in turn.
    static constexpr int kEachClassInTurn = -1;
    /// classChoice: the model's null class (no condition).
    static constexpr int kUnconditional = -2;

    int id = 0;                                  ///< assigned by InferenceController::submit()
    std::string modelSpec;                       ///< package folder, mixture file or builtin:NAME
    /// A mixture the user shaped in the trajectory view (from modelSpec's mixture): sampled
    /// instead of modelSpec's model; null: modelSpec's model.
    std::shared_ptr<const dcscope::MixtureDefinition> editedMixture;
    std::string device = "cpu";                  ///< cpu | cuda | cuda:N
    dcscope::SolverConfig solver;                ///< its ratios are ignored; see `ratios`
    std::vector<double> ratios;                  ///< for the compensated run; empty or all 1: none
    uint64_t seed = 0;                           ///< sample b is datapoint seed + b (core's makeDatapoints)
    int batchSize = 16;
    int classChoice = kEachClassInTurn;          ///< or a class index 0..K-1
    double guidanceScale = 1.0;                  ///< classifier-free guidance w
    bool computeGroundTruth = true;              ///< core's ground truth for the error curves and GT images
    int groundTruthFineSteps = dcscope::kDefaultFineSteps;  ///< fine steps of the ground truth (over all S intervals; 0: the default)
    /// Find the DC ratios first with core's quick search (cached on disk) and use them instead
    /// of `ratios`: for models that ship none.
    bool quickSearch = false;
    int intraOpThreads = 0;                      ///< model threads; 0: OMP_NUM_THREADS or every available CPU
    std::shared_ptr<dcscope::CancelToken> cancel = std::make_shared<dcscope::CancelToken>();
};
