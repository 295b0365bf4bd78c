"""Linear Eulerian video magnification (Wu et al. 2012): motion and colour variants.

What matters:

- Motion (method ``linear``): each frame's YIQ Laplacian pyramid is selected per level
  (band-pass in time, or a difference to a reference) and added back amplified, which
  is the first-order Taylor argument of Wu et al. Sec. 3: ``I(x + delta) + (alpha - 1)
  delta I'(x) ~ I(x + alpha delta)``. alpha is the *total* factor (Wu's paper's alpha is
  our ``alpha - 1``). The approximation holds while the magnified motion stays below
  an eighth of the wavelength (Eq. 14: ``alpha delta < lambda / 8``), so each level's
  added gain is capped with the cut-off wavelength ``lambda_c``:
  ``gain_k = min(alpha - 1, alpha * lambda_k / lambda_c - 1)``, clipped at 0, where
  ``lambda_k = 2^(k + 2)`` px is the representative wavelength of band level ``k``
  (finest k = 0; our choice, the upper edge of the band, which matches the reference
  code's diagonal/3 rule at common sizes). Chrominance (I, Q) is attenuated (default
  0.1) when alpha > 1, against amplified colour noise; below 1 it is not (ours: scaled
  by 0.1, the attenuating change left 0.9 of the colour motion), so alpha 0 stops the
  colour edges with the luma. The capped levels may be exaggerated before the cap, as
  the reference code does (its factor: 2; default 1 here). The authors'
  code also leaves the finest band and the low-pass residual unamplified and uses
  ``lambda_c`` of 16 px or more; that makes the measured magnification of a real
  texture fall to about 0.65 alpha, so our defaults amplify every level under the cap
  with ``lambda_c = 8`` px (about 0.9-0.95 alpha where ``alpha delta <= 1`` px;
  measured in tests/test_linear.py). The reference code's behaviour is one option set
  away: ``amplify_finest=False, amplify_residual=False, lambda_c_px=16``.
- Colour (method ``color``): a coarse Gaussian pyramid level (default 4) of the YIQ
  frame is selected, amplified by ``alpha - 1`` and up-sampled back onto the frame, to
  reveal colour changes such as a pulse (Wu et al. Sec. 4). No chrominance
  attenuation by default: the colour is the signal.

Both are linear in the pixel values, so (identical results, less work) the pyramid is
built on RGB, the gain is applied before selection, only levels with a non-zero gain
are filtered, and the YIQ chrominance attenuation is one 3x3 RGB matrix
(``YIQ->RGB . diag(1, c, c) . RGB->YIQ``) applied once to the collapsed change: the
decoded frame is the input plus that change.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..errors import UsageError
from ..representations.color import apply_color_matrix, chroma_scaling_matrix
from ..representations.pyramid import (
    gaussian_pyramid,
    laplacian_pyramid,
    max_levels,
    pyr_up,
    upsample_to,
)
from ..temporal import Rep
from .base import EulerianMethod
from .config import check_alpha, check_option_at_most, check_positive_options, pyramid_levels


@dataclass
class LinearConfig:
    """Options of the ``linear`` method (Wu et al. 2012, motion)."""

    levels: int | None = None  # band levels; default: down to a residual of 8-15 px
    lambda_c_px: float = 8.0  # spatial cut-off wavelength in px (Eq. 14)
    chrom_attenuation: float = 0.1  # gain factor on I and Q (when alpha > 1)
    amplify_finest: bool = True  # reference code: False (the finest band is left alone)
    amplify_residual: bool = True  # reference code: False (nor is the low-pass residual)
    exaggeration: float = 1.0  # factor on capped levels' gain (reference code: 2)

    def __post_init__(self) -> None:
        check_positive_options("linear", levels=self.levels, lambda_c_px=self.lambda_c_px)


#: the ``color`` method's default pyramid level (Wu et al.'s code uses 4-6)
DEFAULT_COLOR_LEVEL = 4


@dataclass
class ColorConfig:
    """Options of the ``color`` method (Wu et al. 2012, colour amplification)."""

    level: int | None = None  # Gaussian pyramid level amplified (None: 4, or the deepest)
    chrom_attenuation: float = 1.0


def level_gains(alpha: float, levels: int, config: LinearConfig) -> list[float]:
    """Added gain per pyramid level, finest first, residual last (``levels + 1`` values)."""
    gains = []
    for k in range(levels + 1):
        if k == levels:  # the low-pass residual: all long wavelengths, never capped
            gains.append(alpha - 1.0 if config.amplify_residual else 0.0)
            continue
        if k == 0 and not config.amplify_finest:
            gains.append(0.0)
            continue
        if alpha <= 1.0:  # attenuation never aliases: every level gets the same factor
            gains.append(alpha - 1.0)
            continue
        wavelength_px = 2.0 ** (k + 2)
        # exaggerated first, then capped (the reference code's order): never above alpha - 1
        capped = (alpha * wavelength_px / config.lambda_c_px - 1.0) * config.exaggeration
        gains.append(min(alpha - 1.0, max(0.0, capped)))
    return gains


def _add_change(frame: torch.Tensor, change: torch.Tensor, chrom_attenuation: float):
    """``frame + change`` with I and Q of the change scaled by ``chrom_attenuation``."""
    if chrom_attenuation != 1.0:
        change = apply_color_matrix(chroma_scaling_matrix(chrom_attenuation), change)
    return frame + change


class LinearEulerian(EulerianMethod):
    """Wu et al. 2012 motion magnification on a YIQ Laplacian pyramid."""

    def __init__(self, alpha: float, config: LinearConfig | None = None) -> None:
        self.alpha = check_alpha(alpha)
        self.config = config or LinearConfig()
        self._plan: tuple[int, list[float]] | None = None

    def _plan_for(self, height: int, width: int) -> tuple[int, list[float]]:
        if self._plan is None:
            levels = pyramid_levels("linear", self.config.levels, height, width)
            self._plan = (levels, level_gains(self.alpha, levels, self.config))
        return self._plan

    def prepare(self, height: int, width: int) -> None:
        """Plan the pyramid for frames of this size (px): a ``levels`` deeper than the
        frame is refused here, before any frame."""
        self._plan_for(height, width)

    def encode(self, frame: torch.Tensor) -> tuple[torch.Tensor, Rep]:
        levels, gains = self._plan_for(*frame.shape[-2:])
        pyramid = laplacian_pyramid(frame, levels)
        # the bands are fresh tensors, scaled in place; a 0-level pyramid is the frame itself
        rep = [
            band * gain if band is frame else band.mul_(gain)
            for band, gain in zip(pyramid, gains, strict=True)
            if gain
        ]
        return frame, rep

    def decode(self, kept: torch.Tensor, selected: Rep) -> torch.Tensor:
        levels, gains = self._plan_for(*kept.shape[-2:])
        chosen = iter(selected)
        bands = [next(chosen) if gain else None for gain in gains]
        sizes = [tuple(kept.shape[-2:])]
        for _ in range(levels):
            sizes.append(((sizes[-1][0] + 1) // 2, (sizes[-1][1] + 1) // 2))
        # collapse coarse to fine; levels without gain contribute zeros
        change: torch.Tensor | None = None
        for k in range(levels, -1, -1):
            if change is not None:
                change = pyr_up(change, sizes[k])
            band = bands[k]
            if band is not None:
                change = band if change is None else change + band
        if change is None:
            return kept
        chroma = self.config.chrom_attenuation if self.alpha > 1.0 else 1.0
        return _add_change(kept, change, chroma)


class ColorEulerian(EulerianMethod):
    """Wu et al. 2012 colour amplification on one coarse Gaussian pyramid level.

    The output is dithered to 8 bits (``dithers_output``; ours): a pulse changes the skin
    by about a tenth of a level, so ``alpha - 1`` times it is still below half a level at
    alpha 3-10, and rounding an 8-bit input plus that change puts every pixel back on its
    input value (measured gain 1.00 at alpha 3 and 10 on the physio suite's still face).
    Dithering rounds it without bias: the mean colour changes by the amplified pulse.
    """

    dithers_output = True

    def __init__(self, alpha: float, config: ColorConfig | None = None) -> None:
        self.alpha = check_alpha(alpha)
        self.config = config or ColorConfig()
        if self.config.level is not None and self.config.level < 0:
            raise UsageError(f"colour level {self.config.level} must be >= 0.")

    def level_for(self, height: int, width: int) -> int:
        """The level amplified on frames of this size (px): :data:`DEFAULT_COLOR_LEVEL`, or
        the deepest the frame halves to when it is smaller; a ``level`` given deeper than
        that is refused, as ``linear``'s ``levels`` is (it was clamped, silently)."""
        top = max_levels(height, width, smallest_px=1)
        if self.config.level is None:
            return min(DEFAULT_COLOR_LEVEL, top)
        check_option_at_most(
            "color", "level", self.config.level, top, f"on {width}x{height} frames"
        )
        return self.config.level

    def prepare(self, height: int, width: int) -> None:
        self.level_for(height, width)

    def encode(self, frame: torch.Tensor) -> tuple[torch.Tensor, Rep]:
        coarse = gaussian_pyramid(frame, self.level_for(*frame.shape[-2:]))[-1]
        return frame, [coarse * (self.alpha - 1.0)]

    def decode(self, kept: torch.Tensor, selected: Rep) -> torch.Tensor:
        sizes = [tuple(kept.shape[-2:])]
        while sizes[-1] != tuple(selected[0].shape[-2:]):
            sizes.append(((sizes[-1][0] + 1) // 2, (sizes[-1][1] + 1) // 2))
        change = upsample_to(selected[0], sizes[-2::-1])
        return _add_change(kept, change, self.config.chrom_attenuation)
