#include "trajectory_gl_view.h"

#include <QMouseEvent>
#include <QOpenGLContext>
#include <QOpenGLFramebufferObject>
#include <QOpenGLVersionFunctionsFactory>
#include <QPainter>
#include <QWheelEvent>

#include <imgui.h>
#include <imgui_impl_opengl3.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <vector>

#include "gl_objects.h"
#include "imgui_bridge.h"

namespace {

constexpr int kMaxModes = 64;  // density.frag's uniform arrays
constexpr double kHoverRadius = 12.0;
constexpr double kZoomPerNotch = 1.15;
constexpr int kPlayIntervalMs = 16;
// The density is evaluated on a grid this many times coarser per side and filtered up: it is
// smooth at every scale the view can show (the narrowest mode is kMinModeStd wide), and on a
// software renderer it is the most expensive layer at full resolution (about 10 ms at 800x800).
constexpr int kDensityDownsample = 2;
constexpr int kCoarseDensityDownsample = 4;  // while a mode is dragged, and where the density is smooth
// A Gaussian whose standard deviation spans this many device pixels is drawn as smoothly from a
// grid of texels 4 pixels apart, filtered up, as from one 2 apart: at most times of a run every
// mode is that wide, and the grid costs a quarter.
constexpr double kSmoothDensityPixels = 8.0;
constexpr int kGestureSettleMs = 150;  // after the last pan or zoom event the scene is drawn sharp
// Layer textures kept per content: more than the steps of a usual run, so scrubbing through all
// of them draws each once (a scene layer is the view's size, a density layer a quarter of it or less).
constexpr size_t kCachedLayers = 16;
// Solver layers are drawn again only when the density under them changes at the same step (a
// mode dragged, playback between two t_k): the scene layers hold every step seen.
constexpr size_t kCachedSolverLayers = 4;
constexpr size_t kCachedRunLineLayers = 3;  // the step before is all a new step needs
// At most this much memory per cache: a large view keeps fewer layers (16 at 800x800, 3 at 3840x2160).
constexpr size_t kLayerCacheBytes = size_t(128) << 20;

struct Rgba {
    float r, g, b, a;
};
const Rgba kGroundTruthColour{0.25f, 0.25f, 0.25f, 0.45f};
const Rgba kPlainColour{230 / 255.f, 134 / 255.f, 46 / 255.f, 1.0f};
const Rgba kCompensatedColour{46 / 255.f, 123 / 255.f, 230 / 255.f, 1.0f};
const Rgba kErrorColour{0.85f, 0.1f, 0.15f, 0.9f};
const Rgba kVelocityColour{0.15f, 0.55f, 0.35f, 0.8f};
const Rgba kModeColour{0.1f, 0.1f, 0.1f, 0.9f};
const Rgba kSelectedModeColour{0.8f, 0.1f, 0.55f, 1.0f};
constexpr double kModeGrabRadius = 10.0;
constexpr int kRingSegments = 48;
constexpr double kMinModeStd = 0.005;
constexpr double kMinModeWeight = 1e-3;
constexpr int kVelocityGrid = 24;  // arrows per side of the view
const float kDensityLow[3] = {1.0f, 1.0f, 1.0f};
const float* const kBackground = kDensityLow;  // the view's colour where nothing is drawn
const float kDensityHigh[3] = {0.42f, 0.30f, 0.62f};

struct Vertex {
    float x, y;
    Rgba colour;
};

/// Column-major 3x3 for uniform mat3: maps (x, y, 1) by scale and offset.
std::array<float, 9> affine(double scaleX, double scaleY, double offsetX, double offsetY) {
    return {float(scaleX), 0, 0, 0, float(scaleY), 0, float(offsetX), float(offsetY), 1};
}

/// Cached layers of one content (scene, view, mixture), one framebuffer per index (the step or
/// the time shown). A miss drops the layers of any other content, which are never shown again,
/// and the least recently used beyond its capacity; their framebuffers are kept as spares and
/// reused, as allocating one costs about 2 ms at 800x800 on a software renderer.
class LayerCache {
public:
    /// `linear`: its layers are filtered when scaled.
    LayerCache(size_t capacity, bool linear) : m_capacity(std::max<size_t>(capacity, 2)), m_linear(linear) {}

    /// The layer of `content` at `index`, or null.
    QOpenGLFramebufferObject* find(const QString& content, const QString& index) {
        for (Entry& entry : m_entries)
            if (entry.content == content && entry.index == index) {
                entry.lastUse = ++m_clock;
                return entry.framebuffer.get();
            }
        return nullptr;
    }

    /// A layer of `size` to draw `content` at `index` into.
    QOpenGLFramebufferObject* insert(QOpenGLFunctions_3_3_Core* gl, const QString& content, const QString& index, QSize size) {
        ++m_inserts;
        m_lastSize = size;
        const auto drop = [&](std::vector<Entry>::iterator entry) {
            m_spare.push_back(std::move(entry->framebuffer));
            return m_entries.erase(entry);
        };
        for (auto entry = m_entries.begin(); entry != m_entries.end();) entry = entry->content != content ? drop(entry) : entry + 1;
        while (m_entries.size() >= capacity(size))
            drop(std::min_element(m_entries.begin(), m_entries.end(), [](const Entry& a, const Entry& b) { return a.lastUse < b.lastUse; }));
        Entry entry{content, index, nullptr, ++m_clock};
        const auto spare = std::find_if(m_spare.begin(), m_spare.end(), [&](const auto& framebuffer) { return framebuffer->size() == size; });
        if (spare != m_spare.end()) {
            entry.framebuffer = std::move(*spare);
            m_spare.erase(spare);
        } else {
            entry.framebuffer = allocate(gl, size);
        }
        m_entries.push_back(std::move(entry));
        // Spares of a size no layer has (the view was resized) are never used again; beyond the
        // capacity, spares of other sizes go first.
        const auto inUse = [&](const auto& spare) {
            return std::any_of(m_entries.begin(), m_entries.end(), [&](const Entry& e) { return e.framebuffer->size() == spare->size(); });
        };
        m_spare.erase(std::remove_if(m_spare.begin(), m_spare.end(), [&](const auto& spare) { return !inUse(spare); }), m_spare.end());
        while (!m_spare.empty() && m_entries.size() + m_spare.size() > capacity(size)) {
            const auto other = std::find_if(m_spare.begin(), m_spare.end(), [&](const auto& spare) { return spare->size() != size; });
            m_spare.erase(other != m_spare.end() ? other : m_spare.begin());
        }
        return m_entries.back().framebuffer.get();
    }

    /// Allocates one spare layer of the size last inserted while the cache is below its
    /// capacity, so that later misses find one; whether it did.
    bool growSpares(QOpenGLFunctions_3_3_Core* gl) {
        if (m_lastSize.isEmpty() || m_entries.size() + m_spare.size() >= capacity(m_lastSize)) return false;
        m_spare.push_back(allocate(gl, m_lastSize));
        return true;
    }

    /// How many layers were drawn anew so far.
    qint64 inserts() const { return m_inserts; }

private:
    struct Entry {
        QString content;
        QString index;
        std::unique_ptr<QOpenGLFramebufferObject> framebuffer;
        qint64 lastUse = 0;
    };

    size_t capacity(QSize size) const {
        const size_t layerBytes = size_t(std::max(1, size.width())) * size_t(std::max(1, size.height())) * 4;
        return std::min(m_capacity, std::max<size_t>(2, kLayerCacheBytes / layerBytes));
    }

    std::unique_ptr<QOpenGLFramebufferObject> allocate(QOpenGLFunctions_3_3_Core* gl, QSize size) const {
        auto framebuffer = std::make_unique<QOpenGLFramebufferObject>(size);
        gl->glBindTexture(GL_TEXTURE_2D, framebuffer->texture());
        gl->glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, m_linear ? GL_LINEAR : GL_NEAREST);
        gl->glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, m_linear ? GL_LINEAR : GL_NEAREST);
        gl->glBindTexture(GL_TEXTURE_2D, 0);
        return framebuffer;
    }

    size_t m_capacity;
    bool m_linear;
    std::vector<Entry> m_entries;
    std::vector<std::unique_ptr<QOpenGLFramebufferObject>> m_spare;
    QSize m_lastSize;
    qint64 m_clock = 0;
    qint64 m_inserts = 0;
};

/// Copies `from` into `to` (the same size): memory copied, no pass of a shader.
void copyFramebuffer(QOpenGLFunctions_3_3_Core* gl, GLuint from, GLuint to, QSize size) {
    gl->glBindFramebuffer(GL_READ_FRAMEBUFFER, from);
    gl->glBindFramebuffer(GL_DRAW_FRAMEBUFFER, to);
    gl->glBlitFramebuffer(0, 0, size.width(), size.height(), 0, 0, size.width(), size.height(), GL_COLOR_BUFFER_BIT, GL_NEAREST);
}

}  // namespace

