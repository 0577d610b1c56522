#include "video_export.h"

#include <QDir>
#include <QFileInfo>
#include <QPainter>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <system_error>

#include "png_export.h"

namespace {

constexpr int kMargin = 8;
constexpr int kLabelHeight = 20;

QImage paneImage(const QVector<QImage>& images, int columns) {
    if (images.isEmpty()) return {};
    const dcscope::PngImage grid = exportGrid(images, columns);
    const QImage::Format format = grid.channels == 1 ? QImage::Format_Grayscale8 : QImage::Format_RGB888;
    return QImage(grid.pixels.data(), grid.width, grid.height, grid.width * grid.channels, format).convertToFormat(QImage::Format_RGB888);
}

}  // namespace

QImage composeVideoFrame(const VideoExportInput& input, int step) {
    const int last = int(input.predictions.size()) - 1;
    step = std::clamp(step, 0, std::max(0, last));
    const ComparisonFrame empty;
    const ComparisonFrame& prediction = step <= last ? input.predictions[step] : empty;
    const ComparisonFrame& state = step < input.states.size() ? input.states[step] : empty;
    const int batch = int(prediction.plain.size());
    const int columns = input.columns > 0 ? input.columns : std::max(1, int(std::ceil(std::sqrt(double(std::max(1, batch))))));
    const QVector<QImage> rows[2][3] = {{prediction.plain, prediction.compensated, prediction.groundTruth},
                                        {state.plain, state.compensated, state.groundTruth}};
    QImage cells[2][3];
    QSize cell(1, 1);
    for (int r = 0; r < 2; ++r)
        for (int c = 0; c < 3; ++c) {
            cells[r][c] = paneImage(rows[r][c], columns);
            cell = cell.expandedTo(cells[r][c].size());
        }
    int width = kMargin + 3 * (cell.width() + kMargin);
    int height = kLabelHeight + 2 * (kLabelHeight + cell.height() + kMargin) + kLabelHeight;
    width += width % 2;
    height += height % 2;
    QImage frame(width, height, QImage::Format_RGB888);
    frame.fill(QColor(40, 40, 40));
    QPainter painter(&frame);
    painter.setPen(Qt::white);
    const QString names[3] = {input.plainName, input.compensatedName, QObject::tr("ground truth")};
    const QString rowNames[2] = {QObject::tr("x0-prediction"), QObject::tr("noisy state")};
    for (int c = 0; c < 3; ++c)
        painter.drawText(QRect(kMargin + c * (cell.width() + kMargin), 0, cell.width(), kLabelHeight), Qt::AlignCenter, names[c]);
    for (int r = 0; r < 2; ++r) {
        const int top = kLabelHeight + r * (kLabelHeight + cell.height() + kMargin);
        painter.drawText(QRect(kMargin, top, width - 2 * kMargin, kLabelHeight), Qt::AlignLeft | Qt::AlignVCenter, rowNames[r]);
        for (int c = 0; c < 3; ++c) {
            const QRect area(kMargin + c * (cell.width() + kMargin), top + kLabelHeight, cell.width(), cell.height());
            if (cells[r][c].isNull())
                painter.drawText(area, Qt::AlignCenter, QObject::tr("no ground truth"));
            else
                painter.drawImage(area.topLeft(), cells[r][c]);
        }
    }
    QString caption = QObject::tr("step %1 of %2").arg(step).arg(std::max(0, last));
    if (step < input.stepTimes.size()) caption += QObject::tr(", t = %1").arg(input.stepTimes[step], 0, 'f', 4);
    painter.drawText(QRect(kMargin, height - kLabelHeight, width - 2 * kMargin, kLabelHeight), Qt::AlignLeft | Qt::AlignVCenter, caption);
    return frame;
}

VideoExportResult exportComparisonVideo(const QString& path, const VideoExportInput& input, const VideoExportOptions& options,
                                        const std::function<bool(int, int)>& progress) {
    VideoExportResult result;
    if (input.predictions.isEmpty() || input.predictions.first().plain.isEmpty()) {
        result.error = QObject::tr("%1: nothing to export (sample first)").arg(path);
        return result;
    }
    const QString suffix = QFileInfo(path).suffix().toLower();
    int fourcc = 0;
    if (suffix == QLatin1String("avi"))
        fourcc = cv::VideoWriter::fourcc('M', 'J', 'P', 'G');
    else if (suffix == QLatin1String("mp4"))
        fourcc = cv::VideoWriter::fourcc('m', 'p', '4', 'v');
    else {
        result.error = QObject::tr("%1: the video must end in .avi or .mp4").arg(path);
        return result;
    }
    // Same folder and suffix (the suffix picks the container), another name until complete.
    const QFileInfo info(path);
    if (!info.dir().exists()) {
        result.error = QObject::tr("%1: cannot write the video there (no such folder)").arg(path);
        return result;
    }
    const std::string partial = (info.dir().filePath(QStringLiteral(".%1.partial.%2").arg(info.completeBaseName(), suffix))).toStdString();
    const int steps = int(input.predictions.size());
    const int total = steps * std::max(1, options.framesPerStep) + std::max(0, options.holdFrames);
    const QImage first = composeVideoFrame(input, 0);
    result.frameSize = first.size();
    cv::VideoWriter writer(partial, fourcc, options.framesPerSecond, cv::Size(first.width(), first.height()), true);
    if (!writer.isOpened()) {
        result.error = suffix == QLatin1String("mp4")
                           ? QObject::tr("%1: no MP4 encoder here (OpenCV could not open one); use .avi").arg(path)
                           : QObject::tr("%1: cannot write the video there").arg(path);
        return result;
    }
    const auto remove = [&] {
        writer.release();
        std::error_code ignored;
        std::filesystem::remove(partial, ignored);
    };
    for (int done = 0; done < total; ++done) {
        const int step = std::min(steps - 1, done / std::max(1, options.framesPerStep));
        const QImage frame = step == 0 ? first : composeVideoFrame(input, step);
        const cv::Mat rgb(frame.height(), frame.width(), CV_8UC3, const_cast<uchar*>(frame.constBits()), size_t(frame.bytesPerLine()));
        cv::Mat bgr;
        cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
        writer.write(bgr);
        result.frames = done + 1;
        if (progress && !progress(done + 1, total)) {
            remove();
            result.cancelled = true;
            return result;
        }
    }
    writer.release();
    std::error_code error;
    std::filesystem::rename(partial, path.toStdString(), error);  // atomic: the old file or the whole new one
    if (error) {
        remove();
        result.error = QObject::tr("%1: cannot write the video there (%2)").arg(path, QString::fromStdString(error.message()));
        return result;
    }
    result.written = true;
    return result;
}
