"""The validation ceiling's ideal warps (benchmarks/validation_ceiling.py) on known scenes."""

from __future__ import annotations

import numpy as np
import pytest

from motionmag.synth.oh2018 import Oh2018Config, Oh2018Generator
from script_loader import load_benchmark


@pytest.fixture(scope="module")
def ceiling():
    return load_benchmark("validation_ceiling")


@pytest.fixture(scope="module")
def generator():
    return Oh2018Generator(Oh2018Config(size_px=96), seed=1_000_000)


def _first_of_part(generator, part: str, start: int = 0):
    index = next(i for i in range(start, start + 50) if generator.params(i).part == part)
    return generator(index, return_masks=True)


def test_shifted_moves_content_by_the_given_amount(ceiling):
    image = np.zeros((20, 30), np.float32)
    image[5, 7] = 1.0
    out = ceiling.shifted(image, np.array([3.0, 2.0]))
    assert out[7, 10] == pytest.approx(1.0)
    assert out.sum() == pytest.approx(1.0, abs=1e-5)
    # from outside the frame: the edge pixel, or the given constant
    ramp = np.tile(np.arange(30, dtype=np.float32), (20, 1))
    assert ceiling.shifted(ramp, np.array([4.0, 0.0]))[:, :4] == pytest.approx(0.0)
    assert ceiling.shifted(ramp, np.array([-4.0, 0.0]), outside=-1.0)[:, -4:] == pytest.approx(-1.0)


def test_static_scene_ideal_warp_is_frame_b_and_everything_is_known(ceiling, generator):
    sample = _first_of_part(generator, "d")
    estimates, known = ceiling.ideal_estimates(sample)
    assert known == pytest.approx(1.0)
    for image in estimates.values():
        np.testing.assert_allclose(image, sample.B.astype(np.float32), atol=0.51)


def test_global_translation_is_recovered_except_the_entering_border(ceiling, generator):
    # part b: the background alone moves; the ideal warp knows the motion exactly
    sample = next(
        s
        for s in (_first_of_part(generator, "b", start) for start in range(0, 200, 5))
        if (s.alpha - 1) * np.hypot(*s.motion_px[0]) > 2.0
    )
    estimates, known = ceiling.ideal_estimates(sample)
    entering = (sample.alpha - 1) * np.abs(sample.motion_px[0])  # px per axis, from B
    side = sample.Y.shape[0]
    expected_known = (1 - entering[0] / side) * (1 - entering[1] / side)
    assert known == pytest.approx(expected_known, abs=0.03)
    # inside the known part (3 px from its edge), Y up to dithering and interpolation
    dx, dy = (np.ceil(entering) + 3).astype(int)
    inside = (
        slice(dy, None) if sample.motion_px[0][1] > 0 else slice(0, side - dy),
        slice(dx, None) if sample.motion_px[0][0] > 0 else slice(0, side - dx),
    )
    error = np.abs(estimates["ideal_warp"] - sample.Y.astype(np.float32))[inside]
    assert error.mean() < 0.65  # grey levels: dithering alone gives about 0.5
    warp = ceiling.score(estimates["ideal_warp"], sample.Y)
    assert warp > ceiling.score(sample.B, sample.Y) + 0.1
    assert ceiling.score(estimates["perfect_inpainting"], sample.Y) > 0.99


def test_objects_leave_unknown_content_that_inpainting_helps(ceiling, generator):
    sample = _first_of_part(generator, "a")
    estimates, known = ceiling.ideal_estimates(sample)
    assert 0.3 < known < 1.0
    scores = {name: ceiling.score(image, sample.Y) for name, image in estimates.items()}
    assert scores["perfect_inpainting"] > scores["ideal_warp"]
    assert scores["perfect_inpainting"] > 0.98


def test_needs_the_coverage_maps(ceiling, generator):
    with pytest.raises(ValueError, match="return_masks"):
        ceiling.ideal_estimates(generator(0))
