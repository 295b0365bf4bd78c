"""benchmarks/known_answer_photos.py: the known-answer clip made of other photos."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from script_loader import load_benchmark


@pytest.fixture(scope="module")
def photos():
    return load_benchmark("known_answer_photos")


def test_a_photo_is_scaled_to_240_px_and_its_centre_cut_in_rgb(photos, tmp_path):
    """A 480 x 960 picture whose left half is red and right half blue: scaled by 1/2 to
    240 x 480, its centre 160 x 240 is red in the left half, blue in the right."""
    bgr = np.zeros((480, 960, 3), np.uint8)
    bgr[:, :480, 2] = 200  # red (OpenCV stores BGR)
    bgr[:, 480:, 0] = 100  # blue
    path = tmp_path / "halves.png"
    cv2.imwrite(str(path), bgr)
    crop = photos.load_photo(path)
    assert crop.shape == (160, 240, 3)
    assert np.allclose(crop[:, :110], [200, 0, 0]) and np.allclose(crop[:, 130:], [0, 0, 100])


def test_the_clip_carries_the_true_motion_and_a_magnifier_is_measured_against_it(photos):
    """The 8-bit clip of a textured photo keeps its 0.3 px sinusoid (gain 1 within 3 %),
    and the gain of a method is its output's motion over that: `phase` at alpha 10
    measures 8.5-11.5 here (x9.57 when written)."""
    photo = data.astronaut()[100:260, 100:340].astype(np.float64)
    clip = photos.clip_of(photo)
    assert clip.dtype == np.uint8 and clip.shape == (45, 160, 240, 3)
    assert abs(photos.static_gain(clip, "input") - 1.0) < 0.03
    assert 8.5 < photos.static_gain(clip, "phase") < 11.5
