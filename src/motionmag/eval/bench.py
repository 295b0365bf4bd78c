"""Speed and memory of every method, side by side with the oh2018 architecture.

What matters (EVALUATION.md section 6):

- **Ratios, not absolute times.** These machines are noisy, so every size is timed for
  the oh2018 architecture in the same run, and each method's frames per second is also
  given as a ratio to it (``x_oh2018`` > 1: faster than oh2018). Speed does not depend on
  the weights, so the reference is timed with random weights where none are installed
  (the result says ``weights: random``).
- **What one frame costs.** A case pushes random uint8 frames through
  ``build_magnifier(...).push``, the way ``motionmag magnify`` runs: temporal mode
  (Butterworth 1-3 Hz at 30 fps) for classical methods, static mode for learned and
  two-frame methods (the reference frame's encoding is computed once and reused, the
  mode their papers time). fps is ``frames`` divided by the median time of ``runs``
  timed runs, after :data:`WARMUP_FRAMES` warm-up pushes (plans, filters, caches).
- **GFLOPs per frame and parameters** only for methods with a torch network (found as
  ``magnifier.method.model``, the convention of ``magnify/learned.py``); ``None`` for
  classical methods, whose cost is mostly element-wise and FFT work that
  ``torch.utils.flop_counter`` does not count. The FLOPs (2 x multiply-add) are those of
  one steady-state ``push`` (the last warm-up push, counted by ``FlopCounterMode``): for
  oh2018 in static mode that is the encoder on the new frame, the manipulator and the
  decoder (the reference's encoding is reused), i.e. a pair forward minus one encoder.
  With the option ``batch`` > 1 the last ``batch`` warm-up pushes (one batched decode)
  are counted and divided by ``batch``, and the warm-up and timed pushes are rounded up
  to whole batches. The counted pushes leave out the learned nets' colour match (a few
  FLOPs a pixel). They run the networks unfused (``nets.fused.unfused``):
  the counter knows aten's convolution, not oneDNN's fused one; the arithmetic is the
  same.
- **Speed-path options** (``backend``, ``precision``, ``batch`` of the learned methods
  that run ``magnify/learned.py``'s path, ``MethodSpec.speed_options``): each such
  method is then timed twice, plain and with the ``options`` (the plain reference is
  the ratios' base), so one run shows e.g. ``ha2024 [precision=bf16]`` against plain
  ``ha2024`` and ``oh2018``. Other methods are timed plain only.
- **Whole-clip methods** (DeepMag: ``push`` only stores a frame, ``flush`` magnifies
  the clip): each timed run is at least :data:`WHOLE_CLIP_FRAMES` pushes and the
  flush, after one such run to warm up, so their fps is the whole clip's work per
  frame; their FLOPs are not counted.
- **Peak memory of a fresh process.** Unless ``memory=False``, each case runs in its own
  child process (multiprocessing ``spawn``), so ``peak_rss_mb`` (``ru_maxrss``) is that
  case's alone; ``import_rss_mb`` is the same process's peak before the magnifier was
  built (Python, torch and motionmag imported), so the difference is the method's own.
"""

from __future__ import annotations

import contextlib
import datetime
import multiprocessing
import platform
import re
import resource
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from ..errors import UsageError
from ..magnify.config import MagnifyConfig
from ..magnify.registry import MethodSpec, build_magnifier, get_method, methods, weights_available

#: the method every other is compared with, timed in the same run
REFERENCE = "oh2018"
#: EVALUATION.md section 6: 640x360 and 1920x1080 (width, height) in px
DEFAULT_SIZES: tuple[tuple[int, int], ...] = ((640, 360), (1920, 1080))
#: pushes before timing (plans, filters, caches, the static reference encoding)
WARMUP_FRAMES = 4
#: frames per timed run of a whole-clip method at least (ours: DeepMag's zero-phase
#: band-pass needs 23 frames at 30 fps)
WHOLE_CLIP_FRAMES = 60
#: the record ``motionmag methods`` shows (see ``magnify/speeds.py``)
RECORD = Path(__file__).resolve().parents[1] / "magnify" / "speeds.json"
#: record keys of the sizes (the record's historical name of 1920x1080)
_RECORD_LABELS = {(640, 360): "640x360", (1920, 1080): "1080p"}
_SIZE = re.compile(r"^\s*(\d+)\s*[xX]\s*(\d+)\s*$")


