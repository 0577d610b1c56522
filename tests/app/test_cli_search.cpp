// dcscope-cli gt / search / search-bench / evaluate / cpr / sample --cpr as a user runs them: real
// processes, real files, exit codes and one-line errors. The ground-truth cache goes to a temporary folder.
#include <QProcess>
#include <QProcessEnvironment>
#include <QRegularExpression>
#include <QTemporaryDir>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <utility>

#include "dcscope/compensation.h"
#include "dcscope/search.h"
#include "dcscope/cpr.h"
#include "dcscope/npy.h"
#include "support/cli_runner.h"
#include "support/test_support.h"

namespace {

using dcscope::testing::badInputProblem;
using dcscope::testing::CliRun;
using dcscope::testing::runCli;
using dcscope::testing::writeText;

}  // namespace

class TestCliSearch : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void groundTruthWritesStatesAndUsesTheCache() {
        QTemporaryDir dir;
        const QString cache = dir.filePath("cache"), out = dir.filePath("gt");
        const QStringList arguments{"gt", "--model", "builtin:gmm-image", "--nfe", "5", "--cfg", "7.5", "--seed", "1", "--batch", "2",
                                                           "--class", "0,1", "--fine", "40", "--out", out, "-q"};
        auto run = runCli(arguments, cache);
        QVERIFY2(run.exitCode == 0, qPrintable(run.err));
        QVERIFY(run.out.contains("ground-truth error: "));
        QVERIFY(run.out.contains("computed with 60 model calls"));
        for (int k = 0; k <= 5; ++k) QVERIFY(QFileInfo::exists(QString("%1/gt_%2.npy").arg(out).arg(k, 3, 10, QChar('0'))));
        const auto final = dcscope::loadNpy((out + "/gt_005.npy").toStdString());
        QCOMPARE(final.sizes(), (c10::IntArrayRef{2, 1, 8, 8}));
        const auto index = nlohmann::json::parse(dcscope::readFile((out + "/gt.json").toStdString()));
        QCOMPARE(index["fine_per_interval"].get<int>(), 8);
        QVERIFY(index["error"].get<double>() > 0.0);

        // Second run: from the cache, same states.
        run = runCli(arguments, cache);
        QVERIFY2(run.exitCode == 0, qPrintable(run.err));
        QVERIFY(run.out.contains("read from the cache"));
        QVERIFY(at::equal(dcscope::loadNpy((out + "/gt_005.npy").toStdString()), final));

        // A corrupt entry is recomputed, not trusted and not an error.
        const auto entries = dcscope::testing::folderEntries((cache + "/dcscope/gt").toStdString());
        QCOMPARE(entries.size(), size_t(1));
        const std::string entry = (cache + "/dcscope/gt/").toStdString() + entries[0];
        std::filesystem::resize_file(entry, std::filesystem::file_size(entry) / 3);
        run = runCli(arguments, cache);
        QVERIFY2(run.exitCode == 0, qPrintable(run.err));
        QVERIFY(run.err.contains("corrupt cache entry"));
        QVERIFY(run.out.contains("computed with"));
        QVERIFY(at::equal(dcscope::loadNpy((out + "/gt_005.npy").toStdString()), final));

