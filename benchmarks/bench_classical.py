"""Frames per second of motionmag's classical magnifiers against vidmag's NumPy path.

What is measured: wall-clock throughput (frames per second) of motionmag ``linear``
(Wu et al. 2012 motion, YIQ Laplacian pyramid) and ``color`` (Gaussian-pyramid colour
variant), side by side with the peer implementation vidmag 0.2.0 (its CPU/NumPy
pipelines, the MIT-reference port), on the same synthetic clip and, as far as vidmag's
API allows, the same parameters. The clip is a real photo (skimage's astronaut) resized
to each size and vibrating sideways by 0.5 px at 2 Hz (30 fps); content barely matters
for speed.

How:

- vidmag's pipelines are whole-clip (a ``(T, H, W, 3)`` BGR uint8 array in and out), so
  one timed run is one whole call on T frames; motionmag's run is pushing the same T
  frames (RGB) through a fresh magnifier plus ``flush()``. fps = T / seconds. Frame
  generation and the BGR copy happen before timing.
- One process, every case interleaved (case 1, case 2, ..., case 1, case 2, ...): one
  untimed warm-up round, then ``--runs`` (default 5) timed rounds; the median is
  reported, with the ratio motionmag fps / vidmag fps per row. torch and the BLAS/OpenMP
  pools are pinned to 2 threads (``BENCH_THREADS``, EVALUATION.md sec. 6); OpenCV runs in
  the calling thread (``BENCH_CV2_THREADS=0``): its own pool next to torch's spinning
  OpenMP workers oversubscribes 2 cores and made one 640x360 motionmag case swing
  between 6 and 240 fps (benchmarks/README.md).
- Peak memory (on by default, ``--no-rss`` skips it): each case runs once more in a fresh child
  process, which reports its peak RSS (VmHWM) before the call (imports + frames) and after.

Parameter mapping (vidmag name -> motionmag):

- alpha: vidmag's is Wu's alpha (added gain); motionmag's is the total factor, so
  vidmag ``alpha=10`` <-> motionmag ``alpha=11`` (colour: 50 <-> 51).
- lambda_c=16, exaggeration 2, finest band and low-pass residual not amplified (the MIT
  code, which vidmag reproduces) <-> options ``lambda_c_px=16, exaggeration=2,
  amplify_finest=False, amplify_residual=False`` ("ref" rows). Both then amplify the
  same levels (all but the finest and the residual); the capped gains differ slightly
  (vidmag: diagonal/3 wavelength rule; motionmag: 2^(k+2) px), which does not change
  the work. The "defaults" row runs motionmag's own defaults (every level amplified,
  lambda_c 8, order-2 Butterworth) and so does more work than vidmag.
- pyramid depth: vidmag's automatic height (matlabPyrTools maxPyrHt) <-> motionmag
  ``levels`` set to the same number of band levels (its own default stops earlier).
- chrom_attenuation 0.1 (motion), 1.0 (colour), colour level 4: same on both sides.
- temporal filters, band 1-4 Hz at 30 fps:
  vidmag ``butter`` (difference of two first-order Butterworth low-passes, 2 poles)
  <-> motionmag ``butter`` with ``order=1`` (a 2-pole Butterworth band-pass: same order,
  not the same response); vidmag ``ideal`` (FFT over the whole clip) <-> motionmag
  ``fir`` (windowed ideal band-pass, default 121 taps here, streamed in blocks);
  vidmag ``MotionStream`` (its frame-at-a-time r1/r2 IIR, ``backend="cpu"``) <->
  motionmag ``diff-iir`` with ``iir_coefficients=(0.4, 0.05)`` (motionmag also divides
  by the filter's peak gain: one multiply). vidmag has no streaming colour path and
  its colour pipeline has only the ideal filter.
- precision: vidmag's NumPy path computes in float64, motionmag in float32.
- for short clips the FIR's edge replication at ``flush`` (60 frames here) is a fixed
  cost spread over T frames, so the fir rows understate its long-clip throughput.

Run (vidmag from its unpacked sdist, since its pip build needs nvcc; ``pip install
vidmag`` works where it builds)::

    .venv/bin/pip download --no-deps --no-binary :all: vidmag -d /tmp/vidmag_src
    tar xzf /tmp/vidmag_src/vidmag-0.2.0.tar.gz -C /tmp/vidmag_src
    VIDMAG_SRC=/tmp/vidmag_src/vidmag-0.2.0/src .venv/bin/python \
        benchmarks/bench_classical.py --json benchmarks/results_classical.json

Without vidmag the script still runs the motionmag side and says vidmag was skipped.
"""

