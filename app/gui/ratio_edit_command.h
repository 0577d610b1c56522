#pragma once

#include <functional>

#include <QString>
#include <QUndoCommand>
#include <QVector>

/// One undoable change of the compensation-ratio curve. The edit has already happened when the
/// command is pushed (the user dragged or typed it), so the first redo() does nothing; later
/// redo()/undo() put the curve after/before the edit back through `apply`.
class RatioEditCommand : public QUndoCommand {
public:
    using Apply = std::function<void(const QVector<double>& ratios)>;

    RatioEditCommand(const QVector<double>& before, const QVector<double>& after, Apply apply, const QString& text);

    void undo() override;
    void redo() override;

    const QVector<double>& before() const { return m_before; }
    const QVector<double>& after() const { return m_after; }

private:
    QVector<double> m_before;
    QVector<double> m_after;
    Apply m_apply;
    bool m_applied = true;  // pushed after the edit took place
};
