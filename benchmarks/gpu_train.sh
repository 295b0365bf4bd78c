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
PY=${PYTHON:-python3}; DEVICE=${DEVICE:-cuda}
HOURS=$($PY -c "print($MINUTES / 60)")
mkdir -p "$OUT_DIR"
# no PyAV on the machine: a stand-in (benchmarks/gpu_stub) lets the package import
$PY -c "import av" 2>/dev/null ||
    export PYTHONPATH="${PYTHONPATH:+$PYTHONPATH:}$(cd "$(dirname "$0")" && pwd)/gpu_stub"
export OMP_NUM_THREADS=1 PYTHONUNBUFFERED=1

train() {  # train NAME ARGS...: one `motionmag train` in the background, log in OUT_DIR
    local name=$1; shift
    timeout -s TERM $((MINUTES * 60 + 90)) $PY -c \
        "import sys; from motionmag.cli import main; sys.exit(main())" \
        train "$@" --max-hours "$HOURS" --threads 2 --quiet >"$OUT_DIR/$name.log" 2>&1 &
}

train oh2018 oh2018 --run "$ROOT/oh2018/next" --resume --device "$DEVICE" --precision bf16 \
    --small-motion-fraction 0.5 --lr 3e-5 --batch 8 --steps 400000 \
    --workers "${WORKERS_OH:-5}" --validate-every 500
train ha2024 ha2024 --run "$ROOT/ha2024/small" --resume --device "$DEVICE" --precision bf16 \
    --small-motion-fraction 0.5 --lr 1e-5 --batch 8 --steps 400000 \
    --workers "${WORKERS_HA:-3}" --validate-every 500
fm_resume=""; [ -f "$ROOT/flowmag/gpu/checkpoint.pt" ] && fm_resume="--resume"
# the shipped recipe (README, "FlowMag training"): motion input (the trainer's default),
# linear base, warp-imitation loss for the whole run; best checkpoint by the paper's loss
train flowmag flowmag --run "$ROOT/flowmag/gpu" $fm_resume --device "$DEVICE" --precision bf16 \
    --size 128 --batch "${BATCH_FM:-16}" --width 16 --steps 400000 \
    --base linear --warmup-steps 1000000 --lr 3e-4 --max-motion 1 \
    --workers "${WORKERS_FM:-3}" --validate-every 500 \
    --export "$ROOT/flowmag/gpu/flowmag.safetensors"

if [ "${FM_CONTROL:-1}" = 1 ]; then
    fc_resume=""; [ -f "$ROOT/flowmag/truth/checkpoint.pt" ] && fc_resume="--resume"
    train flowmag_truth flowmag --run "$ROOT/flowmag/truth" $fc_resume --device "$DEVICE" \
        --precision bf16 --size 128 --batch "${BATCH_FM:-16}" --width 16 --steps 400000 \
        --workers "${WORKERS_FC:-3}" --validate-every 500 --target truth
fi

sleep "${SAMPLE_AFTER:-150}"  # a sample of the load once the jobs run
{ nvidia-smi 2>&1; top -b -n 1 | head -40; } >"$OUT_DIR/load.txt" 2>&1
wait
for run in oh2018/next ha2024/small flowmag/gpu flowmag/truth; do
    name=${run//\//_}
    [ -d "$ROOT/$run" ] || continue
    tar -cf "$OUT_DIR/$name.tar" -C "$ROOT" --exclude=export "$run"
    if [ "$(stat -c %s "$OUT_DIR/$name.tar")" -gt 15000000 ]; then
        split -b 15000000 -d "$OUT_DIR/$name.tar" "$OUT_DIR/$name.tar.part" && rm "$OUT_DIR/$name.tar"
    fi
done
tail -n 3 "$OUT_DIR"/*.log
tar -cf "$OUT_DIR/logs.tar" -C "$OUT_DIR" --remove-files $(cd "$OUT_DIR" && ls *.log load.txt)
ls -la "$OUT_DIR"