/// Every GL object of the view, created in initializeGL and deleted with the context current.
struct TrajectoryGlView::GlState {
    GlProgram density;
    GlProgram strokes;
    GlProgram layer;
    GlProgram scene;
    // The ground-truth paths, drawn once per scene, pan and zoom into a texture: every run-line
    // layer starts from a copy of it instead of every fine segment again.
    std::unique_ptr<QOpenGLFramebufferObject> pathLayer;
    QPointF pathLayerCentre;        // the view it was drawn for
    double pathLayerUnitsPerPixel = 0;
    int pathLayerVersion = -1;
    // The density, drawn into a coarser texture once per time, mixture, pan and zoom.
    LayerCache densityLayers{kCachedLayers, true};
    // The solver layers (transparent, premultiplied), one texture per step shown, kept while the
    // scene, the view and the layers stay: playback and a dragged mode redraw only the density
    // under them.
    LayerCache solverLayers{kCachedSolverLayers, false};
    // The ground-truth paths and over them the faint lines of both runs up to a step (the part of
    // a solver layer that the markers and error segments lie on): the next step's are these plus
    // one segment per particle and run, so stepping or playing forward draws 2 x particles
    // segments per new step, and copies memory, instead of every line and a textured pass.
    LayerCache runLineLayers{kCachedRunLineLayers, false};
    // The scene composed (everything below the mode handles and the overlay), one per state
    // shown: a frame in which only the mouse or the panel changed (hovering, the inspector), or
    // that shows a step or time seen before, copies it; a pan or zoom moves and scales the last
    // one drawn until the gesture settles.
    LayerCache sceneLayers{kCachedLayers, false};
    QOpenGLFramebufferObject* lastSceneLayer = nullptr;  // in sceneLayers, or gone with an insert
    QString lastSceneState;  // sceneState() when drawn
    QPointF lastSceneCentre;  // and its view
    double lastSceneUnitsPerPixel = 0;
    GlVertexArray quadArray;
    GlBuffer quadBuffer;
    GlVertexArray pathArray;
    GlBuffer pathBuffer;
    std::vector<GLint> pathFirst;    // one line strip per particle
    std::vector<GLsizei> pathCount;
    std::vector<GlTexture> stateTextures;  // the hovered state's images (setStateImages)
    GlVertexArray dynamicArray;
    GlBuffer dynamicBuffer;
    bool imguiReady = false;
};

TrajectoryGlView::TrajectoryGlView(QWidget* parent) : QOpenGLWidget(parent) {
    setMouseTracking(true);
    setFocusPolicy(Qt::StrongFocus);
    QSurfaceFormat format;
    format.setVersion(3, 3);
    format.setProfile(QSurfaceFormat::CoreProfile);
    setFormat(format);
    m_playTimer.setInterval(kPlayIntervalMs);
    connect(&m_playTimer, &QTimer::timeout, this, &TrajectoryGlView::advancePlayback);
    m_settleTimer.setSingleShot(true);
    m_settleTimer.setInterval(kGestureSettleMs + 10);
    connect(&m_settleTimer, &QTimer::timeout, this, qOverload<>(&TrajectoryGlView::update));
}

TrajectoryGlView::~TrajectoryGlView() {
    // The base class destroys the context after this destructor: its signal must not call back
    // into a half-destroyed view.
    disconnect(m_contextConnection);
    makeCurrent();
    releaseGl();
    doneCurrent();
}

void TrajectoryGlView::releaseGl() {
    if (m_imgui) {
        ImGui::SetCurrentContext(m_imgui);
        if (m_glState && m_glState->imguiReady) ImGui_ImplOpenGL3_Shutdown();
        ImGui::DestroyContext(m_imgui);
        m_imgui = nullptr;
    }
    m_bridge.reset();
    m_glState.reset();
}

void TrajectoryGlView::initializeGL() {
    m_problem.clear();
    const QSurfaceFormat actual = context() ? context()->format() : QSurfaceFormat();
    if (!context() || !context()->isValid() || actual.version() < qMakePair(3, 3)) {
        m_problem = tr("The trajectory view needs OpenGL 3.3 (this display offers %1.%2): the rest of the window works without it.")
                        .arg(actual.majorVersion())
                        .arg(actual.minorVersion());
        return;
    }
    m_gl = QOpenGLVersionFunctionsFactory::get<QOpenGLFunctions_3_3_Core>(context());
    if (!m_gl || !m_gl->initializeOpenGLFunctions()) {
        m_problem = tr("The trajectory view could not load the OpenGL 3.3 functions.");
        return;
    }
    // A context replaced while the view lives (e.g. re-parenting) takes our objects with it.
    disconnect(m_contextConnection);
    m_contextConnection = connect(context(), &QOpenGLContext::aboutToBeDestroyed, this, [this] {
        makeCurrent();
        releaseGl();
        doneCurrent();
    });
    try {
        auto state = std::make_unique<GlState>();
        state->density = GlProgram(m_gl, QStringLiteral("density.vert"), readShaderSource(QStringLiteral(":/shaders/density.vert")),
                                   QStringLiteral("density.frag"), readShaderSource(QStringLiteral(":/shaders/density.frag")));
        state->strokes = GlProgram(m_gl, QStringLiteral("strokes.vert"), readShaderSource(QStringLiteral(":/shaders/strokes.vert")),
                                   QStringLiteral("strokes.frag"), readShaderSource(QStringLiteral(":/shaders/strokes.frag")));
        state->layer = GlProgram(m_gl, QStringLiteral("layer.vert"), readShaderSource(QStringLiteral(":/shaders/layer.vert")),
                                 QStringLiteral("layer.frag"), readShaderSource(QStringLiteral(":/shaders/layer.frag")));
        state->scene = GlProgram(m_gl, QStringLiteral("layer.vert"), readShaderSource(QStringLiteral(":/shaders/layer.vert")),
                                 QStringLiteral("scene.frag"), readShaderSource(QStringLiteral(":/shaders/scene.frag")));
        state->quadArray = GlVertexArray(m_gl);
        state->quadBuffer = GlBuffer(m_gl);
        const float corners[] = {-1, -1, 1, -1, -1, 1, 1, 1};
        m_gl->glBindVertexArray(state->quadArray.name());
        m_gl->glBindBuffer(GL_ARRAY_BUFFER, state->quadBuffer.name());
        m_gl->glBufferData(GL_ARRAY_BUFFER, sizeof corners, corners, GL_STATIC_DRAW);
        m_gl->glEnableVertexAttribArray(0);
        m_gl->glVertexAttribPointer(0, 2, GL_FLOAT, GL_FALSE, 0, nullptr);
        for (auto* pair : {&state->pathArray, &state->dynamicArray}) *pair = GlVertexArray(m_gl);
        state->pathBuffer = GlBuffer(m_gl);
        state->dynamicBuffer = GlBuffer(m_gl);
        const std::pair<GLuint, GLuint> arrays[] = {{state->pathArray.name(), state->pathBuffer.name()},
                                                    {state->dynamicArray.name(), state->dynamicBuffer.name()}};
        for (const auto& [array, buffer] : arrays) {
            m_gl->glBindVertexArray(array);
            m_gl->glBindBuffer(GL_ARRAY_BUFFER, buffer);
            m_gl->glEnableVertexAttribArray(0);
            m_gl->glVertexAttribPointer(0, 2, GL_FLOAT, GL_FALSE, sizeof(Vertex), nullptr);
            m_gl->glEnableVertexAttribArray(1);
            m_gl->glVertexAttribPointer(1, 4, GL_FLOAT, GL_FALSE, sizeof(Vertex), reinterpret_cast<void*>(2 * sizeof(float)));
        }
        m_gl->glBindVertexArray(0);
        m_glState = std::move(state);
    } catch (const GlError& error) {
        m_problem = QString::fromStdString(error.what());
        return;
    }
    m_imgui = ImGui::CreateContext();
    ImGui::SetCurrentContext(m_imgui);
    ImGui::GetIO().IniFilename = nullptr;  // no imgui.ini beside the user's files
    ImGui::StyleColorsLight();
    m_bridge = std::make_unique<ImGuiBridge>(m_imgui);
    m_glState->imguiReady = ImGui_ImplOpenGL3_Init("#version 330 core");
    m_pathsDirty = true;
}

void TrajectoryGlView::resizeGL(int, int) {
    // A window that opens at another size than it was fitted at (or is resized) still shows
    // the whole scene.
    if (m_fitted) fitToScene();
}

void TrajectoryGlView::setScene(const TrajectoryScene& scene, bool fit) {
    // A new result of the same grid (an edited ratio) keeps the step shown; another grid shows t_S.
    const int previousStep = step();
    const bool sameGrid = scene.times == m_scene.times && !m_scene.times.isEmpty();
    m_scene = scene;
    // A result of an older edit (or of the model before the edits) shows the user's newest mixture.
    if (m_hasEditedMixture) m_scene.density = m_editedMixture;
    ++m_densityVersion;
    ++m_sceneVersion;
    if (m_selectedMode >= m_scene.density.means.size()) m_selectedMode = -1;
    if (m_selectedParticle >= m_scene.particles()) m_selectedParticle = -1;
    // New states, new images: the next hover asks again.
    m_hoveredParticle = m_hoveredStep = -1;
    m_stateImages = StateImages{};
    m_pathsDirty = true;
    setStep(sameGrid ? previousStep : std::max(0, m_scene.steps()));
    if (fit) fitToScene();
    update();
}

void TrajectoryGlView::clearScene() {
    m_hasEditedMixture = false;
    m_selectedParticle = -1;
    m_selectedMode = m_draggedMode = -1;
    setScene(TrajectoryScene{}, false);
}

