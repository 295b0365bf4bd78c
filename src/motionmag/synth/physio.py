"""Synthetic physiological videos with known pulse, respiration and head motion (DeepMag data).

What matters (Chen and McDuff 2018, "DeepMag", Sec. 3.2-3.3 and 4; METHODS.md section 4):

- **The truth is exact and saved with the video.** The paper trains on faces with a contact
  PPG and a respiration belt, which we do not have; here every signal is generated first
  (:mod:`.physio_signals`) and the frames are rendered from it: the pulse ``p(t)`` and its
  derivative, the heart rate, the respiration and the chest displacement in px with their
  derivatives, the head pose per frame, and per-frame skin and chest masks.
- **The pulse is a colour change of the skin only, well below one grey level.** Skin pixels
  are multiplied by ``1 + A * u_p * p(t)`` per channel before noise and quantisation:
  ``u_p`` is the normalised blood-volume-pulse signature 0.33 : 0.77 : 0.53 (R : G : B,
  de Haan and van Leest 2014, quoted in the paper Sec. 5.1) relative to green, ``A`` the
  green peak-to-peak AC/DC ratio (0.2-0.4 %: about 0.1-0.5 grey level on the mean skin
  green, under 0.8 on the brightest skin pixel), ``p`` a PPG with systolic peak and
  dicrotic notch (peak-to-peak 0.8-1.2 per beat). This is the diffuse term ``u_p I0 p(t)``
  of the paper's Eq. 10-11, proportional to the local illumination and so to the skin
  colour: the *relative* change of each channel is exactly ``A u_p p``, which is what the
  normalised frame difference of Eq. 15 measures. Sensor noise (read plus shot noise) is
  added before rounding, so it dithers the 8-bit quantisation and the sub-grey-level pulse
  survives in any spatial average.
- **The respiration is a sub-pixel rigid translation of the body layer** (shoulders, chest
  and neck), upwards while inhaling, 10-30 breaths per minute: the layer is rendered at
  ``hires_factor`` x, shifted by whole high-resolution pixels, area-averaged and blurred by
  the optics PSF; in between, frames interpolate linearly (so the change stays local to
  the body: no ringing in the background, as a Fourier shift of the sharp outline gives).
- **Distractors share the frequency bands** (the paper's tasks A-D, Sec. 4): a head turning
  about the vertical axis (yaw), rendered as a textured ellipsoid whose surface rotates
  under fixed lighting (:func:`.physio_signals.head_yaw`). Every task also has a small
  natural sway (``natural_motion``: under about 1 px; 0 makes task A perfectly still
  apart from pulse and breathing). A and D have a photographed background, B and C a dark
  one, as in the paper.
- **Participant-independent splits**: the photos that textures (skin detail, hair,
  clothing, background) are cut from are split into train and test sets that share no
  photo (:func:`split_photos`: photo ``i`` is a test photo when ``i % 4 == 3``).
- **Deterministic**: video ``index`` of (``seed``, ``split``) draws everything from
  ``numpy.random.SeedSequence([seed, index, split, ...])``. The scene, the pulse and the
  breathing do not depend on the task, only the head motion does: video ``i`` of tasks
  A-D is the same "participant" with the same signals under the four motions.

Our choices where the paper is silent (all in :class:`PhysioConfig`): 128 x 128 px frames at
30 fps (the paper's 36 x 36 colour input and one pyramid scale are computed from them);
chest motion 0.25-0.75 px peak-to-peak (times a per-breath depth of 0.8-1.2); read noise
0.5-1.5 grey levels plus shot noise (variance 0.01 x intensity); optics PSF a Gaussian of
0.6 px; the head also shifts sideways by 0.15 x its half-width x sin(yaw) (it pivots on
the neck). No ballistocardiographic head motion, no illumination flicker.
"""

from __future__ import annotations

import functools
import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np

from ..atomic import write_json
from ..errors import UsageError
from .photos import PhotoPool
from .physio_signals import (
    TASKS,
    breathing_rate_series,
    head_yaw,
    heart_rate_series,
    ppg_waveform,
    respiration_signal,
    smooth_noise,
)

#: the two participant-independent splits
SPLITS = ("train", "test")

#: normalised pulsatile strengths R : G : B (de Haan and van Leest 2014; paper Sec. 5.1)
PBV_SIGNATURE = (0.33, 0.77, 0.53)

#: columns of ``truth["head_pose"]``
HEAD_POSE_COLUMNS = ("yaw_deg", "roll_deg", "dx_px", "dy_px")

#: a photo of the pool is a test photo when ``index % TEST_EVERY == TEST_EVERY - 1``
TEST_EVERY = 4

#: tasks with a photographed background; the others have a dark one (paper Sec. 4)
_PHOTO_BACKGROUND_TASKS = ("A", "D")


