// dcscope-cli sample --png writes the parameters and dcscope chunks; --from-png re-runs the
// record and reproduces the samples bit for bit, and refuses broken or tampered files by name.
#include <QImage>
#include <QTemporaryDir>
#include <QtTest/QtTest>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "dcscope/npy.h"
#include "dcscope/reproduction.h"
#include "png_metadata.h"
#include "reproduction_png.h"
#include "support/cli_runner.h"
#include "support/test_support.h"

namespace {

using dcscope::testing::badInputProblem;
using dcscope::testing::runCli;
using dcscope::testing::writeText;

const QStringList kRun{"sample", "--model", "builtin:gmm-image", "--nfe", "8", "--cfg", "3", "--seed", "11", "--batch", "8",
                       "--class", "0,1,2,3,0,1,2,3", "--png-columns", "4", "-q"};
const char* kRatios = "[1, 1, 0.95, 1.05, 1, 0.9, 1, 1]";

std::string fileBytes(const QString& path) { return dcscope::readFile(path.toStdString()); }

// The same PNG with its dcscope chunk's JSON changed by `edit` (valid chunks and CRCs).
void rewriteRecord(const QString& from, const QString& to, const std::function<void(nlohmann::json&)>& edit) {
    const auto decoded = dcscope::decodePng(fileBytes(from), from.toStdString());
    std::vector<dcscope::PngTextChunk> text = decoded.text;
    for (auto& chunk : text)
        if (chunk.keyword == "dcscope") {
            auto document = nlohmann::json::parse(chunk.text);
            edit(document);
            chunk.text = document.dump();
        }
    dcscope::writePng(to.toStdString(), decoded.image, text);
}

}  // namespace

