"""Synthetic physiological videos (DeepMag data): signals and frames against known answers.

The signals are checked for their physiology (one systolic peak and one dicrotic notch per
beat, the spectral peak at the heart rate, rates in the paper's bands, exact derivatives,
the paper's head-motion tasks); the frames are measured independently: the skin colour
against the pulse (relative change per channel, band-passed correlation, sub-grey-level
amplitude), the chest motion with OpenCV DIS flow against the saved displacement, the
head motion of tasks A-D, and files, seeds and splits.
"""

from __future__ import annotations

import itertools
import json

import cv2
import numpy as np
import pytest
from scipy.signal import butter, find_peaks, sosfiltfilt

from motionmag.errors import UsageError
from motionmag.flow.opencv import estimate_flow
from motionmag.synth.physio import (
    SPLITS,
    PhysioConfig,
    default_photos,
    make_physio_video,
    read_physio_video,
    render_physio,
    sample_physio_params,
    split_photos,
    write_physio_dataset,
)
from motionmag.synth.physio_signals import (
    TASKS,
    PPGShape,
    head_yaw,
    ppg_waveform,
    respiration_signal,
)

FPS = 30.0

#: no head sway and no breathing: the skin colour is the only thing that changes in task A
PULSE_ONLY = {"natural_motion": 0.0, "resp_amplitude_px_range": (0.0, 0.0)}


def bandpass(x: np.ndarray, low_hz: float, high_hz: float, fps: float = FPS) -> np.ndarray:
    sos = butter(3, [low_hz, high_hz], btype="band", fs=fps, output="sos")
    return sosfiltfilt(sos, x - x.mean())


def extrema_per_beat(shape: PPGShape, samples: int = 2000) -> tuple[int, int, float]:
    """(local maxima, local minima, notch depth) of one periodic beat of the template.

    The notch depth is the diastolic peak minus the notch minimum (0 if there is no notch).
    """
    x = (np.arange(samples) + 0.5) / samples
    v, _ = shape(x)
    prev, nxt = np.roll(v, 1), np.roll(v, -1)
    maxima = np.flatnonzero((v > prev) & (v >= nxt))
    minima = np.flatnonzero((v < prev) & (v <= nxt))
    if len(maxima) != 2:
        return len(maxima), len(minima), 0.0
    systolic = maxima[np.argmax(v[maxima])]
    diastolic = maxima[np.argmin(v[maxima])]
    between = (np.arange(systolic, systolic + samples) % samples)[
        : (diastolic - systolic) % samples
    ]
    return len(maxima), len(minima), float(v[diastolic] - v[between].min())


def head_skin(video, params) -> np.ndarray:
    """Face pixels fully covered by skin in every frame (above the neck, eroded by 1 px)."""
    mask = video.skin_mask.all(axis=0).astype(np.uint8)
    mask = cv2.erode(mask, np.ones((3, 3), np.uint8)).astype(bool)
    g = params.geometry
    mask[int(g["cy"] + 0.3 * g["b"]) :] = False  # the neck moves with the breathing
    return mask


# --------------------------------------------------------------------------- signals


def test_ppg_has_one_systolic_peak_and_a_dicrotic_notch_per_beat():
    for seed in range(200):
        shape = PPGShape.random(np.random.default_rng(seed))
        maxima, minima, notch = extrema_per_beat(shape)
        assert (maxima, minima) == (2, 2), (seed, shape)
        assert notch > 0.01, (seed, shape)
    # the detector does find a missing notch: a diastolic wave merged into the systolic one
    assert extrema_per_beat(PPGShape(mu2=0.3, sigma2=0.1))[:2] == (1, 1)

    # over time: 72 bpm for 10 s -> 12 systolic peaks, one notch between each pair
    t = np.arange(0, 10, 1 / 250)
    rng = np.random.default_rng(0)
    pulse, _ = ppg_waveform(t, np.full_like(t, 72.0), rng, shape=PPGShape())
    systolic, _ = find_peaks(pulse, prominence=0.5)
    assert len(systolic) in (11, 12, 13)
    assert np.allclose(np.diff(systolic) / 250, 60 / 72, atol=0.01)
    for a, b in itertools.pairwise(systolic):
        inner, _ = find_peaks(pulse[a:b])
        assert len(inner) == 1  # the diastolic wave; the notch is the dip before it
        assert pulse[a + inner[0]] < pulse[a] and pulse[a:b].min() < pulse[a + inner[0]]
    assert abs(pulse.mean()) < 0.02 and 0.75 < np.ptp(pulse) < 1.25


