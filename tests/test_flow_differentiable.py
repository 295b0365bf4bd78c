"""The differentiable flow estimator and its warp against known motion (flow/)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.ndimage import map_coordinates

from motionmag.flow.differentiable import DifferentiableFlow, FlowConfig, flow_torch
from motionmag.flow.opencv import flow_dis
from motionmag.flow.warp import backward_warp, in_frame_mask
from motionmag.synth.textures import load_texture
from motionmag.synth.vibration import quantize, smooth_texture, subpixel_shift


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module", params=["astronaut", "camera"])
def texture(request) -> np.ndarray:
    """A real photo (H, W, 3) float in [0, 255], lightly blurred (band-limited)."""
    return smooth_texture(load_texture(request.param), (96, 128), sigma_px=1.0)


def _nchw(frame: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(frame)).permute(2, 0, 1)[None].float() / 255


# --- backward_warp -------------------------------------------------------------------


def test_backward_warp_of_an_integer_shift_is_exact():
    image = torch.rand(2, 3, 20, 24, dtype=torch.float64)
    flow = torch.zeros(2, 2, 20, 24, dtype=torch.float64)
    flow[:, 0], flow[:, 1] = 3.0, -2.0  # out(x, y) = image(x + 3, y - 2)
    out = backward_warp(image, flow)
    torch.testing.assert_close(out[..., 2:, :-3], image[..., :-2, 3:], rtol=0, atol=1e-12)
    # outside the frame: the nearest edge value (border padding), flagged by the mask
    torch.testing.assert_close(out[..., 2:, -1], image[..., :-2, -1], rtol=0, atol=1e-12)
    mask = in_frame_mask(flow)
    assert mask.shape == (2, 1, 20, 24)
    assert mask[:, :, 2:, :-3].eq(1).all() and mask[:, :, :2].eq(0).all()
    assert mask[:, :, :, -3:].eq(0).all()


def test_backward_warp_of_a_subpixel_shift_matches_the_fourier_shift(texture):
    # b(x) = a(x - d) (exact Fourier shift), so warping b by the flow d gives back a
    d = (0.3, -0.45)
    smooth = smooth_texture(texture, (96, 128), sigma_px=2.5)[..., 0]  # bilinear's band
    a = torch.from_numpy(smooth)[None, None]
    b = torch.from_numpy(subpixel_shift(smooth, *d))[None, None]
    flow = torch.tensor(d, dtype=torch.float64).view(1, 2, 1, 1).expand(1, 2, 96, 128)
    inner = (..., slice(8, -8), slice(8, -8))
    unwarped = (b - a)[inner].abs().mean().item()
    bilinear = (backward_warp(b, flow) - a)[inner].abs().mean().item()
    bicubic = (backward_warp(b, flow, mode="bicubic") - a)[inner].abs().mean().item()
    # measured: unwarped 1.5-3.1 grey levels, bilinear 11 % of it, bicubic 8 %
    assert bilinear < 0.15 * unwarped and bicubic < bilinear
    # the shift the other way round makes it worse, not better (the sign is right)
    wrong = (backward_warp(b, -flow) - a)[inner].abs().mean().item()
    assert wrong > 1.5 * unwarped


def test_backward_warp_equals_a_reference_bilinear_lookup():
    # a non-uniform flow, checked pixel by pixel against scipy's order-1 interpolation
    rng = np.random.default_rng(3)
    image = rng.random((15, 21))
    flow = rng.uniform(-2.5, 2.5, (2, 15, 21))
    ys, xs = np.mgrid[0:15, 0:21].astype(np.float64)
    coords = np.stack([np.clip(ys + flow[1], 0, 14), np.clip(xs + flow[0], 0, 20)])
    expected = map_coordinates(image, coords, order=1)  # clip = border padding
    out = backward_warp(torch.from_numpy(image)[None, None], torch.from_numpy(flow)[None])
    np.testing.assert_allclose(out[0, 0].numpy(), expected, rtol=0, atol=1e-10)


def test_backward_warp_rejects_bad_shapes():
    image = torch.rand(1, 3, 8, 8)
    with pytest.raises(ValueError, match=r"\(N, 2, H, W\)"):
        backward_warp(image, torch.zeros(1, 3, 8, 8))
    with pytest.raises(ValueError, match="differ in N, H or W"):
        backward_warp(image, torch.zeros(1, 2, 8, 9))
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        backward_warp(image[0], torch.zeros(1, 2, 8, 8))
    with pytest.raises(ValueError, match="floating-point"):
        backward_warp(image.to(torch.uint8), torch.zeros(1, 2, 8, 8))


# --- the estimator ---------------------------------------------------------------------


def _flow_error(texture: np.ndarray, d: tuple[float, float]) -> tuple[np.ndarray, float]:
    """Mean flow and mean end-point error (px) inside the frame, minus a margin."""
    a, b = quantize(texture), quantize(subpixel_shift(texture, *d))
    field = flow_torch(a, b)
    assert field.shape == (96, 128, 2) and field.dtype == np.float32
    margin = int(np.ceil(max(abs(d[0]), abs(d[1])))) + 8
    inner = field[margin:-margin, margin:-margin]
    epe = np.hypot(inner[..., 0] - d[0], inner[..., 1] - d[1])
    return inner.reshape(-1, 2).mean(axis=0), float(epe.mean())


@pytest.mark.parametrize("d", [(0.3, 0.0), (-0.2, 0.35)])
def test_recovers_a_known_subpixel_shift(texture, d):
    mean, epe = _flow_error(texture, d)
    # measured: mean within 0.01 px, EPE 0.02-0.04 px (DIS 0.02-0.28 px on the same pairs)
    np.testing.assert_allclose(mean, d, atol=0.02)
    assert epe < 0.06


@pytest.mark.parametrize("d", [(17.3, -6.6), (-12.4, 19.7)])
def test_recovers_a_large_shift(texture, d):
    # non-integer, so the bilinear warp is not trivially exact; needs the whole pyramid
    mean, epe = _flow_error(texture, d)
    np.testing.assert_allclose(mean, d, atol=0.1)
    assert epe < 0.25


def test_sign_convention_matches_opencv(texture):
    # a(x) ~ b(x + flow(x)): content moved right and up gives flow (+dx, -dy), as DIS says
    a, b = quantize(texture), quantize(subpixel_shift(texture, 1.5, -0.8))
    ours = flow_torch(a, b)[12:-12, 12:-12].reshape(-1, 2).mean(axis=0)
    dis = flow_dis(a, b)[12:-12, 12:-12].reshape(-1, 2).mean(axis=0)
    np.testing.assert_allclose(ours, (1.5, -0.8), atol=0.05)
    np.testing.assert_allclose(ours, dis, atol=0.2)  # DIS: 1.37-1.5 px on these


def test_odd_sizes_and_grey_input():
    texture = smooth_texture(load_texture("camera"), (77, 101), sigma_px=1.0)[..., 0]
    d = (4.6, -2.3)
    a, b = quantize(texture), quantize(subpixel_shift(texture, *d))
    field = flow_torch(a, b)
    assert field.shape == (77, 101, 2)
    inner = field[14:-14, 14:-14].reshape(-1, 2)
    np.testing.assert_allclose(np.median(inner, axis=0), d, atol=0.05)


def test_gradients_reach_both_images():
    texture = smooth_texture(load_texture("astronaut"), (48, 64), sigma_px=1.0)
    a = _nchw(quantize(texture)).requires_grad_(True)
    b = _nchw(quantize(subpixel_shift(texture, 2.3, -1.1))).requires_grad_(True)
    model = DifferentiableFlow(levels=3, warps=2, finest_warps=2)
    flow = model(a, b)
    assert flow.requires_grad
    # a loss that depends on the flow's x component only
    flow[:, 0, 8:-8, 8:-8].mean().backward()
    for image in (a, b):
        assert image.grad is not None and torch.isfinite(image.grad).all()
        assert image.grad.abs().sum() > 0
    # and the gradient is right: a finite difference along it (float64, smooth)
    a64, b64 = a.detach().double(), b.detach().double()
    direction = torch.randn_like(b64, generator=torch.Generator().manual_seed(0))
    b_var = b64.clone().requires_grad_(True)
    loss = model(a64, b_var)[:, 0, 8:-8, 8:-8].mean()
    (grad,) = torch.autograd.grad(loss, b_var)
    eps = 1e-4
    plus = model(a64, b64 + eps * direction)[:, 0, 8:-8, 8:-8].mean()
    minus = model(a64, b64 - eps * direction)[:, 0, 8:-8, 8:-8].mean()
    numeric = (plus - minus).item() / (2 * eps)
    analytic = (grad * direction).sum().item()
    assert analytic == pytest.approx(numeric, rel=1e-3, abs=1e-8)


def test_argument_errors():
    a = torch.rand(1, 3, 32, 32)
    model = DifferentiableFlow()
    with pytest.raises(ValueError, match="differ in shape"):
        model(a, torch.rand(1, 3, 32, 33))
    with pytest.raises(ValueError, match=r"\(N, 3\|1, H, W\)"):
        model(torch.rand(1, 2, 32, 32), torch.rand(1, 2, 32, 32))
    with pytest.raises(ValueError, match="float tensor"):
        model((a * 255).to(torch.uint8), (a * 255).to(torch.uint8))
    with pytest.raises(ValueError, match="uint8"):
        flow_torch(np.zeros((8, 8, 3)), np.zeros((8, 8, 3)))
    with pytest.raises(ValueError, match="unknown FlowConfig field"):
        DifferentiableFlow(window=3)
    with pytest.raises(ValueError, match="interpolation"):
        FlowConfig(interpolation="nearest")
    with pytest.raises(ValueError, match="tikhonov"):
        FlowConfig(tikhonov=0.0)
    with pytest.raises(ValueError, match="at least 1"):
        DifferentiableFlow(levels=0)
