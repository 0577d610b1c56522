#pragma once

#include <array>
#include <functional>
#include <memory>
#include <utility>

#include <QElapsedTimer>
#include <QImage>
#include <QStringList>
#include <QVector>
#include <QOpenGLWidget>
#include <QPointF>
#include <QRectF>
#include <QString>
#include <QTimer>

#include "trajectory_scene.h"

class GlBuffer;
class GlProgram;
class GlVertexArray;
class ImGuiBridge;
class QOpenGLFramebufferObject;
class QOpenGLFunctions_3_3_Core;
struct ImGuiContext;

/// The trajectory view of 2-D samples (OpenGL 3.3 core): the density p_t of the data
/// distribution at the shown time (closed form, in a fragment shader), the ground-truth paths at
/// every fine step, both solvers' coarse states joined per particle with the error segment to the
/// ground truth at t_k, pan (drag) and zoom (wheel, about the cursor), play/pause through time,
/// and a Dear ImGui overlay with layer toggles, the step slider, playback and a hover inspector
/// (t, lambda, alpha, sigma, rho, the Lagrange time t', each solver's error, the compensation).
/// In mixture editing the user shapes the mixture itself: a click adds a mode, a drag moves one,
/// the overlay sets the selected mode's weight, spread and class, Delete removes it; every change
/// redraws the density at once and is announced by mixtureEdited() for the app to re-sample.
/// Without a usable OpenGL 3.3 context it shows a message instead. GUI thread only.
class TrajectoryGlView : public QOpenGLWidget {
    Q_OBJECT

public:
    struct Layers {
        bool density = true;
        bool velocity = false;   ///< the probability-flow velocity field (for teaching)
        bool groundTruth = true;
        bool plain = true;
        bool compensated = true;
        bool errors = true;
    };

    /// What the inspector shows for the solver state under the mouse.
    struct HoverInfo {
        bool valid = false;
        int particle = -1;
        int step = 0;
        bool compensatedRun = false;  ///< the state is the DC run's (else the plain run's)
        double t = 0, lambda = 0, alpha = 0, sigma = 0;
        double rho = 1;               ///< the ratio of the update into t_k (1 at k = 0)
        double lagrangeTime = 0;      ///< t' = t_{k-1} + rho (t_k - t_{k-1}); t_0 at k = 0
        double plainError = 0;        ///< |plain - ground truth| at t_k for this particle
        double compensatedError = 0;
        double compensationNorm = 0;  ///< |compensated - raw model output| of that update
    };

    explicit TrajectoryGlView(QWidget* parent = nullptr);
    ~TrajectoryGlView() override;

    /// Replaces what is drawn; fits the view to it when `fit` (else keeps pan and zoom).
    void setScene(const TrajectoryScene& scene, bool fit = true);
    const TrajectoryScene& scene() const { return m_scene; }
    void clearScene();

    /// The coarse step shown (0..S); also the time of the density. Emits nothing.
    void setStep(int step);
    int step() const;
    void setPlaying(bool playing);
    bool isPlaying() const { return m_playTimer.isActive(); }
    /// Coarse steps per second while playing.
    void setSpeed(double stepsPerSecond) { m_speed = stepsPerSecond; }
    double speed() const { return m_speed; }

    Layers& layers() { return m_layers; }
    void setLayers(const Layers& layers);

    /// The data rectangle shown (x right, y up), at equal scale on both axes.
    QRectF viewRect() const;
    /// Centres and scales the view on everything in the scene. The view stays fitted when the
    /// widget is resized, until the user pans or zooms.
    void fitToScene();
    QPointF dataToWidget(const QPointF& data) const;
    QPointF widgetToData(const QPointF& position) const;

    /// The direction samples move in as t decreases (minus the probability-flow velocity) at
    /// `data` and fine index `fine`, from the closed-form score of the mixture; (0, 0) without
    /// a density or the SDE coefficients.
    QPointF samplingVelocity(const QPointF& data, int fine) const;

    /// The inspector's values for the solver state nearest to `position` (within 12 px) at the
    /// shown step, or, for the selected particle, at any step; or an invalid HoverInfo.
    HoverInfo hoverAt(const QPointF& position) const;
    /// The inspector's text for `info` (as the overlay shows it).
    static QString describe(const HoverInfo& info, const TrajectoryScene& scene);

