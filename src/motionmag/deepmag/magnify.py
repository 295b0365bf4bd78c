"""DeepMag magnification by gradient ascent in the input of a signal predictor (colour path).

What matters (Chen and McDuff 2018, Sec. 3.1-3.2, Algorithm 1, Eq. 1-4 and 15-18):

- **Only what the predictor sees is magnified.** For every frame pair the representation
  ``X1(t)`` (normalised frame difference of 36 x 36 frames, Eq. 15) is pushed, with the
  CNN's weights frozen, along the gradient of ``||y(X)||_2`` (``= |y|``, the output is one
  number per frame; squaring it would only rescale the gradient before the L1
  normalisation). ``N - 1`` steps of size ``gamma`` (Algorithm 1: ``n = 1 .. N-1``).
- **L1 normalisation (Eq. 2)** keeps only the gradient's direction, so every frame moves
  by the same amount whatever the steepness of the predictor there. The paper divides by
  ``||G||_1``; with its ``gamma = 6e-5`` that moves a 36 x 36 x 3 input by 6e-5 *in total*
  per step (1.5e-8 per element, nothing visible), so we divide by the *mean* absolute
  gradient ``||G||_1 / K`` (K = elements of one frame): the mean absolute step per element
  is then ``gamma``, and N = 20, gamma = 6e-5 magnify the pulse by about 1.7-2.3x on our
  synthetic videos with the shipped model, the paper's "moderate magnification" (our
  reading; the motion path's gamma = 3.6e-3 rad is then a plausible phase step too;
  measured curve in :mod:`.calibration` and the model card).
- **Sign correction (Eq. 3)** ``G <- G * sgn(G * X)`` makes every element move away from
  zero in the direction of its own current value (``|G| sgn(X)``), so a pixel whose
  gradient points against its own change (a negative weight in the predictor) is not
  inverted.
- **Noise gate of the step (ours, not in the paper; option ``gate_sigmas``)**: with sign
  correction every element moves by its own sign, and an element whose frame difference
  is far above the camera noise (a moving edge, a head turn's shading) has the sign of
  the motion, not of the pulse, whose change per frame is well below the noise. So with
  ``gate_sigmas = k > 0`` the step of such elements is set to zero: only elements with
  ``|X_1| <= k sigma_c`` move, ``sigma_c`` the clip's robust noise level of channel ``c``
  (``1.4826 median |X_1|``, the median absolute deviation of a zero-mean difference).
  The gate is symmetric in ``X``, so where the pulse is buried in noise the expected sign
  still follows the pulse; it is applied after the L1 normalisation, so frames full of
  motion move less in total. ``0`` (these functions' default) is the paper's step; the
  ``deepmag-color`` method uses :data:`GATE_SIGMAS` (3: on Gaussian noise alone 99.7 % of
  the elements still move), with an alpha calibration measured with it.
- **Linear step with a slowly varying weight (ours, not in the paper; options ``step`` and
  ``weight_smooth_s``)**. The change is accumulated in the frame-difference domain and
  integrated afterwards (Eq. 17). A step proportional to ``X`` with a weight that is
  constant in time integrates the camera noise of ``X(t) = n(t+1) - n(t)`` (roughly)
  to ``n(T) - n(0)``: it telescopes, so the output's noise is the input's, scaled like the
  pulse. The paper's ``sgn(X)`` does not telescope: the signs of successive differences
  are only weakly anti-correlated (-1/3 for white noise), so their sum is a random walk
  whose spectrum rises as 1/f^2 into the low end of the pulse band. There the added
  noise is about ten times the input's relative to the pulse (1 Hz at 30 fps, our
  estimate), which is why the paper's step lowers the pulse's correlation with the truth
  even on a still face (0.79 against the input's 0.97). A per-frame weight ``|G_t|`` that
  jumps from frame to frame breaks the telescoping too. So ``step="linear"`` moves each
  element by ``w_t X_n / (3 sigma_c)``, where ``w_t`` is the L1-normalised ``|G_t|``
  smoothed along time by a Gaussian of ``weight_smooth_s`` seconds. Inside the noise gate
  (``|X_1| <= 3 sigma_c``) that is the paper's step with ``sgn`` replaced by a ramp, so it
  is never larger. Some smoothing is needed: the CNN's gradient at an element jitters
  from frame to frame with the noise (ReLU patterns), and unsmoothed the linear step
  scores little better than the paper's; too much and the weight lags a turning head.
  On two task-D test videos at a gain of 2-3 the pulse's compensated correlation rises
  from 0.51 / 0.70 (the paper's step) to 0.89 / 0.90, and on task A from 0.79 to 0.95
  (:data:`WEIGHT_SMOOTH_S`; ``benchmarks/deepmag_linear_step.py``). ``step="sign"`` with
  ``weight_smooth_s=0`` is the paper's step.
- **The accumulated change is band-passed (Eq. 16)** with a zero-phase Butterworth of order
  6 (``scipy.signal.butter(3, ...)``, 6 poles, run forwards and backwards by
  ``sosfiltfilt``; the paper does not say which "order" convention, this is ours), 0.7-2.5 Hz
  for the pulse; the filter removes noise, it does not select the signal.
- **Spatial smoothing of the change (ours, not in the paper; option ``smooth_cells``)**:
  the sign correction gives every element of the 36 x 36 x 3 change the sign of its own
  frame difference, which off the pulse is noise, so at alpha 10 the output is covered
  in independent red, green and blue blotches of one 36 x 36 cell. A Gaussian blur of
  the band-passed change over the cells (:func:`smooth_change`, sigma in cells, per
  frame and channel) averages those signs away and keeps the pulse, which has one sign
  over the whole skin. It is linear, so the mean change over a region much larger than
  sigma is kept. ``smooth_cells=0`` (these functions' default) is the paper's change; the
  ``deepmag-color`` method uses :data:`SMOOTH_CELLS`, with an alpha calibration measured
  with it (:func:`.calibration.calibration_for`).
- **Reconstruction** by the exact inverse of Eq. 15 (Eq. 17) and the up-sampled change
  (Eq. 18), :mod:`.representations`.

The whole clip is needed (a zero-phase filter), so this is a whole-clip method: memory is
O(video) for the frames, plus 36 x 36 x 3 float64 per frame.
"""

