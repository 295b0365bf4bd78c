"""Pre-generated Oh et al. (2018) training data on disk: shards plus a JSON manifest.

What matters:
- **A shard is a plain ``.npz``** (``numpy.load`` reads it, no pickles): one member per
  sample, ``s{index:07d}`` = (5, H, W, 3) uint8 frames in the order of
  ``oh2018.FRAME_NAMES`` (A, B, B', Y, Y'), and metadata arrays over its samples:
  ``index`` (n,), ``alpha`` (n,), ``part`` (n,) letters, ``n_layers`` (n,),
  ``motion_px`` (n, 16, 2) (dx, dy) per layer (0 = background), ``colour_offset``
  (n, 16, 3) grey levels. Members are deflated at level 1 (about 1.9x smaller at
  ~50 ms per 384x384 sample) and read one at a time, so random access is cheap.
- **Writes are atomic** (temporary file, then rename) and **resumable**: the manifest
  is written first; a second run with the same parameters keeps the shards already
  there, and different parameters are refused unless ``overwrite``.
- **Parallel without changing the data**: sample ``i`` depends only on (seed, i), so
  ``workers`` processes produce the same bytes as one.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sys
import threading
import time
import zipfile
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import __version__
from ..atomic import atomic_output, write_json
from ..errors import InputError, UsageError
from ..folder_lock import exclusive_folder
from .oh2018 import FRAME_NAMES, MAX_LAYERS, Oh2018Config, Oh2018Generator, Sample
from .photos import MaskPool, PhotoPool

FORMAT = "motionmag-oh2018-shards"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"

#: most samples in one shard
MAX_SAMPLES_PER_SHARD = 256
#: shard files a reader keeps open at once, per process (the least recently read is
#: closed first; Linux often allows 1024 open files)
MAX_OPEN_SHARDS = 64
#: the time stamp of every shard member, so that the same samples give the same bytes
ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)
#: shard size aimed at when choosing the samples per shard (bytes of raw frames)
SHARD_BYTES = 128 * 2**20


def default_samples_per_shard(size_px: int) -> int:
    """Up to 256 samples, and about 128 MiB of raw frames per shard (60 at 384 px)."""
    per_sample = len(FRAME_NAMES) * size_px * size_px * 3
    return int(max(1, min(MAX_SAMPLES_PER_SHARD, SHARD_BYTES // per_sample)))


def shard_name(number: int) -> str:
    return f"shard_{number:05d}.npz"


def member_name(index: int) -> str:
    return f"s{index:07d}"


@dataclass(frozen=True)
class _Job:
    """What a worker needs to rebuild the generator (small, picklable)."""

    config: Oh2018Config
    seed: int
    images: tuple[str, ...]
    masks: str | None


def _generator(job: _Job) -> Oh2018Generator:
    photos = PhotoPool(job.images)
    masks = MaskPool(job.masks) if job.masks else None
    return Oh2018Generator(job.config, seed=job.seed, photos=photos, masks=masks)


def _npy_bytes(array: np.ndarray) -> bytes:
    import io

    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def sample_metadata(sample: Sample) -> dict[str, np.ndarray]:
    """Per-sample metadata arrays as stored in a shard."""
    params = sample.params
    return {
        "index": np.int64(params.index),
        "alpha": np.float64(params.alpha),
        "part": np.str_(params.part),
        "n_layers": np.int64(len(params.layers)),
        "motion_px": params.motion_array(),
        "colour_offset": params.colour_array(),
    }


def write_shard(path: Path, samples: list[Sample]) -> None:
    """Write ``samples`` to the shard ``path`` atomically (temporary file, then rename)."""
    with (
        atomic_output(path) as temporary,
        zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive,
    ):
        for sample in samples:
            name = member_name(sample.params.index) + ".npy"
            archive.writestr(_member(name), _npy_bytes(sample.frames()), **DEFLATE)
        meta = [sample_metadata(s) for s in samples]
        for key in meta[0]:
            stacked = np.stack([m[key] for m in meta])
            archive.writestr(_member(f"{key}.npy"), _npy_bytes(stacked), **DEFLATE)


#: how every member is written (a ZipInfo member does not take the archive's default)
DEFLATE = {"compress_type": zipfile.ZIP_DEFLATED, "compresslevel": 1}


def _member(name: str) -> zipfile.ZipInfo:
    """A member stamped :data:`ZIP_DATE_TIME`, not the clock, so equal samples give
    equal shard bytes."""
    return zipfile.ZipInfo(name, date_time=ZIP_DATE_TIME)


# ----------------------------------------------------------------------- worker side

_WORKER: dict = {}


def _init_worker(job: _Job, ticks) -> None:
    import cv2

    cv2.setNumThreads(1)
    _WORKER["generator"] = _generator(job)
    _WORKER["ticks"] = ticks


def _make_shard(task: tuple[str, int, int]) -> int:
    path, first, count = task
    generator = _WORKER["generator"]
    samples = []
    for index in range(first, first + count):
        samples.append(generator(index))
        if _WORKER.get("ticks") is not None:
            _WORKER["ticks"].put(1)
    write_shard(Path(path), samples)
    return count


# ------------------------------------------------------------------------- main side


def _photos_digest(names: list[str]) -> str:
    """SHA-256 (16 hex digits) of the photos' names (bundled ``skimage:NAME``, else
    absolute paths) and file sizes: a photo replaced by another changes it, a cheap
    check of the files' content (ours: reading every photo to hash it is slow)."""
    digest = hashlib.sha256()
    for name in names:
        path = Path(name)
        size = path.stat().st_size if not name.startswith("skimage:") and path.is_file() else -1
        digest.update(f"{name}\t{size}\n".encode())
    return digest.hexdigest()[:16]


