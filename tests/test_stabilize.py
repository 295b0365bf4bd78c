"""`--stabilize`: a shaking camera's motion is registered away and not magnified, the
scene's own motion is (known answers: a vibrating disc under a known camera shake)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from clip_io import read_clip, write_clip
from motionmag import Stream, magnify_frames
from motionmag.cli import main
from motionmag.errors import InputError, UsageError
from motionmag.eval.displacement import measure_shift
from motionmag.eval.region_motion import region_motion
from motionmag.eval.spectrum import region_spectrum
from motionmag.magnify.stabilize import (
    FrameAligner,
    _translate,
    coverage,
    keep_input_where_uncovered,
)
from motionmag.synth.textures import load_texture
from motionmag.synth.vibration import quantize, smooth_texture, subpixel_shift, vibrating_frames

FPS, FRAMES, HZ, AMPLITUDE_PX, ALPHA = 30.0, 24, 2.0, 0.3, 10.0
SHAKE_PX = 2.5
HEIGHT, WIDTH = 120, 160


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    return smooth_texture(load_texture("astronaut"), (HEIGHT, WIDTH), sigma_px=1.5)


@pytest.fixture(scope="module")
def disc() -> np.ndarray:
    """A soft disc (H, W) in [0, 1] in the middle of the frame: the part that vibrates."""
    yy, xx = np.mgrid[:HEIGHT, :WIDTH]
    radius = np.hypot(xx - WIDTH / 2, yy - HEIGHT / 2)
    return np.clip(22.0 - radius, 0.0, 1.0)


@pytest.fixture(scope="module")
def shake() -> np.ndarray:
    """The camera's displacement per frame (T, 2) px, (0, 0) at the first frame."""
    shifts = np.random.default_rng(7).uniform(-SHAKE_PX, SHAKE_PX, size=(FRAMES, 2))
    shifts[0] = 0.0
    return shifts


def _shaken(clip: np.ndarray, shake: np.ndarray) -> np.ndarray:
    return np.stack(
        [subpixel_shift(frame, dx, dy) for frame, (dx, dy) in zip(clip, shake, strict=True)]
    )


@pytest.fixture(scope="module")
def scene(image, disc, shake):
    """(input clip uint8, disc displacement (T,) px along x): the disc vibrates 0.3 px
    over a still background, and the whole view shakes by ``shake``."""
    clip, displacement = vibrating_frames(image, AMPLITUDE_PX, HZ, FPS, FRAMES, mask=disc)
    return quantize(_shaken(clip, shake)), displacement


def _translation(matrix: np.ndarray) -> np.ndarray:
    assert np.allclose(matrix[:2, :2], np.eye(2), atol=1e-3)
    return matrix[:2, 2]


def test_a_camera_shake_is_registered_to_hundredths_of_a_pixel(image, shake):
    frames = quantize(_shaken(np.repeat(image[None], FRAMES, axis=0), shake))
    for model in ("translation", "similarity"):
        aligner = FrameAligner(model)
        errors = [
            np.abs(_translation(aligner.register(frame)) + d).max()
            for frame, d in zip(frames, shake, strict=True)
        ]
        # measured 0.004 / 0.011 px at most (translation / similarity)
        assert max(errors) < 0.02, (model, max(errors))
        assert np.mean(errors) < 0.01, model


def test_a_rotation_is_registered_by_the_similarity_model(image):
    aligner = FrameAligner("similarity")
    corners = np.array([[[20.0, 20.0]], [[WIDTH - 20, 20.0]], [[20.0, HEIGHT - 20]]])
    for angle_deg, dx in ((0.0, 0.0), (0.6, 1.3), (-1.0, -2.1)):
        matrix = cv2.getRotationMatrix2D((WIDTH / 2 + 5, HEIGHT / 2 - 3), angle_deg, 1.0)
        matrix[0, 2] += dx
        frame = cv2.warpAffine(
            image.astype(np.float32), matrix, (WIDTH, HEIGHT), flags=cv2.INTER_CUBIC,
            borderMode=cv2.BORDER_REFLECT,
        )  # fmt: skip
        found = aligner.register(quantize(frame))
        truth = np.linalg.inv(np.vstack([matrix, [0.0, 0.0, 1.0]]))  # frame -> first frame
        error = cv2.perspectiveTransform(corners, found) - cv2.perspectiveTransform(corners, truth)
        assert np.abs(error).max() < 0.1, angle_deg
    assert aligner.report.max_rotation_deg == pytest.approx(1.0, abs=0.02)


