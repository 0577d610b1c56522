// The window where no OpenGL 3.3 context can be had. CTest runs this suite with Mesa told to offer
// OpenGL 2.1 only (MESA_GL_VERSION_OVERRIDE=2.1): the trajectory view must say why it draws
// nothing, and the rest of the window must sample as usual.
#include <QtTest/QtTest>

#include <QStackedWidget>
#include <QTemporaryDir>

#include "error_dialog.h"
#include "main_window.h"
#include "support/window_test_support.h"
#include "trajectory_gl_view.h"

using dcscope::testing::child;

class TestTrajectoryGlFallback : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_home;

private Q_SLOTS:
    void initTestCase() {
        QVERIFY(m_home.isValid());
        dcscope::testing::useTemporaryHome(m_home);
        QCOMPARE(qgetenv("MESA_GL_VERSION_OVERRIDE"), QByteArray("2.1"));  // set by CTest
    }

    void theViewShowsWhyAndTheWindowWorks() {
        QStringList errors;
        const ErrorDialogHook previous = setErrorDialogHook([&](QWidget*, const QString& message) { errors.append(message); });
        MainWindow::Options options;
        options.modelSpec = QStringLiteral("builtin:gmm2d");
        MainWindow window(options);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        auto* view = child<TrajectoryGlView>(window, "trajectoryView");
        QTRY_VERIFY_WITH_TIMEOUT(window.lastResult() && window.lastResult()->hasGroundTruth, 30000);
        QCOMPARE(child<QStackedWidget>(window, "viewStack")->currentWidget(), view);  // once the 2-D model has loaded
        const QImage image = view->grabFramebuffer();
        QVERIFY2(view->glProblem().contains(QStringLiteral("needs OpenGL 3.3")) && view->glProblem().contains(QStringLiteral("2.1")),
                 qPrintable(view->glProblem()));
        // The message is drawn: text pixels darker than the background in the middle band.
        const QColor background = image.pixelColor(5, 5);
        int text = 0;
        for (int y = image.height() / 3; y < 2 * image.height() / 3; ++y)
            for (int x = 0; x < image.width(); ++x) text += image.pixelColor(x, y).lightness() < background.lightness() - 80;
        QVERIFY2(text > 50, qPrintable(QString::number(text)));
        // The rest works: the comparison is complete, with both runs' errors, and the scene is
        // there for the inspector's arithmetic (which needs no GL).
        QVERIFY(!window.lastResult()->plainError.isEmpty());
        QCOMPARE(view->scene().particles(), window.lastResult()->trajectoryScene.particles());
        const QPointF state = view->dataToWidget(view->scene().compensated[0][view->step()]);
        QVERIFY(view->hoverAt(state).valid);
        QVERIFY2(errors.isEmpty(), qPrintable(errors.join(QLatin1Char('\n'))));
        setErrorDialogHook(previous);
    }
};

QTEST_MAIN(TestTrajectoryGlFallback)
#include "test_trajectory_gl_fallback.moc"
