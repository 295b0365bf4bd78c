"""Oh et al. (2018) synthetic training pairs: frames A, B, Y (and colour-perturbed B', Y').

What matters (Oh, Jaroensri, Kim, Elgharib, Durand, Freeman, Matusik, "Learning-based
Video Motion Magnification", ECCV 2018, Sec. 3.3; ../shared/specs/METHODS.md section 1):

- **Y is exactly A with every layer moved by alpha x its motion** (alpha = the TOTAL
  factor, ARCHITECTURE.md), B is A with every layer moved by its motion. A scene is a
  background photo plus 7-15 pasted objects (occlusion), each layer with its own
  random direction and amount of motion; input motion <= 10 px, alpha in [1, 100],
  magnified motion <= 30 px, for every layer.
- **Sub-pixel motion is rendered, not approximated**: each layer is a continuous
  (bicubic) reconstruction of a photo, translated and composited at ``hires_factor`` x
  the output resolution, then blurred by a Gaussian of ``blur_sigma_px`` destination
  pixels and area-averaged down (a sensor that integrates over its pixels). The same
  linear, shift-invariant pipeline renders A, B and Y, so the motion between them is
  the layers' motion and nothing else.
- **Quantisation is dithered**: U(-0.5, 0.5) is added before rounding to uint8, so a
  pixel at 102.3 rounds up with 30 % chance and the expectation of a frame is its
  float value (sub-level intensity changes of a small motion survive on average).
- **Five equal parts**, sample ``i`` is part ``"abcde"[i % 5]``: (a) objects and
  background move; (b) only the background (no objects) moves; (c) blurred background,
  objects and background move; (d) as (b) with the background still: a static scene,
  A, B, Y equal up to dithering; (e) as (c) with the background still: only the objects
  move (the paper's text: "the background is not moving, but the foreground is").
- **Colour-perturbed copies** B' and Y' have the same geometry with three constants per
  layer (background and each object) added to RGB: B' - B is that layer's constant on
  its visible pixels (blended across edges exactly like the colours), before the
  shared dithering noise and the clip to [0, 255].
- **Deterministic**: sample ``i`` of seed ``s`` draws everything from
  ``numpy.random.default_rng([s, i])``: the same arrays every time (same library
  versions), independent of the order or the process that renders it.
- Noise is NOT in the data: the paper adds Poisson-like noise at training time
  (``datasets.add_training_noise``).

Choices where the paper is silent (all in ``Oh2018Config``): render at 4x, Gaussian
sigma 0.5 destination px (its +-1 sigma span is the "1-pixel kernel"), alpha
log-uniform in [1, 100] (every decade equally often), motion magnitude uniform in
[0, min(10, 30 / alpha)] px and direction uniform, per layer; objects 15-50 % of the
image side across, texture zoom log-uniform in [0.5, 2] (<= 2x as in the paper), any
rotation; masks are random polygons, ellipses and blobs (or ``--masks`` files);
background zoom log-uniform in [0.5, 2] (more where a small photo must cover the
frame) with a random flip/quarter turn; part (c)/(e) background blur sigma
log-uniform in [1.5, 6] px; colour constants uniform in [-32, 32] grey levels.
``small_motion_fraction`` (ours, default 0 = the above): each layer's motion amount is
instead drawn log-uniformly in [``SMALL_MOTION_PX``, min(1, limit)] px with this
probability. With the uniform draw a 0.1 px motion is 1 % of the draws at alpha 3 but
every draw at alpha 100, and the trained nets under-magnify sub-pixel motion at small
alpha (README, linearity).

Speed (one core: ``taskset -c 0``, cv2 threads 1, bundled photos, mean over parts a-e):
384x384: 5.3 samples/s (part a 264 ms, b 136, c 253, d 54, e 229); 128x128: 44 samples/s
(a 32 ms, d 7). Measured on this project's 2-core build machine (Nov 2026), render only;
writing shards (deflate level 1) brings 384 px to 4.3 samples/s (1.3 MB per sample on
disk). ``hires_factor=2`` renders 384 px at 15 samples/s (same measured motion accuracy
on our tests, less faithful integration over the pixel). Most of the time is OpenCV's
bicubic ``warpAffine`` at 4x; DataLoader workers scale it across cores.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import cv2
import numpy as np

from ..errors import UsageError
from ..levels import dither
from .photos import MaskPool, PhotoPool
from .shapes import random_shape

#: the five parts of the dataset, in the order samples cycle through them
PARTS = ("a", "b", "c", "d", "e")

#: part -> (has objects, background moves, background blurred)
PART_SPEC = {
    "a": (True, True, False),
    "b": (False, True, False),
    "c": (True, True, True),
    "d": (False, False, False),
    "e": (True, False, True),
}

#: frame names in the order of ``Sample.frames()`` and of the shards
FRAME_NAMES = ("A", "B", "B_perturbed", "Y", "Y_perturbed")

#: smallest output side accepted (px)
MIN_SIZE_PX = 32
#: the largest canvas side (size_px x hires_factor) rendered: 8192 px is 0.8 GB a float
#: RGB canvas, and a sample holds several (ours)
MAX_CANVAS_PX = 8192

#: most layers of a sample (background + 15 objects); metadata arrays are padded to it
MAX_LAYERS = 16
#: smallest motion of the optional log-uniform sub-pixel draw (px; ours)
SMALL_MOTION_PX = 0.02

_MASK_SCALE = 1.0e6  # mask weights for cv2.blendLinear, whose divisor has a 1e-5 epsilon


@dataclass(frozen=True)
class Oh2018Config:
    """Parameters of the generator; defaults reproduce Oh et al. 2018 Sec. 3.3 (see module doc).

    Lengths are destination (output) pixels unless the name says otherwise.
    """

    size_px: int = 384
    hires_factor: int = 4
    blur_sigma_px: float = 0.5
    alpha_range: tuple[float, float] = (1.0, 100.0)
    max_motion_px: float = 10.0
    max_magnified_px: float = 30.0
    objects_range: tuple[int, int] = (7, 15)
    object_size_range: tuple[float, float] = (0.15, 0.5)  # diameter / size_px
    object_zoom_range: tuple[float, float] = (0.5, 2.0)  # dest px per photo px
    background_zoom_range: tuple[float, float] = (0.5, 2.0)
    background_blur_px: tuple[float, float] = (1.5, 6.0)
    colour_offset_max: float = 32.0  # grey levels (0-255)
    small_motion_fraction: float = 0.0  # ours: share of log-uniform sub-pixel motions

    def __post_init__(self) -> None:
        if int(self.size_px) != self.size_px or self.size_px < MIN_SIZE_PX:
            raise UsageError(f"size {self.size_px} px is too small: use at least {MIN_SIZE_PX} px.")
        if int(self.hires_factor) != self.hires_factor or self.hires_factor < 1:
            raise UsageError(f"hires_factor must be a positive integer, not {self.hires_factor}.")
        if self.size_px * self.hires_factor > MAX_CANVAS_PX:
            raise UsageError(
                f"size {self.size_px} px x hires factor {self.hires_factor} is a canvas of "
                f"{self.size_px * self.hires_factor} px a side, beyond the {MAX_CANVAS_PX} px "
                f"this generator renders in memory: use a --size of at most "
                f"{MAX_CANVAS_PX // self.hires_factor} px (synth: or a smaller --hires-factor)."
            )
        low, high = self.alpha_range
        if not 1.0 <= low <= high:
            raise UsageError(f"alpha_range {self.alpha_range} must satisfy 1 <= low <= high.")
        if self.max_motion_px < 0 or self.max_magnified_px < 0 or self.blur_sigma_px < 0:
            raise UsageError("motion limits and blur sigma must not be negative.")
        if not 0.0 <= self.small_motion_fraction <= 1.0:
            raise UsageError(
                f"small_motion_fraction {self.small_motion_fraction} must lie in [0, 1]."
            )
        lo, hi = self.objects_range
        if not 0 <= lo <= hi <= MAX_LAYERS - 1:
            raise UsageError(f"objects_range must lie within 0..{MAX_LAYERS - 1}.")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Layer:
    """One layer of a scene: a photo (or a crop of it) seen through an optional mask.

    ``texture_matrix`` (2x3) maps photo pixel coordinates to destination pixels at the
    reference frame A; ``mask_matrix`` maps ``mask`` pixels likewise. In a frame with
    motion factor m (0 for A, 1 for B, alpha for Y) the layer is translated by
    ``m * motion_px``.
    """

    photo: int
    texture_matrix: np.ndarray
    motion_px: tuple[float, float]
    colour_offset: np.ndarray  # (3,) grey levels added in B', Y'
    mask: np.ndarray | None = None  # float32 (h, w) in [0, 1]; None for the background
    mask_matrix: np.ndarray | None = None
    blur_px: float = 0.0  # background Gaussian blur (dest px), parts (c) and (e)
    photo_name: str = ""


@dataclass
class SampleParams:
    """Everything random about one sample; ``render`` turns it into frames."""

    index: int
    seed: int
    part: str
    alpha: float
    layers: list[Layer]
    dither_seed: int

    def motion_array(self) -> np.ndarray:
        """(MAX_LAYERS, 2) float32 (dx, dy) px per layer (0 = background), zero-padded."""
        out = np.zeros((MAX_LAYERS, 2), np.float32)
        out[: len(self.layers)] = [layer.motion_px for layer in self.layers]
        return out

    def colour_array(self) -> np.ndarray:
        """(MAX_LAYERS, 3) float32 colour constants per layer (grey levels), zero-padded."""
        out = np.zeros((MAX_LAYERS, 3), np.float32)
        out[: len(self.layers)] = [layer.colour_offset for layer in self.layers]
        return out


@dataclass
class Sample:
    """One training example: uint8 RGB frames (H, W, 3) and their metadata.

    ``motion_px[l]`` is the (dx, dy) of layer l between A and B (0 = background, then
    objects in paint order); Y shows ``alpha * motion_px``. With ``render(...,
    return_masks=True)``, ``visibility[f]`` is (layers, H, W) float32: how much of each
    output pixel layer l covers in frame f ("A", "B", "Y"; the weights sum to 1), and
    ``float_frames`` holds the frames before dithering.
    """

    A: np.ndarray
    B: np.ndarray
    B_perturbed: np.ndarray
    Y: np.ndarray
    Y_perturbed: np.ndarray
    params: SampleParams
    visibility: dict[str, np.ndarray] = field(default_factory=dict)
    float_frames: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def alpha(self) -> float:
        return self.params.alpha

    @property
    def part(self) -> str:
        return self.params.part

    @property
    def motion_px(self) -> np.ndarray:
        return np.array([layer.motion_px for layer in self.params.layers], np.float64)

    def frames(self) -> np.ndarray:
        """(5, H, W, 3) uint8 in the order of ``FRAME_NAMES``."""
        return np.stack([getattr(self, name) for name in FRAME_NAMES])


# --------------------------------------------------------------------------- sampling


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    if high <= low:
        return float(low)
    return float(math.exp(rng.uniform(math.log(low), math.log(high))))


def _orientation(k: int) -> np.ndarray:
    """One of the 8 flips/quarter turns as a 2x2 matrix."""
    quarter = np.array([[0.0, -1.0], [1.0, 0.0]])
    matrix = np.linalg.matrix_power(quarter, k % 4)
    if k >= 4:
        matrix = matrix @ np.array([[-1.0, 0.0], [0.0, 1.0]])
    return matrix


def _affine(linear: np.ndarray, source_point: np.ndarray, dest_point: np.ndarray) -> np.ndarray:
    """2x3 matrix mapping ``source_point`` to ``dest_point`` with the given linear part."""
    return np.hstack([linear, (dest_point - linear @ source_point)[:, None]])


def _centre_in(length: float, half_extent: float, rng: np.random.Generator) -> float:
    """A random centre (pixel-centre coordinates) keeping +-half_extent (+2 px) inside."""
    low, high = half_extent + 1.5, length - 2.5 - half_extent
    return float(rng.uniform(low, high)) if high > low else (length - 1) / 2


def sample_params(
    index: int,
    seed: int,
    config: Oh2018Config,
    photos: PhotoPool,
    masks: MaskPool | None = None,
) -> SampleParams:
    """Draw sample ``index`` of dataset ``seed`` (part ``PARTS[index % 5]``).

    All randomness comes from ``numpy.random.default_rng([seed, index])``.
    """
    if index < 0:
        raise UsageError(f"sample index must be >= 0, not {index}.")
    rng = np.random.default_rng([int(seed), int(index)])
    size = config.size_px
    part = PARTS[index % len(PARTS)]
    has_objects, background_moves, background_blurred = PART_SPEC[part]
    alpha = _log_uniform(rng, *config.alpha_range)
    limit_px = min(config.max_motion_px, config.max_magnified_px / alpha)

    def motion() -> tuple[float, float]:
        small = config.small_motion_fraction
        if small > 0 and rng.uniform() < small and limit_px > SMALL_MOTION_PX:
            amount = _log_uniform(rng, SMALL_MOTION_PX, min(1.0, limit_px))
        else:  # the default stream: no extra draw when small_motion_fraction is 0
            amount = rng.uniform(0, limit_px)
        angle = rng.uniform(0, 2 * np.pi)
        return float(amount * math.cos(angle)), float(amount * math.sin(angle))

    def colour() -> np.ndarray:
        return rng.uniform(-config.colour_offset_max, config.colour_offset_max, 3)

    # background: a zoomed, flipped/turned crop of a photo that covers the frame in A, B, Y
    bg_index = int(rng.integers(len(photos)))
    bg_photo = photos.get(bg_index)
    bg_motion = motion() if background_moves else (0.0, 0.0)
    blur = _log_uniform(rng, *config.background_blur_px) if background_blurred else 0.0
    reach = max(1.0, alpha) * math.hypot(*bg_motion) + 4.0
    cover = (size + 2 * reach) / (min(bg_photo.shape[:2]) - 5.0)
    zoom_low = max(config.background_zoom_range[0], cover)
    zoom = _log_uniform(rng, zoom_low, max(zoom_low, config.background_zoom_range[1]))
    half = (size / 2 + reach) / zoom
    source = np.array(
        [_centre_in(bg_photo.shape[1], half, rng), _centre_in(bg_photo.shape[0], half, rng)]
    )
    linear = zoom * _orientation(int(rng.integers(8)))
    centre = np.array([(size - 1) / 2, (size - 1) / 2])
    layers = [
        Layer(
            photo=bg_index,
            texture_matrix=_affine(linear, source, centre),
            motion_px=bg_motion,
            colour_offset=colour(),
            blur_px=blur,
            photo_name=photos.names[bg_index],
        )
    ]

    count = int(rng.integers(config.objects_range[0], config.objects_range[1] + 1))
    for _ in range(count if has_objects else 0):
        diameter = rng.uniform(*config.object_size_range) * size
        mask = None
        if masks is not None:
            mask = masks.get(int(rng.integers(len(masks))), rng)
            if mask is not None:  # a file mask is not enlarged more than 2x
                diameter = min(diameter, 2.0 * max(mask.shape))
        if mask is None:
            mask = random_shape(int(np.clip(round(2 * diameter), 24, 768)), rng)
        mask_scale = diameter / max(mask.shape)
        angle = rng.uniform(0, 2 * np.pi)
        rotation = np.array(
            [[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]]
        )
        centre = rng.uniform(0, size - 1, 2)
        mask_centre = (np.array(mask.shape[::-1], np.float64) - 1) / 2
        # texture: a crop of another photo, zoom <= 2x, covering the rotated mask square
        tex_index = int(rng.integers(len(photos) - 1)) if len(photos) > 1 else 0
        tex_index += int(len(photos) > 1 and tex_index >= bg_index)
        tex_photo = photos.get(tex_index)
        radius = diameter / math.sqrt(2) + 2.0
        zoom_low, zoom_high = config.object_zoom_range
        fit = 2 * radius / (min(tex_photo.shape[:2]) - 5.0)
        zoom = _log_uniform(rng, max(zoom_low, min(fit, zoom_high)), zoom_high)
        tex_centre = np.array(
            [
                _centre_in(tex_photo.shape[1], radius / zoom, rng),
                _centre_in(tex_photo.shape[0], radius / zoom, rng),
            ]
        )
        layers.append(
            Layer(
                photo=tex_index,
                texture_matrix=_affine(zoom * rotation, tex_centre, centre),
                motion_px=motion(),
                colour_offset=colour(),
                mask=mask,
                mask_matrix=_affine(mask_scale * rotation, mask_centre, centre),
                photo_name=photos.names[tex_index],
            )
        )
    return SampleParams(
        index=int(index),
        seed=int(seed),
        part=part,
        alpha=float(alpha),
        layers=layers,
        dither_seed=int(rng.integers(2**63)),
    )


# --------------------------------------------------------------------------- rendering


def dither_random(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``dither`` with fresh U(0, 1) noise from ``rng``."""
    return dither(image, rng.random(np.shape(image), dtype=np.float32))


