"""Temporal selectors against known answers: scipy's filters, exact differences, sinusoids."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import signal

from motionmag.errors import UsageError
from motionmag.temporal import (
    ButterworthSelector,
    DifferenceOfIIRSelector,
    DynamicSelector,
    FIRBandpassSelector,
    StaticSelector,
    make_selector,
)


def run_stream(selector, series: np.ndarray) -> np.ndarray:
    """Push a (T, N) series as one-level representations; return the (T, N) selection."""
    out = []
    for x in series:
        out.extend(selector.push([torch.as_tensor(x, dtype=torch.float64)]))
    out.extend(selector.flush())
    assert len(out) == len(series), "every pushed frame gets exactly one answer"
    return np.stack([rep[0].numpy() for rep in out])


def test_static_and_dynamic_are_exact_differences():
    rng = np.random.default_rng(0)
    series = rng.normal(size=(12, 5))
    np.testing.assert_allclose(run_stream(StaticSelector(0), series), series - series[0])
    np.testing.assert_allclose(run_stream(StaticSelector(4), series), series - series[4])
    dyn = run_stream(DynamicSelector(), series)
    np.testing.assert_allclose(dyn[1:], np.diff(series, axis=0))
    np.testing.assert_allclose(dyn[0], 0.0)


def test_static_reference_beyond_end_is_a_usage_error():
    selector = StaticSelector(10)
    for _ in range(3):
        assert selector.push([torch.zeros(2)]) == []
    with pytest.raises(UsageError, match="beyond the end"):
        selector.flush()


def test_butterworth_matches_scipy_sosfilt_with_steady_state_start():
    fps, t = 30.0, np.arange(200) / 30.0
    rng = np.random.default_rng(1)
    series = 5.0 + np.sin(2 * np.pi * 2.0 * t)[:, None] + 0.3 * rng.normal(size=(200, 3))
    for order in (1, 2, 4):
        selector = ButterworthSelector(1.0, 4.0, fps, order=order)
        expected, _ = signal.sosfilt(
            selector.sos, series, axis=0, zi=signal.sosfilt_zi(selector.sos)[:, :, None] * series[0]
        )
        np.testing.assert_allclose(run_stream(selector, series), expected, atol=1e-9)


def test_a_large_constant_level_costs_the_float32_filters_no_precision():
    """A linear pyramid's residual at high alpha holds the pixel value x (alpha - 1): the
    filters held it in float32 states and lost up to 0.03 (3 grey levels off at 0.1-0.3
    Hz, 240 fps; review, stop 54). They run on x - x(0) now, which is the same filter."""
    fps, t = 240.0, np.arange(2400) / 240.0
    rng = np.random.default_rng(2)
    series = 50.0 + 0.2 * np.sin(2 * np.pi * 0.2 * t)[:, None] + 0.05 * rng.normal(size=(2400, 2))
    selector = ButterworthSelector(0.1, 0.3, fps, order=2)
    zi = signal.sosfilt_zi(selector.sos)[:, :, None] * series[0]
    expected, _ = signal.sosfilt(selector.sos, series, axis=0, zi=zi)
    got = [selector.push([torch.from_numpy(row).float()])[0][0].numpy() for row in series]
    # float32 on a narrow band near DC costs 6e-4 anyway (the same at DC 0); 0.035 before
    assert np.abs(np.stack(got) - expected).max() < 1.5e-3
    diff = DifferenceOfIIRSelector.from_band(0.1, 0.3, fps)
    exact = DifferenceOfIIRSelector.from_band(0.1, 0.3, fps)
    got = [diff.push([torch.from_numpy(row).float()])[0][0].numpy() for row in series]
    want = [exact.push([torch.from_numpy(row - series[0])])[0][0].numpy() for row in series]
    assert np.abs(np.stack(got) - np.stack(want)).max() < 2e-4


def test_constant_input_selects_nothing_for_every_filter():
    series = np.full((120, 4), 7.5)
    for kind in ("butter", "diff-iir", "fir"):
        selector = make_selector("temporal", band=(0.5, 3.0), fps=30.0, filter_kind=kind)
        np.testing.assert_allclose(run_stream(selector, series), 0.0, atol=1e-9)


@pytest.mark.parametrize("kind", ["butter", "fir", "diff-iir"])
def test_in_band_sinusoid_passes_and_out_of_band_is_attenuated(kind):
    fps = 30.0
    t = np.arange(600) / fps
    selector = make_selector("temporal", band=(1.5, 3.0), fps=fps, filter_kind=kind)
    steady = slice(300, 500)  # away from the start-up and the end of the clip
    gain_in = np.ptp(run_stream(selector, np.sin(2 * np.pi * 2.0 * t)[:, None])[steady])
    selector = make_selector("temporal", band=(1.5, 3.0), fps=fps, filter_kind=kind)
    gain_out = np.ptp(run_stream(selector, np.sin(2 * np.pi * 10.0 * t)[:, None])[steady])
    # peak-to-peak of a unit sinusoid is 2; difference of IIR is a soft band-pass
    floor = 1.6 if kind == "diff-iir" else 1.9
    assert gain_in > floor
    assert gain_out < (1.0 if kind == "diff-iir" else 0.1)  # diff-iir: soft, halves at 10 Hz


def _odd_padded(series: np.ndarray, half: int) -> np.ndarray:
    """``series`` reflected through its end frames, ``x(-k) = 2 x(0) - x(min(k, n-1))``."""
    n = len(series)
    before = [2 * series[0] - series[min(k, n - 1)] for k in range(half, 0, -1)]
    after = [2 * series[-1] - series[n - 1 - min(k, n - 1)] for k in range(1, half + 1)]
    return np.concatenate([np.array(before).reshape(-1, *series.shape[1:]), series,
                           np.array(after).reshape(-1, *series.shape[1:])])  # fmt: skip


@pytest.mark.parametrize("frames, block", [(75, 7), (40, 16), (31, 1), (16, 3), (5, 16), (1, 4)])
def test_fir_equals_direct_zero_phase_convolution_of_the_oddly_reflected_clip(frames, block):
    """Every length against its window (longer, about equal, shorter than D = 15) and
    blocks of 1 to 16: the stream is the convolution of the clip reflected through its
    end frames (scipy's filtfilt ``padtype="odd"``)."""
    series = np.random.default_rng(2).normal(size=(frames, 6))
    selector = FIRBandpassSelector(2.0, 5.0, 30.0, taps=31, block=block)
    got = run_stream(selector, series)
    padded = _odd_padded(series, 15)
    expected = np.stack(
        [np.convolve(padded[:, j], selector.taps, mode="valid") for j in range(6)], axis=1
    )
    np.testing.assert_allclose(got, expected, atol=1e-10)


def test_the_reflection_is_numpy_s_odd_reflection():
    series = np.random.default_rng(5).normal(size=(50, 2))
    odd = np.pad(series, ((12, 12), (0, 0)), mode="reflect", reflect_type="odd")
    np.testing.assert_allclose(_odd_padded(series, 12), odd)


def test_a_steady_drift_selects_nothing_up_to_the_clip_s_ends():
    """A band-pass and acceleration's second derivative both map a constant velocity to
    zero; the ends do too (repeated end frames made a kink: spurious motion there)."""
    from motionmag.temporal import FIRSelector, acceleration_taps

    drift = (2.0 + 0.1 * np.arange(120))[:, None]
    for selector in (FIRBandpassSelector(1.0, 4.0, 30.0, block=5),
                     FIRSelector(acceleration_taps(3.0, 30.0))):  # fmt: skip
        np.testing.assert_allclose(run_stream(selector, drift), 0.0, atol=1e-9)


def test_fir_agrees_with_whole_clip_ideal_filter_in_the_middle():
    fps, n = 30.0, 900
    t = np.arange(n) / fps
    series = np.sin(2 * np.pi * 2.0 * t) + np.sin(2 * np.pi * 0.3 * t) + np.sin(2 * np.pi * 9 * t)
    spectrum = np.fft.rfft(series)
    freqs = np.fft.rfftfreq(n, 1 / fps)
    spectrum[(freqs < 1.0) | (freqs > 4.0)] = 0
    ideal = np.fft.irfft(spectrum, n)
    got = run_stream(FIRBandpassSelector(1.0, 4.0, fps), series[:, None])[:, 0]
    middle = slice(200, 700)
    assert np.max(np.abs(got[middle] - ideal[middle])) < 0.03


def test_fir_memory_is_bounded_by_its_window():
    selector = FIRBandpassSelector(1.0, 4.0, 30.0, taps=31, block=8)
    for _ in range(500):
        selector.push([torch.zeros(3)])
    assert selector._buffer[0].shape[0] == 31 - 1 + 8


def test_difference_of_iir_follows_its_recurrence():
    series = np.random.default_rng(4).normal(size=(40, 3))
    r_high, r_low = 0.4, 0.05
    fast = slow = series[0]
    expected = []
    for x in series:
        fast = (1 - r_high) * fast + r_high * x
        slow = (1 - r_low) * slow + r_low * x
        expected.append(fast - slow)
    got = run_stream(DifferenceOfIIRSelector(r_high, r_low, normalize=False), series)
    np.testing.assert_allclose(got, np.array(expected), atol=1e-12)
    from_coefficients = make_selector(
        "temporal", filter_kind="diff-iir", iir_coefficients=(0.4, 0.05)
    )
    normalized = run_stream(from_coefficients, series)
    np.testing.assert_allclose(normalized, got * from_coefficients.scale)
    # normalised: a sinusoid at the peak frequency comes out with unit amplitude
    z = np.exp(1j * np.linspace(1e-4, np.pi, 8192))
    response = np.abs(0.4 / (1 - 0.6 / z) - 0.05 / (1 - 0.95 / z))
    assert from_coefficients.scale == pytest.approx(1 / response.max(), rel=1e-6)


@pytest.mark.parametrize(
    ("band", "fps", "message"),
    [
        ((3.0, 1.0), 30.0, "not below the high edge"),
        ((2.0, 2.0), 30.0, "not below the high edge"),
        ((1.0, 15.0), 30.0, "half the frame rate"),
        ((0.0, 3.0), 30.0, "above 0"),
        ((float("nan"), 3.0), 30.0, "not finite"),
    ],
)
def test_bad_bands_are_refused_with_a_sentence(band, fps, message):
    for kind in ("butter", "diff-iir", "fir"):
        with pytest.raises(UsageError, match=message):
            make_selector("temporal", band=band, fps=fps, filter_kind=kind)


def test_temporal_mode_without_band_is_refused():
    with pytest.raises(UsageError, match="--band"):
        make_selector("temporal", fps=30.0)
    with pytest.raises(UsageError, match="unknown mode"):
        make_selector("sideways")


def test_acceleration_taps_ignore_constant_and_linear_signals_and_pass_their_frequency():
    from motionmag.temporal import FIRSelector, acceleration_taps

    fps, f = 30.0, 3.0
    taps = acceleration_taps(f, fps)
    t = np.arange(200) / fps
    for series in (np.full(200, 4.0), 2.0 + 0.7 * np.arange(200)):  # constant, constant velocity
        out = run_stream(FIRSelector(taps), series[:, None])[:, 0]
        np.testing.assert_allclose(out[20:-20], 0.0, atol=1e-9)
    wave = np.sin(2 * np.pi * f * t)
    out = run_stream(FIRSelector(taps), wave[:, None])[:, 0]
    gain = np.dot(out[40:-40], wave[40:-40]) / np.dot(wave[40:-40], wave[40:-40])
    assert gain == pytest.approx(1.0, rel=0.01)
    k = np.arange(len(taps)) - len(taps) // 2
    response = [abs(np.sum(taps * np.exp(-2j * np.pi * g * k / fps))) for g in (1.0, 3.0, 9.0)]
    assert response[1] == pytest.approx(1.0) and max(response[0], response[2]) < 0.5


def test_a_band_whose_period_outlasts_any_clip_is_one_sentence():
    """--band 1e-8 1e-7 at 30 fps was a LinAlgError traceback from the filter design."""
    from motionmag.temporal.iir import check_band

    with pytest.raises(UsageError, match="lasts more than 1,000,000 frames a period"):
        check_band(1e-8, 1e-7, 30.0)
    check_band(1e-4, 1e-3, 30.0)  # 300,000 frames a period: allowed


@pytest.mark.parametrize("band", [(0.0001, 0.0003), (0.001, 0.003), (1.0, 4.0)])
def test_difference_of_iir_peaks_at_one_however_low_its_band(band):
    """Its normalising peak was searched from 1e-4 rad/frame up: a lower band's peak
    was missed and it passed 1.44 (0.0001-0.0003 Hz at 30 fps), 1.03 (0.001-0.003)."""
    selector = DifferenceOfIIRSelector.from_band(*band, 30.0)
    w = np.geomspace(1e-9, np.pi, 200001)
    peak = selector.scale * np.abs(selector._response(np.exp(1j * w))).max()
    assert peak == pytest.approx(1.0, abs=1e-4)
    low, high = selector.half_power_band(30.0)
    assert low < band[0] < band[1] < high
