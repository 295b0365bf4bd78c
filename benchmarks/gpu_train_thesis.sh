#!/usr/bin/env bash
# Train the thesis networks on a lent GPU, side by side in one session, MINUTES each: the
# noise-free LW-MM proxies (lwmm, THESIS.md's M1, the KL-DNAS teacher; lwmm-light), the
# HMN-light proxy (HMN's first run) and MD-MM D2; each starts, or continues where its run
# folder has a checkpoint (a copy of the CPU run, e.g. runs/lwmm/light-proxy-s as
# RUNS_ROOT/lwmm/light-proxy). The samples are rendered by the data workers (the 4.5 GB
# shards cannot travel): a continued run gets `--shards none`, which renders the samples
# its shards held (their count as the pass length), so a CPU run continues with the same
# data stream. A continued run keeps its own learning rate and batch (`fresh_flags`).
# Each job stops by itself with a checkpoint after MINUTES.
#
# Run it from the repository root with the package importable: `pip install -e .` (the
# README's set-up), or PYTHONPATH=$PWD/src with torch, scipy, opencv-python-headless,
# safetensors, tqdm and pytorch-msssim installed (gpu_train.sh's header: the H200 recipe).
# MINUTES must be a whole number.
#
# usage: bash benchmarks/gpu_train_thesis.sh MINUTES RUNS_ROOT OUT_DIR
#   RUNS_ROOT: lwmm/proxy, lwmm/light-proxy, hmn/light-proxy, mdmm/d2 (created when missing)
#   OUT_DIR: logs.tar (logs, an nvidia-smi/top sample) and a tar per run folder.
# Environment: PYTHON, DEVICE (cuda), SAMPLE_AFTER (150 s), WORKERS_LW / WORKERS_LL /
# WORKERS_HL / WORKERS_MD data workers (default 5 / 3 / 4 / 3 of 16 cores), BATCH (8 for the
# new runs; a continued run keeps the batch its checkpoint was trained with).
# Thesis networks train in fp32 (no --precision).
set -u
MINUTES=${1:?minutes}; ROOT=${2:?runs root}; OUT_DIR=${3:?out dir}
source "$(dirname "$0")/gpu_common.sh"
# the flags of every run here: Oh et al.'s data at 128 px, half of it sub-pixel motion
DATA=(--size 128 --small-motion-fraction 0.5 --steps 400000 --validate-every 500)

continued() {  # continued RUN: --resume --shards none where RUN has a checkpoint
    [ -f "$1/checkpoint.pt" ] && echo --resume --shards none
}

train lwmm_proxy lwmm --noise-max 0 --run "$ROOT/lwmm/proxy" $(continued "$ROOT/lwmm/proxy") \
    --device "$DEVICE" "${DATA[@]}" $(fresh_flags "$ROOT/lwmm/proxy" --batch "${BATCH:-8}" --lr 5e-4) \
    --workers "${WORKERS_LW:-5}" --export "$ROOT/lwmm/proxy/lwmm-proxy.safetensors"
train lwmm_light_proxy lwmm-light --noise-max 0 --run "$ROOT/lwmm/light-proxy" \
    $(continued "$ROOT/lwmm/light-proxy") --device "$DEVICE" "${DATA[@]}" \
    $(fresh_flags "$ROOT/lwmm/light-proxy" --batch 4 --lr 5e-4) --workers "${WORKERS_LL:-3}" \
    --export "$ROOT/lwmm/light-proxy/lwmm-light-proxy.safetensors"
train hmn_light_proxy hmn-light --noise-max 0 --run "$ROOT/hmn/light-proxy" \
    $(continued "$ROOT/hmn/light-proxy") --device "$DEVICE" "${DATA[@]}" \
    $(fresh_flags "$ROOT/hmn/light-proxy" --batch "${BATCH:-8}" --lr 5e-4) \
    --workers "${WORKERS_HL:-4}" --export "$ROOT/hmn/light-proxy/hmn-light-proxy.safetensors"
train mdmm_d2 mdmm-d2 --run "$ROOT/mdmm/d2" $(continued "$ROOT/mdmm/d2") --device "$DEVICE" \
    "${DATA[@]}" $(fresh_flags "$ROOT/mdmm/d2" --batch 4 --lr 5e-4) --workers "${WORKERS_MD:-3}"

sample_load
wait
pack_runs lwmm/proxy lwmm/light-proxy hmn/light-proxy mdmm/d2
