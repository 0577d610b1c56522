// Models: the built-in Gaussian mixtures against an independent score computation, TorchScript
// packages (spec section 8) with every manifest and network defect, and the guided denoiser
// (spec section 2: output conventions, classifier-free guidance, NFE counting).
#include <ATen/ATen.h>
#include <QtTest/QtTest>
#include <torch/script.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dcscope/cancel.h"
#include "dcscope/errors.h"
#include "dcscope/gaussian_mixture_model.h"
#include "dcscope/guided_denoiser.h"
#include "dcscope/model.h"
#include "dcscope/cpr.h"
#include "dcscope/npy.h"
#include "dcscope/package_compensation.h"
#include "dcscope/torchscript_model.h"
#include "support/test_support.h"

using dcscope::CprCoefficients;
using dcscope::ErrorCode;
using dcscope::loadCprCoefficientsFrom;
using dcscope::predictCprRatios;
using dcscope::saveCprCoefficients;
using dcscope::TorchScriptModel;
using dcscope::ModelInfo;
using dcscope::NoiseSchedule;
using dcscope::PredictionType;
using dcscope::testing::maxAbsDiff;
using dcscope::testing::writeBytes;
using nlohmann::json;

namespace {

constexpr double kPi = 3.14159265358979323846;

// Half log-alpha of the DDPM linear schedule (1e-4..0.02, N = 1000) at fractional knot index
// `position`, computed here from the betas rather than through NoiseSchedule.
double referenceLogAlpha(double position) {
    const int n = 1000;
    std::vector<double> l;
    double sum = 0;
    for (int m = 0; m < n; ++m) {
        sum += 0.5 * std::log(1.0 - (1e-4 + (0.02 - 1e-4) * m / (n - 1)));
        l.push_back(sum);
    }
    const auto k = static_cast<size_t>(std::floor(position));
    const double fraction = position - double(k);
    return fraction == 0.0 ? l[k] : l[k] + fraction * (l[k + 1] - l[k]);
}

// eps = -sigma * grad_x log p_t(x) with p_t the mixture of N(alpha mu_k, (alpha^2 s^2 + sigma^2) I),
// equal weights over the components allowed for each sample's class, by logsumexp + autograd.
at::Tensor referenceNoise(const dcscope::GaussianMixtureModel& model, const at::Tensor& x, double position,
                          const std::vector<int64_t>& classes) {
    const double logAlpha = referenceLogAlpha(position);
    const double alpha = std::exp(logAlpha), sigma = std::sqrt(1.0 - std::exp(2.0 * logAlpha));
    const auto means = model.means().to(at::kCPU, at::kDouble);
    const auto componentClass = model.componentClass().to(at::kCPU);
    const double s = model.componentStds()[0];  // the built-ins share one std
    const double variance = alpha * alpha * s * s + sigma * sigma;
    const int64_t batch = x.size(0), dim = means.size(1);
    auto xd = x.detach().to(at::kDouble).reshape({batch, dim}).clone().requires_grad_(true);
    at::Tensor total = at::zeros({}, at::kDouble);
    for (int64_t b = 0; b < batch; ++b) {
        const int64_t c = classes[size_t(b)];
        const auto members = c == model.info().nullClass ? at::arange(means.size(0)) : at::nonzero(componentClass == c).view({-1});
        const auto mu = means.index_select(0, members);
        const auto diff = xd[b].unsqueeze(0) - alpha * mu;
        const auto logComponent = -0.5 * diff.pow(2).sum(1) / variance - 0.5 * dim * std::log(2 * kPi * variance);
        total = total + at::logsumexp(logComponent - std::log(double(members.size(0))), 0);
    }
    total.backward();
    return (-sigma * xd.grad()).view(x.sizes());
}

// A fake network that records every call and answers 0.5 x + (class + 1) per sample (or
// 0.5 x - 1 without classes), so guidance and batching can be checked exactly.
class RecordingModel : public dcscope::DiffusionModel {
public:
    struct Call {
        int64_t batch;
        at::Tensor modelTime;
        at::Tensor classes;
    };
    explicit RecordingModel(ModelInfo info)
        : DiffusionModel(std::move(info), NoiseSchedule::fromName("linear", 1e-4, 0.02, 1000)) {}
    at::Tensor forward(const at::Tensor& x, const at::Tensor& modelTime, const at::Tensor& classes) override {
        m_calls.push_back({x.size(0), modelTime.clone(), classes.defined() ? classes.clone() : at::Tensor()});
        if (m_respond) return m_respond(x);
        std::vector<int64_t> shape(size_t(x.dim()), 1);
        shape[0] = x.size(0);
        const auto offset = classes.defined() ? (classes.to(x.scalar_type()) + 1).view(shape) : at::full(shape, -1.0, x.options());
        return 0.5 * x + offset;
    }
    void moveTo(const c10::Device&) override {}
    std::vector<Call> m_calls;
    std::function<at::Tensor(const at::Tensor&)> m_respond;
};

ModelInfo classInfo(std::vector<int64_t> shape, int numClasses) {
    ModelInfo info;
    info.name = "recording";
    info.source = "test";
    info.sampleShape = std::move(shape);
    info.numClasses = numClasses;
    info.nullClass = numClasses;
    for (int c = 0; c < numClasses; ++c) info.labels.push_back("c" + std::to_string(c));
    return info;
}

const char* kClassNetwork = R"(def forward(self, x, t, c):
    return x * 0.5 + t.view(-1, 1, 1, 1) * 0.0)";