from __future__ import annotations

import os
import sys

THREADS = int(os.environ.get("BENCH_THREADS", "2"))
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ.setdefault(_var, str(THREADS))

import argparse  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

# OpenCV's own thread pool next to torch's spinning OpenMP workers oversubscribes the
# cores (on this 2-core machine the same run swung between 6 and 240 fps, burning 20x the
# CPU time); OpenCV in the calling thread (0) is stable. Override with BENCH_CV2_THREADS.
CV2_THREADS = int(os.environ.get("BENCH_CV2_THREADS", "0"))
torch.set_num_threads(THREADS)
cv2.setNumThreads(CV2_THREADS)

from motionmag.magnify.config import MagnifyConfig  # noqa: E402
from motionmag.magnify.registry import build_magnifier  # noqa: E402
from records import command_line  # noqa: E402  (benchmarks/records.py)

VIDMAG_SRC = os.environ.get("VIDMAG_SRC", "/tmp/vidmag_src/vidmag-0.2.0/src")
FPS = 30.0
BAND = (1.0, 4.0)  # Hz
ALPHA = 10.0  # Wu's (vidmag's) alpha; motionmag gets ALPHA + 1
COLOR_ALPHA = 50.0
LAMBDA_C = 16.0
R1, R2 = 0.4, 0.05  # vidmag's "motion" preset IIR coefficients


# ---------------------------------------------------------------------------------------
# shared helpers (bench_memory.py imports these)
# ---------------------------------------------------------------------------------------


def import_vidmag():
    """Return the ``vidmag`` module, or None (with a message on stderr) when it is missing."""
    try:
        import vidmag  # type: ignore[import-not-found]

        return vidmag
    except ImportError:
        pass
    if os.path.isdir(VIDMAG_SRC):
        if VIDMAG_SRC not in sys.path:
            sys.path.insert(0, VIDMAG_SRC)
        try:
            import vidmag  # type: ignore[import-not-found]

            return vidmag
        except ImportError as err:
            print(f"vidmag found at {VIDMAG_SRC} but does not import: {err}", file=sys.stderr)
            return None
    print(
        "vidmag is not importable: skipping the vidmag side. Install it with "
        "`.venv/bin/pip install vidmag`, or, where its CUDA build fails, unpack its sdist "
        "(`pip download --no-deps --no-binary :all: vidmag`) and set VIDMAG_SRC to its src/.",
        file=sys.stderr,
    )
    return None


def base_image(height: int, width: int) -> np.ndarray:
    """A real photo (skimage's astronaut, 512x512 RGB) resized to (height, width, 3) uint8."""
    from skimage.data import astronaut

    return cv2.resize(astronaut(), (width, height), interpolation=cv2.INTER_AREA)


def vibrating_frame(
    image: np.ndarray, t: int, fps: float = FPS, hz: float = 2.0, amp_px: float = 0.5
) -> np.ndarray:
    """Frame ``t`` of ``image`` shifted sideways by ``amp_px * sin(2 pi hz t / fps)`` px."""
    shift = amp_px * np.sin(2.0 * np.pi * hz * t / fps)
    matrix = np.float32([[1.0, 0.0, shift], [0.0, 1.0, 0.0]])
    height, width = image.shape[:2]
    return cv2.warpAffine(image, matrix, (width, height), borderMode=cv2.BORDER_REFLECT_101)


