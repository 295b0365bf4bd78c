"""A differentiable optical-flow estimator with no weights: pyramidal dense Lucas-Kanade.

What matters:

- **Why it exists**: FlowMag (Pan et al. 2023, Eqs. 3-4) trains its generator through a
  frozen, differentiable flow network ``F`` (RAFT or ARFlow). No weights can be
  downloaded here, so ``F`` is a classical estimator unrolled in torch: every step is a
  convolution, a bilinear ``grid_sample`` or a closed-form 2x2 solve, so gradients reach
  both input images (and through the warps, the flow itself). It has no parameters.
- **Same convention as** ``flow/opencv.py``: ``flow = DifferentiableFlow()(a, b)`` is
  (N, 2, H, W) in px with ``a(x) ~ b(x + flow(x))`` (a texture moved right by 0.5 px
  from ``a`` to ``b`` gives ``flow ~ (+0.5, 0)``), FlowMag's ``F(I_0, I_t)`` direction.
- **Algorithm**: Lucas & Kanade (1981) made dense (a Gaussian-weighted window around
  every pixel) and coarse-to-fine with warping as in Bouguet's pyramidal LK (2000):
  a Gaussian pyramid of the luma (factor 2), the flow of a coarser level upsampled and
  doubled, then at every level ``warps`` Gauss-Newton steps: warp ``b`` back with the
  current flow, solve ``(J + lambda I) du = -sum w grad(I) (b_w - a)`` per pixel, add
  ``du``. Because ``b`` is re-warped before every step, the fixed point is where the
  warped ``b`` matches ``a``; the gradient operator and the Tikhonov term change how
  fast it gets there, not where it ends, which is what sub-pixel accuracy needs.
- **Limits**: one translation per window, so the flow is blurred across motion
  boundaries over about ``2 * window_sigma_px`` (this is the price of having no learned
  prior); large motions of small objects (an object smaller than the motion at the
  coarsest level where it is still visible) are lost, as in any pyramidal method.
  Measured (``benchmarks/README.md``): a global translation of a photo is recovered to
  0.02-0.04 px EPE from 0.3 to 27 px, but on Oh et al. scenes whose objects each move their own
  way its error is ~2x DIS's up to 2 px and fails (EPE of the order of the motion) from
  8 px, where the coarse levels average the layers together. Use
  OpenCV DIS / Farneback (``flow/opencv.py``) to *evaluate* magnification, never this
  estimator, when it was the training loss (METHODS.md sec. 3).

See ``benchmarks/flow_epe.py`` for its end-point error against OpenCV DIS and Farneback.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .warp import backward_warp, in_frame_mask

#: ITU-R BT.601 luma weights, the grey level OpenCV's RGB2GRAY (and so DIS) uses
LUMA_WEIGHTS = (0.299, 0.587, 0.114)

# Burt & Adelson style binomial filter of even length: blur + decimation by 2 with
# coarse pixel i centred at fine coordinate 2i + 0.5, the alignment of
# F.interpolate(align_corners=False) used to upsample the flow (our choice).
_DOWN_TAPS = (1.0, 3.0, 3.0, 1.0)

# Fourth-order central difference d/dx (Richardson): f'(x) ~ (f(x-2) - 8 f(x-1)
# + 8 f(x+1) - f(x+2)) / 12, as a cross-correlation kernel.
_DERIV_TAPS = (1.0 / 12.0, -8.0 / 12.0, 0.0, 8.0 / 12.0, -1.0 / 12.0)


@dataclass(frozen=True)
class FlowConfig:
    """Options of :class:`DifferentiableFlow`; invalid values raise ``ValueError``.

    Attributes:
        levels: most pyramid levels (1 = no pyramid); fewer are used when the coarsest
            side would drop below ``min_size_px``.
        min_size_px: smallest side of the coarsest level (px).
        warps: Gauss-Newton (warp + solve) steps per level.
        finest_warps: steps at the finest level (None: ``warps``); sub-pixel accuracy is
            set here.
        window_sigma_px: standard deviation of the Gaussian LK window (px of each level).
        presmooth_sigma_px: Gaussian blur of both images before the pyramid (px); blur
            commutes with translation, so it does not move the answer, and it keeps the
            content where bilinear interpolation is accurate.
        tikhonov: added to the diagonal of the 2x2 structure tensor, in (luma per px)^2
            with luma in [0, 1]: keeps flat, textureless windows stable (no update there).
        max_step_px: the per-step update is softly limited to this length (px, tanh), so
            a wrong linearisation cannot throw the flow off the image.
        flow_sigma_px: Gaussian smoothing of the flow after each level (px, 0 = none), a
            differentiable stand-in for the median filter of classical pipelines.
        interpolation: ``bilinear`` or ``bicubic`` warping.

    The reach is about 2 ** (levels used - 1) * ``max_step_px`` * ``warps`` px, and the
    levels used depend on the frame: 5 (about 96 px of reach) from 192 px on the short
    side, 4 at 96-191 px, 3 at 48-95 px (about 24 px). On the bundled photos at 256 px
    the error at 17-20 px is 0.02-0.04 px, but on fine random texture at 128 x 160 px a
    20 px shift is lost (EPE 17-25 px; 0.01-0.02 with ``warps=6`` or ``levels=6,
    min_size_px=4``) and at 64 px a 12-16 px one (EPE 2.6-14 px), so a 64 px training crop
    at alpha 16 sits at its edge (a review's measurements, 2026-12-04); the error on our
    test pairs is in ``benchmarks/README.md``.
    """

    levels: int = 5
    min_size_px: int = 12
    warps: int = 3
    finest_warps: int | None = 5
    window_sigma_px: float = 3.0
    presmooth_sigma_px: float = 0.7
    tikhonov: float = 1e-5
    max_step_px: float = 2.0
    flow_sigma_px: float = 0.0
    interpolation: str = "bilinear"

    def __post_init__(self) -> None:
        if self.levels < 1 or self.warps < 1 or self.min_size_px < 1:
            raise ValueError("levels, warps and min_size_px must be at least 1")
        if self.finest_warps is not None and self.finest_warps < 1:
            raise ValueError("finest_warps must be at least 1 (or None)")
        if not self.window_sigma_px > 0:
            raise ValueError(f"window_sigma_px must be > 0, not {self.window_sigma_px}")
        if not self.tikhonov > 0:  # keeps the 2x2 solve of a flat window finite
            raise ValueError(f"tikhonov must be > 0, not {self.tikhonov}")
        if self.presmooth_sigma_px < 0 or self.flow_sigma_px < 0 or self.max_step_px < 0:
            raise ValueError("presmooth_sigma_px, flow_sigma_px and max_step_px must be >= 0")
        if self.interpolation not in ("bilinear", "bicubic"):
            raise ValueError(
                f"unknown interpolation '{self.interpolation}': choose bilinear or bicubic"
            )

    def to_dict(self) -> dict:
        return asdict(self)


def _gaussian_taps(sigma_px: float) -> list[float]:
    radius = max(1, math.ceil(3.0 * sigma_px))
    taps = [math.exp(-0.5 * (i / sigma_px) ** 2) for i in range(-radius, radius + 1)]
    total = sum(taps)
    return [t / total for t in taps]


def _separable(
    x: torch.Tensor, taps: list[float] | tuple[float, ...], stride: int = 1, axes: str = "xy"
) -> torch.Tensor:
    """Depthwise separable correlation with ``taps`` along x and/or y (replicate padding).

    An even number of taps puts the output sample between two inputs (left-heavy pad).
    """
    channels = x.shape[1]
    kernel = torch.tensor(taps, dtype=x.dtype, device=x.device)
    k = len(taps)
    left, right = (k - 1) // 2, k // 2
    if "x" in axes:
        pad = (left, right, 0, 0) if stride == 1 else (k // 2 - 1, k // 2 - 1, 0, 0)
        weight = kernel.view(1, 1, 1, k).expand(channels, 1, 1, k)
        x = F.conv2d(F.pad(x, pad, mode="replicate"), weight, stride=(1, stride), groups=channels)
    if "y" in axes:
        pad = (0, 0, left, right) if stride == 1 else (0, 0, k // 2 - 1, k // 2 - 1)
        weight = kernel.view(1, 1, k, 1).expand(channels, 1, k, 1)
        x = F.conv2d(F.pad(x, pad, mode="replicate"), weight, stride=(stride, 1), groups=channels)
    return x


def _gaussian(x: torch.Tensor, sigma_px: float) -> torch.Tensor:
    if sigma_px <= 0:
        return x
    return _separable(x, _gaussian_taps(sigma_px))


def _downsample(x: torch.Tensor) -> torch.Tensor:
    """Blur with the binomial (1, 3, 3, 1)/8 and keep every second sample (factor 2).

    Odd sides are padded by one replicated row/column first, so the coarse side is
    ceil(side / 2) and pixel i of the coarse level is centred at 2i + 0.5 of the fine one.
    """
    height, width = x.shape[-2:]
    x = F.pad(x, (0, width % 2, 0, height % 2), mode="replicate")
    taps = [t / 8.0 for t in _DOWN_TAPS]
    return _separable(x, taps, stride=2)


def to_luma(images: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) RGB or (N, 1, H, W) grey in [0, 1] -> (N, 1, H, W) BT.601 luma."""
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"expected images of shape (N, 3|1, H, W), got {tuple(images.shape)}")
    if images.shape[1] == 1:
        return images
    weights = torch.tensor(LUMA_WEIGHTS, dtype=images.dtype, device=images.device)
    return (images * weights.view(1, 3, 1, 1)).sum(dim=1, keepdim=True)