from __future__ import annotations

import math
import sys
import warnings
from collections.abc import Callable

import numpy as np
import torch
from scipy import ndimage, signal
from tqdm import tqdm

from ..errors import UsageError
from ..temporal.iir import butterworth_sos, filtfilt_padlen
from .representations import (
    downsample,
    integrate_difference,
    normalized_difference,
    reconstruct,
    to_uint8,
)

#: the paper's colour settings (Sec. 3.2 and 5.1)
PULSE_BAND_HZ = (0.7, 2.5)
N_ITER = 20
GAMMA = 6e-5
#: scipy's N for the band-pass: 2 N = 6 poles ("6th-order", Sec. 3.2); our convention
FILTER_ORDER = 3
#: the ``deepmag-color`` method's blur of the change, cells of 36 (ours; 0 is the paper's).
#: Chosen on 2 test videos of tasks A and D at alpha 10 (sigma 0 / 1 / 2 / 3 cells: PSNR
#: 30.9 / 40.3 / 45.6 / 48.7 dB, compensated pulse r 0.57 / 0.60 / 0.61 / 0.62, gain
#: 8.0 / 7.2 / 6.3 / 5.3 at one step, restored by the calibration measured with it)
SMOOTH_CELLS = 2.0
#: the ``deepmag-color`` method's noise gate of the step, robust sigmas (ours; 0 is the
#: paper's). Chosen on the physio test videos at N gamma 2.4e-3 / 4.8e-3 with the blur
#: (benchmarks/deepmag_step_variants.py): compensated pulse r on task D 0.572 / 0.530
#: without it, 0.604 / 0.613 with k = 3, 0.599 / 0.570 with k = 1.5; on task A 0.789 /
#: 0.750, 0.789 / 0.757, 0.724 / 0.662 (k = 1.5 drops a third of a buried pulse's sign
#: signal, exp(-k^2 / 2)); B and C unchanged or higher; the gain per step within 5 %
GATE_SIGMAS = 3.0

