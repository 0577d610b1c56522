#pragma once

#include <QPointF>
#include <QString>
#include <QStringList>
#include <QVector>

/// The data distribution of a 2-D Gaussian mixture, enough for the density p_t in closed form:
/// sum_i w_i N(alpha_t mu_i, (alpha_t^2 s_i^2 + sigma_t^2) I) (the weights normalised), and for
/// the user to reshape it: each component's class among `labels`.
struct MixtureDensity {
    QVector<QPointF> means;
    QVector<double> weights;   ///< > 0; need not sum to 1
    QVector<double> stds;      ///< s_i > 0
    QVector<int> classes;      ///< index into labels (may be empty when the mixture is only shown)
    QStringList labels;        ///< the model's class names
    bool isValid() const { return !means.isEmpty() && means.size() == weights.size() && means.size() == stds.size(); }
    bool operator==(const MixtureDensity& other) const {
        return means == other.means && weights == other.weights && stds == other.stds && classes == other.classes &&
               labels == other.labels;
    }
    bool operator!=(const MixtureDensity& other) const { return !(*this == other); }
};

/// Everything the trajectory view draws for one comparison of 2-D samples, in plain Qt types.
/// Steps k = 0..S are the coarse times; fine index f = 0..F runs over the ground truth's fine grid
/// (which passes through every coarse time). Per-particle lists are indexed [particle][step].
struct TrajectoryScene {
    QVector<double> times;          ///< t_0 > ... > t_S
    QVector<double> alphas;         ///< alpha(t_k)
    QVector<double> sigmas;         ///< sigma(t_k)
    QVector<double> lambdas;        ///< lambda(t_k) = log(alpha / sigma)
    QVector<double> ratios;         ///< rho_0..rho_{S-1} of the DC run (empty: all 1)
    QVector<double> fineTimes;      ///< the ground truth's fine times, t_0 ... t_S
    QVector<double> fineAlphas;
    QVector<double> fineSigmas;
    /// The VP SDE's coefficients at the fine times, for the probability-flow velocity
    /// dx/dt = f x - g^2 / 2 * score(x): f = d log alpha / dt, g^2 = d sigma^2 / dt - 2 f sigma^2.
    QVector<double> fineDrift;
    QVector<double> fineDiffusionSquared;
    QVector<int> coarseFineIndex;   ///< fine index of each coarse time (S + 1 entries)
    QVector<QVector<QPointF>> groundTruthFine;  ///< [particle][f]
    QVector<QVector<QPointF>> groundTruth;      ///< [particle][k]
    QVector<QVector<QPointF>> plain;            ///< [particle][k]
    QVector<QVector<QPointF>> compensated;      ///< [particle][k]
    /// [particle][k]: |compensated - raw model output| of the update k -> k + 1 (S entries; 0
    /// where rho = 1).
    QVector<QVector<double>> compensationNorm;
    MixtureDensity density;         ///< invalid: no density layer
    QString plainName;
    QString compensatedName;

    int steps() const { return int(times.size()) - 1; }
    int particles() const { return int(groundTruth.size()); }
};
