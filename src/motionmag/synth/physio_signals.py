"""Ground-truth signals of the synthetic physiological videos: pulse, breathing, head turns.

What matters (Chen and McDuff 2018, "DeepMag", Sec. 4; METHODS.md section 4):

- **Every signal comes with its exact time derivative**, because DeepMag's networks regress
  the derivative of the target signal. Signals are functions of a *cycle count*
  ``u(t) = u0 + integral of rate / 60 dt`` (trapezoid on the sample times), so a rate
  that varies (heart-rate variability) bends the waveform smoothly, and ``d/dt`` follows
  by the chain rule (``du/dt = rate / 60``).
- **The pulse is a PPG, not a sinusoid**: one systolic peak and one dicrotic notch per beat
  (our model: a split-Gaussian systolic wave plus a Gaussian diastolic wave; the dip between
  them is the notch), about zero mean, peak-to-peak 1 times a per-beat amplitude in
  [0.8, 1.2].
  Its fundamental is the strongest harmonic, so the spectral peak is the heart rate.
- **Rates stay in the paper's bands**: heart rate 42-150 bpm (0.7-2.5 Hz) with respiratory
  sinus arrhythmia, a Mayer wave and a drift; breathing 10-30 breaths/min (0.16-0.5 Hz).
- **Head yaw for the paper's tasks** A-D (still; sweep at 10 deg/s; at 30 deg/s; a random
  re-orientation once per second). The sweeps have periods of about 26 s and 8.7 s and
  their harmonics, D steps at 1 Hz: these land in the respiration and pulse bands.

All functions take sample times ``t_s`` in seconds (increasing) and a NumPy ``Generator``;
the same generator state gives the same signal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import UsageError

#: the paper's four head-motion tasks (Sec. 4)
TASKS = ("A", "B", "C", "D")

#: yaw speed (deg/s) at the centre of the sweeps of tasks B and C
SWEEP_SPEED_DEG_S = {"B": 10.0, "C": 30.0}

#: per-beat (per-breath) amplitudes are clipped to 1 +- this
_MAX_CYCLE_DEV = 0.2


def smooth_noise(
    t_s: np.ndarray,
    rng: np.random.Generator,
    max_hz: float,
    components: int = 6,
    min_hz: float = 0.01,
) -> np.ndarray:
    """A smooth random signal (T,) with ``|x| <= 1``: random sinusoids in [min_hz, max_hz]."""
    freqs = rng.uniform(min_hz, max_hz, components)
    phases = rng.uniform(0, 2 * np.pi, components)
    amps = rng.uniform(0.5, 1.0, components)
    x = (amps[:, None] * np.sin(2 * np.pi * freqs[:, None] * t_s[None] + phases[:, None])).sum(0)
    return x / amps.sum()


def _cycles(t_s: np.ndarray, rate_per_min: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Cycle count ``u(t) = u0 + integral of rate / 60`` (trapezoid), u0 random in [0, 1)."""
    f = np.asarray(rate_per_min, dtype=np.float64) / 60.0
    du = np.concatenate([[0.0], np.cumsum(0.5 * (f[1:] + f[:-1]) * np.diff(t_s))])
    return rng.uniform(0, 1) + du


def _cycle_gain(u: np.ndarray, rng: np.random.Generator, jitter: float) -> np.ndarray:
    """Per-cycle amplitudes ``1 + jitter N(0, 1)`` (clipped), constant over each cycle.

    The cycles start where the waveforms are 0 with zero slope (the foot of a beat, the end
    of an exhalation), so the scaled signal keeps a continuous value and derivative.
    """
    k = np.floor(u).astype(int)
    k -= k.min()
    deviation = np.clip(jitter * rng.standard_normal(k.max() + 1), -_MAX_CYCLE_DEV, _MAX_CYCLE_DEV)
    return (1 + deviation)[k]


def _split_gauss(x: np.ndarray, mu: float, sl: float, sr: float) -> tuple[np.ndarray, np.ndarray]:
    """Split Gaussian (width ``sl`` left of ``mu``, ``sr`` right) and its derivative."""
    s = np.where(x < mu, sl, sr)
    g = np.exp(-0.5 * ((x - mu) / s) ** 2)
    return g, -g * (x - mu) / s**2


