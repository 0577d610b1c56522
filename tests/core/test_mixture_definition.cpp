// Mixture models with per-component weights and spreads: forward() against a finite-difference
// score of the closed-form density, the built-ins' unchanged (bit-identical) path, sampling in
// proportion to the weights, and the "dcscope-mixture" JSON file (round trip, every malformed
// input, loadModel, the ground-truth cache identity).
#include <ATen/ATen.h>
#include <QTemporaryDir>
#include <QtTest/QtTest>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "dcscope/errors.h"
#include "dcscope/gaussian_mixture_model.h"
#include "dcscope/ground_truth.h"
#include "dcscope/guided_denoiser.h"
#include "dcscope/mixture_definition.h"
#include "dcscope/model.h"
#include "dcscope/search.h"
#include "dcscope/solver.h"
#include "support/test_support.h"

using namespace dcscope;
using dcscope::testing::folderEntries;
using dcscope::testing::maxAbsDiff;
using dcscope::testing::writeBytes;

namespace {

constexpr double kPi = 3.14159265358979323846;

// Three 2-D components with different weights (5:3:2, deliberately not summing to 1) and
// spreads; component 0 is class 0, components 1 and 2 class 1.
MixtureDefinition threeComponents() {
    MixtureDefinition definition;
    definition.name = "three";
    definition.labels = {"left", "right"};
    definition.components = {{{0.5, 0.1}, 5.0, 0.05, 0}, {{-0.4, 0.3}, 3.0, 0.2, 1}, {{0.0, -0.6}, 2.0, 0.4, 1}};
    return definition;
}

// log sum_k w_k N(x; alpha mu_k, v_k I), v_k = alpha^2 s_k^2 + sigma^2, over the components
// `allowed` admits, written out in doubles (a logsumexp by hand).
double logDensity(const MixtureDefinition& definition, const std::vector<bool>& allowed, double alpha, double sigma,
                  const std::vector<double>& x) {
    std::vector<double> terms;
    for (size_t k = 0; k < definition.components.size(); ++k) {
        if (!allowed[k]) continue;
        const auto& component = definition.components[k];
        const double variance = alpha * alpha * component.std * component.std + sigma * sigma;
        double squared = 0;
        for (size_t j = 0; j < x.size(); ++j) {
            const double d = x[j] - alpha * component.mean[j];
            squared += d * d;
        }
        terms.push_back(std::log(component.weight) - 0.5 * double(x.size()) * std::log(2 * kPi * variance) - 0.5 * squared / variance);
    }
    double peak = -std::numeric_limits<double>::infinity();
    for (double term : terms) peak = std::max(peak, term);
    double sum = 0;
    for (double term : terms) sum += std::exp(term - peak);
    return peak + std::log(sum);
}

// eps = -sigma * grad log p_t(x), the gradient by central differences.
std::vector<double> referenceNoise(const MixtureDefinition& definition, const std::vector<bool>& allowed, double alpha, double sigma,
                                   const std::vector<double>& x) {
    constexpr double h = 1e-5;
    std::vector<double> eps(x.size());
    for (size_t j = 0; j < x.size(); ++j) {
        auto plus = x, minus = x;
        plus[j] += h;
        minus[j] -= h;
        const double gradient = (logDensity(definition, allowed, alpha, sigma, plus) - logDensity(definition, allowed, alpha, sigma, minus)) / (2 * h);
        eps[j] = -sigma * gradient;
    }
    return eps;
}

std::string readAll(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// A minimal valid file with `components` spliced in.
std::string fileWith(const std::string& components, const std::string& extra = "") {
    return R"({"format": "dcscope-mixture", "version": 1, "name": "m", )" + extra + R"("components": )" + components + "}";
}

}  // namespace

class TestMixtureDefinition : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void forwardMatchesTheFiniteDifferenceScoreOfTheDensity() {
        const MixtureDefinition definition = threeComponents();
        const auto model = makeMixtureModel(definition, "");
        QCOMPARE(model->weights(), (std::vector<double>{0.5, 0.3, 0.2}));
        QCOMPARE(model->componentStds(), (std::vector<double>{0.05, 0.2, 0.4}));
        QCOMPARE(definitionOf(*model), definition);  // the weights as given, 5:3:2
        const int n = model->schedule().numTrainTimesteps();
        const std::vector<std::vector<double>> points = {{0.0, 0.0}, {0.45, 0.12}, {-0.8, 0.5}, {0.3, -1.2}, {1.5, 1.0}};
        double worst = 0;
        // Network units, exact in float32: t = modelTime / N + 1/N as the model computes it.
        for (const float modelTime : {0.0f, 20.0f, 150.0f, 400.0f, 700.0f, 999.0f}) {
            const double t = double(modelTime) / n + 1.0 / n;
            const double alpha = model->schedule().alpha(t), sigma = model->schedule().sigma(t);
            // Class 0 (component 0 alone), class 1 (components 1, 2), the null class (all).
            for (const int64_t c : {int64_t(0), int64_t(1), int64_t(2)}) {
                std::vector<bool> allowed(3);
                for (size_t k = 0; k < 3; ++k) allowed[k] = c == 2 || definition.components[k].classIndex == c;
                auto x = at::empty({int64_t(points.size()), 2});
                for (size_t b = 0; b < points.size(); ++b)
                    for (size_t j = 0; j < 2; ++j) x[int64_t(b)][int64_t(j)] = points[b][j];
                const auto eps = model->forward(x, at::full({x.size(0)}, modelTime), at::full({x.size(0)}, c, at::kLong)).to(at::kDouble);
                for (size_t b = 0; b < points.size(); ++b) {
                    // The reference at the float32 x the model saw.
                    const std::vector<double> seen{x[int64_t(b)][0].item<double>(), x[int64_t(b)][1].item<double>()};
                    const auto expected = referenceNoise(definition, allowed, alpha, sigma, seen);
                    for (size_t j = 0; j < 2; ++j) {
                        const double error = std::abs(eps[int64_t(b)][int64_t(j)].item<double>() - expected[j]);
                        worst = std::max(worst, error);
                        QVERIFY2(error < 1e-4, qPrintable(QString("t %1 class %2 x %3: eps %4 vs %5")
                                                              .arg(t).arg(c).arg(b).arg(eps[int64_t(b)][int64_t(j)].item<double>())
                                                              .arg(expected[j])));
                    }
                }
            }
        }
        qInfo("worst |eps - reference|: %.3g", worst);
    }

