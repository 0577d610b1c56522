#include "imgui_bridge.h"

#include <QKeyEvent>

#include <imgui.h>

#include <algorithm>

namespace {

/// 1.86 indexes KeysDown[] by the backend's own key codes: Qt's are too large, so each key ImGui
/// needs gets a small code of its own here.
struct KeyCode {
    int qtKey;
    ImGuiKey imguiKey;
};
const KeyCode kKeys[] = {
    {Qt::Key_Tab, ImGuiKey_Tab},          {Qt::Key_Left, ImGuiKey_LeftArrow},  {Qt::Key_Right, ImGuiKey_RightArrow},
    {Qt::Key_Up, ImGuiKey_UpArrow},       {Qt::Key_Down, ImGuiKey_DownArrow},  {Qt::Key_PageUp, ImGuiKey_PageUp},
    {Qt::Key_PageDown, ImGuiKey_PageDown}, {Qt::Key_Home, ImGuiKey_Home},      {Qt::Key_End, ImGuiKey_End},
    {Qt::Key_Insert, ImGuiKey_Insert},    {Qt::Key_Delete, ImGuiKey_Delete},   {Qt::Key_Backspace, ImGuiKey_Backspace},
    {Qt::Key_Space, ImGuiKey_Space},      {Qt::Key_Return, ImGuiKey_Enter},    {Qt::Key_Escape, ImGuiKey_Escape},
    {Qt::Key_Enter, ImGuiKey_KeyPadEnter}, {Qt::Key_A, ImGuiKey_A},            {Qt::Key_C, ImGuiKey_C},
    {Qt::Key_V, ImGuiKey_V},              {Qt::Key_X, ImGuiKey_X},             {Qt::Key_Y, ImGuiKey_Y},
    {Qt::Key_Z, ImGuiKey_Z},
};

int codeOf(int qtKey) {
    for (size_t i = 0; i < std::size(kKeys); ++i)
        if (kKeys[i].qtKey == qtKey) return int(i) + 1;
    return -1;
}

}  // namespace

ImGuiBridge::ImGuiBridge(ImGuiContext* context) : m_context(context) {
    ImGui::SetCurrentContext(m_context);
    ImGuiIO& io = ImGui::GetIO();
    for (size_t i = 0; i < std::size(kKeys); ++i) io.KeyMap[kKeys[i].imguiKey] = int(i) + 1;
}

void ImGuiBridge::mouseMoved(const QPointF& position) {
    ImGui::SetCurrentContext(m_context);
    ImGui::GetIO().MousePos = ImVec2(float(position.x()), float(position.y()));
}

void ImGuiBridge::mouseButton(int qtButton, bool down) {
    ImGui::SetCurrentContext(m_context);
    const int index = qtButton == Qt::LeftButton ? 0 : qtButton == Qt::RightButton ? 1 : qtButton == Qt::MiddleButton ? 2 : -1;
    if (index >= 0) ImGui::GetIO().MouseDown[index] = down;
}

void ImGuiBridge::mouseLeft() {
    ImGui::SetCurrentContext(m_context);
    ImGui::GetIO().MousePos = ImVec2(-FLT_MAX, -FLT_MAX);
}

void ImGuiBridge::wheel(const QPointF& angleDelta) {
    ImGui::SetCurrentContext(m_context);
    ImGuiIO& io = ImGui::GetIO();
    io.MouseWheel += float(angleDelta.y() / 120.0);
    io.MouseWheelH += float(angleDelta.x() / 120.0);
}

bool ImGuiBridge::key(const QKeyEvent& event, bool down) {
    ImGui::SetCurrentContext(m_context);
    ImGuiIO& io = ImGui::GetIO();
    const Qt::KeyboardModifiers modifiers = event.modifiers();
    io.KeyCtrl = modifiers & Qt::ControlModifier;
    io.KeyShift = modifiers & Qt::ShiftModifier;
    io.KeyAlt = modifiers & Qt::AltModifier;
    io.KeySuper = modifiers & Qt::MetaModifier;
    const int code = codeOf(event.key());
    if (code > 0 && code < int(std::size(io.KeysDown))) io.KeysDown[code] = down;
    if (down && io.WantTextInput)
        for (QChar c : event.text())
            if (c.isPrint()) io.AddInputCharacterUTF16(c.unicode());
    return io.WantCaptureKeyboard;
}

void ImGuiBridge::beginFrame(const QSize& size, double devicePixelRatio, double seconds) {
    ImGui::SetCurrentContext(m_context);
    ImGuiIO& io = ImGui::GetIO();
    io.DisplaySize = ImVec2(float(size.width()), float(size.height()));
    io.DisplayFramebufferScale = ImVec2(float(devicePixelRatio), float(devicePixelRatio));
    io.DeltaTime = float(std::max(seconds, 1e-4));
}

bool ImGuiBridge::wantsMouse() const {
    ImGui::SetCurrentContext(m_context);
    return ImGui::GetIO().WantCaptureMouse;
}

bool ImGuiBridge::wantsKeyboard() const {
    ImGui::SetCurrentContext(m_context);
    return ImGui::GetIO().WantCaptureKeyboard;
}
