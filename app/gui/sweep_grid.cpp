#include "sweep_grid.h"

#include <QFileInfo>
#include <QFont>
#include <QFontMetrics>
#include <QPainter>
#include <QSaveFile>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <tuple>

#include <ATen/ATen.h>

#include "dcscope/errors.h"
#include "dcscope/ground_truth.h"
#include "dcscope/guided_denoiser.h"
#include "dcscope/search.h"
#include "ratio_curve_editor.h"
#include "tensor_conversion.h"

namespace {

constexpr int kMaxCells = 64;
constexpr int kMinTile = 64;  // tiny images (28 or 32 px) are enlarged to at least this

void refuse(const std::string& message) { throw dcscope::Error(dcscope::ErrorCode::InvalidArgument, message); }

/// The DC ratios of a cell: CPR where coefficients are known, else the curve resampled.
std::vector<double> compensationRatios(const SweepSpec& spec, int steps, double guidance) {
    std::vector<double> ratios;
    if (spec.cpr) {
        ratios = dcscope::predictCprRatios(*spec.cpr, guidance, steps);
    } else {
        const QVector<double> curve(spec.base.ratios.begin(), spec.base.ratios.end());
        const QVector<double> resampled = RatioCurveEditor::resampled(curve, steps);
        ratios.assign(resampled.begin(), resampled.end());
    }
    for (int k = 0; k < std::min(spec.base.dcOrder, steps); ++k) ratios[size_t(k)] = 1.0;
    return ratios;
}

dcscope::SolverConfig baseline(const dcscope::SolverConfig& base, dcscope::SolverType type) {
    dcscope::SolverConfig config = base;
    config.solver = type;
    config.order = type == dcscope::SolverType::Ddim ? 1 : 2;
    config.disabledCorrectors.clear();
    config.ratios.clear();
    return config;
}

QString guidanceLabel(double guidance) { return QStringLiteral("guidance %1").arg(guidance); }

struct CellPlan {
    int row = 0;
    int column = 0;
    dcscope::SolverConfig config;
    double guidance = 1.0;
    int plainColumn = -1;  // the column of the same row sampled plainly (for the DC cells' change)
};

at::Tensor cellClasses(const dcscope::DiffusionModel& model, const SweepSpec& spec, const dcscope::Datapoints& data) {
    if (!model.isConditional() || spec.classChoice == -2) return {};
    if (spec.classChoice == -1) return data.classes;
    if (spec.classChoice < 0 || spec.classChoice >= model.info().numClasses)
        refuse("class: " + std::to_string(spec.classChoice) + " is not a class of model '" + model.info().name + "'");
    return at::full({spec.samples}, int64_t(spec.classChoice), at::TensorOptions().dtype(at::kLong));
}

/// A square scatter of 2-D samples (points models have no images).
QImage scatterImage(const at::Tensor& samples, const at::Tensor& truth, int size) {
    QImage image(size, size, QImage::Format_RGB32);
    image.fill(QColor(250, 250, 250));
    QPainter painter(&image);
    painter.setRenderHint(QPainter::Antialiasing);
    const QVector<QPointF> points = pointsFromBatch(samples);
    const QVector<QPointF> targets = pointsFromBatch(truth);
    double extent = 1e-6;
    for (const QPointF& p : points + targets) extent = std::max({extent, std::abs(p.x()), std::abs(p.y())});
    extent *= 1.15;
    const auto map = [&](const QPointF& p) {
        return QPointF((p.x() / extent + 1.0) * size / 2.0, (1.0 - p.y() / extent) * size / 2.0);
    };
    painter.setPen(QPen(QColor(150, 150, 150), 1));
    for (int i = 0; i < points.size() && i < targets.size(); ++i) painter.drawLine(map(points[i]), map(targets[i]));
    painter.setPen(Qt::NoPen);
    painter.setBrush(QColor(120, 120, 120));
    for (const QPointF& p : targets) painter.drawEllipse(map(p), 2.0, 2.0);
    painter.setBrush(QColor(30, 90, 200));
    for (const QPointF& p : points) painter.drawEllipse(map(p), 3.0, 3.0);
    return image;
}

}  // namespace

