"""Known answers for the shipped weights of the learned Eulerian nets (oh2018, ha2024,
ha2024-fast).

A held-out real photo (scikit-image's ``clock``: not in the training photo pool of
``synth/photos.py``) translated by a 0.3 px sinusoid; the true magnified clip is the
same photo translated by alpha x that sinusoid (exact Fourier shifts, 8-bit quantised).
Each model's tests are skipped, saying so, where its weights are not installed.

Two tiers:

- default run: what any usable weights must do: alpha 1 gives the input back (SSIM >=
  0.9) and static mode at alpha 10 magnifies the motion, in its direction, by more
  than half and less than 1.5 x alpha;
- ``-m slow``: the issues' quality goals (Oh 2018 and Ha 2024 issues, "How it is
  checked"): static gain 8.5-11.5, temporal gain 7-13 and a closer match to the true
  magnified clip than the input and than the issue's reference (oh2018: the
  phase-based method; ha2024 and ha2024-fast: within 0.01 of oh2018). These fail until
  training reaches them; the README's "Training" section says where the shipped weights stand.
"""

from __future__ import annotations

import numpy as np
import pytest

from motionmag import magnify_frames
from motionmag.eval.displacement import measure_shift
from motionmag.eval.metrics import ssim
from motionmag.models.registry import has_weights
from motionmag.synth.vibration import quantize, subpixel_shift

MODELS = [
    pytest.param(
        name,
        marks=pytest.mark.skipif(
            not has_weights(name), reason=f"no {name} weights installed in this checkout"
        ),
    )
    for name in ("oh2018", "ha2024", "ha2024-fast")
]

FPS, HZ, AMPLITUDE_PX, ALPHA, FRAMES = 30.0, 2.0, 0.3, 10.0, 45


def _photo() -> np.ndarray:
    from skimage import data

    grey = data.clock()[60:220, 80:320].astype(np.float64)  # 160 x 240, real texture
    return np.repeat(grey[..., None], 3, axis=2)


def _input_shifts(amplitude_px: float = AMPLITUDE_PX) -> np.ndarray:
    """The true horizontal shift of each frame, px."""
    return amplitude_px * np.sin(2 * np.pi * HZ * np.arange(FRAMES) / FPS)


def _clip(
    amplitude_px: float, noise_grey: float = 0.0, seed: int = 0, photo: np.ndarray | None = None
) -> np.ndarray:
    """``photo`` (default: the tests' ``_photo()``) shifted by ``_input_shifts(amplitude_px)``,
    8-bit; ``noise_grey`` adds Gaussian noise of that standard deviation (grey levels)
    before the rounding."""
    photo = _photo() if photo is None else photo
    rng = np.random.default_rng(seed)
    frames = []
    for shift in _input_shifts(amplitude_px):
        frame = subpixel_shift(photo, float(shift), 0.0)
        if noise_grey:
            frame = frame + rng.normal(0.0, noise_grey, frame.shape)
        frames.append(quantize(frame))
    return np.stack(frames)


def _gain(output: np.ndarray, frames: slice, amplitude_px: float = AMPLITUDE_PX) -> float:
    """Least-squares slope of the output's measured shift against the input's."""
    measured = np.array([measure_shift(output[0], frame)[0] for frame in output[frames]])
    shifts = _input_shifts(amplitude_px)
    truth = shifts[frames] - shifts[0]
    return float(np.dot(measured, truth) / np.dot(truth, truth))


def _static(model: str, alpha: float = ALPHA, frames: int = FRAMES) -> np.ndarray:
    return magnify_frames(_clip(AMPLITUDE_PX)[:frames], fps=FPS, method=model, alpha=alpha,
                          mode="static")  # fmt: skip


def test_rounding_hides_a_tenth_of_a_pixel_and_camera_noise_dithers_it_back():
    """Why the known answer's amplitude matters (benchmarks/known_answer_amplitudes.py):
    rounded to 8 bits without noise, a 0.1 px motion of the photo is mostly gone before
    any method sees it; 1 grey level of noise before the rounding keeps it on average."""
    rounded = _gain(_clip(0.1), slice(1, None), 0.1)
    noisy = _gain(_clip(0.1, noise_grey=1.0), slice(1, None), 0.1)
    assert rounded < 0.5, rounded
    assert abs(noisy - 1.0) < 0.1, noisy


@pytest.mark.parametrize("model", MODELS)
def test_alpha_one_gives_the_input_back(model):
    """Exactly: the encoder/decoder round trip moved pixels by up to 21 levels (SSIM was
    all this test asked for)."""
    clip = _clip(AMPLITUDE_PX)[:3]
    out = _static(model, alpha=1.0, frames=3)
    np.testing.assert_array_equal(out, clip)


