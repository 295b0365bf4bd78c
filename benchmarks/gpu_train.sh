#!/usr/bin/env bash
# Train on a lent GPU, side by side in one session: oh2018 and ha2024 continue their CPU
# runs (--resume), flowmag starts (or continues) its run, and, with FM_CONTROL=1 (the
# default), the flowmag control (--target truth: L1 to the true magnified frame) beside it. Each job stops by itself with
# a checkpoint after MINUTES of training; a SIGTERM 90 s later is the safety net.
#
# usage: bash benchmarks/gpu_train.sh MINUTES RUNS_ROOT OUT_DIR
#   RUNS_ROOT holds oh2018/next, ha2024/small (copies of runs/...; checkpoint.pt,
#   config.json, log.csv, validation.csv), flowmag/gpu and flowmag/truth (created when
#   missing).
#   OUT_DIR receives logs.tar (the jobs' logs and an nvidia-smi/top sample) and one tar
#   per run folder (split at 15 MB, the device tool's file limit; 8 files at most).
# Environment: PYTHON (default python3), DEVICE (default cuda), SAMPLE_AFTER (s, 150),
# WORKERS_OH / WORKERS_HA / WORKERS_FM data workers (default 5 / 3 / 3 of a 16-core machine:
# rendering the samples, not the GPU, limits the rate), WORKERS_FC for the control (3),
# BATCH_FM (default 16), FM_CONTROL (1: run the control; 0: not).
#
# As run on the lent H200 (2026-11-29; 7 + 3 minutes; the run folders carried in .gpu/runs,
# pytorch-msssim as a wheel; PyAV is missing there and training needs none of it):
#   PYTHONPATH=$PWD/src:/tmp/site WORKERS_OH=6 WORKERS_HA=4 WORKERS_FM=3 FM_CONTROL=0 \
#       bash benchmarks/gpu_train.sh 7 .gpu/runs $OUT
# Measured there: oh2018 254k, ha2024 170k, flowmag 257k samples/hour side by side, 16
# CPU cores at 99 % rendering, the GPU 45 % busy.
set -u
MINUTES=${1:?minutes}; ROOT=${2:?runs root}; OUT_DIR=${3:?out dir}
source "$(dirname "$0")/gpu_common.sh"

train oh2018 oh2018 --run "$ROOT/oh2018/next" --resume --device "$DEVICE" --precision bf16 \
    --small-motion-fraction 0.5 --lr 3e-5 --batch 8 --steps 400000 \
    --workers "${WORKERS_OH:-5}" --validate-every 500
train ha2024 ha2024 --run "$ROOT/ha2024/small" --resume --device "$DEVICE" --precision bf16 \
    --small-motion-fraction 0.5 --lr 1e-5 --batch 8 --steps 400000 \
    --workers "${WORKERS_HA:-3}" --validate-every 500
# the shipped recipe (README, "FlowMag training"): motion input (the trainer's default),
# linear base, warp-imitation loss for the whole run; best checkpoint by the paper's loss
train flowmag flowmag --run "$ROOT/flowmag/gpu" $(resume_flag "$ROOT/flowmag/gpu") --device "$DEVICE" --precision bf16 \
    --size 128 --batch "${BATCH_FM:-16}" --width 16 --steps 400000 \
    --base linear --warmup-steps 1000000 --lr 3e-4 --max-motion 1 \
    --workers "${WORKERS_FM:-3}" --validate-every 500 \
    --export "$ROOT/flowmag/gpu/flowmag.safetensors"

if [ "${FM_CONTROL:-1}" = 1 ]; then
    train flowmag_truth flowmag --run "$ROOT/flowmag/truth" $(resume_flag "$ROOT/flowmag/truth") --device "$DEVICE" \
        --precision bf16 --size 128 --batch "${BATCH_FM:-16}" --width 16 --steps 400000 \
        --workers "${WORKERS_FC:-3}" --validate-every 500 --target truth
fi

sample_load
wait
pack_runs oh2018/next ha2024/small flowmag/gpu flowmag/truth
