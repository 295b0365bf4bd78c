"""Side-by-side and slices against known pictures: a bright column moving 1 px per frame must
give an exact diagonal in the x-t slice and a known column in the y-t slice."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from motionmag.errors import UsageError
from motionmag.video import SliceCollector, VideoWriter, save_png, side_by_side, slice_figure

T, H, W = 20, 12, 24  # frames, height, width


def moving_column_frames() -> list[np.ndarray]:
    """Frame t is black with one white column at x = t (1 px per frame to the right)."""
    frames = []
    for t in range(T):
        frame = np.zeros((H, W, 3), np.uint8)
        frame[:, t] = 255
        frames.append(frame)
    return frames


def test_xt_slice_is_the_diagonal():
    collector = SliceCollector(y=5)
    for frame in moving_column_frames():
        collector.push(frame)
    image = collector.image()
    assert image.shape == (T, W, 3)  # rows = time, columns = x
    expected = np.zeros((T, W), np.uint8)
    expected[np.arange(T), np.arange(T)] = 255
    np.testing.assert_array_equal(image[..., 0], expected)


def test_yt_slice_shows_when_the_column_passes():
    collector = SliceCollector(x=7)
    for frame in moving_column_frames():
        collector.push(frame)
    image = collector.image()
    assert image.shape == (H, T, 3)  # rows = y, columns = time
    expected = np.zeros((H, T), np.uint8)
    expected[:, 7] = 255  # the column is at x = 7 only at t = 7
    np.testing.assert_array_equal(image[..., 1], expected)


def test_slice_arguments_are_checked():
    with pytest.raises(UsageError):
        SliceCollector()
    with pytest.raises(UsageError):
        SliceCollector(x=1, y=1)
    with pytest.raises(UsageError, match="outside the frame"):
        SliceCollector(x=W).push(moving_column_frames()[0])
    with pytest.raises(UsageError, match="outside the frame"):
        SliceCollector(y=-1).push(moving_column_frames()[0])


def test_slice_figure_streams_videos_side_by_side(tmp_path):
    paths = []
    for name in ("a.mkv", "b.mkv"):
        with VideoWriter(tmp_path / name, 30, W, H) as writer:
            for frame in moving_column_frames():
                writer.write(frame)
        paths.append(tmp_path / name)
    figure = slice_figure(paths, y=3, labels=["", ""], zoom=1)
    assert figure.shape == (T, 2 * W + 4, 3)
    # by default a small slice is enlarged, each pixel a block, so it (and its label) reads
    big = slice_figure(paths, y=3, labels=["", ""])
    zoom = (big.shape[1] - 4) // (2 * W)
    assert zoom == 8 and big.shape[0] == T * zoom  # 20 px short side: the largest zoom
    np.testing.assert_array_equal(big[::zoom, : W * zoom : zoom], figure[:, :W])
    diagonal = np.zeros((T, W), np.uint8)
    diagonal[np.arange(T), np.arange(T)] = 255
    np.testing.assert_array_equal(figure[:, :W, 0], diagonal)  # lossless FFV1: exact
    np.testing.assert_array_equal(figure[:, W + 4 :, 0], diagonal)
    assert (figure[:, W : W + 4] == 255).all()  # the white gap


def test_side_by_side_shape_gap_and_labels():
    a = np.zeros((120, 200, 3), np.uint8)
    b = np.full((120, 150, 3), 128, np.uint8)
    out = side_by_side([a, b], gap_px=6)
    assert out.shape == (120, 356, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out[:, :200], a)
    np.testing.assert_array_equal(out[:, 206:], b)
    assert (out[:, 200:206] == 255).all()
    labelled = side_by_side([a, b], labels=["input", "x10"], gap_px=6)
    # the label is drawn in the top-left corner of each panel and nowhere else
    assert (labelled[:40, :100] != a[:40, :100]).any()
    assert (labelled[:40, 206:306] != b[:40, :100]).any()
    np.testing.assert_array_equal(labelled[60:], out[60:])
    assert (a == 0).all()  # inputs untouched
    with pytest.raises(UsageError, match="different heights"):
        side_by_side([a, b[:100]])


def test_a_label_on_a_narrow_panel_keeps_its_factor_inside_the_panel():
    """A 48 px panel cannot hold "acceleration x20" even shrunk: the method name is
    shortened, the factor kept (it read "acceleratio", cut at the panel's edge). The
    label stays inside its own panel."""
    from motionmag.video.compose import fitted_label

    assert fitted_label(48, 48, "acceleration x20").endswith(".. x20")
    assert fitted_label(480, 640, "acceleration x20") == "acceleration x20"
    frame = np.full((48, 48, 3), 200, np.uint8)
    out = side_by_side([frame, frame], labels=["input", "acceleration x20"], gap_px=4)
    assert (out[:, 48:52] == 255).all()  # the gap is untouched
    written = np.argwhere((out[:, 52:] != 200).any(axis=2))
    assert written[:, 1].max() < 48 and written[:, 0].max() < 24  # its panel's top


def test_save_png_is_atomic_and_exact(tmp_path):
    from PIL import Image

    image = np.random.default_rng(0).integers(0, 256, (30, 40, 3), dtype=np.uint8)
    target = tmp_path / "slice.png"
    save_png(target, image)
    np.testing.assert_array_equal(np.asarray(Image.open(target)), image)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["slice.png"]
    with pytest.raises(UsageError, match="does not exist"):
        save_png(Path(tmp_path / "missing" / "x.png"), image)


def test_save_png_writes_the_format_its_name_asks_for_and_refuses_others(tmp_path):
    from PIL import Image

    image = np.random.default_rng(1).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    save_png(tmp_path / "slice.tif", image)
    with Image.open(tmp_path / "slice.tif") as written:
        assert written.format == "TIFF"
        np.testing.assert_array_equal(np.asarray(written), image)
    with pytest.raises(UsageError, match="not a picture file name"):
        save_png(tmp_path / "slice.txt", image)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["slice.tif"]


def test_a_slice_picture_says_what_was_sliced_and_which_way_time_runs(tmp_path):
    from motionmag.video.compose import caption_strip

    path = tmp_path / "a.mkv"
    with VideoWriter(path, 30, W, H) as writer:
        for frame in moving_column_frames():
            writer.write(frame)
    plain = slice_figure([path], y=3, labels=[""], zoom=1)
    captioned = slice_figure([path], y=3, labels=[""], zoom=1, caption=True)
    np.testing.assert_array_equal(captioned[: plain.shape[0]], plain)
    strip = captioned[plain.shape[0] :]
    assert strip.shape[0] > 10 and (strip < 128).any()  # dark text on white
    # a long caption wraps onto more lines of the same width
    assert (
        caption_strip(60, "one two three four five six").shape[0]
        > caption_strip(600, "one two three four five six").shape[0]
    )


def test_a_slice_caption_says_when_the_videos_differ_in_length():
    """A cut output beside its whole input was only grey padding (walkthrough review)."""
    from motionmag.video.compose import slice_caption

    same = slice_caption(None, 3, 2, [40, 40])
    assert same.startswith("x-t slice at y = 3 px") and "differ in length" not in same
    assert slice_caption(5, None, 1, [795, 100]).endswith(
        ". The videos differ in length: 795 / 100 frames"
    )


def test_a_slice_caption_says_when_the_videos_differ_in_size_or_rate(tmp_path, monkeypatch):
    """Videos of other sizes or rates were drawn side by side without a word (review, stop
    59): one row number is then another line of the scene, one frame another time."""
    from motionmag.video import compose
    from motionmag.video.compose import slice_caption

    rng = np.random.default_rng(1)
    paths = []
    for name, fps, width in (("a.mkv", 30, 48), ("b.mkv", 30, 40), ("c.mkv", 25, 48)):
        with VideoWriter(tmp_path / name, fps, width, 32) as writer:
            for _ in range(6):
                writer.write(rng.integers(0, 256, (32, width, 3), dtype=np.uint8))
        paths.append(tmp_path / name)
    text = slice_caption(None, 5, 1, [6, 6, 6], [(48, 32), (40, 32), (48, 32)], [30, 30, 25])
    assert "differ in size: 48x32 / 40x32 / 48x32 px" in text and "y = 5" in text
    assert "differ in frame rate: 30 / 30 / 25 fps" in text
    alike = slice_caption(None, 5, 1, [6, 6], [(48, 32)] * 2, [30000 / 1001, 29.97])
    assert "differ" not in alike  # one rate, written two ways
    said = []
    monkeypatch.setattr(compose, "slice_caption", lambda *a: said.append(slice_caption(*a)) or "")
    slice_figure(paths, y=5, caption=True)
    assert "differ in size" in said[0] and "differ in frame rate: 30 / 30 / 25" in said[0]


def test_a_short_clip_beside_a_long_one_does_not_set_the_zoom(tmp_path):
    """The zoom came from the shortest panel: a 30-frame output beside its 90-frame input
    drew a 320 px row x8, a picture 5124 px wide (walkthrough review, stop 58). Now the
    largest panel sets it, and no panel is drawn longer than SLICE_MAX_SIDE_PX."""
    from motionmag.video.compose import SLICE_MAX_SIDE_PX

    rng = np.random.default_rng(0)
    paths = []
    for name, frames in (("long.mkv", 90), ("short.mkv", 30)):
        with VideoWriter(tmp_path / name, 30, 320, 16) as writer:
            for _ in range(frames):
                writer.write(rng.integers(0, 256, (16, 320, 3), dtype=np.uint8))
        paths.append(tmp_path / name)
    figure = slice_figure(paths, y=3, labels=["", ""])
    zoom = (figure.shape[1] - 4) // (2 * 320)
    assert zoom == 3 and figure.shape[0] == 90 * zoom  # ceil(240 / 90), from the long one
    assert figure.shape[1] <= 2 * SLICE_MAX_SIDE_PX + 4