def test_the_vibrating_part_does_not_pull_the_registration(scene, shake):
    clip, _ = scene
    aligner = FrameAligner("translation")
    errors = [
        np.abs(_translation(aligner.register(f)) + d).max()
        for f, d in zip(clip, shake, strict=True)
    ]
    assert max(errors) < 0.015  # measured 0.006: the disc's 0.3 px is set aside


def _background(disc: np.ndarray) -> np.ndarray:
    """Weights of the still background: away from the disc (its magnified motion spills
    a few px) and from the frame's border."""
    near = cv2.dilate((disc > 0).astype(np.uint8), np.ones((21, 21), np.uint8)) > 0
    weights = (~near).astype(np.float64)
    weights[:12], weights[-12:], weights[:, :12], weights[:, -12:] = 0, 0, 0, 0
    return weights


def _core(disc: np.ndarray) -> np.ndarray:
    return (cv2.erode((disc >= 1).astype(np.uint8), np.ones((9, 9), np.uint8)) > 0).astype(float)


def _disc_gain(clip: np.ndarray, out: np.ndarray, core: np.ndarray, displacement) -> float:
    """Median over frames of the disc's measured shift, output against its own input
    frame, over the asked (alpha - 1) x its displacement (1.0: magnified by alpha)."""
    gains = [
        measure_shift(clip[t], out[t], core)[0] / ((ALPHA - 1) * displacement[t])
        for t in range(1, FRAMES)
        if abs(displacement[t]) > 0.5 * AMPLITUDE_PX
    ]
    return float(np.median(gains))


def test_the_scene_is_magnified_and_the_camera_is_not(scene, image, disc):
    clip, displacement = scene
    out = magnify_frames(clip, fps=FPS, method="linear", alpha=ALPHA, stabilize="translation")
    plain = magnify_frames(clip, fps=FPS, method="linear", alpha=ALPHA)
    background = _background(disc)
    # output against its own input frame: the camera's motion is in both, so only
    # alpha - 1 times the registration's and the resampling's errors remain on the background
    still = [np.abs(measure_shift(clip[t], out[t], background)).max() for t in range(1, FRAMES)]
    plain_still = [
        np.abs(measure_shift(clip[t], plain[t], background)).max() for t in range(1, FRAMES)
    ]
    assert max(still) < 0.08, max(still)  # measured 0.045: the camera's 3.5 px are not magnified
    assert np.median(plain_still) > 2.0  # without stabilization they are
    # the disc, drawn where the camera put it, moves by its own motion times alpha - 1:
    # as much as with a camera that did not shake (the linear method's own gain on this
    # small soft disc is about 0.8; the resampling costs a few per cent)
    steady = quantize(vibrating_frames(image, AMPLITUDE_PX, HZ, FPS, FRAMES, mask=disc)[0])
    steady_out = magnify_frames(steady, fps=FPS, method="linear", alpha=ALPHA)
    core = _core(disc)
    gain = _disc_gain(clip, out, core, displacement)
    steady_gain = _disc_gain(steady, steady_out, core, displacement)
    assert steady_gain > 0.7, steady_gain
    assert gain == pytest.approx(steady_gain, rel=0.12), (gain, steady_gain)


def test_where_the_camera_revealed_new_scene_the_output_is_the_input():
    """The view moves 4 px right (the scene 4 px left): the frame's right 4 columns lie
    outside the first frame, where the stabilized frame holds only mirrored border.
    Warped back, that mirror covered the frame's real pixels (12-52 grey levels off at
    alpha 1); the input's own pixels are kept there now."""
    wide = smooth_texture(load_texture("astronaut"), (HEIGHT, WIDTH + 8), sigma_px=1.5)
    clip = quantize(np.stack([wide[:, :WIDTH]] + [wide[:, 4 : WIDTH + 4]] * 4))
    out = magnify_frames(clip, fps=FPS, method="linear", alpha=1.0, mode="static",
                         stabilize="translation")  # fmt: skip
    for t in range(1, len(clip)):
        np.testing.assert_array_equal(out[t][:, -4:], clip[t][:, -4:])
        assert np.abs(out[t].astype(int) - clip[t])[:, :-4].max() <= 2  # warped there and back