@dataclass(frozen=True)
class BenchCase:
    """One method at one frame size (width, height in px), as it will be timed."""

    method: str
    mode: str
    width: int
    height: int
    frames: int  # pushes per timed run
    runs: int  # timed runs; fps is from their median
    threads: int  # torch (and OpenCV) threads
    weights: str  # "-" (classical), "installed" or "random" (architecture only)
    warmup: int = WARMUP_FRAMES  # untimed pushes first; the last one's FLOPs are counted
    options: tuple[tuple[str, object], ...] = ()  # learned methods' speed-path options


@dataclass
class BenchResult:
    """What one case measured. Times in s, memory in MB (10^6 bytes), FLOPs in 10^9."""

    method: str
    mode: str
    width: int
    height: int
    frames: int
    runs: int
    threads: int
    weights: str
    warmup: int
    fps: float  # frames / median run time
    run_seconds: list[float] = field(default_factory=list)
    x_oh2018: float | None = None  # fps / the reference's fps at the same size
    gflops_per_frame: float | None = None  # 2 x multiply-add of one push; None: classical
    params: int | None = None  # parameters of the network; None: classical
    peak_rss_mb: float | None = None  # peak resident memory of the case's own process
    import_rss_mb: float | None = None  # the same process's peak before the method was built
    options: tuple[tuple[str, object], ...] = ()  # learned methods' speed-path options

    @property
    def size(self) -> str:
        return f"{self.width}x{self.height}"

    @property
    def label(self) -> str:
        """The method with its options, e.g. ``oh2018 [backend=onnx]``."""
        if not self.options:
            return self.method
        return f"{self.method} [{','.join(f'{k}={v}' for k, v in self.options)}]"


def parse_sizes(text: str) -> list[tuple[int, int]]:
    """``"640x360,1920x1080"`` -> [(640, 360), (1920, 1080)]; UsageError when malformed."""
    sizes = []
    for part in text.split(","):
        match = _SIZE.match(part)
        if not match:
            raise UsageError(
                f"size '{part.strip()}' is not WIDTHxHEIGHT: pass e.g. --sizes 640x360,1920x1080."
            )
        width, height = int(match[1]), int(match[2])
        if width < 8 or height < 8:
            raise UsageError(f"size {width}x{height} is too small: use at least 8x8 px.")
        sizes.append((width, height))
    return sizes


def timed_mode(spec: MethodSpec) -> str:
    """Static for learned and two-frame methods, else temporal (see the module docstring)."""
    if spec.kind == "learned" or "temporal" not in spec.modes:
        return "static" if "static" in spec.modes else spec.modes[0]
    return "temporal"


#: pushes per timed run at most (ours: a small size would otherwise take hundreds)
MAX_DEFAULT_FRAMES = 100


def default_frames(width: int, height: int) -> int:
    """Pushes per timed run, in proportion to 1 / area: 20 at 640x360, 4 at 1920x1080
    (at least 4), at most :data:`MAX_DEFAULT_FRAMES` for small frames."""
    return min(MAX_DEFAULT_FRAMES, max(4, round(20 * 640 * 360 / (width * height))))


def select_methods(names: Sequence[str] | None) -> list[tuple[MethodSpec, str]]:
    """The methods to time, each with its weights label, the reference first.

    ``names`` None: every registered method whose weights are installed. The reference
    (:data:`REFERENCE`) is always added, with random weights where none are installed;
    any other learned method named without installed weights is timed the same way.
    """
    wanted = [get_method(n) for n in dict.fromkeys(names)] if names else None
    chosen: list[tuple[MethodSpec, str]] = []
    for spec in [get_method(REFERENCE), *(wanted if wanted is not None else methods())]:
        if any(spec.name == done.name for done, _ in chosen):
            continue
        if spec.weights is None:
            chosen.append((spec, "-"))
        elif weights_available(spec):
            chosen.append((spec, "installed"))
        elif spec.name == REFERENCE or wanted is not None:
            # named on purpose: time the architecture (speed does not depend on weights)
            chosen.append((spec, "random"))
    return chosen