void TrajectoryGlView::setSelectedParticle(int particle) {
    m_selectedParticle = particle >= 0 && particle < m_scene.particles() ? particle : -1;
    update();
}

void TrajectoryGlView::setStateImages(int particle, int step, const QVector<QImage>& images, const QStringList& captions) {
    m_stateImages = StateImages{particle, step, images, captions, false};
    update();
}

void TrajectoryGlView::setMixtureEditing(bool editing) {
    editing = editing && m_scene.density.isValid();
    if (editing == m_editingMixture) return;
    m_editingMixture = editing;
    m_draggedMode = -1;
    if (!editing) m_selectedMode = -1;
    Q_EMIT mixtureEditingChanged(editing);
    update();
}

void TrajectoryGlView::setSelectedMode(int mode) {
    m_selectedMode = m_editingMixture && mode >= 0 && mode < m_scene.density.means.size() ? mode : -1;
    update();
}

int TrajectoryGlView::modeAt(const QPointF& position) const {
    int found = -1;
    double best = kModeGrabRadius;
    for (int i = 0; i < m_scene.density.means.size(); ++i) {
        const QPointF delta = dataToWidget(m_scene.density.means[i]) - position;
        const double distance = std::hypot(delta.x(), delta.y());
        if (distance <= best) {
            best = distance;
            found = i;
        }
    }
    return found;
}

void TrajectoryGlView::editMixture(const std::function<void(MixtureDensity&)>& change) {
    MixtureDensity mixture = m_scene.density;
    change(mixture);
    if (mixture == m_scene.density) return;
    m_scene.density = mixture;
    ++m_densityVersion;
    m_editedMixture = mixture;
    m_hasEditedMixture = true;
    update();
    Q_EMIT mixtureEdited(mixture);
}

int TrajectoryGlView::addMode(const QPointF& data) {
    if (!m_scene.density.isValid() || m_scene.density.means.size() >= kMaxModes) return -1;
    const MixtureDensity& current = m_scene.density;
    const int like = m_selectedMode >= 0 ? m_selectedMode : 0;
    editMixture([&](MixtureDensity& mixture) {
        mixture.means.append(data);
        mixture.weights.append(current.weights[like]);
        mixture.stds.append(current.stds[like]);
        if (mixture.classes.size() == current.means.size())
            mixture.classes.append(like < current.classes.size() ? current.classes[like] : 0);
    });
    m_selectedMode = int(m_scene.density.means.size()) - 1;
    return m_selectedMode;
}

void TrajectoryGlView::moveMode(int mode, const QPointF& data) {
    if (mode < 0 || mode >= m_scene.density.means.size()) return;
    editMixture([&](MixtureDensity& mixture) { mixture.means[mode] = data; });
}

void TrajectoryGlView::setModeWeight(int mode, double weight) {
    if (mode < 0 || mode >= m_scene.density.means.size() || !std::isfinite(weight)) return;
    editMixture([&](MixtureDensity& mixture) { mixture.weights[mode] = std::max(weight, kMinModeWeight); });
}

void TrajectoryGlView::setModeStd(int mode, double std) {
    if (mode < 0 || mode >= m_scene.density.means.size() || !std::isfinite(std)) return;
    editMixture([&](MixtureDensity& mixture) { mixture.stds[mode] = std::max(std, kMinModeStd); });
}

void TrajectoryGlView::setModeClass(int mode, int classIndex) {
    if (mode < 0 || mode >= m_scene.density.means.size() || classIndex < 0) return;
    if (!m_scene.density.labels.isEmpty() && classIndex >= m_scene.density.labels.size()) return;
    editMixture([&](MixtureDensity& mixture) {
        if (mixture.classes.size() != mixture.means.size()) mixture.classes = QVector<int>(mixture.means.size(), 0);
        mixture.classes[mode] = classIndex;
    });
}

void TrajectoryGlView::removeMode(int mode) {
    if (mode < 0 || mode >= m_scene.density.means.size() || m_scene.density.means.size() <= 1) return;
    editMixture([&](MixtureDensity& mixture) {
        mixture.means.remove(mode);
        mixture.weights.remove(mode);
        mixture.stds.remove(mode);
        if (mode < mixture.classes.size()) mixture.classes.remove(mode);
    });
    m_selectedMode = -1;
    m_draggedMode = -1;
}

int TrajectoryGlView::stepOfFineIndex(double fineIndex) const {
    const auto& coarse = m_scene.coarseFineIndex;
    int step = 0;
    for (int k = 0; k < coarse.size(); ++k)
        if (coarse[k] <= fineIndex + 1e-9) step = k;
    return step;
}

int TrajectoryGlView::step() const {
    if (m_scene.coarseFineIndex.isEmpty()) return std::clamp(int(std::lround(m_fineIndex)), 0, std::max(0, m_scene.steps()));
    return stepOfFineIndex(m_fineIndex);
}

void TrajectoryGlView::setStep(int step) {
    const int clamped = std::clamp(step, 0, std::max(0, m_scene.steps()));
    m_fineIndex = clamped < m_scene.coarseFineIndex.size() ? m_scene.coarseFineIndex[clamped] : clamped;
    update();
}

void TrajectoryGlView::setFineIndex(double fineIndex, bool byUser) {
    const int before = step();
    const double last = m_scene.fineTimes.isEmpty() ? std::max(0, m_scene.steps()) : m_scene.fineTimes.size() - 1;
    m_fineIndex = std::clamp(fineIndex, 0.0, last);
    if (byUser && step() != before) Q_EMIT stepChanged(step());
    update();
}

void TrajectoryGlView::setPlaying(bool playing) {
    if (playing == isPlaying()) return;
    if (playing) {
        // From the end, play starts again at the noise.
        const double last = m_scene.fineTimes.isEmpty() ? std::max(0, m_scene.steps()) : m_scene.fineTimes.size() - 1;
        if (m_fineIndex >= last) setFineIndex(0, true);
        m_playClock.start();
        m_playTimer.start();
    } else {
        m_playTimer.stop();
    }
    update();
}

void TrajectoryGlView::advancePlayback() {
    const double seconds = m_playClock.restart() / 1000.0;
    const int steps = std::max(1, m_scene.steps());
    const double finePerStep = m_scene.fineTimes.isEmpty() ? 1.0 : double(m_scene.fineTimes.size() - 1) / steps;
    const double last = m_scene.fineTimes.isEmpty() ? steps : m_scene.fineTimes.size() - 1;
    setFineIndex(m_fineIndex + m_speed * finePerStep * seconds, true);
    if (m_fineIndex >= last) setPlaying(false);
}

void TrajectoryGlView::setLayers(const Layers& layers) {
    m_layers = layers;
    update();
}

void TrajectoryGlView::setOverlayVisible(bool visible) {
    m_overlayVisible = visible;
    update();
}

double TrajectoryGlView::pixelsPerUnit() const { return 1.0 / m_unitsPerPixel; }

QRectF TrajectoryGlView::viewRect() const {
    const double w = width() * m_unitsPerPixel, h = height() * m_unitsPerPixel;
    return QRectF(m_centre.x() - w / 2, m_centre.y() - h / 2, w, h);
}

void TrajectoryGlView::fitToScene() {
    double minX = std::numeric_limits<double>::infinity(), maxX = -minX, minY = minX, maxY = -minX;
    const auto include = [&](const QPointF& p) {
        if (!std::isfinite(p.x()) || !std::isfinite(p.y())) return;
        minX = std::min(minX, p.x());
        maxX = std::max(maxX, p.x());
        minY = std::min(minY, p.y());
        maxY = std::max(maxY, p.y());
    };
    for (const auto* paths : {&m_scene.groundTruthFine, &m_scene.groundTruth, &m_scene.plain, &m_scene.compensated})
        for (const auto& path : *paths)
            for (const QPointF& p : path) include(p);
    for (const QPointF& mean : m_scene.density.means) include(mean);
    if (!std::isfinite(minX)) {
        minX = minY = -1;
        maxX = maxY = 1;
    }
    m_centre = QPointF((minX + maxX) / 2, (minY + maxY) / 2);
    const double margin = 1.1;
    m_unitsPerPixel = margin * std::max({(maxX - minX) / std::max(1, width()), (maxY - minY) / std::max(1, height()), 1e-6});
    m_fitted = true;
    update();
}

QPointF TrajectoryGlView::dataToWidget(const QPointF& data) const {
    return QPointF(width() / 2.0 + (data.x() - m_centre.x()) * pixelsPerUnit(),
                   height() / 2.0 - (data.y() - m_centre.y()) * pixelsPerUnit());
}

QPointF TrajectoryGlView::widgetToData(const QPointF& position) const {
    return QPointF(m_centre.x() + (position.x() - width() / 2.0) * m_unitsPerPixel,
                   m_centre.y() - (position.y() - height() / 2.0) * m_unitsPerPixel);
}

