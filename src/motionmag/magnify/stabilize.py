"""Stabilization: register every frame to the first before magnifying, so that a shaking
camera's motion is not magnified with the scene's.

What matters:

- **Why.** Every magnifier multiplies *all* motion relative to its reference by alpha:
  a hand-held camera that drifts 2 px becomes a 20 px swim at alpha 10, which buries
  the small motion one wants to see. Eulerian magnification papers process stabilized
  videos for that reason (Wu et al. 2012 Sec. 5; Elgharib et al. 2015 handle the large
  motion explicitly); this module does the stabilization for the user (ours).
- **Global motion, robustly.** Corners of the first frame (Shi-Tomasi,
  ``cv2.goodFeaturesToTrack``, none within ``BORDER_PX`` of the border) are tracked
  into every frame by pyramidal Lucas-Kanade (``cv2.calcOpticalFlowPyrLK``), directly
  from the first frame (so errors do not accumulate) with the previous frame's
  transform as the starting guess (so slow large drifts are followed). Tracks failing a
  forward-backward check (more than ``FB_LIMIT_PX``) are dropped, and the model is
  fitted with RANSAC (1 px threshold), so a part of the scene moving by more than a
  pixel counts as an outlier as long as the still background has most of the corners.
  Models: ``translation`` (median displacement, then the mean of its inliers),
  ``similarity`` (rotation, scale and translation; ``cv2.estimateAffinePartial2D``),
  ``affine`` (``cv2.estimateAffine2D``), ``homography`` (``cv2.findHomography``).
- **Then refined densely, robustly** (ours): any error of the registration is magnified
  with the scene (alpha - 1 times: 0.02 px at alpha 10 is a 0.2 px swim of the
  background), and corners track to only about 0.01-0.03 px, so the sparse fit is
  refined by Gauss-Newton on every pixel (Lucas and Kanade 1981, in compositional form,
  on images reduced to at most ``REFINE_MAX_PX`` and blurred by ``REFINE_BLUR_PX``)
  with Tukey biweights on the residual (IRLS), which set aside a sub-pixel motion of
  part of the scene that the corners' 1 px RANSAC cannot. Measured on known shakes
  (``tests/test_stabilize.py``, ``benchmarks/bench_stabilize.py``): 0.003-0.01 px. A
  ``weights`` image (the ``--mask``'s complement: the part not magnified) restricts
  both steps to where the scene is meant to be still. Homographies keep the sparse fit.
- **Warped and, by default, warped back.** Each frame is resampled into the first
  frame's coordinates (mirrored borders; translations exactly, by :func:`_translate`,
  other models by OpenCV's Lanczos-4 warp) for the magnifier; its output is
  then mapped back into the frame's own coordinates with the same transform, so the
  written video keeps the camera's motion at its true size and only the scene's own
  motion is magnified (``keep_stabilized=True`` writes the stabilized frames instead).
  The first frame is passed through untouched.
- **A frame that cannot be registered** (fewer than ``MIN_INLIERS`` consistent tracks:
  motion blur, a cut, the scene gone) keeps the previous frame's transform and is
  counted; the run's notes say how many. A first frame with too little texture to
  track is an InputError.
"""

from __future__ import annotations

import functools
from collections import deque
from dataclasses import dataclass, field

import cv2
import numpy as np

from ..errors import InputError, UsageError