    /// Mixture editing (see the class comment). The mixture is the scene's density; an edited one
    /// is kept across later setScene() calls (results of older edits) until clearScene().
    void setMixtureEditing(bool editing);
    bool isMixtureEditing() const { return m_editingMixture; }
    const MixtureDensity& mixture() const { return m_scene.density; }
    int selectedMode() const { return m_selectedMode; }
    /// Selects a mode for the overlay's weight, spread and class controls (-1: none).
    void setSelectedMode(int mode);
    /// The mode whose centre is within 10 px of `position`, or -1.
    int modeAt(const QPointF& position) const;
    /// Edits as the mouse and the overlay make them; each emits mixtureEdited(). addMode copies
    /// the selected mode's weight, spread and class (or the mixture's first) and selects the new
    /// mode; removeMode keeps at least one.
    int addMode(const QPointF& data);
    void moveMode(int mode, const QPointF& data);
    void setModeWeight(int mode, double weight);
    void setModeStd(int mode, double std);
    void setModeClass(int mode, int classIndex);
    void removeMode(int mode);

    /// The particle whose states at every step can be hovered (a click on a state selects it;
    /// -1: none). Its whole solver paths are drawn.
    void setSelectedParticle(int particle);
    int selectedParticle() const { return m_selectedParticle; }
    /// Images of the selected particle at `step` (e.g. plain, DC and ground truth), shown in the
    /// inspector while that state is hovered: the answer to stateHovered().
    void setStateImages(int particle, int step, const QVector<QImage>& images, const QStringList& captions);

    /// Why nothing is drawn (no OpenGL 3.3 context, a shader that does not build); empty when
    /// the view works.
    QString glProblem() const { return m_problem; }
    /// Whether the Dear ImGui overlay is drawn (on by default).
    void setOverlayVisible(bool visible);
    bool isOverlayVisible() const { return m_overlayVisible; }
    /// Median and largest frame time of the frames drawn so far, in ms (for the README figures).
    double medianFrameMs() const;
    double worstFrameMs() const;
    void resetFrameTimes() { m_frameTimes.clear(); }