        // Without --fine: max(200, 20 x NFE) in all, recorded as the count taken.
        const QString highNfe = dir.filePath("gt20");
        run = runCli(QStringList{"gt", "--model", "builtin:gmm2d", "--nfe", "20", "--batch", "2", "--out", highNfe, "--no-cache"}, cache);
        QVERIFY2(run.exitCode == 0, qPrintable(run.err));
        QVERIFY2(run.out.contains("20 fine dpmpp2m steps per interval (400 in all)"), qPrintable(run.out));
        const auto highIndex = nlohmann::json::parse(dcscope::readFile((highNfe + "/gt.json").toStdString()));
        QCOMPARE(highIndex["fine"].get<int>(), 400);
    }

    void searchWritesRatiosThatEvaluateAndSampleAccept() {
        QTemporaryDir dir;
        const QString ratios = dir.filePath("ratios.json");
        auto run = runCli(QStringList{"search", "--model", "builtin:gmm-image", "--nfe", "6", "--cfg", "7.5", "--datapoints", "4", "--fine", "60",
                                               "--no-cache", "--out", ratios, "-q"},
                          dir.path());
        QVERIFY2(run.exitCode == 0, qPrintable(run.err));
        const auto document = nlohmann::json::parse(dcscope::readFile(ratios.toStdString()));
        QCOMPARE(document["ratios"].size(), size_t(6));
        QCOMPARE(document["ratios"][0].get<double>(), 1.0);
        for (const char* key : {"nfe", "cfg", "solver", "variant", "order", "grid", "dc_order", "optimizer", "model", "datapoints",
                                "seed", "steps", "evaluations", "seconds"})
            QVERIFY2(document.contains(key), key);
        QCOMPARE(document["optimizer"].get<std::string>(), std::string("scan"));
        QCOMPARE(document["shrink"].get<double>(), 1.0);
        QCOMPARE(document["steps"].size(), size_t(6));
        QVERIFY(document["steps"][3].contains("loss_before") && document["steps"][3].contains("loss_after"));
        // The prediction's MSEs where the step's loss had the term: not at the last update.
        QVERIFY(document["steps"][3]["prediction_loss_before"].is_number() && document["steps"][3]["prediction_loss_after"].is_number());
        QVERIFY(document["steps"][5]["prediction_loss_before"].is_null() && document["steps"][5]["prediction_loss_after"].is_null());
        // The final-state step revisits the last three updates; the file keeps the greedy ratios.
        QCOMPARE(document["final_refine"].get<int>(), 3);
        QCOMPARE(document["final_interpolating_ratios"].get<std::vector<double>>(), dcscope::SearchOptions{}.finalInterpolatingRatios);
        QCOMPARE(document["prediction_loss"].get<bool>(), true);
        for (int k = 0; k < 6; ++k) {
            const auto& step = document["steps"][size_t(k)];
            QCOMPARE(step["refined"].get<bool>(), k >= 3);
            QCOMPARE(step["rho"].get<double>(), document["ratios"][size_t(k)].get<double>());
            if (k < 3) QCOMPARE(step["greedy_rho"].get<double>(), step["rho"].get<double>());
            // An interpolating choice lies below both 1 and the greedy ratio; no other step has one.
            const bool interpolated = step["interpolated"].get<bool>();
            if (interpolated) QVERIFY(step["rho"].get<double>() < std::min(1.0, step["greedy_rho"].get<double>()));
            if (k < 3) QVERIFY(!interpolated);
        }
        QCOMPARE(dcscope::loadRatios(ratios.toStdString()).size(), size_t(6));

        // The paper's step loss alone: another first searched ratio, and (greedy pass alone, so
        // the counts compare) one model call fewer per update with a corrector (updates 2, 3, 4).
        nlohmann::json greedy[2];
        for (int stateLossOnly = 0; stateLossOnly < 2; ++stateLossOnly) {
            const QString path = dir.filePath(QString("greedy%1.json").arg(stateLossOnly));
            QStringList arguments{"search", "--model", "builtin:gmm-image", "--nfe", "6", "--cfg", "7.5", "--datapoints", "4", "--fine", "60",
                                  "--no-cache", "--final-refine", "0", "--out", path, "-q"};
            if (stateLossOnly) arguments << "--state-loss-only";
            run = runCli(arguments, dir.path());
            QVERIFY2(run.exitCode == 0, qPrintable(run.err));
            greedy[stateLossOnly] = nlohmann::json::parse(dcscope::readFile(path.toStdString()));
            QCOMPARE(greedy[stateLossOnly]["prediction_loss"].get<bool>(), !stateLossOnly);
        }
        QCOMPARE(greedy[0]["evaluations"].get<int>() - greedy[1]["evaluations"].get<int>(), 3);
        QVERIFY(greedy[0]["ratios"][2].get<double>() != greedy[1]["ratios"][2].get<double>());

        // Without -q the final-state step says what it kept, one line per revisited update; the
        // file records that it tried no interpolating ratios.
        run = runCli(QStringList{"search", "--model", "builtin:gmm-image", "--nfe", "6", "--cfg", "7.5", "--datapoints", "4", "--fine", "60",
                                 "--no-cache", "--no-final-interpolation", "--out", dir.filePath("loud.json")},
                     dir.path());
        QVERIFY2(run.exitCode == 0, qPrintable(run.err));
        QCOMPARE(run.err.count("final-state step "), 3);
        QVERIFY2(run.err.contains("search batch final-state mse"), qPrintable(run.err));
        const auto loud = nlohmann::json::parse(dcscope::readFile(dir.filePath("loud.json").toStdString()));
        QVERIFY(loud["final_interpolating_ratios"].empty());
        QCOMPARE(loud["final_refine"].get<int>(), 3);
        // gmm2d at guidance 7.5, NFE 6: the step takes an interpolating ratio at update 3 and
        // names it so, on stderr and in the file.
        run = runCli(QStringList{"search", "--model", "builtin:gmm2d", "--nfe", "6", "--cfg", "7.5", "--no-cache", "--out",
                                 dir.filePath("interpolated.json")},
                     dir.path());
        QVERIFY2(run.exitCode == 0, qPrintable(run.err));
        const QRegularExpression interpolatedLine(
            "final-state step 3/6  rho = 0\\.42045 from the greedy 0\\.\\d+ \\(below 1 and the greedy ratio: no search datapoint loses\\)");
        QVERIFY2(run.err.contains(interpolatedLine), qPrintable(run.err));
        const auto interpolatedFile = nlohmann::json::parse(dcscope::readFile(dir.filePath("interpolated.json").toStdString()));
        QVERIFY(interpolatedFile["steps"][3]["interpolated"].get<bool>());

        // adamw and DPM-Solver++ with the sample command's solver flags.
        run = runCli(QStringList{"search", "--model", "builtin:gmm-image", "--nfe", "6", "--cfg", "7.5", "--datapoints", "2", "--fine", "60", "--no-cache",
                                          "--solver", "dpmpp", "--optimizer", "adamw", "--skip", "logSNR", "--out",
                                          dir.filePath("dpmpp.json"), "-q"},
                     dir.path());
        QVERIFY2(run.exitCode == 0, qPrintable(run.err));
        QVERIFY(run.out.contains("dpmpp-2, adamw"));
        QVERIFY(nlohmann::json::parse(dcscope::readFile(dir.filePath("dpmpp.json").toStdString()))["shrink"].is_null());

        // A CPR file for evaluate and sample.
        const QString coefficients = dir.filePath("c.npy");
        dcscope::CprCoefficients values{};
        values[2 * 3 + 2] = 1.0;  // m = 0, j = 2, l = 2: the constant 1, so every rho is 1...
        values[9 + 2 * 3 + 2] = 0.01;  // ...plus 0.01 x
        dcscope::saveCprCoefficients(coefficients.toStdString(), values);
        run = runCli(QStringList{"evaluate", "--model", "builtin:gmm-image", "--nfe", "6", "--cfg", "7.5", "--heldout", "6", "--fine", "60", "--no-cache",
                                          "--ratios", ratios, "--cpr", coefficients},
                     dir.path());
        QVERIFY2(run.exitCode == 0, qPrintable(run.err));
        for (const char* row : {"unipc-bh2-2 ", "unipc-bh2-2+DC(ratios.json)", "unipc-bh2-2+CPR", "dpmpp-2", "ddim"})
            QVERIFY2(run.out.contains(row), qPrintable(run.out));
        QVERIFY(run.out.contains("95% interval"));
        QVERIFY(run.out.contains("seeds 1000000..1000005"));

        run = runCli(QStringList{"sample", "--model", "builtin:gmm-image", "--nfe", "6", "--cfg", "7.5", "--class", "1", "--cpr", coefficients, "-q"},
                     dir.path());
        QVERIFY2(run.exitCode == 0, qPrintable(run.err));
        QVERIFY(run.out.contains("compensated"));
        run = runCli(QStringList{"sample", "--model", "builtin:gmm-image", "--nfe", "6", "--cpr", coefficients, "--ratios", ratios, "-q"}, dir.path());
        QCOMPARE(run.exitCode, 2);
    }

    void cprFitAndPredict() {
        QTemporaryDir dir;
        // Synthetic searched ratios from known coefficients over a 3x4 grid.
        dcscope::CprCoefficients truth{};
        for (size_t i = 0; i < truth.size(); ++i) truth[i] = 0.01 * double((i * 7) % 11) - 0.05;
        truth[2 * 3 + 2] = 1.0;
        QStringList files;
        for (double cfg : {2.0, 5.0, 7.5})
            for (int nfe : {6, 8, 10, 12}) {
                const QString path = dir.filePath(QString("r_%1_%2.json").arg(cfg).arg(nfe));
                dcscope::saveRatios(path.toStdString(), dcscope::predictCprRatios(truth, cfg, nfe), {{"nfe", nfe}, {"cfg", cfg}});
                files << path;
            }
        const QString out = dir.filePath("fit.npy");
        auto run = runCli(QStringList{"cpr", "fit", "--out", out} + files, dir.path());
        QVERIFY2(run.exitCode == 0, qPrintable(run.err));
        QVERIFY(run.out.contains("fitted 36 coefficients to 84 equations from 12 ratio files"));
        const auto fitted = dcscope::loadCprCoefficients(out.toStdString());
        for (size_t i = 0; i < 36; ++i) QVERIFY(std::abs(fitted[i] - truth[i]) < 1e-8);

        run = runCli({"cpr", "predict", "--coeffs", out, "--nfe", "7", "--cfg", "4"}, dir.path());
        QVERIFY2(run.exitCode == 0, qPrintable(run.err));
        const auto predicted = nlohmann::json::parse(run.out.toStdString()).get<std::vector<double>>();
        const auto expected = dcscope::predictCprRatios(truth, 4.0, 7);
        QCOMPARE(predicted.size(), size_t(7));
        for (size_t k = 0; k < 7; ++k) QVERIFY(std::abs(predicted[k] - expected[k]) < 1e-9);

        // Too small a grid, and a plain list without guidance, are refused with one line.
        QString problem = badInputProblem(runCli(QStringList{"cpr", "fit", "--out", out} + files.mid(0, 8), dir.path()),
                                          "need at least 3 distinct guidance values, have 2");
        QVERIFY2(problem.isEmpty(), qPrintable(problem));
        const QString plain = dir.filePath("plain.json");
        writeText(plain, "[1, 1, 0.9, 1.1, 1.0, 1.2]");
        problem = badInputProblem(runCli(QStringList{"cpr", "fit", "--out", out, plain} + files, dir.path()), "plain.json: no 'cfg'");
        QVERIFY2(problem.isEmpty(), qPrintable(problem));
        writeText(dir.filePath("short.npy"), "not an npy file");
        problem = badInputProblem(runCli({"cpr", "predict", "--coeffs", dir.filePath("short.npy"), "--nfe", "5", "--cfg", "3"}, dir.path()),
                                  "short.npy");
        QVERIFY2(problem.isEmpty(), qPrintable(problem));
    }

    void searchBenchComparesRhoOneTheReferenceAdamwAndScan() {
        QTemporaryDir dir;
        // The shared solver flags reach the bench (--no-lower-order-final, --disable-corrector).
        const auto run = runCli(QStringList{"search-bench", "--model", "builtin:gmm-image", "--nfe", "5,6", "--repeats", "2", "--datapoints", "3",
                                            "--heldout", "4", "--fine", "30", "--no-cache", "--methods", "ref,ref-scan,adamw,scan,golden",
                                            "--no-lower-order-final", "--disable-corrector", "1", "--show-ratios"},
                                dir.path());
        QVERIFY2(run.exitCode == 0, qPrintable(run.err));
        // "NFE method evals seconds MSE [lower, upper] ratio [lower, upper] median" for every NFE and method.
        struct Row {
            double evaluations = -1, ratio = -1, lower = -1, upper = -1;
        };
        const auto row = [&](int nfe, const QString& method) {
            const QRegularExpression pattern(
                QString(R"(^\s*%1\s+%2\s+(\S+)\s+\S+\s+\S+\s+\[[^]]*\]\s+(\S+)\s+\[\s*(\S+),\s*(\S+)\]\s+\S+$)")
                    .arg(nfe)
                    .arg(QRegularExpression::escape(method)),
                QRegularExpression::MultilineOption);
            const auto match = pattern.match(run.out);
            return match.hasMatch() ? Row{match.captured(1).toDouble(), match.captured(2).toDouble(), match.captured(3).toDouble(),
                                          match.captured(4).toDouble()}
                                    : Row{};
        };
        QVERIFY2(run.out.contains("unipc-bh2-2"), qPrintable(run.out));
        for (int nfe : {5, 6}) {
            const Row plain = row(nfe, "rho=1");
            QCOMPARE(plain.evaluations, 0.0);
            QCOMPARE(plain.ratio, 1.0);
            QCOMPARE(plain.lower, 1.0);  // a ratio of a sample with itself has no spread
            QCOMPARE(plain.upper, 1.0);
            const Row adamw = row(nfe, "adamw"), scan = row(nfe, "scan"), golden = row(nfe, "golden"), reference = row(nfe, "ref"),
                      referenceScan = row(nfe, "ref-scan");
            QVERIFY2(adamw.evaluations > 0 && scan.evaluations > 0 && golden.evaluations > 0 && reference.evaluations > 0, qPrintable(run.out));
            QCOMPARE(reference.evaluations, adamw.evaluations);  // the same optimiser, another target
            QVERIFY2(3 * scan.evaluations <= adamw.evaluations, qPrintable(run.out));
            // scan against the reference's target: the scan's budget, not adamw's.
            QVERIFY2(referenceScan.evaluations > 0 && 3 * referenceScan.evaluations <= adamw.evaluations, qPrintable(run.out));
            for (const Row& r : {adamw, scan, golden, reference, referenceScan})
                QVERIFY2(std::isfinite(r.ratio) && r.ratio > 0 && r.lower <= r.ratio && r.ratio <= r.upper, qPrintable(run.out));
            // --show-ratios: every search's ratios, rho_0 = rho_1 = 1 (dc-order 2), one per update.
            for (const QString method : {"ref", "ref-scan", "adamw", "scan", "golden"})
                for (int seed : {0, 3}) {
                    const QRegularExpression ratiosLine(QString(R"(^\s*%1\s+%2\s+ratios of the batch from seed %3:((?: \S+)+)$)")
                                                            .arg(nfe)
                                                            .arg(QRegularExpression::escape(method))
                                                            .arg(seed),
                                                        QRegularExpression::MultilineOption);
                    const auto match = ratiosLine.match(run.out);
                    QVERIFY2(match.hasMatch(), qPrintable(method + " " + QString::number(seed) + "\n" + run.out));
                    const QStringList ratios = match.captured(1).split(' ', Qt::SkipEmptyParts);
                    QCOMPARE(ratios.size(), nfe);
                    QCOMPARE(ratios[0], QString("1.0000"));
                    QCOMPARE(ratios[1], QString("1.0000"));
                }
        }
        QCOMPARE(run.out.count("scan/ref held-out MSE"), 2);
        QCOMPARE(run.out.count("scan/adamw: evaluations"), 2);
        QCOMPARE(run.out.count("ground-truth error (held out): max"), 2);

        const QString problem = badInputProblem(runCli(QStringList{"search-bench", "--methods", "ref,sgd", "--nfe", "5"}, dir.path()), "optimizer 'sgd'");
        QVERIFY2(problem.isEmpty(), qPrintable(problem));
    }

    // The reference's target is its own 200-step DDIM run: a finer ground truth for judging
    // (--fine) changes the exact-target search and the held-out MSEs, never the reference's ratios.
    void searchBenchKeepsTheReferencesOwnTarget() {
        QTemporaryDir dir;
        const auto ratioLines = [&](const QString& fine) {
            const auto run = runCli(QStringList{"search-bench", "--model", "builtin:gmm2d", "--nfe", "6", "--cfg", "5", "--repeats", "1",
                                                "--datapoints", "4", "--heldout", "4", "--fine", fine, "--no-cache", "--methods",
                                                "ref-scan,scan", "--show-ratios"},
                                    dir.path());
            QStringList lines;
            for (const QString& line : run.out.split('\n'))
                if (line.contains("ratios of the batch")) lines << line.simplified();
            return std::make_pair(run, lines);
        };
        const auto [coarse, coarseRatios] = ratioLines("24");
        const auto [fine, fineRatios] = ratioLines("600");
        QVERIFY2(coarse.exitCode == 0 && fine.exitCode == 0, qPrintable(coarse.err + fine.err));
        QVERIFY2(fine.out.contains("a plain 200-step time-uniform DDIM run"), qPrintable(fine.out));
        QCOMPARE(coarseRatios.size(), 2);
        QCOMPARE(fineRatios.size(), 2);
        QVERIFY2(coarseRatios[0].contains("ref-scan"), qPrintable(coarse.out));
        QCOMPARE(fineRatios[0], coarseRatios[0]);     // the reference's target: the same ratios
        QVERIFY2(fineRatios[1] != coarseRatios[1], qPrintable(coarse.out + fine.out));  // the exact target moved
    }

    void aCoarseGroundTruthWarnsWithTheRemedyThatApplies() {
        QTemporaryDir dir;
        const auto evaluate = [&](const QString& fine, const QString& fineSolver) {
            const auto run = runCli(QStringList{"evaluate", "--model", "builtin:gmm-image", "--nfe", "6", "--cfg", "7.5", "--heldout", "4", "--fine",
                                                fine, "--fine-solver", fineSolver, "--no-cache", "--no-baselines"},
                                    dir.path());
            return run.exitCode == 0 ? run.err : QString("exit %1: %2").arg(run.exitCode).arg(run.err);
        };
        // Two fine steps per interval: measurable, and far too coarse for NFE 6.
        QString err = evaluate("12", "dpmpp2m");
        QVERIFY2(err.contains("is not below a tenth of the smallest rms error in the table"), qPrintable(err));
        QVERIFY2(err.contains("raise --fine") && !err.contains("--fine-solver"), qPrintable(err));  // dpmpp2m is in use already
        err = evaluate("12", "ddim");
        QVERIFY2(err.contains("raise --fine (or use --fine-solver dpmpp2m)"), qPrintable(err));
        // One fine step per interval: nothing to halve, so the error is unknown rather than "nan".
        err = evaluate("6", "dpmpp2m");
        QVERIFY2(err.contains("cannot be measured with one fine step per interval: raise --fine"), qPrintable(err));
        QVERIFY2(!err.contains("nan"), qPrintable(err));
        // A fine enough ground truth warns about nothing.
        err = evaluate("240", "dpmpp2m");
        QVERIFY2(!err.contains("warning"), qPrintable(err));
    }

    void badRatioFilesAreOneLineErrors() {
        QTemporaryDir dir;
        const QString wrongLength = dir.filePath("five.json"), nonFinite = dir.filePath("nan.json"), early = dir.filePath("early.json");
        writeText(wrongLength, "[1, 1, 0.9, 1.1, 1.0]");
        writeText(nonFinite, R"({"ratios": [1, 1, 0.9, 1e999, 1.0, 1.0]})");
        writeText(early, "[1, 0.8, 0.9, 1.1, 1.0, 1.0]");
        const QStringList evaluate = QStringList{"evaluate", "--model", "builtin:gmm-image", "--nfe", "6", "--cfg", "7.5", "--heldout", "4", "--no-cache", "--ratios"};
        QString problem = badInputProblem(runCli(evaluate + QStringList{wrongLength}, dir.path()), "five.json: has 5 ratios, --nfe is 6");
        QVERIFY2(problem.isEmpty(), qPrintable(problem));
        problem = badInputProblem(runCli(evaluate + QStringList{nonFinite}, dir.path()), "nan.json: ratios[3] is not finite");
        QVERIFY2(problem.isEmpty(), qPrintable(problem));
        problem = badInputProblem(runCli(evaluate + QStringList{early}, dir.path()), "early.json: ratios: rho_1");
        QVERIFY2(problem.isEmpty(), qPrintable(problem));
        problem = badInputProblem(runCli(QStringList{"search", "--model", "builtin:gmm-image", "--nfe", "6", "--optimizer", "sgd", "--out", dir.filePath("x.json")},
                                         dir.path()),
                                  "optimizer 'sgd'");
        QVERIFY2(problem.isEmpty(), qPrintable(problem));
        problem = badInputProblem(runCli(QStringList{"search", "--model", "builtin:gmm-image", "--nfe", "6", "--shrink", "1.5", "--out",
                                                     dir.filePath("x.json")},
                                         dir.path()),
                                  "--shrink");
        QVERIFY2(problem.isEmpty(), qPrintable(problem));
        problem = badInputProblem(runCli(QStringList{"search", "--model", "builtin:gmm-image", "--nfe", "6", "--scan-lower", "1.5", "--scan-upper",
                                                     "1.2", "--out", dir.filePath("x.json")},
                                         dir.path()),
                                  "scan: the range");
        QVERIFY2(problem.isEmpty(), qPrintable(problem));
        problem = badInputProblem(runCli(QStringList{"gt", "--model", "builtin:gmm-image", "--nfe", "5", "--fine-solver", "rk4"}, dir.path()), "fine-solver 'rk4'");
        QVERIFY2(problem.isEmpty(), qPrintable(problem));
        problem = badInputProblem(runCli(QStringList{"gt", "--model", "builtin:gmm-image", "--nfe", "5", "--fine", "-2"}, dir.path()),
                                  "fine: must be >= 1 (or 0 for the default), got -2");
        QVERIFY2(problem.isEmpty(), qPrintable(problem));
    }
};

QTEST_APPLESS_MAIN(TestCliSearch)
#include "test_cli_search.moc"
