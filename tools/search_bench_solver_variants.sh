#!/usr/bin/env bash
# Solver settings that neither the README's grid (tools/search_bench_grid.sh) nor the other
# settings (tools/search_bench_other_settings.sh) use, with the searches' defaults left as they
# are: the time-quadratic grid, dynamic compensation of order 1 and 3, DPM-Solver++ (no
# corrector: every trial is free of model calls) and UniPC without the lower order at the end.
# The mixtures at guidance 3 and 7.5, the embedded model at guidance 7.5; NFE 6 and 10; one
# search batch (seed 0); 1024 held-out datapoints for the mixtures, 128 for the embedded model
# (seeds from 1000000; MIXTURE_HELDOUT and EMBEDDED_HELDOUT in the environment change them); ref
# and scan. About 25 minutes on two idle cores the first time (most of it the embedded model's),
# 5 with the ground truths cached. Further flags go to every run. Then
# tools/search_bench_table.py OUT.
#   tools/search_bench_solver_variants.sh [OUT_DIR] [CLI] [SEARCH-BENCH FLAGS...]
set -euo pipefail
out=${1:-search-bench-solver-variants}
cli=${2:-./build/app/dcscope-cli}
shift $(( $# < 2 ? $# : 2 ))
extra=("$@")
mkdir -p "$out"
variants=("quad:--skip time_quadratic" "dc1:--dc-order 1" "dc3:--dc-order 3" "dpmpp:--solver dpmpp"
          "nolof:--no-lower-order-final")
run() {  # model-argument label guidance held-out
  local model=$1 label=$2 cfg=$3 heldout=$4
  for variant in "${variants[@]}"; do
    # shellcheck disable=SC2086  # the variant's flags are split on purpose
    "$cli" search-bench --model "$model" --cfg "$cfg" --seed 0 --heldout-seed 1000000 --repeats 1 --heldout "$heldout" \
      --nfe 6,10 --methods ref,scan ${variant#*:} ${extra[@]+"${extra[@]}"} > "$out/${label}-${variant%%:*}_cfg${cfg}_seed0.txt"
  done
}
for model in gmm-image gmm2d; do
  for cfg in 3 7.5; do
    run "builtin:$model" "$model" "$cfg" "${MIXTURE_HELDOUT:-1024}" &
  done
  wait
done
run default fashion 7.5 "${EMBEDDED_HELDOUT:-128}"
