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

namespace {

/// Where the video is written until complete: the same folder (so renaming is atomic) and
/// suffix (the suffix picks OpenCV's container), a hidden name.
std::string partialPath(const QString& path) {
    const QFileInfo info(path);
    return info.dir().filePath(QStringLiteral(".%1.partial.%2").arg(info.completeBaseName(), info.suffix().toLower())).toStdString();
}

/// The writer for `suffix`, opened on `file`: MJPG for .avi; for .mp4 the first MPEG-4 encoder
/// this OpenCV has (mp4v, else avc1). Not opened when none works.
cv::VideoWriter openWriter(const std::string& file, const QString& suffix, double fps, const QSize& size) {
    const cv::Size frameSize(size.width(), size.height());
    if (suffix == QLatin1String("avi")) return cv::VideoWriter(file, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), fps, frameSize, true);
    for (const char* code : {"mp4v", "avc1"}) {
        cv::VideoWriter writer(file, cv::VideoWriter::fourcc(code[0], code[1], code[2], code[3]), fps, frameSize, true);
        if (writer.isOpened()) return writer;
    }
    return {};
}

VideoExportResult writeVideo(const QString& path, const VideoExportInput& input, const VideoExportOptions& options,
                             const std::function<bool(int, int)>& progress) {
    VideoExportResult result;
    if (input.predictions.isEmpty() || input.predictions.first().plain.isEmpty()) {
        result.error = QObject::tr("%1: nothing to export (sample first)").arg(path);
        return result;
    }
    const QString suffix = QFileInfo(path).suffix().toLower();
    if (suffix != QLatin1String("avi") && suffix != QLatin1String("mp4")) {
        result.error = QObject::tr("%1: the video must end in .avi or .mp4").arg(path);
        return result;
    }
    const QFileInfo info(path);
    if (!info.dir().exists()) {
        result.error = QObject::tr("%1: cannot write the video there (no such folder)").arg(path);
        return result;
    }
    const std::string partial = partialPath(path);
    const int steps = int(input.predictions.size());
    const int total = steps * std::max(1, options.framesPerStep) + std::max(0, options.holdFrames);
    QImage frame = composeVideoFrame(input, 0);
    result.frameSize = frame.size();
    const double fps = options.framesPerSecond > 0.0 ? options.framesPerSecond : 8.0;
    cv::VideoWriter writer = openWriter(partial, suffix, fps, frame.size());
    const auto remove = [&] {
        writer.release();
        std::error_code ignored;
        std::filesystem::remove(partial, ignored);
    };
    if (!writer.isOpened()) {
        remove();  // a backend that gave up may have left an empty file
        result.error = suffix == QLatin1String("mp4")
                           ? QObject::tr("%1: no MP4 encoder here (OpenCV could not open one); use .avi").arg(path)
                           : QObject::tr("%1: cannot write the video there").arg(path);
        return result;
    }
    // Each step is drawn once and written for all of its frames.
    cv::Mat bgr;
    int shownStep = -1;
    for (int done = 0; done < total; ++done) {
        const int step = std::min(steps - 1, done / std::max(1, options.framesPerStep));
        if (step != shownStep) {
            if (step != 0) frame = composeVideoFrame(input, step);
            if (frame.size() != result.frameSize) {  // steps with other image sizes cannot share one video
                remove();
                result.error = QObject::tr("%1: step %2's images differ in size from step 0's").arg(path).arg(step);
                return result;
            }
            const cv::Mat rgb(frame.height(), frame.width(), CV_8UC3, const_cast<uchar*>(frame.constBits()), size_t(frame.bytesPerLine()));
            cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
            shownStep = step;
        }
        writer.write(bgr);
        result.frames = done + 1;
        if (progress && !progress(done + 1, total)) {
            remove();
            result.cancelled = true;
            return result;
        }
    }
    writer.release();
    // VideoWriter::write reports nothing: a full disk shows as a missing or empty file.
    std::error_code sizeError;
    if (std::filesystem::file_size(partial, sizeError) == 0 || sizeError) {
        remove();
        result.error = QObject::tr("%1: the video could not be written (disk full?)").arg(path);
        return result;
    }
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

}  // namespace

VideoExportResult exportComparisonVideo(const QString& path, const VideoExportInput& input, const VideoExportOptions& options,
                                        const std::function<bool(int, int)>& progress) {
    // It runs on a thread of its own in the window: nothing may escape it (std::terminate).
    try {
        return writeVideo(path, input, options, progress);
    } catch (const std::exception& error) {  // cv::Exception, dcscope::Error (tiles of different sizes)
        std::error_code ignored;
        std::filesystem::remove(partialPath(path), ignored);
        VideoExportResult result;
        result.error = QObject::tr("%1: %2").arg(path, QString::fromStdString(error.what()).simplified());
        return result;
    }
}
