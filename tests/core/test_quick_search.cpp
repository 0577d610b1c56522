// Core's quick search: the ratios a model without shipped ones gets in the window, searched on a
// small batch of its own and cached on disk.
#include <QtTest/QtTest>

#include <QTemporaryDir>

#include <filesystem>
#include <fstream>

#include "dcscope/compensation.h"
#include "dcscope/errors.h"
#include "dcscope/gaussian_mixture_model.h"
#include "dcscope/ground_truth.h"
#include "dcscope/guided_denoiser.h"
#include "dcscope/quick_search.h"
#include "dcscope/search.h"
#include "dcscope/solver.h"

namespace {

dcscope::SolverConfig unipc(int steps) {
    dcscope::SolverConfig config;
    config.steps = steps;
    return config;
}

/// MSE of a run from the quick search's own batch against its ground truth.
double batchMse(dcscope::DiffusionModel& model, const dcscope::SolverConfig& config, double guidance,
                const dcscope::QuickSearchOptions& options) {
    const auto batch = dcscope::makeDatapoints(model, options.seed, options.datapoints);
    dcscope::GuidedDenoiser denoiser(model, dcscope::Conditioning{batch.classes, guidance});
    const dcscope::MultistepSampler sampler(model.schedule(), config);
    dcscope::GroundTruthOptions truthOptions;
    truthOptions.fineSteps = options.groundTruthFineSteps;
    truthOptions.useCache = false;
    const auto truth = dcscope::computeGroundTruth(denoiser, batch.noise, sampler.times(), truthOptions);
    return (sampler.run(denoiser, batch.noise) - truth.finalState()).pow(2).mean().item<double>();
}

}  // namespace

class TestQuickSearch : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_cache;
    std::shared_ptr<dcscope::GaussianMixtureModel> m_model = dcscope::GaussianMixtureModel::builtin("gmm-image");

    dcscope::QuickSearchOptions options() const {
        dcscope::QuickSearchOptions options;
        options.cacheDir = m_cache.filePath(QStringLiteral("quick")).toStdString();
        return options;
    }

private Q_SLOTS:
    void initTestCase() {
        QVERIFY(m_cache.isValid());
        // The searches' ground truths go to a throwaway cache too.
        qputenv("XDG_CACHE_HOME", m_cache.filePath(QStringLiteral("xdg")).toLocal8Bit());
    }

    void theRatiosLowerTheErrorOnTheSearchBatch() {
        const auto found = dcscope::quickSearchRatios(*m_model, unipc(8), 3.0, options());
        QCOMPARE(found.ratios.size(), size_t(8));
        QCOMPARE(found.ratios[0], 1.0);  // the first dc-order (2) updates are never compensated
        QCOMPARE(found.ratios[1], 1.0);
        QVERIFY(!found.fromCache);
        dcscope::SolverConfig compensated = unipc(8);
        compensated.ratios = found.ratios;
        const double plain = batchMse(*m_model, unipc(8), 3.0, options());
        const double dc = batchMse(*m_model, compensated, 3.0, options());
        qInfo() << "search batch MSE: plain" << plain << "DC" << dc;
        QVERIFY2(dc < 0.9 * plain, qPrintable(QStringLiteral("plain %1, DC %2").arg(plain).arg(dc)));
    }

    void theSecondRequestComesFromTheCache() {
        const auto first = dcscope::quickSearchRatios(*m_model, unipc(6), 3.0, options());
        QVERIFY(!first.cacheFile.empty());
        QVERIFY(std::filesystem::is_regular_file(first.cacheFile));
        const auto second = dcscope::quickSearchRatios(*m_model, unipc(6), 3.0, options());
        QVERIFY(second.fromCache);
        QCOMPARE(second.ratios, first.ratios);
        QCOMPARE(dcscope::loadRatios(first.cacheFile), first.ratios);
        // Any other setting is another entry.
        const auto otherGuidance = dcscope::quickSearchRatios(*m_model, unipc(6), 5.0, options());
        QVERIFY(!otherGuidance.fromCache);
        QVERIFY(otherGuidance.cacheFile != first.cacheFile);
        dcscope::SolverConfig bh1 = unipc(6);
        bh1.variant = dcscope::UniPCVariant::Bh1;
        QVERIFY(dcscope::quickSearchRatios(*m_model, bh1, 3.0, options()).cacheFile != first.cacheFile);
    }

    void aDamagedEntryIsSearchedAgain() {
        const auto first = dcscope::quickSearchRatios(*m_model, unipc(5), 3.0, options());
        {
            std::ofstream damaged(first.cacheFile, std::ios::trunc);
            damaged << "{\"ratios\": [1, 1, 0.9";
        }
        const auto again = dcscope::quickSearchRatios(*m_model, unipc(5), 3.0, options());
        QVERIFY(!again.fromCache);
        QCOMPARE(again.ratios, first.ratios);  // the search is deterministic
        QCOMPARE(dcscope::loadRatios(first.cacheFile), first.ratios);
    }

    void impossibleSettingsAreRefused() {
        dcscope::QuickSearchOptions none = options();
        none.datapoints = 0;
        QVERIFY_THROWS_EXCEPTION(dcscope::Error, dcscope::quickSearchRatios(*m_model, unipc(8), 3.0, none));
        QVERIFY_THROWS_EXCEPTION(dcscope::Error, dcscope::quickSearchRatios(*m_model, unipc(0), 3.0, options()));
    }
};

QTEST_MAIN(TestQuickSearch)
#include "test_quick_search.moc"