def rss_mib() -> float:
    """Current resident set size of this process in MiB."""
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far in MiB.

    Linux's ``VmHWM`` (reset by exec). Not ``ru_maxrss``: a child started by
    ``subprocess`` inherits its parent's high-water mark through fork, so it would
    report the parent's peak.
    """
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def machine() -> str:
    """One line naming the CPU this ran on."""
    name = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    name = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{name}, {os.cpu_count()} logical CPUs, {THREADS} threads used"


def vidmag_band_levels(height: int, width: int, filter_size: int = 5) -> int:
    """matlabPyrTools ``maxPyrHt`` (vidmag's automatic depth): band levels of the pyramid."""
    levels = 0
    while min(height, width) >= filter_size:
        height, width = height // 2, width // 2
        levels += 1
    return levels


# ---------------------------------------------------------------------------------------
# the cases
# ---------------------------------------------------------------------------------------

Runner = Callable[[], int]


def _reference_options(height: int, width: int) -> dict:
    return {
        "levels": vidmag_band_levels(height, width),
        "lambda_c_px": LAMBDA_C,
        "exaggeration": 2.0,
        "amplify_finest": False,
        "amplify_residual": False,
        "chrom_attenuation": 0.1,
    }


def _motionmag(config: MagnifyConfig, frames: list[np.ndarray]) -> Runner:
    def run() -> int:
        magnifier = build_magnifier(config)
        count = 0
        for frame in frames:
            count += len(magnifier.push(frame))
        count += len(magnifier.flush())
        assert count == len(frames), (count, len(frames))
        return count

    return run


def motionmag_cases(frames: list[np.ndarray]) -> dict[str, Runner]:
    height, width = frames[0].shape[:2]
    ref = _reference_options(height, width)

    def butter_order(filter_kind: str, order: int) -> int:
        return order if filter_kind == "butter" else 2  # only the Butterworth has an order

    def linear(filter_kind: str, options: dict, order: int = 1) -> MagnifyConfig:
        return MagnifyConfig(
            method="linear", alpha=ALPHA + 1, mode="temporal", band=BAND, fps=FPS,
            filter_kind=filter_kind, order=butter_order(filter_kind, order), options=options,
        )  # fmt: skip

    def color(filter_kind: str) -> MagnifyConfig:
        return MagnifyConfig(
            method="color", alpha=COLOR_ALPHA + 1, mode="temporal", band=BAND, fps=FPS,
            filter_kind=filter_kind, order=butter_order(filter_kind, 1),
            options={"level": 4, "chrom_attenuation": 1.0},
        )  # fmt: skip

    configs = {
        "mm linear butter ref": linear("butter", dict(ref)),
        "mm linear butter defaults": linear("butter", {}, order=2),
        "mm linear fir ref": linear("fir", dict(ref)),
        "mm linear diff-iir ref": linear("diff-iir", {**ref, "iir_coefficients": (R1, R2)}),
        "mm color fir": color("fir"),
        "mm color butter": color("butter"),
        # phase: vidmag's defaults (3 scales, 4 orientations, no smoothing, residuals kept)
        "mm phase butter": MagnifyConfig(
            method="phase",
            alpha=ALPHA + 1,
            mode="temporal",
            band=BAND,
            fps=FPS,
            filter_kind="butter",
            order=1,
            options={"scales": 3, "orientations": 4, "sigma_px": 0.0, "amplify_lowpass": False},
        ),
        "mm phase butter all scales": MagnifyConfig(
            method="phase",
            alpha=ALPHA + 1,
            mode="temporal",
            band=BAND,
            fps=FPS,
            filter_kind="butter",
            order=1,
        ),
        "mm riesz butter": MagnifyConfig(
            method="riesz",
            alpha=ALPHA + 1,
            mode="temporal",
            band=BAND,
            fps=FPS,
            filter_kind="butter",
            order=1,
        ),
    }
    return {name: _motionmag(config, frames) for name, config in configs.items()}


def vidmag_cases(frames_bgr: np.ndarray) -> dict[str, Runner]:
    vidmag = import_vidmag()
    if vidmag is None:
        return {}
    from vidmag.cpu.magnify import (  # type: ignore[import-not-found]
        color_gdown_ideal_core,
        motion_lpyr_butter_core,
        motion_lpyr_ideal_core,
        phase_core,
    )
    from vidmag.stream import MotionStream  # type: ignore[import-not-found]

    count = len(frames_bgr)
    height, width = frames_bgr.shape[1:3]
    motion = {"alpha": ALPHA, "lambda_c": LAMBDA_C, "chrom_attenuation": 0.1}

    def butter() -> int:
        out = motion_lpyr_butter_core(frames_bgr, FPS, fl=BAND[0], fh=BAND[1], order=1, **motion)
        return len(out)

    def ideal() -> int:
        return len(motion_lpyr_ideal_core(frames_bgr, FPS, fl=BAND[0], fh=BAND[1], **motion))

    def stream() -> int:
        magnifier = MotionStream(height, width, r1=R1, r2=R2, backend="cpu", **motion)
        for frame in frames_bgr:
            magnifier.push(frame)
        return count

    def color() -> int:
        out = color_gdown_ideal_core(
            frames_bgr, FPS, alpha=COLOR_ALPHA, level=4, fl=BAND[0], fh=BAND[1],
            chrom_attenuation=1.0,
        )  # fmt: skip
        return len(out)

    def phase() -> int:
        out = phase_core(
            frames_bgr, FPS, alpha=ALPHA, fl=BAND[0], fh=BAND[1], scales=3, orientations=4,
            sigma=0.0,
        )  # fmt: skip
        return len(out)

    return {
        "vm phase butter": phase,
        "vm motion butter": butter,
        "vm motion ideal": ideal,
        "vm motion iir stream": stream,
        "vm color ideal": color,
    }


# (row label, motionmag case, vidmag case): the ratio is motionmag fps / vidmag fps
ROWS = [
    ("linear, butter (ref params)", "mm linear butter ref", "vm motion butter"),
    ("linear, butter (mm defaults)", "mm linear butter defaults", "vm motion butter"),
    ("linear, fir vs ideal FFT", "mm linear fir ref", "vm motion ideal"),
    ("linear, diff-iir vs MotionStream", "mm linear diff-iir ref", "vm motion iir stream"),
    ("color, fir vs ideal FFT", "mm color fir", "vm color ideal"),
    ("color, butter vs ideal FFT", "mm color butter", "vm color ideal"),
    ("phase, butter (3 scales, 4 orientations)", "mm phase butter", "vm phase butter"),
    ("phase, all scales vs vidmag 3 scales", "mm phase butter all scales", "vm phase butter"),
    ("riesz vs vidmag phase", "mm riesz butter", "vm phase butter"),
]


def make_frames(height: int, width: int, count: int) -> tuple[list[np.ndarray], np.ndarray]:
    """The clip as motionmag gets it (RGB frames) and as vidmag gets it (BGR stack)."""
    image = base_image(height, width)
    frames = [vibrating_frame(image, t) for t in range(count)]
    bgr = np.ascontiguousarray(np.stack(frames)[..., ::-1])
    return frames, bgr


def all_cases(height: int, width: int, count: int, selected: list[str] | None):
    frames, bgr = make_frames(height, width, count)
    cases = {**motionmag_cases(frames), **vidmag_cases(bgr)}
    if selected:
        cases = {name: run for name, run in cases.items() if name in selected}
    return cases


def parse_size(text: str) -> tuple[int, int]:
    """'640x360' -> (height 360, width 640)."""
    width, height = (int(v) for v in text.lower().split("x"))
    return height, width


def child_rss(name: str, size: str, count: int) -> dict:
    """Run one case once in this (fresh) process; return its RSS before and peak after."""
    height, width = parse_size(size)
    cases = all_cases(height, width, count, [name])
    before = peak_rss_mib()
    cases[name]()
    return {"case": name, "before_mib": round(before, 1), "peak_mib": round(peak_rss_mib(), 1)}


def measure_rss(name: str, size: str, count: int) -> dict | None:
    command = [sys.executable, __file__, "--child", name, "--sizes", size, "--frames", str(count)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        print(f"  rss child for {name} failed: {result.stderr.strip()[-400:]}", file=sys.stderr)
        return None
    return json.loads(result.stdout.strip().splitlines()[-1])


def bench_size(size: str, count: int, runs: int, selected, rss: bool) -> dict:
    height, width = parse_size(size)
    cases = all_cases(height, width, count, selected)
    print(f"\n== {size}, {count} frames, {len(cases)} cases, {runs} runs (+1 warm-up) ==")
    times: dict[str, list[float]] = {name: [] for name in cases}
    for round_index in range(runs + 1):
        for name, run in cases.items():
            start = time.perf_counter()
            run()
            elapsed = time.perf_counter() - start
            if round_index > 0:
                times[name].append(elapsed)
        label = "warm-up" if round_index == 0 else f"run {round_index}/{runs}"
        print(f"  {label} done", flush=True)
    results = {}
    for name, samples in times.items():
        median = statistics.median(samples)
        results[name] = {
            "fps": count / median,
            "fps_min": count / max(samples),
            "fps_max": count / min(samples),
            "seconds": samples,
        }
    if rss:
        for name in cases:
            usage = measure_rss(name, size, count)
            if usage is not None:
                results[name]["rss_before_mib"] = usage["before_mib"]
                results[name]["rss_peak_mib"] = usage["peak_mib"]
    ratios = []
    for label, mm_case, vm_case in ROWS:
        if mm_case in results and vm_case in results:
            ratios.append(
                {
                    "row": label,
                    "motionmag": mm_case,
                    "vidmag": vm_case,
                    "motionmag_fps": results[mm_case]["fps"],
                    "vidmag_fps": results[vm_case]["fps"],
                    "ratio": results[mm_case]["fps"] / results[vm_case]["fps"],
                }
            )
    return {"size": size, "frames": count, "cases": results, "ratios": ratios}


def print_tables(report: dict) -> None:
    for entry in report["sizes"]:
        print(f"\n{entry['size']} ({entry['frames']} frames), median of {report['runs']} runs")
        print(f"  {'case':28s} {'fps':>8s} {'min-max':>15s} {'peak RSS MiB':>13s}")
        for name, res in entry["cases"].items():
            spread = f"{res['fps_min']:.2f}-{res['fps_max']:.2f}"
            peak = res.get("rss_peak_mib")
            peak_text = f"{peak:.0f}" if peak is not None else "-"
            print(f"  {name:28s} {res['fps']:8.2f} {spread:>15s} {peak_text:>13s}")
        if entry["ratios"]:
            print(f"  {'row':34s} {'mm fps':>8s} {'vm fps':>8s} {'mm/vm':>7s}")
            for row in entry["ratios"]:
                print(
                    f"  {row['row']:34s} {row['motionmag_fps']:8.2f} "
                    f"{row['vidmag_fps']:8.2f} {row['ratio']:6.1f}x"
                )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="640x360,1920x1080", help="WxH list")
    parser.add_argument("--frames", default="60,12", help="frames per size (one or per size)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs after one warm-up")
    parser.add_argument("--cases", default="", help="comma list of case names (default all)")
    parser.add_argument("--no-rss", action="store_true", help="skip the per-case RSS children")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    sizes = args.sizes.split(",")
    counts = [int(v) for v in args.frames.split(",")]
    counts = counts * len(sizes) if len(counts) == 1 else counts
    selected = [c.strip() for c in args.cases.split(",") if c.strip()] or None

    if args.child:
        with torch.inference_mode():
            print(json.dumps(child_rss(args.child, sizes[0], counts[0])))
        return 0

    report = {
        "command": command_line(),
        "benchmark": "bench_classical",
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": machine(),
        "threads": THREADS,
        "cv2_threads": CV2_THREADS,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "opencv": cv2.__version__,
        "band_hz": BAND,
        "fps_of_clip": FPS,
        "runs": args.runs,
        "vidmag": None,
        "sizes": [],
    }
    vidmag = import_vidmag()
    if vidmag is not None:
        report["vidmag"] = f"{getattr(vidmag, '__version__', '?')} ({vidmag.__file__})"
    print(f"machine: {report['machine']}; vidmag: {report['vidmag']}")
    for size, count in zip(sizes, counts, strict=True):
        report["sizes"].append(bench_size(size, count, args.runs, selected, not args.no_rss))
    print_tables(report)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(report, handle, indent=1)
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
