#pragma once

#include <array>
#include <string>
#include <vector>

namespace dcscope {

/// Cascade polynomial regression (spec section 7): 36 coefficients C[m][j][l], m = 0..3,
/// j, l = 0..2, stored flat at index m*9 + j*3 + l.
using CprCoefficients = std::array<double, 36>;

/// Reads a .npy of 36 floating-point values (flat, or shaped 4x3x3). Throws Error(BadFile) naming
/// the file for a wrong count, a non-float dtype or non-finite values.
CprCoefficients loadCprCoefficients(const std::string& path);
/// The same from the file's bytes in memory; `source` names the file in errors. Any thread.
CprCoefficients parseCprCoefficients(const std::string& bytes, const std::string& source);
/// Writes the coefficients as a flat float64 .npy (the public file's layout), atomically.
void saveCprCoefficients(const std::string& path, const CprCoefficients& coefficients);

/// The 36 regressors of rho_k for guidance w, S steps and 1-based step k: with g = w/12,
/// n = S/50, x = k/S, feature[m*9 + j*3 + l] = x^m * g^(2-j) * n^(2-l), so rho_k = feature . C.
std::array<double, 36> cprFeatures(double guidance, int steps, int k);

/// rho_0..rho_{S-1} (0-based; the spec's 1-based k = index + 1), the first two being 1 by
/// definition. Throws Error(InvalidArgument) for steps < 1 or a non-finite guidance, and
/// Error(NonFinite) when the coefficients produce a non-finite ratio.
std::vector<double> predictCprRatios(const CprCoefficients& coefficients, double guidance, int steps);

/// Searched ratios of one (guidance, steps) configuration: the data of a fit.
struct CprSample {
    std::string source;  ///< file it came from (names it in errors and residuals)
    double guidance = 0.0;
    std::vector<double> ratios;  ///< S values; the steps count is ratios.size()
};
/// Reads a dcscope ratio file (an object with "ratios" and "cfg"). Throws Error(BadFile) naming
/// the file when it is malformed, lacks "cfg" (a plain list has no guidance) or its "nfe" does
/// not match the number of ratios.
CprSample loadCprSample(const std::string& path);
/// The same from the file's text in memory; `source` names the file in errors and residuals.
CprSample parseCprSample(const std::string& text, const std::string& source);

struct CprResidual {
    std::string source;
    double guidance = 0.0;
    int steps = 0;
    double rms = 0.0;     ///< root mean square of fitted - searched over k = 3..S
    double maxAbs = 0.0;  ///< largest |fitted - searched| over k = 3..S
};

struct CprFit {
    CprCoefficients coefficients{};
    std::vector<CprResidual> residuals;  ///< one per sample, in order
    int equations = 0;                   ///< rows of the least-squares problem
    double conditionNumber = 0.0;        ///< of the column-scaled design matrix
};

/// Linear least squares for the 36 coefficients over every (sample, k = 3..S) in double
/// precision (columns scaled to unit norm, then LAPACK's SVD-based solver). rho_1 = rho_2 = 1 by
/// definition and are not equations. Throws Error(InvalidArgument) naming what is missing when the
/// samples cannot determine the coefficients: fewer than 3 distinct guidance values or step
/// counts (S >= 3), fewer than 36 equations, or a rank-deficient design.
CprFit fitCpr(const std::vector<CprSample>& samples);

}  // namespace dcscope
