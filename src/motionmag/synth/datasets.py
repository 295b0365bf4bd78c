"""torch Datasets of Oh et al. (2018) training pairs: on the fly, or from shards on disk.

What matters:
- **Both give identical items**: ``Oh2018Dataset(n, config, seed)[i]`` renders sample
  ``i`` of dataset ``seed``; ``ShardDataset(folder)[i]`` reads the same sample from
  shards written by ``motionmag synth`` with that seed (the uint8 frames are the same
  bytes; both convert them the same way).
- An item is a dict of tensors: frames ``A``, ``B``, ``B_perturbed``, ``Y``,
  ``Y_perturbed`` float32 (3, H, W) in [0, 1]; ``alpha`` float32 () (total factor: Y
  shows alpha x the motion of B); ``motion_px`` float32 (16, 2) per-layer (dx, dy) in
  px (row 0 background, then the objects, zero-padded); ``colour_offset`` float32
  (16, 3) per-layer constants of B', Y' in [0, 1] units; ``n_layers``, ``part`` (0-4 for
  a-e), ``index`` int64 (). The default collate batches them.
- Map-style and fork/spawn-safe: rendering is deterministic per index, shard files are
  opened lazily in the worker that reads them. Use ``worker_init_fn=worker_init`` to
  keep OpenCV to one thread per DataLoader worker.
- Noise is added at training time, not in the data: ``add_training_noise``.

This is the only module of ``synth/`` that imports torch.
"""

from __future__ import annotations

import os

import numpy as np
import torch
from torch.utils.data import Dataset

from .oh2018 import FRAME_NAMES, PARTS, Oh2018Config, Oh2018Generator
from .photos import MaskPool, PhotoPool
from .shards import ShardReader, sample_metadata


def worker_init(_worker_id: int) -> None:
    """DataLoader ``worker_init_fn``: one OpenCV and one torch thread per worker."""
    import cv2

    cv2.setNumThreads(1)
    torch.set_num_threads(1)


def to_item(frames: np.ndarray, meta: dict) -> dict[str, torch.Tensor]:
    """(5, H, W, 3) uint8 frames + metadata -> the dict of tensors described above."""
    tensor = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2)
    tensor = tensor.to(torch.float32).div_(255.0)
    item = {name: tensor[k] for k, name in enumerate(FRAME_NAMES)}
    item["alpha"] = torch.tensor(float(meta["alpha"]), dtype=torch.float32)
    item["motion_px"] = torch.as_tensor(np.asarray(meta["motion_px"], np.float32))
    item["colour_offset"] = torch.as_tensor(np.asarray(meta["colour_offset"], np.float32) / 255)
    item["n_layers"] = torch.tensor(int(meta["n_layers"]), dtype=torch.int64)
    item["part"] = torch.tensor(PARTS.index(str(meta["part"])), dtype=torch.int64)
    item["index"] = torch.tensor(int(meta["index"]), dtype=torch.int64)
    return item


class Oh2018Dataset(Dataset):
    """Samples 0..n-1 of dataset ``seed``, rendered when asked for (Oh et al. 2018, Sec. 3.3).

    Args:
        n: length of the dataset (parts cycle a-e, so a multiple of 5 is balanced).
        config: generator parameters (default: the paper's, 384x384).
        seed: dataset seed.
        images: extra photo folders (added to scikit-image's bundled photographs).
        masks: folder of object masks (default: generated shapes).
    """

    def __init__(
        self,
        n: int,
        config: Oh2018Config | None = None,
        seed: int = 0,
        images: list[str] | tuple[str, ...] = (),
        masks: str | os.PathLike | None = None,
    ) -> None:
        self.n = int(n)
        self.generator = Oh2018Generator(
            config,
            seed=seed,
            photos=PhotoPool(tuple(images)),
            masks=MaskPool(masks) if masks else None,
        )

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if not 0 <= index < self.n:
            raise IndexError(f"sample {index} outside 0..{self.n - 1}")
        sample = self.generator(int(index))
        return to_item(sample.frames(), sample_metadata(sample))


class ShardDataset(Dataset):
    """The samples of a shard folder written by ``motionmag synth`` (same items as above)."""

    def __init__(self, folder: str | os.PathLike) -> None:
        self.reader = ShardReader(folder)
        self.manifest = self.reader.manifest

    def __len__(self) -> int:
        return len(self.reader)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        frames, meta = self.reader[int(index)]
        return to_item(frames, meta)


def add_training_noise(
    x: torch.Tensor,
    generator: torch.Generator | None = None,
    strength: torch.Tensor | float | None = None,
    max_strength: float = 0.3,
) -> torch.Tensor:
    """Poisson-like noise of Oh et al. 2018 (Sec. 3.2 "Training"), on [0, 1] frames.

    The authors' code, in [-1, 1] units: ``N(0,1) * sqrt(x + 1) / sqrt(127.5) * s`` with
    ``s ~ U(0, 0.3)`` per sample: the variance grows with brightness like photon noise,
    and at mid-grey the standard deviation is up to 0.3 * 11.3 ~ 3.4 grey levels (0-255).
    Here ``x`` is in [0, 1] (``x + 1`` becomes ``2x``, the noise is halved).

    Args:
        x: (C, H, W) or (N, C, H, W) float tensor in [0, 1].
        generator: torch random generator (default: torch's global one).
        strength: ``s`` per sample (scalar or (N,)); default U(0, max_strength) per sample,
            pass the same value to noise two frames of one pair alike.
        max_strength: upper bound of the default ``s``.

    Returns ``x + noise`` (not clipped, like the reference code).
    """
    batch = x.shape[0] if x.dim() == 4 else 1
    if strength is None:
        strength = torch.rand(batch, generator=generator, device=x.device) * max_strength
    strength = torch.as_tensor(strength, dtype=x.dtype, device=x.device).reshape(-1)
    shape = (-1, 1, 1, 1) if x.dim() == 4 else (-1, 1, 1)
    strength = strength.reshape(shape) if strength.numel() > 1 else strength.reshape(())
    gauss = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    std = torch.sqrt(torch.clamp(2 * x, min=0)) / (127.5**0.5) * strength / 2
    return x + gauss * std
