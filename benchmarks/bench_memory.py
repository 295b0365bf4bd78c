"""Peak memory of motionmag's streaming magnifier on a long 1080p stream, against vidmag's.

What is measured:

1. motionmag (``--filters``, default ``butter,fir``): a 1920x1080 clip of ``--frames``
   frames (default 18000 = 10 minutes at 30 fps) is generated on the fly (a photo
   shifted by a 0.5 px, 2 Hz sinusoid, one ``cv2.warpAffine`` per frame; no frame is
   stored) and pushed through ``linear`` (temporal, band 1-4 Hz at 30 fps, motionmag's
   default options: every level amplified, order-2 Butterworth, 121-tap FIR), the
   outputs dropped as they come. Every ``--every`` frames the current RSS (psutil) and
   the peak RSS (``VmHWM``) are recorded with the throughput so far. Each filter runs
   in its own child process, so each peak is its own. Flat RSS after the first frames is
   the claim: memory is O(filter window), not O(video).
2. vidmag (``--vidmag-frames``, default ``4,8,12``): its whole-clip NumPy pipelines
   (``motion_lpyr_butter_core``, ``motion_lpyr_ideal_core``) take the clip as one
   ``(T, 1080, 1920, 3)`` array, so their memory grows with T. Each T runs in a fresh
   child; a straight-line fit of peak RSS against T (MiB per frame) is extrapolated to
   ``--frames``. It is not run further: a few GB already show the slope, and this is a
   shared 24 GB machine.

Threads: torch 2 (``BENCH_THREADS``), OpenCV in the calling thread, as in
bench_classical.py (which this imports; vidmag is found the same way).

Run::

    .venv/bin/python benchmarks/bench_memory.py --frames 1200 --json /tmp/memory.json
    nohup .venv/bin/python benchmarks/bench_memory.py --filters butter > /tmp/mem.log &

The second (default 18000 frames) takes about half an hour per filter at ~10 fps.
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
import time

from bench_classical import (
    BAND,
    CV2_THREADS,
    FPS,
    THREADS,
    base_image,
    import_vidmag,
    machine,
    parse_size,
    peak_rss_mib,
    rss_mib,
    vibrating_frame,
)
from records import command_line  # benchmarks/records.py

import numpy as np  # isort: skip  (after bench_classical, which pins the thread pools)
import torch  # isort: skip


def stream_motionmag(filter_kind: str, size: str, frames: int, every: int) -> dict:
    """Push ``frames`` generated frames through a fresh linear magnifier; sample RSS."""
    from motionmag.magnify.config import MagnifyConfig
    from motionmag.magnify.registry import build_magnifier

    height, width = parse_size(size)
    image = base_image(height, width)
    config = MagnifyConfig(
        method="linear", alpha=11.0, mode="temporal", band=BAND, fps=FPS, filter_kind=filter_kind
    )
    magnifier = build_magnifier(config)
    samples = [{"frames_in": 0, "frames_out": 0, "rss_mib": rss_mib(), "peak_mib": peak_rss_mib()}]
    produced = 0
    start = time.perf_counter()
    for t in range(frames):
        produced += len(magnifier.push(vibrating_frame(image, t)))
        if (t + 1) % every == 0 or t + 1 == frames:
            elapsed = time.perf_counter() - start
            sample = {
                "frames_in": t + 1,
                "frames_out": produced,
                "rss_mib": round(rss_mib(), 1),
                "peak_mib": round(peak_rss_mib(), 1),
                "seconds": round(elapsed, 1),
                "fps": round((t + 1) / elapsed, 2),
            }
            samples.append(sample)
            print(json.dumps({"sample": sample}), flush=True)
    produced += len(magnifier.flush())
    elapsed = time.perf_counter() - start
    assert produced == frames, (produced, frames)
    return {
        "filter": filter_kind,
        "latency_frames": magnifier.latency_frames,
        "frames": frames,
        "seconds": round(elapsed, 1),
        "fps": round(frames / elapsed, 2),
        "peak_mib": round(peak_rss_mib(), 1),
        "samples": samples,
    }


def run_vidmag(pipeline: str, size: str, frames: int) -> dict:
    """One whole-clip vidmag call on ``frames`` frames; RSS before (frames built) and peak."""
    vidmag = import_vidmag()
    if vidmag is None:
        raise SystemExit(2)
    from vidmag.cpu.magnify import (  # type: ignore[import-not-found]
        motion_lpyr_butter_core,
        motion_lpyr_ideal_core,
    )

    height, width = parse_size(size)
    image = base_image(height, width)
    clip = np.stack([vibrating_frame(image, t)[..., ::-1] for t in range(frames)])
    before = peak_rss_mib()
    core = {"butter": motion_lpyr_butter_core, "ideal": motion_lpyr_ideal_core}[pipeline]
    start = time.perf_counter()
    core(clip, FPS, alpha=10.0, lambda_c=16.0, fl=BAND[0], fh=BAND[1], chrom_attenuation=0.1)
    return {
        "pipeline": pipeline,
        "frames": frames,
        "seconds": round(time.perf_counter() - start, 1),
        "before_mib": round(before, 1),
        "peak_mib": round(peak_rss_mib(), 1),
    }


def child(arguments: list[str]) -> dict | None:
    """Run this script with ``arguments`` in a fresh process; its last stdout line is JSON."""
    command = [sys.executable, __file__, *arguments]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    last = None
    assert process.stdout is not None
    for line in process.stdout:
        last = line.strip()
        if '"sample"' in last:
            sample = json.loads(last)["sample"]
            print(
                f"    {sample['frames_in']:6d} frames  rss {sample['rss_mib']:8.1f} MiB  "
                f"peak {sample['peak_mib']:8.1f} MiB  {sample['fps']:6.2f} fps",
                flush=True,
            )
    if process.wait() != 0 or last is None:
        print(f"  child {arguments} failed (exit {process.returncode})", file=sys.stderr)
        return None
    return json.loads(last)


def fit_per_frame(points: list[dict]) -> tuple[float, float]:
    """Least-squares line peak_mib = a + b * frames; returns (a, b)."""
    t = np.array([p["frames"] for p in points], dtype=float)
    peak = np.array([p["peak_mib"] for p in points], dtype=float)
    slope, intercept = np.polyfit(t, peak, 1)
    return float(intercept), float(slope)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=18000, help="stream length in frames")
    parser.add_argument("--size", default="1920x1080", help="WxH")
    parser.add_argument("--filters", default="butter,fir", help="motionmag temporal filters")
    parser.add_argument("--every", type=int, default=100, help="sample RSS every N frames")
    parser.add_argument("--vidmag-frames", default="4,8,12", help="clip lengths for vidmag")
    parser.add_argument("--vidmag-pipelines", default="butter,ideal")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--child-motionmag", help=argparse.SUPPRESS)
    parser.add_argument("--child-vidmag", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child_motionmag:
        with torch.inference_mode():
            result = stream_motionmag(args.child_motionmag, args.size, args.frames, args.every)
        print(json.dumps(result))
        return 0
    if args.child_vidmag:
        print(json.dumps(run_vidmag(args.child_vidmag, args.size, args.frames)))
        return 0

    report: dict = {
        "command": command_line(),
        "benchmark": "bench_memory",
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": machine(),
        "threads": THREADS,
        "cv2_threads": CV2_THREADS,
        "size": args.size,
        "frames": args.frames,
        "band_hz": BAND,
        "motionmag": [],
        "vidmag": {},
    }
    print(f"machine: {report['machine']}")
    for filter_kind in [f for f in args.filters.split(",") if f]:
        print(f"\nmotionmag linear, {filter_kind}, {args.size}, {args.frames} frames")
        common = ["--size", args.size, "--frames", str(args.frames), "--every", str(args.every)]
        result = child(["--child-motionmag", filter_kind, *common])
        if result is not None:
            report["motionmag"].append(result)

    vidmag_frames = [int(v) for v in args.vidmag_frames.split(",") if v]
    if vidmag_frames and import_vidmag() is not None:
        for pipeline in [p for p in args.vidmag_pipelines.split(",") if p]:
            points = []
            for count in vidmag_frames:
                print(f"\nvidmag {pipeline} (whole clip), {args.size}, {count} frames")
                point = child(["--child-vidmag", pipeline, "--size", args.size, "--frames",
                               str(count)])  # fmt: skip
                if point is not None:
                    points.append(point)
                    print(f"    peak {point['peak_mib']:.0f} MiB in {point['seconds']} s")
            entry: dict = {"points": points}
            if len(points) >= 2:
                intercept, slope = fit_per_frame(points)
                entry.update(
                    mib_per_frame=round(slope, 1),
                    intercept_mib=round(intercept, 1),
                    extrapolated_gib=round((intercept + slope * args.frames) / 1024, 1),
                )
            report["vidmag"][pipeline] = entry

    print(f"\nsummary, {args.size}, {args.frames} frames")
    for result in report["motionmag"]:
        samples = result["samples"]
        early = next((s for s in samples if s["frames_in"] >= 2 * args.every), samples[-1])
        print(
            f"  motionmag linear {result['filter']:7s}: rss {early['rss_mib']:.0f} MiB at "
            f"frame {early['frames_in']}, {samples[-1]['rss_mib']:.0f} MiB at frame "
            f"{samples[-1]['frames_in']}; peak {result['peak_mib']:.0f} MiB; "
            f"{result['fps']} fps; latency {result['latency_frames']} frames"
        )
    for pipeline, entry in report["vidmag"].items():
        if "mib_per_frame" in entry:
            print(
                f"  vidmag {pipeline:7s} whole clip: {entry['mib_per_frame']:.0f} MiB per frame "
                f"(+{entry['intercept_mib']:.0f}); {args.frames} frames would need about "
                f"{entry['extrapolated_gib']:.0f} GiB"
            )
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(report, handle, indent=1)
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