#: the steps of :func:`gradient_ascent`: the paper's ``|G| sgn(X)`` and our linear one
STEPS = ("sign", "linear")
#: the ``deepmag-color`` method's step and the time sigma (s) of its weight's smoothing
#: (ours; ``"sign"`` and 0 are the paper's). Chosen on 2 test videos of task D (2 of A to
#: check), 20 s, N = 20, gate 3, blur 2 cells, gamma 1e-4 (gain 2-3): compensated pulse r
#: on D for the paper's step 0.51 / 0.70; linear step, weight smoothed 0 / 0.05 / 0.067 /
#: 0.1 / 0.17 s: 0.58 / 0.89 / 0.87-0.90 / 0.83-0.88 / 0.75-0.86 (video 1 / 2); A 0.79
#: (paper's) against 0.95 (0.05 and 0.17 s). 0.033 s was not tried
#: (``benchmarks/deepmag_linear_step.py``)
STEP = "linear"
WEIGHT_SMOOTH_S = 0.05
#: the linear step's ramp: ``X / (LINEAR_SIGMAS sigma_c)``, so inside the 3-sigma gate it
#: is never larger than the paper's step (ours)
LINEAR_SIGMAS = 3.0
#: seed of the dither that rounds the magnified frames to 8 bits (fixed: one input, one
#: output)
DITHER_SEED = 0
#: the frame side (px) at which the linear step reads the clip's noise: the calibration
#: videos' (``ramp_sigma``; ours)
RAMP_FRAME_PX = 128
#: floor of the noise level the ramp divides by, in units of X (a noiseless clip has sigma
#: 0): about a 40th of a grey level at mid-grey, where 8-bit rounding alone gives ten times it
EPS_SIGMA = 1e-4

Predictor = Callable[[torch.Tensor], torch.Tensor]


def ascent_direction(
    grad: torch.Tensor, x: torch.Tensor, l1_normalize: bool = True, sign_correct: bool = True
) -> torch.Tensor:
    """One step's direction (Algorithm 1, lines 5-6), per frame of a batch.

    Args:
        grad: (N, ...) gradient of ``|y|`` with respect to ``x``.
        x: (N, ...) the current representation ``X_n``.
        l1_normalize: divide each frame's gradient by its mean absolute value (Eq. 2, our
            per-element scaling, see the module docstring); a zero gradient stays zero.
        sign_correct: ``G * sgn(G * X)`` (Eq. 3).
    """
    if l1_normalize:
        scale = grad.abs().flatten(1).mean(dim=1).clamp_min(torch.finfo(grad.dtype).tiny)
        grad = grad / scale.view(-1, *([1] * (grad.dim() - 1)))
    if sign_correct:
        grad = grad * torch.sign(grad * x)
    return grad


