#!/usr/bin/env bash
# Training speed from pre-rendered shards against rendering on the fly, side by side.
# The trainers render Oh et al.'s samples in a DataLoader worker, which on 2 cores competes
# with the training threads; `motionmag synth` renders them once. This renders 600 samples
# of the 128 px, half-sub-pixel training set, then trains MODEL (default mdmm-d2) for 60
# steps three ways, ROUNDS times alternating, and prints each run's samples/h:
#   fly     rendering on the fly, one worker (what the runs did)
#   shard0  reading the shards in the training process (--workers 0)
#   shard1  reading the shards in one worker
# Usage: bash benchmarks/bench_shards_training.sh [MODEL] [ROUNDS]   (about 5 min; idle machine)
set -euo pipefail
cd "$(dirname "$0")/.."
MM=$PWD/.venv/bin/motionmag
MODEL=${1:-mdmm-d2}; ROUNDS=${2:-2}
DIR=runs/bench-shards
rm -rf "$DIR"; mkdir -p "$DIR"
$MM synth -o "$DIR/shards" --n 600 --size 128 --small-motion-fraction 0.5 --workers 2 --quiet
for round in $(seq "$ROUNDS"); do
    for mode in fly shard0 shard1; do
        case $mode in
            fly) extra=(--workers 1) ;;
            shard0) extra=(--shards "$DIR/shards" --workers 0) ;;
            shard1) extra=(--shards "$DIR/shards" --workers 1) ;;
        esac
        rm -rf "$DIR/run-$mode"
        rate=$($MM train "$MODEL" --run "$DIR/run-$mode" --size 128 --small-motion-fraction 0.5 \
            --lr 5e-4 --steps 60 --validate-every 0 --threads 2 --quiet "${extra[@]}" 2>/dev/null |
            grep -o "[0-9]* samples/h now")
        echo "round $round $mode: $rate"
    done
done
