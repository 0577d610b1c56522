// The video of a comparison's steps, written with OpenCV and read back with OpenCV.
#include <QtTest/QtTest>

#include <QTemporaryDir>

#include <opencv2/videoio.hpp>

#include "error_dialog.h"
#include "main_window.h"
#include "video_export.h"

namespace {

constexpr int kSteps = 3;

QImage grey(int value) {
    QImage image(8, 8, QImage::Format_Grayscale8);
    image.fill(value);
    return image;
}

/// Plain 40, DC 200, ground truth 120 in every step's predictions; states darker.
VideoExportInput input() {
    VideoExportInput in;
    for (int k = 0; k <= kSteps; ++k) {
        ComparisonFrame prediction, state;
        for (int b = 0; b < 4; ++b) {
            prediction.plain.append(grey(40));
            prediction.compensated.append(grey(200));
            prediction.groundTruth.append(grey(120));
            state.plain.append(grey(10));
            state.compensated.append(grey(20));
            state.groundTruth.append(grey(30));
        }
        in.predictions.append(prediction);
        in.states.append(state);
        in.stepTimes.append(1.0 - 0.3 * k);
    }
    in.plainName = QStringLiteral("UniPC (bh2)");
    in.compensatedName = QStringLiteral("UniPC (bh2) + DC");
    return in;
}

}  // namespace

class TestVideoExport : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_folder;