def _set_threads(torch_threads: int, cv2_threads: int | None = None) -> tuple[int, int]:
    """Set torch's and OpenCV's thread counts; returns the previous (torch, OpenCV) pair."""
    import cv2

    previous = (torch.get_num_threads(), cv2.getNumThreads())
    torch.set_num_threads(torch_threads)
    cv2.setNumThreads(torch_threads if cv2_threads is None else cv2_threads)
    return previous


#: where magnifiers keep their torch network: an Eulerian method's ``method.model``, a
#: pair magnifier's own ``model`` (flowmag, sigma-theta), DeepMag-motion's ``predictor``
_NETWORK_PLACES = (("method", "model"), ("model",), ("predictor", "net"))


def _network(magnifier: object) -> torch.nn.Module | None:
    """The torch network a magnifier runs (:data:`_NETWORK_PLACES`); None for classical
    methods (deepmag-motion's went uncounted: its parameters showed as '-')."""
    for place in _NETWORK_PLACES:
        network: object = magnifier
        for name in place:
            network = getattr(network, name, None)
        if isinstance(network, torch.nn.Module):
            return network
    return None


@contextlib.contextmanager
def _network_only(magnifier: object):
    """The learned nets' colour match (``magnify.learned.match_colours``: 18 FLOPs a
    pixel, against some 480,000 of oh2018's network) switched off while the FLOPs are
    counted, so the count is the network's, the figure the papers give."""
    method = getattr(magnifier, "method", None)
    matched = getattr(method, "color_match", None)
    if matched is None:
        yield
        return
    method.color_match = False
    try:
        yield
    finally:
        method.color_match = matched


def _run(magnifier, clip: list[np.ndarray], pushes: int) -> float:
    """Seconds for ``pushes`` frames of ``clip`` (cycled) through ``magnifier``, and its
    flush for a whole-clip one (its work is there)."""
    start = time.perf_counter()
    for i in range(pushes):
        magnifier.push(clip[i % len(clip)])
    if magnifier.whole_clip:
        magnifier.flush()
    return time.perf_counter() - start


