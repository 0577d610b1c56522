// dcscope: the GUI. Parses the command line, picks the model to open and shows the main window.

#include <QApplication>
#include <QCommandLineParser>
#include <QDir>

#include <cstdio>
#include <exception>
#include <memory>

#include "app_version.h"
#include "dcscope/compensation.h"
#include "default_model.h"
#include "frame_benchmark.h"
#include "latency_benchmark.h"
#include "main_window.h"

int main(int argc, char* argv[]) {
    QApplication application(argc, argv);
    QApplication::setApplicationName(QStringLiteral("dcscope"));
    QApplication::setOrganizationName(QStringLiteral("dcscope"));  // QSettings: ~/.config/dcscope/dcscope.conf
    QApplication::setApplicationVersion(QString::fromLatin1(dcscopeVersion()));

    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Explore diffusion samplers: UniPC, DPM-Solver++ and DDIM with and without dynamic compensation."));
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption modelOption(QStringLiteral("model"),
                                         QStringLiteral("Model package folder or builtin:NAME (gmm2d, gmm-image)."),
                                         QStringLiteral("PATH|builtin:NAME"));
    const QCommandLineOption deviceOption(QStringLiteral("device"), QStringLiteral("cpu, cuda or cuda:N (default cpu)."),
                                          QStringLiteral("DEVICE"), QStringLiteral("cpu"));
    const QCommandLineOption ratiosOption(QStringLiteral("ratios"),
                                          QStringLiteral("Start with the compensation ratios in this JSON file."),
                                          QStringLiteral("FILE"));
    const QCommandLineOption screenshotOption(
        QStringLiteral("screenshot"), QStringLiteral("Save the window as PNG once the first result is shown, then quit."),
        QStringLiteral("FILE"));
    const QCommandLineOption latencyOption(
        QStringLiteral("bench-latency"),
        QStringLiteral("Drag the first, a middle and the last free ratio by script at batch 4 and 16, print edit-to-image "
                       "latency and the longest UI stall, then quit."));
    const QCommandLineOption sessionOption(QStringLiteral("session"), QStringLiteral("Open this session (*.dcscope.json)."),
                                           QStringLiteral("FILE"));
    const QCommandLineOption noRestoreOption(
        QStringLiteral("no-restore"), QStringLiteral("Start with the defaults instead of the session the last run ended with."));
    const QCommandLineOption researchJobOption(
        QStringLiteral("research-job"),
        QStringLiteral("With --screenshot: run this research panel's job (search, cpr, evaluate or sweep) after the first result and take "
                       "the screenshot when it ends."),
        QStringLiteral("tab"));
    const QCommandLineOption framesOption(
        QStringLiteral("bench-frames"),
        QStringLiteral("Benchmark: the trajectory view's frame time on builtin:gmm2d (1000 particles x 200 fine steps, 800x800) "
                       "while the window samples, then quit."));
    const QCommandLineOption trajectoriesOption(
        QStringLiteral("trajectories"), QStringLiteral("Open image models in the trajectory view too (View > Trajectories)."));
    const QCommandLineOption shapeOption(QStringLiteral("shape-mixture"),
                                         QStringLiteral("Open 2-D mixtures with mixture shaping on (View > Shape the mixture)."));
    parser.addOptions({trajectoriesOption, shapeOption});
    parser.addOptions({modelOption, deviceOption, ratiosOption, sessionOption, noRestoreOption, screenshotOption, latencyOption, framesOption,
                       researchJobOption});
    parser.process(application);

    MainWindow::Options options;
    options.device = parser.value(deviceOption);
    options.screenshotPath = parser.value(screenshotOption);
    options.researchJob = parser.value(researchJobOption);
    options.trajectories = parser.isSet(trajectoriesOption);
    options.shapeMixture = parser.isSet(shapeOption);
    const auto defaultPackage = findDefaultModel(QApplication::applicationFilePath().toStdString());
    if (defaultPackage) options.defaultPackage = QString::fromStdString(defaultPackage->string());
    if (parser.isSet(modelOption)) {
        options.modelSpec = parser.value(modelOption);
    } else if (defaultPackage) {
        options.modelSpec = options.defaultPackage;
    } else {
        options.modelSpec = QStringLiteral("builtin:gmm-image");
        options.startupMessage = QStringLiteral("No '%1' model package found; showing builtin:gmm-image instead (see --model).")
                                     .arg(QString::fromLatin1(kDefaultModelName));
    }
    if (parser.isSet(ratiosOption)) {
        try {
            for (double rho : dcscope::loadRatios(parser.value(ratiosOption).toStdString())) options.ratios.append(rho);
        } catch (const std::exception& error) {
            std::fprintf(stderr, "dcscope: %s\n", error.what());
            return 2;
        }
    }

    options.sessionPath = parser.value(sessionOption);
    // The last session comes back unless the command line says what to show (or asks not to);
    // scripted runs (screenshot, benchmark) always start from the defaults.
    const bool scripted = parser.isSet(screenshotOption) || parser.isSet(latencyOption) || parser.isSet(framesOption);
    if (parser.isSet(framesOption)) options.modelSpec = QStringLiteral("builtin:gmm2d");
    options.restoreLastSession = !scripted && !parser.isSet(noRestoreOption) && !parser.isSet(modelOption) &&
                                 !parser.isSet(ratiosOption) && !parser.isSet(sessionOption);
    options.restoreGeometry = !scripted;

    MainWindow window(options);
    window.show();
    std::unique_ptr<LatencyBenchmark> latencyBenchmark;
    if (parser.isSet(latencyOption)) {
        latencyBenchmark = std::make_unique<LatencyBenchmark>(window, LatencyBenchmark::Options{});
        latencyBenchmark->start();
    }
    std::unique_ptr<FrameBenchmark> frameBenchmark;
    if (parser.isSet(framesOption)) {
        frameBenchmark = std::make_unique<FrameBenchmark>(window, FrameBenchmark::Options{});
        frameBenchmark->start();
    }
    return application.exec();
}
