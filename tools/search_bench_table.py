#!/usr/bin/env python3
"""Summarises search-bench outputs (tools/search_bench_grid.sh) as the README's table.

Per cell (model, guidance, batch seed, NFE): the held-out MSE of each search divided by that of
rho = 1, with its 95% bootstrap interval; then how often the default search (scan) is at or
below the reference's own search, how often it is worse with intervals apart, its share of
adamw's model evaluations, and how often the greedy scan against the reference's target (ref-scan)
is at or below the reference's search (the same target, another optimiser).

    tools/search_bench_table.py DIR
"""
import re
import sys
from pathlib import Path

ROW = re.compile(r"^\s*(\d+)\s+(\S+)\s+([\d.]+)\s+[\d.]+\s+\S+\s+\[[^]]*\]\s+(\S+)\s+\[\s*(\S+),\s*(\S+)\]\s+\S+$")


def parse(path):
    cells = {}
    for line in path.read_text().splitlines():
        m = ROW.match(line)
        if m:
            nfe, method = int(m.group(1)), m.group(2)
            cells.setdefault(nfe, {})[method] = (float(m.group(3)), float(m.group(4)), float(m.group(5)), float(m.group(6)))
    return cells


def main(folder):
    files = sorted(Path(folder).glob("*_cfg*_seed*.txt"))
    if not files:
        sys.exit("no search-bench outputs in %s" % folder)
    print("| model | guidance | seed | NFE | ref | ref-scan | adamw | scan (default) | golden |")
    print("|---|---|---|---|---|---|---|---|---|")
    total = at_or_below = apart_worse = 0
    target_total = target_at_or_below = 0
    evals_scan = evals_adamw = 0.0
    for path in files:
        model, cfg, seed = re.match(r"(.+)_cfg([\d.]+)_seed(\d+)\.txt", path.name).groups()
        for nfe, rows in sorted(parse(path).items()):
            def cell(name):
                if name not in rows:
                    return "-"
                _, ratio, lo, hi = rows[name]
                return "%.3f [%.2f, %.2f]" % (ratio, lo, hi)
            print("| %s | %s | %s | %d | %s | %s | %s | %s | %s |" % (model, cfg, seed, nfe, cell("ref"), cell("ref-scan"), cell("adamw"),
                                                                      cell("scan"), cell("golden")))
            if "scan" in rows and "ref" in rows:
                total += 1
                scan, ref = rows["scan"], rows["ref"]
                at_or_below += scan[1] <= ref[1]
                apart_worse += scan[2] > ref[3]
            if "ref-scan" in rows and "ref" in rows:
                target_total += 1
                target_at_or_below += rows["ref-scan"][1] <= rows["ref"][1]
            if "scan" in rows and "adamw" in rows:
                evals_scan += rows["scan"][0]
                evals_adamw += rows["adamw"][0]
    print()
    evaluations = "%.3f" % (evals_scan / evals_adamw) if evals_adamw else "n/a (no adamw run)"
    print("cells: %d; scan at or below ref: %d (%.0f%%); scan worse than ref with intervals apart: %d; "
          "scan's model evaluations / adamw's: %s" % (total, at_or_below, 100.0 * at_or_below / max(1, total), apart_worse,
                                                       evaluations))
    if target_total:
        print("ref-scan (the greedy scan against the reference's target) at or below ref: %d of %d" % (target_at_or_below, target_total))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "search-bench-grid")