def gradient_ascent(
    x: np.ndarray,
    predictor: Predictor,
    n_iter: int = N_ITER,
    gamma: float = GAMMA,
    l1_normalize: bool = True,
    sign_correct: bool = True,
    batch_size: int = 512,
    channels_last: bool = True,
    device: str | torch.device = "cpu",
    gate_sigmas: float = 0.0,
    step: str = "sign",
    weight_smooth_frames: float = 0.0,
    ramp_sigma: torch.Tensor | None = None,
) -> np.ndarray:
    """Algorithm 1, lines 1-9: ``X_N = X_1 + sum_n gamma G_n`` (Eq. 4) for every frame pair.

    Args:
        x: (T-1, L, L, C) representation ``X_1`` (channels last, as the frames), or
            (T-1, C, L, L) with ``channels_last=False``.
        predictor: frozen differentiable map (N, C, L, L) float32 -> (N,) (e.g.
            :class:`~.nets.DeepMagColorNet`); frames must be independent (no batch norm).
        n_iter: N, the paper's iteration count: ``N - 1`` gradient steps.
        gamma: step size (mean absolute change per element per step, with L1 normalisation).
        l1_normalize, sign_correct: the paper's two additions (Eq. 2-3); off for ablations.
        batch_size: frames per backward pass.
        device: where the predictor runs.
        gate_sigmas: k of the noise gate (:func:`noise_gate`; module docstring); 0 = off.
        step: ``"sign"``, the paper's ``|G| sgn(X)`` (with ``sign_correct``), or
            ``"linear"``, ours: ``|G| X_n / (3 sigma_c)`` (module docstring).
        weight_smooth_frames: sigma (frames) of a Gaussian that smooths the L1-normalised
            ``|G|`` along time before the step (ours; 0 = off, the paper's). Any value
            other than 0, and ``step="linear"``, need ``l1_normalize`` and sign correction.
        ramp_sigma: (C,) the noise level the linear step divides by (:func:`ramp_sigma`;
            None: ``noise_sigma`` of ``x`` itself).

    Returns:
        float64 ``X_N``, same shape as ``x``. The change is accumulated in float64; the
        predictor sees float32. The loop runs iteration by iteration over the whole clip
        (every frame's gradient before any frame steps), which the time smoothing needs;
        without it each frame's result is what a frame-by-frame loop gives.
    """
    if n_iter < 1 or not math.isfinite(gamma):
        raise UsageError(f"n_iter {n_iter} must be >= 1 and gamma {gamma} finite.")
    check_step(step)
    if not (math.isfinite(weight_smooth_frames) and weight_smooth_frames >= 0):
        raise UsageError(
            f"weight_smooth_frames {weight_smooth_frames} must be >= 0 (0 turns it off)."
        )
    ours = step == "linear" or weight_smooth_frames > 0
    if ours and not (l1_normalize and sign_correct):
        raise UsageError("the linear step and the weight smoothing need L1 normalisation "
                         "and sign correction on.")  # fmt: skip
    x = np.asarray(x, dtype=np.float64)
    nchw = torch.from_numpy(np.ascontiguousarray(x))
    if channels_last:
        nchw = nchw.permute(0, 3, 1, 2)
    gate = noise_gate(nchw, gate_sigmas)
    sigma = noise_sigma(nchw) if ramp_sigma is None else ramp_sigma.to(torch.float64)
    ramp = 1.0 / (LINEAR_SIGMAS * sigma).clamp_min(EPS_SIGMA).view(1, -1, 1, 1)
    delta = torch.zeros_like(nchw)
    starts = range(0, len(nchw), batch_size)
    # a bar on a terminal only (disable=None): whole clips take minutes at 640x360
    bar = tqdm(total=(n_iter - 1) * len(starts), desc="DeepMag gradient ascent",
               unit="batch", file=sys.stderr, disable=None, leave=False)  # fmt: skip
    for _ in range(n_iter - 1):
        direction = torch.empty_like(nchw)
        for start in starts:
            stop = start + batch_size
            xn = (nchw[start:stop] + delta[start:stop]).to(device=device, dtype=torch.float32)
            xn.requires_grad_(True)
            objective = predictor(xn).abs().sum()  # frames independent: per-frame gradients
            (grad,) = torch.autograd.grad(objective, xn)
            if ours:  # the weight |G|, signs below
                batch = ascent_direction(grad, xn.detach(), True, False).abs()
            else:
                batch = ascent_direction(grad, xn.detach(), l1_normalize, sign_correct)
            direction[start:stop] = batch.to(device="cpu", dtype=torch.float64)
            bar.update()
        if weight_smooth_frames > 0:
            direction = torch.from_numpy(
                ndimage.gaussian_filter1d(direction.numpy(), weight_smooth_frames, axis=0,
                                          mode="nearest")
            )  # fmt: skip
        if step == "linear":
            direction = direction * (nchw + delta) * ramp
        elif ours:
            direction = direction * torch.sign(nchw + delta)
        if gate is not None:
            direction = direction * gate
        delta += gamma * direction
    bar.close()
    out = nchw + delta
    if channels_last:
        out = out.permute(0, 2, 3, 1)
    return out.contiguous().numpy()


def check_step(step: str) -> None:
    """UsageError unless ``step`` is one of :data:`STEPS`."""
    if step not in STEPS:
        raise UsageError(f"step '{step}' is unknown: choose one of {', '.join(STEPS)}.")