const char* kPlainNetwork = R"(def forward(self, x, t):
    return x * 0.5 + t.view(-1, 1, 1, 1) * 0.0)";

json classManifest() {
    return json::parse(R"({
        "name": "tiny-class", "network": "network.pt", "prediction_type": "epsilon",
        "scheduler": {"num_train_timesteps": 1000, "beta_schedule": "linear", "beta_start": 0.0001, "beta_end": 0.02},
        "sample_shape": [1, 4, 4],
        "conditioning": {"type": "class", "num_classes": 3, "null_class": 3, "labels": ["zero", "one", "two"]},
        "value_range": [-1, 1]})");
}

json plainManifest() {
    auto manifest = classManifest();
    manifest["name"] = "tiny-plain";
    manifest["conditioning"] = json{{"type", "none"}};
    return manifest;
}

void saveNetwork(const std::string& file, const std::string& source) {
    torch::jit::Module module("Net");
    module.define(source + "\n");  // the TorchScript parser wants a final newline
    module.save(file);
}

}  // namespace

class TestModels : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    int m_packages = 0;

    // Writes a package folder with `manifest` (serialised, or `rawManifest` verbatim when given)
    // and a network compiled from `source` (none when empty); returns the folder.
    std::string makePackage(const json& manifest, const std::string& source, const std::string& rawManifest = {}) {
        const std::string folder = m_dir.path().toStdString() + "/package" + std::to_string(++m_packages);
        std::filesystem::create_directories(folder);
        writeBytes(folder + "/model.json", rawManifest.empty() ? manifest.dump(2) : rawManifest);
        if (!source.empty()) saveNetwork(folder + "/network.pt", source);
        return folder;
    }

