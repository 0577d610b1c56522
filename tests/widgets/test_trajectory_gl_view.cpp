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
    scene.density.stds = {0.15, 0.15};
    scene.density.classes = {0, 1};
    scene.density.labels = {QStringLiteral("left"), QStringLiteral("right")};
    scene.plainName = QStringLiteral("UniPC (bh2)");
    scene.compensatedName = QStringLiteral("UniPC (bh2) + DC");
    return scene;
}

/// The same alpha, sigma and VP coefficients f, g^2 at every fine step: the flow in closed form.
void setConstantCoefficients(TrajectoryScene& scene, double alpha, double sigma, double f, double g2) {
    scene.fineAlphas = QVector<double>(kFine + 1, alpha);
    scene.fineSigmas = QVector<double>(kFine + 1, sigma);
    scene.fineDrift = QVector<double>(kFine + 1, f);
    scene.fineDiffusionSquared = QVector<double>(kFine + 1, g2);
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

    void theDensityIsItsClosedForm_data() {
        QTest::addColumn<double>("modeStd");
        QTest::addColumn<int>("step");
        // Mode spreads of 26 and 5 device pixels at t_S: drawn from the coarser and the finer grid.
        QTest::newRow("wide modes at t_S") << 0.15 << 1;
        QTest::newRow("narrow modes at t_S") << 0.03 << 1;
        QTest::newRow("merged at t_0") << 0.15 << 0;
    }

    void theDensityIsItsClosedForm() {
        QFETCH(double, modeStd);
        QFETCH(int, step);
        TrajectoryScene scene = twoModes();
        scene.density.stds = {modeStd, modeStd};
        m_view->setScene(scene);
        TrajectoryGlView::Layers layers;
        layers.groundTruth = layers.plain = layers.compensated = layers.errors = false;
        m_view->setLayers(layers);
        m_view->setStep(step);
        const QImage image = frame();
        // p_t is sum_i w_i N(alpha mu_i, (alpha^2 s^2 + sigma^2) I); with equal weights and spreads
        // the highest peak is each mode's own, so the shown strength is sqrt(sum_i exp(-d_i^2 / 2v)).
        const int fine = scene.coarseFineIndex[step];
        const double alpha = scene.fineAlphas[fine], sigma = scene.fineSigmas[fine];
        const double variance = alpha * alpha * modeStd * modeStd + sigma * sigma;
        const double spread = std::sqrt(variance);
        const double low[3] = {1.0, 1.0, 1.0}, high[3] = {0.42, 0.30, 0.62};  // the view's colour scale
        int worst = 0, checked = 0;
        for (const QPointF& offset : {QPointF(0, 0), QPointF(0.5, 0), QPointF(1, 0), QPointF(1.5, 0.5), QPointF(0, 2), QPointF(2.5, 0)}) {
            const QPoint pixel = at(QPointF(-alpha, 0) + offset * spread);
            if (!image.rect().contains(pixel)) continue;  // the widest density reaches past the view
            ++checked;
            const QPointF data = m_view->widgetToData(QPointF(pixel) + QPointF(0.5, 0.5));
            double density = 0;
            for (const QPointF& mean : scene.density.means) {
                const QPointF d = data - alpha * mean;
                density += std::exp(-(d.x() * d.x() + d.y() * d.y()) / (2 * variance));
            }
            const double strength = std::sqrt(std::min(density, 1.0));
            const QColor shown = image.pixelColor(pixel);
            const int channels[3] = {shown.red(), shown.green(), shown.blue()};
            for (int c = 0; c < 3; ++c)
                worst = std::max(worst, std::abs(channels[c] - int(std::lround(255 * (low[c] + (high[c] - low[c]) * strength)))));
        }
        qInfo() << "largest difference from the closed form" << worst << "of 255 at" << checked << "points";
        QVERIFY(checked >= 4);
        QVERIFY2(worst <= 4, qPrintable(QStringLiteral("%1 of 255").arg(worst)));
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
        scene.density.stds = {0.2};
        const double alpha = 0.8, sigma = 0.6, f = -1.3, g2 = 2.1;
        setConstantCoefficients(scene, alpha, sigma, f, g2);
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

    void theVelocityOfAnUnevenMixtureIsMinusTheFlowOfItsScore() {
        // Uneven weights and spreads: the score against central differences of the closed-form
        // log density log sum_i w_i N(x; alpha mu_i, v_i I), computed here independently.
        TrajectoryScene scene = twoModes();
        scene.density.means = {QPointF(-0.5, 0.2), QPointF(0.7, -0.3), QPointF(0.1, 0.9)};
        scene.density.weights = {3.0, 1.0, 0.5};
        scene.density.stds = {0.1, 0.3, 0.2};
        scene.density.classes = {0, 1, 1};
        const double alpha = 0.7, sigma = 0.5, f = -1.1, g2 = 1.7;
        setConstantCoefficients(scene, alpha, sigma, f, g2);
        m_view->setScene(scene);
        const auto logDensity = [&](double x, double y) {
            double total = 0;
            for (int i = 0; i < 3; ++i) {
                const double v = alpha * alpha * scene.density.stds[i] * scene.density.stds[i] + sigma * sigma;
                const double dx = x - alpha * scene.density.means[i].x(), dy = y - alpha * scene.density.means[i].y();
                total += scene.density.weights[i] / 4.5 * std::exp(-0.5 * (dx * dx + dy * dy) / v) / (2 * M_PI * v);
            }
            return std::log(total);
        };
        for (const QPointF x : {QPointF(0.0, 0.0), QPointF(-0.3, 0.4), QPointF(0.5, -0.1)}) {
            const double h = 1e-5;
            const QPointF score((logDensity(x.x() + h, x.y()) - logDensity(x.x() - h, x.y())) / (2 * h),
                                (logDensity(x.x(), x.y() + h) - logDensity(x.x(), x.y() - h)) / (2 * h));
            const QPointF expected = -(f * x - 0.5 * g2 * score);
            const QPointF velocity = m_view->samplingVelocity(x, 3);
            QVERIFY2((velocity - expected).manhattanLength() < 1e-5,
                     qPrintable(QStringLiteral("%1,%2 vs %3,%4").arg(velocity.x()).arg(velocity.y()).arg(expected.x()).arg(expected.y())));
        }
    }

    void aClickAddsAModeThatTheDensityShowsAtOnce() {
        TrajectoryGlView::Layers layers;
        layers.groundTruth = layers.plain = layers.compensated = layers.errors = false;
        m_view->setLayers(layers);
        const QPointF place(0, 1.5);
        const QColor before = frame().pixelColor(at(place));
        QVERIFY2(before.red() > 245, qPrintable(before.name()));  // far from both modes
        QSignalSpy edited(m_view, &TrajectoryGlView::mixtureEdited);
        // Not editing: a click adds nothing.
        QTest::mouseClick(m_view, Qt::LeftButton, {}, at(place));
        QCOMPARE(edited.count(), 0);
        m_view->setMixtureEditing(true);
        QVERIFY(m_view->isMixtureEditing());
        QTest::mouseClick(m_view, Qt::LeftButton, {}, at(place));
        QCOMPARE(edited.count(), 1);
        const auto mixture = edited.last().at(0).value<MixtureDensity>();
        QCOMPARE(mixture.means.size(), 3);
        QVERIFY((mixture.means[2] - place).manhattanLength() < 2 * m_view->viewRect().width() / m_view->width());
        QCOMPARE(mixture.stds[2], 0.15);   // like the first mode (none was selected)
        QCOMPARE(mixture.classes[2], 0);
        QCOMPARE(m_view->selectedMode(), 2);
        const QColor after = frame().pixelColor(at(place) + QPoint(0, 8));  // beside the mode's centre marker
        qInfo() << "before" << before << "after" << after;
        QVERIFY2(after.red() < 160, qPrintable(after.name()));  // the new mode's density colour
    }

    void aModeIsDraggedReweightedAndRemoved() {
        m_view->setMixtureEditing(true);
        QSignalSpy edited(m_view, &TrajectoryGlView::mixtureEdited);
        const QPoint start = at(QPointF(1, 0));
        QCOMPARE(m_view->modeAt(start), 1);
        QTest::mousePress(m_view, Qt::LeftButton, {}, start);
        QCOMPARE(m_view->selectedMode(), 1);
        QTest::mouseMove(m_view, start + QPoint(20, 0));
        QTest::mouseMove(m_view, start + QPoint(40, -30));
        QTest::mouseRelease(m_view, Qt::LeftButton, {}, start + QPoint(40, -30));
        QVERIFY(edited.count() >= 1);
        const QPointF moved = m_view->mixture().means[1];
        const QPointF expected = m_view->widgetToData(QPointF(start + QPoint(40, -30)));
        QVERIFY2((moved - expected).manhattanLength() < 0.05, qPrintable(QStringLiteral("%1,%2").arg(moved.x()).arg(moved.y())));
        QCOMPARE(m_view->mixture().means[0], QPointF(-1, 0));  // the other mode stays
        QCOMPARE(m_view->mixture().means.size(), 2);           // a drag adds nothing
        m_view->setModeWeight(1, 4.0);
        m_view->setModeStd(1, 0.05);
        m_view->setModeClass(1, 0);
        m_view->setModeClass(1, 7);  // no such class: ignored
        QCOMPARE(m_view->mixture().weights[1], 4.0);
        QCOMPARE(m_view->mixture().stds[1], 0.05);
        QCOMPARE(m_view->mixture().classes[1], 0);
        // A result of an older edit keeps the user's newest mixture.
        m_view->setScene(twoModes(), false);
        QCOMPARE(m_view->mixture().weights[1], 4.0);
        QTest::keyClick(m_view, Qt::Key_Delete);
        QCOMPARE(m_view->mixture().means.size(), 1);
        QCOMPARE(m_view->selectedMode(), -1);
        m_view->removeMode(0);  // the last mode stays
        QCOMPARE(m_view->mixture().means.size(), 1);
        // A new model's scene ends the edit.
        m_view->clearScene();
        m_view->setScene(twoModes());
        QCOMPARE(m_view->mixture().means.size(), 2);
    }

    void theSelectedParticlesImagesShowAtTheHoveredStep() {
        TrajectoryGlView::Layers layers;
        layers.errors = false;  // its red would pass for the image's
        m_view->setLayers(layers);
        // Selected at t_0 (both runs start at (0, 2)), hovered at t_1 (away from the panel).
        m_view->setStep(0);
        const QPoint later = at(QPointF(1.1, 0.1));  // the DC state at t_1
        QVERIFY(!m_view->hoverAt(later).valid);     // the view shows t_0: nothing is there
        QSignalSpy hovered(m_view, &TrajectoryGlView::stateHovered);
        QTest::mouseClick(m_view, Qt::LeftButton, {}, at(QPointF(0, 2)));
        QCOMPARE(m_view->selectedParticle(), 0);
        const TrajectoryGlView::HoverInfo info = m_view->hoverAt(later);
        QVERIFY(info.valid);
        QVERIFY(info.compensatedRun);
        QCOMPARE(info.step, 1);
        QCOMPARE(info.t, 0.001);
        QTest::mouseMove(m_view, later);
        QCOMPARE(hovered.count(), 1);
        QCOMPARE(hovered.last().at(0).toInt(), 0);
        QCOMPARE(hovered.last().at(1).toInt(), 1);
        QTest::mouseMove(m_view, later + QPoint(1, 0));
        QCOMPARE(hovered.count(), 1);  // the same state: asked once
        // The answer shows in the inspector, 96 px a side.
        m_view->setOverlayVisible(true);
        QImage red(8, 8, QImage::Format_RGB32);
        red.fill(Qt::red);
        m_view->setStateImages(0, 1, {red}, {QStringLiteral("plain")});
        (void)frame();
        (void)frame();
        const QImage image = frame();
        int redPixels = 0;
        for (int y = 0; y < image.height(); ++y)
            for (int x = 0; x < image.width(); ++x) {
                const QColor c = image.pixelColor(x, y);
                redPixels += c.red() > 200 && c.green() < 40 && c.blue() < 40;
            }
        QVERIFY2(redPixels > 80 * 80, qPrintable(QString::number(redPixels)));
        // A click on empty space drops the selection.
        QTest::mouseClick(m_view, Qt::LeftButton, {}, at(QPointF(-1, 1.8)));
        QCOMPARE(m_view->selectedParticle(), -1);
    }

    void theCachedPathsFollowAZoomAtOnceAndSharpenAfterIt() {
        TrajectoryGlView::Layers layers;
        layers.density = layers.plain = layers.compensated = layers.errors = false;
        m_view->setLayers(layers);
        (void)frame();
        const QPointF anchor = m_view->dataToWidget(QPointF(0.2, 0.3));  // off the path: it moves on screen
        for (int notch = 0; notch < 3; ++notch) {
            QWheelEvent wheel(anchor, m_view->mapToGlobal(anchor), QPoint(), QPoint(0, 120), Qt::NoButton, Qt::NoModifier,
                              Qt::NoScrollPhase, false);
            QCoreApplication::sendEvent(m_view, &wheel);
        }
        // During the gesture the layer drawn before is moved and scaled: the path's pixels
        // are where the zoomed view puts the path (to within the old layer's pixel, now 1.5 px).
        for (const QPointF data : {QPointF(0.4, 1.2), QPointF(0.6, 0.8)}) {
            const QColor during = darkestNear(frame(), at(data));
            QVERIFY2(during.red() < 225, qPrintable(during.name()));
        }
        QTest::qWait(300);  // settled: redrawn sharp for the new view
        for (const QPointF data : {QPointF(0.4, 1.2), QPointF(0.6, 0.8)}) {
            const QColor after = darkestNear(frame(), at(data));
            QVERIFY2(after.red() < 215, qPrintable(after.name()));
        }
        // Far from the path stays white either way.
        QVERIFY(frame().pixelColor(at(QPointF(0.3, 0.9))).red() > 245);
    }

    void aStepShownAgainIsTheStepAndAnEditedSceneIsRedrawn() {
        // Layers are cached per step, time, scene and view: every change of one of them must
        // show, and a step shown again must look as it did the first time.
        const QImage last = frame();
        const auto isBlue = [](const QColor& c) { return c.blue() > 180 && c.red() < 100; };
        QVERIFY(isBlue(last.pixelColor(at(QPointF(1.1, 0.1)))));
        m_view->setStep(0);
        const QImage first = frame();
        QVERIFY2(!isBlue(first.pixelColor(at(QPointF(1.1, 0.1)))), "the DC marker of t_1 is still shown at t_0");
        QVERIFY(first.pixelColor(at(QPointF(0, 2))) != last.pixelColor(at(QPointF(0, 2))));  // the markers of t_0
        m_view->setStep(1);
        QCOMPARE(frame(), last);
        // Hovering (the scene is copied, not drawn) changes nothing below the overlay.
        QTest::mouseMove(m_view, at(QPointF(1.1, 0.1)));
        QCOMPARE(frame(), last);
        // A new result of the same grid: its DC state is drawn where it now is.
        TrajectoryScene edited = twoModes();
        edited.compensated = {{QPointF(0, 2), QPointF(0.6, 0.3)}};
        m_view->setScene(edited, false);
        const QImage redrawn = frame();
        QVERIFY(isBlue(redrawn.pixelColor(at(QPointF(0.6, 0.3)))));
        QVERIFY2(!isBlue(redrawn.pixelColor(at(QPointF(1.1, 0.1)))), "the old DC state is still shown");
        // Selecting a particle draws its whole paths opaque.
        m_view->setSelectedParticle(0);
        QVERIFY(frame() != redrawn);
    }

    void runLinesBuiltStepByStepAreThoseDrawnAtOnce_data() {
        QTest::addColumn<bool>("groundTruth");
        QTest::newRow("run lines alone") << false;
        QTest::newRow("over the ground-truth paths") << true;
    }

    void runLinesBuiltStepByStepAreThoseDrawnAtOnce() {
        // 60 particles over 4 steps whose plain and DC paths cross one another: a layer built
        // from the step before's (stepping forward) must equal one drawn whole (a jump), also
        // when it starts from the ground-truth paths' layer.
        QFETCH(bool, groundTruth);
        TrajectoryScene scene = twoModes();
        const int steps = 4;
        scene.times = {1.0, 0.75, 0.5, 0.25, 0.001};
        scene.alphas = {0.01, 0.3, 0.6, 0.9, 1.0};
        scene.sigmas = {1.0, 0.9, 0.7, 0.4, 0.001};
        scene.lambdas = {0, 0, 0, 0, 0};
        scene.ratios = {1, 1, 1, 1};
        scene.coarseFineIndex = {0, 10, 20, 30, kFine};
        scene.plain.clear();
        scene.compensated.clear();
        scene.groundTruth.clear();
        for (int p = 0; p < 60; ++p) {
            QVector<QPointF> plain, compensated;
            for (int k = 0; k <= steps; ++k) {
                const double angle = 0.1 * p + 1.3 * k;
                plain.append(QPointF(1.5 * std::cos(angle), 1.0 + std::sin(angle)));
                compensated.append(QPointF(1.5 * std::cos(angle + 1.6), 1.0 + std::sin(2 * angle)));
            }
            scene.plain.append(plain);
            scene.compensated.append(compensated);
            scene.groundTruth.append(plain);
        }
        scene.groundTruthFine = {scene.groundTruthFine.front()};
        TrajectoryGlView::Layers layers;
        layers.density = layers.errors = false;
        layers.groundTruth = groundTruth;
        m_view->setLayers(layers);
        m_view->setScene(scene);
        for (int k = 0; k <= steps; ++k) {
            m_view->setStep(k);
            (void)frame();
        }
        const QImage stepped = frame();
        TrajectoryGlView other;
        other.resize(m_view->size());
        other.setOverlayVisible(false);
        other.show();
        QVERIFY(QTest::qWaitForWindowExposed(&other));
        other.setLayers(layers);
        other.setScene(scene);  // shows t_S: every run line drawn at once
        QCOMPARE(other.step(), steps);
        const QImage whole = other.grabFramebuffer();
        QCOMPARE(stepped.size(), whole.size());
        int differing = 0;
        for (int y = 0; y < whole.height(); ++y)
            for (int x = 0; x < whole.width(); ++x)
                if (stepped.pixel(x, y) != whole.pixel(x, y)) ++differing;
        QCOMPARE(differing, 0);
        // And the lines are there: many pixels are neither white nor grey.
        int coloured = 0;
        for (int y = 0; y < whole.height(); y += 2)
            for (int x = 0; x < whole.width(); x += 2) {
                const QColor c = whole.pixelColor(x, y);
                if (std::abs(c.red() - c.blue()) > 20) ++coloured;
            }
        QVERIFY2(coloured > 500, qPrintable(QString::number(coloured)));
    }

    void aPanMovesTheWholeSceneAndSharpensWhenItSettles() {
        const QImage before = frame();
        const QColor marker = before.pixelColor(at(QPointF(1.1, 0.1)));
        // Held 40 px to the right: the markers and the density move with the scene at once.
        const QPoint start(250, 200);
        QTest::mousePress(m_view, Qt::LeftButton, {}, start);
        QTest::mouseMove(m_view, start + QPoint(40, 0));
        const QImage during = frame();
        QCOMPARE(during.pixelColor(at(QPointF(1.1, 0.1))), marker);
        QCOMPARE(during.pixelColor(at(QPointF(-1, 0))), before.pixelColor(at(QPointF(-1, 0)) - QPoint(40, 0)));
        QTest::mouseRelease(m_view, Qt::LeftButton, {}, start + QPoint(40, 0));
        // Settled: drawn anew for the view, which is the moved picture again.
        const QImage after = frame();
        QCOMPARE(after.pixelColor(at(QPointF(1.1, 0.1))), marker);
        int differing = 0;
        for (int y = 0; y < after.height(); y += 4)
            for (int x = 0; x < after.width() - 40; x += 4)
                if (after.pixelColor(x + 40, y) != before.pixelColor(x, y)) ++differing;
        QVERIFY2(differing < after.width() * after.height() / 16 / 50, qPrintable(QString::number(differing)));
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

    void aFittedViewStaysFittedWhenResizedUntilTheUserZooms() {
        const QList<QPointF> scenePoints{QPointF(0, 2), QPointF(1.3, 0.4), QPointF(-1, 0), QPointF(1, 0)};
        const auto showsAll = [&] {
            for (const QPointF& p : scenePoints)
                if (!m_view->viewRect().contains(p)) return false;
            return true;
        };
        QVERIFY(showsAll());
        // Narrower and taller, as a window opened at another size: the scene is fitted again.
        m_view->resize(200, 500);
        (void)frame();
        QVERIFY2(showsAll(), qPrintable(QStringLiteral("view %1 wide").arg(m_view->viewRect().width())));
        QVERIFY(m_view->viewRect().width() < 1.1 * 2.3 * 1.01);  // fitted to the width: x in [-1, 1.3]
        // Once the user zooms, a resize keeps the scale.
        const QPoint cursor = at(QPointF(0, 1));
        QWheelEvent wheel(cursor, m_view->mapToGlobal(cursor), QPoint(), QPoint(0, 120), Qt::NoButton, Qt::NoModifier,
                          Qt::NoScrollPhase, false);
        QApplication::sendEvent(m_view, &wheel);
        const double scale = m_view->viewRect().width() / m_view->width();
        m_view->resize(500, 400);
        (void)frame();
        QCOMPARE(m_view->viewRect().width() / m_view->width(), scale);
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