void validate(const SweepSpec& spec) {
    if (spec.nfes.isEmpty()) refuse("NFE list: the list is empty");
    for (const int nfe : spec.nfes)
        if (nfe < 1) refuse("NFE list: every value must be >= 1, got " + std::to_string(nfe));
    if (spec.layout == SweepLayout::GuidanceByNfe && spec.guidances.isEmpty()) refuse("guidance list: the list is empty");
    for (const double guidance : spec.guidances)
        if (!std::isfinite(guidance)) refuse("guidance list: every value must be finite");
    if (!std::isfinite(spec.guidance)) refuse("guidance: must be finite");
    if (spec.samples < 1 || spec.samples > 16) refuse("samples: must be 1..16, got " + std::to_string(spec.samples));
    if (spec.groundTruthFineSteps < 1) refuse("ground-truth fine steps: must be >= 1");
    const int cells = spec.layout == SweepLayout::NfeBySolver ? int(spec.nfes.size()) * 4
                                                               : int(spec.nfes.size() * spec.guidances.size());
    if (cells > kMaxCells) refuse("grid: " + std::to_string(cells) + " cells, at most " + std::to_string(kMaxCells));
}

SweepGrid computeSweepGrid(dcscope::DiffusionModel& model, const SweepSpec& spec, const dcscope::CancelToken* cancel,
                           const SweepProgress& progress) {
    validate(spec);
    const auto start = std::chrono::steady_clock::now();
    SweepGrid grid;
    std::vector<CellPlan> plans;
    const QString solverName = QString::fromStdString(dcscope::displayName(spec.base));
    if (spec.layout == SweepLayout::NfeBySolver) {
        const dcscope::SolverConfig dpm = baseline(spec.base, dcscope::SolverType::DpmSolverPlusPlus);
        const dcscope::SolverConfig ddim = baseline(spec.base, dcscope::SolverType::Ddim);
        grid.columnLabels = {solverName, solverName + QStringLiteral(" + DC"), QString::fromStdString(dcscope::displayName(dpm)),
                             QString::fromStdString(dcscope::displayName(ddim))};
        for (int row = 0; row < spec.nfes.size(); ++row) {
            const int nfe = spec.nfes[row];
            grid.rowLabels << QStringLiteral("NFE %1").arg(nfe);
            dcscope::SolverConfig plain = spec.base;
            plain.steps = nfe;
            plain.ratios.clear();
            dcscope::SolverConfig compensated = plain;
            compensated.ratios = compensationRatios(spec, nfe, spec.guidance);
            dcscope::SolverConfig others[2] = {dpm, ddim};
            for (auto& other : others) other.steps = nfe;
            plans.push_back({row, 0, plain, spec.guidance});
            plans.push_back({row, 1, compensated, spec.guidance, 0});
            plans.push_back({row, 2, others[0], spec.guidance});
            plans.push_back({row, 3, others[1], spec.guidance});
        }
    } else {
        for (const int nfe : spec.nfes) grid.columnLabels << QStringLiteral("NFE %1").arg(nfe);
        for (int row = 0; row < spec.guidances.size(); ++row) {
            const double guidance = spec.guidances[row];
            grid.rowLabels << guidanceLabel(guidance);
            for (int column = 0; column < spec.nfes.size(); ++column) {
                dcscope::SolverConfig config = spec.base;
                config.steps = spec.nfes[column];
                config.ratios.clear();
                if (spec.compensated) config.ratios = compensationRatios(spec, config.steps, guidance);
                plans.push_back({row, column, config, guidance});
            }
        }
    }
    for (const CellPlan& plan : plans) dcscope::validate(plan.config);

    const dcscope::Datapoints data = dcscope::makeDatapoints(model, spec.seed, spec.samples);
    const at::Tensor classes = cellClasses(model, spec, data);
    const at::Tensor noise = data.noise.to(dcscope::parseDevice(spec.device));  // drawn on the CPU, like the window's
    const bool points = model.info().sampleShape == std::vector<int64_t>{2};

    std::map<std::tuple<double, int, int>, dcscope::GroundTruth> truths;  // (guidance, steps, grid)
    std::vector<at::Tensor> finals(plans.size());
    const int total = int(plans.size());
    for (size_t i = 0; i < plans.size(); ++i) {
        const CellPlan& plan = plans[i];
        SweepCell cell;
        cell.row = plan.row;
        cell.column = plan.column;
        cell.config = plan.config;
        cell.guidance = plan.guidance;
        cell.label = grid.rowLabels[plan.row] + QStringLiteral(", ") + grid.columnLabels[plan.column];
        if (progress) progress(int(i), total, QStringLiteral("cell %1 of %2: %3").arg(i + 1).arg(total).arg(cell.label));
        dcscope::GuidedDenoiser denoiser(model, dcscope::Conditioning{classes, plan.guidance}, cancel);
        const dcscope::MultistepSampler sampler(model.schedule(), plan.config);
        const auto key = std::make_tuple(plan.guidance, plan.config.steps, int(plan.config.grid));
        auto found = truths.find(key);
        if (found == truths.end()) {
            dcscope::GroundTruthOptions options;
            options.fineSteps = spec.groundTruthFineSteps;
            found = truths.emplace(key, dcscope::computeGroundTruth(denoiser, noise, sampler.times(), options)).first;
            grid.modelCalls += found->second.modelEvaluations;
        }
        const int callsBefore = denoiser.nfe();
        const at::Tensor final = sampler.run(denoiser, noise);
        cell.modelCalls = denoiser.nfe() - callsBefore;
        grid.modelCalls += cell.modelCalls;
        cell.mse = (final.to(at::kDouble) - found->second.finalState().to(at::kDouble)).pow(2).mean().item<double>();
        finals[i] = final;
        grid.cells.push_back(cell);
    }
    if (progress) progress(total, total, QStringLiteral("drawing the grid"));

    // ---- drawing ----
    std::vector<QVector<QImage>> tiles(plans.size());
    int tileSize = kMinTile;
    for (size_t i = 0; i < plans.size(); ++i) {
        if (points) {
            const auto key = std::make_tuple(plans[i].guidance, plans[i].config.steps, int(plans[i].config.grid));
            tiles[i] = {scatterImage(finals[i].cpu(), truths.at(key).finalState().cpu(), 160)};
        } else {
            tiles[i] = imagesFromBatch(model.decode(finals[i]).cpu(), model.info().valueRange);
            if (!tiles[i].isEmpty()) tileSize = std::max(tileSize, tiles[i].front().width());
        }
    }
    if (points) tileSize = 160;
    const int perCell = points ? 1 : spec.samples;
    const int gap = 2;
    const int cellWidth = perCell * tileSize + (perCell - 1) * gap;
    QFont font;
    font.setPixelSize(13);
    QFont bold = font;
    bold.setBold(true);
    const QFontMetrics metrics(font);
    const int lineHeight = metrics.height();
    int rowLabelWidth = 0;
    for (const QString& label : grid.rowLabels) rowLabelWidth = std::max(rowLabelWidth, QFontMetrics(bold).horizontalAdvance(label));
    rowLabelWidth += 16;
    const int margin = 10;
    const int columnGap = 14;
    int columnWidth = cellWidth;
    for (const QString& label : grid.columnLabels) columnWidth = std::max(columnWidth, QFontMetrics(bold).horizontalAdvance(label));
    const int titleHeight = lineHeight + 8;
    const int headerHeight = lineHeight + 6;
    const int cellHeight = tileSize + 2 * lineHeight + 8;
    const int columns = int(grid.columnLabels.size()), rows = int(grid.rowLabels.size());
    const int width = 2 * margin + rowLabelWidth + columns * columnWidth + (columns - 1) * columnGap;
    const int height = 2 * margin + titleHeight + headerHeight + rows * cellHeight;
    grid.image = QImage(width, height, QImage::Format_RGB32);
    grid.image.fill(QColor(255, 255, 255));
    QPainter painter(&grid.image);
    painter.setFont(bold);
    painter.setPen(QColor(20, 20, 20));
    const QString title = QStringLiteral("%1, seed %2%3")
                              .arg(QString::fromStdString(model.info().name))
                              .arg(spec.seed)
                              .arg(spec.layout == SweepLayout::NfeBySolver ? QStringLiteral(", guidance %1").arg(spec.guidance)
                                                                           : QStringLiteral(", %1%2").arg(solverName, spec.compensated ? QStringLiteral(" + DC") : QString()));
    painter.drawText(QRect(margin, margin, width - 2 * margin, titleHeight), Qt::AlignLeft | Qt::AlignVCenter, title);
    const int top = margin + titleHeight;
    const auto columnX = [&](int column) { return margin + rowLabelWidth + column * (columnWidth + columnGap); };
    for (int column = 0; column < columns; ++column)
        painter.drawText(QRect(columnX(column), top, columnWidth, headerHeight), Qt::AlignHCenter | Qt::AlignVCenter, grid.columnLabels[column]);
    for (int row = 0; row < rows; ++row)
        painter.drawText(QRect(margin, top + headerHeight + row * cellHeight, rowLabelWidth, tileSize), Qt::AlignLeft | Qt::AlignVCenter,
                         grid.rowLabels[row]);
    painter.setFont(font);
    for (size_t i = 0; i < plans.size(); ++i) {
        const SweepCell& cell = grid.cells[int(i)];
        const int x0 = columnX(cell.column) + (columnWidth - cellWidth) / 2;
        const int y0 = top + headerHeight + cell.row * cellHeight;
        for (int t = 0; t < tiles[i].size() && t < perCell; ++t) {
            const QRect target(x0 + t * (tileSize + gap), y0, tileSize, tileSize);
            painter.drawImage(target, tiles[i][t].scaled(tileSize, tileSize, Qt::IgnoreAspectRatio, Qt::FastTransformation));
        }
        QString caption = QStringLiteral("MSE %1").arg(cell.mse, 0, 'e', 2);
        if (plans[i].plainColumn >= 0) {
            const SweepCell& plain = grid.cells[int(i) - (cell.column - plans[i].plainColumn)];
            if (plain.mse > 0) {
                const double percent = 100.0 * (cell.mse / plain.mse - 1.0);
                caption += QStringLiteral(" (%1%2%)").arg(percent < 0 ? QStringLiteral("−") : QStringLiteral("+")).arg(std::abs(percent), 0, 'f', 1);
            }
        }
        painter.drawText(QRect(columnX(cell.column), y0 + tileSize + 2, columnWidth, lineHeight), Qt::AlignHCenter | Qt::AlignVCenter, caption);
        painter.setPen(QColor(110, 110, 110));
        painter.drawText(QRect(columnX(cell.column), y0 + tileSize + 2 + lineHeight, columnWidth, lineHeight),
                         Qt::AlignHCenter | Qt::AlignVCenter, QStringLiteral("%1 model calls").arg(cell.modelCalls));
        painter.setPen(QColor(20, 20, 20));
    }
    painter.end();
    grid.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return grid;
}

bool saveSweepGrid(const SweepGrid& grid, const QString& path, QString* error) {
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly)) {
        if (error) *error = QStringLiteral("%1: cannot write (%2)").arg(path, file.errorString());
        return false;
    }
    if (!grid.image.save(&file, "PNG") || !file.commit()) {
        if (error) *error = QStringLiteral("%1: cannot write the PNG (%2)").arg(path, file.errorString());
        file.cancelWriting();
        return false;
    }
    return true;
}