def blur_decimate(image: np.ndarray, factor: int, sigma_px: float) -> np.ndarray:
    """Gaussian blur (sigma in destination px) then area down-sampling by ``factor``.

    ``image`` is (factor*H, factor*W, C) float32. For an even factor the 2x box average
    is taken first (box filters commute with the Gaussian; this one zeroes the hi-res
    Nyquist frequency), the Gaussian (sigma = factor/2 half-res px, well sampled) is
    applied at half resolution, then the remaining box average: ~3x faster than
    blurring at full resolution, a close approximation of it, and in any case one
    linear filter applied identically to A, B and Y.
    """
    height, width = image.shape[0] // factor, image.shape[1] // factor
    if factor % 2 == 0 and factor > 1:
        half = (image.shape[1] // 2, image.shape[0] // 2)
        image = cv2.resize(image, half, interpolation=cv2.INTER_AREA)
        factor //= 2
    if sigma_px > 0:
        image = cv2.GaussianBlur(image, (0, 0), sigma_px * factor)
    if factor > 1:
        image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
    return image


def _hires(matrix: np.ndarray, shift_px: np.ndarray, factor: int, pad_px: int) -> np.ndarray:
    """Map (source -> dest px) translated by ``shift_px`` into hi-res canvas pixels.

    Hi-res pixel k has its centre at dest coordinate (k + 0.5) / factor - 0.5 - pad_px,
    i.e. ``h = factor * (dest + pad_px) + (factor - 1) / 2``.
    """
    out = matrix * factor
    out[:, 2] += factor * (shift_px + pad_px) + (factor - 1) / 2
    return out


def _support_hull(mask: np.ndarray) -> np.ndarray:
    """Convex hull of the mask's support as homogeneous points (k, 3), grown by 3 px."""
    points = cv2.findNonZero((mask > 0).astype(np.uint8))
    hull = cv2.convexHull(points).reshape(-1, 2).astype(np.float64)
    centre = hull.mean(axis=0)
    away = hull - centre
    away *= 1 + 3.0 / np.maximum(np.hypot(away[:, :1], away[:, 1:]), 1.0)
    hull = centre + away
    return np.hstack([hull, np.ones((len(hull), 1))])


class _Renderer:
    """Renders the frames of one sample; keeps the per-sample preprocessed textures."""

    def __init__(self, params: SampleParams, config: Oh2018Config, photos: PhotoPool) -> None:
        self.params = params
        self.factor = config.hires_factor
        self.sigma = config.blur_sigma_px
        self.size = config.size_px
        # a border of whole destination pixels so that the blur sees real content
        self.pad = math.ceil(3 * self.sigma) + 1 if self.sigma > 0 else 0
        self.canvas = (self.size + 2 * self.pad) * self.factor
        self.textures = []
        self.matrices = []
        for layer in params.layers:
            photo = photos.get(layer.photo)
            matrix = layer.texture_matrix.copy()
            if layer.blur_px > 0:
                photo, matrix = self._blurred_crop(photo, matrix, layer)
            self.textures.append(photo)
            self.matrices.append(matrix)
        self.masks = [
            None if layer.mask is None else layer.mask * np.float32(_MASK_SCALE)
            for layer in params.layers
        ]
        # corners of each mask's support (+3 px for the bicubic kernel and the rotation)
        self.outlines = [
            None if layer.mask is None else _support_hull(layer.mask) for layer in params.layers
        ]
        self._background: dict[tuple[float, float], np.ndarray] = {}

    def _blurred_crop(self, photo: np.ndarray, matrix: np.ndarray, layer: Layer):
        """The part of ``photo`` the frames see, blurred by ``layer.blur_px`` dest px."""
        zoom = math.sqrt(abs(np.linalg.det(matrix[:, :2])))
        sigma_src = layer.blur_px / zoom
        inverse = cv2.invertAffineTransform(matrix)
        reach = max(1.0, self.params.alpha) * math.hypot(*layer.motion_px) + self.pad + 4
        corners = np.array(
            [[x, y, 1.0] for x in (-reach, self.size + reach) for y in (-reach, self.size + reach)]
        )
        src = corners @ inverse.T
        margin = 3 * sigma_src + 4
        x0 = max(int(src[:, 0].min() - margin), 0)
        y0 = max(int(src[:, 1].min() - margin), 0)
        x1 = min(int(src[:, 0].max() + margin) + 1, photo.shape[1])
        y1 = min(int(src[:, 1].max() + margin) + 1, photo.shape[0])
        crop = cv2.GaussianBlur(photo[y0:y1, x0:x1], (0, 0), sigma_src)
        shifted = matrix.copy()
        shifted[:, 2] += matrix[:, :2] @ np.array([x0, y0], np.float64)
        return crop, shifted

    def frame(self, factor_m: float, perturbed: bool, layer_weights: bool):
        """Float frame (S, S, 3) in [0, 255]-ish, plus colour offsets and visibility."""
        f, n = self.factor, self.canvas
        layers = self.params.layers
        shift = np.asarray(layers[0].motion_px) * factor_m
        key = (float(shift[0]), float(shift[1]))
        if key not in self._background:  # a still background is warped once
            self._background[key] = cv2.warpAffine(
                self.textures[0],
                _hires(self.matrices[0], shift, f, self.pad),
                (n, n),
                flags=cv2.INTER_CUBIC,
                borderMode=cv2.BORDER_REFLECT_101,
            )
        canvas = self._background[key].copy()
        offsets = None
        if perturbed:
            offsets = np.empty_like(canvas)
            offsets[...] = layers[0].colour_offset.astype(np.float32)
        weights = None
        if layer_weights:
            weights = np.zeros((len(layers), n, n), np.float32)
            weights[0] = 1
        for index in range(1, len(layers)):
            layer = layers[index]
            shift = np.asarray(layer.motion_px) * factor_m
            mask_matrix = _hires(layer.mask_matrix, shift, f, self.pad)
            corners = self.outlines[index] @ mask_matrix.T
            x0, y0 = np.maximum(np.floor(corners.min(axis=0)).astype(int) - 1, 0)
            x1, y1 = np.minimum(np.ceil(corners.max(axis=0)).astype(int) + 2, n)
            if x1 <= x0 or y1 <= y0:
                continue
            origin = np.array([x0, y0], np.float64)
            mask_matrix[:, 2] -= origin
            tex_matrix = _hires(self.matrices[index], shift, f, self.pad)
            tex_matrix[:, 2] -= origin
            box = (int(x1 - x0), int(y1 - y0))
            alpha = cv2.warpAffine(
                self.masks[index],
                mask_matrix,
                box,
                flags=cv2.INTER_CUBIC,
                borderMode=cv2.BORDER_CONSTANT,
                borderValue=0,
            )
            np.clip(alpha, 0, _MASK_SCALE, out=alpha)
            rest = _MASK_SCALE - alpha
            texture = cv2.warpAffine(
                self.textures[index],
                tex_matrix,
                box,
                flags=cv2.INTER_CUBIC,
                borderMode=cv2.BORDER_REFLECT_101,
            )
            roi = canvas[y0:y1, x0:x1]
            cv2.blendLinear(texture, roi, alpha, rest, dst=roi)
            if offsets is not None:
                roi = offsets[y0:y1, x0:x1]
                texture[...] = layer.colour_offset.astype(np.float32)
                cv2.blendLinear(texture, roi, alpha, rest, dst=roi)
            if weights is not None:
                cover = alpha / np.float32(_MASK_SCALE)
                weights[:index, y0:y1, x0:x1] *= 1 - cover
                weights[index, y0:y1, x0:x1] = cover
        crop = slice(self.pad, self.pad + self.size)
        image = blur_decimate(canvas, f, self.sigma)[crop, crop]
        if offsets is not None:
            offsets = blur_decimate(offsets, f, self.sigma)[crop, crop]
        if weights is not None:
            weights = np.stack([blur_decimate(w, f, self.sigma)[crop, crop] for w in weights])
        return image, offsets, weights


def render(
    params: SampleParams,
    config: Oh2018Config,
    photos: PhotoPool,
    return_masks: bool = False,
) -> Sample:
    """Render the frames of ``params`` (see the module doc for the pipeline).

    With ``return_masks`` the sample also carries per-layer visibility maps and the
    float frames before dithering (tests and debugging; slower).
    """
    renderer = _Renderer(params, config, photos)
    floats: dict[str, np.ndarray] = {}
    visibility: dict[str, np.ndarray] = {}
    offsets: dict[str, np.ndarray] = {}
    done: dict[tuple, tuple] = {}
    still = all(layer.motion_px == (0.0, 0.0) for layer in params.layers)
    for name, factor_m in (("Y", params.alpha), ("B", 1.0), ("A", 0.0)):
        key = 0.0 if still else factor_m
        if key not in done:  # a static scene is rendered once; A has no perturbed copy
            perturbed = name != "A"
            done[key] = renderer.frame(factor_m, perturbed=perturbed, layer_weights=return_masks)
        floats[name], offsets[name], weights = done[key]
        if weights is not None:
            visibility[name] = weights
    floats["B_perturbed"] = floats["B"] + offsets["B"]
    floats["Y_perturbed"] = floats["Y"] + offsets["Y"]
    rng = np.random.default_rng(params.dither_seed)
    shape = floats["A"].shape
    frames = {"A": dither(floats["A"], rng.random(shape, dtype=np.float32))}
    for name in ("B", "Y"):  # B and B' (Y and Y') share their dithering noise
        noise = rng.random(shape, dtype=np.float32)
        frames[name] = dither(floats[name], noise)
        frames[f"{name}_perturbed"] = dither(floats[f"{name}_perturbed"], noise)
    return Sample(
        **frames,
        params=params,
        visibility=visibility if return_masks else {},
        float_frames=floats if return_masks else {},
    )


class Oh2018Generator:
    """Sample ``i`` of a dataset: ``Oh2018Generator(config, seed=s)(i) -> Sample``.

    Args:
        config: generator parameters (default: the paper's, 384x384).
        seed: dataset seed; sample ``i`` draws from ``default_rng([seed, i])``.
        photos: photo pool (default: scikit-image's bundled photographs).
        masks: optional pool of mask files (``--masks``); default generated shapes.
    """

    def __init__(
        self,
        config: Oh2018Config | None = None,
        seed: int = 0,
        photos: PhotoPool | None = None,
        masks: MaskPool | None = None,
    ) -> None:
        self.config = config or Oh2018Config()
        self.seed = int(seed)
        self.photos = photos if photos is not None else PhotoPool()
        self.masks = masks

    def params(self, index: int) -> SampleParams:
        return sample_params(index, self.seed, self.config, self.photos, self.masks)

    def __call__(self, index: int, return_masks: bool = False) -> Sample:
        return render(self.params(index), self.config, self.photos, return_masks=return_masks)
