#include "session.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSaveFile>

#include <cmath>
#include <utility>

#include "dcscope/errors.h"
#include "dcscope/mixture_definition.h"

namespace {

[[noreturn]] void fail(const QString& source, const QString& problem) {
    throw SessionError((source + QStringLiteral(": ") + problem).toStdString());
}

QJsonArray toArray(const QVector<double>& values) {
    QJsonArray array;
    for (double value : values) array.append(value);
    return array;
}

/// Reads the fields of one JSON object, naming the file and the field in every error.
class FieldReader {
public:
    FieldReader(const QJsonObject& object, QString source, QString prefix = {})
        : m_object(object), m_source(std::move(source)), m_prefix(std::move(prefix)) {}

    bool has(const char* key) const { return m_object.contains(QLatin1String(key)); }

    QString string(const char* key, const QString& fallback, const QStringList& allowed = {}) const {
        if (!has(key)) return fallback;
        const QJsonValue value = m_object.value(QLatin1String(key));
        if (!value.isString()) bad(key, QStringLiteral("must be a string"));
        if (!allowed.isEmpty() && !allowed.contains(value.toString()))
            bad(key, QStringLiteral("must be one of %1").arg(allowed.join(QStringLiteral(", "))));
        return value.toString();
    }

    double number(const char* key, double fallback, double low, double high) const {
        if (!has(key)) return fallback;
        const QJsonValue value = m_object.value(QLatin1String(key));
        if (!value.isDouble() || !std::isfinite(value.toDouble())) bad(key, QStringLiteral("must be a number"));
        const double number = value.toDouble();
        if (number < low || number > high) bad(key, QStringLiteral("must be in %1..%2").arg(low).arg(high));
        return number;
    }

    int integer(const char* key, int fallback, int low, int high) const {
        const double value = number(key, fallback, low, high);
        if (value != std::floor(value)) bad(key, QStringLiteral("must be a whole number"));
        return int(value);
    }

    bool boolean(const char* key, bool fallback) const {
        if (!has(key)) return fallback;
        const QJsonValue value = m_object.value(QLatin1String(key));
        if (!value.isBool()) bad(key, QStringLiteral("must be true or false"));
        return value.toBool();
    }

    QVector<double> numbers(const char* key, double low, double high) const {
        if (!has(key)) return {};
        const QJsonValue value = m_object.value(QLatin1String(key));
        if (!value.isArray()) bad(key, QStringLiteral("must be a list of numbers"));
        QVector<double> values;
        for (const QJsonValue& item : value.toArray()) {
            if (!item.isDouble() || !std::isfinite(item.toDouble()) || item.toDouble() < low || item.toDouble() > high)
                bad(key, QStringLiteral("must hold numbers in %1..%2").arg(low).arg(high));
            values.append(item.toDouble());
        }
        return values;
    }

    [[noreturn]] void bad(const char* key, const QString& problem) const {
        fail(m_source, QStringLiteral("field '%1%2' %3").arg(m_prefix, QLatin1String(key), problem));
    }

    const QJsonObject& object() const { return m_object; }

private:
    QJsonObject m_object;
    QString m_source;
    QString m_prefix;
};

}  // namespace

QByteArray serializeSession(const Session& session) {
    QJsonArray overlays;
    for (const Session::Overlay& overlay : session.overlays)
        overlays.append(QJsonObject{{QStringLiteral("name"), overlay.name}, {QStringLiteral("values"), toArray(overlay.values)}});
    QJsonObject root{
        {QStringLiteral("format"), QString::fromLatin1(Session::kFormat)},
        {QStringLiteral("version"), Session::kVersion},
        {QStringLiteral("model"), session.modelSpec},
        {QStringLiteral("device"), session.device},
        {QStringLiteral("solver"), session.solver},
        {QStringLiteral("variant"), session.variant},
        {QStringLiteral("order"), session.order},
        {QStringLiteral("grid"), session.grid},
        {QStringLiteral("nfe"), session.nfe},
        {QStringLiteral("dc_order"), session.dcOrder},
        {QStringLiteral("guidance"), session.guidance},
        {QStringLiteral("class"), session.classChoice},
        {QStringLiteral("batch"), session.batch},
        {QStringLiteral("seed"), double(session.seed)},
        {QStringLiteral("seed_locked"), session.seedLocked},
        {QStringLiteral("ground_truth"), session.groundTruth},
        {QStringLiteral("ground_truth_fine_steps"), session.groundTruthFineSteps},
        {QStringLiteral("ratios"), toArray(session.ratios)},
        {QStringLiteral("follow_package_ratios"), session.followPackageRatios},
        {QStringLiteral("overlays"), overlays},
        {QStringLiteral("view"), QJsonObject{{QStringLiteral("step"), session.step},
                                             {QStringLiteral("noisy_state"), session.noisyState},
                                             {QStringLiteral("colormap"), session.colormap},
                                             {QStringLiteral("wipe"), session.wipe}}},
    };
    if (!session.editedMixture.isEmpty())
        root.insert(QStringLiteral("edited_mixture"), QJsonDocument::fromJson(session.editedMixture).object());
    return QJsonDocument(root).toJson(QJsonDocument::Indented);
}

