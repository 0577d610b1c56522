#pragma once

#include <QPointF>
#include <QSize>

class QKeyEvent;
struct ImGuiContext;

/// Feeds Qt's input to one Dear ImGui context (1.86's IO fields): mouse position and buttons,
/// the wheel, keys with modifiers, and text. It makes its context current for each call.
/// GUI thread only.
class ImGuiBridge {
public:
    explicit ImGuiBridge(ImGuiContext* context);

    void mouseMoved(const QPointF& position);
    /// Qt::LeftButton, RightButton or MiddleButton.
    void mouseButton(int qtButton, bool down);
    void mouseLeft();
    /// Qt's angle delta in eighths of a degree (120 per notch).
    void wheel(const QPointF& angleDelta);
    /// Returns whether ImGui takes the key (a text field has focus).
    bool key(const QKeyEvent& event, bool down);
    /// Size in logical pixels, the device pixel ratio and the time since the last frame.
    void beginFrame(const QSize& size, double devicePixelRatio, double seconds);

    bool wantsMouse() const;
    bool wantsKeyboard() const;

private:
    ImGuiContext* m_context;
};