@pytest.mark.parametrize("hr_bpm", [42.0, 75.0, 150.0])
def test_ppg_dominant_frequency_is_the_heart_rate(hr_bpm):
    t = np.arange(0, 30, 1 / FPS)
    pulse, _ = ppg_waveform(t, np.full_like(t, hr_bpm), np.random.default_rng(int(hr_bpm)))
    spectrum = np.abs(np.fft.rfft(pulse * np.hanning(len(t))))
    freqs = np.fft.rfftfreq(len(t), 1 / FPS)
    assert abs(freqs[np.argmax(spectrum)] - hr_bpm / 60) <= 1 / 30 + 1e-9


def test_signal_derivatives_are_exact():
    t = np.arange(0, 20, 1 / 1000)
    rng = np.random.default_rng(3)
    rate = 70 + 8 * np.sin(2 * np.pi * 0.1 * t)

    def integral(derivative: np.ndarray) -> np.ndarray:  # trapezoid, from t[0]
        steps = 0.5 * (derivative[1:] + derivative[:-1]) * (t[1] - t[0])
        return np.concatenate([[0.0], np.cumsum(steps)])

    pulse, dpulse = ppg_waveform(t, rate, rng)
    resp, dresp = respiration_signal(t, rate / 4, rng)
    for value, derivative in ((pulse, dpulse), (resp, dresp)):
        assert np.abs(value - value[0] - integral(derivative)).max() < 1e-3 * np.ptp(value)
        # a wrong derivative (the chain-rule factor du/dt left out) is caught
        wrong = integral(derivative / (rate / 60))
        assert np.abs(value - value[0] - wrong).max() > 0.1 * np.ptp(value)


def test_rates_stay_in_the_paper_bands_with_variability():
    config = PhysioConfig(duration_s=60.0)
    means = []
    for index in range(16):
        truth = sample_physio_params(index, seed=4, config=config).truth
        hr, br = truth["heart_rate_bpm"], truth["breathing_rate_bpm"]
        assert hr.min() >= 42.0 and hr.max() <= 150.0
        assert br.min() >= 10.0 and br.max() <= 30.0
        assert np.ptp(hr) > 1.0 and np.ptp(br) > 0.1  # heart-rate variability, breathing drift
        means.append(hr.mean())
        # beats and breaths counted in the signals match the rates
        beats = len(find_peaks(truth["pulse"], prominence=0.5)[0])
        assert abs(beats - hr.mean()) <= 2
        breaths = len(find_peaks(truth["respiration"], prominence=0.4)[0])
        assert abs(breaths - br.mean()) <= 2
    assert min(means) < 75 and max(means) > 115  # the whole band is used


def test_head_yaw_follows_the_papers_tasks():
    t = np.arange(0, 60, 1 / FPS)
    rng = np.random.default_rng(5)
    assert not head_yaw(t, "A", rng).any()
    for task, speed in (("B", 10.0), ("C", 30.0)):
        yaw = head_yaw(t, task, rng)
        assert np.ptp(yaw) == pytest.approx(120.0, abs=1.0)
        assert np.abs(np.gradient(yaw, t)).max() == pytest.approx(speed, rel=0.03)
    yaw = head_yaw(t, "D", rng)
    moving = np.abs(np.diff(yaw)) > 1e-9
    starts = t[1:][moving & ~np.roll(moving, 1)]
    assert np.allclose(np.diff(starts), 1.0, atol=1.5 / FPS)  # once per second
    settled = yaw[1:][~moving]
    assert np.allclose(settled / 20.0, np.round(settled / 20.0), atol=1e-6)
    assert np.abs(settled).max() <= 60.0 + 1e-9
    with pytest.raises(UsageError):
        head_yaw(t, "E", rng)


# --------------------------------------------------------------------------- frames


