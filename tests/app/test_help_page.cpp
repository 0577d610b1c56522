// Help > How DC-Solver works: the embedded page, its dcscope: links, and those links acting on a
// real window (the built-in exact model, a temporary home), under Xvfb.
#include <QtTest/QtTest>

#include <QAction>
#include <QDoubleSpinBox>
#include <QLabel>
#include <QMenu>
#include <QMenuBar>
#include <QPushButton>
#include <QSet>
#include <QSpinBox>
#include <QTemporaryDir>
#include <QTextBlock>
#include <QTextBrowser>
#include <QTextDocument>

#include "comparison_view.h"
#include "help_page.h"
#include "main_window.h"
#include "ratio_curve_editor.h"
#include "support/window_test_support.h"

namespace {

constexpr int kTimeoutMs = 60000;

using dcscope::testing::child;

/// Every link target in the document, as written in the page.
QSet<QString> linkTargets(const QTextDocument& document) {
    QSet<QString> targets;
    for (QTextBlock block = document.begin(); block.isValid(); block = block.next())
        for (auto fragment = block.begin(); !fragment.atEnd(); ++fragment)
            if (fragment.fragment().charFormat().isAnchor()) targets.insert(fragment.fragment().charFormat().anchorHref());
    return targets;
}

/// Every anchor name (the targets of #links) in the document.
QSet<QString> anchorNames(const QTextDocument& document) {
    QSet<QString> names;
    for (QTextBlock block = document.begin(); block.isValid(); block = block.next())
        for (auto fragment = block.begin(); !fragment.atEnd(); ++fragment)
            for (const QString& name : fragment.fragment().charFormat().anchorNames()) names.insert(name);
    return names;
}

/// Where the link to `href` is drawn in the browser's viewport, after scrolling it into view.
QPoint linkPosition(QTextBrowser& browser, const QString& href) {
    const QTextDocument& document = *browser.document();
    for (QTextBlock block = document.begin(); block.isValid(); block = block.next())
        for (auto fragment = block.begin(); !fragment.atEnd(); ++fragment)
            if (fragment.fragment().charFormat().anchorHref() == href) {
                QTextCursor cursor(browser.document());
                cursor.setPosition(fragment.fragment().position() + 1);
                browser.setTextCursor(cursor);
                browser.ensureCursorVisible();
                return browser.cursorRect(cursor).center();
            }
    return {};
}

bool complete(const MainWindow& window) {
    return window.lastResult() && window.lastResult()->hasGroundTruth && !child<QPushButton>(window, "cancelButton")->isEnabled();
}

const QStringList kActions = {QStringLiteral("ratios-one"),  QStringLiteral("ratios-model"), QStringLiteral("guidance-high"),
                              QStringLiteral("guidance-low"), QStringLiteral("nfe-5"),       QStringLiteral("nfe-10"),
                              QStringLiteral("show-noisy"),  QStringLiteral("step-first"),  QStringLiteral("step-last")};

}  // namespace

class TestHelpPage : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_home;

