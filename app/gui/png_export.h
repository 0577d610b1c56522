#pragma once

#include <QImage>
#include <QString>
#include <QVector>

#include "dcscope/reproduction.h"
#include "png_metadata.h"

/// What the window's PNG exports need: Qt images as libpng's 8-bit images and the written file
/// with the reproduction chunks every dcscope PNG carries ("parameters" and "dcscope").

/// The image as 1 grey channel (`grey`) or as RGB.
dcscope::PngImage pngImageOf(const QImage& image, bool grey);

/// The images as the one export grid (composeImageGrid: the CLI's --png layout).
dcscope::PngImage exportGrid(const QVector<QImage>& images, int columns);

/// Writes `image` with the record's chunks atomically. Throws dcscope::Error naming the file.
void writeExportPng(const QString& path, const dcscope::PngImage& image, const dcscope::ReproductionRecord& record);

/// The class choice of the window (a class index, SamplingRequest's kEachClassInTurn or
/// kUnconditional) that gives a record's class list.
int classChoiceOf(const dcscope::ReproductionRecord& record);
