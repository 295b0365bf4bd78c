"""Evaluation frame pairs with ground truth (EVALUATION.md section 1; Oh et al. 2018 Sec. 4.1).

What matters:

- **Made exactly like the training data**: a scene is drawn by the Oh et al. generator
  (``synth.oh2018.sample_params``, part (a): a textured photo background plus 7-15
  pasted objects) and rendered by its renderer (bicubic at 4x, Gaussian blur, area
  down-sampling, dithered to uint8), so the sub-pixel motion is rendered, not
  approximated, and ``Y`` is ``A`` with every layer moved by exactly ``alpha`` x its
  motion.
- **Only the amount and alpha are set by the caller**: EVERY layer moves by the same
  ``motion_px``; each object in its own random direction, the background in a direction
  at least ``MIN_BACKGROUND_ANGLE_DEG`` away from every object's (our choice of what
  "a different direction" means), so a method that copies the background motion onto
  the whole frame cannot score.
- **One scene, many levels**: the scene (photos, masks, placement, directions) depends
  on ``(seed, index)`` only, never on the motion or alpha, so a swept curve compares the
  same scenes at every level and ``A`` is the same frame at every level. The
  background crop is placed so it covers the frame for magnified motions up to
  ``SCENE_REACH_PX`` (beyond that it is re-placed to cover, and the scene changes).
- **Not the training set**: scenes are drawn with the generator seed
  ``EVAL_SEED_BASE + seed`` (a training run would have to use that seed to overlap).
  Deterministic from ``(seed, index)``; the same dithering as ``oh2018.render``, so a
  case's frames equal ``render`` of its parameters.
- No colour perturbation (the training copies B', Y' are not needed here) and no noise:
  the noise suites add it to A and B themselves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from ..errors import UsageError

# _Renderer and _affine are the generator's own (private) pieces, used so that a case is
# rendered by exactly the training pipeline while rendering only A, B, Y (no perturbed
# copies) and A once per scene; a public per-frame render in oh2018 would replace them.
from ..levels import dither
from ..synth.oh2018 import (
    PARTS,
    Oh2018Config,
    SampleParams,
    _affine,
    _Renderer,
    sample_params,
)
from ..synth.photos import PhotoPool

#: generator seed of evaluation scene set ``s`` is ``EVAL_SEED_BASE + s`` (our choice: far
#: from the small seeds training runs use, so the evaluation scenes are not training data)
EVAL_SEED_BASE = 7_340_033

#: every object's direction differs from the background's by at least this (degrees)
MIN_BACKGROUND_ANGLE_DEG = 45.0

#: magnified motion (px) the background crop is guaranteed to cover with the same scene
#: (the training generator's ``max_magnified_px``) plus the renderer's 4 px margin
SCENE_REACH_PX = 30.0 + 4.0

_PHOTOS: PhotoPool | None = None


def default_photos() -> PhotoPool:
    """The bundled photo pool, loaded once per process (shared by every scene)."""
    global _PHOTOS
    if _PHOTOS is None:
        _PHOTOS = PhotoPool()
    return _PHOTOS


@dataclass
class EvalCase:
    """One evaluation case: frames A, B and the ground truth Y (uint8 RGB, (H, W, 3)).

    ``motion_px`` is the amount every layer moves from A to B (px); ``alpha`` the total
    factor (Y shows every layer moved by ``alpha * motion_px``). ``layer_motion_px`` is
    the (L, 2) float64 (dx, dy) px per layer (0 = background, then objects in paint
    order). With ``return_masks``, ``visibility[f]`` is the (L, H, W) coverage of each
    layer in frame f ("A", "B", "Y") and ``float_frames[f]`` the frame before dithering.
    """

    A: np.ndarray
    B: np.ndarray
    Y: np.ndarray
    alpha: float
    motion_px: float
    layer_motion_px: np.ndarray
    params: SampleParams
    visibility: dict[str, np.ndarray] = field(default_factory=dict)
    float_frames: dict[str, np.ndarray] = field(default_factory=dict)


def _cover_background(
    params: SampleParams, config: Oh2018Config, photos: PhotoPool, reach_px: float
) -> SampleParams:
    """Re-place the background crop so it covers the frame for motions up to ``reach_px``.

    Keeps the generator's orientation, zoom (enlarged only where the photo would not
    cover ``size + 2 reach`` px otherwise) and crop centre (moved inwards only as far as
    needed), the same rule as ``sample_params`` uses with its own sampled motion.
    """
    layer = params.layers[0]
    photo = photos.get(layer.photo)
    size = config.size_px
    matrix = layer.texture_matrix
    linear = matrix[:, :2]
    zoom = math.sqrt(abs(np.linalg.det(linear)))
    centre = np.array([(size - 1) / 2, (size - 1) / 2])
    source = np.linalg.solve(linear, centre - matrix[:, 2])  # photo point at the centre
    cover = (size + 2 * reach_px) / (min(photo.shape[:2]) - 5.0)
    new_zoom = max(zoom, cover)
    half = (size / 2 + reach_px) / new_zoom
    for axis, length in enumerate((photo.shape[1], photo.shape[0])):
        low, high = half + 1.5, length - 2.5 - half
        source[axis] = np.clip(source[axis], low, high) if high > low else (length - 1) / 2
    new_matrix = _affine(linear * (new_zoom / zoom), source, centre)
    layers = [replace(layer, texture_matrix=new_matrix), *params.layers[1:]]
    return replace(params, layers=layers)


class EvalScene:
    """Scene ``index`` of evaluation set ``seed`` at ``size_px``; ``.case(motion, alpha)``.

    The scene is drawn once; each case renders B and Y for its motion and alpha (A is
    rendered once per scene). Directions are fixed per scene, amounts per case.
    """

    def __init__(
        self, index: int, seed: int = 0, size_px: int = 256, photos: PhotoPool | None = None
    ) -> None:
        if index < 0:
            raise UsageError(f"case index must be >= 0, not {index}.")
        self.index = int(index)
        self.seed = int(seed)
        self.config = Oh2018Config(size_px=int(size_px))
        self.photos = photos if photos is not None else default_photos()
        # generator sample 5 * index is part (a): objects and background move
        base = sample_params(
            len(PARTS) * self.index, EVAL_SEED_BASE + self.seed, self.config, self.photos
        )
        assert base.part == "a"
        # directions: our own stream, so they do not depend on the generator's draws
        rng = np.random.default_rng([EVAL_SEED_BASE + self.seed, self.index, 1])
        background = rng.uniform(0.0, 2 * math.pi)
        gap = math.radians(MIN_BACKGROUND_ANGLE_DEG)
        objects = background + rng.uniform(gap, 2 * math.pi - gap, len(base.layers) - 1)
        self.directions_rad = np.concatenate([[background], objects])
        self.base = base
        self._reach = SCENE_REACH_PX
        self._placed = _cover_background(base, self.config, self.photos, self._reach)
        self._A: tuple[np.ndarray, np.ndarray | None] | None = None

    def params(self, motion_px: float, alpha: float) -> SampleParams:
        """The generator parameters of the case (every layer moving ``motion_px``)."""
        reach = max(1.0, float(alpha)) * abs(float(motion_px)) + 4.0
        placed = self._placed
        if reach > self._reach:  # beyond the planned reach: re-place to keep it covered
            placed = _cover_background(self.base, self.config, self.photos, reach)
        layers = [
            replace(
                layer,
                motion_px=(
                    float(motion_px * math.cos(angle)),
                    float(motion_px * math.sin(angle)),
                ),
            )
            for layer, angle in zip(placed.layers, self.directions_rad, strict=True)
        ]
        return replace(placed, alpha=float(alpha), layers=layers)

    def case(self, motion_px: float, alpha: float, return_masks: bool = False) -> EvalCase:
        """Render A, B and Y for every layer moving ``motion_px`` px and total factor ``alpha``."""
        if not motion_px >= 0 or not alpha > 0:
            raise UsageError(
                f"motion must be >= 0 px and alpha > 0, not {motion_px} px, alpha {alpha}."
            )
        params = self.params(motion_px, alpha)
        renderer = _Renderer(params, self.config, self.photos)
        covered = max(1.0, float(alpha)) * float(motion_px) + 4.0 <= self._reach
        floats: dict[str, np.ndarray] = {}
        weights: dict[str, np.ndarray] = {}
        if covered and self._A is not None and (self._A[1] is not None or not return_masks):
            floats["A"], mask_a = self._A
        else:
            floats["A"], _, mask_a = renderer.frame(
                0.0, perturbed=False, layer_weights=return_masks
            )
            if covered:  # the same A at every level of this scene
                self._A = (floats["A"], mask_a)
        for name, factor_m in (("B", 1.0), ("Y", float(alpha))):
            floats[name], _, weights[name] = renderer.frame(
                factor_m, perturbed=False, layer_weights=return_masks
            )
        # the dithering of oh2018.render: one generator, noise drawn for A, then B, then Y
        rng = np.random.default_rng(params.dither_seed)
        shape = floats["A"].shape
        frames = {name: dither(floats[name], rng.random(shape, dtype=np.float32)) for name in "ABY"}
        if float(alpha) == 1.0:  # the truth is B itself, not B dithered again (ours: a
            frames["Y"] = frames["B"].copy()  # perfect output scored 0.9988; review, stop 54)
        visibility = {}
        if return_masks:
            visibility = {"A": mask_a, "B": weights["B"], "Y": weights["Y"]}
        return EvalCase(
            A=frames["A"],
            B=frames["B"],
            Y=frames["Y"],
            alpha=float(alpha),
            motion_px=float(motion_px),
            layer_motion_px=np.array([layer.motion_px for layer in params.layers], np.float64),
            params=params,
            visibility=visibility,
            float_frames=floats if return_masks else {},
        )


def make_case(
    index: int,
    seed: int = 0,
    size_px: int = 256,
    motion_px: float = 0.1,
    alpha: float = 10.0,
    return_masks: bool = False,
) -> EvalCase:
    """Evaluation case ``index`` of set ``seed``: every layer moves ``motion_px`` px.

    Args:
        index: scene number (>= 0); the scene is the same for every motion and alpha.
        seed: evaluation set (scenes come from generator seed ``EVAL_SEED_BASE + seed``).
        size_px: side of the square frames (px, >= 32).
        motion_px: amount every layer (objects and background) moves from A to B (px).
        alpha: total factor: Y shows every layer moved by ``alpha * motion_px``.
        return_masks: also return per-layer visibility and the float frames (tests).

    Returns:
        :class:`EvalCase` with uint8 RGB frames A, B, Y (size_px, size_px, 3).
    """
    return EvalScene(index, seed, size_px).case(motion_px, alpha, return_masks=return_masks)