@dataclass(frozen=True)
class PhysioConfig:
    """Parameters of a physiological video; ranges are drawn uniformly per video.

    Lengths are output pixels (at ``size_px``); rates in beats or breaths per minute.
    """

    size_px: int = 128
    fps: float = 30.0
    duration_s: float = 30.0
    task: str = "A"
    hr_range_bpm: tuple[float, float] = (42.0, 150.0)  # paper's pulse band 0.7-2.5 Hz
    br_range_bpm: tuple[float, float] = (10.0, 30.0)  # paper's respiration band 0.16-0.5 Hz
    pulse_amplitude_range: tuple[float, float] = (0.002, 0.004)  # green AC/DC, peak-to-peak
    pulse_rgb: tuple[float, float, float] = PBV_SIGNATURE
    resp_amplitude_px_range: tuple[float, float] = (0.25, 0.75)  # chest, peak-to-peak
    read_noise_range: tuple[float, float] = (0.5, 1.5)  # grey levels (std)
    shot_noise: float = 0.01  # noise variance per grey level of intensity
    natural_motion: float = 1.0  # scale of the small head sway present in every task
    sweep_deg: float = 120.0  # B, C: sweep centred on the camera; D: arc of the targets
    step_deg: float = 20.0  # D: targets on this grid
    turn_s: float = 0.35  # D: duration of one re-orientation (minimum jerk)
    hires_factor: int = 4
    psf_sigma_px: float = 0.6

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise UsageError(f"task '{self.task}' is unknown: choose one of {', '.join(TASKS)}.")
        if int(self.size_px) != self.size_px or self.size_px < 48:
            raise UsageError(f"size {self.size_px} px is too small: use at least 48 px.")
        if self.fps <= 0 or self.duration_s <= 0:
            raise UsageError("fps and duration_s must be positive.")
        if int(self.hires_factor) != self.hires_factor or self.hires_factor < 1:
            raise UsageError(f"hires_factor must be a positive integer, not {self.hires_factor}.")
        ranges = (
            "hr_range_bpm",
            "br_range_bpm",
            "pulse_amplitude_range",
            "resp_amplitude_px_range",
            "read_noise_range",
        )
        for name in ranges:
            low, high = getattr(self, name)
            if not 0 <= low <= high:
                raise UsageError(f"{name} {getattr(self, name)} must satisfy 0 <= low <= high.")
        if self.hr_range_bpm[0] <= 0 or self.br_range_bpm[0] <= 0:
            raise UsageError("heart and breathing rates must be positive.")

    @property
    def frames(self) -> int:
        """Number of frames, ``round(duration_s * fps)`` (at least 2)."""
        return max(2, round(self.duration_s * self.fps))

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class PhysioVideo:
    """One rendered video and its ground truth.

    Attributes:
        frames: uint8 RGB (T, H, W, 3), noisy and quantised.
        fps: frames per second.
        truth: float64 arrays, all (T,) unless noted: ``pulse`` (PPG, zero mean,
            peak-to-peak about 1), ``pulse_derivative`` (d pulse / dt, 1/s),
            ``heart_rate_bpm``, ``respiration`` (inhalation depth, 0 at full exhalation,
            about 1 at full inhalation), ``respiration_px`` (upward chest displacement, px),
            ``respiration_derivative`` (d respiration_px / dt, px/s),
            ``breathing_rate_bpm``, ``chest_shift_px`` (T, 2) the body layer's (dx, dy)
            in image coordinates (dy = -respiration_px), ``head_pose`` (T, 4) with columns
            :data:`HEAD_POSE_COLUMNS`, ``pulse_gain_rgb`` (3,) the relative change of R, G,
            B per unit of ``pulse`` (= A * u_p).
        skin_mask: bool (T, H, W), pixels at least half covered by pulsing skin.
        chest_mask: bool (T, H, W), pixels at least half covered by the moving clothing
            (shoulders and chest, not the neck, not hidden by the head).
        meta: plain scalars and strings (task, split, index, seed, mean rates, amplitudes,
            noise, texture photo names): what :func:`write_physio_dataset` saves as JSON.
        frames_float: optional float32 (T, H, W, 3) noise-free frames in [0, 255] before
            quantisation (``keep_float=True``), for exact measurements.
    """

    frames: np.ndarray
    fps: float
    truth: dict[str, np.ndarray]
    skin_mask: np.ndarray
    chest_mask: np.ndarray
    meta: dict = field(default_factory=dict)
    frames_float: np.ndarray | None = None


# --------------------------------------------------------------------------- scene


@dataclass
class PhysioParams:
    """Everything random about one video: geometry, appearance, signals (no frames)."""

    index: int
    seed: int
    split: str
    config: PhysioConfig
    photos: dict[str, int]  # role -> photo index in the pool
    photo_names: dict[str, str]
    geometry: dict[str, float]
    appearance: dict
    truth: dict[str, np.ndarray]
    scalars: dict[str, float]
    noise_seed: np.random.SeedSequence