#: the global motion models, fewest parameters first
MODELS = ("translation", "similarity", "affine", "homography")
#: a bare ``--stabilize`` (ours: the most exact, in registration and in resampling; a
#: camera that turns needs ``similarity``)
DEFAULT_MODEL = "translation"
#: corners tracked from the first frame (at most)
MAX_CORNERS = 600
#: a first frame with fewer corners than this cannot be stabilized
MIN_CORNERS = 12
#: a frame needs this many RANSAC inliers to be registered
MIN_INLIERS = 8
#: forward-backward tracking error above which a track is dropped (px)
FB_LIMIT_PX = 0.5
#: RANSAC inlier threshold (px)
RANSAC_PX = 1.0
#: no corner is tracked from within this many px of the first frame's border
BORDER_PX = 16
#: corners whose hull covers less of the frame than this, or frames where fewer of the
#: tracks than this agree on one motion, are noted: the registration may have followed
#: a moving part (a textured object on a flat wall; a large moving object) [ours: a
#: small sub-pixel vibration keeps over 90 % of the tracks in agreement]
MIN_CORNER_COVER, MIN_AGREEMENT = 0.25, 0.8
#: Gaussian blur (sigma, px) of both images for the dense refinement (ours: on the
#: bench's shaken photo the mean translation error was 0.008 / 0.0023 / 0.0012 px at
#: 640x360 with 1 / 2 / 3 px, while the similarity model's worst corner error grew from
#: 0.070 to 0.086 / 0.093 px)
REFINE_BLUR_PX = 2.0
#: Gauss-Newton iterations of the dense refinement, and the step (px) that ends them
REFINE_ITERATIONS, REFINE_TOLERANCE_PX = 8, 2e-4
#: the refinement runs on frames reduced by a whole factor to at most this long a side
#: (ours: 1080p is refined at 640x360, 3x fewer pixels per step than 1280 px)
REFINE_MAX_PX = 720
#: a warped frame of ones reads within this of 1 inside the first frame (OpenCV's
#: interpolation tables are rounded): taken as 1, fully covered
COVER_TOLERANCE = 1e-3
_LK = dict(
    winSize=(21, 21),
    maxLevel=3,
    criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 40, 0.001),
    flags=cv2.OPTFLOW_USE_INITIAL_FLOW,
)


def check_model(model: str) -> str:
    """``model`` if it is one of :data:`MODELS`, else a UsageError saying which are."""
    if model not in MODELS:
        raise UsageError(
            f"--stabilize '{model}' is not a motion model: choose one of {', '.join(MODELS)}."
        )
    return model


def check_stabilize(model: str | None, keep_stabilized: bool) -> None:
    """UsageError for an unknown model, or ``keep_stabilized`` without a model."""
    if model is not None:
        check_model(model)
    elif keep_stabilized:
        raise UsageError(
            "--keep-stabilized keeps the frames --stabilize makes: add --stabilize, or drop it."
        )


def _grey(frame: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)