private Q_SLOTS:
    void initTestCase() {
        QVERIFY(m_dir.isValid());
        at::manual_seed(11);
    }

    void builtinGmm2dInfo() {
        const auto model = dcscope::loadModel("builtin:gmm2d");
        QVERIFY(model);
        const auto& info = model->info();
        QCOMPARE(info.name, std::string("gmm2d"));
        QCOMPARE(info.source, std::string("builtin:gmm2d"));
        QVERIFY(info.predictionType == PredictionType::Epsilon);
        QCOMPARE(info.sampleShape, std::vector<int64_t>{2});
        QCOMPARE(info.numClasses, 4);
        QCOMPARE(info.nullClass, 4);
        QCOMPARE(info.labels, (std::vector<std::string>{"north-east", "north-west", "south-west", "south-east"}));
        QVERIFY(model->isConditional());
        QVERIFY(!info.description.empty());
        QCOMPARE(model->schedule().numTrainTimesteps(), 1000);
        QVERIFY(std::abs(model->schedule().betas().front() - 1e-4) < 1e-15);
        QVERIFY(std::abs(model->schedule().betas().back() - 0.02) < 1e-15);

        // The labels describe where each class's modes are: 8 modes on a ring of radius 0.7.
        auto gmm = std::dynamic_pointer_cast<dcscope::GaussianMixtureModel>(model);
        QVERIFY(gmm);
        QCOMPARE(gmm->componentStds(), std::vector<double>(8, 0.08));
        QCOMPARE(gmm->weights(), std::vector<double>(8, 1.0 / 8));
        const auto means = gmm->means().to(at::kDouble);
        const auto classes = gmm->componentClass();
        QCOMPARE(means.sizes().vec(), (std::vector<int64_t>{8, 2}));
        const int signX[] = {1, -1, -1, 1}, signY[] = {1, 1, -1, -1};
        for (int64_t k = 0; k < 8; ++k) {
            const double x = means[k][0].item<double>(), y = means[k][1].item<double>();
            QVERIFY(std::abs(std::hypot(x, y) - 0.7) < 1e-6);
            const auto c = classes[k].item<int64_t>();
            QVERIFY(c >= 0 && c < 4);
            QVERIFY2(x * signX[c] > 0 && y * signY[c] > 0, ("mode outside the quadrant of " + info.labels[size_t(c)]).c_str());
        }
        for (int c = 0; c < 4; ++c) QCOMPARE((classes == c).sum().item<int64_t>(), int64_t(2));
    }

    void builtinGmmImageInfo() {
        const auto model = dcscope::loadModel("builtin:gmm-image", c10::Device(c10::kCPU));
        const auto& info = model->info();
        QCOMPARE(info.name, std::string("gmm-image"));
        QCOMPARE(info.source, std::string("builtin:gmm-image"));
        QCOMPARE(info.sampleShape, (std::vector<int64_t>{1, 8, 8}));
        QCOMPARE(info.numClasses, 4);
        QCOMPARE(info.nullClass, 4);
        QCOMPARE(info.labels, (std::vector<std::string>{"horizontal", "vertical", "diagonal", "rings"}));
        QVERIFY(info.predictionType == PredictionType::Epsilon);
        auto gmm = std::dynamic_pointer_cast<dcscope::GaussianMixtureModel>(model);
        QVERIFY(gmm);
        QCOMPARE(gmm->means().sizes().vec(), (std::vector<int64_t>{24, 64}));
        for (int c = 0; c < 4; ++c) QCOMPARE((gmm->componentClass() == c).sum().item<int64_t>(), int64_t(6));
        // "horizontal" stripes are constant along each row, "vertical" along each column.
        const auto images = gmm->means().view({24, 8, 8});
        const auto horizontal = images.index_select(0, at::nonzero(gmm->componentClass() == 0).view({-1}));
        QVERIFY(maxAbsDiff(horizontal, horizontal.narrow(2, 0, 1).expand_as(horizontal)) < 1e-6);
        const auto vertical = images.index_select(0, at::nonzero(gmm->componentClass() == 1).view({-1}));
        QVERIFY(maxAbsDiff(vertical, vertical.narrow(1, 0, 1).expand_as(vertical)) < 1e-6);
    }

    void gmmNoiseMatchesScore() {
        for (const char* name : {"gmm2d", "gmm-image"}) {
            auto gmm = dcscope::GaussianMixtureModel::builtin(name);
            const auto& info = gmm->info();
            const std::vector<int64_t> classes{0, 1, 2, 3, 4, 2, 4};
            std::vector<int64_t> shape{int64_t(classes.size())};
            shape.insert(shape.end(), info.sampleShape.begin(), info.sampleShape.end());
            for (double position : {0.0, 10.0, 123.5, 400.0, 700.25, 999.0}) {
                const double logAlpha = referenceLogAlpha(position);
                const double alpha = std::exp(logAlpha), sigma = std::sqrt(1.0 - std::exp(2.0 * logAlpha));
                // Points near the data at this noise level, plus some far out.
                auto x = alpha * 0.8 * at::randn(shape) + sigma * at::randn(shape);
                x[0] = x[0] * 3.0;
                const auto modelTime = at::full({int64_t(classes.size())}, position, at::kFloat);
                const auto got = gmm->forward(x, modelTime, at::tensor(classes));
                const auto expected = referenceNoise(*gmm, x, position, classes);
                QCOMPARE(got.sizes(), x.sizes());
                QCOMPARE(got.scalar_type(), at::kFloat);
                const double error = maxAbsDiff(got, expected);
                const double scale = std::max(1.0, expected.abs().max().item<double>());
                QVERIFY2(error < 3e-5 * scale, (std::string(name) + " at model time " + std::to_string(position) +
                                                ": error " + std::to_string(error) + " (scale " + std::to_string(scale) + ")")
                                                   .c_str());
            }
        }
    }

    void gmmClassSelectsComponents() {
        auto gmm = dcscope::GaussianMixtureModel::builtin("gmm2d");
        // A point on top of a class-0 mode: conditioned on class 0 the noise is small, conditioned
        // on class 2 (the opposite quadrant) it points away from class 2's modes.
        const auto mode0 = gmm->means().index_select(0, at::nonzero(gmm->componentClass() == 0).view({-1}))[0];
        const double position = 300.0;
        const double alpha = std::exp(referenceLogAlpha(position));
        const auto x = (alpha * mode0).view({1, 2}).expand({5, 2}).contiguous();
        const auto t = at::full({5}, position, at::kFloat);
        const std::vector<int64_t> classes{0, 1, 2, 3, 4};
        const auto got = gmm->forward(x, t, at::tensor(classes));
        QVERIFY(maxAbsDiff(got, referenceNoise(*gmm, x, position, classes)) < 1e-4);
        QVERIFY(got[0].norm().item<double>() < got[2].norm().item<double>());
        // Null class == all components == no classes at all.
        const auto all = gmm->forward(x, t, at::full({5}, 4, at::kLong));
        const auto none = gmm->forward(x, t, at::Tensor());
        QVERIFY(maxAbsDiff(all, none) < 1e-6);
        QVERIFY(maxAbsDiff(all[0], got[4]) < 1e-6);
        QVERIFY(maxAbsDiff(all[0], got[0]) > 1e-3);  // class 0 alone really differs from the mixture
    }

    void unknownBuiltin() {
        DCSCOPE_EXPECT_ERROR(dcscope::loadModel("builtin:gmm3d"), ErrorCode::BadModel, "builtin:gmm3d");
        DCSCOPE_EXPECT_ERROR(dcscope::loadModel("builtin:gmm3d"), ErrorCode::BadModel, "builtin:gmm2d");
        DCSCOPE_EXPECT_ERROR(dcscope::loadModel("builtin:"), ErrorCode::BadModel, "builtin:gmm-image");
        QCOMPARE(dcscope::GaussianMixtureModel::builtinNames(), (std::vector<std::string>{"gmm2d", "gmm-image"}));
    }

    void packageLoadsAndRuns() {
        const std::string folder = makePackage(classManifest(), kClassNetwork);
        for (const std::string& spec : {folder, folder + "/model.json"}) {
            const auto model = dcscope::loadModel(spec);
            const auto& info = model->info();
            QCOMPARE(info.name, std::string("tiny-class"));
            QVERIFY(info.predictionType == PredictionType::Epsilon);
            QCOMPARE(info.sampleShape, (std::vector<int64_t>{1, 4, 4}));
            QCOMPARE(info.numClasses, 3);
            QCOMPARE(info.nullClass, 3);
            QCOMPARE(info.labels, (std::vector<std::string>{"zero", "one", "two"}));
            QCOMPARE(info.valueRange, (std::pair<double, double>(-1.0, 1.0)));
            QVERIFY(!info.hasDecoder);
            QVERIFY(std::filesystem::equivalent(info.source, folder));
            QCOMPARE(model->schedule().betas(), NoiseSchedule::fromName("linear", 1e-4, 0.02, 1000).betas());
            const auto x = at::randn({3, 1, 4, 4});
            const auto out = model->forward(x, at::full({3}, 500.0f), at::tensor(std::vector<int64_t>{0, 2, 3}));
            QVERIFY(at::allclose(out, 0.5 * x));
            QVERIFY(model->decode(x).data_ptr() == x.data_ptr());  // no decoder: identity
        }
        const auto plain = dcscope::loadModel(makePackage(plainManifest(), kPlainNetwork));
        QVERIFY(!plain->isConditional());
        const auto x = at::randn({2, 1, 4, 4});
        QVERIFY(at::allclose(plain->forward(x, at::full({2}, 3.0f), at::Tensor()), 0.5 * x));
    }

    void packageWithDecoder() {
        auto manifest = plainManifest();
        manifest["decoder"] = "decoder.pt";
        const std::string folder = makePackage(manifest, kPlainNetwork);
        saveNetwork(folder + "/decoder.pt", "def forward(self, x):\n    return x * 2.0 - 1.0");
        const auto model = dcscope::loadModel(folder);
        QVERIFY(model->info().hasDecoder);
        const auto x = at::randn({2, 1, 4, 4});
        QVERIFY(at::allclose(model->decode(x), x * 2.0 - 1.0));

        manifest["decoder"] = "missing_decoder.pt";
        DCSCOPE_EXPECT_ERROR(dcscope::loadModel(makePackage(manifest, kPlainNetwork)), ErrorCode::BadFile, "missing_decoder.pt");
    }

    void packageWithCompensationEntry() {
        // CPR coefficients and one searched ratio file, named relative to the package folder.
        auto manifest = plainManifest();
        manifest["compensation"] = {{"cpr", "compensation/cpr.npy"}, {"ratio_files", {"compensation/r5.json"}}, {"solver", "unipc"}};
        const std::string folder = makePackage(manifest, kPlainNetwork);
        std::filesystem::create_directories(folder + "/compensation");
        CprCoefficients coefficients{};
        coefficients[2 * 9 + 2 * 3 + 2] = 0.5;  // rho_k = 0.5 (k/S)^2 for k >= 3
        saveCprCoefficients(folder + "/compensation/cpr.npy", coefficients);
        std::ofstream(folder + "/compensation/r5.json") << R"({"ratios": [1, 1, 0.9, 1.1, 1.2], "nfe": 5, "cfg": 3})";
        const auto model = std::dynamic_pointer_cast<TorchScriptModel>(dcscope::loadModel(folder));
        QVERIFY(model && model->compensation());
        QVERIFY(model->compensation()->cpr);
        QCOMPARE((*model->compensation()->cpr)[26], 0.5);
        QCOMPARE(int(model->compensation()->ratioSamples.size()), 1);
        QCOMPARE(model->compensation()->ratioSamples[0].guidance, 3.0);
        // `--cpr` takes the package folder as well as the .npy: the same coefficients.
        const auto fromFolder = loadCprCoefficientsFrom(folder);
        QVERIFY(fromFolder == loadCprCoefficientsFrom(folder + "/compensation/cpr.npy"));
        const auto predicted = predictCprRatios(fromFolder, 3.0, 5);
        QCOMPARE(predicted[4], 0.5);  // k = 5 of 5

        // A missing file and a malformed one give one line naming model.json's field.
        manifest["compensation"].erase("cpr");
        manifest["compensation"]["ratio_files"] = {"compensation/absent.json"};
        DCSCOPE_EXPECT_ERROR(dcscope::loadModel(makePackage(manifest, kPlainNetwork)), ErrorCode::BadFile,
                             "field 'compensation.ratio_files[0]' names");
        // A name the system refuses (longer than NAME_MAX) too, not a std::filesystem error.
        manifest["compensation"]["ratio_files"] = {"compensation/" + std::string(300, 'r') + ".json"};
        DCSCOPE_EXPECT_ERROR(dcscope::loadModel(makePackage(manifest, kPlainNetwork)), ErrorCode::BadFile,
                             "field 'compensation.ratio_files[0]' names");
        const std::string broken = makePackage(plainManifest(), kPlainNetwork);
        std::filesystem::create_directories(broken + "/compensation");
        std::ofstream(broken + "/compensation/cpr.npy") << "not a numpy file";
        auto brokenManifest = plainManifest();
        brokenManifest["compensation"] = {{"cpr", "compensation/cpr.npy"}};
        std::ofstream(broken + "/model.json") << brokenManifest.dump();
        DCSCOPE_EXPECT_ERROR(dcscope::loadModel(broken), ErrorCode::BadFile, "field 'compensation.cpr'");
        brokenManifest["compensation"] = json::object();
        std::ofstream(broken + "/model.json") << brokenManifest.dump();
        DCSCOPE_EXPECT_ERROR(dcscope::loadModel(broken), ErrorCode::BadFile, "names neither");
        // A package without an entry has no CPR for --cpr.
        DCSCOPE_EXPECT_ERROR(loadCprCoefficientsFrom(makePackage(plainManifest(), kPlainNetwork)), ErrorCode::BadFile,
                             "no 'compensation.cpr' entry");
    }

    void missingPackage() {
        const std::string absent = m_dir.path().toStdString() + "/no_such_package";
        DCSCOPE_EXPECT_ERROR(dcscope::loadModel(absent), ErrorCode::BadFile, "no_such_package");
        const std::string empty = m_dir.path().toStdString() + "/empty_package";
        std::filesystem::create_directories(empty);
        DCSCOPE_EXPECT_ERROR(dcscope::loadModel(empty), ErrorCode::BadFile, empty + "/model.json");
    }

    void malformedManifest() {
        for (const char* text : {"{\"name\": \"x\",", "{\n  \"name\": \"x\"\n  \"network\": \"network.pt\"\n}", "", "[1, 2"}) {
            const std::string folder = makePackage(json(), kClassNetwork, std::string(text).empty() ? " " : text);
            DCSCOPE_EXPECT_ERROR(dcscope::loadModel(folder), ErrorCode::BadFile, folder + "/model.json");
        }
        const std::string folder = makePackage(json(), kClassNetwork, "[1, 2]");
        DCSCOPE_EXPECT_ERROR(dcscope::loadModel(folder), ErrorCode::BadFile, folder + "/model.json");
    }

    void missingRequiredFields() {
        for (const char* field : {"name", "network", "prediction_type", "scheduler", "sample_shape", "conditioning"}) {
            auto manifest = classManifest();
            manifest.erase(field);
            const std::string folder = makePackage(manifest, kClassNetwork);
            DCSCOPE_EXPECT_ERROR(dcscope::loadModel(folder), ErrorCode::BadFile, folder + "/model.json");
            DCSCOPE_EXPECT_ERROR(dcscope::loadModel(folder), ErrorCode::BadFile, std::string("'") + field + "'");
        }
        auto manifest = classManifest();
        manifest["conditioning"].erase("num_classes");
        DCSCOPE_EXPECT_ERROR(dcscope::loadModel(makePackage(manifest, kClassNetwork)), ErrorCode::BadFile, "num_classes");
        manifest = classManifest();
        manifest["conditioning"].erase("null_class");
        DCSCOPE_EXPECT_ERROR(dcscope::loadModel(makePackage(manifest, kClassNetwork)), ErrorCode::BadFile, "null_class");
    }

    void badFieldValues() {
        struct Case {
            const char* pointer;  // JSON pointer of the field to replace
            json value;
            const char* fragment;
        };
        const std::vector<Case> cases = {
            {"/name", 42, "name"},
            {"/name", "", "name"},
            {"/prediction_type", "eps", "prediction_type"},
            {"/prediction_type", "v-prediction", "prediction_type"},
            {"/sample_shape", json::array({-1, 4, 4}), "sample_shape"},
            {"/sample_shape", json::array({1, 0, 4}), "sample_shape"},
            {"/sample_shape", 16, "sample_shape"},
            {"/sample_shape", "[1, 4, 4]", "sample_shape"},
            {"/sample_shape", json::array({1, "4", 4}), "sample_shape"},
            {"/sample_shape", json::array({1.5, 4, 4}), "sample_shape"},
            {"/sample_shape", json::array(), "sample_shape"},
            {"/sample_shape", json::array({65536, 65536, 65536, 65536}), "sample_shape"},  // 2^64 elements
            {"/conditioning", "class", "conditioning"},
            {"/conditioning/type", "text", "conditioning.type"},
            {"/conditioning/null_class", 0, "null_class"},
            {"/conditioning/null_class", 2, "null_class"},
            {"/conditioning/null_class", -1, "null_class"},
            {"/conditioning/num_classes", 0, "num_classes"},
            {"/conditioning/num_classes", "3", "num_classes"},
            {"/conditioning/num_classes", 4294967299, "num_classes"},  // not 3 as an int
            {"/conditioning/labels", json::array({"zero", "one"}), "labels"},
            {"/conditioning/labels", json::array({"zero", "one", "two", "three"}), "labels"},
            {"/conditioning/labels", json::array({"zero", 1, "two"}), "labels"},
            {"/scheduler/beta_schedule", "cosine", "beta_schedule"},
            {"/scheduler/num_train_timesteps", 1, "num_train_timesteps"},
            {"/scheduler", "linear", "scheduler"},
            {"/value_range", json::array({1, -1}), "value_range"},
        };
        for (const auto& c : cases) {
            auto manifest = classManifest();
            manifest[json::json_pointer(c.pointer)] = c.value;
            const std::string folder = makePackage(manifest, kClassNetwork);
            const std::string where = std::string(c.pointer) + " = " + c.value.dump();
            const std::string failure = dcscope::testing::expectError([&] { dcscope::loadModel(folder); }, ErrorCode::BadFile, c.fragment);
            QVERIFY2(failure.empty(), (where + ": " + failure).c_str());
            const std::string failure2 =
                dcscope::testing::expectError([&] { dcscope::loadModel(folder); }, ErrorCode::BadFile, folder + "/model.json");
            QVERIFY2(failure2.empty(), (where + ": " + failure2).c_str());
        }
    }

    void networkFileDefects() {
        // Missing file.
        auto manifest = classManifest();
        manifest["network"] = "absent.pt";
        std::string folder = makePackage(manifest, kClassNetwork);
        DCSCOPE_EXPECT_ERROR(dcscope::loadModel(folder), ErrorCode::BadFile, folder + "/absent.pt");
        // A name longer than NAME_MAX is not found either (not a std::filesystem error).
        manifest["network"] = std::string(300, 'n') + ".pt";
        folder = makePackage(manifest, kClassNetwork);
        DCSCOPE_EXPECT_ERROR(dcscope::loadModel(folder), ErrorCode::BadFile, "file not found");

        // Truncated: the first half of a valid archive.
        folder = makePackage(classManifest(), kClassNetwork);
        const std::string network = folder + "/network.pt";
        const std::string bytes = dcscope::readFile(network);
        QVERIFY(bytes.size() > 100);
        writeBytes(network, bytes.substr(0, bytes.size() / 2));
        DCSCOPE_EXPECT_ERROR(dcscope::loadModel(folder), ErrorCode::BadModel, network);

        // Garbage bytes, and an empty file.
        std::string garbage;
        for (int i = 0; i < 4096; ++i) garbage += char((i * 7919 + 13) & 0xff);
        writeBytes(network, garbage);
        DCSCOPE_EXPECT_ERROR(dcscope::loadModel(folder), ErrorCode::BadModel, network);
        writeBytes(network, "");
        DCSCOPE_EXPECT_ERROR(dcscope::loadModel(folder), ErrorCode::BadModel, network);
    }

    void networkBehaviourDefects() {
        struct Case {
            const char* what;
            json manifest;
            const char* source;
            const char* fragment;
        };
        const std::vector<Case> cases = {
            {"wrong shape", classManifest(), "def forward(self, x, t, c):\n    return x.sum(1)", "[2, 4, 4]"},
            {"wrong shape (batch)", classManifest(), "def forward(self, x, t, c):\n    return x[0:1]", "shape"},
            {"wrong signature for a class model", classManifest(), "def forward(self, x):\n    return x", "network.pt"},
            {"wrong signature for an unconditional model", plainManifest(), kClassNetwork, "network.pt"},
            {"NaN on the probe", classManifest(), "def forward(self, x, t, c):\n    return x + float('nan')", "NaN"},
            {"Inf on the probe", plainManifest(), "def forward(self, x, t):\n    return x + float('inf')", "NaN/Inf"},
            {"float64 output", classManifest(), "def forward(self, x, t, c):\n    return x.double()", "float32"},
            {"tuple output", classManifest(), "def forward(self, x, t, c):\n    return (x, x)", "one tensor"},
            {"runtime failure", classManifest(), "def forward(self, x, t, c):\n    return x.view(7, -1, 3)", "network.pt"},
        };
        for (const auto& c : cases) {
            const std::string folder = makePackage(c.manifest, c.source);
            for (const std::string& fragment : {std::string(c.fragment), folder + "/network.pt"}) {
                const std::string failure =
                    dcscope::testing::expectError([&] { dcscope::loadModel(folder); }, ErrorCode::BadModel, fragment);
                QVERIFY2(failure.empty(), (std::string(c.what) + ": " + failure).c_str());
            }
        }
    }

    void forwardFailureAfterLoading() {
        // Passes the probe (batch 2) but fails inside the interpreter for any other batch size.
        auto manifest = classManifest();
        manifest["decoder"] = "decoder.pt";
        const std::string folder = makePackage(manifest, "def forward(self, x, t, c):\n    return x.view(2, 1, 4, 4)");
        saveNetwork(folder + "/decoder.pt", "def forward(self, x):\n    return x.view(5, 7)");
        const auto model = dcscope::loadModel(folder);
        const auto x = at::randn({3, 1, 4, 4});
        const auto t = at::full({3}, 10.0f);
        const auto c = at::zeros({3}, at::kLong);
        DCSCOPE_EXPECT_ERROR(model->forward(x, t, c), ErrorCode::BadModel, folder + "/network.pt");
        DCSCOPE_EXPECT_ERROR(model->forward(x, t, c), ErrorCode::BadModel, "invalid for input of size 48");
        dcscope::GuidedDenoiser denoiser(*model, {c, 2.0});
        DCSCOPE_EXPECT_ERROR(denoiser.noise(x, 0.5), ErrorCode::BadModel, "network.pt");
        DCSCOPE_EXPECT_ERROR(model->decode(x), ErrorCode::BadModel, folder + "/decoder.pt");
    }

    void predictionTypeConversions() {
        // The network answers 0.5 x whatever the type, so each conversion has a closed form.
        const double t = 0.37;
        for (const char* type : {"epsilon", "v_prediction", "sample"}) {
            auto manifest = plainManifest();
            manifest["prediction_type"] = type;
            const auto model = dcscope::loadModel(makePackage(manifest, kPlainNetwork));
            QCOMPARE(dcscope::toString(model->info().predictionType), std::string(type));
            const double alpha = model->schedule().alpha(t), sigma = model->schedule().sigma(t);
            dcscope::GuidedDenoiser denoiser(*model, {});
            const auto x = at::randn({3, 1, 4, 4});
            const auto raw = 0.5 * x.to(at::kDouble);
            const auto xd = x.to(at::kDouble);
            at::Tensor expectedNoise, expectedData;
            if (std::string(type) == "epsilon") {
                expectedNoise = raw;
                expectedData = (xd - sigma * raw) / alpha;
            } else if (std::string(type) == "v_prediction") {
                expectedNoise = alpha * raw + sigma * xd;  // e = alpha v + sigma x
                expectedData = alpha * xd - sigma * raw;   // x0 = alpha x - sigma v
            } else {
                expectedNoise = (xd - alpha * raw) / sigma;  // e = (x - alpha x0) / sigma
                expectedData = raw;                          // the network's x0 comes back
            }
            const auto e = denoiser.noise(x, t);
            QVERIFY2(maxAbsDiff(e, expectedNoise) < 1e-5 * std::max(1.0, expectedNoise.abs().max().item<double>()), type);
            const auto x0 = denoiser.dataPrediction(x, t);
            QVERIFY2(maxAbsDiff(x0, expectedData) < 1e-4 * std::max(1.0, expectedData.abs().max().item<double>()), type);
            QCOMPARE(denoiser.nfe(), 2);
        }
        DCSCOPE_EXPECT_ERROR(dcscope::parsePredictionType("x0"), ErrorCode::InvalidArgument, "x0");
    }

    void guidanceMatchesSeparateCalls() {
        auto gmm = dcscope::GaussianMixtureModel::builtin("gmm2d");
        const auto classes = at::tensor(std::vector<int64_t>{0, 2, 1, 3});
        const auto x = at::randn({4, 2});
        const double t = 0.6;
        const auto modelTime = at::full({4}, gmm->schedule().modelTime(t), at::kFloat);
        const auto unconditional = gmm->forward(x, modelTime, at::full({4}, 4, at::kLong));
        const auto conditional = gmm->forward(x, modelTime, classes);
        for (double w : {0.0, 1.0, 3.5, 7.5}) {
            dcscope::GuidedDenoiser denoiser(*gmm, {classes, w});
            const auto guided = denoiser.noise(x, t);
            QCOMPARE(denoiser.nfe(), 1);
            const auto expected = unconditional + w * (conditional - unconditional);
            QVERIFY2(maxAbsDiff(guided, expected) < 1e-5 * std::max(1.0, expected.abs().max().item<double>()),
                     QByteArray("w = ") + QByteArray::number(w));
            denoiser.dataPrediction(x, t);
            QCOMPARE(denoiser.nfe(), 2);
            denoiser.resetNfe();
            QCOMPARE(denoiser.nfe(), 0);
        }
    }

    void guidanceBatching() {
        RecordingModel model(classInfo({1, 2, 2}, 5));
        const auto x = at::randn({3, 1, 2, 2});
        const auto classes = at::tensor(std::vector<int64_t>{0, 4, 2});
        const double t = 0.25;
        const double modelTime = model.schedule().modelTime(t);

        // w != 1: ONE call on [x; x] with classes [null; cond], one NFE.
        dcscope::GuidedDenoiser guided(model, {classes, 4.0});
        const auto e = guided.noise(x, t);
        QCOMPARE(int(model.m_calls.size()), 1);
        QCOMPARE(guided.nfe(), 1);
        QCOMPARE(model.m_calls[0].batch, int64_t(6));
        QVERIFY(at::equal(model.m_calls[0].classes, at::tensor(std::vector<int64_t>{5, 5, 5, 0, 4, 2})));
        QVERIFY(at::allclose(model.m_calls[0].modelTime, at::full({6}, modelTime, at::kFloat)));
        QCOMPARE(model.m_calls[0].modelTime.scalar_type(), at::kFloat);
        // e = e_u + w (e_c - e_u) with e_u = 0.5 x + 6 and e_c = 0.5 x + c + 1.
        const auto expected = 0.5 * x + 6.0 + 4.0 * (classes.to(at::kFloat) + 1 - 6.0).view({3, 1, 1, 1});
        QVERIFY(maxAbsDiff(e, expected) < 1e-5);
        guided.noise(x, t);
        QCOMPARE(int(model.m_calls.size()), 2);
        QCOMPARE(guided.nfe(), 2);

        // w == 1: only the conditional batch.
        model.m_calls.clear();
        dcscope::GuidedDenoiser plain(model, {classes, 1.0});
        const auto e1 = plain.noise(x, t);
        QCOMPARE(int(model.m_calls.size()), 1);
        QCOMPARE(plain.nfe(), 1);
        QCOMPARE(model.m_calls[0].batch, int64_t(3));
        QVERIFY(at::equal(model.m_calls[0].classes, classes));
        QVERIFY(maxAbsDiff(e1, 0.5 * x + (classes.to(at::kFloat) + 1).view({3, 1, 1, 1})) < 1e-6);

        // No classes on a class model: the null class, one call of batch B.
        model.m_calls.clear();
        dcscope::GuidedDenoiser unconditioned(model, {at::Tensor(), 6.0});
        unconditioned.noise(x, t);
        QCOMPARE(int(model.m_calls.size()), 1);
        QCOMPARE(model.m_calls[0].batch, int64_t(3));
        QVERIFY(at::equal(model.m_calls[0].classes, at::full({3}, 5, at::kLong)));
    }

    void denoiserRejectsBadConditioningAndOutputs() {
        RecordingModel model(classInfo({2}, 3));
        DCSCOPE_EXPECT_ERROR(dcscope::GuidedDenoiser(model, {at::tensor(std::vector<int64_t>{0, 3}), 2.0}),
                             ErrorCode::InvalidArgument, "class");
        DCSCOPE_EXPECT_ERROR(dcscope::GuidedDenoiser(model, {at::tensor(std::vector<int64_t>{-1}), 2.0}),
                             ErrorCode::InvalidArgument, "class");
        DCSCOPE_EXPECT_ERROR(dcscope::GuidedDenoiser(model, {at::tensor(std::vector<int64_t>{0}), std::nan("")}),
                             ErrorCode::InvalidArgument, "cfg");
        RecordingModel unconditional(classInfo({2}, 0));
        DCSCOPE_EXPECT_ERROR(dcscope::GuidedDenoiser(unconditional, {at::tensor(std::vector<int64_t>{0}), 1.0}),
                             ErrorCode::InvalidArgument, "unconditional");

        dcscope::GuidedDenoiser denoiser(model, {at::tensor(std::vector<int64_t>{0, 1}), 2.0});
        const auto x = at::randn({2, 2});
        DCSCOPE_EXPECT_ERROR(denoiser.noise(at::randn({3, 2}), 0.5), ErrorCode::InvalidArgument, "class");
        model.m_respond = [](const at::Tensor& input) { return input.sum(1); };
        DCSCOPE_EXPECT_ERROR(denoiser.noise(x, 0.5), ErrorCode::BadModel, "shape");
        model.m_respond = [](const at::Tensor& input) { return input * std::nan(""); };
        DCSCOPE_EXPECT_ERROR(denoiser.noise(x, 0.5), ErrorCode::NonFinite, "NaN");
        denoiser.setCheckFinite(false);
        QVERIFY(at::isnan(denoiser.noise(x, 0.5)).all().item<bool>());

        // A set cancel token stops before the model call and costs no NFE.
        model.m_respond = nullptr;
        model.m_calls.clear();
        dcscope::CancelToken token;
        dcscope::GuidedDenoiser cancellable(model, {at::tensor(std::vector<int64_t>{0, 1}), 2.0}, &token);
        cancellable.noise(x, 0.5);
        token.requestCancel();
        DCSCOPE_EXPECT_ERROR(cancellable.noise(x, 0.5), ErrorCode::Cancelled, "cancel");
        QCOMPARE(cancellable.nfe(), 1);
        QCOMPARE(int(model.m_calls.size()), 1);
    }

    void validateNoise() {
        const auto model = dcscope::loadModel("builtin:gmm-image");
        dcscope::GuidedDenoiser denoiser(*model, {at::tensor(std::vector<int64_t>{1, 2}), 3.0});
        denoiser.validateNoise(at::randn({2, 1, 8, 8}));
        DCSCOPE_EXPECT_ERROR(denoiser.validateNoise(at::randn({2, 8, 8})), ErrorCode::InvalidArgument, "noise");
        DCSCOPE_EXPECT_ERROR(denoiser.validateNoise(at::randn({2, 1, 8, 7})), ErrorCode::InvalidArgument, "[2, 1, 8, 7]");
        DCSCOPE_EXPECT_ERROR(denoiser.validateNoise(at::randn({2, 1, 8, 8, 1}), "start.npy"), ErrorCode::InvalidArgument, "start.npy");
        DCSCOPE_EXPECT_ERROR(denoiser.validateNoise(at::randn({0, 1, 8, 8})), ErrorCode::InvalidArgument, "noise");
        DCSCOPE_EXPECT_ERROR(denoiser.validateNoise(at::Tensor()), ErrorCode::InvalidArgument, "noise");
        DCSCOPE_EXPECT_ERROR(denoiser.validateNoise(at::ones({2, 1, 8, 8}, at::kLong)), ErrorCode::InvalidArgument, "floating");
        auto bad = at::randn({2, 1, 8, 8});
        bad[1][0][3][4] = std::nan("");
        DCSCOPE_EXPECT_ERROR(denoiser.validateNoise(bad, "start.npy"), ErrorCode::NonFinite, "start.npy");
        bad = at::randn({2, 1, 8, 8});
        bad[0][0][0][0] = -std::numeric_limits<float>::infinity();
        DCSCOPE_EXPECT_ERROR(denoiser.validateNoise(bad), ErrorCode::NonFinite, "noise");
        DCSCOPE_EXPECT_ERROR(denoiser.validateNoise(at::randn({3, 1, 8, 8})), ErrorCode::InvalidArgument, "class");
    }
};

QTEST_APPLESS_MAIN(TestModels)
#include "test_models.moc"