def _manifest(job: _Job, n: int, per_shard: int, photo_names: list[str]) -> dict:
    shards = []
    for number, first in enumerate(range(0, n, per_shard)):
        shards.append(
            {"file": shard_name(number), "first": first, "count": min(per_shard, n - first)}
        )
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "generator": "oh2018",
        "paper": "Oh et al. 2018, Learning-based Video Motion Magnification, Sec. 3.3",
        "motionmag": __version__,
        "seed": job.seed,
        "n": n,
        "size_px": job.config.size_px,
        "frames": list(FRAME_NAMES),
        "max_layers": MAX_LAYERS,
        "config": job.config.to_dict(),
        "images": list(job.images),
        "masks": job.masks,
        "photos": {"count": len(photo_names), "sha256_16": _photos_digest(photo_names)},
        "samples_per_shard": per_shard,
        "shards": shards,
        "complete": False,
    }


def _same_dataset(old: dict, new: dict) -> bool:
    keys = (
        "format",
        "version",
        "seed",
        "n",
        "config",
        "images",
        "masks",
        "photos",
        "samples_per_shard",
    )
    return all(
        json.dumps(old.get(k), sort_keys=True) == json.dumps(new.get(k), sort_keys=True)
        for k in keys
    )


@dataclass
class ShardWriteResult:
    """What ``write_shards`` did: samples in the folder, samples generated now, seconds."""

    folder: Path
    n: int
    shards: int
    generated: int
    seconds: float

    @property
    def samples_per_second(self) -> float:
        return self.generated / self.seconds if self.seconds > 0 else 0.0


def write_shards(
    folder: str | os.PathLike,
    n: int,
    config: Oh2018Config | None = None,
    seed: int = 0,
    images: list[str] | tuple[str, ...] = (),
    masks: str | None = None,
    workers: int = 1,
    samples_per_shard: int | None = None,
    overwrite: bool = False,
    quiet: bool = False,
) -> ShardWriteResult:
    """Generate samples 0..n-1 of dataset ``seed`` into shards under ``folder``.

    Args:
        folder: output folder (created if missing; its parent must exist).
        n: number of samples (parts a-e cycle, so n divisible by 5 gives equal parts).
        config: generator parameters (default: Oh et al.'s, 384x384).
        seed: dataset seed.
        images: extra photo folders (added to the bundled photographs).
        masks: folder of object mask images (default: generated shapes).
        workers: processes (each renders whole shards; the bytes do not depend on it).
            They are started with "spawn": from a script, call this under
            ``if __name__ == "__main__":``.
        samples_per_shard: default ``default_samples_per_shard(size)``.
        overwrite: replace a different dataset already in ``folder``.
        quiet: no progress bar (tqdm, on stderr).
    """
    config = config or Oh2018Config()
    if int(n) != n or n <= 0:
        raise UsageError(f"--n must be a positive number of samples, not {n}.")
    if int(workers) != workers or workers < 1:
        raise UsageError(f"--workers must be at least 1, not {workers}.")
    per_shard = samples_per_shard or default_samples_per_shard(config.size_px)
    if per_shard < 1:
        raise UsageError(f"samples per shard must be at least 1, not {per_shard}.")
    root = Path(folder)
    if not root.parent.is_dir():
        raise UsageError(f"output folder '{root.parent}' does not exist: create it first.")
    if root.exists() and not root.is_dir():
        raise UsageError(f"output '{root}' is a file: give a folder for the shards.")
    job = _Job(
        config=config,
        seed=int(seed),
        # absolute, so that the same dataset resumed from another folder is the same
        images=tuple(str(Path(i).resolve()) for i in images),
        masks=str(Path(masks).resolve()) if masks else None,
    )
    photos = PhotoPool(job.images)  # validates the folders before any work
    if job.masks:
        MaskPool(job.masks)
    manifest = _manifest(job, int(n), per_shard, photos.names)
    with exclusive_folder(root, "motionmag synth"):  # a second run removed the first's shards
        return _fill_folder(root, manifest, job, photos, overwrite, workers, quiet)


