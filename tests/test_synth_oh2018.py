"""Oh et al. (2018) synthetic training data: the data itself is checked against known answers.

Every layer's motion is measured (an independent Lucas-Kanade estimator), dithering is
checked for bias, B' - B against the layer constants, the static parts for stillness,
and the shards against the on-the-fly Dataset.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import ndimage

from motionmag.errors import InputError, UsageError
from motionmag.eval.displacement import measure_shift
from motionmag.levels import dither, to_levels
from motionmag.synth.datasets import Oh2018Dataset, ShardDataset, add_training_noise
from motionmag.synth.oh2018 import (
    PARTS,
    Oh2018Config,
    Oh2018Generator,
    dither_random,
    sample_params,
)
from motionmag.synth.photos import MaskPool, PhotoPool
from motionmag.synth.synth_cli import add_synth_command

SHARED_IMAGES = Path(__file__).resolve().parents[2] / "shared" / "data" / "images"


@pytest.fixture(scope="module")
def photos() -> PhotoPool:
    return PhotoPool()


@pytest.fixture(scope="module")
def small_motion(photos) -> Oh2018Generator:
    """128 px samples whose magnified motion stays <= 3 px (within Lucas-Kanade's reach)."""
    config = Oh2018Config(size_px=128, alpha_range=(1.5, 5.0), max_magnified_px=3.0)
    return Oh2018Generator(config, seed=11, photos=photos)


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_synth_command(parser.add_subparsers())
    return parser.parse_args(["synth", *argv])


def run(args: argparse.Namespace) -> int:
    return args.run(args)


def interior(sample, layer: int, margin_px: int = 3) -> np.ndarray:
    """Pixels fully covered by ``layer`` in A, B and Y, eroded away from its edges."""
    region = np.ones(sample.A.shape[:2], bool)
    for frame in "ABY":
        region &= sample.visibility[frame][layer] > 0.999
    return ndimage.binary_erosion(region, iterations=margin_px)


def test_every_layer_moves_by_its_motion_and_alpha_times_it(small_motion):
    measured = 0
    for index in (0, 2, 4, 5, 7, 9):  # parts a, c, e
        sample = small_motion(index, return_masks=True)
        alpha = sample.alpha
        for layer, motion in enumerate(sample.motion_px):
            region = interior(sample, layer, margin_px=4)  # clear of other layers' edges
            if region.sum() < 120:
                continue
            weights = region.astype(np.float64)
            floats = sample.float_frames
            pairs = (
                ("A", "B", motion),
                ("A", "Y", alpha * motion),
                ("B", "Y", (alpha - 1) * motion),
            )
            for ref, moved, expected in pairs:
                shift = measure_shift(floats[ref], floats[moved], mask=weights)
                assert np.allclose(shift, expected, atol=0.02), (index, layer, ref, moved)
            if region.sum() >= 400:  # the dithered uint8 frames, on regions large enough
                for ref, moved, expected in pairs[:2]:
                    frames = (getattr(sample, ref), getattr(sample, moved))
                    shift = measure_shift(*frames, mask=weights)
                    assert np.allclose(shift, expected, atol=0.06), (index, layer, ref, moved)
            measured += 1
    assert measured >= 20  # background and objects of six samples, not a vacuous loop


def test_dithering_is_unbiased():
    rng = np.random.default_rng(0)
    image = np.full((256, 256, 3), 102.3, np.float32)
    rounded = [dither_random(image, rng) for _ in range(8)]
    values = np.stack(rounded).astype(np.float64)
    assert set(np.unique(values)) == {102.0, 103.0}
    assert abs(values.mean() - 102.3) < 0.005
    assert abs((values == 103).mean() - 0.3) < 0.005
    # a ramp of fractional values: the expectation equals the float value everywhere
    ramp = np.linspace(10, 11, 101, dtype=np.float32)[None, :].repeat(4000, axis=0)
    mean = dither_random(ramp, rng).astype(np.float64).mean(axis=0)
    assert np.abs(mean - ramp[0]).max() < 0.03
    # floor(x + u) is round(x + U(-1/2, 1/2)): u = 0.69 keeps 102.3, u = 0.71 rounds up
    assert dither(np.float32([102.3]), np.float32([0.69]))[0] == 102
    assert dither(np.float32([102.3]), np.float32([0.71]))[0] == 103


def test_to_levels_rounds_or_dithers_and_keeps_values_on_a_level():
    """The one [0, 1] -> uint8 of attenuated output and DeepMag: a pixel 1e-5 off a
    level (a float round trip) stays on it however it is dithered; 102.3/255 reads 102.3
    on average; without a generator, plain rounding."""
    near = np.full((64, 64, 3), (100 + 1e-5) / 255.0)
    assert (to_levels(near, np.random.default_rng(1)) == 100).all()
    assert (to_levels(np.full((4, 4, 3), 102.6 / 255.0)) == 103).all()
    values = to_levels(np.full((256, 256, 3), 102.3 / 255.0), np.random.default_rng(2))
    assert set(np.unique(values)) == {102, 103}
    assert abs(values.astype(np.float64).mean() - 102.3) < 0.01
    assert (to_levels(np.float64([[[-0.2, 1.3, 0.5]]])) == [[[0, 255, 128]]]).all()


def test_dithered_grey_stays_grey_and_each_channel_unbiased():
    """One draw per pixel for its three channels: a grey pixel stays grey (a draw per
    channel tinted 43 % of a grey clip's pixels at alpha 0.5), and each channel still
    reads its value on average."""
    from motionmag.magnify.base import attenuation_dither, tensor_to_frame

    grey = np.random.default_rng(0).uniform(0, 1, (2, 64, 64, 1)).repeat(3, axis=3)
    levels = to_levels(grey, np.random.default_rng(1))
    assert (levels[..., 0] == levels[..., 1]).all() and (levels[..., 1] == levels[..., 2]).all()
    colour = np.full((256, 256, 3), (102.3 / 255, 50.6 / 255, 7.9 / 255))
    means = to_levels(colour, np.random.default_rng(2)).reshape(-1, 3).mean(axis=0)
    np.testing.assert_allclose(means, [102.3, 50.6, 7.9], atol=0.01)
    # an attenuating method's frames (base.tensor_to_frame with its dither) too
    frame = torch.rand(1, 1, 32, 48, dtype=torch.float64).repeat(1, 3, 1, 1)
    out = tensor_to_frame(frame, attenuation_dither(0.5))
    assert (out[..., 0] == out[..., 1]).all() and (out[..., 1] == out[..., 2]).all()


def test_rendered_frames_are_their_float_values_on_average(small_motion):
    sample = small_motion(0, return_masks=True)
    for name in ("A", "B", "Y", "B_perturbed", "Y_perturbed"):
        exact = np.clip(sample.float_frames[name], 0, 255)
        inside = (exact > 1) & (exact < 254)
        error = getattr(sample, name).astype(np.float64) - exact
        assert abs(error[inside].mean()) < 0.01
        assert np.abs(error[inside]).max() < 1
        assert 0.39 < error[inside].std() < 0.43  # E[r(1 - r)] = 1/6 for a uniform residual r


def test_perturbed_frames_differ_only_by_the_layer_constants(small_motion):
    for index in (0, 2, 4):
        sample = small_motion(index, return_masks=True)
        constants = np.array([layer.colour_offset for layer in sample.params.layers])
        for name in ("B", "Y"):
            # float frames: B' - B is the visibility-weighted layer constant, edges included
            expected = np.einsum("lhw,lc->hwc", sample.visibility[name], constants)
            difference = sample.float_frames[f"{name}_perturbed"] - sample.float_frames[name]
            assert np.abs(difference - expected).max() < 2e-3
            # uint8 frames: each layer's constant on its visible pixels, up to one level
            plain = getattr(sample, name).astype(np.int16)
            perturbed = getattr(sample, f"{name}_perturbed").astype(np.int16)
            for layer in range(len(constants)):
                seen = sample.visibility[name][layer] > 0.9999  # others' share < 64e-4 levels
                unclipped = (perturbed > 0) & (perturbed < 255) & (plain > 0) & (plain < 255)
                mask = seen[..., None] & unclipped
                for channel in range(3):
                    delta = (perturbed - plain)[..., channel][mask[..., channel]]
                    if delta.size == 0:
                        continue
                    assert np.abs(delta - constants[layer, channel]).max() < 1.01
                    if delta.size > 200:
                        assert abs(delta.mean() - constants[layer, channel]) < 0.15


def test_static_parts_are_still_apart_from_dithering(photos):
    generator = Oh2018Generator(Oh2018Config(size_px=96), seed=3, photos=photos)
    for index in (3, 8):  # part (d): a completely static scene
        sample = generator(index, return_masks=True)
        assert sample.part == "d" and len(sample.params.layers) == 1
        assert np.array_equal(sample.float_frames["A"], sample.float_frames["Y"])
        for name in ("B", "Y"):
            diff = np.abs(getattr(sample, name).astype(int) - sample.A.astype(int))
            assert diff.max() <= 1
    for index in (4, 9):  # part (e): the blurred background is still, the objects move
        sample = generator(index, return_masks=True)
        assert sample.part == "e" and sample.params.layers[0].blur_px > 0
        assert tuple(sample.motion_px[0]) == (0.0, 0.0)
        assert np.abs(sample.motion_px[1:]).sum() > 0
        background = interior(sample, 0, margin_px=1)
        assert background.sum() > 500
        for name in ("B", "Y"):
            diff = np.abs(getattr(sample, name).astype(int) - sample.A.astype(int))
            assert diff[background].max() <= 1


def test_parameters_follow_the_paper(photos):
    config = Oh2018Config(size_px=128)
    params = [sample_params(i, 5, config, photos) for i in range(150)]
    assert [p.part for p in params[:5]] == list(PARTS)
    assert {p.part: sum(q.part == p.part for q in params) for p in params} == dict.fromkeys(
        PARTS, 30
    )
    alphas = np.array([p.alpha for p in params])
    assert alphas.min() >= 1 and alphas.max() <= 100
    assert 0.3 < np.mean(alphas < 10) < 0.7  # log-uniform: each decade about as often
    for p in params:
        motion = np.array([layer.motion_px for layer in p.layers])
        size = np.hypot(motion[:, 0], motion[:, 1])
        assert size.max() <= 10 + 1e-9 and p.alpha * size.max() <= 30 + 1e-9
        objects = len(p.layers) - 1
        if p.part in "bd":
            assert objects == 0
        else:
            assert 7 <= objects <= 15
        assert (size[0] == 0) == (p.part in "de")
        assert (p.layers[0].blur_px > 0) == (p.part in "ce")
        for layer in p.layers[1:]:
            zoom = np.sqrt(abs(np.linalg.det(layer.texture_matrix[:, :2])))
            assert zoom <= 2 + 1e-9
            assert set(np.unique(layer.mask)) - {0.0} and layer.mask.max() <= 1


def test_small_motion_fraction_draws_subpixel_motions_and_leaves_the_default_alone(photos):
    """Ours: with small_motion_fraction f a layer's motion is log-uniform in [0.02, 1] px
    with probability f (f = 0, the default, is the paper's draw and adds no random draw:
    checked once against the generator before the option existed)."""
    default = [sample_params(i, 5, Oh2018Config(size_px=128), photos) for i in range(60)]

    def sizes(params) -> np.ndarray:
        return np.concatenate([
            np.hypot(*np.array([layer.motion_px for layer in p.layers]).T)[
                0 if p.part not in "de" else 1 :
            ]
            for p in params
        ])  # fmt: skip

    every = Oh2018Config(size_px=128, small_motion_fraction=1.0)
    small = sizes([sample_params(i, 5, every, photos) for i in range(60)])
    assert small.min() >= 0.02 - 1e-12 and small.max() <= 1 + 1e-12
    assert 0.3 < np.mean(small < 0.15) < 0.7  # log-uniform: 0.02-0.15-1 px, half each
    assert np.mean(sizes(default) < 0.15) < 0.1
    with pytest.raises(UsageError, match="small_motion_fraction"):
        Oh2018Config(small_motion_fraction=1.5)


def test_same_seed_and_index_give_the_same_sample(photos):
    config = Oh2018Config(size_px=64)
    first = Oh2018Generator(config, seed=7, photos=photos)(3).frames()
    again = Oh2018Generator(config, seed=7, photos=PhotoPool())(3).frames()
    assert np.array_equal(first, again)
    assert not np.array_equal(first, Oh2018Generator(config, seed=7, photos=photos)(8).frames())
    assert not np.array_equal(first, Oh2018Generator(config, seed=8, photos=photos)(3).frames())


def test_synth_command_writes_shards_that_read_back_as_the_dataset(tmp_path):
    out = tmp_path / "data"
    args = parse(
        [
            "-o",
            str(out),
            "--n",
            "10",
            "--size",
            "64",
            "--seed",
            "4",
            "--quiet",
            "--samples-per-shard",
            "4",
        ]
    )
    assert run(args) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["complete"] and manifest["n"] == 10 and manifest["seed"] == 4
    assert [s["count"] for s in manifest["shards"]] == [4, 4, 2]
    assert sorted(p.name for p in out.glob("*.npz")) == [s["file"] for s in manifest["shards"]]
    shards = ShardDataset(out)
    fresh = Oh2018Dataset(10, Oh2018Config(size_px=64), seed=4)
    assert len(shards) == len(fresh) == 10
    for index in range(10):
        stored, rendered = shards[index], fresh[index]
        assert stored.keys() == rendered.keys()
        for key in stored:
            assert torch.equal(stored[key], rendered[key]), (index, key)
    item = shards[0]
    assert item["A"].shape == (3, 64, 64) and item["A"].dtype == torch.float32
    assert item["A"].min() >= 0 and item["A"].max() <= 1
    batch = torch.utils.data.default_collate([shards[0], shards[1]])
    assert batch["Y"].shape == (2, 3, 64, 64) and batch["motion_px"].shape == (2, 16, 2)
    # plain numpy reads a shard too (no pickles)
    with np.load(out / "shard_00000.npz", allow_pickle=False) as npz:
        assert npz["s0000000"].shape == (5, 64, 64, 3) and npz["alpha"].shape == (4,)


def test_synth_resumes_runs_in_parallel_and_refuses_another_dataset(tmp_path):
    out = tmp_path / "data"
    argv = ["-o", str(out), "--n", "6", "--size", "48", "--samples-per-shard", "2", "--quiet"]
    assert run(parse(argv)) == 0
    names = sorted(p.name for p in out.glob("*.npz"))
    assert len(names) == 3
    (out / "shard_00001.npz").unlink()  # an interrupted run: the same command completes it
    assert run(parse(argv)) == 0
    assert (out / "shard_00001.npz").exists()
    parallel = tmp_path / "parallel"
    assert run(parse([*argv[2:], "-o", str(parallel), "--workers", "2"])) == 0
    for name in names:  # the same bytes, not just the same arrays (no clock in the zip)
        assert (out / name).read_bytes() == (parallel / name).read_bytes(), name
    other = [*argv, "--seed", "9"]
    with pytest.raises(UsageError, match="different dataset"):
        run(parse(other))
    assert run(parse([*other, "--overwrite"])) == 0


def test_a_stopped_parallel_synth_leaves_no_unfinished_shard(tmp_path, monkeypatch):
    """Ctrl+C ended the pool's workers in mid-write, before their own clean-up: a hidden
    '.shard_00010.xxxx.tmp.npz' (up to 128 MiB) stayed, and no later run removed it."""
    from motionmag.synth import shards as shard_module

    out = tmp_path / "data"
    argv = ["-o", str(out), "--n", "6", "--size", "32", "--samples-per-shard", "2", "--quiet",
            "--workers", "2"]  # fmt: skip

    def stopped(job, tasks, workers, bar):  # a worker was writing when Ctrl+C came
        (out / ".shard_00001.abcd1234.tmp.npz").write_bytes(b"half a shard")
        raise KeyboardInterrupt

    monkeypatch.setattr(shard_module, "_run_pool", stopped)
    with pytest.raises(KeyboardInterrupt):
        run(parse(argv))
    assert not list(out.glob(".shard_*"))
    monkeypatch.undo()
    (out / ".shard_00002.efgh5678.tmp.npz").write_bytes(b"a SIGKILL's leftover")
    assert run(parse(argv)) == 0  # the same command completes it, and clears the leftover
    assert sorted(p.name for p in out.glob("*.npz")) == [
        shard_module.shard_name(i) for i in range(3)
    ]
    assert not list(out.glob(".shard_*"))


def test_a_reader_keeps_a_bounded_number_of_shards_open(tmp_path, monkeypatch):
    """Every shard used to stay open: at 1,020 shards a training run died of 'Too many
    open files' (the paper's 100k samples at 384 px are 1,667 shards)."""
    from motionmag.synth import shards as shard_module

    out = tmp_path / "data"
    argv = ["-o", str(out), "--n", "7", "--size", "32", "--samples-per-shard", "1", "--quiet"]
    assert run(parse(argv)) == 0
    monkeypatch.setattr(shard_module, "MAX_OPEN_SHARDS", 2)
    reader = shard_module.ShardReader(out)
    fresh = Oh2018Dataset(7, Oh2018Config(size_px=32), seed=0)
    for index in [*range(7), 0, 6, 3]:
        frames, _ = reader[index]
        assert len(reader._open) <= 2
        assert np.array_equal(
            frames[3], (fresh[index]["Y"].numpy() * 255).round().transpose(1, 2, 0)
        )
    reader.close()


def test_the_same_dataset_resumes_from_another_working_folder(tmp_path, monkeypatch):
    """--images is stored as an absolute path: the same command given from elsewhere,
    with the folders named from there, continues the dataset instead of refusing it."""
    photos = tmp_path / "photos"
    photos.mkdir()
    from PIL import Image

    Image.fromarray(np.full((80, 80, 3), 120, np.uint8)).save(photos / "grey.png")
    monkeypatch.chdir(tmp_path)
    argv = ["--n", "4", "--size", "32", "--samples-per-shard", "2", "--quiet"]
    assert run(parse(["-o", "data", "--images", "photos", *argv])) == 0
    (tmp_path / "data" / "shard_00001.npz").unlink()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert run(parse(["-o", "../data", "--images", "../photos", *argv])) == 0
    assert (tmp_path / "data" / "shard_00001.npz").exists()


@pytest.mark.parametrize(
    ("extra", "error", "words"),
    [
        (["--size", "16"], UsageError, "too small"),
        (["--n", "0"], UsageError, "--n"),
        (["--n", "-3"], UsageError, "--n"),
        (["--workers", "0"], UsageError, "--workers"),
        (["--workers", "500"], UsageError, "--workers 500 is far more than this machine's"),
        (["--images", "MISSING"], UsageError, "does not exist"),
        (["--images", "FILE"], UsageError, "takes a folder of images, and '.*' is a file"),
        (["--images", "EMPTY"], InputError, "no images"),
        (["--masks", "MISSING"], UsageError, "does not exist"),
    ],
)
def test_bad_arguments_are_refused_before_any_work(tmp_path, extra, error, words):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("not an image")
    paths = {"MISSING": tmp_path / "missing", "EMPTY": empty, "FILE": empty / "notes.txt"}
    extra = [str(paths[x]) if x in paths else x for x in extra]
    argv = ["-o", str(tmp_path / "out"), "--n", "5", "--size", "64", "--quiet"]
    argv = argv + extra  # later flags override the defaults above
    with pytest.raises(error, match=words):
        run(parse(argv))
    assert not (tmp_path / "out" / "manifest.json").exists()


def test_mask_folder_gives_the_object_silhouettes(tmp_path, photos):
    from PIL import Image

    folder = tmp_path / "masks"
    folder.mkdir()
    square = np.zeros((40, 60), np.uint8)
    square[10:30, 15:45] = 255
    Image.fromarray(square).save(folder / "square.png")
    labels = np.zeros((50, 50), np.uint8)  # a VOC-style palette image: two objects + void
    labels[5:20, 5:20], labels[25:45, 20:40], labels[24, :] = 1, 2, 255
    palette = Image.fromarray(labels, mode="P")
    palette.putpalette([0, 0, 0, 200, 0, 0, 0, 200, 0] + [255, 255, 255] * 253)
    palette.save(folder / "voc.png")
    pool = MaskPool(folder)
    rng = np.random.default_rng(0)
    areas = {round(float(pool.get(1, rng).sum())) for _ in range(20)}
    assert areas == {225, 400}  # one VOC label at a time, never the void line
    assert round(pool.get(0, rng).sum()) == 600
    generator = Oh2018Generator(Oh2018Config(size_px=64), seed=1, photos=photos, masks=pool)
    layer = generator.params(0).layers[1]
    assert layer.mask.shape in {(20 + 6, 30 + 6), (15 + 6, 15 + 6), (20 + 6, 20 + 6)}
    assert generator(0).A.shape == (64, 64, 3)


@pytest.mark.skipif(not SHARED_IMAGES.is_dir(), reason="../shared/data/images is not here")
def test_a_folder_of_photos_adds_textures():
    pool = PhotoPool([str(SHARED_IMAGES)])
    assert len(pool) > len(PhotoPool())
    extra = [i for i, name in enumerate(pool.names) if not name.startswith("skimage:")]
    photo = pool.get(extra[0])
    assert photo.dtype == np.float32 and photo.ndim == 3 and photo.shape[2] == 3
    sample = Oh2018Generator(Oh2018Config(size_px=64), seed=2, photos=pool)(0)
    assert sample.A.shape == (64, 64, 3)


def test_training_noise_follows_the_reference_formula():
    generator = torch.Generator().manual_seed(0)
    grey = torch.full((4, 3, 64, 64), 0.5)
    noisy = add_training_noise(grey, generator=generator, strength=0.3)
    noise = noisy - grey
    # N(0,1) * sqrt(x + 1) / sqrt(127.5) * 0.3 in [-1, 1] units is 3.39 grey levels at mid-grey
    assert abs(noise.std().item() * 255 - 0.3 * 127.5 / 127.5**0.5) < 0.1
    assert abs(noise.mean().item()) < 1e-3
    black = torch.zeros(2, 3, 8, 8)
    assert torch.equal(add_training_noise(black, generator=generator), black)
    again = add_training_noise(grey, generator=torch.Generator().manual_seed(0), strength=0.3)
    assert torch.equal(again, noisy)
    varied = add_training_noise(grey, generator=generator) - grey
    per_sample = varied.flatten(1).std(dim=1) * 255
    assert per_sample.max() < 3.5 and per_sample.min() < per_sample.max()


def test_synth_small_motion_fraction_and_the_trainer_checks_the_shards_match(tmp_path):
    """``--small-motion-fraction`` renders the trainer's on-the-fly draw (same samples);
    a run whose crop size or sub-pixel share differs from the shards' is refused."""
    from motionmag.train.oh2018 import Oh2018TrainConfig

    out = tmp_path / "data"
    argv = ["-o", str(out), "--n", "3", "--size", "48", "--small-motion-fraction", "0.5"]
    assert run(parse([*argv, "--quiet"])) == 0
    fresh = Oh2018Dataset(3, Oh2018Config(size_px=48, small_motion_fraction=0.5), seed=0)
    shards = ShardDataset(out)
    for index in range(3):
        assert torch.equal(shards[index]["motion_px"], fresh[index]["motion_px"])
        assert torch.equal(shards[index]["Y"], fresh[index]["Y"])
    plain = Oh2018Dataset(3, Oh2018Config(size_px=48), seed=0)
    assert not all(torch.equal(shards[i]["motion_px"], plain[i]["motion_px"]) for i in range(3))
    Oh2018TrainConfig(shards=str(out), size_px=48, small_motion_fraction=0.5).validate()
    for size, small in ((48, 0.0), (64, 0.5)):
        with pytest.raises(UsageError, match=r"--size 48 --small-motion-fraction 0\.5"):
            Oh2018TrainConfig(shards=str(out), size_px=size, small_motion_fraction=small).validate()
    with pytest.raises(UsageError, match="small-motion-fraction"):
        run(parse(["-o", str(tmp_path / "x"), "--n", "1", "--small-motion-fraction", "2"]))


def test_a_warning_of_ours_reads_as_a_note_on_the_command_line():
    """An unreadable --images photo was a Python UserWarning with file, line and the
    source line echoed; the command line shows its sentence as a note while a command
    runs, and puts Python's format back afterwards."""
    import os
    import warnings

    import motionmag.cli as cli

    ours = os.path.join(os.path.dirname(cli.__file__), "synth", "oh2018.py")
    before = warnings.formatwarning
    with cli._warnings_as_notes():
        text = warnings.formatwarning("photo 'x.png' cannot be read.", UserWarning, ours, 9)
        assert text == "note: photo 'x.png' cannot be read.\n"
        other = os.path.join(os.sep, "home", "motionmag", ".venv", "torch", "core.py")
        theirs = warnings.formatwarning("old API", DeprecationWarning, other, 3, "")
        assert "DeprecationWarning" in theirs and "core.py:3" in theirs
    assert warnings.formatwarning is before


def test_a_ctrl_c_while_synth_workers_start_waits_and_is_raised_after():
    """Worker processes start with Ctrl+C blocked, so they inherit it and print no
    KeyboardInterrupt tracebacks of their own; the parent's Ctrl+C in that window used to
    be lost (ignored), and is now raised once the workers are up."""
    import signal
    import subprocess
    import sys
    import threading

    from motionmag.synth import shards

    # Python's own Ctrl+C handler, as in a terminal (a background job ignores SIGINT)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    held = shards._hold_ctrl_c()
    try:
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)  # pressed now
        child = subprocess.run(  # a worker is started the same way (fork + exec)
            [sys.executable, "-c", "import signal, sys; "
             "sys.exit(signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, []))"],
            check=False,
        )  # fmt: skip
        assert child.returncode == 1  # the worker holds Ctrl+C back too
    except KeyboardInterrupt:
        pytest.fail("the Ctrl+C came while the workers started")
    finally:
        try:
            with pytest.raises(KeyboardInterrupt):
                shards._release_ctrl_c(held)
        finally:
            signal.signal(signal.SIGINT, previous)
