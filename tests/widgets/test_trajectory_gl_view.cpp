// The OpenGL trajectory view under Xvfb (Mesa's software OpenGL): what it draws is read back from
// its framebuffer at known positions.
#include <QtTest/QtTest>

#include <QOpenGLContext>
#include <QOpenGLVersionFunctionsFactory>

#include <cmath>

#include "gl_objects.h"
#include "trajectory_gl_view.h"

namespace {

constexpr int kFine = 40;

/// Two modes at (-1, 0) and (1, 0); one particle whose ground truth runs straight from (0, 2) to
/// (1, 0) over one coarse step; the plain run lands at (1.3, 0.4), the DC run at (1.1, 0.1).
TrajectoryScene twoModes() {
    TrajectoryScene scene;
    scene.times = {1.0, 0.001};
    scene.alphas = {0.01, 1.0};
    scene.sigmas = {1.0, 0.001};
    scene.lambdas = {std::log(0.01), std::log(1000.0)};
    scene.ratios = {0.9};
    scene.coarseFineIndex = {0, kFine};
    QVector<QPointF> fine;
    for (int f = 0; f <= kFine; ++f) {
        const double u = double(f) / kFine;
        scene.fineTimes.append(1.0 - u * 0.999);
        scene.fineAlphas.append(0.01 + u * 0.99);
        scene.fineSigmas.append(1.0 - u * 0.999);
        fine.append(QPointF(u, 2.0 * (1.0 - u)));
    }
    scene.groundTruthFine = {fine};
    scene.groundTruth = {{QPointF(0, 2), QPointF(1, 0)}};
    scene.plain = {{QPointF(0, 2), QPointF(1.3, 0.4)}};
    scene.compensated = {{QPointF(0, 2), QPointF(1.1, 0.1)}};
    scene.compensationNorm = {{0.25}};
    scene.density.means = {QPointF(-1, 0), QPointF(1, 0)};
    scene.density.weights = {0.5, 0.5};
    scene.density.componentStd = 0.15;
    scene.plainName = QStringLiteral("UniPC (bh2)");
    scene.compensatedName = QStringLiteral("UniPC (bh2) + DC");
    return scene;
}

/// The darkest pixel (smallest red + green + blue) within 2 px of `centre`: lines are 1 px wide
/// and antialiased, so the exact centre pixel may be a blend.
QColor darkestNear(const QImage& image, QPoint centre) {
    QColor best = Qt::white;
    for (int dy = -2; dy <= 2; ++dy)
        for (int dx = -2; dx <= 2; ++dx) {
            const QColor c = image.pixelColor(centre + QPoint(dx, dy));
            if (c.red() + c.green() + c.blue() < best.red() + best.green() + best.blue()) best = c;
        }
    return best;
}

}  // namespace

class TestTrajectoryGlView : public QObject {
    Q_OBJECT

private:
    TrajectoryGlView* m_view = nullptr;

    QImage frame() { return m_view->grabFramebuffer(); }
    QPoint at(const QPointF& data) const { return m_view->dataToWidget(data).toPoint(); }

private Q_SLOTS:
    void init() {
        m_view = new TrajectoryGlView;
        m_view->resize(500, 400);
        m_view->setOverlayVisible(false);
        m_view->show();
        QVERIFY(QTest::qWaitForWindowExposed(m_view));
        m_view->setScene(twoModes());
        (void)frame();  // initialises GL
        if (!m_view->glProblem().isEmpty()) QSKIP(qPrintable(m_view->glProblem()));
    }

    void cleanup() {
        delete m_view;
        m_view = nullptr;
    }

    void theDensityIsBrightestAtAMode() {
        TrajectoryGlView::Layers layers;
        layers.groundTruth = layers.plain = layers.compensated = layers.errors = false;
        m_view->setLayers(layers);
        QCOMPARE(m_view->step(), 1);  // a new scene shows t_S
        const QImage image = frame();
        const QColor mode = image.pixelColor(at(QPointF(-1, 0)));
        const QColor between = image.pixelColor(at(QPointF(0, 0)));
        const QColor far = image.pixelColor(at(QPointF(-1, 1.8)));
        qInfo() << "mode" << mode << "between" << between << "far" << far;
        // White far from the modes, the density colour at a mode (about 107, 77, 158).
        QVERIFY(far.red() > 245 && far.green() > 245);
        QVERIFY(mode.red() < 130 && mode.green() < 100);
        QVERIFY(between.red() > mode.red() + 60);
        // At t_0 the density is nearly the standard normal: the modes have merged.
        m_view->setStep(0);
        const QImage start = frame();
        QVERIFY(qAbs(start.pixelColor(at(QPointF(-1, 0))).red() - start.pixelColor(at(QPointF(1, 0))).red()) <= 2);
    }