TrajectoryGlView::HoverInfo TrajectoryGlView::hoverAt(const QPointF& position) const {
    HoverInfo info;
    int k = step();
    double best = kHoverRadius;
    const auto consider = [&](const QVector<QVector<QPointF>>& states, bool compensatedRun, int p, int j) {
        if (p >= states.size() || j >= states[p].size()) return;
        const QPointF delta = dataToWidget(states[p][j]) - position;
        const double distance = std::hypot(delta.x(), delta.y());
        if (distance <= best) {
            best = distance;
            info.valid = true;
            info.particle = p;
            info.compensatedRun = compensatedRun;
            info.step = j;
        }
    };
    for (int run = 0; run < 2; ++run) {
        const bool compensatedRun = run == 1;
        if (!(compensatedRun ? m_layers.compensated : m_layers.plain)) continue;
        const auto& states = compensatedRun ? m_scene.compensated : m_scene.plain;
        for (int p = 0; p < states.size(); ++p) consider(states, compensatedRun, p, k);
        // The selected particle: every step along its path.
        if (m_selectedParticle >= 0 && m_selectedParticle < states.size())
            for (int j = 0; j < states[m_selectedParticle].size(); ++j) consider(states, compensatedRun, m_selectedParticle, j);
    }
    if (!info.valid) return info;
    k = info.step;
    const int p = info.particle;
    const auto valueAt = [](const QVector<double>& values, int index) { return index >= 0 && index < values.size() ? values[index] : 0.0; };
    const auto at = [&](const QVector<double>& values) { return valueAt(values, k); };
    info.t = at(m_scene.times);
    info.lambda = at(m_scene.lambdas);
    info.alpha = at(m_scene.alphas);
    info.sigma = at(m_scene.sigmas);
    info.rho = k > 0 && k - 1 < m_scene.ratios.size() ? m_scene.ratios[k - 1] : 1.0;
    info.lagrangeTime = k > 0 ? valueAt(m_scene.times, k - 1) + info.rho * (info.t - valueAt(m_scene.times, k - 1)) : info.t;
    const auto error = [&](const QVector<QVector<QPointF>>& run) {
        if (p >= run.size() || p >= m_scene.groundTruth.size() || k >= run[p].size() || k >= m_scene.groundTruth[p].size()) return 0.0;
        const QPointF d = run[p][k] - m_scene.groundTruth[p][k];
        return std::hypot(d.x(), d.y());
    };
    info.plainError = error(m_scene.plain);
    info.compensatedError = error(m_scene.compensated);
    if (k > 0 && p < m_scene.compensationNorm.size() && k - 1 < m_scene.compensationNorm[p].size())
        info.compensationNorm = m_scene.compensationNorm[p][k - 1];
    return info;
}

QPointF TrajectoryGlView::samplingVelocity(const QPointF& data, int fine) const {
    const MixtureDensity& density = m_scene.density;
    if (!density.isValid() || fine < 0 || fine >= m_scene.fineDrift.size() || fine >= m_scene.fineDiffusionSquared.size() ||
        fine >= m_scene.fineAlphas.size() || fine >= m_scene.fineSigmas.size())
        return {};
    const double alpha = m_scene.fineAlphas[fine], sigma = m_scene.fineSigmas[fine];
    // score = sum_i r_i (alpha mu_i - x) / v_i with v_i = alpha^2 s_i^2 + sigma^2 and the
    // responsibilities r_i proportional to w_i N(x; alpha mu_i, v_i I) (in logs, for stability).
    std::vector<double> logs, variances;
    double largest = -std::numeric_limits<double>::infinity();
    for (int i = 0; i < density.means.size(); ++i) {
        const double variance = alpha * alpha * density.stds[i] * density.stds[i] + sigma * sigma;
        const QPointF d = data - alpha * density.means[i];
        variances.push_back(variance);
        logs.push_back(std::log(std::max(density.weights[i], 1e-300)) - std::log(variance) - 0.5 * QPointF::dotProduct(d, d) / variance);
        largest = std::max(largest, logs.back());
    }
    double total = 0;
    QPointF weighted;
    for (int i = 0; i < density.means.size(); ++i) {
        const double r = std::exp(logs[size_t(i)] - largest);
        total += r;
        weighted += r * (alpha * density.means[i] - data) / variances[size_t(i)];
    }
    const QPointF score = weighted / total;
    const QPointF velocity = m_scene.fineDrift[fine] * data - 0.5 * m_scene.fineDiffusionSquared[fine] * score;
    return -velocity;
}

QString TrajectoryGlView::describe(const HoverInfo& info, const TrajectoryScene& scene) {
    if (!info.valid) return {};
    return tr("particle %1, %2\nstep k = %3: t = %4, lambda = %5\nalpha = %6, sigma = %7\nrho = %8, t' = %9\n"
              "error vs ground truth: %10 plain, %11 DC\n|compensation| = %12")
        .arg(info.particle)
        .arg(info.compensatedRun ? scene.compensatedName : scene.plainName)
        .arg(info.step)
        .arg(info.t, 0, 'f', 4)
        .arg(info.lambda, 0, 'f', 3)
        .arg(info.alpha, 0, 'f', 4)
        .arg(info.sigma, 0, 'f', 4)
        .arg(info.rho, 0, 'f', 3)
        .arg(info.lagrangeTime, 0, 'f', 4)
        .arg(info.plainError, 0, 'g', 3)
        .arg(info.compensatedError, 0, 'g', 3)
        .arg(info.compensationNorm, 0, 'g', 3);
}

void TrajectoryGlView::useStrokeBuffer(GLuint buffer) {
    // The layout is given again at every use, so whatever the shared context state went
    // through in between (other GL users of the window), the attributes read this buffer.
    m_gl->glBindVertexArray(m_glState->dynamicArray.name());
    m_gl->glBindBuffer(GL_ARRAY_BUFFER, buffer);
    m_gl->glEnableVertexAttribArray(0);
    m_gl->glVertexAttribPointer(0, 2, GL_FLOAT, GL_FALSE, sizeof(Vertex), nullptr);
    m_gl->glEnableVertexAttribArray(1);
    m_gl->glVertexAttribPointer(1, 4, GL_FLOAT, GL_FALSE, sizeof(Vertex), reinterpret_cast<void*>(2 * sizeof(float)));
}

void TrajectoryGlView::uploadGroundTruthPaths() {
    std::vector<Vertex> vertices;
    m_glState->pathFirst.clear();
    m_glState->pathCount.clear();
    for (const auto& path : m_scene.groundTruthFine) {
        m_glState->pathFirst.push_back(GLint(vertices.size()));
        for (const QPointF& p : path) vertices.push_back({float(p.x()), float(p.y()), kGroundTruthColour});
        m_glState->pathCount.push_back(GLsizei(path.size()));
    }
    m_gl->glBindBuffer(GL_ARRAY_BUFFER, m_glState->pathBuffer.name());
    m_gl->glBufferData(GL_ARRAY_BUFFER, GLsizeiptr(vertices.size() * sizeof(Vertex)), vertices.data(), GL_STATIC_DRAW);
    m_pathsDirty = false;
    ++m_pathsVersion;
}

void TrajectoryGlView::bindTarget(GLuint framebuffer) {
    m_target = framebuffer;
    const qreal ratio = devicePixelRatioF();
    m_gl->glBindFramebuffer(GL_FRAMEBUFFER, framebuffer);
    m_gl->glViewport(0, 0, int(width() * ratio), int(height() * ratio));
}

void TrajectoryGlView::setStrokeBlending(Target target) {
    if (target == Target::Layer)
        // Premultiplied accumulation into a transparent layer: colour c a + (1 - a) below,
        // alpha a + (1 - a) alpha below; composed later, it gives what drawing in place gives.
        m_gl->glBlendFuncSeparate(GL_SRC_ALPHA, GL_ONE_MINUS_SRC_ALPHA, GL_ONE, GL_ONE_MINUS_SRC_ALPHA);
    else
        // Colours blend; the view's alpha stays 1 (see paintGL).
        m_gl->glBlendFuncSeparate(GL_SRC_ALPHA, GL_ONE_MINUS_SRC_ALPHA, GL_ZERO, GL_ONE);
}

void TrajectoryGlView::composeLayer(GLuint texture, Compose compose, Target target, const std::array<float, 4>& placement) {
    // An opaque layer (the density) replaces what is below without reading it back.
    if (compose == Compose::Opaque) {
        m_gl->glDisable(GL_BLEND);
    } else {
        const bool intoLayer = target == Target::Layer;
        m_gl->glBlendFuncSeparate(GL_ONE, GL_ONE_MINUS_SRC_ALPHA, intoLayer ? GL_ONE : GL_ZERO, intoLayer ? GL_ONE_MINUS_SRC_ALPHA : GL_ONE);
    }
    m_gl->glUseProgram(m_glState->layer.name());
    m_gl->glActiveTexture(GL_TEXTURE0);
    m_gl->glBindTexture(GL_TEXTURE_2D, texture);
    m_gl->glUniform1i(m_glState->layer.uniform("layer"), 0);
    m_gl->glUniform4fv(m_glState->layer.uniform("placement"), 1, placement.data());
    m_gl->glBindVertexArray(m_glState->quadArray.name());
    m_gl->glDrawArrays(GL_TRIANGLE_STRIP, 0, 4);
    m_gl->glBindTexture(GL_TEXTURE_2D, 0);
    m_gl->glEnable(GL_BLEND);
    setStrokeBlending(target);
}

