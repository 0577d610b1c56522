#pragma once

#include <functional>

#include <QImage>
#include <QSize>
#include <QString>
#include <QVector>

#include "comparison_frame.h"

/// Everything a video of a comparison's denoising needs, in Qt types (copied from a result on
/// the GUI thread, then read on the export thread).
struct VideoExportInput {
    QVector<ComparisonFrame> predictions;  ///< steps 0..S: x0-predictions at t_k
    QVector<ComparisonFrame> states;       ///< steps 0..S: noisy states (same count)
    QVector<double> stepTimes;             ///< t_0..t_S (may be empty)
    QString plainName;
    QString compensatedName;
    int columns = 0;                       ///< grid columns of each pane (0: ceil(sqrt(batch)))
};

struct VideoExportOptions {
    int framesPerStep = 4;  ///< video frames showing each step
    int holdFrames = 8;     ///< extra frames of the last step
    double framesPerSecond = 8.0;
};

struct VideoExportResult {
    bool written = false;
    bool cancelled = false;
    QString error;          ///< one line naming the file, when neither written nor cancelled
    int frames = 0;
    QSize frameSize;
};

/// One video frame: for step k, a row of x0-predictions and a row of noisy states, each as
/// plain | DC | ground truth (the export grid of the window's PNGs), labelled with the pane
/// names and "step k of S, t = ...". Its size is even in both directions (codecs need it).
QImage composeVideoFrame(const VideoExportInput& input, int step);

/// Writes the video with OpenCV's VideoWriter: `.avi` as MJPG (always available), `.mp4` as
/// mp4v or avc1 where OpenCV has one (else a one-line error suggesting .avi). The file is
/// written under a temporary name beside `path` and renamed when complete, so `path` is never a
/// partial video. `progress(done, total)` is called after each frame; returning false cancels
/// (the partial file is removed). Runs on the caller's thread (no GUI access: any thread).
/// Never throws: every failure (OpenCV's, images of different sizes, a full disk) is `error`,
/// one line naming `path`.
VideoExportResult exportComparisonVideo(const QString& path, const VideoExportInput& input, const VideoExportOptions& options,
                                        const std::function<bool(int done, int total)>& progress = {});