def _upsample_flow(flow: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear upsampling of a coarse flow by 2 to ``size`` (H, W), in fine px.

    The inverse of :func:`_downsample`'s geometry: coarse pixel i sits at fine 2i + 0.5
    (``align_corners=False`` at an exact factor 2), and an odd fine side is the cropped
    even one, so the flow is doubled (not scaled by size ratios).
    """
    up = F.interpolate(flow, scale_factor=2.0, mode="bilinear", align_corners=False)
    return 2.0 * up[..., : size[0], : size[1]]


class DifferentiableFlow(torch.nn.Module):
    """Pyramidal dense Lucas-Kanade optical flow, unrolled in torch (no parameters).

    ``forward(a, b)`` -> (N, 2, H, W) flow in px, ``a(x) ~ b(x + flow(x))``, for float
    images (N, 3, H, W) RGB or (N, 1, H, W) grey in [0, 1]. Differentiable with respect
    to both ``a`` and ``b``. Lucas & Kanade 1981; pyramid and warping after Bouguet
    2000; symmetric (ESM, Benhimane & Malis 2004) gradient, see :meth:`_step`.

    Args:
        config: a :class:`FlowConfig`; keyword arguments override its fields.
    """

    def __init__(self, config: FlowConfig | None = None, **overrides: object) -> None:
        super().__init__()
        config = config or FlowConfig()
        if overrides:
            unknown = sorted(set(overrides) - set(config.to_dict()))
            if unknown:
                raise ValueError(f"unknown FlowConfig field(s): {', '.join(unknown)}")
            config = FlowConfig(**{**config.to_dict(), **overrides})  # type: ignore[arg-type]
        self.config = config

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.config.to_dict().items())

    def pyramid(self, image: torch.Tensor) -> list[torch.Tensor]:
        """Gaussian pyramid of a (N, 1, H, W) image, finest first (factor 2 per level)."""
        levels = [image]
        while len(levels) < self.config.levels:
            height, width = levels[-1].shape[-2:]
            if min(math.ceil(height / 2), math.ceil(width / 2)) < self.config.min_size_px:
                break
            levels.append(_downsample(levels[-1]))
        return levels

    def _step(
        self,
        a: torch.Tensor,
        grad_a: torch.Tensor,
        b: torch.Tensor,
        flow: torch.Tensor,
    ) -> torch.Tensor:
        """One Gauss-Newton step of dense LK at one level; returns the new flow.

        Linearising ``b(x + u + du) ~ b_w(x) + g . du`` with ``b_w = warp(b, u)`` and the
        symmetric gradient ``g = (grad a + grad b_w) / 2`` (ESM; our choice, it converges
        in fewer steps than either gradient alone) gives, per pixel, the normal equations
        of the Gaussian-weighted window: ``(sum w g g^T + lambda I) du = -sum w g (b_w - a)``.
        Pixels whose sample point left the frame get no weight.
        """
        cfg = self.config
        warped = backward_warp(b, flow, mode=cfg.interpolation)
        grad_b = self._gradient(warped)
        gx = 0.5 * (grad_a[:, :1] + grad_b[:, :1])
        gy = 0.5 * (grad_a[:, 1:] + grad_b[:, 1:])
        # each window's pixels were warped by their own flow u(y); the window's constant
        # flow u(x) must satisfy b_w(y) + g(y).(u(x) - u(y)) = a(y), so the data are
        # g(y).u(y) - (b_w(y) - a(y)) (see the docstring)
        target = gx * flow[:, :1] + gy * flow[:, 1:] - (warped - a)
        mask = in_frame_mask(flow)
        gxm, gym = gx * mask, gy * mask
        products = torch.cat([gxm * gx, gxm * gy, gym * gy, gxm * target, gym * target], dim=1)
        sums = _gaussian(products, cfg.window_sigma_px)
        lam = cfg.tikhonov
        jxx = sums[:, 0:1] + lam
        jxy = sums[:, 1:2]
        jyy = sums[:, 2:3] + lam
        # Tikhonov pulls towards the current flow (our choice): flat windows keep it
        bx = sums[:, 3:4] + lam * flow[:, :1]
        by = sums[:, 4:5] + lam * flow[:, 1:]
        det = jxx * jyy - jxy * jxy  # >= lam^2 > 0: J is positive semi-definite
        new_u = (jyy * bx - jxy * by) / det
        new_v = (jxx * by - jxy * bx) / det
        step = torch.cat([new_u, new_v], dim=1) - flow
        if cfg.max_step_px > 0:
            # soft limit of the step length (our choice): tanh keeps it differentiable
            length = torch.sqrt((step * step).sum(dim=1, keepdim=True) + 1e-12)
            limit = cfg.max_step_px * torch.tanh(length / cfg.max_step_px)
            step = step * (limit / length)
        return flow + step

    @staticmethod
    def _gradient(image: torch.Tensor) -> torch.Tensor:
        """(N, 1, H, W) -> (N, 2, H, W) spatial derivative (d/dx, d/dy) per px."""
        gx = _separable(image, _DERIV_TAPS, axes="x")
        gy = _separable(image, _DERIV_TAPS, axes="y")
        return torch.cat([gx, gy], dim=1)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Flow from ``a`` to ``b``: (N, 2, H, W) px, channel 0 = dx, 1 = dy.

        Args:
            a, b: (N, 3, H, W) RGB or (N, 1, H, W) grey float tensors in [0, 1], one size.
        """
        for name, image in (("a", a), ("b", b)):
            if not isinstance(image, torch.Tensor) or not image.is_floating_point():
                kind = image.dtype if isinstance(image, torch.Tensor) else type(image).__name__
                raise ValueError(f"image {name} must be a float tensor in [0, 1], got {kind}")
        if a.shape != b.shape:
            raise ValueError(f"images differ in shape: {tuple(a.shape)} vs {tuple(b.shape)}")
        if a.device != b.device or a.dtype != b.dtype:
            raise ValueError(
                f"images differ in device or dtype: {a.device}/{a.dtype} vs {b.device}/{b.dtype}"
            )
        cfg = self.config
        luma_a = _gaussian(to_luma(a), cfg.presmooth_sigma_px)
        luma_b = _gaussian(to_luma(b), cfg.presmooth_sigma_px)
        pyr_a, pyr_b = self.pyramid(luma_a), self.pyramid(luma_b)
        n = a.shape[0]
        flow = a.new_zeros((n, 2, *pyr_a[-1].shape[-2:]))
        for level in range(len(pyr_a) - 1, -1, -1):
            level_a, level_b = pyr_a[level], pyr_b[level]
            if flow.shape[-2:] != level_a.shape[-2:]:
                flow = _upsample_flow(flow, tuple(level_a.shape[-2:]))
            grad_a = self._gradient(level_a)
            steps = cfg.warps
            if level == 0 and cfg.finest_warps is not None:
                steps = cfg.finest_warps
            for _ in range(steps):
                flow = self._step(level_a, grad_a, level_b, flow)
            if cfg.flow_sigma_px > 0 and level > 0:
                flow = _gaussian(flow, cfg.flow_sigma_px)
        return flow


def flow_torch(a: np.ndarray, b: np.ndarray, model: DifferentiableFlow | None = None) -> np.ndarray:
    """:class:`DifferentiableFlow` on uint8 RGB (H, W, 3) or grey (H, W) frames.

    The numpy face of the estimator, like ``flow/opencv.py``'s ``flow_dis``: returns
    float32 (H, W, 2) px with ``a(x) ~ b(x + flow(x))``. Runs in float32 without gradients.
    """

    def tensor(frame: np.ndarray) -> torch.Tensor:
        frame = np.asarray(frame)
        if frame.dtype != np.uint8:
            raise ValueError(f"expected a uint8 frame, got {frame.dtype}")
        if frame.ndim == 2:
            frame = frame[..., None]
        return torch.from_numpy(np.ascontiguousarray(frame)).permute(2, 0, 1)[None].float() / 255

    model = model or DifferentiableFlow()
    with torch.no_grad():
        flow = model(tensor(a), tensor(b))
    return flow[0].permute(1, 2, 0).numpy().astype(np.float32)