@pytest.mark.parametrize("shake_px", [0.3, 0.45, 0.55, 0.8, 1.0, 2.0])
def test_an_edge_under_sub_pixel_shake_fades_between_output_and_input(shake_px):
    """The right column of a view moved ``shake_px`` right samples the first frame
    ``shake_px`` beyond its edge: that much of it is mirror. Output (0) and input (200)
    mix in that proportion, so a shake about half a pixel no longer switches the column
    from one to the other from frame to frame (a jump of the whole output-input
    difference at 0.5 px before)."""
    height, width = 6, 10
    matrix = np.eye(3)
    matrix[0, 2] = shake_px
    back = np.zeros((height, width, 3), np.uint8)
    frame = np.full((height, width, 3), 200, np.uint8)
    mixed = keep_input_where_uncovered(back, frame, matrix)
    whole = int(np.floor(shake_px))
    expected = np.zeros(width)
    expected[width - whole :] = 200
    expected[width - whole - 1] = np.rint(200 * (shake_px - whole))
    np.testing.assert_array_equal(mixed[:, :, 1], np.broadcast_to(expected, (height, width)))
    assert not back.any() and (frame == 200).all()  # neither is written
    # the warp path (any other model) covers alike: a hair of shear sends it there
    sheared = matrix.copy()
    sheared[0, 1] = 1e-7
    np.testing.assert_allclose(coverage(sheared, height, width), coverage(matrix, height, width),
                               atol=0.02)  # fmt: skip


def test_a_still_camera_leaves_the_output_alone():
    back = np.zeros((4, 5), np.float32)
    assert keep_input_where_uncovered(back, back + 1, np.eye(3)) is back
    assert coverage(np.eye(3), 4, 5) is None


def test_a_registration_that_may_follow_a_moving_part_is_noted(image, disc):
    """Two ways the camera is mistaken for a moving part, silently before: a textured disc
    on a flat wall gives the only corners (the disc's vibration was registered away), and
    a large object moving across takes most tracks (3.7 px off at 65 % of the frame)."""
    flat = 128.0 * (1 - disc[..., None]) + image * disc[..., None]
    clip = quantize(vibrating_frames(flat, AMPLITUDE_PX, HZ, FPS, 6, mask=disc)[0])
    aligner = FrameAligner("translation")
    for frame in clip:
        aligner.register(frame)
    assert aligner.report.corner_cover < 0.25
    assert "span only" in aligner.report.note() and "agreed" not in aligner.report.note()

    other = smooth_texture(load_texture("coffee"), (HEIGHT, WIDTH + 40), sigma_px=1.5)
    aligner = FrameAligner("translation")
    for t in range(6):  # the left 60 % is an object sliding 3 px a frame over a still view
        frame = image.copy()
        frame[:, : int(0.6 * WIDTH)] = other[:, 3 * t : 3 * t + int(0.6 * WIDTH)]
        aligner.register(quantize(frame))
    assert aligner.report.disagreeing >= 4, aligner.report
    assert "agreed on one motion" in aligner.report.note()

    steady = FrameAligner("translation")  # the usual case: no note
    for frame in quantize(vibrating_frames(image, AMPLITUDE_PX, HZ, FPS, 6, mask=disc)[0]):
        steady.register(frame)
    assert "span only" not in steady.report.note() and not steady.report.disagreeing


def test_kept_stabilized_frames_hold_the_background_still(scene, disc):
    clip, _ = scene
    out = magnify_frames(
        clip, fps=FPS, method="linear", alpha=ALPHA, stabilize="similarity", keep_stabilized=True
    )
    background = _background(disc)
    drift = [np.abs(measure_shift(out[0], out[t], background)).max() for t in range(1, FRAMES)]
    assert max(drift) < 0.3, max(drift)


def test_command_line_stabilizes_and_says_how_much_the_camera_moved(tmp_path, scene, shake, capsys):
    clip, _ = scene
    source = write_clip(tmp_path / "shaky.mkv", clip, FPS)
    out = tmp_path / "out.mkv"
    code = main(["magnify", str(source), "-o", str(out), "--method", "linear", "--stabilize",
                 "--quiet"])  # fmt: skip
    assert code == 0
    assert len(read_clip(out)) == FRAMES
    note = capsys.readouterr().err
    assert "stabilized to the first frame (translation): the camera moved up to" in note
    moved = float(note.split("moved up to ")[1].split(" px")[0])
    assert moved == pytest.approx(np.hypot(*shake.T).max(), abs=0.1)