private Q_SLOTS:
    void initTestCase() {
        QVERIFY(m_home.isValid());
        dcscope::testing::useTemporaryHome(m_home);
    }

    void thePageExplainsTheMethodAndLinksTheWindow() {
        HelpPage page;
        QCOMPARE(page.windowTitle(), QStringLiteral("How DC-Solver works"));
        QVERIFY(!page.isModal());
        auto* browser = child<QTextBrowser>(page, "helpBrowser");
        QCOMPARE(browser, page.browser());
        QVERIFY(!browser->openLinks());
        const QString text = browser->toPlainText();
        QVERIFY2(text.size() > 3000, "the page did not load from the resources");
        for (const char* topic : {"predictor-corrector", "misalignment", "compensation ratio", "guidance", "CPR", "ground truth"})
            QVERIFY2(text.contains(QLatin1String(topic), Qt::CaseInsensitive), topic);
        const QSet<QString> targets = linkTargets(*browser->document());
        for (const QString& action : kActions)
            QVERIFY2(targets.contains(QStringLiteral("dcscope:") + action), qPrintable(action));
        // Every in-page link has somewhere to go.
        const QSet<QString> names = anchorNames(*browser->document());
        for (const QString& target : targets)
            if (target.startsWith(QLatin1Char('#'))) QVERIFY2(names.contains(target.mid(1)), qPrintable(target));
    }

    void aClickedLinkRequestsItsAction() {
        HelpPage page;
        page.show();
        QVERIFY(QTest::qWaitForWindowExposed(&page));
        QSignalSpy requested(&page, &HelpPage::actionRequested);
        Q_EMIT page.browser()->anchorClicked(QUrl(QStringLiteral("dcscope:nfe-5")));
        QCOMPARE(requested.count(), 1);
        QCOMPARE(requested.takeFirst().at(0).toString(), QStringLiteral("nfe-5"));
        // A real click on the page's link.
        const QPoint where = linkPosition(*page.browser(), QStringLiteral("dcscope:guidance-high"));
        QVERIFY(!where.isNull());
        QTest::mouseClick(page.browser()->viewport(), Qt::LeftButton, {}, where);
        QTRY_COMPARE_WITH_TIMEOUT(requested.count(), 1, kTimeoutMs);  // a loaded machine delivers the click late
        QCOMPARE(requested.takeFirst().at(0).toString(), QStringLiteral("guidance-high"));
        // In-page links scroll instead.
        Q_EMIT page.browser()->anchorClicked(QUrl(QStringLiteral("#guidance")));
        QCOMPARE(requested.count(), 0);
    }

    void theLiveLineShowsWhatItIsGiven() {
        HelpPage page;
        auto* line = child<QLabel>(page, "liveSummary");
        QVERIFY2(line->text().contains(QStringLiteral("Now:")), qPrintable(line->text()));  // before any result
        page.setLiveSummary(QStringLiteral("<b>Now:</b> UniPC (bh2), NFE 10"));
        QCOMPARE(line->text(), QStringLiteral("<b>Now:</b> UniPC (bh2), NFE 10"));
        QCOMPARE(page.liveSummary(), line->text());
    }

    void theLinksActOnTheWindow() {
        MainWindow::Options options;
        options.modelSpec = QStringLiteral("builtin:gmm-image");
        // A curve of our own: no quick search, so the window samples only what the links ask for.
        options.ratios = {1.0, 1.0, 0.9, 1.1, 0.95, 1.05, 1.0, 0.9, 1.1, 1.0};
        options.sampleOnStart = false;
        MainWindow window(options);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));

        QMenu* help = nullptr;
        for (QAction* menu : window.menuBar()->actions())
            if (menu->text() == QStringLiteral("&Help")) help = menu->menu();
        QVERIFY(help);
        QCOMPARE(help->actions().first()->objectName(), QStringLiteral("howDcSolverWorksAction"));
        help->actions().first()->trigger();
        auto* page = window.findChild<HelpPage*>();
        QVERIFY(page);
        QVERIFY(page->isVisible());
        help->actions().first()->trigger();
        QCOMPARE(window.findChildren<HelpPage*>().size(), 1);  // one page, shown again

        QSignalSpy requested(&window, &MainWindow::samplingRequested);
        const auto click = [&](const QString& action) { Q_EMIT page->browser()->anchorClicked(QUrl(QStringLiteral("dcscope:") + action)); };
        click(QStringLiteral("guidance-high"));
        QCOMPARE(child<QDoubleSpinBox>(window, "guidanceSpin")->value(), 7.5);
        QCOMPARE(requested.count(), 1);

        auto* editor = child<RatioCurveEditor>(window, "ratioEditor");
        const QVector<double> own = editor->ratios();
        click(QStringLiteral("ratios-one"));
        QCOMPARE(editor->ratios(), QVector<double>(10, 1.0));
        QCOMPARE(window.undoStack().count(), 1);  // an edit like the user's
        window.undoStack().undo();
        QCOMPARE(editor->ratios(), own);
        window.undoStack().redo();
        QCOMPARE(editor->ratios(), QVector<double>(10, 1.0));

        click(QStringLiteral("nfe-5"));
        QCOMPARE(child<QSpinBox>(window, "nfeSpin")->value(), 5);
        QCOMPARE(editor->ratios().size(), 5);

        // The live line follows the result on screen.
        QTRY_VERIFY_WITH_TIMEOUT(complete(window) && window.lastResult()->steps == 5, kTimeoutMs);
        const QString summary = child<QLabel>(*page, "liveSummary")->text();
        QVERIFY2(summary.contains(QStringLiteral("NFE 5")) && summary.contains(QStringLiteral("guidance 7.5")) &&
                     summary.contains(QStringLiteral("final MSE plain")),
                 qPrintable(summary));

        // The scrubber moves and switches what it shows.
        auto* comparison = child<ComparisonView>(window, "comparisonView");
        click(QStringLiteral("step-first"));
        QCOMPARE(comparison->step(), 0);
        click(QStringLiteral("step-last"));
        QCOMPARE(comparison->step(), 5);
        QVERIFY(!comparison->showsNoisyState());
        click(QStringLiteral("show-noisy"));
        QVERIFY(comparison->showsNoisyState());
        click(QStringLiteral("show-noisy"));
        QVERIFY(!comparison->showsNoisyState());

        // The model's ratios: a built-in model's come from a quick search for these settings.
        click(QStringLiteral("ratios-model"));
        QTRY_VERIFY_WITH_TIMEOUT(complete(window) && !window.lastResult()->quickSearchRatios.isEmpty(), kTimeoutMs);
        QCOMPARE(editor->ratios(), window.lastResult()->quickSearchRatios);
        QVERIFY(window.lastResult()->compensated);
    }
};

QTEST_MAIN(TestHelpPage)
#include "test_help_page.moc"