    void generalPathIsDifferentiable() {
        const auto model = makeMixtureModel(threeComponents(), "");
        auto x = at::randn({4, 2}).requires_grad_(true);
        model->forward(x, at::full({4}, 300.0f), at::full({4}, int64_t(2), at::kLong)).pow(2).sum().backward();
        QVERIFY(x.grad().defined());
        QVERIFY(at::isfinite(x.grad()).all().item<bool>());
        QVERIFY(x.grad().abs().sum().item<double>() > 0);
    }

    void builtinsStayOnTheUniformPathBitForBit() {
        for (const std::string name : {"gmm2d", "gmm-image"}) {
            const auto builtin = GaussianMixtureModel::builtin(name);
            const auto k = builtin->meanValues().size();
            QCOMPARE(builtin->weights(), std::vector<double>(k, 1.0 / double(k)));
            std::vector<int> classes;
            for (int64_t i = 0; i < int64_t(k); ++i) classes.push_back(int(builtin->componentClass()[i].item<int64_t>()));
            // Explicit equal weights (not 1/K: they are normalised) and one std through the new constructor.
            GaussianMixtureModel explicitModel(builtin->info(), builtin->schedule(), builtin->meanValues(), classes,
                                               std::vector<double>(k, 2.0), builtin->componentStds());
            at::manual_seed(11);
            std::vector<int64_t> shape{6};
            shape.insert(shape.end(), builtin->info().sampleShape.begin(), builtin->info().sampleShape.end());
            const auto x = at::randn(shape);
            const auto times = at::tensor({0.0f, 10.0f, 250.5f, 500.0f, 800.0f, 999.0f});
            const auto labels = at::tensor(std::vector<int64_t>{0, 1, 2, 3, 4, 1});
            QVERIFY(at::equal(explicitModel.forward(x, times, labels), builtin->forward(x, times, labels)));
            QVERIFY(at::equal(explicitModel.sampleData(labels, 5), builtin->sampleData(labels, 5)));
        }
    }