def noise_sigma(x: torch.Tensor) -> torch.Tensor:
    """Robust noise level per channel, ``1.4826 median |X|`` over the clip: (C,) float64.

    Args:
        x: (T-1, C, L, L) the representation ``X_1`` of the whole clip (zero-mean
            differences, so the median absolute value is the median absolute deviation).
    """
    magnitude = x.abs().to(torch.float64)
    return 1.4826 * magnitude.transpose(0, 1).flatten(1).median(dim=1).values


def ramp_sigma(frames: np.ndarray) -> torch.Tensor:
    """The noise level the linear step divides by, (C,) float64: ``noise_sigma`` of the
    clip's representation as a :data:`RAMP_FRAME_PX` camera would give it.

    The 36x36 cells average every pixel under them, so the same camera noise reads 4x
    lower in a 640x480 clip than in the 128 px videos the calibration was measured on,
    and the step, divided by it, grew: alpha 3 gave x7.7 on a 256 px face (x3.0 at 128
    px; stop 54's review). Frames larger than that are decimated (every k-th pixel, no
    averaging) to ``RAMP_FRAME_PX`` square first, which keeps each pixel's noise; smaller
    ones are read as they are. Ours."""
    frames = np.asarray(frames)
    height, width = frames.shape[1:3]
    if max(height, width) > RAMP_FRAME_PX:
        rows = np.linspace(0, height - 1, min(height, RAMP_FRAME_PX)).round().astype(int)
        cols = np.linspace(0, width - 1, min(width, RAMP_FRAME_PX)).round().astype(int)
        frames = frames[:, rows][:, :, cols]
    x = normalized_difference(downsample(frames))
    return noise_sigma(torch.from_numpy(x).permute(0, 3, 1, 2))


def noise_gate(x: torch.Tensor, gate_sigmas: float) -> torch.Tensor | None:
    """Where the step may act: ``|X| <= k sigma_c`` (module docstring), or None for k = 0.

    Args:
        x: (T-1, C, L, L) the representation ``X_1`` of the whole clip.
        gate_sigmas: k, in robust standard deviations of the channel (0 = no gate).

    Returns:
        float64 (T-1, C, L, L) of 0 and 1, or None.
    """
    if not math.isfinite(gate_sigmas) or gate_sigmas < 0:
        raise UsageError(f"gate_sigmas {gate_sigmas} must be >= 0 (0 turns the gate off).")
    if gate_sigmas == 0:
        return None
    sigma = noise_sigma(x)
    return (x.abs().to(torch.float64) <= gate_sigmas * sigma.view(1, -1, 1, 1)).to(torch.float64)


def bandpass_change(
    x1: np.ndarray,
    xn: np.ndarray,
    fps: float,
    band: tuple[float, float] = PULSE_BAND_HZ,
    order: int = FILTER_ORDER,
) -> np.ndarray:
    """Eq. 16: ``X~_N = X_1 + F(X_N - X_1)``, F zero-phase Butterworth along time (axis 0)."""
    sos = butterworth_sos(band[0], band[1], fps, order)
    change = np.asarray(xn, dtype=np.float64) - x1
    padlen = filtfilt_padlen(sos)
    if len(change) <= padlen:
        raise UsageError(
            f"{len(change) + 1} frames are too few for the zero-phase band-pass: give at "
            f"least {padlen + 2} frames ({(padlen + 2) / fps:.1f} s at {fps:g} fps)."
        )
    return x1 + signal.sosfiltfilt(sos, change, axis=0)


def smooth_change(x1: np.ndarray, x_filtered: np.ndarray, sigma_cells: float) -> np.ndarray:
    """``X1 + G_sigma * (X~ - X1)``: the band-passed change blurred over the cells.

    Args:
        x1: (T-1, L, L, C) the representation before gradient ascent.
        x_filtered: (T-1, L, L, C) after the band-pass (Eq. 16).
        sigma_cells: Gaussian sigma in cells of the L x L grid (our choice, see the
            module docstring); 0 returns ``x_filtered`` unchanged. Edges are extended
            (``mode="nearest"``), so a change at the border is not pulled toward 0.
    """
    if not sigma_cells >= 0:
        raise UsageError(f"smooth_cells {sigma_cells} must be >= 0 (0 turns smoothing off).")
    if sigma_cells == 0:
        return x_filtered
    change = np.asarray(x_filtered, dtype=np.float64) - x1
    sigma = (0.0, sigma_cells, sigma_cells, 0.0)  # cells only, not time or colour
    return x1 + ndimage.gaussian_filter(change, sigma=sigma, mode="nearest")


