#pragma once

#include <QPointF>
#include <QString>
#include <QStringList>
#include <QVector>

/// What the GUI needs to know about the model the worker holds. Built by the worker, sent as
/// std::shared_ptr<const ModelSummary> and never changed afterwards.
struct ModelSummary {
    QString spec;                  ///< as requested: package folder or builtin:NAME
    QString name;
    QString description;
    QString sampleShape;           ///< one sample, e.g. "1x28x28"
    QStringList labels;            ///< one per class; empty for unconditional models
    bool pointModel = false;       ///< samples are 2-D points: show trajectories instead of images
};
