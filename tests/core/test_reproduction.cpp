// The reproduction record: JSON round trip, strict rejection naming the field, the A1111-style
// parameters line, the tensor hash, and the checks against a loaded model.
#include <ATen/ATen.h>
#include <QtTest/QtTest>

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "dcscope/errors.h"
#include "dcscope/model.h"
#include "dcscope/reproduction.h"
#include "dcscope/search.h"
#include "support/test_support.h"

using dcscope::ErrorCode;
using dcscope::ReproductionRecord;

namespace {

const std::string kSource = "x.png (dcscope chunk)";

// A record with every field away from its default, optional ones present.
ReproductionRecord fullRecord() {
    ReproductionRecord record;
    record.software = "dcscope-cli 9.9.9";
    record.modelSpec = "/data/packages/fashion";
    record.modelName = "fashion-mnist-32";
    record.modelIdentity = "package:70f92be58a55cc1b:5036196:480dd61901dc0a6e";
    record.solver.solver = dcscope::SolverType::UniPC;
    record.solver.variant = dcscope::UniPCVariant::Bh1;
    record.solver.order = 3;
    record.solver.steps = 6;
    record.solver.grid = dcscope::TimeGrid::LogSnr;
    record.solver.lowerOrderFinal = false;
    record.solver.disabledCorrectors = {1, 3};
    record.solver.dcOrder = 2;
    record.solver.ratios = {1.0, 1.0, 0.1 + 0.2, 1.1, 0.95, 1.0 / 3.0};  // doubles without short decimals
    record.seed = (uint64_t(1) << 63) + 5;
    record.batchSize = 3;
    record.noiseSource = dcscope::NoiseSource::NpyFile;
    record.noiseFile = "noise/start.npy";
    record.device = "cuda:1";
    record.guidance = 7.25;
    record.classes = {2, 0, 1};
    record.groundTruth = dcscope::ReproductionGroundTruth{150, dcscope::FineSolver::Ddim};
    record.mse = 1.5e-5;
    record.pngColumns = 2;
    record.resultShape = {3, 1, 32, 32};
    record.resultHash = "0123456789abcdef";
    return record;
}

// The record the CLI writes for gmm-image, 16 samples, each class in turn, guidance 3, DC.
ReproductionRecord gmmImageRecord() {
    ReproductionRecord record;
    record.modelSpec = "builtin:gmm-image";
    record.modelName = "gmm-image";
    record.modelIdentity = "builtin:gmm-image";
    record.solver.steps = 10;
    record.solver.ratios = {1, 1, 0.95, 1.05, 1, 1, 0.9, 1, 1, 1};
    record.batchSize = 16;
    record.guidance = 3;
    for (int i = 0; i < 16; ++i) record.classes.push_back(i % 4);
    record.pngColumns = 4;
    record.resultShape = {16, 1, 8, 8};
    record.resultHash = "fedcba9876543210";
    return record;
}

void expectSame(const ReproductionRecord& a, const ReproductionRecord& b) {
    QCOMPARE(a.formatVersion, b.formatVersion);
    QCOMPARE(a.software, b.software);
    QCOMPARE(a.modelSpec, b.modelSpec);
    QCOMPARE(a.modelName, b.modelName);
    QCOMPARE(a.modelIdentity, b.modelIdentity);
    QVERIFY(a.solver.solver == b.solver.solver);
    QVERIFY(a.solver.variant == b.solver.variant);
    QCOMPARE(a.solver.order, b.solver.order);
    QCOMPARE(a.solver.steps, b.solver.steps);
    QVERIFY(a.solver.grid == b.solver.grid);
    QCOMPARE(a.solver.lowerOrderFinal, b.solver.lowerOrderFinal);
    QVERIFY(a.solver.disabledCorrectors == b.solver.disabledCorrectors);
    QCOMPARE(a.solver.dcOrder, b.solver.dcOrder);
    QVERIFY(a.solver.ratios == b.solver.ratios);  // exact: the doubles must survive the text
    QCOMPARE(a.seed, b.seed);
    QCOMPARE(a.batchSize, b.batchSize);
    QVERIFY(a.noiseSource == b.noiseSource);
    QCOMPARE(a.noiseFile, b.noiseFile);
    QCOMPARE(a.device, b.device);
    QCOMPARE(a.dtype, b.dtype);
    QCOMPARE(a.guidance, b.guidance);
    QVERIFY(a.classes == b.classes);
    QCOMPARE(a.groundTruth.has_value(), b.groundTruth.has_value());
    if (a.groundTruth) {
        QCOMPARE(a.groundTruth->fineSteps, b.groundTruth->fineSteps);
        QVERIFY(a.groundTruth->fineSolver == b.groundTruth->fineSolver);
    }
    QCOMPARE(a.mse.has_value(), b.mse.has_value());
    if (a.mse) QCOMPARE(*a.mse, *b.mse);
    QCOMPARE(a.pngColumns, b.pngColumns);
    QVERIFY(a.resultShape == b.resultShape);
    QCOMPARE(a.resultHash, b.resultHash);
}

}  // namespace

