#pragma once

#include <stdexcept>

#include <QByteArray>
#include <QString>
#include <QVector>

/// Everything a `*.dcscope.json` session restores: the model, every control, the ratio curve,
/// its overlays and what the comparison shows. Plain values; GUI thread or any.
struct Session {
    static constexpr int kVersion = 1;
    static constexpr const char* kFormat = "dcscope-session";
    static constexpr int kMaxBatch = 1000;  ///< the window's batch control goes this far

    struct Overlay {
        QString name;
        QVector<double> values;
    };

    QString modelSpec;                 ///< package folder or builtin:NAME
    QString device = QStringLiteral("cpu");
    QString solver = QStringLiteral("unipc");   ///< core names: ddim | dpmpp | unipc
    QString variant = QStringLiteral("bh2");    ///< bh1 | bh2
    int order = 2;
    QString grid = QStringLiteral("time_uniform");
    int nfe = 10;
    int dcOrder = 2;
    double guidance = 3.0;
    int classChoice = -1;              ///< SamplingRequest's: class index, -1 each in turn, -2 unconditional
    int batch = 16;
    qint64 seed = 0;
    bool seedLocked = false;
    bool groundTruth = true;
    int groundTruthFineSteps = 0;  ///< 0: the default (dcscope::kDefaultFineSteps, max(200, 20 x NFE))
    QVector<double> ratios;
    bool followPackageRatios = false;  ///< the curve is the package's CPR prediction (no user edit)
    QVector<Overlay> overlays;
    /// The mixture the user shaped and has not saved as a model (a dcscope-mixture document,
    /// compact JSON); empty: the model's own.
    QByteArray editedMixture;
    int step = -1;                     ///< step shown (-1: the last)
    bool noisyState = false;
    QString colormap = QStringLiteral("inferno");
    double wipe = 1.0;
};

/// A session file that cannot be used. what() is one line naming the file and the field.
class SessionError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

QByteArray serializeSession(const Session& session);
/// Parses and checks every field; `source` names the file in errors. Throws SessionError for
/// malformed or truncated JSON, another format, a newer version, or a field of the wrong type
/// or out of range.
Session parseSession(const QByteArray& bytes, const QString& source);

/// Reads `path` (SessionError when unreadable or invalid).
Session loadSession(const QString& path);
/// Writes `path` atomically (QSaveFile): on any failure the previous file is left as it was.
/// Throws SessionError naming the file.
void saveSession(const QString& path, const Session& session);
