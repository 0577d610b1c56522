#!/usr/bin/env bash
# A model the README's grid does not list: a mixture file (default: the example
# assets/mixtures/unequal_modes.json) at the grid's settings (guidance 3 and 7.5, NFE 5, 6, 8,
# 10) and at the other settings of tools/search_bench_other_settings.sh (guidance 1.5 and 5, NFE
# 7, 12, 15, 20 with the default solver, the logSNR grid and UniPC bh1; UniPC order 3 at guidance
# 3 and 7.5, NFE 5-10). Two search batches each (seeds 0 and 5000), 1024 held-out datapoints
# (seeds from 1000000; MIXTURE_HELDOUT in the environment changes it); ref, ref-scan and scan.
# About 10 minutes on two idle cores the first time (the held-out ground truths), 1 with them
# cached.
# Further flags go to every run. Then tools/search_bench_table.py OUT.
#   tools/search_bench_mixture_file.sh [OUT_DIR] [CLI] [MIXTURE_JSON] [SEARCH-BENCH FLAGS...]
set -euo pipefail
out=${1:-search-bench-mixture}
cli=${2:-./build/app/dcscope-cli}
heldout=${MIXTURE_HELDOUT:-1024}
mixture=${3:-assets/mixtures/unequal_modes.json}
shift $(( $# < 3 ? $# : 3 ))
extra=("$@")
mkdir -p "$out"
name=$(basename "$mixture" .json)
run() {  # label guidance seed nfe [solver flags...]
  local label=$1 cfg=$2 seed=$3 nfe=$4
  shift 4
  "$cli" search-bench --model "$mixture" --cfg "$cfg" --seed "$seed" --heldout-seed 1000000 --repeats 1 --heldout "$heldout" \
    --nfe "$nfe" --methods ref,ref-scan,scan "$@" ${extra[@]+"${extra[@]}"} > "$out/${label}_cfg${cfg}_seed${seed}.txt"
}
for seed in 0 5000; do
  (
    for cfg in 3 7.5; do
      run "$name" "$cfg" "$seed" 5,6,8,10
      run "$name-order3" "$cfg" "$seed" 5,6,8,10 --order 3
    done
    for cfg in 1.5 5; do
      run "$name" "$cfg" "$seed" 7,12,15,20
      run "$name-logSNR" "$cfg" "$seed" 7,12,15,20 --skip logSNR
      run "$name-bh1" "$cfg" "$seed" 7,12,15,20 --variant bh1
    done
  ) &
done
wait
