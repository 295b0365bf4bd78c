# Shared by the lent-GPU training scripts (gpu_train.sh, gpu_train_thesis.sh); sourced, not run.
# Before sourcing: MINUTES, ROOT (the carried run folders), OUT_DIR. Gives PY, DEVICE, HOURS,
# `train NAME ARGS...` (one `motionmag train` in the background, stopped by itself after
# MINUTES with a checkpoint; a SIGTERM 90 s later is the safety net; log OUT_DIR/NAME.log),
# `resume_flag RUN` (--resume where RUN has a checkpoint), `fresh_flags RUN FLAGS...` (FLAGS
# only where RUN has none), `sample_load` and
# `pack_runs RUN...` (each run folder a tar in OUT_DIR, split at the device tool's 15 MB
# file limit, then the logs in logs.tar).
PY=${PYTHON:-python3}; DEVICE=${DEVICE:-cuda}
HOURS=$($PY -c "print($MINUTES / 60)")
mkdir -p "$OUT_DIR"
# no PyAV on the machine: a stand-in (benchmarks/gpu_stub) lets the package import
$PY -c "import av" 2>/dev/null ||
    export PYTHONPATH="${PYTHONPATH:+$PYTHONPATH:}$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/gpu_stub"
export OMP_NUM_THREADS=1 PYTHONUNBUFFERED=1

train() {  # train NAME ARGS...
    local name=$1; shift
    timeout -s TERM $((MINUTES * 60 + 90)) $PY -c \
        "import sys; from motionmag.cli import main; sys.exit(main())" \
        train "$@" --max-hours "$HOURS" --threads 2 --quiet >"$OUT_DIR/$name.log" 2>&1 &
}

resume_flag() {  # resume_flag RUN: --resume when RUN already has a checkpoint
    [ -f "$1/checkpoint.pt" ] && echo --resume
}

fresh_flags() {  # fresh_flags RUN FLAGS...: FLAGS only for a new run (a continued one keeps
    local run=$1; shift  # its own learning rate and batch: its checkpoint's config)
    [ -f "$run/checkpoint.pt" ] || echo "$@"
}

sample_load() {  # an nvidia-smi / top sample once the jobs run
    sleep "${SAMPLE_AFTER:-150}"
    { nvidia-smi 2>&1; top -b -n 1 | head -40; } >"$OUT_DIR/load.txt" 2>&1
}

pack_runs() {  # pack_runs RUN...: RUN relative to ROOT
    local run name
    for run in "$@"; do
        name=${run//\//_}
        [ -d "$ROOT/$run" ] || continue
        tar -cf "$OUT_DIR/$name.tar" -C "$ROOT" --exclude=export "$run"
        if [ "$(stat -c %s "$OUT_DIR/$name.tar")" -gt 15000000 ]; then
            split -b 15000000 -d "$OUT_DIR/$name.tar" "$OUT_DIR/$name.tar.part" &&
                rm "$OUT_DIR/$name.tar"
        fi
    done
    tail -n 3 "$OUT_DIR"/*.log
    tar -cf "$OUT_DIR/logs.tar" -C "$OUT_DIR" --remove-files $(cd "$OUT_DIR" && ls *.log load.txt)
    ls -la "$OUT_DIR"
}
