#pragma once
// Runs the built dcscope-cli as a user would: a real process, its exit code and both streams.
// For the CLI suites only (they define DCSCOPE_CLI_PATH).
#include <QProcess>
#include <QProcessEnvironment>
#include <QString>
#include <QStringList>

#include <fstream>
#include <string>

namespace dcscope::testing {

struct CliRun {
    int exitCode = -1;  ///< -1: did not finish within the timeout (then killed)
    QString out;
    QString err;
};

/// `cacheHome`, when given, becomes XDG_CACHE_HOME (so ground truths never reach the user's cache).
inline CliRun runCli(const QStringList& arguments, const QString& cacheHome = {}, int timeoutMs = 300000) {
    QProcess process;
    if (!cacheHome.isEmpty()) {
        QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
        environment.insert(QStringLiteral("XDG_CACHE_HOME"), cacheHome);
        process.setProcessEnvironment(environment);
    }
    process.start(QStringLiteral(DCSCOPE_CLI_PATH), arguments);
    if (!process.waitForFinished(timeoutMs)) {
        process.kill();
        process.waitForFinished();
        return {};
    }
    return {process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1, QString::fromUtf8(process.readAllStandardOutput()),
            QString::fromUtf8(process.readAllStandardError())};
}

/// A badly-formed input: exit code 2 and exactly one line on stderr containing `fragment`.
/// Returns what is wrong, or an empty string.
inline QString badInputProblem(const CliRun& run, const QString& fragment) {
    if (run.exitCode != 2) return QString("exit code %1: %2").arg(run.exitCode).arg(run.err);
    if (!run.err.contains(fragment)) return "stderr lacks '" + fragment + "': " + run.err;
    if (run.err.trimmed().contains('\n')) return "stderr is not one line: " + run.err;
    return {};
}

inline void writeText(const QString& path, const std::string& text) { std::ofstream(path.toStdString(), std::ios::binary) << text; }

}  // namespace dcscope::testing
