#pragma once

#include <memory>
#include <string>
#include <vector>

namespace dcscope {

class GaussianMixtureModel;

/// A Gaussian mixture written down as data: what a user shapes in the trajectory view and saves
/// as a small JSON model file ("dcscope-mixture", accepted wherever a model is). Component i is
/// N(mean_i, std_i^2 I) with weight w_i; class c draws from the components of class c in
/// proportion to their weights, the null class from all of them.
///
/// The file (version 1):
///   {"format": "dcscope-mixture", "version": 1, "name": "ring", "description": "one line",
///    "labels": ["left", "right"],
///    "components": [{"mean": [-0.5, 0.0], "weight": 1.0, "std": 0.08, "class": 0}, ...]}
/// Optional: "description" (default none), "labels" (default ["all"]) and, per component,
/// "weight" (default 1), "std" (default 0.1) and "class" (default 0). Every mean has the same
/// number of values (the dimension, at least 1); 1 to kMaxMixtureComponents components.
struct MixtureComponent {
    std::vector<double> mean;  ///< one value per dimension
    double weight = 1.0;       ///< > 0; the weights need not sum to 1 (they are normalised)
    double std = 0.1;          ///< > 0
    int classIndex = 0;        ///< 0..labels.size()-1

    bool operator==(const MixtureComponent& other) const;
    bool operator!=(const MixtureComponent& other) const { return !(*this == other); }
};

struct MixtureDefinition {
    std::string name = "mixture";
    std::string description;           ///< optional one line
    std::vector<std::string> labels;   ///< one per class; at least one
    std::vector<MixtureComponent> components;

    /// Throws Error(InvalidArgument) naming the first bad field ("components[2].std: must be > 0,
    /// got -0.1"): a name, at least one label, 1..kMaxMixtureComponents components whose means
    /// all have the same dimension >= 1, finite values, weight and std > 0, class in range.
    void validate() const;

    bool operator==(const MixtureDefinition& other) const;
    bool operator!=(const MixtureDefinition& other) const { return !(*this == other); }
};

/// The file's "format" value.
inline constexpr const char* kMixtureFormat = "dcscope-mixture";
inline constexpr int kMixtureFormatVersion = 1;
/// The most components a mixture may have: the trajectory view's density shader draws at most
/// this many (a uniform array of fixed size).
inline constexpr int kMaxMixtureComponents = 64;

/// Parses a mixture model file's text; `file` names it in errors. Throws Error(BadFile) with one
/// line naming the file and the field ("m.json: components[1].mean: expected 2 numbers").
MixtureDefinition parseMixtureDefinition(const std::string& text, const std::string& file);
MixtureDefinition readMixtureDefinition(const std::string& path);
/// The file's text (pretty JSON); parseMixtureDefinition(mixtureDefinitionJson(d)) == d.
std::string mixtureDefinitionJson(const MixtureDefinition& definition);
/// Written atomically (a crash leaves the old file or the new one, never half of either). A
/// definition that fails validate() is not written (Error(InvalidArgument) naming the path).
void writeMixtureDefinition(const std::string& path, const MixtureDefinition& definition);

/// Whether `spec` names a mixture model file: a path ending in ".json" other than a package's
/// "model.json".
bool isMixtureModelSpec(const std::string& spec);

/// The exact model of a definition, on the built-ins' schedule (DDPM linear, 1000 steps).
/// `source` becomes ModelInfo::source: the file's path, or empty for an unsaved edit (an empty
/// source is not cached on disk). Without a description it gets "NAME: Gaussian mixture from
/// FILE, K components, C classes". Throws Error(InvalidArgument) as validate() does.
std::shared_ptr<GaussianMixtureModel> makeMixtureModel(const MixtureDefinition& definition, const std::string& source);

/// The definition of a mixture model (built-in or from a file): its means, weights, spreads,
/// classes and labels, so that a built-in can be edited and saved. The weights come back as
/// given (the built-ins': 1 each), not normalised; the description is the model's, empty where makeMixtureModel
/// generated it ("NAME: Gaussian mixture from FILE, K components, C classes"), so a saved edit
/// does not keep a stale count. An unconditional model gets one label, "all".
MixtureDefinition definitionOf(const GaussianMixtureModel& model);

}  // namespace dcscope
