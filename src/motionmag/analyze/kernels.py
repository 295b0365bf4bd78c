"""Linear approximation of a learned encoder's kernels (Oh et al. 2018 Sec. 4.3, Fig. 9).

What matters: the encoder is non-linear, but around real images each output channel
behaves like a linear filter. Oh et al. "pass several test images through the encoder,
and calculate the average impulse responses across the images". We take the impulse
response at a point as the local Jacobian ``dS_c(p) / dx`` (the limit of a small impulse;
exact for a linear encoder), computed with one backward pass per channel over output
positions spaced wider than the receptive field, and average it over positions and
images. The approximation error of a channel is the fraction of its response variance
the averaged kernel does not explain: ``var(S_c - K_c . patch - b_c) / var(S_c)`` over the
same positions (our choice of measure; the paper ranks by "approximation error" without
defining it). Kernels are shown for luma (the sum over the RGB planes).

Orientation: the Jacobian is the template the channel multiplies the patch with, as a
PyTorch convolution's weight is (``response = sum(K * patch)``); the response to a
single bright pixel, drawn around that pixel, is the same kernel turned 180 degrees. We
keep and draw the template (an edge detector's positive side is the side of the image
that raises the response), and the picture says so.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class KernelApproximation:
    """Averaged linear kernels of one encoder branch.

    Attributes:
        kernels: (C, 3, k, k) float: the mean Jacobian of channel c per RGB plane, in
            output units per unit of input ([0, 1] image scale).
        error: (C,) fraction of each channel's response variance the kernel misses.
        stride: input pixels per output pixel of the branch.
    """

    kernels: np.ndarray
    error: np.ndarray
    stride: int

    def order(self) -> np.ndarray:
        """Channel indices sorted by approximation error, best first."""
        return np.argsort(self.error, kind="stable")


def _positions(size_px: int, stride: int, spacing_px: int, margin_px: int) -> list[int]:
    """Output-grid coordinates whose input centres are ``spacing_px`` apart, inside margins."""
    first = int(np.ceil(margin_px / stride))
    last = (size_px - margin_px) // stride
    step = max(1, int(np.ceil(spacing_px / stride)))
    return list(range(first, last, step))


#: px between probed positions (wider than the texture branch's receptive field, 75 px)
SPACING_PX = 96
#: side of the probe images: 512 px gives 25 positions an image where 256 gave 4, and
#: the texture kernels of two probe seeds then agree (median correlation 0.92 against
#: 0.36 with 6 images of 256 px; the shape kernels agree either way, 0.99)
PROBE_PX = 512


def default_kernel_px(model, branch: str) -> int:
    """The kernel crop a branch is drawn in: 15 px for the shape branch (0.99 of its
    kernels' mass lies inside), the whole receptive field (2 r + 1, 75 px for Oh's net)
    for the texture branch, whose kernels spread: a 15 px crop held half their mass."""
    from ..nets.oh2018 import conv_radius_px

    if branch == "shape":
        return 15
    return 2 * conv_radius_px([model.encoder, model.texture_branch]) + 1


def approximate_kernels(
    branch: Callable[[torch.Tensor], torch.Tensor],
    images: torch.Tensor,
    stride: int,
    kernel_px: int = 15,
    spacing_px: int = SPACING_PX,
    progress: bool = False,
) -> KernelApproximation:
    """Average impulse responses of ``branch`` around ``images`` (Oh et al. Sec. 4.3).

    Args:
        branch: maps images (N, 3, H, W) in [0, 1] to features (N, C, H/stride, W/stride).
        images: the test images (N, 3, H, W) in [0, 1].
        stride: the branch's down-sampling factor (2 for Oh's shape branch, 4 for texture).
        kernel_px: side of the kernel crop (odd), centred on the output position's input
            location ``stride * p`` (convolutions padded to keep the size, as Oh's).
        spacing_px: distance between probed positions in input px; must exceed the
            receptive field so the responses of neighbouring positions do not overlap.
        progress: show a progress bar over the images (one backward pass per channel
            each).
    """
    if kernel_px % 2 == 0:
        raise ValueError(f"kernel_px must be odd, not {kernel_px}")
    height, width = images.shape[-2:]
    half = kernel_px // 2
    margin = max(half, spacing_px // 2)
    rows = _positions(height, stride, spacing_px, margin)
    cols = _positions(width, stride, spacing_px, margin)
    if not rows or not cols:
        raise ValueError(f"images of {height}x{width} px are too small for spacing {spacing_px}")
    grid = [(r, c) for r in rows for c in cols]
    centres = [(stride * r, stride * c) for r, c in grid]  # "same"-padded strided convs

    def crops_of(image: torch.Tensor) -> torch.Tensor:  # (1, 3, H, W) -> (P, 3, k, k)
        return torch.stack(
            [image[0, :, y - half : y + half + 1, z - half : z + half + 1] for y, z in centres]
        )

    from tqdm import tqdm

    # one image's graph at a time (memory: about 0.5 GB per 512 px image for Oh's net)
    kernel_sums, responses, patches = None, [], []
    with tqdm(total=len(images), desc="kernels", unit="image", disable=not progress) as bar:
        for image in images.detach().split(1):
            image = image.clone().requires_grad_(True)
            features = branch(image)
            channels = features.shape[1]
            if kernel_sums is None:
                kernel_sums = torch.zeros(channels, 3, kernel_px, kernel_px, dtype=torch.float64)
            response = torch.stack([features[0, :, r, q] for r, q in grid], dim=1)  # (C, P)
            for c in range(channels):
                (grad,) = torch.autograd.grad(
                    response[c].sum(), image, retain_graph=c + 1 < channels
                )
                kernel_sums[c] += crops_of(grad).sum(dim=0).double()
            responses.append(response.detach().double())
            patches.append(crops_of(image.detach()).double())
            bar.update(1)
    assert kernel_sums is not None
    kernel = kernel_sums / (len(images) * len(grid))  # the mean over images and positions
    actual = torch.cat(responses, dim=1)  # (C, N P)
    predicted = torch.einsum("pjyx,cjyx->cp", torch.cat(patches), kernel)
    variance = actual.var(dim=1)
    residual = (actual - predicted).var(dim=1)
    error = torch.where(variance > 0, residual / variance, torch.full_like(variance, math.nan))
    kernels, error = kernel.numpy(), error.numpy()
    return KernelApproximation(kernels=kernels, error=error, stride=stride)


def probe_images(count: int = 6, size_px: int = PROBE_PX, seed: int = 0) -> torch.Tensor:
    """Random crops of the bundled photographs, (count, 3, size, size) in [0, 1]. Photo
    ``i % len(pool)`` gives crop ``i``, so beyond the 13 bundled photos the crops come
    from photos already used (different crops where a photo is larger than ``size_px``;
    the same where it is exactly that size)."""
    import cv2

    from ..synth.photos import PhotoPool

    pool = PhotoPool()
    rng = np.random.default_rng(seed)
    crops = []
    for i in range(count):
        photo = pool.get(i % len(pool))
        scale = size_px / min(photo.shape[:2])
        if scale > 1:
            photo = cv2.resize(photo, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
        y = int(rng.integers(0, photo.shape[0] - size_px + 1))
        x = int(rng.integers(0, photo.shape[1] - size_px + 1))
        crops.append(photo[y : y + size_px, x : x + size_px] / 255.0)
    array = np.stack(crops).transpose(0, 3, 1, 2).astype(np.float32)
    return torch.from_numpy(np.clip(array, 0.0, 1.0))


def oh2018_branches(model) -> dict[str, tuple[Callable, int]]:
    """The shape (stride 2) and texture (stride 4) branches of an Oh2018Net."""
    return {
        "shape": (lambda x: model.encode(x)[1], 2),
        "texture": (lambda x: model.encode(x)[0], 4),
    }


def plot_kernels(
    approximation: KernelApproximation,
    path: str | os.PathLike,
    title: str,
    top: int = 8,
) -> None:
    """All kernels (luma) sorted by approximation error; the best ``top`` framed in red."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    order = approximation.order()
    luma = approximation.kernels.sum(axis=1)
    columns = 8
    rows = int(np.ceil(len(order) / columns))
    figure, axes = plt.subplots(rows, columns, figsize=(1.5 * columns, 1.8 * rows + 0.6))
    for axis in np.ravel(axes):
        axis.axis("off")
    for rank, (axis, c) in enumerate(zip(np.ravel(axes), order, strict=False)):
        kernel = luma[c]
        limit = float(np.abs(kernel).max()) or 1.0
        axis.imshow(kernel, cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest")
        axis.set_title(f"ch {c}  err {approximation.error[c]:.2f}\n|k| max {limit:.2g}", fontsize=7)
        if rank < top:
            axis.axis("on")
            axis.set_xticks([])
            axis.set_yticks([])
            for spine in axis.spines.values():
                spine.set_edgecolor("red")
                spine.set_linewidth(2)
    figure.suptitle(title, fontsize=9)
    figure.text(
        0.5,
        0.005,
        "each panel: the template the channel multiplies the image patch with (as a conv "
        "weight; a single pixel's response is it turned 180 degrees), blue < 0 < red, scaled "
        "to its own largest |value| (|k| max: output change per unit of input, images in "
        "[0, 1]); err = share of the channel's response variance the kernel does not explain "
        "(0: exactly linear; above 1: worse than a constant)",
        ha="center",
        va="bottom",
        fontsize=7,
        wrap=True,
    )
    figure.tight_layout(rect=(0, 0.03, 1, 1))
    figure.savefig(path, dpi=120)
    plt.close(figure)