Session parseSession(const QByteArray& bytes, const QString& source) {
    QJsonParseError error;
    const QJsonDocument document = QJsonDocument::fromJson(bytes, &error);
    if (error.error != QJsonParseError::NoError)
        fail(source, QStringLiteral("not a session: malformed or truncated JSON at byte %1 (%2)").arg(error.offset).arg(error.errorString()));
    if (!document.isObject()) fail(source, QStringLiteral("not a session: the top level must be an object"));
    const FieldReader root(document.object(), source);
    if (root.string("format", QString()) != QLatin1String(Session::kFormat))
        fail(source, QStringLiteral("not a session: field 'format' must be \"%1\"").arg(QLatin1String(Session::kFormat)));
    if (!root.has("version")) root.bad("version", QStringLiteral("is missing"));
    const int version = root.integer("version", 0, 1, 1000000);
    if (version > Session::kVersion)
        fail(source, QStringLiteral("written by a newer dcscope (session version %1; this one reads up to %2)").arg(version).arg(Session::kVersion));

    Session session;
    if (!root.has("model")) root.bad("model", QStringLiteral("is missing"));
    session.modelSpec = root.string("model", QString());
    if (session.modelSpec.isEmpty()) root.bad("model", QStringLiteral("must not be empty"));
    session.device = root.string("device", session.device);
    session.solver = root.string("solver", session.solver, {QStringLiteral("ddim"), QStringLiteral("dpmpp"), QStringLiteral("unipc")});
    session.variant = root.string("variant", session.variant, {QStringLiteral("bh1"), QStringLiteral("bh2")});
    session.order = root.integer("order", session.order, 1, 3);
    session.grid = root.string("grid", session.grid, {QStringLiteral("time_uniform"), QStringLiteral("logSNR"), QStringLiteral("time_quadratic")});
    session.nfe = root.integer("nfe", session.nfe, 1, 100);
    session.dcOrder = root.integer("dc_order", session.dcOrder, 1, 3);
    session.guidance = root.number("guidance", session.guidance, 0.0, 30.0);
    session.classChoice = root.integer("class", session.classChoice, -2, 100000);
    session.batch = root.integer("batch", session.batch, 1, Session::kMaxBatch);
    session.seed = qint64(root.number("seed", double(session.seed), 0, 999999));
    session.seedLocked = root.boolean("seed_locked", session.seedLocked);
    session.groundTruth = root.boolean("ground_truth", session.groundTruth);
    session.groundTruthFineSteps = root.integer("ground_truth_fine_steps", session.groundTruthFineSteps, 0, 2000);
    session.ratios = root.numbers("ratios", 0.0, 10.0);
    if (!session.ratios.isEmpty() && session.ratios.size() != session.nfe)
        root.bad("ratios", QStringLiteral("must hold 'nfe' (%1) values, not %2").arg(session.nfe).arg(session.ratios.size()));
    session.followPackageRatios = root.boolean("follow_package_ratios", session.followPackageRatios);
    if (root.has("overlays")) {
        const QJsonValue overlays = root.object().value(QStringLiteral("overlays"));
        if (!overlays.isArray()) root.bad("overlays", QStringLiteral("must be a list"));
        for (const QJsonValue& item : overlays.toArray()) {
            if (!item.isObject()) root.bad("overlays", QStringLiteral("must hold objects with 'name' and 'values'"));
            const FieldReader overlay(item.toObject(), source, QStringLiteral("overlays[]."));
            Session::Overlay entry{overlay.string("name", QString()), overlay.numbers("values", 0.0, 10.0)};
            if (entry.name.isEmpty()) overlay.bad("name", QStringLiteral("must be a non-empty string"));
            if (entry.values.isEmpty()) overlay.bad("values", QStringLiteral("must be a non-empty list"));
            session.overlays.append(entry);
        }
    }
    if (root.has("edited_mixture")) {
        const QJsonValue mixture = root.object().value(QStringLiteral("edited_mixture"));
        if (!mixture.isObject()) root.bad("edited_mixture", QStringLiteral("must be a dcscope-mixture object"));
        session.editedMixture = QJsonDocument(mixture.toObject()).toJson(QJsonDocument::Compact);
        try {
            // Checked here, so a bad one is this file's one-line error and nothing is applied.
            dcscope::parseMixtureDefinition(session.editedMixture.toStdString(), (source + QStringLiteral(" field 'edited_mixture'")).toStdString());
        } catch (const dcscope::Error& error) {
            throw SessionError(error.what());
        }
    }
    if (root.has("view")) {
        const QJsonValue view = root.object().value(QStringLiteral("view"));
        if (!view.isObject()) root.bad("view", QStringLiteral("must be an object"));
        const FieldReader fields(view.toObject(), source, QStringLiteral("view."));
        session.step = fields.integer("step", session.step, -1, 100);
        session.noisyState = fields.boolean("noisy_state", session.noisyState);
        session.colormap = fields.string("colormap", session.colormap);
        session.wipe = fields.number("wipe", session.wipe, 0.0, 1.0);
    }
    return session;
}

Session loadSession(const QString& path) {
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) fail(path, QStringLiteral("cannot read the session (%1)").arg(file.errorString()));
    return parseSession(file.readAll(), path);
}

void saveSession(const QString& path, const Session& session) {
    QSaveFile file(path);
    const QByteArray bytes = serializeSession(session);
    if (!file.open(QIODevice::WriteOnly) || file.write(bytes) != bytes.size() || !file.commit())
        fail(path, QStringLiteral("cannot write the session (%1)").arg(file.errorString()));
}