    void samplesFollowTheWeights() {
        // Class 0: two far-apart modes, weights 0.8 / 0.2, stds 0.1 / 0.3. Class 1: a third mode
        // with most of the total weight, so the null class draws mostly from it.
        MixtureDefinition definition;
        definition.name = "weighted";
        definition.labels = {"pair", "single"};
        definition.components = {{{-3.0, 0.0}, 0.8, 0.1, 0}, {{3.0, 0.0}, 0.2, 0.3, 0}, {{0.0, 5.0}, 5.0, 0.2, 1}};
        const auto model = makeMixtureModel(definition, "");
        const int64_t count = 20000;
        const auto samples = model->sampleData(at::zeros({count}, at::kLong), 123).to(at::kDouble);
        QCOMPARE(samples.sizes().vec(), (std::vector<int64_t>{count, 2}));
        QVERIFY(at::equal(model->sampleData(at::zeros({50}, at::kLong), 123), samples.slice(0, 0, 50).to(at::kFloat)));
        const auto nearFirst = samples.select(1, 0) < 0;
        const auto nearThird = samples.select(1, 1) > 2.5;
        QCOMPARE(nearThird.sum().item<int64_t>(), int64_t(0));  // the other class's mode: never
        const double fraction = nearFirst.to(at::kDouble).mean().item<double>();
        QVERIFY2(std::abs(fraction - 0.8) < 0.015, qPrintable(QString::number(fraction)));
        // Each mode's spread: the sample std around its mean, per coordinate.
        for (const auto& [mask, index] : {std::pair<at::Tensor, int>{nearFirst, 0}, {nearFirst.logical_not(), 1}}) {
            const auto mode = samples.index({mask});
            const auto& component = definition.components[size_t(index)];
            for (int64_t j = 0; j < 2; ++j) {
                const double spread = mode.select(1, j).std().item<double>();
                const double centre = mode.select(1, j).mean().item<double>();
                QVERIFY2(std::abs(spread / component.std - 1) < 0.05, qPrintable(QString("mode %1: std %2").arg(index).arg(spread)));
                QVERIFY(std::abs(centre - component.mean[size_t(j)]) < 0.02);
            }
        }
        // The null class: components in proportion 0.8 : 0.2 : 5 over everything.
        const auto all = model->sampleData(at::full({4000}, int64_t(2), at::kLong), 9);
        const double third = (all.select(1, 1) > 2.5).to(at::kDouble).mean().item<double>();
        QVERIFY2(std::abs(third - 5.0 / 6.0) < 0.03, qPrintable(QString::number(third)));
    }

    void fileRoundTripsExactlyAndAtomically() {
        QTemporaryDir dir;
        MixtureDefinition definition = threeComponents();
        definition.description = "a \"quoted\" line, süd";
        definition.labels = {"links", "rechts \\ süd"};
        definition.components[1].mean = {0.1 + 0.2, -1.0 / 3.0};  // doubles that need all 17 digits
        definition.components[2].weight = 1e-3;
        const std::string path = dir.filePath("m.json").toStdString();
        writeMixtureDefinition(path, definition);
        QCOMPARE(readMixtureDefinition(path), definition);
        QCOMPARE(parseMixtureDefinition(mixtureDefinitionJson(definition), "text"), definition);
        QCOMPARE(folderEntries(dir.path().toStdString()), std::vector<std::string>{"m.json"});  // no temporary left
        definition.components.pop_back();
        writeMixtureDefinition(path, definition);  // replaces the old file
        QCOMPARE(readMixtureDefinition(path), definition);
        QCOMPARE(folderEntries(dir.path().toStdString()), std::vector<std::string>{"m.json"});
        // An invalid definition is not written, and the old file stays.
        MixtureDefinition broken = definition;
        broken.components[0].std = std::nan("");
        DCSCOPE_EXPECT_ERROR(writeMixtureDefinition(path, broken), ErrorCode::InvalidArgument, "components[0].std: must be finite");
        QCOMPARE(readMixtureDefinition(path), definition);
    }

