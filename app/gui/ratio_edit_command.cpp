#include "ratio_edit_command.h"

#include <utility>

RatioEditCommand::RatioEditCommand(const QVector<double>& before, const QVector<double>& after, Apply apply,
                                   const QString& text)
    : m_before(before), m_after(after), m_apply(std::move(apply)) {
    setText(text);
}

void RatioEditCommand::undo() {
    m_apply(m_before);
    m_applied = false;
}

void RatioEditCommand::redo() {
    if (m_applied) return;  // QUndoStack::push() calls redo() for an edit that is already on screen
    m_apply(m_after);
    m_applied = true;
}