@pytest.mark.parametrize(
    "flags, words",
    [
        (["--stabilize", "spin"], "is not a motion model"),
        (["--keep-stabilized"], "add --stabilize"),
    ],
)
def test_bad_stabilize_flags_are_one_sentence_and_write_nothing(
    tmp_path, scene, capsys, flags, words
):
    source = write_clip(tmp_path / "shaky.mkv", scene[0][:4], FPS)
    out = tmp_path / "out.mkv"
    assert main(["magnify", str(source), "-o", str(out), "--method", "linear", *flags]) == 2
    assert words in capsys.readouterr().err
    assert not out.exists()


def test_a_featureless_first_frame_cannot_be_stabilized(tmp_path, capsys):
    flat = np.full((6, 64, 80, 3), 128, np.uint8)
    source = write_clip(tmp_path / "flat.mkv", flat, FPS)
    out = tmp_path / "out.mkv"
    assert main(["magnify", str(source), "-o", str(out), "--stabilize", "--quiet"]) == 3
    assert "too little texture to stabilize" in capsys.readouterr().err
    assert not out.exists()
    with pytest.raises(InputError):
        magnify_frames(flat, method="linear", stabilize="translation")
    with pytest.raises(UsageError):
        magnify_frames(flat, method="linear", keep_stabilized=True)