def gamma_for_alpha(alpha: float, n_iter: int, calibration: dict) -> float:
    """Step size that gives a pulse gain of ``alpha`` with ``n_iter`` iterations.

    ``calibration`` is the ``"calibration"`` entry of a model card (:mod:`.calibration`).
    With a measured ``curve`` (mean gain per ``N * gamma``) the gain is interpolated
    piecewise linearly from (0, 1), and extrapolated along the last segment, with a
    warning beyond :data:`EXTRAPOLATION_NOTED` times its end (the gain there was never
    measured); without one,
    ``gain = 1 + k N gamma`` (``k`` = ``gain_slope_per_n_gamma``), both in N gamma at the
    card's own N (its ``n_iter``); another ``n_iter`` gets the same total step, (N - 1)
    gamma, as N - 1 steps are taken. Gradient ascent only amplifies, so ``alpha`` must be
    >= 1.
    """
    if not math.isfinite(alpha) or alpha < 1:
        raise UsageError(f"alpha {alpha} must be >= 1: DeepMag only amplifies.")
    if n_iter < 2:
        raise UsageError(
            f"n_iter {n_iter} takes no step (gradient ascent takes N - 1): give n_iter >= 2."
        )
    max_gain = calibration.get("max_gain")
    if max_gain is not None and alpha > float(max_gain):
        raise UsageError(
            f"alpha {alpha:g} is above the largest gain these weights were measured to reach "
            f"(x{float(max_gain):.1f}; larger steps gave less): give alpha <= "
            f"{math.floor(float(max_gain) * 10) / 10:g}."
        )
    # The gain follows the total step, (N - 1) gamma (N - 1 steps are taken), while the
    # card's curve is in N gamma at its own N: converted, so another n_iter gets the same
    # gain (with N gamma, alpha 3 gave x1.77 at N = 2 and x2.61 at N = 5; review, stop 54)
    calibrated_n = int(calibration.get("n_iter", n_iter))
    per_step = (calibrated_n - 1) / calibrated_n / (n_iter - 1) if calibrated_n > 1 else 1 / n_iter
    curve = calibration.get("curve")
    if not curve:
        return (alpha - 1.0) / float(calibration["gain_slope_per_n_gamma"]) * per_step
    xs = np.array([0.0] + [float(p["n_gamma"]) for p in curve])
    ys = np.array([1.0] + [float(p["gain"]) for p in curve])
    if np.any(np.diff(ys) <= 0):
        raise UsageError("the model card's gain curve is not increasing: recalibrate it.")
    if alpha <= ys[-1]:
        n_gamma = float(np.interp(alpha, ys, xs))
    else:
        slope = (ys[-1] - ys[-2]) / (xs[-1] - xs[-2])
        n_gamma = float(xs[-1] + (alpha - ys[-1]) / slope)
        if alpha > EXTRAPOLATION_NOTED * ys[-1]:  # colour overshoots, motion falls (README)
            warnings.warn(
                f"alpha {alpha:g} is well above the largest gain these weights were "
                f"calibrated at (x{ys[-1]:.1f}): the step is extrapolated, and the gain may "
                f"be far from x{alpha:g}; ask for x{math.floor(ys[-1] * 10) / 10:g} or less, "
                "or check the output with motionmag measure.",
                stacklevel=2,
            )
    return n_gamma * per_step


#: an alpha beyond this many times the calibration's largest gain is noted (ours: the
#: shipped motion card ends at x7.5 and the default alpha, 10, measured x9.8 at alpha 8
#: on a test video, so a note there would say less than the data; 20 gave x12.2)
EXTRAPOLATION_NOTED = 1.5