def test_skin_colour_change_has_the_pbv_ratio_and_stays_below_one_grey_level():
    top = PhysioConfig().pulse_amplitude_range[1]  # the strongest pulse of the default range
    config = PhysioConfig(
        duration_s=3.0, size_px=64, pulse_amplitude_range=(top, top), **PULSE_ONLY
    )
    for index in range(3):
        params = sample_physio_params(index, seed=6, config=config)
        video = render_physio(params, keep_float=True)
        pulse, gain = video.truth["pulse"], video.truth["pulse_gain_rgb"]
        assert gain / gain[1] == pytest.approx(np.array([0.33, 0.77, 0.53]) / 0.77, rel=1e-9)
        skin = head_skin(video, params)
        assert skin.sum() > 50
        mean = video.frames_float[:, skin].mean(axis=1)  # (T, 3)
        relative = mean / mean.mean(axis=0) - 1
        slope = np.array([np.polyfit(pulse, relative[:, c], 1)[0] for c in range(3)])
        assert slope == pytest.approx(gain, rel=0.02)
        assert slope / slope[1] * 0.77 == pytest.approx((0.33, 0.77, 0.53), abs=0.005)
        swing = np.ptp(video.frames_float[:, video.skin_mask.all(axis=0)], axis=0)  # per pixel
        assert 0.1 < swing.max() < 1.0  # grey levels, the brightest skin pixel included
        assert np.median(swing[:, 1]) < 0.6


def test_still_task_changes_only_skin_and_chest():
    config = PhysioConfig(task="A", duration_s=2.0, size_px=64, natural_motion=0.0)
    video = make_physio_video(0, seed=8, config=config, keep_float=True)
    changed = np.ptp(video.frames_float, axis=0).max(axis=-1) > 1e-3
    signals = (video.skin_mask.any(axis=0) | video.chest_mask.any(axis=0)).astype(np.uint8)
    near_signals = cv2.dilate(signals, np.ones((9, 9), np.uint8)).astype(bool)  # PSF reach
    assert not (changed & ~near_signals).any()  # background, hair, eyes: bit-exact still
    assert changed[video.skin_mask[0]].mean() > 0.9  # the pulse reaches every skin pixel
    assert changed[video.chest_mask[0]].mean() > 0.5  # the breathing moves the chest