int TrajectoryGlView::densityDownsample(double alpha, double sigma) const {
    // While a mode is dragged the density changes every frame: a coarser grid keeps up, and the
    // release draws it at the finer one where it is needed.
    if (m_draggedMode >= 0) return kCoarseDensityDownsample;
    // The density at this time is a sum of Gaussians of standard deviation sqrt(alpha^2 s_i^2 +
    // sigma^2): the narrowest decides the grid.
    const MixtureDensity& density = m_scene.density;
    double narrowest = std::numeric_limits<double>::infinity();
    for (int i = 0; i < std::min(int(density.stds.size()), kMaxModes); ++i)
        narrowest = std::min(narrowest, std::sqrt(alpha * alpha * density.stds[i] * density.stds[i] + sigma * sigma));
    const double pixels = narrowest / m_unitsPerPixel * devicePixelRatioF();
    return pixels >= kSmoothDensityPixels ? kCoarseDensityDownsample : kDensityDownsample;
}

QString TrajectoryGlView::densityContent() const {
    // The grid's resolution at a time follows from the time, the view and the mixture; only a
    // drag changes it for all times.
    return viewKey() + QStringLiteral("|%1%2").arg(m_densityVersion).arg(m_draggedMode >= 0 ? QStringLiteral(" dragged") : QString());
}

QString TrajectoryGlView::densityTime(double alpha, double sigma) {
    return QStringLiteral("%1 %2").arg(alpha, 0, 'g', 17).arg(sigma, 0, 'g', 17);
}

GLuint TrajectoryGlView::densityLayer(double alpha, double sigma) {
    const QString content = densityContent(), time = densityTime(alpha, sigma);
    if (QOpenGLFramebufferObject* layer = m_glState->densityLayers.find(content, time)) return layer->texture();
    const qreal ratio = devicePixelRatioF();
    const QSize pixels(int(width() * ratio), int(height() * ratio));
    const int downsample = densityDownsample(alpha, sigma);
    const QSize coarse(std::max(1, (pixels.width() + downsample - 1) / downsample), std::max(1, (pixels.height() + downsample - 1) / downsample));
    // Filtered up smoothly.
    QOpenGLFramebufferObject* layer = m_glState->densityLayers.insert(m_gl, content, time, coarse);
    const GLuint target = m_target;
    m_gl->glBindFramebuffer(GL_FRAMEBUFFER, layer->handle());
    m_gl->glViewport(0, 0, coarse.width(), coarse.height());
    m_gl->glDisable(GL_BLEND);
    renderDensity(alpha, sigma);
    m_gl->glEnable(GL_BLEND);
    bindTarget(target);
    return layer->texture();
}

void TrajectoryGlView::renderDensity(double alpha, double sigma) {
    const MixtureDensity& density = m_scene.density;
    const int count = std::min(int(density.means.size()), kMaxModes);
    // Each mode's Gaussian at this time, its constants worked out here once instead of per pixel:
    // N(alpha mu_i, v_i I) with v_i = alpha^2 s_i^2 + sigma^2, weighted w_i / (2 pi v_i), scaled so
    // that the highest peak is 1.
    double totalWeight = 0;
    for (int i = 0; i < count; ++i) totalWeight += density.weights[i];
    std::vector<double> variances, peaks;
    for (int i = 0; i < count; ++i) {
        variances.push_back(std::max(alpha * alpha * density.stds[i] * density.stds[i] + sigma * sigma, 1e-12));
        peaks.push_back(density.weights[i] / totalWeight / (2 * M_PI * variances.back()));
    }
    const double highestPeak = count > 0 ? *std::max_element(peaks.begin(), peaks.end()) : 1.0;
    std::vector<float> centres, gains, rates;
    for (int i = 0; i < count; ++i) {
        centres.push_back(float(alpha * density.means[i].x()));
        centres.push_back(float(alpha * density.means[i].y()));
        gains.push_back(float(peaks[i] / highestPeak));
        rates.push_back(float(0.5 / variances[i]));
    }
    const GlProgram& program = m_glState->density;
    m_gl->glUseProgram(program.name());
    const QRectF view = viewRect();
    // Clip (-1..1) to data: x = centre + clip * half width (y up in both).
    const auto clipToData = affine(view.width() / 2, view.height() / 2, m_centre.x(), m_centre.y());
    m_gl->glUniformMatrix3fv(program.uniform("clipToData"), 1, GL_FALSE, clipToData.data());
    m_gl->glUniform1i(program.uniform("modeCount"), count);
    m_gl->glUniform2fv(program.uniform("centres"), count, centres.data());
    m_gl->glUniform1fv(program.uniform("gains"), count, gains.data());
    m_gl->glUniform1fv(program.uniform("rates"), count, rates.data());
    m_gl->glUniform3fv(program.uniform("lowColour"), 1, kDensityLow);
    m_gl->glUniform3fv(program.uniform("highColour"), 1, kDensityHigh);
    m_gl->glBindVertexArray(m_glState->quadArray.name());
    m_gl->glDrawArrays(GL_TRIANGLE_STRIP, 0, 4);
}

void TrajectoryGlView::useStrokeProgram() {
    const GlProgram& program = m_glState->strokes;
    m_gl->glUseProgram(program.name());
    const QRectF view = viewRect();
    const auto dataToClip = affine(2 / view.width(), 2 / view.height(), -2 * m_centre.x() / view.width(), -2 * m_centre.y() / view.height());
    m_gl->glUniformMatrix3fv(program.uniform("dataToClip"), 1, GL_FALSE, dataToClip.data());
    m_gl->glUniform1i(program.uniform("roundPoints"), 0);
    m_gl->glUniform1f(program.uniform("pointSize"), 1.0f);
}

void TrajectoryGlView::drawStrokeVertices(const void* vertices, int count, int lines) {
    // One upload per call: re-specifying a buffer that a queued draw still reads makes a
    // software renderer finish that draw first.
    if (count <= 0) return;
    useStrokeBuffer(m_glState->dynamicBuffer.name());
    m_gl->glBufferData(GL_ARRAY_BUFFER, GLsizeiptr(count * sizeof(Vertex)), vertices, GL_STREAM_DRAW);
    if (lines > 0) m_gl->glDrawArrays(GL_LINES, 0, lines);
    if (count > lines) {
        m_gl->glUniform1i(m_glState->strokes.uniform("roundPoints"), 1);
        m_gl->glUniform1f(m_glState->strokes.uniform("pointSize"), float(6.0 * devicePixelRatioF()));
        m_gl->glDrawArrays(GL_POINTS, lines, count - lines);
    }
}

void TrajectoryGlView::drawVelocityField() {
    // Arrows of one length on a grid: the direction of the flow (its speed varies by orders of
    // magnitude over t, so only the direction is readable).
    std::vector<Vertex> vertices;
    const int fine = int(std::lround(m_fineIndex));
    const QRectF view = viewRect();
    const double spacing = std::max(view.width(), view.height()) / kVelocityGrid;
    for (double x = view.left() + spacing / 2; x < view.right(); x += spacing)
        for (double y = view.top() + spacing / 2; y < view.bottom(); y += spacing) {
            const QPointF v = samplingVelocity(QPointF(x, y), fine);
            const double length = std::hypot(v.x(), v.y());
            if (!(length > 0)) continue;
            const QPointF tip = QPointF(x, y) + v * (0.4 * spacing / length);
            const QPointF back = (QPointF(x, y) - tip) * 0.35;
            const QPointF left(tip + QPointF(back.x() * 0.8 - back.y() * 0.5, back.y() * 0.8 + back.x() * 0.5));
            const QPointF right(tip + QPointF(back.x() * 0.8 + back.y() * 0.5, back.y() * 0.8 - back.x() * 0.5));
            for (const auto& [a, b] : {std::pair{QPointF(x, y), tip}, std::pair{tip, left}, std::pair{tip, right}}) {
                vertices.push_back({float(a.x()), float(a.y()), kVelocityColour});
                vertices.push_back({float(b.x()), float(b.y()), kVelocityColour});
            }
        }
    useStrokeProgram();
    drawStrokeVertices(vertices.data(), int(vertices.size()), int(vertices.size()));
}

void TrajectoryGlView::drawRunLines(int from, int to) {
    // Step by step (the plain run's segments into t_j, then the DC run's): the order in which a
    // layer built up one step at a time draws them, so both give the same pixels.
    std::vector<Vertex> vertices;
    for (int j = from + 1; j <= to; ++j)
        for (const bool compensated : {false, true}) {
            if (!(compensated ? m_layers.compensated : m_layers.plain)) continue;
            Rgba colour = compensated ? kCompensatedColour : kPlainColour;
            colour.a = 0.35f;  // faint, so the ground truth stays readable
            for (const auto& states : compensated ? m_scene.compensated : m_scene.plain) {
                if (j >= states.size()) continue;
                vertices.push_back({float(states[j - 1].x()), float(states[j - 1].y()), colour});
                vertices.push_back({float(states[j].x()), float(states[j].y()), colour});
            }
        }
    useStrokeProgram();
    drawStrokeVertices(vertices.data(), int(vertices.size()), int(vertices.size()));
}