def _fill_folder(
    root: Path,
    manifest: dict,
    job: _Job,
    photos: PhotoPool,
    overwrite: bool,
    workers: int,
    quiet: bool,
) -> ShardWriteResult:
    """The work of :func:`write_shards` once its inputs are checked: the folder's
    manifest written (an old dataset replaced only with ``overwrite``), then the shards
    it does not hold yet generated."""
    root.mkdir(exist_ok=True)
    manifest_path = root / MANIFEST
    if manifest_path.exists():
        try:
            old = json.loads(manifest_path.read_text())
        except (OSError, ValueError):
            old = {}
        if not _same_dataset(old, manifest):
            if not overwrite:
                raise UsageError(
                    f"'{root}' already holds a different dataset: choose another folder "
                    "or pass --overwrite to replace it."
                )
            for stale in root.glob("shard_*.npz"):
                stale.unlink()
    elif any(root.glob("shard_*.npz")):
        if not overwrite:
            raise UsageError(
                f"'{root}' holds shards without a manifest: choose another folder "
                "or pass --overwrite to replace them."
            )
        for stale in root.glob("shard_*.npz"):
            stale.unlink()
    write_json(manifest_path, manifest)
    _remove_unfinished(root)  # a run killed mid-shard (SIGKILL) left its temporary file

    tasks = [
        (str(root / s["file"]), s["first"], s["count"])
        for s in manifest["shards"]
        if not (root / s["file"]).exists()
    ]
    todo = sum(t[2] for t in tasks)
    start = time.perf_counter()
    from tqdm import tqdm

    with tqdm(total=todo, unit="sample", disable=quiet, file=sys.stderr, desc="synth") as bar:
        if workers == 1 or len(tasks) <= 1:
            generator = Oh2018Generator(
                job.config,
                seed=job.seed,
                photos=photos,
                masks=MaskPool(job.masks) if job.masks else None,
            )
            _WORKER.update(generator=generator, ticks=None)
            try:
                for path, first, count in tasks:
                    samples = []
                    for index in range(first, first + count):
                        samples.append(generator(index))
                        bar.update(1)
                    write_shard(Path(path), samples)
            finally:
                _WORKER.clear()
        else:
            try:
                _run_pool(job, tasks, min(workers, len(tasks)), bar)
            except BaseException:
                # the pool's workers are ended (SIGTERM) in mid-write, before their own
                # clean-up runs: a Ctrl+C left one hidden temporary shard per busy worker
                _remove_unfinished(root)
                raise
    seconds = time.perf_counter() - start
    manifest["complete"] = True
    write_json(manifest_path, manifest)
    return ShardWriteResult(root, manifest["n"], len(manifest["shards"]), todo, seconds)


def _remove_unfinished(root: Path) -> None:
    """Delete the temporary files of shards never finished (``atomic_output``'s
    ``.shard_NNNNN.*.tmp.npz``): up to 128 MiB each at 384 px, hidden, and never reused."""
    for unfinished in root.glob(".shard_*.tmp.npz"):
        unfinished.unlink(missing_ok=True)


def _run_pool(job: _Job, tasks: list, workers: int, bar) -> None:
    import multiprocessing as mp
    import queue

    # spawn, not fork: a fork after OpenCV's (or torch's) thread pool has run in this
    # process can deadlock the children (seen here); spawn re-imports the caller's script
    context = mp.get_context("spawn")
    ticks = context.Queue()
    held = _hold_ctrl_c()
    try:
        pool = context.Pool(workers, initializer=_init_worker, initargs=(job, ticks))
    except BaseException:
        _release_ctrl_c(held)
        raise
    with pool:
        _release_ctrl_c(held)  # a Ctrl+C pressed while they started is raised here
        result = pool.map_async(_make_shard, tasks, chunksize=1)
        while True:
            try:
                bar.update(ticks.get(timeout=0.2))
            except queue.Empty:
                if result.ready():
                    break
        result.get()
        while not ticks.empty():
            bar.update(ticks.get())