    void optionalFieldsTakeTheirDefaults() {
        const auto definition = parseMixtureDefinition(fileWith(R"([{"mean": [0, 0.5]}, {"mean": [1, 2], "std": 0.3}])"), "m.json");
        QCOMPARE(definition.name, std::string("m"));
        QCOMPARE(definition.description, std::string());
        QCOMPARE(definition.labels, std::vector<std::string>{"all"});
        QCOMPARE(definition.components.size(), size_t(2));
        QCOMPARE(definition.components[0].weight, 1.0);
        QCOMPARE(definition.components[0].std, 0.1);
        QCOMPARE(definition.components[0].classIndex, 0);
        QCOMPARE(definition.components[1].std, 0.3);
        const auto model = makeMixtureModel(definition, "/some/where/m.json");
        QCOMPARE(model->info().numClasses, 1);
        QCOMPARE(model->info().nullClass, 1);
        QCOMPARE(model->info().sampleShape, std::vector<int64_t>{2});
        QCOMPARE(model->info().source, std::string("/some/where/m.json"));
        QCOMPARE(model->info().description, std::string("m: Gaussian mixture from m.json, 2 components, 1 class"));
        // The generated description is not part of the definition read back.
        QCOMPARE(definitionOf(*model).description, std::string());
    }

    void definitionOfABuiltinRebuildsTheSameModel() {
        for (const std::string name : {"gmm2d", "gmm-image"}) {
            const auto builtin = GaussianMixtureModel::builtin(name);
            const MixtureDefinition definition = definitionOf(*builtin);
            QCOMPARE(definition.name, name);
            QCOMPARE(definition.labels, builtin->info().labels);
            QCOMPARE(definition.description, builtin->info().description);
            QCOMPARE(definition.components.size(), builtin->meanValues().size());
            QCOMPARE(definition.components[0].weight, 1.0);
            // Through a file and back: the same numbers, the same noise predictions.
            QTemporaryDir dir;
            const std::string path = dir.filePath(QString::fromStdString(name + ".json")).toStdString();
            writeMixtureDefinition(path, definition);
            const auto rebuilt = makeMixtureModel(readMixtureDefinition(path), path);
            QCOMPARE(definitionOf(*rebuilt), definition);
            const int64_t dims = builtin->means().size(1);
            at::manual_seed(3);
            const auto x = at::randn({8, dims});
            const auto times = at::linspace(0, 999, 8);
            const auto classes = at::tensor(std::vector<int64_t>{0, 1, 2, 3, 4, 4, 0, 2});
            // forward() flattens each sample, so the built-in takes the file's flat [B, D] too.
            const auto expected = builtin->forward(x, times, classes);
            QVERIFY(maxAbsDiff(rebuilt->forward(x, times, classes), expected) < 1e-6);
        }
    }