QOpenGLFramebufferObject* TrajectoryGlView::runLineLayer(int step) {
    const QString content = solverContent(), index = QString::number(step);
    if (QOpenGLFramebufferObject* layer = m_glState->runLineLayers.find(content, index)) return layer;
    // Found first, the step before is the most recently used entry: the insertion keeps it.
    QOpenGLFramebufferObject* before = step > 0 ? m_glState->runLineLayers.find(content, QString::number(step - 1)) : nullptr;
    const qreal ratio = devicePixelRatioF();
    const QSize pixels(int(width() * ratio), int(height() * ratio));
    QOpenGLFramebufferObject* layer = m_glState->runLineLayers.insert(m_gl, content, index, pixels);
    const GLuint target = m_target;
    if (before)
        beginLayer(layer, before);
    else
        beginLayerWithPaths(layer);
    drawRunLines(before ? step - 1 : 0, step);
    bindTarget(target);
    return layer;
}

void TrajectoryGlView::beginLayer(QOpenGLFramebufferObject* layer, QOpenGLFramebufferObject* start) {
    if (start) {
        copyFramebuffer(m_gl, start->handle(), layer->handle(), layer->size());
        bindTarget(layer->handle());
    } else {
        bindTarget(layer->handle());
        m_gl->glClearColor(0, 0, 0, 0);
        m_gl->glClear(GL_COLOR_BUFFER_BIT);
    }
    setStrokeBlending(Target::Layer);
}

void TrajectoryGlView::drawSolverLayers() {
    // Over the ground truth and the faint run lines (copied in): the selected particle's whole
    // paths, the error segments and the markers at the shown step.
    const int k = step();
    std::vector<Vertex> vertices;
    const auto addSelectedPath = [&](const QVector<QVector<QPointF>>& run, const Rgba& colour) {
        // The whole path, opaque: every state of it can be hovered.
        if (m_selectedParticle < 0 || m_selectedParticle >= run.size()) return;
        const auto& states = run[m_selectedParticle];
        for (int j = 1; j < states.size(); ++j) {
            vertices.push_back({float(states[j - 1].x()), float(states[j - 1].y()), colour});
            vertices.push_back({float(states[j].x()), float(states[j].y()), colour});
        }
    };
    const auto addErrors = [&](const QVector<QVector<QPointF>>& run) {
        for (int p = 0; p < run.size() && p < m_scene.groundTruth.size(); ++p) {
            if (k >= run[p].size() || k >= m_scene.groundTruth[p].size()) continue;
            vertices.push_back({float(run[p][k].x()), float(run[p][k].y()), kErrorColour});
            vertices.push_back({float(m_scene.groundTruth[p][k].x()), float(m_scene.groundTruth[p][k].y()), kErrorColour});
        }
    };
    const auto addMarkers = [&](const QVector<QVector<QPointF>>& run, const Rgba& colour) {
        for (const auto& states : run)
            if (k < states.size()) vertices.push_back({float(states[k].x()), float(states[k].y()), colour});
    };
    if (m_layers.plain) addSelectedPath(m_scene.plain, kPlainColour);
    if (m_layers.compensated) addSelectedPath(m_scene.compensated, kCompensatedColour);
    if (m_layers.errors) {
        if (m_layers.plain) addErrors(m_scene.plain);
        if (m_layers.compensated) addErrors(m_scene.compensated);
    }
    const int lines = int(vertices.size());
    if (m_layers.plain) addMarkers(m_scene.plain, kPlainColour);
    if (m_layers.compensated) addMarkers(m_scene.compensated, kCompensatedColour);
    useStrokeProgram();
    drawStrokeVertices(vertices.data(), int(vertices.size()), lines);
}

QString TrajectoryGlView::viewKey() const {
    const qreal ratio = devicePixelRatioF();
    return QStringLiteral("%1 %2 %3 %4x%5")
        .arg(m_centre.x(), 0, 'g', 17)
        .arg(m_centre.y(), 0, 'g', 17)
        .arg(m_unitsPerPixel, 0, 'g', 17)
        .arg(int(width() * ratio))
        .arg(int(height() * ratio));
}

QString TrajectoryGlView::solverLayersState() const {
    // What the solver layers show apart from the view and the step.
    return QStringLiteral("%1 %2 %3%4%5%6 %7")
        .arg(m_sceneVersion)
        .arg(m_pathsVersion)
        .arg(int(m_layers.groundTruth))
        .arg(int(m_layers.plain))
        .arg(int(m_layers.compensated))
        .arg(int(m_layers.errors))
        .arg(m_selectedParticle);
}

QString TrajectoryGlView::solverContent() const {
    // A change of anything but the step drops every cached step. During a gesture the path
    // layer inside is a moved one: such a layer is never shown once the gesture settles.
    return viewKey() + QLatin1Char('|') + solverLayersState() + (gestureInProgress() ? QStringLiteral(" moving") : QString());
}

GLuint TrajectoryGlView::solverLayer() {
    const QString content = solverContent();
    const QString shownStep = QString::number(step());
    if (QOpenGLFramebufferObject* layer = m_glState->solverLayers.find(content, shownStep)) return layer->texture();
    const qreal ratio = devicePixelRatioF();
    QOpenGLFramebufferObject* layer =
        m_glState->solverLayers.insert(m_gl, content, shownStep, QSize(int(width() * ratio), int(height() * ratio)));
    const GLuint target = m_target;
    beginLayer(layer, runLineLayer(step()));
    drawSolverLayers();
    bindTarget(target);
    setStrokeBlending(Target::View);
    return layer->texture();
}

void TrajectoryGlView::composeScene(GLuint density, GLuint solvers, const std::array<float, 4>& placement) {
    m_gl->glDisable(GL_BLEND);
    const GlProgram& program = m_glState->scene;
    m_gl->glUseProgram(program.name());
    m_gl->glActiveTexture(GL_TEXTURE1);
    m_gl->glBindTexture(GL_TEXTURE_2D, density);
    m_gl->glActiveTexture(GL_TEXTURE0);
    m_gl->glBindTexture(GL_TEXTURE_2D, solvers);
    m_gl->glUniform1i(program.uniform("solvers"), 0);
    m_gl->glUniform1i(program.uniform("density"), 1);
    m_gl->glUniform1i(program.uniform("hasDensity"), density != 0);
    m_gl->glUniform3fv(program.uniform("background"), 1, kBackground);
    m_gl->glUniform4fv(program.uniform("placement"), 1, placement.data());
    m_gl->glBindVertexArray(m_glState->quadArray.name());
    m_gl->glDrawArrays(GL_TRIANGLE_STRIP, 0, 4);
    m_gl->glActiveTexture(GL_TEXTURE1);
    m_gl->glBindTexture(GL_TEXTURE_2D, 0);
    m_gl->glActiveTexture(GL_TEXTURE0);
    m_gl->glBindTexture(GL_TEXTURE_2D, 0);
    m_gl->glEnable(GL_BLEND);
    setStrokeBlending(Target::View);
}

void TrajectoryGlView::drawModeHandles() {
    // Each mode's handle: a ring of radius s_i about mu_i (the data distribution's own spread;
    // the density at time t is wider) and its centre.
    const MixtureDensity& mixture = m_scene.density;
    std::vector<Vertex> vertices;
    for (int i = 0; i < mixture.means.size(); ++i) {
        const Rgba colour = i == m_selectedMode ? kSelectedModeColour : kModeColour;
        for (int j = 0; j < kRingSegments; ++j)
            for (const int corner : {j, j + 1}) {
                const double angle = 2 * M_PI * corner / kRingSegments;
                const QPointF p = mixture.means[i] + mixture.stds[i] * QPointF(std::cos(angle), std::sin(angle));
                vertices.push_back({float(p.x()), float(p.y()), colour});
            }
    }
    const int rings = int(vertices.size());
    for (int i = 0; i < mixture.means.size(); ++i)
        vertices.push_back({float(mixture.means[i].x()), float(mixture.means[i].y()), i == m_selectedMode ? kSelectedModeColour : kModeColour});
    useStrokeProgram();
    drawStrokeVertices(vertices.data(), int(vertices.size()), rings);
}

void TrajectoryGlView::beginLayerWithPaths(QOpenGLFramebufferObject* layer) {
    GlState& gl = *m_glState;
    if (!m_layers.groundTruth || gl.pathFirst.empty()) {
        beginLayer(layer, nullptr);
        return;
    }
    const qreal ratio = devicePixelRatioF();
    const QSize pixels(int(width() * ratio), int(height() * ratio));
    const bool sameContent = gl.pathLayer && gl.pathLayer->size() == pixels && gl.pathLayerVersion == m_pathsVersion;
    const bool sameView = sameContent && gl.pathLayerCentre == m_centre && gl.pathLayerUnitsPerPixel == m_unitsPerPixel;
    // While the user pans or zooms, the layer drawn for the view before is moved and scaled
    // with it (redrawing every fine segment costs several frames on a software renderer); it is
    // redrawn sharp once the gesture settles.
    if (!sameView && sameContent && gestureInProgress()) {
        beginLayer(layer, nullptr);
        composeLayer(gl.pathLayer->texture(), Compose::Over, Target::Layer, placementOf(gl.pathLayerCentre, gl.pathLayerUnitsPerPixel));
        m_settleTimer.start();
        return;
    }
    if (!sameView) {
        if (!gl.pathLayer || gl.pathLayer->size() != pixels) gl.pathLayer = std::make_unique<QOpenGLFramebufferObject>(pixels);
        bindTarget(gl.pathLayer->handle());
        m_gl->glClearColor(0, 0, 0, 0);
        m_gl->glClear(GL_COLOR_BUFFER_BIT);
        setStrokeBlending(Target::Layer);
        useStrokeProgram();
        useStrokeBuffer(gl.pathBuffer.name());
        m_gl->glMultiDrawArrays(GL_LINE_STRIP, gl.pathFirst.data(), gl.pathCount.data(), GLsizei(gl.pathFirst.size()));
        gl.pathLayerCentre = m_centre;
        gl.pathLayerUnitsPerPixel = m_unitsPerPixel;
        gl.pathLayerVersion = m_pathsVersion;
    }
    // The paths over a transparent layer are the path layer itself: a copy, not a pass.
    beginLayer(layer, gl.pathLayer.get());
}

