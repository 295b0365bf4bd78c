"""The thesis circle benchmark (Singh 2024, Sec. 3.2.3; EVALUATION.md s.3, THESIS.md s.1.1).

What matters:

- **The scene.** A still real background and three textured discs of radius 40 px (scaled
  by ``size_px / 384`` below the 384 px frame THESIS.md suggests; our choice) that move
  horizontally, vertically and diagonally (``A / sqrt(2)`` per axis) by
  ``A * (-1)^j`` at frame ``j``: ``A = 0.1`` px in the input, ``A = 10`` px in the
  ground truth, so every method must deliver 100x. Gaussian noise of ``sigma`` grey
  levels goes on the input frames only.
- **Exact sub-pixel motion.** The thesis up-samples by ``S_f = 10``, moves by 1 px and
  down-samples. We render the same continuous model analytically instead (our choice):
  each disc is a texture layer translated by the Fourier shift theorem (exact for the
  band-limited texture, ``vibration.subpixel_shift``) times an analytic coverage mask,
  ``0.5 erfc((|x - c| - r) / (sqrt(2) sigma_e))``: the disc seen through a Gaussian
  camera blur of ``sigma_e = 0.5`` px (exact for a straight edge, within ``O(sigma_e^2
  / r)`` for the rim). Both layers depend only on ``x - d``, so the input at 0.1 px and
  the truth at 10 px are the same scene moved exactly, and share the same blur.
- **25 backgrounds**, each a different photograph, as THESIS.md s.1.1 suggests (the
  thesis's own are not published): the 13 bundled with scikit-image (``PhotoPool``)
  give backgrounds 0-12 (their largest centred square), and 12 of OpenCV's sample
  photographs, shipped in ``eval/backgrounds/`` as 384 px centred squares (576 KB),
  give 13-24. Until stop 58, 13-24 were photos 0-11 again, rotated, mirrored and
  cropped; runs of 13 backgrounds or fewer are unchanged. (With a scikit-image that
  lacks some photos, the missing places are filled by such variants.) The disc fills
  are crops of other texture-rich bundled photos, blurred by 1 px.
- **How methods are run** (see :func:`circle_plan`): two-frame methods in dynamic mode
  (``F_{t-1}``, ``F_t``) at ``alpha = (10 + 0.1) / 0.2 = 50.5``, the only setting in which
  a perfect magnifier reproduces the truth; temporal-only methods with a band just below
  the Nyquist frequency (where the +-A alternation lives) and the factor corrected for
  the filter's gain there.
- **Metrics.** MSE on 0-255 (mean over RGB and pixels) and SSIM (EVALUATION.md), per
  frame, averaged over the scored frames of a video, then over the videos ("aggregate
  MSE", Sec. 5.3.2). ``mse_input`` / ``ssim_input`` score the input itself (the floor:
  what returning the input scores); ``mse_still`` / ``ssim_still`` run the no-motion
  variant (still discs, noisy input, that input as the truth, as EVALUATION.md says:
  returning it scores 0 at every noise level) and measure invented motion (Fig. 6.7B).
  Until stop 54 the truth there was the clean render, which charged a method for the
  input's own noise too (returning the input scored the noise: MSE 1.1 to 358).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from scipy.special import erfc
from tqdm import tqdm

from ..errors import MotionmagError, UsageError
from ..synth.photos import PhotoPool
from ..synth.vibration import quantize, subpixel_shift
from .metrics import mse, ssim
from .results import Level, SuiteResult

#: frame side (px) the thesis radius refers to (THESIS.md suggestion; not stated)
THESIS_FRAME_PX = 384
#: disc radius (px) at the thesis frame size (Sec. 3.2.3)
THESIS_RADIUS_PX = 40.0
#: input displacement amplitude (px): frame j is displaced by A * (-1)^j
INPUT_AMPLITUDE_PX = 0.1
#: ground-truth displacement amplitude (px)
TRUTH_AMPLITUDE_PX = 10.0
#: the number of distinct backgrounds (videos) of the benchmark
N_BACKGROUNDS = 25
#: frame rate the clips are declared at (fps); the alternation is at fps / 2
CIRCLE_FPS = 30.0
#: input noise sigmas (grey levels); the thesis gives none (THESIS.md s.1.2 suggests
#: 0-30), this is our shorter sweep
NOISE_LEVELS = (0.0, 1.0, 2.0, 5.0, 10.0, 20.0)
#: Gaussian camera blur of the disc rim (px), our choice
EDGE_SIGMA_PX = 0.5
#: blur of the disc textures (px), our choice: keeps them well inside the band
TEXTURE_SIGMA_PX = 1.0
#: temporal-mode band as fractions of the frame rate: just below Nyquist (our choice)
TEMPORAL_BAND = (0.45, 0.49)

#: photos with texture everywhere, used to fill the discs
_TEXTURE_PHOTOS = (
    "astronaut", "coffee", "chelsea", "rocket", "camera",
    "immunohistochemistry", "brick", "grass", "gravel", "coins",
)  # fmt: skip
_SCENE_TAG = 31  # stream tags of the generators (our choice)
_NOISE_TAG = 32

_PHOTOS: PhotoPool | None = None


def _photos() -> PhotoPool:
    global _PHOTOS
    if _PHOTOS is None:
        _PHOTOS = PhotoPool()
    return _PHOTOS


@dataclass(frozen=True)
class Circle:
    """One disc: rest centre ``(x, y)`` px, unit motion direction ``(dx, dy)``, radius px."""

    centre_px: tuple[float, float]
    direction: tuple[float, float]
    radius_px: float


def circle_radius_px(size_px: int) -> float:
    """Disc radius (px): 40 px at a 384 px frame or larger, scaled down below (our choice)."""
    return THESIS_RADIUS_PX * min(1.0, size_px / THESIS_FRAME_PX)


def circle_layout(size_px: int) -> tuple[Circle, Circle, Circle]:
    """The three discs: horizontal (top left), vertical (top right), diagonal (bottom).

    Placement is our choice: the discs stay inside the frame and apart from each other at
    the 10 px truth displacement for any ``size_px >= 64``.
    """
    if size_px < 64:
        raise UsageError(f"circle videos need at least 64 px, not {size_px}.")
    r = circle_radius_px(size_px)
    s = float(size_px)
    diagonal = (math.sqrt(0.5), math.sqrt(0.5))
    return (
        Circle((0.27 * s, 0.30 * s), (1.0, 0.0), r),
        Circle((0.73 * s, 0.30 * s), (0.0, 1.0), r),
        Circle((0.50 * s, 0.72 * s), diagonal, r),
    )


def _square_crop(photo: np.ndarray, variant: int) -> np.ndarray:
    """Variant 0: the largest centred square; variant v > 0: rotated by v x 90 degrees,
    mirrored when v is odd, a square of 2/3 of the short side off-centre."""
    if variant == 0:
        h, w = photo.shape[:2]
        side = min(h, w)
        y, x = (h - side) // 2, (w - side) // 2
        return photo[y : y + side, x : x + side]
    image = np.rot90(photo, k=variant % 4)
    if variant % 2:
        image = image[:, ::-1]
    h, w = image.shape[:2]
    side = round(2 * min(h, w) / 3)
    fy, fx = ((0.2, 0.8), (0.7, 0.3), (0.4, 0.6))[(variant - 1) % 3]
    y, x = round(fy * (h - side)), round(fx * (w - side))
    return image[y : y + side, x : x + side]


#: the circle benchmark's own backgrounds (OpenCV's sample photographs, 384 px squares;
#: eval/backgrounds/README.txt says where they come from), after the scikit-image pool's
BACKGROUND_DIR = Path(__file__).with_name("backgrounds")
SHIPPED_BACKGROUNDS = (
    "aloel", "apple", "baboon", "building", "butterfly", "fruits",
    "graf1", "home", "leuvena", "orange", "smarties", "starry_night",
)  # fmt: skip


def shipped_background(number: int) -> np.ndarray:
    """Shipped background ``number`` (0-11) as uint8 RGB, a centred square."""
    path = BACKGROUND_DIR / f"{SHIPPED_BACKGROUNDS[number]}.jpg"
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise MotionmagError(f"the circle background '{path}' is missing: reinstall motionmag.")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def circle_background(index: int, size_px: int) -> np.ndarray:
    """Background ``index`` (0-24) as float64 RGB (size_px, size_px, 3) on 0-255.

    Photo ``index`` of the bundled pool (``P`` = 13 with a full scikit-image; its largest
    centred square), then the shipped backgrounds (:data:`SHIPPED_BACKGROUNDS`); any
    place left (a partial scikit-image) takes a crop variant of a pool photo (see the
    module docstring). Resized by area averaging.
    """
    if not 0 <= index < N_BACKGROUNDS:
        raise UsageError(f"background index {index} is outside 0..{N_BACKGROUNDS - 1}.")
    pool = _photos()
    distinct = len(pool) + len(SHIPPED_BACKGROUNDS)
    if index < len(pool):
        crop = _square_crop(pool.get(index), 0)
    elif index < distinct:
        crop = shipped_background(index - len(pool))
    else:
        left = index - distinct
        crop = _square_crop(pool.get(left % len(pool)), 1 + left // len(pool))
    crop = np.ascontiguousarray(crop)
    interpolation = cv2.INTER_AREA if crop.shape[0] >= size_px else cv2.INTER_CUBIC
    image = cv2.resize(crop.astype(np.float32), (size_px, size_px), interpolation=interpolation)
    return np.clip(image.astype(np.float64), 0, 255)


class CircleScene:
    """One video's scene: background ``background_index`` and three textured discs.

    ``render(offset_px)`` is the float frame (0-255) with every disc displaced by
    ``offset_px`` along its own direction (``offset_px`` may be any real number up to
    the truth's 10 px). The disc textures are drawn from ``seed`` and the index only,
    never from the displacement, so all renders of one scene share their content.
    """

    def __init__(self, background_index: int, size_px: int = 256, seed: int = 0) -> None:
        self.background_index = background_index
        self.size_px = int(size_px)
        self.circles = circle_layout(self.size_px)
        self.background = circle_background(background_index, self.size_px)
        rng = np.random.default_rng([_SCENE_TAG, seed, background_index])
        pool = _photos()
        wanted = {f"skimage:{name}" for name in _TEXTURE_PHOTOS}
        sources = [i for i, name in enumerate(pool.names) if name in wanted] or list(
            range(len(pool))
        )
        background_photo = background_index % len(pool)
        sources = [i for i in sources if i != background_photo] or sources
        picks = rng.choice(len(sources), size=3, replace=len(sources) < 3)
        radius = self.circles[0].radius_px
        # each texture patch covers the disc at +-10 px plus a margin where the Fourier
        # shift's mirrored border (10 px deep) cannot reach the disc
        self.half_px = math.ceil(radius + TRUTH_AMPLITUDE_PX) + 24
        self.textures = [self._texture(pool.get(sources[p]), rng) for p in picks]
        self._cache: dict[float, np.ndarray] = {}

    def _texture(self, photo: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        side = 2 * self.half_px
        best, best_std = None, -1.0
        for _ in range(8):  # prefer a crop with visible texture (std over 20 grey levels)
            crop = _random_crop(photo, side, rng)
            std = float(crop.std())
            if std > best_std:
                best, best_std = crop, std
            if std > 20.0:
                break
        return cv2.GaussianBlur(best, (0, 0), TEXTURE_SIGMA_PX).astype(np.float64)

    def render(self, offset_px: float) -> np.ndarray:
        """Float64 RGB frame (S, S, 3) on 0-255 with the discs displaced by ``offset_px``.

        Recent renders are cached and returned as they are: do not modify the result.
        """
        key = float(offset_px)
        if key in self._cache:
            return self._cache[key]
        frame = self.background.copy()
        size, half = self.size_px, self.half_px
        for circle, texture in zip(self.circles, self.textures, strict=True):
            dx, dy = key * circle.direction[0], key * circle.direction[1]
            cx, cy = circle.centre_px
            x0, y0 = math.floor(cx) - half, math.floor(cy) - half
            moved = subpixel_shift(texture, dx, dy) if key else texture
            ys = np.arange(y0, y0 + 2 * half, dtype=np.float64)[:, None]
            xs = np.arange(x0, x0 + 2 * half, dtype=np.float64)[None, :]
            distance = np.hypot(xs - (cx + dx), ys - (cy + dy))
            cover = 0.5 * erfc((distance - circle.radius_px) / (math.sqrt(2.0) * EDGE_SIGMA_PX))
            # clip the patch to the frame
            fy0, fx0 = max(y0, 0), max(x0, 0)
            fy1, fx1 = min(y0 + 2 * half, size), min(x0 + 2 * half, size)
            py, px = slice(fy0 - y0, fy1 - y0), slice(fx0 - x0, fx1 - x0)
            m = cover[py, px, None]
            region = frame[fy0:fy1, fx0:fx1]
            frame[fy0:fy1, fx0:fx1] = region * (1.0 - m) + moved[py, px] * m
        if len(self._cache) < 8:
            self._cache[key] = frame
        return frame


def _random_crop(photo: np.ndarray, side: int, rng: np.random.Generator) -> np.ndarray:
    h, w = photo.shape[:2]
    if min(h, w) < side:  # enlarge small photos to fit the patch
        scale = side / min(h, w)
        photo = cv2.resize(photo, (math.ceil(w * scale), math.ceil(h * scale)))
        h, w = photo.shape[:2]
    y = int(rng.integers(0, h - side + 1))
    x = int(rng.integers(0, w - side + 1))
    return np.ascontiguousarray(photo[y : y + side, x : x + side], dtype=np.float32)


def _offsets(n_frames: int, amplitude_px: float) -> np.ndarray:
    """Displacement of frame j: ``amplitude * (-1)^j`` (px)."""
    return amplitude_px * (1.0 - 2.0 * (np.arange(n_frames) % 2))


def _noise_rng(seed: int, index: int, noise_sigma: float, still: bool) -> np.random.Generator:
    return np.random.default_rng(
        [_NOISE_TAG, seed, index, round(float(noise_sigma) * 1000), int(still)]
    )


def _scene_video(
    scene: CircleScene, n_frames: int, noise_sigma: float, still: bool, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    clean_offsets = np.zeros(n_frames) if still else _offsets(n_frames, INPUT_AMPLITUDE_PX)
    truth_offsets = np.zeros(n_frames) if still else _offsets(n_frames, TRUTH_AMPLITUDE_PX)
    rng = _noise_rng(seed, scene.background_index, noise_sigma, still)
    frames = np.empty((n_frames, scene.size_px, scene.size_px, 3), np.uint8)
    truth = np.empty_like(frames)
    for j in range(n_frames):
        clean = scene.render(clean_offsets[j])
        if noise_sigma > 0:
            clean = clean + noise_sigma * rng.standard_normal(clean.shape)
        frames[j] = quantize(clean)
        truth[j] = quantize(scene.render(truth_offsets[j]))
    return frames, truth


def make_circle_video(
    background_index: int,
    n_frames: int = 8,
    size_px: int = 256,
    noise_sigma: float = 0.0,
    still: bool = False,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """One video of the circle benchmark and its ground truth.

    Args:
        background_index: which of the 25 backgrounds (0-24).
        n_frames: frames ``T``.
        size_px: frame side (square); the disc radius is 40 px x min(1, size_px / 384).
        noise_sigma: standard deviation (grey levels, 0-255) of the Gaussian noise added
            to the input frames (never to the truth), before rounding to 8 bit.
        still: the no-motion variant: discs at rest in every frame, truth = clean input.
        seed: draws the disc textures and the noise.

    Returns:
        ``(frames, truth)``, both uint8 (T, S, S, 3). Frame ``j`` shows the discs displaced
        by ``0.1 * (-1)^j`` px along their directions, truth frame ``j`` by
        ``10 * (-1)^j`` px.
    """
    scene = CircleScene(background_index, size_px, seed)
    return _scene_video(scene, n_frames, noise_sigma, still, seed)


# --------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class CirclePlan:
    """How a method is run on the circle videos.

    ``mode``: ``dynamic`` (the clip at once), ``pairs`` (``method.pair(F_{t-1}, F_t)`` for a
    method with a static mode only: the same thing) or ``temporal``; ``alpha`` the total
    factor passed; ``band`` (Hz) and ``filter`` for temporal mode; ``pad_frames`` extra
    frames rendered before and after the scored ones (temporal filters' edges);
    ``nyquist_gain`` the temporal selector's gain at fps / 2 that ``alpha`` corrects for.
    """

    mode: str
    alpha: float
    band: tuple[float, float] | None = None
    filter: str = "butter"
    pad_frames: int = 0
    nyquist_gain: float | None = None


def two_frame_alpha() -> float:
    """``alpha = (10 + 0.1) / 0.2 = 50.5`` for a magnifier run on consecutive frames.

    Derivation: frame ``t`` is at ``x_t = 0.1 (-1)^t``, the truth at ``y_t = 10 (-1)^t``.
    A two-frame magnifier given ``(F_{t-1}, F_t)`` and total factor alpha outputs the
    scene at ``x_{t-1} + alpha (x_t - x_{t-1})`` (Oh et al.'s dynamic mode; for the
    Eulerian methods ``x_t + (alpha - 1)(x_t - x_{t-1})``, the same). For odd ``t``:
    ``0.1 - 0.2 alpha = -10``, for even ``t``: ``-0.1 + 0.2 alpha = 10``; both give
    ``alpha = 10.1 / 0.2 = 50.5`` (the thesis rounds to 50, a 0.1 px shortfall).
    Static mode with reference frame 0 cannot reach zero error at any alpha: even frames
    equal the reference (no motion to magnify) while their truth is 9.9 px away.
    Frame 0 has no previous frame (dynamic mode returns it unchanged), so it is not scored.
    """
    alpha = (TRUTH_AMPLITUDE_PX + INPUT_AMPLITUDE_PX) / (2.0 * INPUT_AMPLITUDE_PX)
    return float(f"{alpha:.12g}")  # 50.5, not 50.49999999999999


def _nyquist_gain(method_name: str, band: tuple[float, float], fps: float) -> tuple[float, int]:
    """Gain of the temporal selector at fps / 2 and its half length (frames).

    The selector is the one ``method_name`` builds for ``band``: the acceleration method's
    second-derivative-of-Gaussian taps (centred on the band's geometric mean), else the
    ``fir`` windowed-sinc band-pass the suite asks for. Both are symmetric, so the gain at
    Nyquist is the real number ``sum_k h_k (-1)^(k - centre)``.
    """
    from ..temporal import acceleration_taps, default_fir_taps, fir_bandpass_taps

    low, high = band
    if method_name == "acceleration":
        taps = acceleration_taps(math.sqrt(low * high), fps)
    else:
        taps = fir_bandpass_taps(low, high, fps, default_fir_taps(low, fps))
    centre = (len(taps) - 1) // 2
    signs = (-1.0) ** (np.arange(len(taps)) - centre)
    return float(np.sum(taps * signs)), centre


def circle_plan(method, fps: float = CIRCLE_FPS) -> CirclePlan:
    """Choose the mode and factor that make a perfect ``method`` score zero error.

    - a ``dynamic`` mode: the clip in dynamic mode at ``two_frame_alpha()`` = 50.5;
    - else a ``static`` mode: ``pair(F_{t-1}, F_t, 50.5)`` per frame (the same);
    - else ``temporal``: the +-A alternation is a sinusoid at exactly fps / 2, which no
      band-pass with its high edge below Nyquist (as ``check_band`` requires) passes at
      gain 1; a Butterworth band-pass even has a zero there. So the band is
      ``(0.45, 0.49) x fps`` with the ``fir`` filter (the acceleration method uses its
      own second-derivative taps), and alpha is set so that the motion at Nyquist comes
      out 100x: ``alpha = 1 + (100 - 1) / g`` with ``g`` the selector's gain at fps / 2
      (the thesis likewise changes each method's factor until its output motion matches
      the truth). The clip gets the filter's half length (+2) of extra frames on each
      side, which are not scored.
    """
    alpha = two_frame_alpha()
    if method.supports("dynamic"):
        return CirclePlan("dynamic", alpha)
    if method.supports("static"):
        return CirclePlan("pairs", alpha)
    if method.supports("temporal"):
        band = (TEMPORAL_BAND[0] * fps, TEMPORAL_BAND[1] * fps)
        gain, half = _nyquist_gain(method.name, band, fps)
        if abs(gain) < 0.2:
            raise UsageError(
                f"method '{method.name}' passes only {gain:.2f} of a motion at fps / 2: "
                "the circle benchmark does not apply to it."
            )
        ratio = TRUTH_AMPLITUDE_PX / INPUT_AMPLITUDE_PX
        return CirclePlan(
            "temporal",
            1.0 + (ratio - 1.0) / gain,
            band=band,
            filter="fir",
            pad_frames=half + 2,
            nyquist_gain=gain,
        )
    raise UsageError(f"method '{method.name}' has no static, dynamic or temporal mode.")


def _magnify(method, frames: np.ndarray, plan: CirclePlan, fps: float) -> np.ndarray:
    if plan.mode == "pairs":
        out = frames.copy()
        for t in range(1, len(frames)):
            out[t] = method.pair(frames[t - 1], frames[t], plan.alpha)
        return out
    if plan.mode == "dynamic":
        return np.asarray(method.clip(frames, plan.alpha, mode="dynamic", fps=fps))
    return np.asarray(
        method.clip(
            frames, plan.alpha, mode="temporal", fps=fps, band=plan.band, filter=plan.filter
        )
    )


def _stack(clip: np.ndarray, frames: Sequence[int]) -> np.ndarray:
    """Frames ``frames`` of a (T, H, W, 3) clip side by side as channels: (H, W, 3 n)."""
    return np.concatenate([clip[t] for t in frames], axis=2)


def _frame_scores(out: np.ndarray, truth: np.ndarray, frames: Sequence[int]) -> tuple[float, float]:
    """(MSE, SSIM) per frame, averaged over ``frames``.

    Computed in one call each on the frames stacked as channels: ``metrics.mse`` and
    ``metrics.ssim`` average over channels with equal weights and every frame has the
    same number of channels and pixels, so this is exactly the mean of the per-frame
    values (to float32 rounding), in one third of the time.
    """
    if out.shape != truth.shape:
        raise ValueError(f"the method returned shape {out.shape}, expected {truth.shape}")
    a, b = _stack(out, frames), _stack(truth, frames)
    return mse(a, b), ssim(a, b)


_METRICS = ("mse", "ssim", "mse_input", "ssim_input", "mse_still", "ssim_still")


def run_circles(
    method,
    n: int = N_BACKGROUNDS,
    seed: int = 0,
    size_px: int = 256,
    progress: bool = True,
    n_frames: int = 8,
    noise_levels: Sequence[float] = NOISE_LEVELS,
    fps: float = CIRCLE_FPS,
) -> SuiteResult:
    """The circle benchmark (suite ``circles``): MSE and SSIM to the truth vs input noise.

    Args:
        method: anything with ``name``, ``supports``, ``pair`` and ``clip`` (see
            ``runner.MethodUnderTest``).
        n: number of backgrounds (videos), at most 25 (larger values are clamped, noted).
        seed: draws the disc textures and the noise.
        size_px: frame side; 256 by default (the disc radius then scales to 26.7 px).
        n_frames: frames per video; frames 1..T-1 are scored (frame 0 has no previous
            frame). Temporal runs render extra frames on both sides, not scored.
        noise_levels: input noise sigmas in grey levels (0-255).
        fps: the declared frame rate (only temporal mode uses it).

    Levels: ``x`` = noise sigma; values (means over videos of per-video frame means):
    ``mse``, ``ssim`` (output vs truth), ``mse_input``, ``ssim_input`` (input vs truth,
    the floor), ``mse_still``, ``ssim_still`` (no-motion variant: output vs its noisy
    still input; 0 / 1 for a method that invents no motion). Primary ``mse`` (lower is
    better), floor ``mse_input``. Summary: mean MSE / SSIM over the levels, and the
    noise-free MSE (the analogue of the thesis's Table 3.5, which reports 23-68).
    """
    notes: list[str] = []
    if n < 1:
        raise UsageError(f"n must be at least 1 video, not {n}.")
    if n > N_BACKGROUNDS:
        notes.append(f"n = {n} asked; the benchmark has {N_BACKGROUNDS} backgrounds, used all.")
        n = N_BACKGROUNDS
    if n_frames < 2:
        raise UsageError(f"n_frames must be at least 2, not {n_frames}.")
    levels_x = [float(s) for s in noise_levels]
    if not levels_x or min(levels_x) < 0:
        raise UsageError("noise_levels must be one or more sigmas >= 0 (grey levels).")
    plan = circle_plan(method, fps)
    # frames 1..T-1 are scored (frame 0 has no previous frame); a temporal run sees
    # ``pad_frames`` more on each side, beyond its filter's reach of the scored ones
    total = n_frames + 2 * plan.pad_frames
    scored = list(range(plan.pad_frames + 1, plan.pad_frames + n_frames))
    scores = np.zeros((len(levels_x), n, len(_METRICS)))
    bar = tqdm(
        total=n * len(levels_x),
        desc=f"circles {method.name}",
        unit="video",
        file=sys.stderr,
        disable=not progress,
    )
    with bar:
        for index in range(n):
            scene = CircleScene(index, size_px, seed)
            for level, sigma in enumerate(levels_x):
                frames, truth = _scene_video(scene, total, sigma, False, seed)
                out = _magnify(method, frames, plan, fps)
                still_frames, _ = _scene_video(scene, total, sigma, True, seed)
                still_out = _magnify(method, still_frames, plan, fps)
                still_truth = still_frames  # EVALUATION.md: the no-motion truth is the input
                scores[level, index] = (
                    *_frame_scores(out, truth, scored),
                    *_frame_scores(frames, truth, scored),
                    *_frame_scores(still_out, still_truth, scored),
                )
                bar.update(1)
    levels = [
        Level(
            x=sigma,
            values={m: float(scores[i, :, k].mean()) for k, m in enumerate(_METRICS)},
            n=n,
            spread={m: float(scores[i, :, k].std()) for k, m in enumerate(_METRICS)},
        )
        for i, sigma in enumerate(levels_x)
    ]
    if n < N_BACKGROUNDS:
        notes.append(f"{n} of the thesis's {N_BACKGROUNDS} backgrounds.")
    if plan.mode == "temporal":
        notes.append(
            f"temporal-only method: band {plan.band[0]:g}-{plan.band[1]:g} Hz at {fps:g} fps "
            f"(the alternation is at Nyquist, {fps / 2:g} Hz), selector gain there "
            f"{plan.nyquist_gain:.3f}, so alpha {plan.alpha:.2f} for 100x output motion."
        )
    settings = {
        "n": n,
        "seed": seed,
        "size_px": size_px,
        "n_frames": n_frames,
        "frames_rendered": total,
        "scored_frames": f"{scored[0]}..{scored[-1]}",
        "fps": fps,
        "radius_px": circle_radius_px(size_px),
        "input_amplitude_px": INPUT_AMPLITUDE_PX,
        "truth_amplitude_px": TRUTH_AMPLITUDE_PX,
        "mode": plan.mode,
        "alpha": plan.alpha,
        "alpha_rule": (
            "(10 + 0.1) / 0.2 on consecutive frames"
            if plan.mode != "temporal"
            else "1 + 99 / (selector gain at fps / 2)"
        ),
        "band_hz": list(plan.band) if plan.band else None,
        "filter": plan.filter if plan.mode == "temporal" else None,
        "noise_levels": levels_x,
        "noise_rule": "Gaussian N(0, sigma^2) grey levels on the input only, then 8-bit",
        "backgrounds": "bundled photos 0-12, then rotated/mirrored/cropped copies",
    }
    result = SuiteResult(
        suite="circles",
        method=method.name,
        x_name="input noise sigma (grey levels)",
        x_log=False,
        primary="mse",
        floor="mse_input",
        levels=levels,
        table=["mse", "mse_input", "mse_still", "ssim", "ssim_input"],
        plots=["mse", "ssim", "mse_still"],
        settings=settings,
        notes=notes,
    )
    result.summary = {
        "mean_mse": float(np.mean(result.metric("mse"))),
        "mean_ssim": float(np.mean(result.metric("ssim"))),
        "mean_mse_input": float(np.mean(result.metric("mse_input"))),
        "mean_mse_still": float(np.mean(result.metric("mse_still"))),
    }
    if 0.0 in levels_x:
        result.summary["mse_noise_free"] = levels[levels_x.index(0.0)].values["mse"]
    return result
