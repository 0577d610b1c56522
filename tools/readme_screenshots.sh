#!/usr/bin/env bash
# Takes the README's screenshots of the window under Xvfb, as a new user would see it: fresh
# settings and caches (nothing restored), a 1280x800 screen, the window's default size.
#   tools/readme_screenshots.sh [build dir (default build)]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
export XDG_CONFIG_HOME="$home/config" XDG_CACHE_HOME="$home/cache"
shoot() {  # output, then dcscope's arguments
  local out=$1; shift
  xvfb-run -a -s "-screen 0 1280x800x24" "$build/app/dcscope" "$@" --screenshot "$out"
  echo "wrote $out"
}
shoot assets/readme/window_fashion.png
shoot assets/readme/window_gmm_image.png --model builtin:gmm-image
shoot assets/readme/window_gmm2d.png --model builtin:gmm2d
# The image model's trajectories on the principal plane, and a mixture file being shaped.
shoot assets/readme/window_gmm_image_trajectories.png --model builtin:gmm-image --trajectories
shoot assets/readme/window_mixture_shaping.png --model assets/mixtures/unequal_modes.json --shape-mixture
# The research dock, each tab after its job (the embedded package; the CPR fit on the fast exact
# mixture, whose twelve searches take seconds instead of minutes).
shoot assets/readme/research_search.png --research-job search
shoot assets/readme/research_evaluate.png --research-job evaluate
shoot assets/readme/research_sweep.png --research-job sweep
shoot assets/readme/research_cpr.png --model builtin:gmm-image --research-job cpr