bool TrajectoryGlView::gestureInProgress() const {
    return m_dragging || (m_gestureClock.isValid() && m_gestureClock.elapsed() < kGestureSettleMs);
}

void TrajectoryGlView::drawOverlay() {
    if (!m_imgui || !m_glState->imguiReady || !m_overlayVisible) return;
    static QElapsedTimer clock;
    const double seconds = clock.isValid() ? clock.restart() / 1000.0 : 1.0 / 60;
    if (!clock.isValid()) clock.start();
    m_bridge->beginFrame(size(), devicePixelRatioF(), seconds);
    ImGui::SetCurrentContext(m_imgui);
    ImGui_ImplOpenGL3_NewFrame();
    ImGui::NewFrame();
    ImGui::SetNextWindowPos(ImVec2(8, 8), ImGuiCond_FirstUseEver);
    ImGui::SetNextWindowBgAlpha(0.85f);
    if (ImGui::Begin("Trajectories", nullptr, ImGuiWindowFlags_AlwaysAutoResize)) {
        if (m_scene.density.isValid()) {  // both come from the plane's mixture; image scenes have none
            ImGui::Checkbox("density p_t", &m_layers.density);
            ImGui::Checkbox("velocity field (direction of the flow)", &m_layers.velocity);
        }
        ImGui::Checkbox("ground truth (every fine step)", &m_layers.groundTruth);
        ImGui::Checkbox("plain solver", &m_layers.plain);
        ImGui::Checkbox("DC solver", &m_layers.compensated);
        ImGui::Checkbox("error segments at t_k", &m_layers.errors);
        int k = step();
        if (ImGui::SliderInt("step k", &k, 0, std::max(0, m_scene.steps()))) {
            setStep(k);
            Q_EMIT stepChanged(k);
        }
        if (ImGui::Button(isPlaying() ? "pause" : "play")) setPlaying(!isPlaying());
        ImGui::SameLine();
        float speed = float(m_speed);
        ImGui::SetNextItemWidth(90);
        if (ImGui::SliderFloat("steps/s", &speed, 0.25f, 10.0f, "%.2f")) m_speed = speed;
        const int fine = int(std::lround(m_fineIndex));
        if (fine < m_scene.fineTimes.size()) ImGui::Text("t = %.4f", m_scene.fineTimes[fine]);
        if (m_scene.density.isValid()) {
            bool editing = m_editingMixture;
            if (ImGui::Checkbox("shape the mixture", &editing)) setMixtureEditing(editing);
            if (m_editingMixture) drawMixtureEditor();
        }
    }
    ImGui::End();
    const HoverInfo hover = ImGui::GetIO().WantCaptureMouse ? HoverInfo{} : hoverAt(m_mouse);
    const int hoveredMode = m_editingMixture && !ImGui::GetIO().WantCaptureMouse ? modeAt(m_mouse) : -1;
    if (hoveredMode >= 0) {
        const MixtureDensity& mixture = m_scene.density;
        double total = 0;
        for (double w : mixture.weights) total += w;
        const int classIndex = hoveredMode < mixture.classes.size() ? mixture.classes[hoveredMode] : 0;
        ImGui::BeginTooltip();
        ImGui::Text("mode %d: weight %.3f (%.1f%%), spread %.3f%s%s", hoveredMode, mixture.weights[hoveredMode],
                    100 * mixture.weights[hoveredMode] / total, mixture.stds[hoveredMode], mixture.labels.isEmpty() ? "" : ", class ",
                    mixture.labels.value(classIndex).toUtf8().constData());
        ImGui::EndTooltip();
    } else if (hover.valid) {
        ImGui::BeginTooltip();
        ImGui::TextUnformatted(describe(hover, m_scene).toUtf8().constData());
        // The selected sample's images at the hovered step, side by side.
        const StateImages& shown = m_stateImages;
        if (shown.uploaded && shown.particle == hover.particle && shown.step == hover.step) {
            for (size_t i = 0; i < m_glState->stateTextures.size(); ++i) {
                if (i > 0) ImGui::SameLine();
                ImGui::BeginGroup();
                ImGui::TextUnformatted(shown.captions.value(int(i)).toUtf8().constData());
                ImGui::Image(reinterpret_cast<ImTextureID>(static_cast<intptr_t>(m_glState->stateTextures[i].name())), ImVec2(96, 96));
                ImGui::EndGroup();
            }
        }
        ImGui::EndTooltip();
    }
    ImGui::Render();
    ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());
    if (isPlaying() || hover.valid || hoveredMode >= 0) update();  // ImGui animates (and follows the mouse) frame by frame
}

void TrajectoryGlView::drawMixtureEditor() {
    ImGui::TextDisabled("click: add a mode; drag a mode: move it");
    const MixtureDensity& mixture = m_scene.density;
    const int mode = m_selectedMode;
    if (mode < 0 || mode >= mixture.means.size()) {
        ImGui::TextDisabled("click a mode's centre to select it");
        return;
    }
    ImGui::Text("mode %d at (%.3f, %.3f)", mode, mixture.means[mode].x(), mixture.means[mode].y());
    float weight = float(mixture.weights[mode]);
    if (ImGui::SliderFloat("weight", &weight, 0.01f, 10.0f, "%.3f", ImGuiSliderFlags_Logarithmic)) setModeWeight(mode, weight);
    float spread = float(mixture.stds[mode]);
    if (ImGui::SliderFloat("spread s", &spread, 0.01f, 1.0f, "%.3f", ImGuiSliderFlags_Logarithmic)) setModeStd(mode, spread);
    if (!mixture.labels.isEmpty()) {
        const int current = mode < mixture.classes.size() ? mixture.classes[mode] : 0;
        const QByteArray shown = mixture.labels.value(current).toUtf8();
        if (ImGui::BeginCombo("class", shown.constData())) {
            for (int c = 0; c < mixture.labels.size(); ++c) {
                const QByteArray label = mixture.labels[c].toUtf8();
                if (ImGui::Selectable(label.constData(), c == current)) setModeClass(mode, c);
            }
            ImGui::EndCombo();
        }
    }
    ImGui::BeginDisabled(mixture.means.size() <= 1);
    if (ImGui::Button("remove mode (Delete)")) removeMode(mode);
    ImGui::EndDisabled();
}

void TrajectoryGlView::drawProblem() {
    QPainter painter(this);
    painter.fillRect(rect(), palette().color(QPalette::Base));
    painter.setPen(palette().color(QPalette::Text));
    painter.drawText(rect().adjusted(20, 20, -20, -20), Qt::AlignCenter | Qt::TextWordWrap, m_problem);
}

bool TrajectoryGlView::densityShown() const { return m_layers.density && m_scene.density.isValid(); }

void TrajectoryGlView::drawScene() {
    if (m_layers.velocity) {
        // The arrows lie between the density and the solver layers: three passes.
        m_gl->glClearColor(kBackground[0], kBackground[1], kBackground[2], 1);
        m_gl->glClear(GL_COLOR_BUFFER_BIT);
        if (densityShown()) {
            const auto [alpha, sigma] = densityCoefficients();
            composeLayer(densityLayer(alpha, sigma), Compose::Opaque, Target::View);
        }
        drawVelocityField();
        composeLayer(solverLayer(), Compose::Over, Target::View);
        return;
    }
    GLuint density = 0;
    if (densityShown()) {
        const auto [alpha, sigma] = densityCoefficients();
        density = densityLayer(alpha, sigma);
    }
    composeScene(density, solverLayer());
}

std::pair<double, double> TrajectoryGlView::densityCoefficients() const {
    // The density at the shown time: the fine grid's alpha and sigma when there is one.
    const int fine = int(std::lround(m_fineIndex));
    if (fine < m_scene.fineAlphas.size() && fine < m_scene.fineSigmas.size()) return {m_scene.fineAlphas[fine], m_scene.fineSigmas[fine]};
    const int k = step();
    return {k < m_scene.alphas.size() ? m_scene.alphas[k] : 1.0, k < m_scene.sigmas.size() ? m_scene.sigmas[k] : 0.0};
}

QString TrajectoryGlView::sceneState() const {
    const bool density = m_layers.density && m_scene.density.isValid();
    const auto [alpha, sigma] = densityCoefficients();
    return QStringLiteral("%1 %2 %3 %4 %5 %6 %7")
        .arg(int(density))
        .arg(density ? alpha : 0.0, 0, 'g', 17)
        .arg(density ? sigma : 0.0, 0, 'g', 17)
        .arg(m_densityVersion)
        .arg(m_layers.velocity ? int(std::lround(m_fineIndex)) : -1)
        .arg(step())
        .arg(solverLayersState());
}