def split_photos(n_photos: int, split: str) -> list[int]:
    """Indices of the pool's photos that ``split`` may use (disjoint between splits)."""
    if split not in SPLITS:
        raise UsageError(f"split '{split}' is unknown: choose one of {', '.join(SPLITS)}.")
    test = [i for i in range(n_photos) if i % TEST_EVERY == TEST_EVERY - 1]
    if split == "test":
        if not test:
            raise UsageError("the photo pool is too small for a test split: add photos.")
        return test
    return [i for i in range(n_photos) if i % TEST_EVERY != TEST_EVERY - 1]


@functools.lru_cache(maxsize=1)
def default_photos() -> PhotoPool:
    """The bundled photo pool, built once per process (it decodes 13 photos, ~1 s)."""
    return PhotoPool()


def sample_physio_params(
    index: int,
    seed: int = 0,
    config: PhysioConfig | None = None,
    split: str = "train",
    photos: PhotoPool | None = None,
) -> PhysioParams:
    """Draw the scene, the signals and the head motion of video ``index`` (no rendering).

    Arguments as :func:`make_physio_video`. Four independent streams are spawned from
    ``SeedSequence([seed, index, split])``: scene, signals, head motion, sensor noise; only
    the head motion depends on ``config.task``.
    """
    config = config or PhysioConfig()
    photos = photos or default_photos()
    allowed = split_photos(len(photos), split)
    root = np.random.SeedSequence([int(seed), int(index), SPLITS.index(split), 0xD33B])
    scene_seq, signal_seq, motion_seq, noise_seq = root.spawn(4)
    rng = np.random.default_rng(scene_seq)

    roles = ("skin", "hair", "clothing", "background")
    chosen = {role: int(allowed[int(rng.integers(len(allowed)))]) for role in roles}
    names = {role: photos.names[i] for role, i in chosen.items()}

    s = config.size_px
    a = 0.15 * s * rng.uniform(0.9, 1.1)
    geometry = {
        "cx": s * (0.5 + rng.uniform(-0.04, 0.04)),
        "cy": s * (0.35 + rng.uniform(-0.02, 0.02)),
        "a": a,
        "b": a * rng.uniform(1.25, 1.4),
        "shoulder_half": s * 0.40 * rng.uniform(0.9, 1.1),
        "shoulder_power": rng.uniform(2.4, 3.2),
        "neck_half": a * rng.uniform(0.5, 0.62),
        "shoulder_gap": s * rng.uniform(0.04, 0.08),  # chin to the top of the shoulders
        "yaw_shift": 0.15,  # head shift / half-width per sin(yaw) (pivot on the neck)
    }
    light = np.array([rng.uniform(-0.5, 0.5), rng.uniform(-0.6, -0.1), 1.0])
    tone_t = rng.uniform(0, 1)
    light_tone = np.array([220.0, 178.0, 150.0])
    dark_tone = np.array([118.0, 80.0, 58.0])
    skin_tone = ((1 - tone_t) * light_tone + tone_t * dark_tone) * rng.uniform(0.96, 1.04, 3)
    hair_tones = np.array(
        [[30, 24, 20], [70, 45, 28], [120, 85, 50], [165, 135, 90], [90, 90, 90]], dtype=np.float64
    )
    appearance = {
        "light": light / np.linalg.norm(light),
        "ambient": rng.uniform(0.35, 0.5),
        "illumination": rng.uniform(0.85, 0.95),
        "skin_tone": skin_tone,
        "skin_detail": rng.uniform(0.03, 0.07),
        "hair_tone": hair_tones[int(rng.integers(len(hair_tones)))] * rng.uniform(0.85, 1.15),
        "shirt_tone": rng.uniform(40, 200, 3),
        "shirt_contrast": rng.uniform(0.15, 0.4),
        "background_gain": rng.uniform(0.5, 0.9),
        "black_level": rng.uniform(6, 18),
        "features": {
            "eye_lambda": rng.uniform(0.36, 0.44),
            "eye_v": rng.uniform(-0.16, -0.08),
            "mouth_v": rng.uniform(0.4, 0.5),
            "hairline_v": rng.uniform(-0.58, -0.45),
        },
        "crop_seed": int(rng.integers(2**31)),
    }

    sig = np.random.default_rng(signal_seq)
    n = config.frames
    t = np.arange(n) / config.fps
    br = breathing_rate_series(t, sig, config.br_range_bpm)
    resp, dresp = respiration_signal(t, br, sig)
    hr = heart_rate_series(t, sig, resp, config.hr_range_bpm)
    pulse, dpulse = ppg_waveform(t, hr, sig)
    amp = sig.uniform(*config.pulse_amplitude_range)
    rgb = np.asarray(config.pulse_rgb, dtype=np.float64)
    gain_rgb = amp * rgb / rgb[1]
    resp_amp = sig.uniform(*config.resp_amplitude_px_range)
    resp_px = resp_amp * resp
    read_noise = sig.uniform(*config.read_noise_range)

    move = np.random.default_rng(motion_seq)  # the only draws that depend on the task
    yaw = head_yaw(t, config.task, move, config.sweep_deg, config.step_deg, config.turn_s)
    sway = [config.natural_motion * smooth_noise(t, move, 0.25) for _ in range(4)]
    yaw = yaw + 1.5 * sway[0]  # degrees
    roll = 1.0 * sway[1]  # degrees
    dx = 0.4 * sway[2] + geometry["yaw_shift"] * geometry["a"] * np.sin(np.radians(yaw))
    dy = 0.3 * sway[3]
    truth = {
        "pulse": pulse,
        "pulse_derivative": dpulse,
        "heart_rate_bpm": hr,
        "respiration": resp,
        "respiration_px": resp_px,
        "respiration_derivative": resp_amp * dresp,
        "breathing_rate_bpm": br,
        "chest_shift_px": np.stack([np.zeros(n), -resp_px], axis=1),
        "head_pose": np.stack([yaw, roll, dx, dy], axis=1),
        "pulse_gain_rgb": gain_rgb,
    }
    scalars = {
        "pulse_amplitude": float(amp),
        "resp_amplitude_px": float(resp_amp),
        "heart_rate_mean_bpm": float(hr.mean()),
        "breathing_rate_mean_bpm": float(br.mean()),
        "read_noise": float(read_noise),
    }
    return PhysioParams(
        int(index),
        int(seed),
        split,
        config,
        chosen,
        names,
        geometry,
        appearance,
        truth,
        scalars,
        noise_seq,
    )


