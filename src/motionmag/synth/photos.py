"""Real photographs and object masks for the synthetic training data (Oh et al. 2018, Sec. 3.3).

What matters:
- It works offline on a fresh machine: the default pool is the photographs that ship
  inside scikit-image (``load_texture`` names plus a few more bundled files). A user
  folder (``--images``, e.g. COCO) adds to them; a folder of masks (``--masks``, e.g.
  PASCAL VOC ``SegmentationObject``) replaces the generated silhouettes for some objects.
- Folders are listed once (sorted, recursive) and images are decoded lazily with a
  bounded cache, so a 100k-image folder costs a file list, not 100k decodes.
- The pool is deterministic: photo ``i`` is always the same file, so sample ``i`` of a
  seed is the same on every run with the same folders.
- Photos are float32 RGB in [0, 255] (H, W, 3): the renderer must interpolate before
  any rounding (Sec. 3.3, "reconstruct our image in the continuous domain").
"""

from __future__ import annotations

import os
import warnings
from collections import OrderedDict
from pathlib import Path

import numpy as np

from ..errors import InputError, UsageError
from .shapes import pad_mask
from .textures import BUNDLED, load_texture

#: file suffixes read from ``--images`` / ``--masks`` folders
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm")

#: more photographs shipped inside scikit-image (no download), beside ``textures.BUNDLED``
EXTRA_BUNDLED = ("hubble_deep_field", "retina", "brick", "grass", "gravel", "coins", "moon")

#: smallest usable photo side (px); smaller files are skipped when drawn
MIN_PHOTO_SIDE_PX = 48


def list_images(folder: str | os.PathLike, what: str = "--images") -> list[str]:
    """All image files under ``folder`` (recursive), sorted; errors name the flag."""
    root = Path(folder)
    if root.exists() and not root.is_dir():
        raise UsageError(
            f"{what} takes a folder of images, and '{root}' is a file: give the folder it is in."
        )
    if not root.is_dir():
        raise UsageError(f"{what} folder '{root}' does not exist: give a folder of images.")
    found = []
    for base, dirs, files in os.walk(root):
        dirs.sort()
        found.extend(
            os.path.join(base, name)
            for name in sorted(files)
            if name.lower().endswith(IMAGE_SUFFIXES) and not name.startswith(".")
        )
    if not found:
        raise InputError(
            f"{what} folder '{root}' holds no images ({', '.join(IMAGE_SUFFIXES)}): "
            f"point it at a folder of {'masks' if what == '--masks' else 'photos'}."
        )
    return found


def _bundled_photo(name: str) -> np.ndarray:
    if name in BUNDLED:
        return load_texture(name)
    from skimage import data

    image = np.asarray(getattr(data, name)())
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    return np.ascontiguousarray(image[..., :3]).astype(np.uint8)


def _read_photo(path: str) -> np.ndarray | None:
    import cv2

    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        return None
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


class PhotoPool:
    """Photos to crop backgrounds and object textures from: bundled ones plus folders.

    Args:
        folders: extra folders of photos (recursive); each must hold at least one image.
        bundled: include scikit-image's bundled photographs (default True). With no
            folders this must be True.
        cache_mb: decoded folder photos kept in memory (least recently used first out).
    """

    def __init__(
        self,
        folders: list[str] | tuple[str, ...] = (),
        bundled: bool = True,
        cache_mb: float = 256.0,
    ) -> None:
        self._bundled: list[np.ndarray] = []
        self.names: list[str] = []
        if bundled:
            for name in (*[n for n in BUNDLED if n != "cat"], *EXTRA_BUNDLED):
                try:
                    photo = _bundled_photo(name)
                except Exception:  # a data file missing from this scikit-image build
                    continue
                self._bundled.append(photo.astype(np.float32))
                self.names.append(f"skimage:{name}")
        self._paths: list[str] = []
        for folder in folders:
            self._paths.extend(list_images(folder))
        self.names.extend(self._paths)
        if not self.names:
            raise UsageError("no photos to draw textures from: pass --images with a folder.")
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._cache_bytes = 0
        self._cache_limit = int(cache_mb * 2**20)
        self._warned: set[str] = set()

    def __len__(self) -> int:
        return len(self.names)

    def __getstate__(self) -> dict:  # send to worker processes without the decoded cache
        state = self.__dict__.copy()
        state["_cache"] = OrderedDict()
        state["_cache_bytes"] = 0
        return state

    def get(self, index: int) -> np.ndarray:
        """Photo ``index`` as float32 RGB (H, W, 3) in [0, 255]; never modify it.

        An unreadable or tiny file is replaced by the next usable photo (with a warning
        once), so a bad file in a 100k-image folder does not stop a long run.
        """
        for step in range(len(self.names)):
            i = (index + step) % len(self.names)
            photo = self._load(i)
            if photo is not None:
                return photo
        raise InputError("none of the photos can be read: check the --images folder.")

    def _load(self, i: int) -> np.ndarray | None:
        if i < len(self._bundled):
            return self._bundled[i]
        if i in self._cache:
            self._cache.move_to_end(i)
            return self._cache[i]
        path = self.names[i]
        image = _read_photo(path)
        if image is None or min(image.shape[:2]) < MIN_PHOTO_SIDE_PX:
            if path not in self._warned:
                self._warned.add(path)
                why = "cannot be read" if image is None else "is too small"
                warnings.warn(f"photo '{path}' {why}; using another one.", stacklevel=3)
            return None
        photo = image.astype(np.float32)
        self._cache[i] = photo
        self._cache_bytes += photo.nbytes
        while self._cache_bytes > self._cache_limit and len(self._cache) > 1:
            _, old = self._cache.popitem(last=False)
            self._cache_bytes -= old.nbytes
        return photo


class MaskPool:
    """Object silhouettes from a folder of mask images (``--masks``).

    A palette PNG (PASCAL VOC ``SegmentationObject``/``SegmentationClass``) gives one
    mask per label (0 = background and 255 = void are not objects); any other image is
    thresholded at half its range (white = object). Masks are returned cropped to their
    support with the zero border of ``shapes.pad_mask``.
    """

    #: masks smaller than this (px of object) are not used
    MIN_AREA_PX = 64

    def __init__(self, folder: str | os.PathLike) -> None:
        self.paths = list_images(folder, what="--masks")

    def __len__(self) -> int:
        return len(self.paths)

    def get(self, index: int, rng: np.random.Generator) -> np.ndarray | None:
        """One object mask (float32 in [0, 1]) from file ``index``, or None if unusable."""
        from PIL import Image

        try:
            with Image.open(self.paths[index % len(self.paths)]) as image:
                if image.mode == "P":
                    labels = np.asarray(image)
                    values = [v for v in np.unique(labels) if v not in (0, 255)]
                    if not values:
                        return None
                    mask = labels == values[int(rng.integers(len(values)))]
                else:
                    grey = np.asarray(image.convert("L"))
                    mask = grey >= 128
        except (OSError, ValueError):
            return None
        if int(mask.sum()) < self.MIN_AREA_PX:
            return None
        return pad_mask(mask.astype(np.float32))
