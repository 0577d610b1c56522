#include "sweep_grid.h"

#include <QFont>
#include <QFontMetrics>
#include <QPainter>
#include <QSaveFile>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <utility>

#include <ATen/ATen.h>

#include "dcscope/errors.h"
#include "dcscope/ground_truth.h"
#include "dcscope/guided_denoiser.h"
#include "dcscope/search.h"
#include "ratio_curve_editor.h"
#include "research.h"
#include "tensor_conversion.h"

namespace {

constexpr int kMaxCells = 64;
constexpr int kMaxSamples = 16;
constexpr int kMinTile = 64;      // tiny images (8, 28, 32 px) are enlarged to at least this, by a whole factor
constexpr int kMaxTile = 256;     // large ones are reduced to this, so a 4 x 16 grid stays a picture
constexpr int kScatterSize = 160;  // 2-D models: one scatter plot per cell

void refuse(const std::string& message) { throw dcscope::Error(dcscope::ErrorCode::InvalidArgument, message); }

bool isPointModel(const dcscope::DiffusionModel& model) { return model.info().sampleShape == std::vector<int64_t>{2}; }

/// One column of NfeBySolver; steps and DC ratios are set per row.
struct SolverColumn {
    QString label;
    dcscope::SolverConfig config;
    bool compensated = false;
};

/// The base solver plain and with DC, then the held-out table's baselines (the CLI's rule:
/// DPM-Solver++ 2M and DDIM, disabled correctors cleared, one that is the base solver skipped).
std::vector<SolverColumn> solverColumns(const dcscope::SolverConfig& base) {
    const std::vector<dcscope::EvaluationEntry> entries = dcscope::heldOutEntries(base, {}, std::nullopt, true);
    const QString name = QString::fromStdString(dcscope::displayName(entries.front().config));
    std::vector<SolverColumn> columns{{name, entries.front().config, false}, {name + QStringLiteral(" + DC"), entries.front().config, true}};
    for (size_t i = 1; i < entries.size(); ++i)
        columns.push_back({QString::fromStdString(dcscope::displayName(entries[i].config)), entries[i].config, false});
    return columns;
}

int columnCount(const SweepSpec& spec) {
    return spec.layout == SweepLayout::NfeBySolver ? int(solverColumns(spec.base).size()) : int(spec.nfes.size());
}

int rowCount(const SweepSpec& spec) {
    return spec.layout == SweepLayout::NfeBySolver ? int(spec.nfes.size()) : int(spec.guidances.size());
}

/// The DC ratios of a cell: CPR where coefficients are given, else the window's curve resampled
/// over k / (S - 1); rho_k = 1 for k < dc-order either way (validate(SolverConfig)'s rule).
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

/// Every cell's label, configuration and guidance, row-major; the labels go into `grid`.
QVector<SweepCell> planCells(const SweepSpec& spec, SweepGrid& grid) {
    QVector<SweepCell> cells;
    const auto add = [&](int row, int column, dcscope::SolverConfig config, double guidance, int plainColumn) {
        SweepCell cell;
        cell.row = row;
        cell.column = column;
        cell.label = grid.rowLabels[row] + QStringLiteral(", ") + grid.columnLabels[column];
        cell.config = std::move(config);
        cell.guidance = guidance;
        cell.plainColumn = plainColumn;
        dcscope::validate(cell.config);
        cells.append(cell);
    };
    if (spec.layout == SweepLayout::NfeBySolver) {
        const std::vector<SolverColumn> columns = solverColumns(spec.base);
        for (const SolverColumn& column : columns) grid.columnLabels << column.label;
        for (int row = 0; row < spec.nfes.size(); ++row) {
            grid.rowLabels << QStringLiteral("NFE %1").arg(spec.nfes[row]);
            for (int c = 0; c < int(columns.size()); ++c) {
                dcscope::SolverConfig config = columns[size_t(c)].config;
                config.steps = spec.nfes[row];
                if (columns[size_t(c)].compensated) config.ratios = compensationRatios(spec, config.steps, spec.guidance);
                add(row, c, config, spec.guidance, columns[size_t(c)].compensated ? 0 : -1);
            }
        }
        return cells;
    }
    for (const int nfe : spec.nfes) grid.columnLabels << QStringLiteral("NFE %1").arg(nfe);
    for (const double guidance : spec.guidances) grid.rowLabels << QStringLiteral("guidance %1").arg(guidance);
    for (int row = 0; row < spec.guidances.size(); ++row) {
        for (int column = 0; column < spec.nfes.size(); ++column) {
            dcscope::SolverConfig config = spec.base;
            config.steps = spec.nfes[column];
            config.ratios.clear();
            if (spec.compensated) config.ratios = compensationRatios(spec, config.steps, spec.guidances[row]);
            add(row, column, config, spec.guidances[row], -1);
        }
    }
    return cells;
}

/// The batch's classes, as the window's datapointClasses: each in turn (makeDatapoints), none, or one.
at::Tensor cellClasses(const dcscope::DiffusionModel& model, const SweepSpec& spec, const dcscope::Datapoints& data) {
    if (!model.isConditional() || spec.classChoice == -2) return {};
    if (spec.classChoice == -1) return data.classes;
    if (spec.classChoice < 0 || spec.classChoice >= model.info().numClasses)
        refuse("class: " + std::to_string(spec.classChoice) + " is not a class of model '" + model.info().name + "' (it has " +
               std::to_string(model.info().numClasses) + ")");
    return at::full({spec.samples}, int64_t(spec.classChoice), at::TensorOptions().dtype(at::kLong));
}

QString classText(const dcscope::DiffusionModel& model, int choice) {
    if (!model.isConditional()) return {};
    if (choice == -2) return QStringLiteral(", unconditional");
    if (choice == -1) return QStringLiteral(", classes in turn");
    const auto& labels = model.info().labels;
    return QStringLiteral(", class %1").arg(size_t(choice) < labels.size() ? QString::fromStdString(labels[size_t(choice)]) : QString::number(choice));
}

// ---- drawing ---------------------------------------------------------------------------------

using Tiles = QVector<QImage>;  // one cell: its samples as images, or (2-D models) one scatter of them

/// 2-D samples (blue) joined to their ground truth (grey). `extent` is shared by every cell so
/// the plots compare; samples beyond it are drawn on the border as rings.
QImage scatterImage(const at::Tensor& samples, const at::Tensor& truth, double extent) {
    QImage image(kScatterSize, kScatterSize, QImage::Format_RGB32);
    image.fill(QColor(250, 250, 250));
    QPainter painter(&image);
    painter.setRenderHint(QPainter::Antialiasing);
    const auto map = [&](const QPointF& p, bool* outside = nullptr) {
        const double x = std::clamp(p.x() / extent, -1.0, 1.0), y = std::clamp(p.y() / extent, -1.0, 1.0);
        if (outside) *outside = std::abs(p.x()) > extent || std::abs(p.y()) > extent || !std::isfinite(p.x() + p.y());
        return QPointF((x + 1.0) * (kScatterSize - 8) / 2.0 + 4, (1.0 - y) * (kScatterSize - 8) / 2.0 + 4);
    };
    painter.setPen(QPen(QColor(225, 225, 225), 1));
    painter.drawLine(map({0, -extent}), map({0, extent}));
    painter.drawLine(map({-extent, 0}), map({extent, 0}));
    const QVector<QPointF> points = pointsFromBatch(samples), targets = pointsFromBatch(truth);
    painter.setPen(QPen(QColor(160, 160, 160), 1));
    for (int i = 0; i < points.size() && i < targets.size(); ++i) painter.drawLine(map(points[i]), map(targets[i]));
    painter.setPen(Qt::NoPen);
    painter.setBrush(QColor(130, 130, 130));
    for (const QPointF& p : targets) painter.drawEllipse(map(p), 2.5, 2.5);
    for (const QPointF& p : points) {
        bool outside = false;
        const QPointF at = map(p, &outside);
        painter.setPen(outside ? QPen(QColor(30, 90, 200), 1.5) : Qt::NoPen);
        painter.setBrush(outside ? Qt::NoBrush : QBrush(QColor(30, 90, 200)));
        painter.drawEllipse(at, 3.5, 3.5);
    }
    return image;
}

/// Scales an image by a whole factor up to at least kMinTile (nearest neighbour: pixels stay
/// pixels), or down to kMaxTile.
QImage tileImage(const QImage& image) {
    const int side = std::max(image.width(), image.height());
    if (side <= 0) return image;
    if (side > kMaxTile) return image.scaled(kMaxTile, kMaxTile, Qt::KeepAspectRatio, Qt::SmoothTransformation);
    const int factor = (kMinTile + side - 1) / side;
    return image.scaled(image.width() * factor, image.height() * factor, Qt::IgnoreAspectRatio, Qt::FastTransformation);
}

QFont pixelFont(int pixels, bool bold = false) {
    QFont font;
    font.setPixelSize(pixels);
    font.setBold(bold);
    return font;
}

/// "MSE 1.23e-03" and, for a DC cell, its change against the plain cell ("-18.8%").
std::pair<QString, QString> captionOf(const SweepCell& cell, const SweepGrid& grid) {
    const QString mse = QStringLiteral("MSE %1").arg(cell.mse, 0, 'e', 2);
    if (cell.plainColumn < 0) return {mse, {}};
    const SweepCell& plain = grid.cells[cell.row * int(grid.columnLabels.size()) + cell.plainColumn];
    if (!(plain.mse > 0)) return {mse, {}};
    const double percent = 100.0 * (cell.mse / plain.mse - 1.0);
    return {mse, QStringLiteral("%1%2%").arg(percent < 0 ? QStringLiteral("-") : QStringLiteral("+")).arg(std::abs(percent), 0, 'f', 1)};
}

/// Fonts, sizes and positions of a grid, all measured before anything is painted.
struct GridLayout {
    static constexpr int kMargin = 16, kGap = 3, kColumnGap = 20, kRowGap = 14;
    QFont title = pixelFont(17, true), note = pixelFont(12), header = pixelFont(14, true), caption = pixelFont(13), calls = pixelFont(11);
    int cellWidth = 0, tileHeight = 0, columnWidth = 0, rowLabelWidth = 0;
    int headerTop = 0, gridTop = 0, captionTop = 0, cellHeight = 0;
    QSize size;
    int columnX(int column) const { return kMargin + rowLabelWidth + column * (columnWidth + kColumnGap); }
    int rowY(int row) const { return gridTop + row * (cellHeight + kRowGap); }
};

/// Title and notes on top, column headers, row headers on the left, one cell per (row, column):
/// its tiles in one row, two caption lines under them. Columns are as wide as their widest
/// header, tiles or caption, so nothing overlaps.
GridLayout layoutGrid(const SweepGrid& grid, const std::vector<Tiles>& tiles, const QString& title, const QStringList& notes) {
    GridLayout layout;
    const QFontMetrics titleMetrics(layout.title), noteMetrics(layout.note), headerMetrics(layout.header),
        captionMetrics(layout.caption), callsMetrics(layout.calls);
    for (const Tiles& cell : tiles) {
        int width = -GridLayout::kGap;
        for (const QImage& image : cell) {
            width += image.width() + GridLayout::kGap;
            layout.tileHeight = std::max(layout.tileHeight, image.height());
        }
        layout.cellWidth = std::max(layout.cellWidth, width);
    }
    layout.columnWidth = layout.cellWidth;
    for (const QString& label : grid.columnLabels) layout.columnWidth = std::max(layout.columnWidth, headerMetrics.horizontalAdvance(label));
    for (const SweepCell& cell : grid.cells) {
        const auto [mse, change] = captionOf(cell, grid);
        layout.columnWidth = std::max(layout.columnWidth, captionMetrics.horizontalAdvance(mse + QStringLiteral("  ") + change));
    }
    layout.columnWidth += 8;
    for (const QString& label : grid.rowLabels) layout.rowLabelWidth = std::max(layout.rowLabelWidth, headerMetrics.horizontalAdvance(label));
    layout.rowLabelWidth += 18;
    layout.captionTop = layout.tileHeight + 5;
    layout.cellHeight = layout.captionTop + captionMetrics.height() + callsMetrics.height();
    layout.headerTop = GridLayout::kMargin + titleMetrics.height() + 4 + int(notes.size()) * noteMetrics.height() + 12;
    layout.gridTop = layout.headerTop + headerMetrics.height() + 8;
    const int columns = int(grid.columnLabels.size()), rows = int(grid.rowLabels.size());
    int width = layout.columnX(columns) - GridLayout::kColumnGap + GridLayout::kMargin;
    width = std::max(width, 2 * GridLayout::kMargin + titleMetrics.horizontalAdvance(title));
    for (const QString& note : notes) width = std::max(width, 2 * GridLayout::kMargin + noteMetrics.horizontalAdvance(note));
    layout.size = QSize(width, layout.rowY(rows) - GridLayout::kRowGap + GridLayout::kMargin);
    return layout;
}

const QColor kInk(25, 25, 25), kMuted(105, 105, 105), kRule(222, 222, 222);

void drawHeadings(QPainter& painter, const GridLayout& layout, const SweepGrid& grid, const QString& title, const QStringList& notes) {
    const int margin = GridLayout::kMargin, width = layout.size.width();
    const QFontMetrics titleMetrics(layout.title), noteMetrics(layout.note), headerMetrics(layout.header);
    painter.setPen(kInk);
    painter.setFont(layout.title);
    painter.drawText(QRect(margin, margin, width - 2 * margin, titleMetrics.height()), Qt::AlignLeft | Qt::AlignVCenter, title);
    painter.setFont(layout.note);
    painter.setPen(kMuted);
    for (int i = 0; i < notes.size(); ++i)
        painter.drawText(QRect(margin, margin + titleMetrics.height() + 4 + i * noteMetrics.height(), width - 2 * margin, noteMetrics.height()),
                         Qt::AlignLeft | Qt::AlignVCenter, notes[i]);
    painter.setFont(layout.header);
    painter.setPen(kInk);
    for (int column = 0; column < grid.columnLabels.size(); ++column)
        painter.drawText(QRect(layout.columnX(column), layout.headerTop, layout.columnWidth, headerMetrics.height()), Qt::AlignCenter,
                         grid.columnLabels[column]);
    for (int row = 0; row < grid.rowLabels.size(); ++row) {
        painter.setPen(kRule);  // a rule above every row
        const int y = row == 0 ? layout.gridTop - 5 : layout.rowY(row) - GridLayout::kRowGap / 2;
        painter.drawLine(margin, y, width - margin, y);
        painter.setPen(kInk);
        painter.drawText(QRect(margin, layout.rowY(row), layout.rowLabelWidth, layout.tileHeight), Qt::AlignLeft | Qt::AlignVCenter,
                         grid.rowLabels[row]);
    }
}

void drawCell(QPainter& painter, const GridLayout& layout, const SweepGrid& grid, const SweepCell& cell, const Tiles& tiles) {
    const int left = layout.columnX(cell.column), top = layout.rowY(cell.row), width = layout.columnWidth;
    int x = left + (width - layout.cellWidth) / 2;
    painter.setBrush(Qt::NoBrush);
    for (const QImage& tile : tiles) {
        const int y = top + (layout.tileHeight - tile.height()) / 2;
        painter.drawImage(QPoint(x, y), tile);
        painter.setPen(kRule);
        painter.drawRect(QRect(x - 1, y - 1, tile.width() + 1, tile.height() + 1));
        x += tile.width() + GridLayout::kGap;
    }
    const QFontMetrics captionMetrics(layout.caption), callsMetrics(layout.calls);
    const auto [mse, change] = captionOf(cell, grid);
    const QString first = change.isEmpty() ? mse : mse + QStringLiteral("  ");
    const int firstWidth = captionMetrics.horizontalAdvance(first);
    const int textLeft = left + (width - firstWidth - captionMetrics.horizontalAdvance(change)) / 2;
    const int captionY = top + layout.captionTop;
    painter.setFont(layout.caption);
    painter.setPen(kInk);
    painter.drawText(QRect(textLeft, captionY, firstWidth, captionMetrics.height()), Qt::AlignLeft | Qt::AlignVCenter, first);
    // Green for an improvement, red for a loss, grey for none (rho = 1 where the NFE is below dc-order + 1).
    const bool unchanged = change.endsWith(QStringLiteral("0.0%"));
    painter.setPen(unchanged ? kMuted : change.startsWith(QLatin1Char('-')) ? QColor(20, 125, 50) : QColor(190, 40, 30));
    painter.drawText(QRect(textLeft + firstWidth, captionY, width, captionMetrics.height()), Qt::AlignLeft | Qt::AlignVCenter, change);
    painter.setFont(layout.calls);
    painter.setPen(kMuted);
    painter.drawText(QRect(left, captionY + captionMetrics.height(), width, callsMetrics.height()), Qt::AlignCenter,
                     QStringLiteral("%1 model calls").arg(cell.modelCalls));
}

QImage drawGrid(const SweepGrid& grid, const std::vector<Tiles>& tiles, const QString& title, const QStringList& notes) {
    const GridLayout layout = layoutGrid(grid, tiles, title, notes);
    QImage image(layout.size, QImage::Format_RGB32);
    image.fill(QColor(255, 255, 255));
    QPainter painter(&image);
    painter.setRenderHint(QPainter::TextAntialiasing);
    drawHeadings(painter, layout, grid, title, notes);
    for (int i = 0; i < grid.cells.size(); ++i) drawCell(painter, layout, grid, grid.cells[i], tiles[size_t(i)]);
    painter.end();
    return image;
}

// ---- sampling --------------------------------------------------------------------------------

/// Ground truths by (guidance, coarse times): the cells of one NFE and guidance share one.
using GroundTruths = std::map<std::pair<double, std::vector<double>>, dcscope::GroundTruth>;

struct CellResult {
    at::Tensor final;                     // x_S on the model's device
    const dcscope::GroundTruth* truth = nullptr;  // in the GroundTruths map
};

/// Runs every cell from the same noise, fills in its MSE and model calls and the grid's totals.
std::vector<CellResult> sampleCells(dcscope::DiffusionModel& model, const SweepSpec& spec, const dcscope::CancelToken* cancel,
                                    const SweepProgress& progress, SweepGrid& grid, GroundTruths& truths) {
    const dcscope::Datapoints data = dcscope::makeDatapoints(model, spec.seed, spec.samples);
    const at::Tensor classes = cellClasses(model, spec, data);
    const at::Tensor noise = data.noise.to(dcscope::parseDevice(spec.device));  // drawn on the CPU, like the window's
    // Only the ground truth's final state is compared: no error estimate (half a fine solve more).
    dcscope::GroundTruthOptions truthOptions;
    truthOptions.fineSteps = spec.groundTruthFineSteps;
    truthOptions.estimateError = false;
    std::vector<CellResult> results;
    const int total = int(grid.cells.size());
    for (int i = 0; i < total; ++i) {
        SweepCell& cell = grid.cells[i];
        dcscope::GuidedDenoiser denoiser(model, dcscope::Conditioning{classes, cell.guidance}, cancel);
        const dcscope::MultistepSampler sampler(model.schedule(), cell.config);
        auto found = truths.find({cell.guidance, sampler.times()});
        if (progress)
            progress(i, total, QStringLiteral("cell %1 of %2: %3%4").arg(i + 1).arg(total).arg(cell.label,
                                 found == truths.end() ? QStringLiteral(" (its ground truth first)") : QString()));
        if (found == truths.end()) {
            found = truths.emplace(std::make_pair(cell.guidance, sampler.times()),
                                   dcscope::computeGroundTruth(denoiser, noise, sampler.times(), truthOptions)).first;
            grid.modelCalls += found->second.modelEvaluations;
        }
        const int callsBefore = denoiser.nfe();
        const at::Tensor final = sampler.run(denoiser, noise);
        cell.modelCalls = denoiser.nfe() - callsBefore;
        grid.modelCalls += cell.modelCalls;
        cell.mse = (final.to(at::kDouble) - found->second.finalState().to(at::kDouble)).pow(2).mean().item<double>();
        results.push_back({final, &found->second});
    }
    grid.groundTruths = int(truths.size());
    return results;
}

std::vector<Tiles> tilesOf(dcscope::DiffusionModel& model, const std::vector<CellResult>& results, const GroundTruths& truths) {
    std::vector<Tiles> tiles;
    if (isPointModel(model)) {
        double extent = 1e-6;  // the ground truths' spread, shared by every scatter
        for (const auto& entry : truths) extent = std::max(extent, entry.second.finalState().abs().max().item<double>() * 1.25);
        for (const CellResult& result : results) tiles.push_back({scatterImage(result.final.cpu(), result.truth->finalState().cpu(), extent)});
        return tiles;
    }
    for (const CellResult& result : results) {
        Tiles cell;
        for (const QImage& image : imagesFromBatch(model.decode(result.final).cpu(), model.info().valueRange)) cell.append(tileImage(image));
        tiles.push_back(cell);
    }
    return tiles;
}

QString titleOf(const dcscope::DiffusionModel& model, const SweepSpec& spec) {
    const QString axes = spec.layout == SweepLayout::NfeBySolver
                             ? QStringLiteral("guidance %1").arg(spec.guidance)
                             : QString::fromStdString(dcscope::displayName(spec.base)) + (spec.compensated ? QStringLiteral(" + DC") : QString());
    return QStringLiteral("%1: seed %2, %3%4, %5 sample%6 per cell")
        .arg(QString::fromStdString(model.info().name))
        .arg(spec.seed)
        .arg(axes, classText(model, spec.classChoice))
        .arg(spec.samples)
        .arg(spec.samples == 1 ? QString() : QStringLiteral("s"));
}

QStringList notesOf(const dcscope::DiffusionModel& model, const SweepSpec& spec) {
    QString truth = QStringLiteral("MSE of x_S against the ground truth (%1, %2 fine steps)")
                        .arg(QString::fromStdString(dcscope::displayName(dcscope::GroundTruthOptions{}.fineSolver)))
                        .arg(QString::fromStdString(dcscope::describeFineSteps(spec.groundTruthFineSteps)));
    if (spec.layout == SweepLayout::NfeBySolver || spec.compensated)
        truth += spec.cpr ? QStringLiteral("; DC ratios: CPR prediction per NFE and guidance") : QStringLiteral("; DC ratios: the curve resampled to each NFE");
    QStringList notes{truth};
    if (spec.layout == SweepLayout::NfeBySolver) notes << QStringLiteral("the %-change of the DC cells is against the plain cell of their row");
    if (isPointModel(model)) notes << QStringLiteral("dots: samples (blue; rings lie outside the plot) joined to their ground truth (grey)");
    return notes;
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
    if (spec.samples < 1 || spec.samples > kMaxSamples)
        refuse("samples: must be 1.." + std::to_string(kMaxSamples) + ", got " + std::to_string(spec.samples));
    if (spec.groundTruthFineSteps < 0)
        refuse("ground-truth fine steps: must be >= 1 (or 0 for the default), got " + std::to_string(spec.groundTruthFineSteps));
    if (spec.classChoice < -2) refuse("class: " + std::to_string(spec.classChoice) + " is neither a class nor -1 (each in turn) or -2 (none)");
    const int cells = rowCount(spec) * columnCount(spec);
    if (cells > kMaxCells) refuse("grid: " + std::to_string(cells) + " cells, at most " + std::to_string(kMaxCells));
}

SweepGrid computeSweepGrid(dcscope::DiffusionModel& model, const SweepSpec& spec, const dcscope::CancelToken* cancel,
                           const SweepProgress& progress) {
    validate(spec);
    if (cancel) cancel->throwIfCancelled();
    const auto start = std::chrono::steady_clock::now();
    SweepGrid grid;
    grid.cells = planCells(spec, grid);
    GroundTruths truths;
    const std::vector<CellResult> results = sampleCells(model, spec, cancel, progress, grid, truths);
    if (progress) progress(int(grid.cells.size()), int(grid.cells.size()), QStringLiteral("drawing the grid"));
    grid.image = drawGrid(grid, tilesOf(model, results, truths), titleOf(model, spec), notesOf(model, spec));
    grid.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return grid;
}

bool saveSweepGrid(const SweepGrid& grid, const QString& path, QString* error) {
    const auto fail = [&](const QString& why) {
        if (error) *error = QStringLiteral("%1: %2").arg(path, why.simplified());
        return false;
    };
    if (grid.image.isNull()) return fail(QStringLiteral("the grid has no image"));
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly)) return fail(QStringLiteral("cannot write (%1)").arg(file.errorString()));
    if (!grid.image.save(&file, "PNG")) {
        file.cancelWriting();
        return fail(QStringLiteral("cannot encode the PNG (%1)").arg(file.errorString()));
    }
    if (!file.commit()) return fail(QStringLiteral("cannot write (%1)").arg(file.errorString()));
    return true;
}