# --------------------------------------------------------------------------- rendering


def _crop(
    photo: np.ndarray,
    height: int,
    width: int,
    rng: np.random.Generator,
    zoom: tuple[float, float] = (0.5, 2.0),
) -> np.ndarray:
    """A random crop of ``photo`` resized to (height, width), float32 RGB."""
    ph, pw = photo.shape[:2]
    z = float(np.exp(rng.uniform(np.log(zoom[0]), np.log(zoom[1]))))  # photo px per out px
    z = min(z, ph / height, pw / width)
    ch, cw = max(2, int(height * z)), max(2, int(width * z))
    y0 = int(rng.integers(0, ph - ch + 1))
    x0 = int(rng.integers(0, pw - cw + 1))
    crop = photo[y0 : y0 + ch, x0 : x0 + cw]
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    interp = cv2.INTER_AREA if z > 1 else cv2.INTER_CUBIC
    return cv2.resize(np.ascontiguousarray(crop), (width, height), interpolation=interp)


def _detail(crop: np.ndarray, sigma_px: float) -> np.ndarray:
    """Zero-mean, unit-std luminance detail (high-pass) of a crop, clipped to +-3."""
    lum = crop.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    high = lum - cv2.GaussianBlur(lum, (0, 0), sigma_px)
    return np.clip(high / max(float(high.std()), 1e-3), -3, 3)


def _area(image: np.ndarray, factor: int) -> np.ndarray:
    if factor == 1:
        return image
    h, w = image.shape[0] // factor, image.shape[1] // factor
    return cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)


def _blur(image: np.ndarray, sigma: float) -> np.ndarray:
    if sigma <= 0:
        return image
    if image.ndim == 3 and image.shape[2] > 4:
        return np.stack([_blur(image[..., c], sigma) for c in range(image.shape[2])], axis=-1)
    return cv2.GaussianBlur(image, (0, 0), sigma, borderType=cv2.BORDER_REFLECT_101)