    void malformedFilesNameTheFileAndTheField_data() {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QString>("fragment");
        const auto row = [](const char* name, const std::string& text, const std::string& fragment) {
            QTest::newRow(name) << QString::fromStdString(text) << QString::fromStdString(fragment);
        };
        const std::string two = R"({"mean": [0, 0]})";
        row("not json", "{\"format\": \"dcscope-mixture\",\n \"version\": 1,", "m.json: not valid JSON (");
        row("nan literal", fileWith(R"([{"mean": [NaN, 0]}])"), "m.json: not valid JSON (");
        row("not an object", "[1, 2]", "m.json: expected a JSON object");
        row("format wrong", R"({"format": "dcscope-ratios", "version": 1, "name": "m", "components": [{"mean": [0]}]})",
            "m.json: format: expected \"dcscope-mixture\"");
        row("format missing", R"({"version": 1, "name": "m", "components": [{"mean": [0]}]})", "m.json: format: expected \"dcscope-mixture\"");
        row("version newer", R"({"format": "dcscope-mixture", "version": 2, "name": "m", "components": [{"mean": [0]}]})",
            "m.json: version 2 is newer than this dcscope reads (1)");
        row("version text", R"({"format": "dcscope-mixture", "version": "1", "name": "m", "components": [{"mean": [0]}]})",
            "m.json: version: expected an integer");
        row("version missing", R"({"format": "dcscope-mixture", "name": "m", "components": [{"mean": [0]}]})", "m.json: version: missing");
        row("name missing", R"({"format": "dcscope-mixture", "version": 1, "components": [{"mean": [0]}]})", "m.json: name: missing");
        row("name empty", R"({"format": "dcscope-mixture", "version": 1, "name": "", "components": [{"mean": [0]}]})",
            "m.json: name: must not be empty");
        row("no components field", R"({"format": "dcscope-mixture", "version": 1, "name": "m"})", "m.json: components: missing");
        row("no components", fileWith("[]"), "m.json: components: need at least one component");
        std::string many = "[";
        for (int i = 0; i < 65; ++i) many += std::string(i ? ", " : "") + two;
        row("65 components", fileWith(many + "]"), "m.json: components: 65 components, more than the 64");
        row("dimension 0", fileWith(R"([{"mean": []}])"), "m.json: components[0].mean: dimension 0");
        row("ragged", fileWith("[" + two + ", " + two + R"(, {"mean": [0, 0, 0]}])"),
            "m.json: components[2].mean: expected 2 numbers like components[0], got 3");
        row("mean text", fileWith(R"([{"mean": [0, "x"]}])"), "m.json: components[0].mean[1]: expected a number");
        row("mean missing", fileWith(R"([{"std": 0.2}])"), "m.json: components[0].mean: missing");
        row("mean infinite", fileWith(R"([{"mean": [0, 1e999]}])"), "m.json: not valid JSON (number overflow");
        row("std negative", fileWith("[" + two + R"(, {"mean": [1, 1], "std": -0.1}])"), "m.json: components[1].std: must be > 0, got -0.1");
        row("std zero", fileWith(R"([{"mean": [1, 1], "std": 0}])"), "m.json: components[0].std: must be > 0, got 0");
        row("weight negative", fileWith(R"([{"mean": [1, 1], "weight": -2}])"), "m.json: components[0].weight: must be > 0, got -2");
        row("weight infinite", fileWith(R"([{"mean": [1, 1], "weight": 1e400}])"), "m.json: not valid JSON (number overflow");
        row("weight text", fileWith(R"([{"mean": [1, 1], "weight": "heavy"}])"), "m.json: components[0].weight: expected a number");
        row("class out of range", fileWith("[" + two + R"(, {"mean": [1, 1], "class": 2}])", R"("labels": ["a", "b"], )"),
            "m.json: components[1].class: 2 is out of range (2 labels: classes 0..1)");
        row("class negative", fileWith(R"([{"mean": [1, 1], "class": -1}])"), "m.json: components[0].class: -1 is out of range");
        row("class huge", fileWith(R"([{"mean": [1, 1], "class": 99999999999}])"), "m.json: components[0].class: 99999999999 is out of range");
        row("class fraction", fileWith(R"([{"mean": [1, 1], "class": 0.5}])"), "m.json: components[0].class: expected an integer");
        row("labels empty", fileWith("[" + two + "]", R"("labels": [], )"), "m.json: labels: need at least one label");
        row("label number", fileWith("[" + two + "]", R"("labels": ["a", 3], )"), "m.json: labels[1]: expected a string");
        row("misspelt field", fileWith(R"([{"mean": [1, 1], "stdev": 0.3}])"), "m.json: components[0].stdev: unknown field");
        row("unknown top field", fileWith("[" + two + "]", R"("colour": "red", )"), "m.json: colour: unknown field");
        row("component not object", fileWith("[[0, 0]]"), "m.json: components[0]: expected an object");
    }
    void malformedFilesNameTheFileAndTheField() {
        QFETCH(QString, text);
        QFETCH(QString, fragment);
        QTemporaryDir dir;
        const std::string path = dir.filePath("m.json").toStdString();
        writeBytes(path, text.toStdString());
        for (const bool fromFile : {false, true}) {
            try {
                if (fromFile) {
                    // The full path names the file; the fragment's "m.json" is its end.
                    readMixtureDefinition(path);
                } else {
                    parseMixtureDefinition(text.toStdString(), "m.json");
                }
                QFAIL("no error");
            } catch (const Error& error) {
                const std::string message = error.what();
                QCOMPARE(error.code(), ErrorCode::BadFile);
                QVERIFY2(message.find(fragment.toStdString()) != std::string::npos, message.c_str());
                QVERIFY2(message.find('\n') == std::string::npos, message.c_str());
                if (fromFile) QVERIFY2(message.rfind(path + ":", 0) == 0, message.c_str());
            }
        }
    }