private Q_SLOTS:
    void framesAreWrittenAndReadBack() {
        const QString path = m_folder.filePath(QStringLiteral("steps.avi"));
        VideoExportOptions options;
        options.framesPerStep = 2;
        options.holdFrames = 3;
        int calls = 0;
        const VideoExportResult result = exportComparisonVideo(path, input(), options, [&](int, int total) {
            ++calls;
            return total == (kSteps + 1) * 2 + 3;
        });
        QVERIFY2(result.written, qPrintable(result.error));
        QCOMPARE(result.frames, (kSteps + 1) * 2 + 3);
        QCOMPARE(calls, result.frames);
        QVERIFY(result.frameSize.width() % 2 == 0 && result.frameSize.height() % 2 == 0);
        cv::VideoCapture capture(path.toStdString());
        QVERIFY(capture.isOpened());
        int frames = 0;
        cv::Mat frame, first;
        while (capture.read(frame)) {
            if (frames == 0) first = frame.clone();
            ++frames;
        }
        QCOMPARE(frames, result.frames);
        QCOMPARE(first.cols, result.frameSize.width());
        QCOMPARE(first.rows, result.frameSize.height());
        // The middle of the first DC cell (second column, first row of images) shows DC's grey.
        const QImage composed = composeVideoFrame(input(), 0);
        const int cellWidth = (composed.width() - 8) / 3 - 8;
        // A quarter into each cell lies inside its first tile (past the grid's padding).
        const int cellHeight = (composed.height() - 20 - 2 * (20 + 8) - 20) / 2;
        const cv::Point dc(8 + cellWidth + 8 + cellWidth / 4, 20 + 20 + cellHeight / 4);
        const cv::Point plain(8 + cellWidth / 4, 20 + 20 + cellHeight / 4);
        const cv::Vec3b dcPixel = first.at<cv::Vec3b>(dc), plainPixel = first.at<cv::Vec3b>(plain);
        QVERIFY2(qAbs(int(dcPixel[1]) - 200) <= 12, qPrintable(QString::number(dcPixel[1])));
        QVERIFY2(qAbs(int(plainPixel[1]) - 40) <= 12, qPrintable(QString::number(plainPixel[1])));
        QVERIFY(!QDir(m_folder.path()).entryList(QDir::Hidden | QDir::Files).join(QLatin1Char(' ')).contains(QStringLiteral("partial")));
    }

    void cancellingLeavesNoFile() {
        const QString path = m_folder.filePath(QStringLiteral("cancelled.avi"));
        const VideoExportResult result = exportComparisonVideo(path, input(), VideoExportOptions{}, [](int done, int) { return done < 2; });
        QVERIFY(result.cancelled);
        QVERIFY(!result.written);
        QCOMPARE(result.frames, 2);
        QVERIFY(!QFileInfo::exists(path));
        QVERIFY(!QDir(m_folder.path()).entryList(QDir::Hidden | QDir::Files).join(QLatin1Char(' ')).contains(QStringLiteral("cancelled")));
    }

    void badPathsAreOneLineNamingThem() {
        const QString missing = m_folder.filePath(QStringLiteral("no/such/folder/video.avi"));
        const VideoExportResult result = exportComparisonVideo(missing, input(), VideoExportOptions{});
        QVERIFY(!result.written && !result.cancelled);
        QVERIFY2(result.error.startsWith(missing) && !result.error.contains(QLatin1Char('\n')), qPrintable(result.error));
        const VideoExportResult wrongKind = exportComparisonVideo(m_folder.filePath(QStringLiteral("v.gif")), input(), VideoExportOptions{});
        QVERIFY(wrongKind.error.contains(QStringLiteral(".avi")));
        const VideoExportResult empty = exportComparisonVideo(m_folder.filePath(QStringLiteral("e.avi")), VideoExportInput{}, VideoExportOptions{});
        QVERIFY(empty.error.contains(QStringLiteral("nothing to export")));
    }

    void failuresAreOneLineAndLeaveNoFile() {
        // Tiles of different sizes: the export grid throws; the export must not (it runs on a thread).
        VideoExportInput mixed = input();
        mixed.predictions[0].compensated[1] = QImage(4, 4, QImage::Format_Grayscale8);
        const QString mixedPath = m_folder.filePath(QStringLiteral("mixed.avi"));
        const VideoExportResult thrown = exportComparisonVideo(mixedPath, mixed, VideoExportOptions{});
        QVERIFY(!thrown.written && !thrown.cancelled);
        QVERIFY2(thrown.error.startsWith(mixedPath) && !thrown.error.contains(QLatin1Char('\n')), qPrintable(thrown.error));
        QVERIFY(!QFileInfo::exists(mixedPath));
        // A later step whose images are larger cannot go into the same video.
        VideoExportInput grown = input();
        for (QVector<QImage>* pane : {&grown.states[2].plain, &grown.states[2].compensated, &grown.states[2].groundTruth})
            for (QImage& image : *pane) image = grey(60).scaled(200, 200);  // larger than the ~96 px the grid enlarges 8x8 tiles to
        const VideoExportResult sized = exportComparisonVideo(m_folder.filePath(QStringLiteral("grown.avi")), grown, VideoExportOptions{});
        QVERIFY2(!sized.written && sized.error.contains(QStringLiteral("step 2")), qPrintable(sized.error));
        QVERIFY(!QFileInfo::exists(m_folder.filePath(QStringLiteral("grown.avi"))));
        // The final name is taken by a folder: the rename fails and the partial file goes.
        const QString folderPath = m_folder.filePath(QStringLiteral("taken.avi"));
        QVERIFY(QDir().mkpath(folderPath));
        const VideoExportResult taken = exportComparisonVideo(folderPath, input(), VideoExportOptions{});
        QVERIFY(!taken.written && !taken.cancelled);
        QVERIFY2(taken.error.startsWith(folderPath) && !taken.error.contains(QLatin1Char('\n')), qPrintable(taken.error));
        QVERIFY(QFileInfo(folderPath).isDir());
        QVERIFY(!QDir(m_folder.path()).entryList(QDir::Hidden | QDir::Files).join(QLatin1Char(' ')).contains(QStringLiteral("partial")));
    }

    void mp4IsWrittenOrRefusedInOneLine() {
        const QString path = m_folder.filePath(QStringLiteral("steps.mp4"));
        const VideoExportResult result = exportComparisonVideo(path, input(), VideoExportOptions{});
        if (!result.written) {
            // No MPEG-4 encoder in this OpenCV: say so, naming the file and the way out.
            QVERIFY2(result.error.startsWith(path) && result.error.contains(QStringLiteral(".avi")) &&
                         !result.error.contains(QLatin1Char('\n')),
                     qPrintable(result.error));
            QVERIFY(!QFileInfo::exists(path));
            QSKIP("no MP4 encoder in this OpenCV build");
        }
        cv::VideoCapture capture(path.toStdString());
        QVERIFY(capture.isOpened());
        cv::Mat frame;
        QVERIFY(capture.read(frame));
        QCOMPARE(frame.cols, result.frameSize.width());
        QCOMPARE(frame.rows, result.frameSize.height());
    }

    void theWindowExportsOnAThreadOfItsOwn() {
        qputenv("XDG_CACHE_HOME", m_folder.filePath(QStringLiteral("cache")).toLocal8Bit());
        qputenv("XDG_CONFIG_HOME", m_folder.filePath(QStringLiteral("config")).toLocal8Bit());
        QStringList errors;
        const ErrorDialogHook previous = setErrorDialogHook([&](QWidget*, const QString& message) { errors.append(message); });
        MainWindow::Options options;
        options.modelSpec = QStringLiteral("builtin:gmm-image");
        MainWindow window(options);
        window.show();
        QTRY_VERIFY_WITH_TIMEOUT(window.lastResult() && window.lastResult()->hasGroundTruth, 60000);
        QSignalSpy finished(&window, &MainWindow::videoExportFinished);
        const QString path = m_folder.filePath(QStringLiteral("window.avi"));
        QElapsedTimer clock;
        clock.start();
        QVERIFY(window.startVideoExport(path));
        QVERIFY(window.isExportingVideo());
        QVERIFY(!window.startVideoExport(path));  // one at a time
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 60000);
        qInfo("window's video export took %lld ms: %s", clock.elapsed(), qPrintable(finished.first().last().toString()));
        QVERIFY2(finished.first().first().toBool(), qPrintable(finished.first().last().toString()));
        QVERIFY(!window.isExportingVideo());
        cv::VideoCapture capture(path.toStdString());
        QVERIFY(capture.isOpened());
        QCOMPARE(int(capture.get(cv::CAP_PROP_FRAME_COUNT)), 11 * VideoExportOptions{}.framesPerStep + VideoExportOptions{}.holdFrames);
        QCOMPARE(errors.size(), 1);  // only the refused second export
        setErrorDialogHook(previous);
    }
};

QTEST_MAIN(TestVideoExport)
#include "test_video_export.moc"
