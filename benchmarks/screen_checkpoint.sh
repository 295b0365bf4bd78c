#!/bin/bash
# Screen one checkpoint of an oh2018/ha2024 training run before shipping it: export it,
# then the sub-pixel suite (10 scenes per level, 256 px) and the known answers (static and
# temporal gain at alpha 10, SSIM to the true clip), about 1.5 minutes with 2 threads.
#
#   bash benchmarks/screen_checkpoint.sh RUN [best|last] [SUFFIX]
#
# Writes runs/exp/<run name>-<which><SUFFIX>.safetensors and its -subpixel.json beside it.
# MODEL=ha2024 (default) or oh2018: the method the weights are measured as.
# OMP_NUM_THREADS (default 2): torch threads.
# PHOTOS=1: also the known-answer gain over 14 held-out photos (known_answer_photos.py,
# about 2 more minutes; needs ../shared/data/images for all but clock).
set -euo pipefail
cd "$(dirname "$0")/.."
run=$1
which=${2:-last}
name=$(basename "$run")-$which${3:-}
model=${MODEL:-ha2024}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
mkdir -p runs/exp
.venv/bin/python -c "
from motionmag.train.oh2018 import export_weights
card = export_weights('$run', 'runs/exp/$name.safetensors', which='$which')
print('step', card['training']['step'], 'samples', card['training']['samples_seen'])
"
.venv/bin/motionmag eval "$model" --set weights="runs/exp/$name.safetensors" --suite subpixel \
    --n 10 --size 256 --quiet --overwrite --json "runs/exp/$name-subpixel.json" | grep -v "^\s*$" | tail -3
.venv/bin/python -c "
import sys; sys.path.insert(0, 'benchmarks')
from known_answers import measure
r = measure('$model', weights='runs/exp/$name.safetensors')
print('static', round(r['static_gain'], 3), 'temporal', round(r['temporal_gain_1_3_hz'], 3),
      'ssim to truth', round(r['ssim_to_truth']['$model'], 4))
"
if [ "${PHOTOS:-0}" = 1 ]; then
    .venv/bin/python benchmarks/known_answer_photos.py "$model:runs/exp/$name.safetensors" \
        --json "runs/exp/$name-photos.json" | grep -v "^input:" | grep median
fi