    void groundTruthAndSolverLayersHaveTheirColours() {
        TrajectoryGlView::Layers layers;
        layers.density = false;
        m_view->setLayers(layers);
        // With the overlay drawn in earlier frames too: ImGui's renderer shares the context.
        m_view->setOverlayVisible(true);
        (void)frame();
        (void)frame();
        const QImage image = frame();
        // Halfway along the ground-truth path: dark grey, no hue.
        const QColor path = darkestNear(image, at(QPointF(0.5, 1.0)));
        QVERIFY2(path.red() < 215 && qAbs(path.red() - path.blue()) < 12, qPrintable(path.name()));
        // The DC state's marker is blue, the plain one's orange.
        const QColor dc = image.pixelColor(at(QPointF(1.1, 0.1)));
        const QColor plain = image.pixelColor(at(QPointF(1.3, 0.4)));
        QVERIFY2(dc.blue() > 180 && dc.red() < 100, qPrintable(dc.name()));
        QVERIFY2(plain.red() > 180 && plain.blue() < 100, qPrintable(plain.name()));
        // Off, the plain layer leaves white behind.
        layers.plain = false;
        layers.errors = false;
        m_view->setLayers(layers);
        const QColor gone = frame().pixelColor(at(QPointF(1.3, 0.4)));
        QVERIFY2(gone.red() > 240 && gone.blue() > 240, qPrintable(gone.name()));
    }

    void manyGroundTruthPathsStayGrey() {
        // 300 particles spiralling in over 200 fine steps, drawn alone: every pixel drawn is a
        // grey (the layer's colour over white), whatever the path count.
        TrajectoryScene scene = twoModes();
        scene.groundTruthFine.clear();
        for (int p = 0; p < 300; ++p) {
            QVector<QPointF> path;
            for (int f = 0; f <= 200; ++f) {
                const double u = f / 200.0, angle = 0.05 * p + 6 * u;
                path.append(QPointF((1.5 - u) * std::cos(angle), (1.5 - u) * std::sin(angle)));
            }
            scene.groundTruthFine.append(path);
        }
        m_view->setScene(scene);
        TrajectoryGlView::Layers layers;
        layers.density = layers.plain = layers.compensated = layers.errors = false;
        m_view->setLayers(layers);
        const QImage image = frame();
        int drawn = 0, coloured = 0;
        for (int y = 0; y < image.height(); ++y)
            for (int x = 0; x < image.width(); ++x) {
                const QColor c = image.pixelColor(x, y);
                if (c.red() < 250) ++drawn;
                if (std::max({c.red(), c.green(), c.blue()}) - std::min({c.red(), c.green(), c.blue()}) > 8) ++coloured;
            }
        QVERIFY(drawn > 1000);
        QCOMPARE(coloured, 0);
    }

    void theVelocityFollowsTheExactFlowOfAGaussian() {
        // One mode: along the probability flow x_t = alpha mu + sqrt(v_t) z with v = alpha^2 s^2 +
        // sigma^2, so dx/dt = f alpha mu + (f + g^2 / (2 v)) (x - alpha mu) for the VP coefficients
        // f = alpha'/alpha and g^2 = (sigma^2)' - 2 f sigma^2; samples move the opposite way.
        TrajectoryScene scene = twoModes();
        scene.density.means = {QPointF(0.6, -0.2)};
        scene.density.weights = {1.0};
        scene.density.componentStd = 0.2;
        const double alpha = 0.8, sigma = 0.6, f = -1.3, g2 = 2.1;
        scene.fineAlphas = QVector<double>(kFine + 1, alpha);
        scene.fineSigmas = QVector<double>(kFine + 1, sigma);
        scene.fineDrift = QVector<double>(kFine + 1, f);
        scene.fineDiffusionSquared = QVector<double>(kFine + 1, g2);
        m_view->setScene(scene);
        const QPointF x(0.3, 0.5), centre = alpha * scene.density.means[0];
        const double variance = alpha * alpha * 0.04 + sigma * sigma;
        const QPointF expected = -(f * centre + (f + g2 / (2 * variance)) * (x - centre));
        const QPointF velocity = m_view->samplingVelocity(x, 7);
        QVERIFY2((velocity - expected).manhattanLength() < 1e-9, qPrintable(QStringLiteral("%1,%2").arg(velocity.x()).arg(velocity.y())));
        QCOMPARE(m_view->samplingVelocity(x, kFine + 5), QPointF());  // no coefficients there
        // Drawn: arrows in the layer's green appear where the empty view was white.
        TrajectoryGlView::Layers layers;
        layers.density = layers.groundTruth = layers.plain = layers.compensated = layers.errors = false;
        layers.velocity = true;
        m_view->setLayers(layers);
        const QImage image = frame();
        int green = 0;
        for (int y = 0; y < image.height(); y += 2)
            for (int x = 0; x < image.width(); x += 2) {
                const QColor c = image.pixelColor(x, y);
                green += c.green() > c.red() + 30 && c.green() > c.blue() + 30;
            }
        QVERIFY(green > 50);
    }