def test_weights_keep_a_large_moving_part_out_of_the_registration(image, shake):
    """Half the view moves by 0.8 px (inside RANSAC's 1 px, and half the pixels for the
    robust weights): registered on the still half only, the shake is found 10x better
    (measured 0.004 px at most, against 0.052 on the whole view)."""
    left = np.zeros((HEIGHT, WIDTH))
    left[:, : WIDTH // 2] = 1.0
    moved = left[..., None] * subpixel_shift(image, 0.8, 0.0) + (1 - left[..., None]) * image
    clip = np.stack([image] + [moved] * (FRAMES - 1))
    frames = quantize(_shaken(clip, shake))
    plain, weighted = FrameAligner("translation"), FrameAligner("translation", weights=1 - left)
    plain_errors, errors = [], []
    for frame, d in zip(frames, shake, strict=True):
        plain_errors.append(np.abs(_translation(plain.register(frame)) + d).max())
        errors.append(np.abs(_translation(weighted.register(frame)) + d).max())
    assert max(errors) < 0.01, max(errors)
    assert max(plain_errors) > 3 * max(errors)


def test_live_stabilizes_a_shaking_file_and_a_stream_registers_on_the_mask_complement(
    tmp_path, scene, disc, shake, capsys
):
    clip, _ = scene
    source = write_clip(tmp_path / "shaky.mkv", clip, FPS)
    out = tmp_path / "live.mkv"
    argv = ["live", str(source), "-o", str(out), "--method", "linear", "--mode", "static",
            "--stabilize", "translation", "--queue", "30", "--quiet"]  # fmt: skip
    assert main(argv) == 0
    assert "stabilized to the first frame (translation)" in capsys.readouterr().err
    written = read_clip(out)
    background = _background(disc)
    still = [np.abs(measure_shift(clip[t], written[t], background)).max() for t in range(FRAMES)]
    assert max(still) < 0.08, max(still)

    mask = (disc > 0).astype(np.float32)
    stream = Stream(method="linear", alpha=ALPHA, mask=mask, stabilize="translation")
    outputs = [stream.push(frame) for frame in clip] + stream.flush()
    assert sum(o is not None for o in outputs) == FRAMES
    assert stream.stabilization.frames == FRAMES
    assert stream.stabilization.max_shift_px == pytest.approx(np.hypot(*shake.T).max(), abs=0.05)
    np.testing.assert_array_equal(stream._paired.aligner.weights[..., 0], 1 - mask)


def test_measure_reads_the_scene_motion_through_a_camera_shake(tmp_path, scene, capsys):
    clip, displacement = scene
    source = str(write_clip(tmp_path / "shaky.mkv", clip, FPS))
    roi = (WIDTH // 2 - 16, HEIGHT // 2 - 16, 32, 32)  # inside the disc
    with pytest.warns(UserWarning, match="stabilized to the first frame .* moved up to"):
        steady = region_motion(source, roi, stabilize="translation")  # it said nothing
    shaken = region_motion(source, roi)
    # the disc's own 0.3 px sinusoid, frame by frame, against the camera's 2.5 px
    np.testing.assert_allclose(steady.dx, displacement, atol=0.05)
    np.testing.assert_allclose(steady.dy, 0.0, atol=0.05)
    assert np.abs(shaken.dx - displacement).max() > 1.0
    with pytest.warns(UserWarning, match="shaky.mkv': stabilized"):  # a note: on stderr
        assert main(["measure", source, "--roi", *map(str, roi), "--stabilize", "--quiet"]) == 0
    assert main(["measure", source, "--stabilize", "tilt"]) == 2
    assert "is not a motion model" in capsys.readouterr().err


def test_spectrum_finds_the_vibration_under_a_camera_shake(tmp_path, image, disc, capsys):
    frames = 90
    clip, _ = vibrating_frames(image, 1.0, HZ, FPS, frames, direction_deg=90.0, mask=disc)
    shake = np.random.default_rng(11).uniform(-SHAKE_PX, SHAKE_PX, size=(frames, 2))
    source = str(write_clip(tmp_path / "shaky.mkv", quantize(_shaken(clip, shake)), FPS))
    roi = (WIDTH // 2 - 16, HEIGHT // 2 - 16, 32, 32)  # inside the disc

    def peak(spectrum) -> tuple[float, float]:
        """(frequency of the strongest bin above 0.5 Hz, its power over the median's)"""
        above = spectrum.freqs_hz > 0.5
        power = spectrum.power[above]
        return float(spectrum.freqs_hz[above][np.argmax(power)]), power.max() / np.median(power)

    with pytest.warns(UserWarning, match="stabilized to the first frame"):
        steady_hz, steady_contrast = peak(region_spectrum(source, roi, stabilize="translation"))
    _, shaken_contrast = peak(region_spectrum(source, roi))
    assert steady_hz == pytest.approx(HZ, abs=FPS / frames)
    assert steady_contrast > 5 * shaken_contrast
    png = tmp_path / "spectrum.png"
    with pytest.warns(UserWarning, match="stabilized to the first frame"):
        assert (
            main(["spectrum", source, "--roi", *map(str, roi), "--stabilize", "-o", str(png)]) == 0
        )
    assert png.is_file()
    assert main(["spectrum", source, "--stabilize", "roll", "-o", str(tmp_path / "x.png")]) == 2
    assert "is not a motion model" in capsys.readouterr().err


def test_a_frame_that_cannot_be_registered_keeps_the_previous_alignment(scene, shake):
    clip, _ = scene
    clip = clip.copy()
    clip[5] = 128  # a blank frame (a flash, a cut): nothing to track
    aligner = FrameAligner("translation")
    matrices = [aligner.register(frame) for frame in clip]
    np.testing.assert_array_equal(matrices[5], matrices[4])
    np.testing.assert_allclose(_translation(matrices[6]), -shake[6], atol=0.02)
    assert aligner.report.unregistered == 1
    assert "1 of 24 frames could not be registered" in aligner.report.note()


def test_a_bare_stabilize_before_the_input_is_the_default_model(
    tmp_path, scene, capsys, monkeypatch
):
    source = write_clip(tmp_path / "shaky.mkv", scene[0][:4], FPS)
    out = tmp_path / "out.mkv"
    argv = ["magnify", "--stabilize", str(source), "-o", str(out), "--method", "linear"]
    assert main(argv) == 0
    assert "stabilized to the first frame (translation)" in capsys.readouterr().err
    assert len(read_clip(out)) == 4
    # a frame folder named without a dot or a slash was taken for the model
    from motionmag.video import VideoWriter

    folder = tmp_path / "frames"
    with VideoWriter(str(folder) + "/", FPS, scene[0].shape[2], scene[0].shape[1]) as writer:
        for frame in scene[0][:4]:
            writer.write(frame)
    monkeypatch.chdir(tmp_path)
    argv = ["magnify", "--stabilize", "frames", "-o", "folder.mkv", "--method", "linear"]
    assert main(argv) == 0, capsys.readouterr().err
    assert len(read_clip(tmp_path / "folder.mkv")) == 4


def test_translations_are_resampled_at_the_exact_fraction(image):
    """OpenCV's warps round sample positions to 1/32 px; ``_translate`` does not: it
    equals the exact (Fourier) shift to within a grey level and 0.003 px (OpenCV: up to
    0.016 px)."""
    for dx, dy in ((0.3, 0.0), (-1.7, 2.25), (2.51, -0.49), (0.0, 0.999)):
        moved = _translate(image.astype(np.float32), dx, dy)
        exact = subpixel_shift(image, dx, dy)
        assert np.abs(moved - exact)[12:-12, 12:-12].max() < 1.0
        found = measure_shift(image, moved, border_px=12)
        np.testing.assert_allclose(found, (dx, dy), atol=3e-3)
