#include "help_page.h"

#include <QDesktopServices>
#include <QLabel>
#include <QRegularExpression>
#include <QTextBrowser>
#include <QUrl>
#include <QVBoxLayout>

HelpPage::HelpPage(QWidget* parent) : QDialog(parent) {
    setObjectName(QStringLiteral("helpPage"));
    setWindowTitle(tr("How DC-Solver works"));
    setModal(false);
    resize(720, 640);
    m_summary = new QLabel(tr("Now: no result yet."));
    m_summary->setObjectName(QStringLiteral("liveSummary"));
    m_summary->setWordWrap(true);
    m_summary->setTextFormat(Qt::RichText);
    m_summary->setStyleSheet(QStringLiteral("QLabel { background: #eef3fb; padding: 6px; border-radius: 4px; }"));
    m_summary->setToolTip(tr("What the window shows now; it follows every new result"));
    m_browser = new QTextBrowser;
    m_browser->setObjectName(QStringLiteral("helpBrowser"));
    // Links are handled here: dcscope: actions go to the window, http(s) to the system browser.
    m_browser->setOpenLinks(false);
    m_browser->setSource(QUrl(QString::fromLatin1(kResource)));
    connect(m_browser, &QTextBrowser::anchorClicked, this, &HelpPage::onAnchorClicked);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_summary);
    layout->addWidget(m_browser, 1);
}

QStringList HelpPage::linkedActions() const {
    QStringList actions;
    const QRegularExpression link(QStringLiteral("href=\"dcscope:([a-z0-9-]+)\""));
    auto matches = link.globalMatch(m_browser->document()->toHtml());
    while (matches.hasNext()) actions << matches.next().captured(1);
    return actions;
}

QString HelpPage::liveSummary() const { return m_summary->text(); }

void HelpPage::setLiveSummary(const QString& html) { m_summary->setText(html); }

void HelpPage::onAnchorClicked(const QUrl& url) {
    if (url.scheme() == QLatin1String("dcscope")) {
        Q_EMIT actionRequested(url.path());
    } else if (url.scheme() == QLatin1String("http") || url.scheme() == QLatin1String("https")) {
        QDesktopServices::openUrl(url);
    } else if (url.hasFragment()) {
        m_browser->scrollToAnchor(url.fragment());
    }
}
