#include "error_dialog.h"

#include <QMessageBox>

#include <utility>

namespace {

const QString kErrorBoxName = QStringLiteral("dcscopeErrorBox");

ErrorDialogHook& currentHook() {
    static ErrorDialogHook hook;  // GUI thread only, like every widget
    return hook;
}

void showMessageBox(QWidget* parent, const QString& message) {
    QMessageBox* box = parent ? parent->findChild<QMessageBox*>(kErrorBoxName, Qt::FindDirectChildrenOnly) : nullptr;
    if (!box) {
        box = new QMessageBox(QMessageBox::Critical, QStringLiteral("dcscope"), QString(), QMessageBox::Ok, parent);
        box->setObjectName(kErrorBoxName);
        box->setAttribute(Qt::WA_DeleteOnClose);
        box->setWindowModality(parent ? Qt::WindowModal : Qt::ApplicationModal);
    }
    box->setText(message);
    // open() shows the box and returns at once; exec() would spin a nested event loop.
    box->open();
    box->raise();
}

}  // namespace

void showError(QWidget* parent, const QString& message) {
    if (const ErrorDialogHook& hook = currentHook())
        hook(parent, message);
    else
        showMessageBox(parent, message);
}

ErrorDialogHook setErrorDialogHook(ErrorDialogHook hook) { return std::exchange(currentHook(), std::move(hook)); }
