#!/usr/bin/env bash
# Baseline numbers of `motionmag eval` for the classical methods (issue: training data and
# evaluation, item 4). Writes JSON + Fig. 8-style plots under benchmarks/results/.
# Usage: bash benchmarks/eval_baselines.sh [N_PAIRS]   (default 20 cases per level)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-20}
OUT=benchmarks/results
MM=".venv/bin/motionmag"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
$MM eval linear phase riesz warp-bilinear --suite pairs --n "$N" --quiet --overwrite \
    --json $OUT/eval_pairs.json --plot $OUT/eval_pairs.png
$MM eval linear phase riesz --suite linearity,rig --quiet --overwrite \
    --json $OUT/eval_known_motion.json --plot $OUT/eval_known_motion.png
$MM eval linear phase riesz acceleration --suite circles --n 10 --quiet --overwrite \
    --json $OUT/eval_circles.json --plot $OUT/eval_circles.png
$MM eval linear phase riesz warp-bilinear warp-nearest --suite real-video --quiet --overwrite \
    --json $OUT/eval_real_video.json --plot $OUT/eval_real_video.png