std::array<float, 4> TrajectoryGlView::placementOf(const QPointF& centre, double unitsPerPixel) const {
    // A layer drawn for another view, in the current clip coordinates: scale u0 / u, offset by
    // the centres' difference in half views.
    const double scale = unitsPerPixel / m_unitsPerPixel;
    const double halfWidth = width() * m_unitsPerPixel / 2, halfHeight = height() * m_unitsPerPixel / 2;
    return {float(scale), float(scale), float((centre.x() - m_centre.x()) / halfWidth), float((centre.y() - m_centre.y()) / halfHeight)};
}

void TrajectoryGlView::paintGL() {
    if (!m_problem.isEmpty() || !m_glState) {
        drawProblem();
        return;
    }
    QElapsedTimer frame;
    frame.start();
    const qreal ratio = devicePixelRatioF();
    const QSize pixels(int(width() * ratio), int(height() * ratio));
    m_gl->glDisable(GL_DEPTH_TEST);
    m_gl->glEnable(GL_BLEND);
    m_gl->glEnable(GL_PROGRAM_POINT_SIZE);
    if (m_pathsDirty) uploadGroundTruthPaths();
    // The window composes this widget's image as an opaque one: its alpha stays 1 (a
    // translucent alpha there shows as false colours along lines).
    const GLuint view = defaultFramebufferObject();
    GlState& gl = *m_glState;
    const std::array<LayerCache*, 4> caches{&gl.sceneLayers, &gl.solverLayers, &gl.runLineLayers, &gl.densityLayers};
    const auto layersDrawn = [&] {
        qint64 inserts = 0;
        for (const LayerCache* cache : caches) inserts += cache->inserts();
        return inserts;
    };
    const qint64 layersDrawnBefore = layersDrawn();
    const QString state = sceneState();
    if (gestureInProgress()) {
        bindTarget(view);
        if (gl.lastSceneLayer && gl.lastSceneLayer->size() == pixels && gl.lastSceneState == state) {
            // While the user pans or zooms, the scene drawn for the view before is moved and
            // scaled with it (drawing it for every view costs more than a frame on a software
            // renderer); it is drawn sharp once the gesture settles. What it does not cover is
            // the background colour, as the density is far from every mode.
            m_gl->glClearColor(kBackground[0], kBackground[1], kBackground[2], 1);
            m_gl->glClear(GL_COLOR_BUFFER_BIT);
            composeLayer(gl.lastSceneLayer->texture(), Compose::Opaque, Target::View, placementOf(gl.lastSceneCentre, gl.lastSceneUnitsPerPixel));
            m_settleTimer.start();
        } else {
            drawScene();  // it changed during the gesture
        }
    } else {
        const QString content = densityContent() + QLatin1Char('|') + solverLayersState();
        QOpenGLFramebufferObject* scene = gl.sceneLayers.find(content, state);
        if (!scene) {
            scene = gl.sceneLayers.insert(m_gl, content, state, pixels);
            bindTarget(scene->handle());
            drawScene();
        }
        gl.lastSceneLayer = scene;
        gl.lastSceneState = state;
        gl.lastSceneCentre = m_centre;
        gl.lastSceneUnitsPerPixel = m_unitsPerPixel;
        // A copy of memory, where a textured pass would cost as much as a layer.
        copyFramebuffer(m_gl, scene->handle(), view, pixels);
        bindTarget(view);
    }
    setStrokeBlending(Target::View);
    if (m_editingMixture) drawModeHandles();
    m_gl->glBindVertexArray(0);
    m_gl->glUseProgram(0);
    if (!m_stateImages.uploaded) {
        m_glState->stateTextures.clear();
        for (const QImage& image : m_stateImages.images)
            if (!image.isNull()) m_glState->stateTextures.emplace_back(m_gl, image);
        m_stateImages.uploaded = true;
    }
    drawOverlay();
    // A frame that drew no layer anew has time to spare: one more spare layer then spares a
    // later frame that steps to an unseen state its allocation.
    if (layersDrawn() == layersDrawnBefore)
        for (LayerCache* cache : caches)
            if (cache->growSpares(m_gl)) break;
    m_frameTimes.push_back(frame.nsecsElapsed() / 1e6);
}

double TrajectoryGlView::medianFrameMs() const {
    if (m_frameTimes.empty()) return 0;
    std::vector<double> times = m_frameTimes;
    std::nth_element(times.begin(), times.begin() + std::ptrdiff_t(times.size() / 2), times.end());
    return times[times.size() / 2];
}

double TrajectoryGlView::worstFrameMs() const {
    return m_frameTimes.empty() ? 0 : *std::max_element(m_frameTimes.begin(), m_frameTimes.end());
}

void TrajectoryGlView::mousePressEvent(QMouseEvent* event) {
    if (m_bridge) m_bridge->mouseButton(event->button(), true);
    if (m_bridge && m_bridge->wantsMouse()) {
        update();
        return;
    }
    if (event->button() == Qt::LeftButton && m_editingMixture) {
        const int mode = modeAt(event->position());
        if (mode >= 0) {
            m_selectedMode = m_draggedMode = mode;
            m_modeDragOffset = m_scene.density.means[mode] - widgetToData(event->position());
            update();
            return;
        }
    }
    if (event->button() == Qt::LeftButton) {
        m_dragging = true;
        m_dragStart = event->position();
        m_centreAtDragStart = m_centre;
    }
}

void TrajectoryGlView::mouseMoveEvent(QMouseEvent* event) {
    m_mouse = event->position();
    if (m_bridge) m_bridge->mouseMoved(m_mouse);
    if (m_selectedParticle >= 0 && !m_dragging && m_draggedMode < 0) {
        const HoverInfo hover = hoverAt(m_mouse);
        if (hover.valid && hover.particle == m_selectedParticle && (hover.particle != m_hoveredParticle || hover.step != m_hoveredStep)) {
            m_hoveredParticle = hover.particle;
            m_hoveredStep = hover.step;
            Q_EMIT stateHovered(hover.particle, hover.step);
        }
    }
    if (m_draggedMode >= 0) {
        moveMode(m_draggedMode, widgetToData(m_mouse) + m_modeDragOffset);
    } else if (m_dragging) {
        const QPointF moved = (event->position() - m_dragStart) * m_unitsPerPixel;
        m_gestureClock.start();
        m_centre = m_centreAtDragStart + QPointF(-moved.x(), moved.y());
    }
    update();
}

void TrajectoryGlView::mouseReleaseEvent(QMouseEvent* event) {
    if (m_bridge) m_bridge->mouseButton(event->button(), false);
    if (event->button() == Qt::LeftButton && m_draggedMode >= 0) {
        m_draggedMode = -1;
    } else if (event->button() == Qt::LeftButton && m_dragging) {
        m_dragging = false;
        // A click, not a drag: add a mode where the mixture is being shaped, else name the
        // state under the mouse.
        if ((event->position() - m_dragStart).manhattanLength() < 3) {
            m_centre = m_centreAtDragStart;
            if (m_editingMixture) {
                addMode(widgetToData(event->position()));
            } else {
                const HoverInfo info = hoverAt(event->position());
                setSelectedParticle(info.valid ? info.particle : -1);
                if (info.valid) Q_EMIT stateClicked(info.particle, info.step);
            }
        } else {
            m_fitted = false;  // panned: the user's view from now on
        }
    }
    update();
}

void TrajectoryGlView::wheelEvent(QWheelEvent* event) {
    if (m_bridge && m_bridge->wantsMouse()) {
        m_bridge->wheel(event->angleDelta());
        update();
        return;
    }
    // Zoom about the cursor: the data point under it stays under it.
    const QPointF anchor = widgetToData(event->position());
    const double notches = event->angleDelta().y() / 120.0;
    m_unitsPerPixel *= std::pow(kZoomPerNotch, -notches);
    m_fitted = false;
    m_gestureClock.start();
    const QPointF after = widgetToData(event->position());
    m_centre += anchor - after;
    update();
}

void TrajectoryGlView::keyPressEvent(QKeyEvent* event) {
    if (m_bridge && m_bridge->key(*event, true)) {
        update();
        return;
    }
    switch (event->key()) {
    case Qt::Key_Space: setPlaying(!isPlaying()); break;
    case Qt::Key_Left: setStep(step() - 1); Q_EMIT stepChanged(step()); break;
    case Qt::Key_Right: setStep(step() + 1); Q_EMIT stepChanged(step()); break;
    case Qt::Key_Delete:
    case Qt::Key_Backspace:
        if (!m_editingMixture || m_selectedMode < 0) return QOpenGLWidget::keyPressEvent(event);
        removeMode(m_selectedMode);
        break;
    default: QOpenGLWidget::keyPressEvent(event); return;
    }
}

void TrajectoryGlView::keyReleaseEvent(QKeyEvent* event) {
    if (m_bridge) m_bridge->key(*event, false);
    QOpenGLWidget::keyReleaseEvent(event);
}

void TrajectoryGlView::leaveEvent(QEvent* event) {
    m_mouse = QPointF(-1, -1);
    if (m_bridge) m_bridge->mouseLeft();
    update();
    QOpenGLWidget::leaveEvent(event);
}
