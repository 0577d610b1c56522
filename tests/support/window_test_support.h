#pragma once
// Shared by the suites that drive the real window: finding its widgets by object name, and
// keeping the caches and settings it writes out of the user's home.
#include <QApplication>
#include <QTemporaryDir>
#include <QWidget>
#include <QtTest/QtTest>

namespace dcscope::testing {

/// The child widget called `name`, or one in a window of its own that `window` opened (the
/// trajectory view of image models); the suite stops at once when there is none.
template <typename T>
T* child(const QWidget& window, const char* name) {
    T* found = window.findChild<T*>(QString::fromLatin1(name));
    for (QWidget* topLevel : QApplication::topLevelWidgets())
        if (!found && topLevel != &window) found = topLevel->findChild<T*>(QString::fromLatin1(name));
    if (!found) qFatal("no child widget named %s", name);
    return found;
}

/// Points XDG_CACHE_HOME and XDG_CONFIG_HOME (ground truths, quick searches, settings, the last
/// session) into `home`.
inline void useTemporaryHome(const QTemporaryDir& home) {
    qputenv("XDG_CACHE_HOME", home.filePath(QStringLiteral("cache")).toLocal8Bit());
    qputenv("XDG_CONFIG_HOME", home.filePath(QStringLiteral("config")).toLocal8Bit());
}

}  // namespace dcscope::testing