class TestReproduction : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void roundTripKeepsEveryField() {
        for (const ReproductionRecord& record : {fullRecord(), gmmImageRecord(), ReproductionRecord{} /* defaults, filled below */}) {
            ReproductionRecord original = record;
            if (original.modelSpec.empty()) {  // the plainest valid record: no ratios, unconditional
                original.modelSpec = "builtin:gmm2d";
                original.modelName = "gmm2d";
                original.resultShape = {1, 2};
                original.resultHash = "0000000000000000";
            }
            const std::string json = dcscope::toJson(original);
            const ReproductionRecord parsed = dcscope::parseReproductionRecord(json, kSource);
            expectSame(parsed, original);
            QCOMPARE(dcscope::toJson(parsed), json);  // stable: a re-export writes the same bytes
        }
    }

    void textThatIsNotUtf8IsRefusedNotMangled() {
        ReproductionRecord record = gmmImageRecord();
        record.modelSpec = "/data/caf\xe9";  // Latin-1 bytes in a path
        DCSCOPE_EXPECT_ERROR(dcscope::toJson(record), ErrorCode::InvalidArgument, "not valid UTF-8");
    }

    void jsonNamesTheRecipe() {
        const auto document = nlohmann::json::parse(dcscope::toJson(gmmImageRecord()));
        QCOMPARE(document["format"].get<std::string>(), std::string("dcscope.reproduction"));
        QCOMPARE(document["version"].get<int>(), dcscope::kReproductionFormatVersion);
        QCOMPARE(document["rng"]["source"].get<std::string>(), std::string("datapoints"));
        QCOMPARE(document["rng"]["seeding"].get<std::string>(), std::string("seed+index"));
        QCOMPARE(document["rng"]["generator"].get<std::string>(), std::string("torch.cpu"));
        QCOMPARE(document["solver"]["grid"].get<std::string>(), std::string("time_uniform"));
        QCOMPARE(document["result"]["fnv1a64"].get<std::string>(), std::string("fedcba9876543210"));
        QVERIFY(!document.contains("mse"));  // optional fields are left out when unknown
        QVERIFY(!document.contains("groundTruth"));
    }

    void rejectsEachKindOfBadField_data() {
        QTest::addColumn<QString>("path");   // JSON pointer of the member to change ("" = the text itself)
        QTest::addColumn<QString>("value");  // JSON value to put there; "<delete>" removes it
        QTest::addColumn<QString>("fragment");
        const auto add = [](const char* name, const char* path, const char* value, const char* fragment) {
            QTest::newRow(name) << QString(path) << QString(value) << QString(fragment);
        };
        add("not json", "", "{\"format\": ", "malformed JSON");
        add("not an object", "", "[1, 2]", "the record must be a JSON object");
        add("wrong format", "/format", "\"other\"", "field 'format' must be 'dcscope.reproduction'");
        add("future version", "/version", "2", "field 'version' is 2; this dcscope reads version 1");
        add("version as text", "/version", "\"1\"", "field 'version' must be an integer");
        add("missing version", "/version", "<delete>", "field 'version' is missing");
        add("unknown member", "/colour", "1", "field 'colour' is not part of this format");
        add("unknown solver member", "/solver/eta", "0", "field 'solver.eta' is not part of this format");
        add("model not an object", "/model", "\"fashion\"", "field 'model' must be an object");
        add("missing model spec", "/model/spec", "<delete>", "field 'model.spec' is missing");
        add("empty model name", "/model/name", "\"\"", "field 'model.name' must be a non-empty string");
        add("unknown solver", "/solver/solver", "\"euler\"", "field 'solver.solver' has the unknown value 'euler'");
        add("unknown variant", "/solver/variant", "\"bh3\"", "field 'solver.variant' has the unknown value 'bh3'");
        add("order as text", "/solver/order", "\"2\"", "field 'solver.order' must be an integer");
        add("order too high", "/solver/order", "4", "field 'solver.order' must be an integer in 1..3");
        add("order fractional", "/solver/order", "2.5", "field 'solver.order' must be an integer");
        add("steps zero", "/solver/steps", "0", "field 'solver.steps'");
        add("steps wrapping", "/solver/steps", "4294967306", "field 'solver.steps'");
        add("grid not a name", "/solver/grid", "3", "field 'solver.grid' must be a non-empty string");
        add("lowerOrderFinal as number", "/solver/lowerOrderFinal", "1", "field 'solver.lowerOrderFinal' must be true or false");
        add("corrector index", "/solver/disabledCorrectors", "[99]", "field 'solver.disabledCorrectors[0]'");
        add("dcOrder", "/solver/dcOrder", "0", "field 'solver.dcOrder'");
        add("ratio not a number", "/solver/ratios/2", "\"a\"", "field 'solver.ratios[2]' must be a finite number");
        add("ratio count", "/solver/ratios", "[1, 1, 0.9]", "field 'solver' is impossible");
        add("first ratio", "/solver/ratios/0", "0.5", "field 'solver' is impossible");
        add("negative seed", "/seed", "-1", "field 'seed' must be a non-negative integer");
        add("fractional seed", "/seed", "1.5", "field 'seed' must be a non-negative integer");
        add("batch zero", "/batchSize", "0", "field 'batchSize'");
        add("class count", "/classes", "[0, 1]", "field 'classes' must list one class per sample (16)");
        add("negative class", "/classes/1", "-1", "field 'classes[1]'");
        add("unknown rng", "/rng/source", "\"mt19937\"", "field 'rng.source' must be 'datapoints' or 'npy'");
        add("other generator", "/rng/generator", "\"numpy\"", "field 'rng.generator' must be 'torch.cpu'");
        add("missing seeding", "/rng/seeding", "<delete>", "field 'rng.seeding' is missing");
        add("npy without file", "/rng", "{\"source\": \"npy\"}", "field 'rng.file' is missing");
        add("device", "/device", "\"tpu\"", "field 'device' must be cpu, cuda or cuda:N");
        add("dtype", "/dtype", "\"float16\"", "field 'dtype' must be 'float32'");
        add("guidance as text", "/guidance", "\"3\"", "field 'guidance' must be a finite number");
        add("guidance null (NaN)", "/guidance", "null", "field 'guidance' must be a finite number");
        add("negative mse", "/mse", "-1", "field 'mse' must be >= 0");
        add("fine solver", "/groundTruth", "{\"fineSteps\": 200, \"fineSolver\": \"euler\"}", "field 'groundTruth.fineSolver'");
        add("fine steps", "/groundTruth", "{\"fineSteps\": 0, \"fineSolver\": \"ddim\"}", "field 'groundTruth.fineSteps'");
        add("columns", "/png/columns", "0", "field 'png.columns'");
        add("missing png", "/png", "<delete>", "field 'png' is missing");
        add("shape batch", "/result/shape/0", "15", "field 'result.shape' must start with batchSize");
        add("shape rank", "/result/shape", "[16]", "field 'result.shape' must list 2 to 5 dimensions");
        add("hash digits", "/result/fnv1a64", "\"xyz\"", "field 'result.fnv1a64' must be 16 lower-case hex digits");
        add("hash upper case", "/result/fnv1a64", "\"FEDCBA9876543210\"", "field 'result.fnv1a64'");
        add("missing hash", "/result/fnv1a64", "<delete>", "field 'result.fnv1a64' is missing");
    }
    void rejectsEachKindOfBadField() {
        QFETCH(QString, path);
        QFETCH(QString, value);
        QFETCH(QString, fragment);
        std::string json;
        if (path.isEmpty()) {
            json = value.toStdString();
        } else {
            auto document = nlohmann::json::parse(dcscope::toJson(gmmImageRecord()));
            const nlohmann::json::json_pointer pointer(path.toStdString());
            if (value == "<delete>")
                document.at(pointer.parent_pointer()).erase(pointer.back());
            else
                document[pointer] = nlohmann::json::parse(value.toStdString());
            json = document.dump();
        }
        DCSCOPE_EXPECT_ERROR(dcscope::parseReproductionRecord(json, kSource), ErrorCode::BadFile, kSource + ": " + fragment.toStdString());
        try {
            dcscope::parseReproductionRecord(json, kSource);
        } catch (const dcscope::Error& error) {
            QVERIFY2(!std::string(error.what()).empty() && std::string(error.what()).find('\n') == std::string::npos, error.what());
        }
    }

    void parametersLineIsA1111Style() {
        QCOMPARE(dcscope::parametersText(gmmImageRecord()),
                 std::string("Steps: 10, Sampler: UniPC (bh2) + DC, CFG scale: 3, Seed: 0, Size: 8x8, Model: gmm-image, "
                             "Model hash: e751b60ef2, Batch size: 16, NFE: 10, Time grid: time_uniform, DC order: 2, "
                             "Ratios: 1,1,0.95,1.05,1,1,0.9,1,1,1"));

        // No ratios: no "+ DC", no DC order; no image: no Size; no identity: no hash.
        ReproductionRecord plain;
        plain.modelName = "gmm2d";
        plain.solver.solver = dcscope::SolverType::DpmSolverPlusPlus;
        plain.solver.order = 3;
        plain.solver.steps = 6;
        plain.solver.grid = dcscope::TimeGrid::LogSnr;
        plain.seed = 42;
        plain.batchSize = 4;
        plain.guidance = 1.5;
        plain.resultShape = {4, 2};
        QCOMPARE(dcscope::parametersText(plain),
                 std::string("Steps: 6, Sampler: DPM-Solver++ (3M), CFG scale: 1.5, Seed: 42, Model: gmm2d, Batch size: 4, NFE: 6, "
                             "Time grid: logSNR"));

        // Ratios all 1 are listed but are no compensation; a name cannot break the line.
        plain.solver.ratios.assign(6, 1.0);
        plain.modelName = "two\nlines";
        const std::string text = dcscope::parametersText(plain);
        QVERIFY2(text.find("+ DC") == std::string::npos, text.c_str());
        QVERIFY2(text.find("Ratios: 1,1,1,1,1,1") != std::string::npos, text.c_str());
        QVERIFY2(text.find('\n') == std::string::npos, text.c_str());
        QCOMPARE(dcscope::shortModelHash(""), std::string());
    }

    void tensorHashIsFnv1aOfTheFloat32Bytes() {
        // Expected values from an independent FNV-1a 64 of struct.pack('<3f', 1, -2, 0.5).
        const at::Tensor values = at::tensor(std::vector<float>{1.0f, -2.0f, 0.5f});
        QCOMPARE(dcscope::tensorHash(values), std::string("c598e74ad8b1c9b5"));
        QCOMPARE(dcscope::tensorHash(at::empty({0}, at::kFloat)), std::string("cbf29ce484222325"));  // the offset basis
        // C order, whatever the strides; one flipped value changes it.
        const at::Tensor grid = at::arange(12, at::kFloat).reshape({3, 4});
        QCOMPARE(dcscope::tensorHash(grid.t()), dcscope::tensorHash(grid.t().contiguous()));
        QVERIFY(dcscope::tensorHash(grid.t()) != dcscope::tensorHash(grid));
        at::Tensor changed = grid.clone();
        changed[2][3] = std::nextafter(11.0f, 12.0f);
        QVERIFY(dcscope::tensorHash(changed) != dcscope::tensorHash(grid));
        DCSCOPE_EXPECT_ERROR(dcscope::tensorHash(grid.to(at::kDouble)), ErrorCode::InvalidArgument, "float32");
    }

    void recordTurnsBackIntoARun() {
        const auto model = dcscope::loadModel("builtin:gmm-image");
        ReproductionRecord record = gmmImageRecord();
        record.seed = 5;
        dcscope::setModel(record, "builtin:gmm-image", *model);
        QCOMPARE(record.modelName, std::string("gmm-image"));
        QCOMPARE(record.modelIdentity, std::string("builtin:gmm-image"));
        dcscope::checkModelMatches(record, *model, kSource);

        const auto datapoints = dcscope::makeDatapoints(*model, 5, 16);
        QVERIFY(at::equal(dcscope::datapointNoise(record, *model), datapoints.noise));
        QVERIFY(at::equal(dcscope::classesTensor(record), datapoints.classes));  // each class in turn
        QVERIFY(dcscope::classList(datapoints.classes) == record.classes);
        QVERIFY(!dcscope::classesTensor(ReproductionRecord{}).defined());
        QVERIFY(dcscope::classList(at::Tensor()).empty());

        dcscope::setResult(record, datapoints.noise);
        QVERIFY(record.resultShape == (std::vector<int64_t>{16, 1, 8, 8}));
        QCOMPARE(record.resultHash, dcscope::tensorHash(datapoints.noise));

        ReproductionRecord other = record;
        other.modelIdentity = "builtin:gmm2d";
        DCSCOPE_EXPECT_ERROR(dcscope::checkModelMatches(other, *model, kSource), ErrorCode::BadFile, "field 'model.identity'");
        other = record;
        other.classes[3] = 4;
        DCSCOPE_EXPECT_ERROR(dcscope::checkModelMatches(other, *model, kSource), ErrorCode::BadFile, "field 'classes[3]' is outside 0..3");
        other = record;
        other.resultShape = {16, 2};
        DCSCOPE_EXPECT_ERROR(dcscope::checkModelMatches(other, *model, kSource), ErrorCode::BadFile, "field 'result.shape'");
        other = record;
        other.noiseSource = dcscope::NoiseSource::NpyFile;
        DCSCOPE_EXPECT_ERROR(dcscope::datapointNoise(other, *model), ErrorCode::InvalidArgument, "noise");
    }
};

QTEST_APPLESS_MAIN(TestReproduction)
#include "test_reproduction.moc"