def _reduction(shape: tuple[int, ...]) -> int:
    """The whole factor the refinement reduces a frame of ``shape`` (H, W, ...) by."""
    return max(1, -(-max(shape[:2]) // REFINE_MAX_PX))


def _smooth(image: np.ndarray, factor: int) -> np.ndarray:
    """float32 image reduced by ``factor`` (area average) and blurred (``REFINE_BLUR_PX``)
    for the dense refinement."""
    image = image.astype(np.float32)
    if factor > 1:
        size = (image.shape[1] // factor, image.shape[0] // factor)
        image = cv2.resize(image[: size[1] * factor, : size[0] * factor], size,
                           interpolation=cv2.INTER_AREA)  # fmt: skip
    return cv2.GaussianBlur(image, (0, 0), REFINE_BLUR_PX)


def _scaling(factor: int) -> np.ndarray:
    """3x3 map of full-frame pixel coordinates onto a frame reduced by ``factor``
    (pixel centres: x -> (x + 0.5) / factor - 0.5)."""
    offset = 0.5 / factor - 0.5
    return np.array([[1 / factor, 0, offset], [0, 1 / factor, offset], [0, 0, 1.0]])


def _apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Points (N, 1, 2) mapped by a 3x3 matrix (projective division included)."""
    return cv2.perspectiveTransform(points.astype(np.float64), matrix).astype(np.float32)


def _fit(model: str, moved: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray | None, int]:
    """3x3 matrix mapping ``moved`` points (N, 2) onto ``reference`` points, and its
    number of inliers; None when the fit fails."""
    if model == "translation":
        shift = reference - moved
        median = np.median(shift, axis=0)
        inliers = np.linalg.norm(shift - median, axis=1) < RANSAC_PX
        if not inliers.any():
            return None, 0
        matrix = np.eye(3)
        matrix[:2, 2] = shift[inliers].mean(axis=0)
        return matrix, int(inliers.sum())
    if model == "homography":
        matrix, inliers = cv2.findHomography(moved, reference, cv2.RANSAC, RANSAC_PX)
    else:
        estimate = cv2.estimateAffinePartial2D if model == "similarity" else cv2.estimateAffine2D
        affine, inliers = estimate(
            moved, reference, method=cv2.RANSAC, ransacReprojThreshold=RANSAC_PX
        )
        matrix = None if affine is None else np.vstack([affine, [0.0, 0.0, 1.0]])
    if matrix is None or inliers is None:
        return None, 0
    return matrix, int(inliers.sum())


@functools.lru_cache(maxsize=4)
def _centred_grid(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates (x, y) relative to the image centre, float32 (H, W) each."""
    y, x = np.mgrid[:height, :width].astype(np.float32)
    return x - width / 2.0, y - height / 2.0


def _jacobian_columns(model: str, gx: np.ndarray, gy: np.ndarray) -> list[np.ndarray]:
    """d(image)/d(parameter) images of a small warp ``x -> x + D(x)`` about the centre:
    translation (tx, ty); similarity adds (scale, rotation); affine has all 6 terms."""
    x, y = _centred_grid(*gx.shape)
    columns = [gx, gy]
    if model == "similarity":
        columns += [gx * x + gy * y, gy * x - gx * y]
    elif model == "affine":
        columns += [gx * x, gx * y, gy * x, gy * y]
    return columns


def _increment(model: str, p: np.ndarray, width: int, height: int) -> np.ndarray:
    """3x3 matrix of ``x -> x + D(x)`` for the parameters ``p`` of :func:`_jacobian_columns`."""
    d = np.zeros((2, 3))
    d[:, 2] = p[:2]
    if model == "similarity":
        d[:, :2] = [[p[2], -p[3]], [p[3], p[2]]]
    elif model == "affine":
        d[:, :2] = [[p[2], p[3]], [p[4], p[5]]]
    centre = np.array([width / 2.0, height / 2.0])
    d[:, 2] -= d[:, :2] @ centre  # the parameters act about the image centre
    return np.eye(3) + np.vstack([d, [0.0, 0.0, 0.0]])


def _refine(
    model: str,
    reference: np.ndarray,
    frame: np.ndarray,
    matrix: np.ndarray,
    weights: np.ndarray | None,
) -> np.ndarray:
    """``matrix`` (frame -> reference) refined by robust dense Gauss-Newton (see the
    module docstring); ``reference`` and ``frame`` are blurred float32 grey images."""
    height, width = reference.shape
    to_frame = np.linalg.inv(matrix)  # reference coordinates -> frame coordinates
    inside = np.ones_like(frame)
    base = np.ones_like(reference) if weights is None else weights
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    for _ in range(REFINE_ITERATIONS):
        warped = cv2.warpAffine(frame, to_frame[:2], (width, height), flags=flags,
                                borderMode=cv2.BORDER_REFLECT)  # fmt: skip
        valid = cv2.warpAffine(inside, to_frame[:2], (width, height), flags=flags,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=0)  # fmt: skip
        residual = warped - reference
        # central differences, as np.gradient inside the frame
        gx = cv2.Sobel(warped, cv2.CV_32F, 1, 0, ksize=1, scale=0.5)
        gy = cv2.Sobel(warped, cv2.CV_32F, 0, 1, ksize=1, scale=0.5)
        # Tukey's biweight on a robust scale of the residual (IRLS); the scale from every
        # third row and column is as good and 9x cheaper
        inside_now = valid > 0.999
        sample = np.abs(residual[::3, ::3][inside_now[::3, ::3]])
        scale = max(1.4826 * float(np.median(sample)), 0.25) if sample.size else 0.25
        u = residual / (4.685 * scale)
        w = base * inside_now * np.clip(1.0 - u * u, 0.0, None) ** 2
        columns = np.stack([c.ravel() for c in _jacobian_columns(model, gx, gy)])
        weighted = columns * w.ravel()
        a = (weighted @ columns.T).astype(np.float64)
        b = -(weighted @ residual.ravel()).astype(np.float64)
        try:
            p = np.linalg.solve(a, b)
        except np.linalg.LinAlgError:
            break
        # warped(x) = frame(to_frame x): the increment acts in reference coordinates
        to_frame = to_frame @ _increment(model, p, width, height)
        step = np.linalg.norm(p[:2])
        if model != "translation":
            step += np.abs(p[2:]).max() * max(width, height)
        if step < REFINE_TOLERANCE_PX:
            break
    return np.linalg.inv(to_frame)


#: half-width (taps per side) of the Lanczos kernel of exact translations (ours: the
#: background's residual at alpha 10 on ``tests/test_stabilize.py``'s shaken photo, mean
#: / max, was 0.064 / 0.092 px with 4, 0.021 / 0.038 with 8, 0.014 / 0.029 with 12;
#: OpenCV's Lanczos-4 warp 0.097 / 0.175)
LANCZOS_A = 8


def _lanczos_taps(fraction: float) -> np.ndarray:
    """The 2a taps ``L(a - i - fraction)``, i = 0..2a-1, of a shift by ``fraction`` px
    (Lanczos-a, normalised to sum 1), for ``cv2.sepFilter2D`` with anchor a."""
    positions = LANCZOS_A - np.arange(2 * LANCZOS_A) - fraction
    taps = np.sinc(positions) * np.sinc(positions / LANCZOS_A)
    return (taps / taps.sum()).astype(np.float32)


def _translate(frame: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """``frame`` translated by (dx, dy) px, ``out(x) = frame(x - d)``, mirrored borders.

    OpenCV's warps place their samples on a 1/32 px grid (``INTER_BITS``), an error of
    up to 1/64 px that alpha - 1 then magnifies (0.1 px of background swim at alpha 10,
    measured); here the whole pixels move exactly and the fraction is a separable
    Lanczos filter (``LANCZOS_A``) computed for the exact fraction (ours)."""
    height, width = frame.shape[:2]
    whole_x, whole_y = int(np.floor(dx)), int(np.floor(dy))
    pad = LANCZOS_A + max(abs(whole_x), abs(whole_y)) + 1
    padded = cv2.copyMakeBorder(frame, pad, pad, pad, pad, cv2.BORDER_REFLECT)
    # window[y + a, x + a] = frame[y - whole_y, x - whole_x]; the taps act about it
    top, left = pad - whole_y - LANCZOS_A, pad - whole_x - LANCZOS_A
    window = padded[top : top + height + 2 * LANCZOS_A, left : left + width + 2 * LANCZOS_A]
    out = cv2.sepFilter2D(
        window.astype(np.float32), -1, _lanczos_taps(dx - whole_x), _lanczos_taps(dy - whole_y),
        anchor=(LANCZOS_A, LANCZOS_A), borderType=cv2.BORDER_REFLECT,
    )  # fmt: skip
    out = out[LANCZOS_A : LANCZOS_A + height, LANCZOS_A : LANCZOS_A + width]
    if frame.dtype == np.uint8:
        return np.clip(np.rint(out), 0, 255).astype(np.uint8)
    return out.astype(frame.dtype)


@dataclass
class StabilizationReport:
    """What stabilization found over a run: frames, frames that kept the previous
    transform, the largest camera displacement (px, at the frame centre) and rotation
    (degrees) relative to the first frame."""

    model: str
    frames: int = 0
    unregistered: int = 0
    max_shift_px: float = 0.0
    max_rotation_deg: float = 0.0
    #: share of the frame the first frame's corners span (their convex hull)
    corner_cover: float = 1.0
    #: registered frames in which under MIN_AGREEMENT of the tracks were inliers
    disagreeing: int = 0
    matrices: list[np.ndarray] = field(default_factory=list, repr=False)

    def note(self) -> str:
        """One sentence for the run's notes."""
        text = (
            f"stabilized to the first frame ({self.model}): the camera moved up to "
            f"{self.max_shift_px:.2f} px"
        )
        if self.model != "translation":
            text += f" and turned up to {self.max_rotation_deg:.2f} degrees"
        if self.unregistered:
            text += (
                f"; {self.unregistered} of {self.frames} frames could not be registered and "
                "kept the previous frame's alignment"
            )
        if self.corner_cover < MIN_CORNER_COVER:
            text += (
                f"; the corners it tracked span only {self.corner_cover:.0%} of the frame (a "
                "flat background?), so it may have followed a moving part, not the camera: "
                "--crop to where the background has texture"
            )
        if self.disagreeing:
            text += (
                f"; in {self.disagreeing} of {self.frames} frames under "
                f"{MIN_AGREEMENT:.0%} of the tracked corners agreed on one motion, so a large "
                "moving part may have been taken for the camera: --mask it, and the rest is "
                "registered"
            )
        return text + "."


class FrameAligner:
    """Registers frames to the first one given and warps them there (and back).

    Args:
        model: one of :data:`MODELS`.
        weights: (H, W) in [0, 1], where the scene may be taken as still (e.g. the
            complement of a magnification mask); default everywhere.
        keep_history: keep every frame's matrix in the report (tests, analysis).
    """

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        weights: np.ndarray | None = None,
        keep_history: bool = False,
    ) -> None:
        self.model = check_model(model)
        self.weights = None if weights is None else np.asarray(weights, np.float32)
        self.keep_history = keep_history
        self.report = StabilizationReport(model)
        self._reference: np.ndarray | None = None
        self._smooth_reference: np.ndarray | None = None
        self._smooth_weights: np.ndarray | None = None
        self._points: np.ndarray | None = None
        self._matrix = np.eye(3)

    def register(self, frame: np.ndarray) -> np.ndarray:
        """3x3 matrix mapping ``frame``'s pixel coordinates (x, y) onto the first frame's."""
        grey = _grey(frame)
        if self._reference is None:
            return self._start(grey)
        guess = _apply(np.linalg.inv(self._matrix), self._points)
        tracked, status, _ = cv2.calcOpticalFlowPyrLK(
            self._reference, grey, self._points, guess.copy(), **_LK
        )
        back, status_back, _ = cv2.calcOpticalFlowPyrLK(
            grey, self._reference, tracked, self._points.copy(), **_LK
        )
        error = np.linalg.norm((back - self._points).reshape(-1, 2), axis=1)
        good = (status.ravel() == 1) & (status_back.ravel() == 1) & (error < FB_LIMIT_PX)
        matrix, inliers = None, 0
        if good.sum() >= MIN_INLIERS:
            matrix, inliers = _fit(
                self.model, tracked.reshape(-1, 2)[good], self._points.reshape(-1, 2)[good]
            )
        if matrix is None or inliers < MIN_INLIERS:
            self.report.unregistered += 1
        else:
            if inliers < MIN_AGREEMENT * good.sum():
                self.report.disagreeing += 1
            if self.model != "homography":
                factor = _reduction(grey.shape)
                scale = _scaling(factor)
                small = _refine(
                    self.model,
                    self._smooth_reference,
                    _smooth(grey, factor),
                    scale @ matrix @ np.linalg.inv(scale),
                    self._smooth_weights,
                )
                matrix = np.linalg.inv(scale) @ small @ scale
            self._matrix = matrix
        self._record(self._matrix, grey.shape)
        return self._matrix

    def _start(self, grey: np.ndarray) -> np.ndarray:
        height, width = grey.shape
        # corners near the border leave the frame first when the camera moves (ours)
        margin = min(BORDER_PX, height // 8, width // 8)
        inside = np.zeros_like(grey)
        inside[margin : height - margin, margin : width - margin] = 255
        weights = self._weights(grey.shape)
        if weights is not None:
            inside[weights < 0.5] = 0
        corners = cv2.goodFeaturesToTrack(
            grey,
            maxCorners=MAX_CORNERS,
            qualityLevel=0.01,
            minDistance=max(4, min(height, width) // 60),
            blockSize=7,
            mask=inside,
        )
        count = 0 if corners is None else len(corners)
        if count < MIN_CORNERS:
            where = "" if weights is None else " outside the --mask"
            raise InputError(
                f"the first frame has too little texture{where} to stabilize ({count} "
                f"trackable corners, {MIN_CORNERS} needed): drop --stabilize, or --crop to a "
                "textured part."
            )
        hull = cv2.convexHull(corners.astype(np.float32))
        self.report.corner_cover = float(cv2.contourArea(hull)) / float(height * width)
        factor = _reduction(grey.shape)
        self._reference = grey
        self._smooth_reference = _smooth(grey, factor)
        if weights is not None:  # the refinement's, at its size
            self._smooth_weights = _smooth(weights, factor)
        self._points = corners.astype(np.float32)
        self._record(self._matrix, grey.shape)
        return self._matrix

    def _weights(self, shape: tuple[int, int]) -> np.ndarray | None:
        if self.weights is None:
            return None
        weights = self.weights.reshape(self.weights.shape[:2])
        if weights.shape != shape:
            raise InputError(
                f"the stabilization weights are {weights.shape[1]}x{weights.shape[0]} but the "
                f"frames are {shape[1]}x{shape[0]}: give weights of the frames' size."
            )
        return weights

    def _record(self, matrix: np.ndarray, shape: tuple[int, int]) -> None:
        report = self.report
        report.frames += 1
        centre = np.array([[[shape[1] / 2.0, shape[0] / 2.0]]])
        shift = float(np.linalg.norm(_apply(matrix, centre) - centre))
        rotation = float(np.degrees(abs(np.arctan2(matrix[1, 0], matrix[0, 0]))))
        report.max_shift_px = max(report.max_shift_px, shift)
        report.max_rotation_deg = max(report.max_rotation_deg, rotation)
        if self.keep_history:
            report.matrices.append(matrix.copy())

    @staticmethod
    def warp(frame: np.ndarray, matrix: np.ndarray, inverse: bool = False) -> np.ndarray:
        """``frame`` resampled into the first frame's coordinates by ``matrix`` (or, with
        ``inverse``, a first-frame-coordinates image back into the frame's)."""
        if _is_identity(matrix):
            return frame
        if _is_translation(matrix):
            shift = matrix[:2, 2] * (-1.0 if inverse else 1.0)
            return _translate(frame, float(shift[0]), float(shift[1]))
        flags = cv2.INTER_LANCZOS4 | (cv2.WARP_INVERSE_MAP if inverse else 0)
        return _warp_by(frame, matrix, flags, borderMode=cv2.BORDER_REFLECT)


def _is_identity(matrix: np.ndarray) -> bool:
    """A registration that moved nothing (to 1e-9)."""
    return bool(np.allclose(matrix, np.eye(3), rtol=0.0, atol=1e-9))


def _is_translation(matrix: np.ndarray) -> bool:
    """A registration that only shifted: whole-pixel work without a warp."""
    return bool(np.array_equal(matrix[:2, :2], np.eye(2)) and not matrix[2, :2].any())


def _warp_by(image: np.ndarray, matrix: np.ndarray, flags: int, **border) -> np.ndarray:
    """``image`` warped by a 3x3 ``matrix`` at its own size: ``cv2.warpPerspective`` for a
    projective one, ``cv2.warpAffine`` of its top rows otherwise."""
    size = (image.shape[1], image.shape[0])
    if abs(matrix[2, 0]) + abs(matrix[2, 1]) > 0:
        return cv2.warpPerspective(image, matrix, size, flags=flags, **border)
    return cv2.warpAffine(image, matrix[:2], size, flags=flags, **border)


def _edge_cover(position: np.ndarray, size: int) -> np.ndarray:
    """How much of a bilinear sample at ``position`` (px, along one axis) lies on a frame
    ``size`` px long: 1 inside ``[0, size - 1]``, falling linearly to 0 one pixel beyond
    either edge."""
    return np.clip(1.0 + np.minimum(position, size - 1 - position), 0.0, 1.0).astype(np.float32)


def coverage(matrix: np.ndarray, height: int, width: int) -> np.ndarray | None:
    """(H, W) float32 in [0, 1]: how much of each pixel of a frame ``matrix`` maps inside
    the first frame (a bilinear sample of a frame of ones with nothing outside it). Where
    it is below 1 the stabilized frame, and so the magnifier's output, holds mirrored
    border (warped back, it put 12-52 grey levels of mirror over the frame's real edge at
    a 4 px shift). None where every pixel is covered (an identity, or no shift).

    The cover falls over one pixel, not at a threshold, so that under a sub-pixel camera
    shake an edge column fades between output and input instead of switching from one to
    the other from frame to frame (ours)."""
    if _is_identity(matrix):
        return None
    if _is_translation(matrix):  # whole rows and columns, without a warp (17 ms at 1080p)
        columns = _edge_cover(np.arange(width) + matrix[0, 2], width)
        rows = _edge_cover(np.arange(height) + matrix[1, 2], height)
        if columns.min() >= 1.0 and rows.min() >= 1.0:
            return None
        return rows[:, None] * columns[None, :]
    ones = np.ones((height, width), np.float32)
    cover = _warp_by(ones, matrix, cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)
    cover[cover > 1.0 - COVER_TOLERANCE] = 1.0  # OpenCV's interpolation tables round
    return cover if cover.min() < 1.0 else None


def keep_input_where_uncovered(
    back: np.ndarray, frame: np.ndarray, matrix: np.ndarray
) -> np.ndarray:
    """``back`` (an output warped back into ``frame``'s coordinates) blended towards
    ``frame`` where :func:`coverage` is below 1: ``cover * back + (1 - cover) * frame``,
    computed on those pixels alone; the input's own pixels where the camera revealed
    scene the first frame did not hold."""
    cover = coverage(matrix, *frame.shape[:2])
    if cover is None:
        return back
    partial = cover < 1.0
    weight = cover[partial][:, None] if frame.ndim == 3 else cover[partial]
    mixed = weight * back[partial].astype(np.float32) + (1.0 - weight) * frame[partial]
    if np.issubdtype(back.dtype, np.integer):
        mixed = np.clip(np.rint(mixed), 0, np.iinfo(back.dtype).max)
    out = back.copy()
    out[partial] = mixed.astype(back.dtype)
    return out


class StabilizedPairs:
    """A :class:`~motionmag.magnify.stream.PairedMagnifier` fed stabilized frames.

    ``push(frame)`` registers and warps the frame, feeds the magnifier, and returns
    (input, output) pairs in the input's coordinates: the frame as given and the output
    warped back (or, with ``keep_stabilized``, the stabilized frame and the output).
    """

    def __init__(
        self,
        paired,
        model: str,
        keep_stabilized: bool = False,
        weights: np.ndarray | None = None,
    ) -> None:
        self.paired = paired
        self.aligner = FrameAligner(model, weights)
        self.keep_stabilized = keep_stabilized
        self._pending: deque[tuple[np.ndarray, np.ndarray]] = deque()

    @property
    def magnifier(self):
        return self.paired.magnifier

    def _restore(self, pairs: list[tuple[np.ndarray, np.ndarray]]):
        restored = []
        for stabilized, out in pairs:
            frame, matrix = self._pending.popleft()
            if self.keep_stabilized:
                restored.append((stabilized, out))
            else:
                back = FrameAligner.warp(out, matrix, inverse=True)
                restored.append((frame, keep_input_where_uncovered(back, frame, matrix)))
        return restored

    def push(self, frame: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        matrix = self.aligner.register(frame)
        self._pending.append((frame, matrix))
        return self._restore(self.paired.push(FrameAligner.warp(frame, matrix)))

    def flush(self) -> list[tuple[np.ndarray, np.ndarray]]:
        return self._restore(self.paired.flush())