    void missingOrUnreadableFilesSayCannotRead() {
        QTemporaryDir dir;
        const std::string missing = dir.filePath("gone.json").toStdString();
        DCSCOPE_EXPECT_ERROR(readMixtureDefinition(missing), ErrorCode::BadFile, missing + ": cannot read (");
        DCSCOPE_EXPECT_ERROR(readMixtureDefinition(dir.path().toStdString()), ErrorCode::BadFile, "cannot read (is a folder");
        DCSCOPE_EXPECT_ERROR(loadModel(missing), ErrorCode::BadFile, missing + ": cannot read (");
    }

    void validateNamesTheFieldOfADefinitionBuiltInCode() {
        MixtureDefinition definition = threeComponents();
        definition.validate();
        definition.components[2].mean[0] = std::numeric_limits<double>::quiet_NaN();
        DCSCOPE_EXPECT_ERROR(definition.validate(), ErrorCode::InvalidArgument, "components[2].mean[0]: must be finite, got nan");
        DCSCOPE_EXPECT_ERROR(makeMixtureModel(definition, ""), ErrorCode::InvalidArgument, "components[2].mean[0]");
        definition = threeComponents();
        definition.components[1].classIndex = 2;
        DCSCOPE_EXPECT_ERROR(definition.validate(), ErrorCode::InvalidArgument, "components[1].class: 2 is out of range");
        definition = threeComponents();
        definition.labels.clear();
        DCSCOPE_EXPECT_ERROR(definition.validate(), ErrorCode::InvalidArgument, "labels: need at least one label");
    }

    void mixtureSpecsAreJsonFilesOtherThanAPackageManifest() {
        QVERIFY(isMixtureModelSpec("m.json"));
        QVERIFY(isMixtureModelSpec("/a/b/ring.json"));
        QVERIFY(isMixtureModelSpec("/a/model.json.d/ring.json"));
        QVERIFY(!isMixtureModelSpec("/a/b/model.json"));
        QVERIFY(!isMixtureModelSpec("model.json"));
        QVERIFY(!isMixtureModelSpec("/a/package"));
        QVERIFY(!isMixtureModelSpec("builtin:gmm2d"));
        QVERIFY(!isMixtureModelSpec("ring.json.bak"));
    }