def measure_case(case: BenchCase) -> BenchResult:
    """Time ``case`` in this process (torch's thread count is set for the call only)."""
    from torch.utils.flop_counter import FlopCounterMode

    from ..nets.fused import unfused

    previous = _set_threads(case.threads)
    try:
        rng = np.random.default_rng(0)
        shape = (case.height, case.width, 3)
        clip = [rng.integers(0, 256, shape, dtype=np.uint8) for _ in range(WARMUP_FRAMES)]
        options = {"pretrained": False} if case.weights == "random" else {}
        options.update(dict(case.options))
        config = MagnifyConfig(
            method=case.method,
            alpha=10.0,
            mode=case.mode,
            band=(1.0, 3.0) if case.mode == "temporal" else None,
            fps=30.0,
            options=options,
        )
        magnifier = build_magnifier(config)
        network = _network(magnifier)
        # a batching method decodes every `batch` pushes: warm up whole batches and count
        # the last batch's pushes, per frame
        batch = int(getattr(magnifier, "batch_frames", 1))
        count = -(-max(1, case.warmup) // batch) * batch
        warmup = [clip[i % len(clip)] for i in range(count)]
        pushes = -(-case.frames // batch) * batch
        gflops = params = None
        # a whole-clip method (DeepMag) only stores frames in push and works in flush:
        # each run (and one warm-up run) is at least WHOLE_CLIP_FRAMES pushes and the
        # flush. Its FLOPs are not counted: the counter cannot follow the autograd.grad
        # of DeepMag's gradient ascent
        whole_clip = magnifier.whole_clip
        if whole_clip:
            pushes = max(pushes, WHOLE_CLIP_FRAMES)
            _run(magnifier, clip, pushes)
        else:
            for frame in warmup[:-batch]:
                magnifier.push(frame)
            with FlopCounterMode(display=False) as counter, unfused(), _network_only(magnifier):
                for frame in warmup[-batch:]:
                    magnifier.push(frame)
            # None where torch does not run the convolutions (backend=onnx): not counted
            gflops = counter.get_total_flops() / 1e9 / batch or None
        if network is None:
            gflops = None
        else:
            params = sum(p.numel() for p in network.parameters())
        seconds = [_run(magnifier, clip, pushes) for _ in range(case.runs)]
    finally:
        _set_threads(*previous)
    return BenchResult(
        **{**asdict(case), "frames": pushes},
        fps=pushes / statistics.median(seconds),
        run_seconds=[round(s, 6) for s in seconds],
        gflops_per_frame=gflops,
        params=params,
    )


def _peak_rss_mb() -> float:
    """This process's peak resident memory (MB): Linux's ``VmHWM``, the high-water mark of
    its own address space. ``ru_maxrss`` is kept across fork and exec, so a case's child
    started at its parent's peak (2834 MB for linear from a parent that had held 2.5 GB);
    it is the fallback where ``/proc`` is not."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024 / 1e6  # kB
    except (OSError, ValueError, IndexError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6  # Linux: KiB


def _measure_in_child(case: BenchCase) -> BenchResult:
    """Child-process entry (spawn): the case's result with this process's peak RSS."""
    import_rss = _peak_rss_mb()
    result = measure_case(case)
    return replace(result, peak_rss_mb=_peak_rss_mb(), import_rss_mb=import_rss)


def _measure_fresh(case: BenchCase) -> BenchResult:
    context = multiprocessing.get_context("spawn")
    with context.Pool(1, maxtasksperchild=1) as pool:
        return pool.apply(_measure_in_child, (case,))


def run_bench(
    names: Sequence[str] | None = None,
    sizes: Sequence[tuple[int, int]] = DEFAULT_SIZES,
    frames: int | None = None,
    runs: int = 5,
    threads: int = 2,
    memory: bool = True,
    progress: Callable[[BenchResult], None] | None = None,
    options: dict[str, object] | None = None,
    mode: str | None = None,
) -> list[BenchResult]:
    """Time ``names`` (default: all installed) and the reference at every size.

    Sizes are (width, height) in px; ``frames`` pushes per timed run (default
    :func:`default_frames`); ``memory`` runs each case in a fresh child process to
    measure its peak RSS. Each size's reference is timed first, and every result gets
    its ratio ``x_oh2018`` to it. ``progress`` is called with each finished result.
    ``options`` (e.g. ``{"backend": "onnx"}``): every method that takes them
    (``MethodSpec.speed_options``) is timed without and with them. ``mode``: time every
    method in this mode (default :func:`timed_mode`); a method without it is left out
    (the reference, oh2018, has every mode).
    """
    if runs < 1 or threads < 1 or (frames is not None and frames < 1):
        raise UsageError("--runs, --threads and --frames must be at least 1.")
    chosen = select_methods(names)
    if mode is not None:
        chosen = [(spec, weights) for spec, weights in chosen if mode in spec.modes]
    results: list[BenchResult] = []
    for width, height in sizes:
        count = frames if frames is not None else default_frames(width, height)
        reference_fps = None
        for spec, weights in chosen:
            variants: list[tuple] = [()]
            if options and spec.speed_options:
                variants = [(), tuple(sorted(options.items()))]
            for variant in variants:
                case = BenchCase(
                    spec.name,
                    mode or timed_mode(spec),
                    width,
                    height,
                    count,
                    runs,
                    threads,
                    weights,
                    options=variant,
                )
                result = _measure_fresh(case) if memory else measure_case(case)
                if spec.name == REFERENCE and not variant:
                    reference_fps = result.fps
                result.x_oh2018 = result.fps / reference_fps if reference_fps else None
                results.append(result)
                if progress is not None:
                    progress(result)
    return results


def machine() -> str:
    """e.g. "x86_64, 2 CPUs (AMD EPYC ...), torch 2.5.1, CPU"."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    count = multiprocessing.cpu_count()
    return f"{platform.machine()}, {count} CPUs ({cpu}), torch {torch.__version__}, CPU"


def to_json(results: Sequence[BenchResult], command: str) -> dict:
    """The ``--json`` document: settings, machine and one entry per case."""
    return {
        "command": command,
        "date": datetime.date.today().isoformat(),
        "machine": machine(),
        "reference": REFERENCE,
        "note": (
            "fps: frames / median of runs after warmup frames; x_oh2018: fps / "
            f"{REFERENCE}'s fps at the same size in this run ({REFERENCE} timed with random "
            "weights where none are installed: speed does not depend on them); "
            "gflops_per_frame: 2 x multiply-add of one steady-state push "
            "(torch.utils.flop_counter; learned static mode: encoder of the new frame + "
            "manipulator + decoder); peak_rss_mb: ru_maxrss of the case's own process"
        ),
        "results": [{**asdict(r), "size": r.size} for r in results],
    }


def _cell(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def format_table(results: Sequence[BenchResult]) -> str:
    """A plain-text table: method, mode, size, fps, x oh2018, GFLOPs/frame, params, RSS."""
    names = [r.label + (" (random)" if r.weights == "random" else "") for r in results]
    width = max([16, *map(len, names)])
    header = (
        f"{'method':<{width}} {'mode':<9} {'size':>10} {'fps':>9} {'x oh2018':>9} "
        f"{'GFLOPs/frame':>13} {'params':>10} {'peak RSS MB':>12}"
    )
    lines = [header, "-" * len(header)]
    for r, name in zip(results, names, strict=True):
        lines.append(
            f"{name:<{width}} {r.mode:<9} {r.size:>10} {r.fps:>9.3g} {_cell(r.x_oh2018, '.3g'):>9} "
            f"{_cell(r.gflops_per_frame, '.2f'):>13} {_cell(r.params, ','):>10} "
            f"{_cell(r.peak_rss_mb, '.0f'):>12}"
        )
    lines.append(f"x oh2018: fps / {REFERENCE}'s fps at the same size in this run.")
    if any(r.weights == "random" for r in results):
        lines.append(
            "(random): the architecture timed with random weights (none installed; speed "
            "does not depend on them)."
        )
    lines.append(
        "GFLOPs: 2 x multiply-add of one frame ('-': not counted: classical, run by ONNX "
        "Runtime, or a whole-clip method's gradient ascent)."
    )
    return "\n".join(lines)


def check_record_protocol(
    sizes: Sequence[tuple[int, int]],
    runs: int,
    threads: int = 2,
    frames: int | None = None,
    mode: str | None = None,
) -> None:
    """The shipped record takes only protocol measurements (EVALUATION.md sec. 6): the
    default sizes, frames and modes, 2 threads (the record says "on 2 CPUs"), >= 5 runs."""
    if tuple(sizes) != DEFAULT_SIZES or runs < 5 or threads != 2 or frames or mode:
        raise UsageError(
            "--write-record keeps only measurements of the protocol (--sizes 640x360,1920x1080, "
            "--runs 5 or more, --threads 2, the default --frames and modes): drop "
            "--write-record or those options."
        )


def merge_record(record: dict, results: Sequence[BenchResult], command: str) -> dict:
    """``record`` (speeds.json's content) with ``results`` merged in, method by method.

    The format of ``magnify/speeds.py``: ``methods[name]`` maps size labels
    ("640x360", "1080p") to fps (3 significant digits), with ``mode``, ``date`` and
    ``command``; nothing else in an entry may be a number.
    """
    today = datetime.date.today().isoformat()
    entries: dict[str, dict] = {}
    for r in results:
        entry = entries.setdefault(r.method, {})
        entry[_RECORD_LABELS.get((r.width, r.height), r.size)] = float(f"{r.fps:.3g}")
        entry.update(mode=r.mode, date=today, command=command)
        if r.weights == "random":
            entry["weights"] = "random (architecture only; speed does not depend on weights)"
    merged = {**record, "methods": {**record.get("methods", {}), **entries}}
    threads = sorted({r.threads for r in results})
    merged["machine"] = f"{machine()}, {','.join(map(str, threads))} torch threads"
    merged["note"] = (
        "median of runs after warm-up; temporal mode (Butterworth 1-3 Hz) except learned and "
        "two-frame methods (static, reference encoding reused); written by motionmag bench"
    )
    return merged
