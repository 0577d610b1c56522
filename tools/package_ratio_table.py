#!/usr/bin/env python3
"""Held-out evidence for a package's shipped CPR ratios: at every (NFE, guidance) grid point,
the held-out MSE of UniPC + DC with the package's CPR ratios divided by that of plain UniPC,
with a 95% bootstrap interval over the held-out datapoints (paired: both solvers on the same
datapoints, resampled together). Prints a Markdown table (rows NFE, columns guidance).

    /usr/bin/python3 tools/package_ratio_table.py [--cli build/app/dcscope-cli]
        [--model assets/models/fashion] [--nfe 5,6,8,10] [--cfg 3,5,7.5] [--heldout 64]

Runs `dcscope-cli evaluate --cpr PACKAGE --details FILE --no-baselines` per grid point. Needs numpy.
"""

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent


def ratio_with_interval(plain, dc, resamples=4000, seed=0):
    plain = np.asarray(plain, dtype=np.float64)
    dc = np.asarray(dc, dtype=np.float64)
    rng = np.random.default_rng(seed)
    index = rng.integers(0, plain.size, size=(resamples, plain.size))
    boot = dc[index].mean(axis=1) / plain[index].mean(axis=1)
    return dc.mean() / plain.mean(), np.quantile(boot, 0.025), np.quantile(boot, 0.975)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cli", default=str(REPO_ROOT / "build" / "app" / "dcscope-cli"))
    ap.add_argument("--model", default=str(REPO_ROOT / "assets" / "models" / "fashion"))
    ap.add_argument("--nfe", default="5,6,8,10,12,15,20,25")
    ap.add_argument("--cfg", default="1,2,3,5,7.5")
    ap.add_argument("--heldout", type=int, default=64)
    ap.add_argument("--extra", default="", help="extra evaluate flags, e.g. '--fine 100'")
    args = ap.parse_args(argv)
    nfes = [int(v) for v in args.nfe.split(",")]
    cfgs = [v for v in args.cfg.split(",")]
    cells = {}
    with tempfile.TemporaryDirectory() as work:
        for nfe in nfes:
            for cfg in cfgs:
                details = Path(work) / ("nfe%d_cfg%s.json" % (nfe, cfg))
                command = [args.cli, "evaluate", "--model", args.model, "--nfe", str(nfe), "--cfg", cfg,
                           "--heldout", str(args.heldout), "--cpr", args.model, "--no-baselines",
                           "--details", str(details)] + args.extra.split()
                subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
                document = json.loads(details.read_text())
                rows = {row["name"]: row for row in document["rows"]}
                plain = next(row for name, row in rows.items() if "+CPR" not in name)
                dc = next(row for name, row in rows.items() if name.endswith("+CPR"))
                cells[(nfe, cfg)] = ratio_with_interval(plain["per_datapoint"], dc["per_datapoint"]) + (document["gt_error"],)
                r, lo, hi, gt = cells[(nfe, cfg)]
                print("nfe %d cfg %s: %.3f [%.3f, %.3f] (gt error %.3g)" % (nfe, cfg, r, lo, hi, gt), file=sys.stderr, flush=True)
    print("| NFE | " + " | ".join("w %s" % c for c in cfgs) + " |")
    print("|---|" + "---|" * len(cfgs))
    for nfe in nfes:
        print("| %d | " % nfe + " | ".join("%.3f [%.3f, %.3f]" % cells[(nfe, c)][:3] for c in cfgs) + " |")
    ratios = np.array([v[0] for v in cells.values()])
    print("\nat or below 1: %d of %d grid points; mean ratio %.3f" % ((ratios <= 1.0).sum(), ratios.size, ratios.mean()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