def magnify_color_details(
    frames: np.ndarray,
    fps: float,
    model: Predictor,
    n_iter: int = N_ITER,
    gamma: float = GAMMA,
    band: tuple[float, float] = PULSE_BAND_HZ,
    l1_normalize: bool = True,
    sign_correct: bool = True,
    order: int = FILTER_ORDER,
    batch_size: int = 512,
    device: str | torch.device = "cpu",
    smooth_cells: float = 0.0,
    gate_sigmas: float = 0.0,
    step: str = "sign",
    weight_smooth_s: float = 0.0,
    noise: torch.Tensor | None = None,
) -> dict[str, np.ndarray]:
    """Algorithm 1 for the colour path, returning every intermediate (for measurements).

    Returns float64 arrays: ``small`` (T, 36, 36, 3) ``C_l``, ``x1`` and ``xn`` (T-1, 36, 36, 3)
    before and after gradient ascent, ``x_filtered`` (Eq. 16), ``small_new`` (Eq. 17) and
    ``frames`` (T, H, W, 3) in [0, 1], not clipped (Eq. 18). ``smooth_cells`` blurs the
    band-passed change (:func:`smooth_change`) and ``gate_sigmas`` gates the step
    (:func:`noise_gate`); ``step`` and ``weight_smooth_s`` (seconds) choose the step
    (:func:`gradient_ascent`). The defaults here (0, 0, ``"sign"``, 0) are the paper's.
    ``noise``: the linear step's noise level if already measured (:func:`ramp_sigma`).
    """
    frames = np.asarray(frames)
    small = downsample(frames)
    x1 = normalized_difference(small)
    sigma = (ramp_sigma(frames) if noise is None else noise) if step == "linear" else None
    xn = gradient_ascent(
        x1, model, n_iter, gamma, l1_normalize, sign_correct, batch_size, device=device,
        gate_sigmas=gate_sigmas, step=step, weight_smooth_frames=weight_smooth_s * fps,
        ramp_sigma=sigma,
    )  # fmt: skip
    x_filtered = smooth_change(x1, bandpass_change(x1, xn, fps, band, order), smooth_cells)
    small_new = integrate_difference(x_filtered, small[0])
    out = reconstruct(frames, small, small_new)
    return {
        "small": small,
        "x1": x1,
        "xn": xn,
        "x_filtered": x_filtered,
        "small_new": small_new,
        "frames": out,
    }


def magnify_color(
    frames: np.ndarray,
    fps: float,
    model: Predictor,
    n_iter: int = N_ITER,
    gamma: float = GAMMA,
    band: tuple[float, float] = PULSE_BAND_HZ,
    alpha: float | None = None,
    calibration: dict | None = None,
    **options,
) -> np.ndarray:
    """Magnify the pulse colour of uint8 RGB frames (T, H, W, 3) with DeepMag; returns uint8.

    Args:
        frames: the whole clip, uint8 RGB (T, H, W, 3), any H, W; T above ~0.8 s at 30 fps.
        fps: frame rate in frames per second.
        model: the pulse-derivative predictor (``DeepMagColorNet``, in eval mode).
        n_iter, gamma: the paper's N and step (20, 6e-5).
        band: the band-pass of the accumulated change, Hz.
        alpha: the total gain of the pulse amplitude (1 = unchanged); when given, gamma is
            set from ``calibration`` (the model card's ``"calibration"``) for ``n_iter``.
        options: passed to :func:`magnify_color_details` (``l1_normalize``,
            ``sign_correct``, ``order``, ``batch_size``, ``device``, ``smooth_cells``,
            ``gate_sigmas``, ``step``, ``weight_smooth_s``).
    """
    if alpha is not None:
        if calibration is None:
            raise UsageError("alpha needs the model's calibration (its model card).")
        gamma = gamma_for_alpha(alpha, n_iter, calibration)
    details = magnify_color_details(frames, fps, model, n_iter, gamma, band, **options)
    # dithered (ours): the pulse's colour change is a fraction of a grey level, and on
    # smooth skin rounding to the nearest level drops all of it (alpha 3 on a 96 px
    # test clip: x1.70 in float, x1.15 rounded at 30 fps, x1.00 at 15 fps; dithered
    # x1.70 / x1.45, tests/test_deepmag.py)
    return to_uint8(details["frames"], dither_seed=DITHER_SEED)
