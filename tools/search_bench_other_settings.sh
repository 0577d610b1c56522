#!/usr/bin/env bash
# Settings the README's main grid does not list (tools/search_bench_grid.sh): the mixtures at
# guidance 1.5 and 5, NFE 7, 12, 15, 20, with the default solver, the logSNR grid and UniPC bh1;
# and at guidance 3 and 7.5, NFE 5, 6, 8, 10 with UniPC order 3. Two search batches each (seeds 0
# and 5000), 1024 held-out datapoints (seeds from 1000000; MIXTURE_HELDOUT in the environment
# changes it: 256 decide little on gmm-image, whose mean rests on the few datapoints that switch
# mixture components). About 20 minutes on two idle cores the first time (the held-out ground
# truths), 2 with them cached.
# Further flags go to every run (e.g. --final-refine 0 for the greedy pass alone).
# Then tools/search_bench_table.py OUT.
#   tools/search_bench_other_settings.sh [OUT_DIR] [CLI] [SEARCH-BENCH FLAGS...]
set -euo pipefail
out=${1:-search-bench-other}
cli=${2:-./build/app/dcscope-cli}
heldout=${MIXTURE_HELDOUT:-1024}
shift $(( $# < 2 ? $# : 2 ))
extra=("$@")
mkdir -p "$out"
run() {  # model label guidance seed nfe [solver flags...]
  local model=$1 label=$2 cfg=$3 seed=$4 nfe=$5
  shift 5
  "$cli" search-bench --model "builtin:$model" --cfg "$cfg" --seed "$seed" --heldout-seed 1000000 --repeats 1 --heldout "$heldout" \
    --nfe "$nfe" --methods ref,ref-scan,scan "$@" ${extra[@]+"${extra[@]}"} > "$out/${label}_cfg${cfg}_seed${seed}.txt"
}
for model in gmm-image gmm2d; do
  for seed in 0 5000; do
    for cfg in 1.5 5; do
      run "$model" "$model" "$cfg" "$seed" 7,12,15,20
      run "$model" "$model-logSNR" "$cfg" "$seed" 7,12,15,20 --skip logSNR
      run "$model" "$model-bh1" "$cfg" "$seed" 7,12,15,20 --variant bh1
    done
    for cfg in 3 7.5; do
      run "$model" "$model-order3" "$cfg" "$seed" 5,6,8,10 --order 3
    done
  done
done
