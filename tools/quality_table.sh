#!/usr/bin/env bash
# Prints the README's sample-quality table: class accuracy / Frechet distance of DDIM,
# DPM-Solver++ (2M), UniPC (bh2, order 2) and UniPC + DC at NFE 5 and 10, guidance 1 and 5.
# The DC ratios are searched per cell with `dcscope-cli search`'s defaults (10 datapoints).
#
#   tools/quality_table.sh [--cli build/app/dcscope-cli] [--model DIR] [--samples 250]
set -euo pipefail

cli=build/app/dcscope-cli
model=""
samples=250
while [ $# -gt 0 ]; do
    case "$1" in
        --cli) cli="$2"; shift 2 ;;
        --model) model="$2"; shift 2 ;;
        --samples) samples="$2"; shift 2 ;;
        *) echo "quality_table.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
model_flag=()
[ -n "$model" ] && model_flag=(--model "$model")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cells=("5 1" "5 5" "10 1" "10 5")
# Prints "accuracy% / distance" for one cell; extra arguments are solver flags.
cell() {
    local nfe=$1 cfg=$2
    shift 2
    "$cli" quality "${model_flag[@]}" --nfe "$nfe" --cfg "$cfg" --samples "$samples" -q "$@" |
        awk '/class accuracy/ {acc = $3 * 100} /frechet distance/ {fd = $3}
             END {printf "%.1f%% / %.1f", acc, fd}'
}

row() {
    local label=$1
    shift
    printf '| %s |' "$label"
    for c in "${cells[@]}"; do
        read -r nfe cfg <<<"$c"
        printf ' %s |' "$(cell "$nfe" "$cfg" "$@")"
    done
    printf '\n'
}

echo "| solver | NFE 5, w 1 | NFE 5, w 5 | NFE 10, w 1 | NFE 10, w 5 |"
echo "|---|---|---|---|---|"
row "DDIM" --solver ddim --order 1
row "DPM-Solver++ (2M)" --solver dpmpp --order 2
row "UniPC (bh2, order 2)" --solver unipc --variant bh2 --order 2
printf '| UniPC + DC (searched ratios) |'
for c in "${cells[@]}"; do
    read -r nfe cfg <<<"$c"
    ratios="$work/ratios_${nfe}_${cfg}.json"
    "$cli" search "${model_flag[@]}" --nfe "$nfe" --cfg "$cfg" --out "$ratios" -q >/dev/null
    printf ' %s |' "$(cell "$nfe" "$cfg" --solver unipc --variant bh2 --order 2 --ratios "$ratios")"
done
printf '\n'