@pytest.mark.parametrize("model", MODELS)
def test_static_mode_magnifies_in_the_direction_of_the_motion(model):
    """The shipped weights measure x8.73-8.85 here (2026-12-04): a regression guard of
    x8-12 in the default run (it accepted 5-15), the goal's 8.5-11.5 under ``-m slow``."""
    gain = _gain(_static(model), slice(1, None))
    assert 0.8 * ALPHA < gain < 1.2 * ALPHA, gain


@pytest.mark.parametrize("model", MODELS)
def test_alpha_below_one_interpolates_and_attenuates(model):
    """alpha in (0, 1) puts each frame between the reference and itself (the Oh 2018
    issue: "alpha in (0, 1) interpolates, alpha < 1 attenuates"); alpha 0 stills the
    motion. A 1 px motion, so that half of it is well above the 8-bit rounding."""
    clip = _clip(1.0)[:9]
    for alpha, low, high in ((0.5, 0.4, 0.6), (0.0, -0.1, 0.1)):
        out = magnify_frames(clip, fps=FPS, method=model, alpha=alpha, mode="static")
        gain = _gain(out, slice(1, 9), amplitude_px=1.0)
        assert low < gain < high, (alpha, gain)


@pytest.mark.slow
@pytest.mark.parametrize("model", MODELS)
def test_goal_static_mode_magnifies_a_held_out_photo_by_alpha(model):
    assert 8.5 <= _gain(_static(model), slice(1, None)) <= 11.5


@pytest.mark.slow
@pytest.mark.parametrize("model", MODELS)
def test_goal_temporal_mode_with_a_band_around_the_motion(model):
    out = magnify_frames(_clip(AMPLITUDE_PX), fps=FPS, method=model, alpha=ALPHA,
                         mode="temporal", band=(1.0, 3.0))  # fmt: skip
    assert 7.0 <= _gain(out, slice(15, None)) <= 13.0  # after the filter has settled


def _ssim_to_truth(video: np.ndarray, truth: np.ndarray) -> float:
    """Mean SSIM of every 4th frame (from frame 1) against the true magnified clip."""
    return float(np.mean([ssim(video[i], truth[i]) for i in range(1, FRAMES, 4)]))


@pytest.mark.slow
@pytest.mark.parametrize("model", MODELS)
def test_goal_static_output_is_closer_to_the_truth_than_the_input_and_its_reference(model):
    """Each model against its own issue's goal. Oh 2018: closer to the true clip than the
    phase-based method's output. Ha 2024 (both nets): "SSIM within 0.01 of oh2018", the
    Ha issue's quality goal, here on this known answer. Both: closer than the input."""
    clip = _clip(AMPLITUDE_PX)
    truth = _clip(ALPHA * AMPLITUDE_PX)
    reference = "phase" if model == "oh2018" else "oh2018"
    if reference != "phase" and not has_weights(reference):
        pytest.skip(f"no {reference} weights installed in this checkout")
    ours = _ssim_to_truth(_static(model), truth)
    theirs = _ssim_to_truth(
        magnify_frames(clip, fps=FPS, method=reference, alpha=ALPHA, mode="static"), truth
    )
    assert ours > _ssim_to_truth(clip, truth), ours
    if reference == "phase":
        assert ours > theirs, (ours, theirs)
    else:
        assert ours >= theirs - 0.01, (ours, theirs)


def test_the_interface_create_model_gives_the_shipped_network():
    """INTERFACE.md's ``mm.create_model("oh2018", pretrained=True)``: the shipped weights,
    in eval mode, and a clear sentence for a name that is not a network."""
    import torch
    from safetensors.torch import load_file

    import motionmag as mm
    from motionmag.models.registry import weights_path

    if not has_weights("oh2018"):
        pytest.skip("no shipped oh2018 weights")
    net = mm.create_model("oh2018", pretrained=True)
    assert isinstance(net, torch.nn.Module) and not net.training
    shipped = load_file(str(weights_path("oh2018")))
    state = net.state_dict()
    assert all(torch.equal(state[k], v) for k, v in shipped.items())
    with pytest.raises(mm.UsageError, match="oh2018"):
        mm.create_model("linear")  # a classical method has no network


