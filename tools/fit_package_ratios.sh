#!/usr/bin/env bash
# Searches DC ratios for a model package over an NFE x guidance grid with `dcscope-cli search`,
# fits CPR coefficients to them with `dcscope-cli cpr fit`, and records both in the package's
# model.json as its "compensation" entry (README, "Model packages"). Run it again whenever the
# network changes.
#
#   tools/fit_package_ratios.sh [--cli build/app/dcscope-cli] [--model assets/models/fashion]
#                               [--nfe "5 6 8 10 12 15 20 25"] [--cfg "1 2 3 5 7.5"]
set -euo pipefail

cli=build/app/dcscope-cli
model=assets/models/fashion
nfes="5 6 8 10 12 15 20 25"
cfgs="1 2 3 5 7.5"
while [ $# -gt 0 ]; do
    case "$1" in
        --cli) cli="$2"; shift 2 ;;
        --model) model="$2"; shift 2 ;;
        --nfe) nfes="$2"; shift 2 ;;
        --cfg) cfgs="$2"; shift 2 ;;
        *) echo "fit_package_ratios.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
folder="$model/compensation"
mkdir -p "$folder"
files=()
for nfe in $nfes; do
    for cfg in $cfgs; do
        out="$folder/ratios_nfe${nfe}_cfg${cfg}.json"
        "$cli" search --model "$model" --nfe "$nfe" --cfg "$cfg" -q --out "$out" >/dev/null
        echo "searched nfe $nfe cfg $cfg -> $out" >&2
        files+=("$out")
    done
done
"$cli" cpr fit --out "$folder/cpr.npy" "${files[@]}"

# The entry names files relative to the package folder; written atomically.
/usr/bin/python3 - "$model" "${files[@]}" <<'PY'
import json, os, sys, tempfile
package, files = sys.argv[1], sys.argv[2:]
manifest_path = os.path.join(package, "model.json")
with open(manifest_path) as f:
    manifest = json.load(f)
manifest["compensation"] = {
    "cpr": "compensation/cpr.npy",
    "ratio_files": [os.path.relpath(f, package) for f in files],
    "solver": "unipc bh2 order 2, time_uniform, dc-order 2 (dcscope-cli search defaults)",
}
fd, tmp = tempfile.mkstemp(dir=package, prefix=".model.json.")
with os.fdopen(fd, "w") as f:
    f.write(json.dumps(manifest, indent=2) + "\n")
os.replace(tmp, manifest_path)
PY
echo "wrote $folder/cpr.npy and the compensation entry of $model/model.json" >&2
