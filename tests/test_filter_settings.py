"""Temporal filter settings a method would ignore are refused; a filter that will miss the
band asked for says so (the stop-50 review of the classical methods).

Found by checking each filter against its known response: acceleration took --filter,
--order and --fir-taps and ignored them; ``--set iir_coefficients`` gave a traceback for a
malformed value and was ignored by other filters and modes; ``phase``'s
``attenuate_other`` in static mode moved the reference frame to frame 0's place;
``diff-iir`` passes a much wider band than ``--band`` and a length-capped ``fir`` loses
gain on low bands, both silently.
"""

from __future__ import annotations

import numpy as np
import pytest

import motionmag as mm
from cli_run import one_sentence, run
from clip_io import write_jitter_clip
from motionmag.temporal import DifferenceOfIIRSelector, fir_bandpass_taps
from motionmag.temporal.fir import fir_gain


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return write_jitter_clip(tmp_path_factory.mktemp("clip") / "c.mkv", 32, 40, 90, seed=0)


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--method", "acceleration", "--band", "1", "4", "--filter", "fir"],
         "so --filter would be ignored"),
        (["--method", "acceleration", "--band", "1", "4", "--filter", "butter", "--order", "4"],
         "so --order would be ignored"),
        (["--method", "acceleration", "--band", "1", "4", "--set", "iir_coefficients=[0.4,0.05]"],
         "so iir_coefficients would be ignored"),
        (["--mode", "temporal", "--filter", "diff-iir", "--set", "iir_coefficients=[0.4]"],
         "is not two numbers"),
        (["--mode", "temporal", "--filter", "diff-iir", "--set", "iir_coefficients=abc"],
         "is not two numbers"),
        (["--band", "1", "4", "--set", "iir_coefficients=[0.4,0.05]"],
         "which the butter filter does not use"),
        (["--mode", "static", "--set", "iir_coefficients=[0.4,0.05]"],
         "which static mode does not use"),
        (["--method", "phase", "--mode", "static", "--reference", "5", "--set",
          "attenuate_other=true"], "static mode has none"),
        (["--method", "phase", "--mode", "dynamic", "--set", "attenuate_other=true"],
         "dynamic mode has none"),
    ],
)  # fmt: skip
def test_a_setting_the_method_would_ignore_is_refused(clip, tmp_path, capsys, flags, message):
    out = tmp_path / "o.mkv"
    code, err = run(capsys, "magnify", clip, "-o", out, "--quiet", *flags)
    assert code == 2 and one_sentence(err) and message in err, err
    assert not out.exists()


def test_the_diff_iir_coefficients_are_used_where_they_belong(clip, tmp_path):
    result = mm.magnify(clip, tmp_path / "o.mkv", method="linear", mode="temporal",
                        filter="diff-iir", iir_coefficients=[0.4, 0.05])  # fmt: skip
    assert result.frames == 90 and not [n for n in result.notes if "diff-iir" in n]


def test_diff_iir_s_half_power_band_is_noted_where_it_is_much_wider(clip, tmp_path):
    """From its response: --band 1 4 at 30 fps passes 0.71-6.27 Hz (at -3 dB)."""
    low, high = DifferenceOfIIRSelector.from_band(1.0, 4.0, 30.0).half_power_band(30.0)
    assert low == pytest.approx(0.71, abs=0.01) and high == pytest.approx(6.27, abs=0.02)
    result = mm.magnify(clip, tmp_path / "o.mkv", method="linear", band=(1, 4), filter="diff-iir")
    (note,) = [n for n in result.notes if "diff-iir" in n]
    assert "0.709-6.27 Hz" in note and "filter='butter'" in note


def test_a_fir_too_short_for_its_band_is_noted_with_the_gain_it_gives(clip, tmp_path):
    """The default length is capped at 255 frames: 0.5-2 Hz at 240 fps passes 72 % at
    the band's centre (1 Hz), so alpha 10 gives about 1 + 0.72 x 9 = 7.5x there (the
    note said 0.72 x 10). magnify_frames and Stream say so too (they said nothing)."""
    taps = fir_bandpass_taps(0.5, 2.0, 240.0, 255)
    assert fir_gain(taps, 1.0, 240.0) == pytest.approx(0.72, abs=0.01)
    result = mm.magnify(clip, tmp_path / "slow.mkv", method="linear", band=(0.5, 2.0),
                        filter="fir", fps=240, alpha=10)  # fmt: skip
    (note,) = [n for n in result.notes if "fir filter" in n]
    assert "255 taps are too few" in note and "72%" in note and "7.5x, not 10x" in note
    frames = np.random.default_rng(0).integers(0, 256, (12, 16, 16, 3), dtype=np.uint8)
    with pytest.warns(UserWarning, match=r"72% of the motion at 1 Hz, so .* about 7\.5x"):
        mm.magnify_frames(frames, fps=240, method="linear", band=(0.5, 2.0), filter="fir",
                          alpha=10)  # fmt: skip
    stream = mm.Stream("linear", fps=240, band=(0.5, 2.0), filter="fir", alpha=10)
    assert [n for n in stream.notes if "fir filter's 255 taps" in n]
    fine = mm.magnify(clip, tmp_path / "fine.mkv", method="linear", band=(1, 4), filter="fir")
    assert not [n for n in fine.notes if "fir filter" in n]