class TestCliPng : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() {
        QVERIFY(m_dir.isValid());
        writeText(m_dir.filePath("ratios.json"), kRatios);
        const auto run = runCli(QStringList(kRun) << "--ratios" << m_dir.filePath("ratios.json") << "--png" << path("a.png") << "--out"
                                                  << path("a.npy"));
        QVERIFY2(run.exitCode == 0, qPrintable(run.err));
    }

    void pngCarriesBothChunks() {
        const auto text = dcscope::readPngText(path("a.png").toStdString());
        const auto* parameters = dcscope::findPngText(text, "parameters");
        QVERIFY(parameters);
        QCOMPARE(parameters->text, std::string("Steps: 8, Sampler: UniPC (bh2) + DC, CFG scale: 3, Seed: 11, Size: 8x8, Model: gmm-image, "
                                               "Model hash: e751b60ef2, Batch size: 8, NFE: 8, Time grid: time_uniform, DC order: 2, "
                                               "Ratios: 1,1,0.95,1.05,1,0.9,1,1"));
        const auto record = dcscope::readReproductionRecord(path("a.png").toStdString());
        QCOMPARE(record.modelSpec, std::string("builtin:gmm-image"));
        QCOMPARE(record.modelIdentity, std::string("builtin:gmm-image"));
        QCOMPARE(record.seed, uint64_t(11));
        QCOMPARE(record.batchSize, 8);
        QCOMPARE(record.guidance, 3.0);
        QVERIFY(record.classes == (std::vector<int64_t>{0, 1, 2, 3, 0, 1, 2, 3}));
        QVERIFY(record.solver.ratios == (std::vector<double>{1, 1, 0.95, 1.05, 1, 0.9, 1, 1}));
        QCOMPARE(record.solver.steps, 8);
        QCOMPARE(record.device, std::string("cpu"));
        QCOMPARE(record.pngColumns, 4);
        QCOMPARE(record.resultHash, dcscope::tensorHash(dcscope::loadNpy(path("a.npy").toStdString())));
        // The grid: 4 x 2 tiles of 8x8, 2 pixels apart, upscaled 12 times.
        QCOMPARE(QImage(path("a.png")).size(), QSize((4 * 10 + 2) * 12, (2 * 10 + 2) * 12));
    }

    void fromPngReproducesBitForBit() {
        const auto run = runCli({"sample", "--from-png", path("a.png"), "--out", path("b.npy"), "--png", path("b.png"), "-q"});
        QVERIFY2(run.exitCode == 0, qPrintable(run.err));
        QVERIFY2(run.out.contains("reproduced " + path("a.png") + ": identical"), qPrintable(run.out));
        QCOMPARE(fileBytes(path("b.npy")), fileBytes(path("a.npy")));
        QCOMPARE(fileBytes(path("b.png")), fileBytes(path("a.png")));  // the re-export is the same file
        // And the re-export reproduces in turn.
        QCOMPARE(runCli({"sample", "--from-png", path("b.png"), "-q"}).exitCode, 0);
    }

    void fromPngExcludesRunFlags() {
        for (const QStringList& extra : {QStringList{"--seed", "3"}, QStringList{"--model", "builtin:gmm2d"}, QStringList{"--nfe", "8"},
                                         QStringList{"--ratios", m_dir.filePath("ratios.json")}, QStringList{"--device", "cpu"}}) {
            const auto run = runCli(QStringList{"sample", "--from-png", path("a.png")} << extra);
            const QString problem = badInputProblem(run, "--from-png");
            QVERIFY2(problem.isEmpty(), qPrintable(extra.join(' ') + ": " + problem));
        }
        const QString problem = badInputProblem(runCli({"sample", "--model", "builtin:gmm-image"}), "--nfe is required");
        QVERIFY2(problem.isEmpty(), qPrintable(problem));
    }

    void tamperedRecordFailsByName() {
        // A setting changed: the run no longer gives the recorded samples. No output is written.
        rewriteRecord(path("a.png"), path("cfg.png"), [](nlohmann::json& document) { document["guidance"] = 3.5; });
        auto run = runCli({"sample", "--from-png", path("cfg.png"), "--out", path("cfg.npy"), "-q"});
        QString problem = badInputProblem(run, path("cfg.png") + ": reproduction differs");
        QVERIFY2(problem.isEmpty(), qPrintable(problem));
        QVERIFY(!QFileInfo::exists(path("cfg.npy")));

        const std::vector<std::pair<std::function<void(nlohmann::json&)>, QString>> edits = {
            {[](nlohmann::json& d) { d["result"]["fnv1a64"] = "0000000000000000"; }, "reproduction differs"},
            {[](nlohmann::json& d) { d["version"] = 7; }, "field 'version' is 7"},
            {[](nlohmann::json& d) { d["solver"]["order"] = "two"; }, "field 'solver.order'"},
            {[](nlohmann::json& d) { d.erase("classes"); }, "field 'classes' is missing"},
            {[](nlohmann::json& d) { d["classes"][0] = 9; }, "field 'classes[0]' is outside 0..3"},
            {[](nlohmann::json& d) { d["model"]["identity"] = "builtin:gmm2d"; }, "field 'model.identity'"},
            {[](nlohmann::json& d) { d["model"]["spec"] = "builtin:nope"; }, "field 'model.spec'"},
        };
        for (const auto& [edit, fragment] : edits) {
            rewriteRecord(path("a.png"), path("edit.png"), edit);
            run = runCli({"sample", "--from-png", path("edit.png"), "-q"});
            problem = badInputProblem(run, fragment);
            QVERIFY2(problem.isEmpty(), qPrintable(fragment + ": " + problem));
            QVERIFY2(run.err.contains(path("edit.png")), qPrintable(run.err));
        }
        // Malformed JSON in the chunk.
        auto decoded = dcscope::decodePng(fileBytes(path("a.png")), "a.png");
        for (auto& chunk : decoded.text)
            if (chunk.keyword == "dcscope") chunk.text.resize(chunk.text.size() / 2);
        dcscope::writePng(path("json.png").toStdString(), decoded.image, decoded.text);
        problem = badInputProblem(runCli({"sample", "--from-png", path("json.png"), "-q"}), path("json.png") + " (dcscope chunk): malformed JSON");
        QVERIFY2(problem.isEmpty(), qPrintable(problem));
    }

    void brokenPngFailsByName() {
        const std::string bytes = fileBytes(path("a.png"));
        dcscope::testing::writeBytes(path("cut.png").toStdString(), bytes.substr(0, bytes.size() / 2));
        dcscope::testing::writeBytes(path("text.png").toStdString(), "not a png");
        std::string flipped = bytes;
        flipped[flipped.find("\"guidance\":3")] ^= 1;  // inside the chunk, CRC left as it was
        dcscope::testing::writeBytes(path("flip.png").toStdString(), flipped);
        dcscope::writePng(path("bare.png").toStdString(), dcscope::decodePng(bytes, "a.png").image, {});
        const std::vector<std::pair<QString, QString>> cases = {
            {"cut.png", "damaged or truncated PNG"},
            {"text.png", "not a PNG file"},
            {"flip.png", "CRC"},
            {"bare.png", "no 'dcscope' chunk"},
            {"missing.png", "cannot open file"},
        };
        for (const auto& [name, fragment] : cases) {
            const auto run = runCli({"sample", "--from-png", path(name), "--out", path("never.npy"), "-q"});
            const QString problem = badInputProblem(run, path(name) + ": ");
            QVERIFY2(problem.isEmpty(), qPrintable(name + ": " + problem));
            QVERIFY2(run.err.contains(fragment), qPrintable(name + ": " + run.err));
        }
        QVERIFY(!QFileInfo::exists(path("never.npy")));
    }

private:
    QString path(const QString& name) const { return m_dir.filePath(name); }
    QTemporaryDir m_dir;
};

QTEST_GUILESS_MAIN(TestCliPng)
#include "test_cli_png.moc"