@pytest.mark.parametrize("model", MODELS)
def test_a_grey_video_comes_out_grey(model):
    """The nets only approximate grey in, grey out: on the grey clock their channels came
    out up to 13 levels apart (colour fringes on a monochrome camera's video). Each output
    of a grey input is now the mean of its channels, and still magnified."""
    from motionmag.magnify.stream import grey_kept, is_grey

    clip = _clip(AMPLITUDE_PX)[:12]
    assert is_grey(clip[0])
    out = magnify_frames(clip, fps=FPS, method=model, alpha=ALPHA, mode="static")
    assert all(is_grey(frame) for frame in out)
    assert _gain(out, slice(1, 12)) > 7
    colour = np.stack([clip[0, ..., 0], clip[0, ..., 1] // 2, clip[0, ..., 2]], axis=-1)
    tinted = colour.copy()
    assert grey_kept(colour, tinted) is tinted  # a colour input's output is left alone


def _home_photo() -> np.ndarray:
    """A colourful shipped photograph (the circle benchmark's home.jpg), 240 x 160 px."""
    from importlib import resources

    import cv2

    path = resources.files("motionmag.eval") / "backgrounds" / "home.jpg"
    image = cv2.imread(str(path))[64:320, :, ::-1]
    return cv2.resize(image, (240, 160), interpolation=cv2.INTER_AREA).astype(np.float64)


@pytest.mark.parametrize("model", MODELS)
def test_the_networks_colours_are_matched_to_the_input_frame(model):
    """The networks shift colours wherever they run (review, stop 59: a lawn turned
    olive in a frame with no motion). By default each output takes its input frame's
    colour distribution: the reference frame's colour bias falls at least fourfold, to
    under 1.5 levels, and the magnification stays (benchmarks/colour_match.py)."""
    clip = _clip(AMPLITUDE_PX, photo=_home_photo())
    settings = {"fps": FPS, "method": model, "alpha": ALPHA, "mode": "static"}
    runs = {on: magnify_frames(clip, color_match=on, **settings) for on in (False, True)}
    bias = {
        on: np.abs((out[0].astype(float) - clip[0]).reshape(-1, 3).mean(0)).max()
        for on, out in runs.items()
    }
    assert bias[True] < 1.5 and bias[True] * 4 < bias[False], bias
    gains = {on: _gain(out, slice(1, None, 4)) for on, out in runs.items()}
    assert gains[True] == pytest.approx(gains[False], abs=0.25), gains


def test_colour_matching_undoes_a_colour_cast_and_leaves_motion_alone():
    """match_colours: an output whose colours went through a linear cast comes back to
    the input's; a red square moved 12 px gets no colour ghost (local colour means drew
    +-6 levels of red where it was and is; review, stop 59); a moved texture keeps its
    shift."""
    import torch

    from motionmag.magnify.learned import match_colours
    from motionmag.synth.textures import load_texture
    from motionmag.synth.vibration import smooth_texture

    def tensor(image: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(image.transpose(2, 0, 1)[None] / 255.0).float()

    base = smooth_texture(load_texture("astronaut"), (96, 128), sigma_px=1.5)
    frame = tensor(base)
    cast = torch.tensor([[0.9, 0.08, 0.0], [0.05, 0.8, 0.05], [0.0, 0.1, 0.95]])
    tinted = (torch.einsum("ij,njhw->nihw", cast, frame) + 0.03).clamp(0, 1)
    assert (tinted - frame).abs().mean() > 0.02  # about 7 levels
    assert (match_colours(tinted, frame) - frame).abs().mean() < 0.004  # about 1 level
    square = torch.full((1, 3, 120, 160), 0.5)
    square[..., 40:80, 40:80] = torch.tensor([0.9, 0.1, 0.1]).view(1, 3, 1, 1)
    moved = torch.roll(square, 12, dims=-1)
    assert (match_colours(moved, square) - moved).abs().max() * 255 < 0.5
    shifted = subpixel_shift(base, 1.0, 0.0)
    kept = match_colours(tensor(shifted), frame)[0].numpy().transpose(1, 2, 0) * 255
    before = measure_shift(quantize(base), quantize(shifted))[0]
    after = measure_shift(quantize(base), quantize(kept))[0]
    assert abs(before) == pytest.approx(1.0, abs=0.05) and after == pytest.approx(before, abs=0.02)


@pytest.mark.parametrize("bad", ["x", 2.5])
def test_a_bad_colour_match_switch_is_one_sentence(bad):
    from motionmag.errors import UsageError

    frames = np.zeros((2, 16, 16, 3), np.uint8)
    with pytest.raises(UsageError, match="color_match"):
        magnify_frames(frames, method="oh2018", alpha=2, color_match=bad)