    void loadModelOpensAMixtureFile() {
        QTemporaryDir dir;
        const std::string path = dir.filePath("three.json").toStdString();
        writeMixtureDefinition(path, threeComponents());
        const auto model = loadModel(path, c10::Device(c10::kCPU));
        QCOMPARE(model->info().name, std::string("three"));
        QCOMPARE(model->info().source, path);
        QCOMPARE(model->info().numClasses, 2);
        QCOMPARE(model->info().labels, (std::vector<std::string>{"left", "right"}));
        QCOMPARE(model->info().sampleShape, std::vector<int64_t>{2});
        QCOMPARE(model->schedule().numTrainTimesteps(), 1000);
        const auto direct = makeMixtureModel(threeComponents(), path);
        const auto x = at::randn({5, 2});
        const auto times = at::full({5}, 321.0f);
        const auto classes = at::tensor(std::vector<int64_t>{0, 1, 2, 1, 0});  // 2: the null class
        QVERIFY(at::equal(model->forward(x, times, classes), direct->forward(x, times, classes)));
        // And it samples like any model.
        GuidedDenoiser denoiser(*model, Conditioning{at::tensor(std::vector<int64_t>{0, 1, 1, 0, 1}), 2.0});
        SolverConfig config;
        config.steps = 5;
        const auto result = sample(denoiser, at::randn({5, 2}), config);
        QCOMPARE(result.sizes().vec(), (std::vector<int64_t>{5, 2}));
        QVERIFY(at::isfinite(result).all().item<bool>());
    }

    void cacheIdentityFollowsTheFileBytes() {
        QTemporaryDir dir;
        const std::string path = dir.filePath("three.json").toStdString();
        writeMixtureDefinition(path, threeComponents());
        const auto model = loadModel(path);
        const std::string identity = modelIdentity(*model);
        QVERIFY2(identity.rfind("mixture:", 0) == 0 && identity.size() == 8 + 16, identity.c_str());
        QCOMPARE(modelIdentity(*model), identity);
        QCOMPARE(modelIdentity(*loadModel(path)), identity);
        // Moved elsewhere, the same bytes: the same identity.
        const std::string copy = dir.filePath("copy.json").toStdString();
        writeBytes(copy, readAll(path));
        QCOMPARE(modelIdentity(*loadModel(copy)), identity);

        MixtureDefinition changed = threeComponents();
        changed.components[1].std = 0.25;
        writeMixtureDefinition(path, changed);
        const std::string changedIdentity = modelIdentity(*loadModel(path));
        QVERIFY(changedIdentity.rfind("mixture:", 0) == 0);
        QVERIFY(changedIdentity != identity);
        // The model loaded before the edit no longer matches its file: not cacheable.
        QCOMPARE(modelIdentity(*model), std::string());
        // Unsaved edits and vanished files are not cacheable either.
        QCOMPARE(modelIdentity(*makeMixtureModel(changed, "")), std::string());
        const auto orphan = loadModel(copy);
        std::filesystem::remove(copy);
        QCOMPARE(modelIdentity(*orphan), std::string());
    }

    void groundTruthOfAMixtureFileIsCached() {
        QTemporaryDir dir, cache;
        const std::string path = dir.filePath("three.json").toStdString();
        writeMixtureDefinition(path, threeComponents());
        const auto model = loadModel(path);
        const Datapoints data = makeDatapoints(*model, 1, 3);
        GuidedDenoiser denoiser(*model, Conditioning{data.classes, 1.0});
        GroundTruthOptions options;
        options.fineSteps = 10;
        options.cacheDir = cache.path().toStdString();
        const auto coarse = makeTimeGrid(model->schedule(), TimeGrid::TimeUniform, 4);
        const GroundTruth first = computeGroundTruth(denoiser, data.noise, coarse, options);
        QVERIFY(!first.fromCache && !first.cacheFile.empty());
        const GroundTruth second = computeGroundTruth(denoiser, data.noise, coarse, options);
        QVERIFY(second.fromCache);
        QVERIFY(at::equal(second.states.back(), first.states.back()));
    }
};

QTEST_GUILESS_MAIN(TestMixtureDefinition)
#include "test_mixture_definition.moc"
