#pragma once

#include <functional>

#include <QString>

class QWidget;

/// How an error reaches the user. The default shows a window-modal message box without blocking
/// (no nested event loop); tests install a hook that records and answers instead.
using ErrorDialogHook = std::function<void(QWidget* parent, const QString& message)>;

/// The application's one way to show an error. At most one error box per parent is open: a newer
/// message replaces the text of the open one instead of stacking boxes. GUI thread only.
void showError(QWidget* parent, const QString& message);

/// Replaces the presentation of showError() (an empty hook restores the message box) and returns
/// the previous hook, so a test can put it back. GUI thread only.
ErrorDialogHook setErrorDialogHook(ErrorDialogHook hook);