    QSize sizeHint() const override { return QSize(640, 480); }
    QSize minimumSizeHint() const override { return QSize(200, 150); }

Q_SIGNALS:
    /// The user (overlay slider or playback) moved to another step.
    void stepChanged(int step);
    /// A solver state was clicked (not dragged): its particle and the step shown.
    void stateClicked(int particle, int step);
    /// The mouse is over a state of the selected particle at `step` (emitted when that changes).
    void stateHovered(int particle, int step);
    /// The user changed the mixture (added, moved, reweighted, respread, reclassed or removed a mode).
    void mixtureEdited(const MixtureDensity& mixture);
    void mixtureEditingChanged(bool editing);

protected:
    void initializeGL() override;
    void resizeGL(int width, int height) override;
    void paintGL() override;
    void mousePressEvent(QMouseEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;
    void mouseReleaseEvent(QMouseEvent* event) override;
    void wheelEvent(QWheelEvent* event) override;
    void keyPressEvent(QKeyEvent* event) override;
    void keyReleaseEvent(QKeyEvent* event) override;
    void leaveEvent(QEvent* event) override;

private:
    struct GlState;
    void releaseGl();
    /// How a drawing lands on the framebuffer it goes to: over the opaque view (its alpha stays
    /// 1) or into a cached transparent layer (premultiplied colour, alpha accumulates).
    enum class Target { View, Layer };
    enum class Compose { Opaque, Over };
    void useStrokeBuffer(unsigned int buffer);
    void setStrokeBlending(Target target);
    void bindTarget(unsigned int framebuffer);
    void uploadGroundTruthPaths();
    bool gestureInProgress() const;
    /// Everything below the mode handles and the overlay, into the framebuffer bound, from the
    /// cached layers (drawn into them on a miss).
    void drawScene();
    /// What the scene shows apart from the view.
    QString sceneState() const;
    QString viewKey() const;  ///< the pan, the zoom and the size in pixels
    /// Where a layer drawn for the view at `centre` and `unitsPerPixel` lies now (scale x, y,
    /// offset x, y in clip units).
    std::array<float, 4> placementOf(const QPointF& centre, double unitsPerPixel) const;
    bool densityShown() const;
    std::pair<double, double> densityCoefficients() const;  ///< alpha and sigma at the shown time
    /// The density layer's texture at alpha and sigma, from a per-time cache (a coarser grid
    /// than the view's pixels, filtered up); the cache's keys.
    unsigned int densityLayer(double alpha, double sigma);
    QString densityContent() const;
    int densityDownsample(double alpha, double sigma) const;  ///< the density grid's pixels per texel side at a time
    static QString densityTime(double alpha, double sigma);
    void renderDensity(double alpha, double sigma);
    /// Draws a cached layer texture over the framebuffer bound; `placement` (scale x, y, offset
    /// x, y in clip units) moves a layer drawn for another view.
    void composeLayer(unsigned int texture, Compose compose, Target target, const std::array<float, 4>& placement = {1, 1, 0, 0});
    /// The solver layers over the density (0: none) in one pass, opaque.
    void composeScene(unsigned int density, unsigned int solvers, const std::array<float, 4>& placement = {1, 1, 0, 0});
    void useStrokeProgram();
    /// Draws `count` stroke vertices: the first `lines` of them as segments, the rest as markers.
    void drawStrokeVertices(const void* vertices, int count, int lines);
    void drawVelocityField();
    /// Binds `layer` to draw into (premultiplied), starting from a copy of `start`, or
    /// transparent when it is null.
    void beginLayer(QOpenGLFramebufferObject* layer, QOpenGLFramebufferObject* start);
    /// The faint lines joining both runs' states from step `from` to step `to`.
    void drawRunLines(int from, int to);
    /// Binds `layer` to draw into, starting from the ground-truth paths (every fine segment, drawn
    /// once per scene and view into a layer of their own) when they are shown.
    void beginLayerWithPaths(QOpenGLFramebufferObject* layer);
    /// Over the ground-truth paths, the run lines up to `step`, from a cache, built from the step
    /// before's when it is kept.
    QOpenGLFramebufferObject* runLineLayer(int step);
    /// Over the run lines: the selected particle's paths, the error segments and the markers at
    /// the shown step.
    void drawSolverLayers();
    /// The solver layers' texture at the shown step, from a per-step cache (transparent,
    /// premultiplied); the cache's content key.
    unsigned int solverLayer();
    QString solverContent() const;
    QString solverLayersState() const;
    void drawModeHandles();
    void drawMixtureEditor();
    void editMixture(const std::function<void(MixtureDensity&)>& change);
    void drawOverlay();
    void drawProblem();
    void advancePlayback();
    void setFineIndex(double fineIndex, bool byUser);
    int stepOfFineIndex(double fineIndex) const;
    double pixelsPerUnit() const;

    TrajectoryScene m_scene;
    Layers m_layers;
    double m_fineIndex = 0.0;      // position along the fine grid (playback moves it smoothly)
    QPointF m_centre;              // data point at the widget's centre
    double m_unitsPerPixel = 0.01;
    double m_speed = 2.0;
    QTimer m_playTimer;
    QTimer m_settleTimer;          // redraws sharp once a pan or zoom gesture settles
    QElapsedTimer m_gestureClock;  // since the last pan or zoom event
    QElapsedTimer m_playClock;
    QPointF m_dragStart;
    QPointF m_centreAtDragStart;
    bool m_dragging = false;
    bool m_fitted = false;  // the view is fitToScene()'s, not panned or zoomed by the user since
    QPointF m_mouse{-1, -1};
    QString m_problem;
    bool m_overlayVisible = true;
    int m_selectedParticle = -1;
    int m_hoveredParticle = -1;    // the state stateHovered() last named
    int m_hoveredStep = -1;
    struct StateImages {
        int particle = -1;
        int step = -1;
        QVector<QImage> images;
        QStringList captions;
        bool uploaded = false;
    } m_stateImages;
    bool m_editingMixture = false;
    bool m_hasEditedMixture = false;
    MixtureDensity m_editedMixture;
    int m_selectedMode = -1;
    int m_draggedMode = -1;
    QPointF m_modeDragOffset;      // data offset from the cursor to the dragged mode's centre
    bool m_pathsDirty = true;
    int m_pathsVersion = 0;    // bumped at every upload: the cached path layer is redrawn
    int m_densityVersion = 0;  // bumped whenever the mixture changes: the cached density is redrawn
    int m_sceneVersion = 0;    // bumped at every setScene: the cached solver layers are redrawn
    unsigned int m_target = 0; // the framebuffer drawn into (the view's, or a cached layer's)
    std::vector<double> m_frameTimes;
    QOpenGLFunctions_3_3_Core* m_gl = nullptr;
    std::unique_ptr<GlState> m_glState;
    ImGuiContext* m_imgui = nullptr;
    std::unique_ptr<ImGuiBridge> m_bridge;
    QMetaObject::Connection m_contextConnection;
};
