#pragma once

#include <QVector>

#include <algorithm>
#include <cmath>

/// The value at `fraction` (0..1) of the sorted values, nearest rank (0.5: median, 1: max); NaN
/// when empty. For the window's benchmark tables.
inline double percentile(QVector<double> values, double fraction) {
    if (values.isEmpty()) return std::nan("");
    std::sort(values.begin(), values.end());
    const int index = std::clamp(int(std::ceil(fraction * values.size())) - 1, 0, int(values.size()) - 1);
    return values[index];
}
