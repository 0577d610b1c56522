#pragma once

#include "dcscope/ground_truth.h"
#include "dcscope/solver.h"

namespace dcscope::testing {

/// A solver configuration with everything else at its defaults.
inline SolverConfig configFor(SolverType solver, int order, int steps) {
    SolverConfig config;
    config.solver = solver;
    config.order = order;
    config.steps = steps;
    return config;
}

/// Ground-truth options that neither read nor write the on-disk cache (tests stay hermetic).
inline GroundTruthOptions uncached() {
    GroundTruthOptions options;
    options.useCache = false;
    return options;
}

}  // namespace dcscope::testing
