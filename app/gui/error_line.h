#pragma once

#include <string>

#include <QString>

/// Exception texts can span lines (c10 appends context); dialogs, panels and the status bar get
/// the first one. The workers' one way of turning an exception into the message they report.
inline QString firstLine(const std::string& text) {
    const QString line = QString::fromStdString(text.substr(0, text.find('\n'))).trimmed();
    return line.isEmpty() ? QStringLiteral("unknown error") : line;
}
