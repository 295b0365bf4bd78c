#!/usr/bin/env bash
# Learning-to-remove on the *trained* ha2024 (Ha et al. 2024, Sec. 4.3, Eq. 3-5; issue 5,
# item 2): the paper's decoder experiment (one kind, one part: whole residual blocks of
# the decoder) started from the shipped weights, with the training settings they were
# last trained with (bf16, --small-motion-fraction 0.5, lr 3e-5), then pruning at
# tau = 0.5 and retraining the pruned net with the task loss alone. The report (which
# components went, GFLOPs and parameters before and after, validation SSIM of each phase
# on the 40 held-out pairs the shipped weights were chosen on) goes to
# benchmarks/results/removal_ha2024_<part>_<kinds>_<lambda>.json.
# Usage: bash benchmarks/removal_trained.sh PART KINDS [LAMBDA_RM] [REMOVE_STEPS] [RETRAIN_STEPS]
#   e.g. bash benchmarks/removal_trained.sh decoder blocks 0.1 3000 3000   (about 50 min)
#        bash benchmarks/removal_trained.sh manipulator activations,skips,blocks 0.1 2000 1000
set -euo pipefail
cd "$(dirname "$0")/.."
PART=$1
KINDS=$2
LAMBDA=${3:-0.1}
REMOVE_STEPS=${4:-3000}
RETRAIN_STEPS=${5:-3000}
MM=.venv/bin/motionmag
WEIGHTS=src/motionmag/models/weights/ha2024.safetensors
NAME=${PART}_${KINDS//,/-}_$LAMBDA
RUN=runs/removal/$NAME
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
# --init continues the shipped weights' step count, so --steps is that step + REMOVE_STEPS
START=$(.venv/bin/python -c "import json; print(json.load(open('${WEIGHTS%.safetensors}.json'))['training']['step'])")
rm -rf "$RUN"
$MM train ha2024 --remove "$KINDS" --remove-in "$PART" --init $WEIGHTS --run "$RUN" \
    --steps $((START + REMOVE_STEPS)) --lr 3e-5 --switch-lr 0.005 --remove-weight "$LAMBDA" \
    --prune-threshold 0.5 --retrain-steps "$RETRAIN_STEPS" --validate-every 500 --threads 1 \
    --precision bf16 --small-motion-fraction 0.5 --quiet \
    --report "benchmarks/results/removal_ha2024_$NAME.json" \
    --export "$RUN/pruned-retrained.safetensors"
