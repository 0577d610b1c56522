#pragma once

#include <QDialog>
#include <QString>

class QLabel;
class QTextBrowser;

/// Help > How DC-Solver works: a page for students (an embedded resource) whose `dcscope:ACTION`
/// links act on the live window (actionRequested), with a line that says what the window shows
/// now. Non-modal, so the student reads and watches side by side. GUI thread only.
class HelpPage : public QDialog {
    Q_OBJECT

public:
    /// The page's resource path.
    static constexpr const char* kResource = "qrc:/help/how_dc_solver_works.html";

    explicit HelpPage(QWidget* parent = nullptr);

    QTextBrowser* browser() const { return m_browser; }
    QString liveSummary() const;
    /// The `dcscope:` actions the page links to, in page order.
    QStringList linkedActions() const;

public Q_SLOTS:
    /// "Now: UniPC (bh2), NFE 10, guidance 3: final MSE plain 5.4e-3, DC 4.4e-3 (-19%)".
    void setLiveSummary(const QString& html);

Q_SIGNALS:
    /// A `dcscope:ACTION` link was clicked; `action` is the part after "dcscope:".
    void actionRequested(const QString& action);

private:
    void onAnchorClicked(const QUrl& url);

    QLabel* m_summary = nullptr;
    QTextBrowser* m_browser = nullptr;
};