def _hold_ctrl_c() -> object:
    """Block Ctrl+C (SIGINT) in this thread while worker processes start; the previous
    signal mask, for :func:`_release_ctrl_c`, or None where nothing was blocked.

    The workers inherit the blocked signal, so a Ctrl+C reaches this process alone, which
    stops the pool (a worker still importing printed a KeyboardInterrupt traceback of its
    own). Blocked, not ignored: one pressed meanwhile waits, and is raised on release
    (ignoring it lost it)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(
        signal, "pthread_sigmask"
    ):
        return None
    return signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})


def _release_ctrl_c(held: object) -> None:
    """Undo :func:`_hold_ctrl_c`: a Ctrl+C that waited is raised now."""
    if held is not None:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


# --------------------------------------------------------------------------- reading


def read_manifest(folder: str | os.PathLike) -> dict:
    """The manifest of a shard folder; InputError if missing, foreign or incomplete."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise InputError(f"'{folder}' has no {MANIFEST}: write shards with `motionmag synth`.")
    try:
        manifest = json.loads(path.read_text())
    except ValueError:
        raise InputError(f"'{path}' is not valid JSON: regenerate the shards.") from None
    if manifest.get("format") != FORMAT or manifest.get("version") != FORMAT_VERSION:
        raise InputError(f"'{path}' is not a {FORMAT} v{FORMAT_VERSION} manifest.")
    if not manifest.get("complete"):
        raise InputError(
            f"the shards in '{folder}' are incomplete: run the same `motionmag synth` "
            "command again to finish them."
        )
    return manifest


class ShardReader:
    """Random access to the samples of a shard folder (numpy; one open file per shard).

    ``reader[i]`` -> (frames (5, H, W, 3) uint8, metadata dict of numpy scalars/arrays).
    Files are opened lazily in the process that reads (DataLoader workers included).
    """

    def __init__(self, folder: str | os.PathLike) -> None:
        self.folder = Path(folder)
        self.manifest = read_manifest(folder)
        self._shards = self.manifest["shards"]
        self._firsts = np.array([s["first"] for s in self._shards])
        # open shards, least recently used first (an OrderedDict), at most MAX_OPEN_SHARDS
        self._open: OrderedDict[int, tuple[int, object, dict]] = OrderedDict()

    def __len__(self) -> int:
        return int(self.manifest["n"])

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_open"] = OrderedDict()
        return state

    def _shard(self, number: int):
        entry = self._open.get(number)
        if entry is not None and entry[0] == os.getpid():
            self._open.move_to_end(number)
            return entry[1], entry[2]
        if entry is not None:  # opened by the parent before a fork: not ours to close
            del self._open[number]
        while len(self._open) >= MAX_OPEN_SHARDS:  # the file limit is often 1024
            pid, npz, _ = self._open.popitem(last=False)[1]
            if pid == os.getpid():
                npz.close()
        path = self.folder / self._shards[number]["file"]
        try:
            npz = np.load(path, allow_pickle=False)
            meta = {
                key: npz[key]
                for key in ("index", "alpha", "part", "n_layers", "motion_px", "colour_offset")
            }
        except OSError as error:
            raise InputError(f"shard '{path}' cannot be opened ({error.strerror}).") from None
        except (ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
            raise InputError(
                f"shard '{path}' cannot be read ({error or type(error).__name__}): regenerate it."
            ) from None
        self._open[number] = (os.getpid(), npz, meta)
        return npz, meta

    def __getitem__(self, index: int):
        if not 0 <= index < len(self):
            raise IndexError(f"sample {index} outside 0..{len(self) - 1}")
        number = int(np.searchsorted(self._firsts, index, side="right") - 1)
        npz, meta = self._shard(number)
        row = index - self._shards[number]["first"]
        frames = npz[member_name(index)]
        return frames, {key: value[row] for key, value in meta.items()}

    def close(self) -> None:
        for pid, npz, _ in self._open.values():
            if pid == os.getpid():
                npz.close()
        self._open.clear()