class _Scene:
    """Per-video textures and layers; ``frame_parts(t)`` renders one noise-free frame."""

    def __init__(self, params: PhysioParams, photos: PhotoPool, pulse_scale: float = 1.0) -> None:
        self.p = params
        self.pulse_scale = float(pulse_scale)
        cfg = params.config
        self.s, self.f = cfg.size_px, int(cfg.hires_factor)
        self.sigma = cfg.psf_sigma_px
        rng = np.random.default_rng(params.appearance["crop_seed"])
        self.background = self._background(photos, rng)
        self._face_texture(photos, rng)
        self._body_layer(photos, rng)

    # -- textures --------------------------------------------------------------------------

    def _background(self, photos: PhotoPool, rng: np.random.Generator) -> np.ndarray:
        app, s = self.p.appearance, self.s
        photo = photos.get(self.p.photos["background"])
        crop = _crop(photo, s, s, rng, zoom=(1.0, 3.0))
        if self.p.config.task in _PHOTO_BACKGROUND_TASKS:
            bg = crop * app["background_gain"] * app["illumination"]
        else:  # a dark, faintly textured backdrop
            grey = app["black_level"] * (1 + 0.1 * _detail(crop, 4.0))
            bg = np.repeat(grey[..., None], 3, axis=2)
        return _blur(np.ascontiguousarray(bg, dtype=np.float32), self.sigma)

    def _face_texture(self, photos: PhotoPool, rng: np.random.Generator) -> None:
        """Albedo and skin map over (longitude lambda in [-pi, pi), v in [-1, 1])."""
        g, app, f = self.p.geometry, self.p.appearance, self.f
        width = max(64, round(2 * np.pi * g["a"] * f))
        height = max(32, round(2 * g["b"] * f))
        self.tex_w, self.tex_h = width, height
        lam = ((np.arange(width) + 0.5) / width - 0.5) * 2 * np.pi
        v = ((np.arange(height) + 0.5) / height) * 2 - 1
        lam_g, v_g = np.meshgrid(lam, v)
        skin_detail = _detail(_crop(photos.get(self.p.photos["skin"]), height, width, rng), 6.0)
        blotch = cv2.GaussianBlur(
            rng.standard_normal((height, width)).astype(np.float32), (0, 0), width / 24
        )
        blotch /= max(float(blotch.std()), 1e-6)
        skin = app["skin_tone"][None, None] * (
            1 + app["skin_detail"] * skin_detail[..., None] + 0.025 * blotch[..., None]
        )
        hair_detail = _detail(_crop(photos.get(self.p.photos["hair"]), height, width, rng), 3.0)
        hair = app["hair_tone"][None, None] * (1 + 0.25 * hair_detail[..., None])
        feats = app["features"]
        # hair: above the hairline and round the back of the head (soft edge ~2 texture px)
        edge = 2.0 / height * 2
        hairline = feats["hairline_v"] + 0.08 * np.cos(2 * lam_g)
        hair_w = np.clip((hairline - v_g) / edge + 0.5, 0, 1)
        side = np.clip((np.abs(lam_g) - 1.35) / 0.05 + 0.5, 0, 1)
        hair_w = np.maximum(hair_w, side)
        features = np.zeros((height, width), np.uint8)
        colours = np.zeros((height, width, 3), np.float32)
        px_lam, px_v = width / (2 * np.pi), height / 2

        def at(lam_rad: float, v_unit: float) -> tuple[int, int]:
            return (
                round(((lam_rad / (2 * np.pi)) + 0.5) * width * 16),
                round(((v_unit + 1) / 2) * height * 16),
            )

        def axes(lam_rad: float, v_unit: float) -> tuple[int, int]:
            return round(lam_rad * px_lam * 16), round(v_unit * px_v * 16)

        def draw(colour, centre, size, fill=-1):
            mask = np.zeros((height, width), np.uint8)
            cv2.ellipse(mask, centre, size, 0, 0, 360, 255, fill, cv2.LINE_AA, 4)
            m = mask.astype(np.float32)[..., None] / 255
            colours[...] = colours * (1 - m) + m * np.asarray(colour, np.float32)
            np.maximum(features, mask, out=features)

        tone = app["skin_tone"]
        ex, ev, mv = feats["eye_lambda"], feats["eye_v"], feats["mouth_v"]
        for sign in (-1, 1):
            draw(app["hair_tone"] * 0.8, at(sign * ex, ev - 0.13), axes(0.17, 0.03))
            draw((225, 220, 215), at(sign * ex, ev), axes(0.15, 0.045))
            draw((50, 40, 35), at(sign * ex, ev), axes(0.055, 0.04))
        draw(tone * np.array([0.85, 0.55, 0.55]), at(0.0, mv), axes(0.28, 0.055))
        feature_w = features.astype(np.float32) / 255
        albedo = skin * (1 - hair_w[..., None]) + hair * hair_w[..., None]
        albedo = albedo * (1 - feature_w[..., None]) + colours * feature_w[..., None]
        albedo = np.clip(albedo, 0, 240)
        skin_map = (1 - hair_w) * (1 - feature_w)
        self.face = np.ascontiguousarray(
            np.concatenate([albedo, skin_map[..., None]], axis=2), dtype=np.float32
        )

    def _body_layer(self, photos: PhotoPool, rng: np.random.Generator) -> None:
        """Shoulders, chest and neck as premultiplied layers, one per whole hires-px shift.

        Channels: colour (3), colour of the skin part (3), alpha, skin coverage. The body
        is rendered once at ``hires_factor`` x; every vertical shift by a whole hires pixel
        that the breathing reaches is area-averaged and PSF-blurred, so a frame's
        sub-pixel shift is a linear interpolation between two of these layers (exact at
        multiples of 1 / hires_factor px, and local: nothing changes more than a few pixels
        away from the body's edges).
        """
        g, app, s, f = self.p.geometry, self.p.appearance, self.s, self.f
        chin = g["cy"] + g["b"]
        y_top = g["cy"] + 0.3 * g["b"]  # the neck starts behind the head
        y_shoulder = chin + g["shoulder_gap"]
        shifts = self.p.truth["chest_shift_px"][:, 1] * f  # hires px
        pad = 4 + math.ceil(np.abs(shifts).max() / f)  # output rows above and below
        self.body_y0 = max(0, math.floor(y_top) - pad)
        rows = s - self.body_y0 + pad
        hh, ww = rows * f, s * f
        ys = self.body_y0 + (np.arange(hh) + 0.5) / f - 0.5
        xs = (np.arange(ww) + 0.5) / f - 0.5
        X, Y = np.meshgrid(xs.astype(np.float32), ys.astype(np.float32))
        half_h = 0.45 * s
        power = g["shoulder_power"]
        body = (
            np.abs((X - g["cx"]) / g["shoulder_half"]) ** power
            + np.abs((Y - y_shoulder - half_h) / half_h) ** power
        ) <= 1
        body |= (y_shoulder + half_h <= Y) & (np.abs(X - g["cx"]) <= g["shoulder_half"])
        neck = (np.abs(X - g["cx"]) <= g["neck_half"]) & (y_top <= Y) & ~body
        shirt_photo = photos.get(self.p.photos["clothing"])
        shirt_detail = _detail(_crop(shirt_photo, hh, ww, rng, zoom=(0.25, 1.0)), 4.0 * f)
        shade = 1 - 0.15 * np.clip((Y - y_shoulder) / half_h, 0, 1)
        shirt = (
            app["shirt_tone"][None, None]
            * (1 + app["shirt_contrast"] * shirt_detail[..., None])
            * shade[..., None]
        )
        neck_detail = _detail(_crop(photos.get(self.p.photos["skin"]), hh, ww, rng), 6.0 * f)
        under_chin = 0.75 + 0.2 * np.clip((Y - chin) / max(g["shoulder_gap"], 1.0), 0, 1)
        neck_col = (
            app["skin_tone"][None, None]
            * 0.92
            * under_chin[..., None]
            * (1 + app["skin_detail"] * neck_detail[..., None])
        )
        light = app["illumination"]
        colour = np.where(body[..., None], shirt, neck_col) * light
        colour = np.clip(colour, 0, 245).astype(np.float32)
        alpha = (body | neck).astype(np.float32)
        skinm = neck.astype(np.float32)
        channels = [colour * alpha[..., None], colour * skinm[..., None], alpha, skinm]
        stack = np.ascontiguousarray(np.dstack(channels), dtype=np.float32)
        self.body_shift0 = math.floor(shifts.min())
        self.body_layers = []  # (rows, s, 8) each, shifted by body_shift0, +1, ... hires px
        for j in range(self.body_shift0, math.floor(shifts.max()) + 2):
            moved = np.zeros_like(stack)
            if j >= 0:
                moved[j:] = stack[: hh - j]
            else:
                moved[:j] = stack[-j:]
            self.body_layers.append(_blur(_area(moved, f), self.sigma))

    # -- per frame -------------------------------------------------------------------------

    def _body(self, dy_px: float) -> np.ndarray:
        """Body layer (rows, s, 8) translated down by ``dy_px`` (see :meth:`_body_layer`)."""
        v = dy_px * self.f - self.body_shift0
        j = min(math.floor(v), len(self.body_layers) - 2)
        w = np.float32(v - j)
        return (1 - w) * self.body_layers[j] + w * self.body_layers[j + 1]

    def _head(self, pose: np.ndarray) -> tuple[tuple[int, int, int, int], np.ndarray]:
        """Head layer in its box: (y0, y1, x0, x1) and (h, w, 8) premultiplied channels."""
        g, app, f, s = self.p.geometry, self.p.appearance, self.f, self.s
        yaw, roll, dx, dy = (float(v) for v in pose)
        cx, cy = g["cx"] + dx, g["cy"] + dy
        reach = max(g["a"], g["b"]) + 2 + 3 * self.sigma
        x0, x1 = max(0, math.floor(cx - reach)), min(s, math.ceil(cx + reach) + 1)
        y0, y1 = max(0, math.floor(cy - reach)), min(s, math.ceil(cy + reach) + 1)
        xs = (x0 + (np.arange((x1 - x0) * f) + 0.5) / f - 0.5 - cx).astype(np.float32)
        ys = (y0 + (np.arange((y1 - y0) * f) + 0.5) / f - 0.5 - cy).astype(np.float32)
        cr, sr = math.cos(math.radians(roll)), math.sin(math.radians(roll))
        xr = cr * xs[None, :] + sr * ys[:, None]
        yr = -sr * xs[None, :] + cr * ys[:, None]
        sn = xr / np.float32(g["a"])
        v = yr / np.float32(g["b"])
        r2 = sn * sn + v * v
        inside = (r2 <= 1).astype(np.float32)
        width = np.sqrt(np.maximum(1 - v * v, 1e-6))
        lam = np.arcsin(np.clip(sn / width, -1, 1)) + np.float32(math.radians(yaw))
        map_x = ((lam / (2 * np.pi) + 0.5) * self.tex_w - 0.5).astype(np.float32)
        map_y = (((v + 1) / 2) * self.tex_h - 0.5).astype(np.float32)
        tex = cv2.remap(self.face, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)
        nz = np.sqrt(np.maximum(1 - r2, 0))
        light = app["light"]
        lambert = np.maximum(light[0] * sn + light[1] * v + light[2] * nz, 0)
        shade = (app["ambient"] + (1 - app["ambient"]) * lambert) * app["illumination"]
        colour = tex[..., :3] * (shade * inside)[..., None]
        skin = tex[..., 3] * inside
        stack = np.concatenate(
            [colour, colour * tex[..., 3:4], inside[..., None], skin[..., None]], axis=2
        )
        layer = _blur(_area(np.ascontiguousarray(stack, dtype=np.float32), f), self.sigma)
        return (y0, y1, x0, x1), layer

    def frame_parts(self, t: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Frame t split where the pulse enters: (H, W, 3) float32 the noise-free frame
        without the pulse, (H, W, 3) the skin colour that the pulse's relative change
        multiplies (composited like the frame), and (H, W) skin and chest coverage.

        The pulse enters linearly: the frame is ``without + skin_colour * gain(t)``, with
        ``gain(t) = pulse_gain(t)`` (``pulse_gain_rgb * pulse(t) * pulse_scale``)."""
        truth = self.p.truth
        image = self.background.copy()
        colour = np.zeros_like(image)
        skin = np.zeros((self.s, self.s), np.float32)
        chest = np.zeros((self.s, self.s), np.float32)
        body = self._body(truth["chest_shift_px"][t, 1])
        n = self.s - self.body_y0
        body = body[:n]
        roi = image[self.body_y0 :]
        roi[...] = body[..., :3] + (1 - body[..., 6:7]) * roi
        colour[self.body_y0 :] = body[..., 3:6]
        skin[self.body_y0 :] = body[..., 7]
        chest[self.body_y0 :] = body[..., 6] - body[..., 7]
        (y0, y1, x0, x1), head = self._head(truth["head_pose"][t])
        rest = 1 - head[..., 6]
        roi = image[y0:y1, x0:x1]
        roi[...] = head[..., :3] + rest[..., None] * roi
        roi = colour[y0:y1, x0:x1]
        roi[...] = head[..., 3:6] + rest[..., None] * roi
        skin[y0:y1, x0:x1] = head[..., 7] + rest * skin[y0:y1, x0:x1]
        chest[y0:y1, x0:x1] *= rest
        return image, colour, skin, chest

    def pulse_gain(self, t: int, scale: float | None = None) -> np.ndarray:
        """(3,) float32 relative colour change of the skin in frame t (x ``scale``, default
        the scene's ``pulse_scale``)."""
        scale = self.pulse_scale if scale is None else scale
        truth = self.p.truth
        return (truth["pulse_gain_rgb"] * (truth["pulse"][t] * scale)).astype(np.float32)


def _quantise(image: np.ndarray, z: np.ndarray, read_noise: float, shot_noise: float) -> np.ndarray:
    """Add sensor noise (read + shot, grey levels; ``z`` standard normal draws of the
    image's shape) and round to uint8 (the noise dithers)."""
    sigma = np.sqrt(read_noise**2 + shot_noise * np.maximum(image, 0))
    return np.clip(np.rint(image + sigma * z), 0, 255).astype(np.uint8)


def render_physio(
    params: PhysioParams,
    photos: PhotoPool | None = None,
    keep_float: bool = False,
    pulse_scale: float = 1.0,
) -> PhysioVideo:
    """Render the frames of ``params`` (see :func:`make_physio_video`).

    ``pulse_scale`` multiplies the skin's colour change (the truth stays unscaled): 0
    renders the same scene, motion and noise without the pulse, ``alpha`` a perfectly
    magnified pulse (the references of :func:`motionmag.eval.physio_measures.pulse_scores`,
    which :func:`render_physio_with_references` makes in the same pass).
    """
    return _render(params, photos, keep_float, pulse_scale)[0]


def render_physio_with_references(
    params: PhysioParams, alpha: float, photos: PhotoPool | None = None
) -> tuple[PhysioVideo, np.ndarray, np.ndarray]:
    """The video of ``params`` and its pulse references, in one pass over the frames.

    Returns (video, pulse_free, ideal): ``pulse_free`` (T, H, W, 3) float32 is the
    noise-free scene without the pulse (``render_physio(pulse_scale=0, keep_float=True)``'s
    ``frames_float``); ``ideal`` (T, H, W, 3) uint8 the scene with the pulse x ``alpha``
    and the video's own noise draws (``render_physio(pulse_scale=alpha).frames``).
    """
    video, references = _render(params, photos, False, 1.0, float(alpha))
    return video, *references


def _render(
    params: PhysioParams,
    photos: PhotoPool | None,
    keep_float: bool,
    pulse_scale: float,
    reference_alpha: float | None = None,
) -> tuple[PhysioVideo, tuple[np.ndarray, np.ndarray] | None]:
    photos = photos or default_photos()
    cfg = params.config
    scene = _Scene(params, photos, pulse_scale)
    n, s = cfg.frames, cfg.size_px
    frames = np.empty((n, s, s, 3), np.uint8)
    skin_mask = np.empty((n, s, s), bool)
    chest_mask = np.empty((n, s, s), bool)
    clean = np.empty((n, s, s, 3), np.float32) if keep_float else None
    references = None
    if reference_alpha is not None:
        references = (np.empty((n, s, s, 3), np.float32), np.empty((n, s, s, 3), np.uint8))
    noise = np.random.default_rng(params.noise_seed)
    read = params.scalars["read_noise"]
    for t in range(n):
        without, colour, skin, chest = scene.frame_parts(t)
        image = without + colour * scene.pulse_gain(t)
        z = noise.standard_normal(image.shape, dtype=np.float32)
        frames[t] = _quantise(image, z, read, cfg.shot_noise)
        skin_mask[t] = skin > 0.5
        chest_mask[t] = chest > 0.5
        if clean is not None:
            clean[t] = image
        if references is not None:
            references[0][t] = without
            ideal = without + colour * scene.pulse_gain(t, reference_alpha)
            references[1][t] = _quantise(ideal, z, read, cfg.shot_noise)
    meta = {
        "index": params.index,
        "seed": params.seed,
        "split": params.split,
        "task": cfg.task,
        "fps": cfg.fps,
        "frames": n,
        "size_px": s,
        "shot_noise": cfg.shot_noise,
        "pulse_rgb": list(cfg.pulse_rgb),
        "textures": dict(params.photo_names),
        **params.scalars,
    }
    video = PhysioVideo(frames, cfg.fps, dict(params.truth), skin_mask, chest_mask, meta, clean)
    return video, references


def make_physio_video(
    index: int,
    seed: int = 0,
    config: PhysioConfig | None = None,
    split: str = "train",
    photos: PhotoPool | None = None,
    keep_float: bool = False,
    pulse_scale: float = 1.0,
) -> PhysioVideo:
    """Video ``index`` of dataset (``seed``, ``split``): frames, truth and masks.

    Args:
        index: video number (any non-negative int); the same arguments give the same bytes.
        seed: dataset seed.
        config: :class:`PhysioConfig` (size, fps, duration, task, ranges).
        split: ``"train"`` or ``"test"``; they draw textures from disjoint photos.
        photos: photo pool (default: the bundled photos, :func:`default_photos`).
        keep_float: also return the noise-free float frames (memory: 4x the frames).
        pulse_scale: multiplies the pulse's colour change (:func:`render_physio`).
    """
    config = config or PhysioConfig()
    params = sample_physio_params(index, seed, config, split, photos)
    return render_physio(params, photos, keep_float=keep_float, pulse_scale=pulse_scale)


# --------------------------------------------------------------------------- files


def _stem(folder: Path, split: str, index: int) -> Path:
    return folder / f"{split}_{index:05d}"


def write_physio_dataset(
    folder: str | os.PathLike,
    n: int,
    seed: int = 0,
    split: str = "train",
    config: PhysioConfig | None = None,
    photos: PhotoPool | None = None,
    start: int = 0,
) -> list[Path]:
    """Write videos ``start .. start+n-1`` to ``folder``; returns the video paths.

    Each video ``{split}_{index:05d}`` is three files: ``.mkv`` (lossless FFV1 RGB, so the
    sub-grey-level pulse is kept bit-exactly), ``.npz`` (the truth arrays and the masks,
    compressed) and ``.json`` (``PhysioVideo.meta`` plus the config).
    ``{split}_manifest.json`` records the dataset arguments and the photos of the split.
    Read a video back with :func:`read_physio_video`. Writing the same arguments again
    replaces the files with identical content.
    """
    from ..video.writer import VideoWriter

    config = config or PhysioConfig()
    photos = photos or default_photos()
    if n < 1:
        raise UsageError(f"n must be a positive number of videos, not {n}.")
    allowed = split_photos(len(photos), split)  # checks the split before writing anything
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    manifest = {
        "seed": int(seed),
        "split": split,
        "config": config.to_dict(),
        "photos": list(photos.names),
        "split_photos": [photos.names[i] for i in allowed],
    }
    write_json(root / f"{split}_manifest.json", manifest, indent=1)
    paths = []
    for index in range(start, start + n):
        video = make_physio_video(index, seed, config, split, photos)
        stem = _stem(root, split, index)
        with VideoWriter(
            stem.with_suffix(".mkv"), config.fps, config.size_px, config.size_px, overwrite=True
        ) as writer:
            for frame in video.frames:
                writer.write(frame)
        np.savez_compressed(
            stem.with_suffix(".npz"),
            skin_mask=video.skin_mask,
            chest_mask=video.chest_mask,
            **video.truth,
        )
        meta = {**video.meta, "config": config.to_dict()}
        write_json(stem.with_suffix(".json"), meta, indent=1)
        paths.append(stem.with_suffix(".mkv"))
    return paths


def read_physio_video(path: str | os.PathLike) -> PhysioVideo:
    """Read a video written by :func:`write_physio_dataset` (give the .mkv or the stem)."""
    from ..video.reader import VideoReader

    stem = Path(path).with_suffix("")
    with VideoReader(stem.with_suffix(".mkv")) as reader:
        frames = np.stack(list(reader))
    with np.load(stem.with_suffix(".npz")) as data:
        arrays = {k: data[k] for k in data.files}
    meta = json.loads(stem.with_suffix(".json").read_text())
    skin, chest = arrays.pop("skin_mask"), arrays.pop("chest_mask")
    return PhysioVideo(frames, float(meta["fps"]), arrays, skin, chest, meta)