def test_mean_skin_colour_follows_the_pulse():
    config = PhysioConfig(task="A", duration_s=6.0, size_px=96)  # with sway and breathing
    for index in range(2):
        params = sample_physio_params(index, seed=9, config=config)
        video = render_physio(params, keep_float=True)
        pulse = bandpass(video.truth["pulse"], 0.6, 4.0)

        def green(frames: np.ndarray, region: np.ndarray) -> np.ndarray:
            return bandpass(frames[:, region, 1].astype(np.float64).mean(axis=1), 0.6, 4.0)

        skin = head_skin(video, params)
        assert np.corrcoef(green(video.frames_float, skin), pulse)[0, 1] > 0.98
        assert np.corrcoef(green(video.frames, skin), pulse)[0, 1] > 0.5  # noise, 8 bits
        # the pulse is in the skin only: the background does not follow it
        moving = video.skin_mask.any(axis=0) | video.chest_mask.any(axis=0)
        rest = ~cv2.dilate(moving.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
        assert rest.sum() > 1000
        assert abs(np.corrcoef(green(video.frames, rest), pulse)[0, 1]) < 0.4


def test_chest_moves_by_the_respiration_truth():
    config = PhysioConfig(task="A", duration_s=5.0, size_px=96)
    for index in range(2):
        video = make_physio_video(index, seed=10, config=config, keep_float=True)
        truth = video.truth["chest_shift_px"]
        assert np.allclose(truth[:, 1], -video.truth["respiration_px"])
        chest = cv2.erode(video.chest_mask.all(axis=0).astype(np.uint8), np.ones((7, 7)))
        chest = chest.astype(bool)
        assert chest.sum() > 500
        frames = np.linspace(0, len(truth) - 1, 10).astype(int)[1:]
        expected = truth[frames] - truth[0]
        assert np.ptp(expected[:, 1]) > 0.2
        noise_free = np.clip(np.rint(video.frames_float), 0, 255).astype(np.uint8)
        for source, tolerance_px, min_corr in ((noise_free, 0.03, 0.99), (video.frames, 0.1, 0.95)):
            measured = np.array(
                [np.median(estimate_flow(source[0], source[t])[chest], axis=0) for t in frames]
            )
            assert np.abs(measured - expected).max() < tolerance_px
            assert np.corrcoef(measured[:, 1], expected[:, 1])[0, 1] > min_corr


def test_tasks_b_to_d_have_large_rigid_head_motion():
    change = {}
    for task in TASKS:
        config = PhysioConfig(task=task, duration_s=3.0, size_px=64)
        params = sample_physio_params(1, seed=11, config=config)
        video = render_physio(params, keep_float=True)
        g = params.geometry
        box = video.frames_float[
            :, : int(g["cy"] + g["b"]), int(g["cx"] - 1.3 * g["a"]) : int(g["cx"] + 1.3 * g["a"])
        ]
        change[task] = np.sqrt(((box - box[:1]) ** 2).mean(axis=(1, 2, 3))).max()
        yaw = video.truth["head_pose"][:, 0]
        assert (np.ptp(yaw) < 4.0) if task == "A" else (np.ptp(yaw) > 15.0)
    assert change["A"] < 3.0  # grey levels (RMS): sway and pulse only
    assert min(change[t] for t in "BCD") > 2 * change["A"]


# --------------------------------------------------------------------------- data set


def test_same_seed_same_video_other_seed_or_index_differs():
    config = PhysioConfig(duration_s=0.5, size_px=48, task="D")
    a = make_physio_video(2, seed=12, config=config)
    b = make_physio_video(2, seed=12, config=config)
    assert np.array_equal(a.frames, b.frames) and a.meta == b.meta
    for key, value in a.truth.items():
        assert np.array_equal(value, b.truth[key]), key
    for other in (
        make_physio_video(2, seed=13, config=config),
        make_physio_video(3, seed=12, config=config),
    ):
        assert not np.array_equal(a.frames, other.frames)
        assert not np.array_equal(a.truth["pulse"], other.truth["pulse"])
    # the task changes the head motion only: same participant, same signals
    still = sample_physio_params(2, seed=12, config=PhysioConfig(duration_s=0.5, task="A"))
    assert np.array_equal(still.truth["pulse"], a.truth["pulse"])
    assert still.photo_names == a.meta["textures"]


def test_train_and_test_splits_share_no_photos():
    n = len(default_photos())
    train, test = split_photos(n, "train"), split_photos(n, "test")
    assert test and not set(train) & set(test) and sorted(train + test) == list(range(n))
    used = {split: set() for split in SPLITS}
    for split in SPLITS:
        for index in range(40):
            params = sample_physio_params(index, seed=14, config=PhysioConfig(), split=split)
            used[split] |= set(params.photos.values())
    assert used["train"] <= set(train) and used["test"] <= set(test)
    assert len(used["train"]) > 3 and len(used["test"]) == len(test)
    with pytest.raises(UsageError):
        split_photos(n, "validation")


def test_write_read_round_trip(tmp_path):
    config = PhysioConfig(duration_s=0.5, size_px=48, task="B")
    paths = write_physio_dataset(tmp_path, 2, seed=15, split="test", config=config, start=3)
    assert [p.name for p in paths] == ["test_00003.mkv", "test_00004.mkv"]
    manifest = json.loads((tmp_path / "test_manifest.json").read_text())
    assert manifest["seed"] == 15 and manifest["config"]["task"] == "B"
    made = make_physio_video(4, seed=15, config=config, split="test")
    read = read_physio_video(paths[1])
    assert np.array_equal(read.frames, made.frames)  # FFV1 is bit-exact
    assert read.fps == made.fps and read.meta["textures"] == made.meta["textures"]
    assert np.array_equal(read.skin_mask, made.skin_mask)
    assert np.array_equal(read.chest_mask, made.chest_mask)
    assert set(read.truth) == set(made.truth)
    for key, value in made.truth.items():
        assert np.array_equal(read.truth[key], value), key


def test_bad_arguments_are_usage_errors():
    with pytest.raises(UsageError):
        PhysioConfig(task="E")
    with pytest.raises(UsageError):
        PhysioConfig(size_px=16)
    with pytest.raises(UsageError):
        PhysioConfig(hr_range_bpm=(150.0, 42.0))
    with pytest.raises(UsageError):
        make_physio_video(0, split="validation")