@dataclass(frozen=True)
class PPGShape:
    """One beat of the PPG as a function of the beat fraction x in [0, 1) (our model).

    Systolic wave: split Gaussian at ``mu1`` (rise width ``rise``, fall width ``fall``);
    diastolic wave: Gaussian at ``mu2`` of width ``sigma2`` and relative height ``ratio``;
    the dip between them is the dicrotic notch. Wrapped over x +- 1 (periodic).
    """

    mu1: float = 0.22
    rise: float = 0.05
    fall: float = 0.08
    mu2: float = 0.53
    sigma2: float = 0.09
    ratio: float = 0.5

    @staticmethod
    def random(rng: np.random.Generator) -> PPGShape:
        """A random beat; the diastolic wave is at least 2.9 widths away, so a notch exists."""
        mu1 = rng.uniform(0.18, 0.25)
        rise = rng.uniform(0.04, 0.06)
        fall = rng.uniform(0.065, 0.085)
        sigma2 = rng.uniform(0.07, 0.10)
        mu2 = mu1 + rng.uniform(2.9, 3.4) * max(fall, sigma2)
        return PPGShape(mu1, rise, fall, mu2, sigma2, rng.uniform(0.35, 0.6))

    def _raw(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        value = np.zeros_like(x, dtype=np.float64)
        slope = np.zeros_like(x, dtype=np.float64)
        for m in (-1.0, 0.0, 1.0):
            g, dg = _split_gauss(x + m, self.mu1, self.rise, self.fall)
            h, dh = _split_gauss(x + m, self.mu2, self.sigma2, self.sigma2)
            value += g + self.ratio * h
            slope += dg + self.ratio * dh
        return value, slope

    def _normalisation(self) -> tuple[float, float, float]:
        """(foot position in x, foot value, peak-to-peak) of the raw waveform."""
        x = (np.arange(4096) + 0.5) / 4096
        raw, _ = self._raw(x)
        i = int(np.argmin(raw))
        return float(x[i]), float(raw[i]), float(raw.max() - raw[i])

    def __call__(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Template and its x-derivative at beat phases x, measured from the foot.

        Values in [0, 1]: 0 at the foot (x = 0, the start of the upstroke, a smooth
        minimum), 1 at the systolic peak.
        """
        foot, low, span = self._normalisation()
        value, slope = self._raw(np.asarray(x, dtype=np.float64) + foot)
        return (value - low) / span, slope / span

    def mean(self) -> float:
        """Mean of the template over one beat."""
        value, _ = self((np.arange(4096) + 0.5) / 4096)
        return float(value.mean())


def ppg_waveform(
    t_s: np.ndarray,
    hr_bpm: np.ndarray,
    rng: np.random.Generator,
    shape: PPGShape | None = None,
    beat_jitter: float = 0.06,
) -> tuple[np.ndarray, np.ndarray]:
    """A PPG pulse ``p(t)`` following a heart-rate series, and ``dp/dt`` (1/s).

    Args:
        t_s: sample times (T,) in s, increasing.
        hr_bpm: heart rate (T,) in beats per minute at those times.
        rng: draws the shape (if not given), the start phase and the per-beat amplitudes.
        shape: beat template; default :meth:`PPGShape.random`.
        beat_jitter: std of the per-beat relative amplitude (clipped to +-0.2).

    Returns:
        ``(pulse, derivative)``, both (T,): the pulse has one systolic peak and one dicrotic
        notch per beat, peak-to-peak equal to the beat's amplitude (1 +- 0.2; each beat is
        scaled from foot to foot, so value and slope stay continuous), minus the template
        mean (zero mean for unit beats); the derivative is exact (chain rule through the
        beat phase).
    """
    t_s = np.asarray(t_s, dtype=np.float64)
    shape = shape or PPGShape.random(rng)
    u = _cycles(t_s, hr_bpm, rng)
    gain = _cycle_gain(u, rng, beat_jitter)
    value, slope = shape(u - np.floor(u))
    rate_hz = np.asarray(hr_bpm, dtype=np.float64) / 60.0
    return gain * value - shape.mean(), gain * slope * rate_hz


def _breath(x: np.ndarray, inhale: float) -> tuple[np.ndarray, np.ndarray]:
    """One breath over x in [0, 1): raised-cosine inhale 0 -> 1 over ``inhale``, exhale back."""
    up = x < inhale
    xe = (x - inhale) / (1 - inhale)
    value = np.where(up, 0.5 * (1 - np.cos(np.pi * x / inhale)), 0.5 * (1 + np.cos(np.pi * xe)))
    slope = np.where(
        up,
        0.5 * np.pi / inhale * np.sin(np.pi * x / inhale),
        -0.5 * np.pi / (1 - inhale) * np.sin(np.pi * xe),
    )
    return value, slope


def respiration_signal(
    t_s: np.ndarray,
    br_bpm: np.ndarray,
    rng: np.random.Generator,
    inhale_fraction: float | None = None,
    depth_jitter: float = 0.12,
) -> tuple[np.ndarray, np.ndarray]:
    """Inhalation depth (T,) (0 at full exhalation, about 1 at full inhalation) and d/dt (1/s).

    Args:
        t_s: sample times (T,) in s.
        br_bpm: breathing rate (T,) in breaths per minute.
        rng: draws the inhale fraction (if None), the start phase and per-breath depths.
        inhale_fraction: fraction of each cycle spent inhaling (default U(0.35, 0.45)).
        depth_jitter: std of the per-breath relative depth (clipped to +-0.2; constant over
            a breath, which starts and ends at 0 with zero slope).
    """
    t_s = np.asarray(t_s, dtype=np.float64)
    inhale = float(inhale_fraction if inhale_fraction is not None else rng.uniform(0.35, 0.45))
    u = _cycles(t_s, br_bpm, rng)
    gain = _cycle_gain(u, rng, depth_jitter)
    value, slope = _breath(u - np.floor(u), inhale)
    rate_hz = np.asarray(br_bpm, dtype=np.float64) / 60.0
    return gain * value, gain * slope * rate_hz


def breathing_rate_series(
    t_s: np.ndarray, rng: np.random.Generator, br_range_bpm: tuple[float, float] = (10.0, 30.0)
) -> np.ndarray:
    """Breaths per minute (T,): a base rate in the range, +-8 % slow variation, clipped."""
    low, high = br_range_bpm
    base = rng.uniform(low + 0.05 * (high - low), high - 0.05 * (high - low))
    series = base * (1 + 0.08 * smooth_noise(t_s, rng, 0.05, min_hz=0.005))
    return np.clip(series, low, high)


def heart_rate_series(
    t_s: np.ndarray,
    rng: np.random.Generator,
    respiration: np.ndarray,
    hr_range_bpm: tuple[float, float] = (42.0, 150.0),
) -> np.ndarray:
    """Beats per minute (T,) with variability (our model of HRV), clipped to the range.

    Base rate uniform in the range (6 bpm inside its ends); respiratory sinus arrhythmia
    (heart rate up while inhaling: 1-4 bpm per unit of ``respiration``); a Mayer wave near
    0.1 Hz (0.5-2 bpm amplitude); a slow drift (up to 1-4 bpm).
    """
    low, high = hr_range_bpm
    base = rng.uniform(min(low + 6, (low + high) / 2), max(high - 6, (low + high) / 2))
    resp = np.asarray(respiration, dtype=np.float64)
    rsa = rng.uniform(1, 4) * (resp - resp.mean())
    mayer_hz, mayer_phase = rng.uniform(0.08, 0.12), rng.uniform(0, 2 * np.pi)
    mayer = rng.uniform(0.5, 2) * np.sin(2 * np.pi * mayer_hz * t_s + mayer_phase)
    drift = rng.uniform(1, 4) * smooth_noise(t_s, rng, 0.03, min_hz=0.003)
    return np.clip(base + rsa + mayer + drift, low, high)


def _min_jerk(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0, 1)
    return x**3 * (10 - 15 * x + 6 * x**2)


def head_yaw(
    t_s: np.ndarray,
    task: str,
    rng: np.random.Generator,
    sweep_deg: float = 120.0,
    step_deg: float = 20.0,
    turn_s: float = 0.35,
) -> np.ndarray:
    """Head yaw in degrees (T,) for one of the paper's tasks (Sec. 4).

    A: 0 (still). B, C: a ``sweep_deg`` sweep centred on the camera at 10 or 30 deg/s
    (:data:`SWEEP_SPEED_DEG_S`, the slope at the centre), turning round smoothly: an
    arcsine of a sine, which is a triangle wave with rounded tips (period about 26 s and
    8.7 s for 120 degrees). D: once per second (random offset) a minimum-jerk turn of
    ``turn_s`` to a new random target on a ``step_deg`` grid over the arc.
    """
    if task not in TASKS:
        raise UsageError(f"task '{task}' is unknown: choose one of {', '.join(TASKS)}.")
    t_s = np.asarray(t_s, dtype=np.float64)
    half = sweep_deg / 2
    if task == "A":
        return np.zeros_like(t_s)
    if task in SWEEP_SPEED_DEG_S:
        delta = 0.01  # rounds the turnarounds (our choice)
        peak = math.asin(1 - delta)
        period_s = 2 * math.pi * half * (1 - delta) / (SWEEP_SPEED_DEG_S[task] * peak)
        s = (1 - delta) * np.sin(2 * np.pi * t_s / period_s + rng.uniform(0, 2 * np.pi))
        return half * np.arcsin(s) / peak
    targets = -half + step_deg * np.arange(round(sweep_deg / step_deg) + 1)
    start_s = t_s[0] + rng.uniform(0, 1)
    current = int(rng.integers(len(targets)))
    yaw = np.full_like(t_s, targets[current])
    while start_s <= t_s[-1]:
        nxt = (current + 1 + int(rng.integers(len(targets) - 1))) % len(targets)  # not current
        ramp = _min_jerk((t_s - start_s) / turn_s)
        move = targets[current] + (targets[nxt] - targets[current]) * ramp
        yaw = np.where(t_s >= start_s, move, yaw)
        current, start_s = nxt, start_s + 1.0
    return yaw
