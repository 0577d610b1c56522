#!/usr/bin/env python3
"""Time a TorchScript model package in PyTorch and in dcscope, side by side.

Runs the package's network.pt in PyTorch (same thread count, no_grad, the file as saved, as
PyTorch users run it) at the batches of `dcscope-cli bench --model`, then runs that command and
prints both tables together: milliseconds per model call, first call of each batch shape and
steady state (median). A guided call is one network call on 2B samples, as in dcscope.

    /usr/bin/python3 tools/bench_pytorch.py --cli build/app/dcscope-cli [--model DIR] [--threads 2]

Needs Python 3 with torch (Debian: python3-torch).
"""

import argparse
import json
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

REPO_ROOT = Path(__file__).resolve().parent.parent


def time_pytorch(network_path, batches, guidances, repeats, num_classes, null_class, shape):
    """{(batch, guidance): (first_ms, steady_ms)} for a freshly loaded module."""
    module = torch.jit.load(str(network_path), map_location="cpu").eval()
    results = {}
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        # The load probe dcscope makes (batch 2 at the middle time), so both sides pay it at load.
        probe = torch.zeros(2, *shape)
        module(probe, torch.full((2,), 499.5), torch.tensor([0, null_class]))
        for batch in batches:
            for guidance in guidances:
                if guidance != 1.0 and num_classes == 0:
                    continue
                n = batch * (2 if guidance != 1.0 else 1)
                x = torch.randn(n, *shape, generator=generator)
                t = torch.full((n,), 499.5)
                c = torch.arange(n) % max(1, num_classes)
                if guidance != 1.0:
                    c[:batch] = null_class
                times = []
                for _ in range(repeats + 1):
                    start = time.perf_counter()
                    module(x, t, c).sum().item()
                    times.append(1000.0 * (time.perf_counter() - start))
                results[(batch, guidance)] = (times[0], statistics.median(times[1:]))
    return results


def time_dcscope(cli, model, threads, quick):
    command = [str(cli), "bench", "--model", str(model), "--threads", str(threads)]
    if quick:
        command.append("--quick")
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    rows = {}
    for line in output.splitlines():
        match = re.match(r"^(as-saved|frozen|inference|builtin)\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*$", line)
        if match:
            rows[(match.group(1), int(match.group(2)), float(match.group(3)))] = (float(match.group(4)), float(match.group(5)))
    default = re.search(r"^default network preparation: (\S+)$", output, re.MULTILINE)
    if not default:
        sys.exit("%s bench: no 'default network preparation' line in its output" % cli)
    return rows, default.group(1)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cli", default=str(REPO_ROOT / "build" / "app" / "dcscope-cli"), help="dcscope-cli executable")
    ap.add_argument("--model", default=str(REPO_ROOT / "assets" / "models" / "fashion"), help="model package folder")
    ap.add_argument("--threads", type=int, default=torch.get_num_threads(), help="intra-op threads for both")
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--quick", action="store_true", help="batches 1 and 4 only, 2 repeats")
    args = ap.parse_args(argv)

    torch.set_num_threads(args.threads)
    package = Path(args.model)
    manifest = json.loads((package / "model.json").read_text())
    conditioning = manifest.get("conditioning", {"type": "none"})
    num_classes = conditioning.get("num_classes", 0) if conditioning.get("type") == "class" else 0
    null_class = conditioning.get("null_class", 0)
    shape = manifest["sample_shape"]
    batches = [1, 4] if args.quick else [1, 4, 16]
    repeats = 2 if args.quick else args.repeats

    pytorch = time_pytorch(package / manifest["network"], batches, [1.0, 3.0], repeats, num_classes, null_class, shape)
    dcscope, default = time_dcscope(args.cli, package, args.threads, args.quick)

    print("model %s, %d threads, ms per model call (first call of the shape / steady median)" % (package, args.threads))
    print("%6s %8s  %17s  %17s  %17s  %12s" % ("batch", "guidance", "PyTorch", "dcscope frozen", "dcscope inference",
                                             "%s/PT" % default))
    for (batch, guidance), (first, steady) in sorted(pytorch.items()):
        frozen = dcscope.get(("frozen", batch, guidance))
        inference = dcscope.get(("inference", batch, guidance))
        # The ratio of dcscope's default preparation, first / steady, against PyTorch's.
        chosen = dcscope.get((default, batch, guidance))
        ratio = "%5.2f /%5.2f" % (chosen[0] / first, chosen[1] / steady) if chosen else "-"

        def cell(v):
            return "%7.2f / %7.2f" % v if v else "%17s" % "-"
        print("%6d %8.1f  %s  %s  %s  %12s" % (batch, guidance, cell((first, steady)), cell(frozen), cell(inference), ratio))
    return 0


if __name__ == "__main__":
    sys.exit(main())