    void theInspectorReportsTheStateUnderTheMouse() {
        const TrajectoryGlView::HoverInfo info = m_view->hoverAt(m_view->dataToWidget(QPointF(1.1, 0.1)) + QPointF(3, -2));
        QVERIFY(info.valid);
        QVERIFY(info.compensatedRun);
        QCOMPARE(info.particle, 0);
        QCOMPARE(info.step, 1);
        QCOMPARE(info.t, 0.001);
        QCOMPARE(info.rho, 0.9);
        QVERIFY(qAbs(info.lagrangeTime - (1.0 + 0.9 * (0.001 - 1.0))) < 1e-12);  // t' = t_0 + rho (t_1 - t_0)
        QVERIFY(qAbs(info.compensatedError - std::hypot(0.1, 0.1)) < 1e-12);
        QVERIFY(qAbs(info.plainError - std::hypot(0.3, 0.4)) < 1e-12);
        QCOMPARE(info.compensationNorm, 0.25);
        const QString text = TrajectoryGlView::describe(info, m_view->scene());
        QVERIFY2(text.contains(QStringLiteral("rho = 0.900")) && text.contains(QStringLiteral("UniPC (bh2) + DC")), qPrintable(text));
        QVERIFY(!m_view->hoverAt(m_view->dataToWidget(QPointF(-1, 1.5))).valid);
    }

    void panAndZoomKeepTheCursorsPoint() {
        const QPoint cursor = at(QPointF(1, 0));
        QWheelEvent wheel(cursor, m_view->mapToGlobal(cursor), QPoint(), QPoint(0, 240), Qt::NoButton, Qt::NoModifier,
                          Qt::NoScrollPhase, false);
        const double width = m_view->viewRect().width();
        QApplication::sendEvent(m_view, &wheel);
        QVERIFY(m_view->viewRect().width() < width * 0.8);
        QVERIFY((m_view->widgetToData(cursor) - QPointF(1, 0)).manhattanLength() < 0.02);
        const QPointF before = m_view->widgetToData(QPointF(250, 200));
        QTest::mousePress(m_view, Qt::LeftButton, {}, QPoint(250, 200));
        QTest::mouseMove(m_view, QPoint(300, 200));
        QTest::mouseRelease(m_view, Qt::LeftButton, {}, QPoint(300, 200));
        // Dragged right by 50 px: the data that was under (250, 200) is now under (300, 200).
        QVERIFY((m_view->widgetToData(QPointF(300, 200)) - before).manhattanLength() < 0.02);
    }

    void keysStepAndPlay() {
        QSignalSpy changed(m_view, &TrajectoryGlView::stepChanged);
        m_view->setFocus();
        QTest::keyClick(m_view, Qt::Key_Left);
        QCOMPARE(m_view->step(), 0);
        QCOMPARE(changed.count(), 1);
        m_view->setSpeed(10.0);
        QTest::keyClick(m_view, Qt::Key_Space);
        QVERIFY(m_view->isPlaying());
        QTRY_COMPARE_WITH_TIMEOUT(m_view->step(), 1, 5000);  // plays through to t_S, then stops
        QTRY_VERIFY(!m_view->isPlaying());
    }

    void theOverlayDrawsItsPanel() {
        const QImage without = frame();
        m_view->setOverlayVisible(true);
        (void)frame();  // ImGui sizes an auto-resizing window on its first frame and shows it from the second
        const QImage with = frame();
        // The ImGui panel sits at the top left, over the white background.
        QVERIFY(with.pixelColor(QPoint(30, 30)) != without.pixelColor(QPoint(30, 30)));
    }

    void shaderErrorsAreOneLineNamingTheShader() {
        m_view->makeCurrent();
        auto* gl = QOpenGLVersionFunctionsFactory::get<QOpenGLFunctions_3_3_Core>(m_view->context());
        QVERIFY(gl);
        try {
            GlProgram program(gl, QStringLiteral("broken.vert"), "#version 330 core\nvoid main() { gl_Position = nope; }\n",
                              QStringLiteral("strokes.frag"), readShaderSource(QStringLiteral(":/shaders/strokes.frag")));
            QFAIL("a broken shader compiled");
        } catch (const GlError& error) {
            const QString message = QString::fromUtf8(error.what());
            QVERIFY2(message.startsWith(QStringLiteral("broken.vert: does not compile")), qPrintable(message));
            QVERIFY(!message.contains(QLatin1Char('\n')));
        }
        // Every embedded shader builds.
        GlProgram density(gl, QStringLiteral("density.vert"), readShaderSource(QStringLiteral(":/shaders/density.vert")),
                          QStringLiteral("density.frag"), readShaderSource(QStringLiteral(":/shaders/density.frag")));
        QVERIFY(density);
        QVERIFY_THROWS_EXCEPTION(GlError, readShaderSource(QStringLiteral(":/shaders/missing.frag")));
        m_view->doneCurrent();
    }
};

QTEST_MAIN(TestTrajectoryGlView)
#include "test_trajectory_gl_view.moc"
