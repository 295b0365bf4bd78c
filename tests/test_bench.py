"""``motionmag bench``: speed side by side with oh2018, FLOPs, parameters, peak RSS.

Known answers: the FLOPs the bench counts for oh2018 (static mode: encoder of the new
frame + manipulator + decoder) equal a layer-by-layer hand count of the architecture
(Oh2018Net's docstring), and the hand count of a full pair forward lies within 5 % of
Oh et al.'s 41.3 G multiply-adds at 384x384 (Ha et al. 2024, EVALUATION.md section 6);
the reference's ratio to itself is 1 and every other ratio is the quotient of the fps
measured in the same run; bad input is one sentence and exit status 2. Frames are tiny
and runs single: these are tests of the bench, not measurements.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict

import pytest

from motionmag.cli import main
from motionmag.eval.bench import (
    REFERENCE,
    BenchCase,
    BenchResult,
    _measure_fresh,
    measure_case,
    merge_record,
    parse_sizes,
    run_bench,
)
from motionmag.nets.oh2018 import Oh2018Net


def _conv_flops(height: int, width: int, c_in: int, c_out: int, kernel: int) -> int:
    """2 x multiply-adds of a bias-free convolution with an (height, width) output."""
    return 2 * height * width * c_in * c_out * kernel * kernel


def _oh2018_flops(height: int, width: int) -> tuple[int, int, int]:
    """(encoder, manipulator, decoder) FLOPs of the released oh2018 configuration, by hand.

    Encoder: conv7 3->16 at H; conv3/2 16->32 at H/2; 3 ResBlocks (6 conv3 32) at H/2;
    texture: conv3/2 32->32 at H/4 + 2 ResBlocks at H/4; shape: 2 ResBlocks at H/2.
    Manipulator: g conv7 32->32, h conv3 + 1 ResBlock, at H/2. Decoder: texture x2 +
    conv3 32->32 at H/2; 9 ResBlocks of 64 ch at H/2; x2, conv3 64->32 at H; conv7 32->3.
    """
    h1, w1, h2, w2, h4, w4 = height, width, height // 2, width // 2, height // 4, width // 4
    encoder = (
        _conv_flops(h1, w1, 3, 16, 7)
        + _conv_flops(h2, w2, 16, 32, 3)
        + 6 * _conv_flops(h2, w2, 32, 32, 3)
        + 5 * _conv_flops(h4, w4, 32, 32, 3)
        + 4 * _conv_flops(h2, w2, 32, 32, 3)
    )
    manipulator = _conv_flops(h2, w2, 32, 32, 7) + 3 * _conv_flops(h2, w2, 32, 32, 3)
    decoder = (
        _conv_flops(h2, w2, 32, 32, 3)
        + 18 * _conv_flops(h2, w2, 64, 64, 3)
        + _conv_flops(h1, w1, 64, 32, 3)
        + _conv_flops(h1, w1, 32, 3, 7)
    )
    return encoder, manipulator, decoder


def test_oh2018_gflops_at_384_match_the_hand_count_and_the_paper():
    """Static mode at 384x384: 70.85 GFLOPs per frame, i.e. a pair minus one encoder;
    a pair (79.52 GFLOPs = 39.8 G multiply-adds) is within 5 % of the paper's 41.3 G."""
    case = BenchCase(REFERENCE, "static", 384, 384, 1, 1, 1, "random", warmup=1)
    result = measure_case(case)
    encoder, manipulator, decoder = _oh2018_flops(384, 384)
    assert result.gflops_per_frame * 1e9 == pytest.approx(encoder + manipulator + decoder)
    assert result.gflops_per_frame == pytest.approx(70.85, abs=0.01)
    pair_multiply_adds = (2 * encoder + manipulator + decoder) / 2
    assert abs(pair_multiply_adds / 41.3e9 - 1) < 0.05
    assert result.params == sum(p.numel() for p in Oh2018Net().parameters())
    assert result.fps > 0


def test_cli_json_has_every_field_and_ratios_to_oh2018(tmp_path, capsys):
    out = tmp_path / "bench.json"
    argv = ["bench", "linear", "--sizes", "64x48", "--frames", "2", "--runs", "1", "--threads", "1"]
    assert main([*argv, "--no-memory", "--quiet", "--json", str(out)]) == 0
    table = capsys.readouterr().out
    from motionmag.magnify.registry import get_method, weights_available

    installed = weights_available(get_method(REFERENCE))
    reference_label = REFERENCE + ("" if installed else " (random)")
    rows_of_table = [line.split("  ")[0] for line in table.splitlines()]
    assert reference_label in rows_of_table and "linear" in rows_of_table
    assert ("architecture timed with random weights" in table) == (not installed)
    document = json.loads(out.read_text())
    assert document["reference"] == REFERENCE
    rows = {r["method"]: r for r in document["results"]}
    assert list(rows) == [REFERENCE, "linear"]
    fields = {"method", "mode", "size", "fps", "x_oh2018", "gflops_per_frame", "params"}
    for row in rows.values():
        assert fields | {"peak_rss_mb", "run_seconds"} <= set(row)
        assert row["size"] == "64x48" and row["fps"] > 0 and row["peak_rss_mb"] is None
    reference, linear = rows[REFERENCE], rows["linear"]
    assert reference["x_oh2018"] == 1.0 and reference["mode"] == "static"
    assert linear["x_oh2018"] == pytest.approx(linear["fps"] / reference["fps"])
    assert linear["mode"] == "temporal" and linear["gflops_per_frame"] is None
    assert linear["params"] is None
    encoder, manipulator, decoder = _oh2018_flops(48, 64)
    assert reference["gflops_per_frame"] * 1e9 == pytest.approx(encoder + manipulator + decoder)


def test_peak_rss_is_measured_in_a_fresh_process():
    result = _measure_fresh(BenchCase("linear", "temporal", 32, 32, 1, 1, 1, "-"))
    assert result.fps > 0
    assert result.import_rss_mb > 50  # Python + torch
    assert result.peak_rss_mb >= result.import_rss_mb


def test_a_case_s_peak_is_its_own_not_its_parent_s():
    """ru_maxrss is kept across fork and exec: after the parent had held 2.5 GB, a linear
    case at 32x32 read a peak of 2834 MB."""
    import numpy as np

    held = np.ones(1_500_000_000 // 8)  # 1.5 GB touched in this (the parent) process
    result = _measure_fresh(BenchCase("linear", "temporal", 32, 32, 1, 1, 1, "-"))
    assert held[-1] == 1.0
    assert result.peak_rss_mb < 1200, result.peak_rss_mb  # measured 420


def test_every_network_s_parameters_are_counted_and_a_mode_can_be_chosen():
    """deepmag-motion keeps its network as ``predictor.net``: its parameters showed '-';
    bench timed each method in one mode only, the learned nets never in dynamic."""
    case = BenchCase("deepmag-motion", "temporal", 48, 32, 1, 1, 1, "installed")
    assert measure_case(case).params > 10_000
    results = run_bench(["linear", "deepmag-color"], sizes=[(48, 32)], frames=1, runs=1,
                        threads=1, memory=False, mode="dynamic")  # fmt: skip
    assert [(r.method, r.mode) for r in results] == [(REFERENCE, "dynamic"), ("linear", "dynamic")]


def test_record_keeps_the_format_of_speeds_py():
    """Sizes as "640x360" / "1080p" fps (3 digits), the only numbers of an entry."""
    case = asdict(BenchCase(REFERENCE, "static", 1920, 1080, 4, 5, 2, "random"))
    results = [
        BenchResult(**{**case, "width": 640, "height": 360}, fps=3.14159),
        BenchResult(**case, fps=0.271828),
    ]
    old = {"methods": {"linear": {"640x360": 105.0, "mode": "temporal"}}, "extra": 1}
    merged = merge_record(old, results, command="motionmag bench --write-record")
    entry = merged["methods"][REFERENCE]
    numbers = {k: v for k, v in entry.items() if isinstance(v, (int, float))}
    assert numbers == {"640x360": 3.14, "1080p": 0.272}
    assert entry["mode"] == "static" and entry["command"] == "motionmag bench --write-record"
    assert merged["methods"]["linear"] == old["methods"]["linear"] and merged["extra"] == 1
    assert "methods" in old and REFERENCE not in old["methods"]  # input left unchanged


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["bench", "nosuchmethod", "--sizes", "64x48"], "unknown method 'nosuchmethod': choose"),
        (["bench", "lineer", "--sizes", "64x48"], "unknown method 'lineer' (did you mean linear?)"),
        (["bench", "linear", "--sizes", "64by48"], "size '64by48' is not WIDTHxHEIGHT"),
        (["bench", "linear", "--sizes", "64x48", "--runs", "0"], "--runs must be at least 1"),
        (["bench", "linear", "--sizes", "64x48", "--threads", "999"], "--threads 999 is far more"),
        (["bench", "linear", "--sizes", "64x48", "--write-record"], "--write-record keeps only"),
        # the record says "on 2 CPUs": 1 thread or 1 frame slipped into it
        (["bench", "nope", "--write-record", "--threads", "1"], "--write-record keeps only"),
        (["bench", "nope", "--write-record", "--frames", "1"], "--write-record keeps only"),
        (["bench", "nope", "--write-record", "--mode", "static"], "--write-record keeps only"),
        (["bench", "deepmag-color", "--mode", "static"], "deepmag-color has no static mode"),
        (["bench", "linear", "--sizes", "64x48", "--json", "out.txt"], "not a .json file"),
        (
            ["bench", "linear", "--sizes", "64x48", "--backend", "onnx", "--precision", "bf16"],
            "precision 'bf16' runs only with backend torch",
        ),
        (
            ["bench", "linear", "--sizes", "64x48", "--backend", "onnx", "--batch", "2"],
            "batch decodes frames together on the untiled torch path",
        ),
    ],
)
def test_bad_input_is_one_sentence_and_status_2(argv, words, capsys):
    assert main([*argv, "--no-memory"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert words in captured.err and captured.err.count("\n") == 1


def test_parse_sizes():
    assert parse_sizes("640x360, 1920X1080") == [(640, 360), (1920, 1080)]


def test_a_named_learned_method_without_weights_is_timed_by_its_architecture(monkeypatch):
    import motionmag.eval.bench as bench

    monkeypatch.setattr(bench, "weights_available", lambda spec: False)
    chosen = bench.select_methods(["flowmag", "linear"])
    assert [(spec.name, label) for spec, label in chosen] == [
        (REFERENCE, "random"),
        ("flowmag", "random"),
        ("linear", "-"),
    ]
    # not named: a learned method without weights is left out of the default set
    assert all(
        label != "random" or spec.name == REFERENCE for spec, label in bench.select_methods(None)
    )


def test_default_frames_scale_with_one_over_the_area_within_bounds():
    from motionmag.eval.bench import MAX_DEFAULT_FRAMES, default_frames

    assert default_frames(640, 360) == 20 and default_frames(1920, 1080) == 4
    assert default_frames(320, 180) == 80
    assert default_frames(160, 90) == MAX_DEFAULT_FRAMES == 100
    assert default_frames(7680, 4320) == 4


def test_speed_options_are_timed_only_on_methods_that_take_them(monkeypatch):
    """--backend / --precision / --batch add a variant of oh2018, ha2024 and ha2024-fast
    only: flowmag (no such option) was timed and then the run failed, results lost."""
    import motionmag.eval.bench as bench

    timed = []

    def fake_measure(case: BenchCase) -> BenchResult:
        timed.append((case.method, case.options))
        return BenchResult(**asdict(case), fps=1.0)

    monkeypatch.setattr(bench, "measure_case", fake_measure)
    results = bench.run_bench(
        ["flowmag", "ha2024", "linear"], sizes=[(64, 48)], memory=False,
        options={"precision": "bf16"},
    )  # fmt: skip
    variant = (("precision", "bf16"),)
    assert timed == [
        ("oh2018", ()), ("oh2018", variant), ("flowmag", ()), ("ha2024", ()),
        ("ha2024", variant), ("linear", ()),
    ]  # fmt: skip
    assert [r.label for r in results][-2] == "ha2024 [precision=bf16]"


def test_a_whole_clip_method_is_timed_with_its_flush(monkeypatch):
    """DeepMag only stores frames in push and magnifies in flush: timing push alone gave
    1.6 million fps. A run is now at least WHOLE_CLIP_FRAMES pushes and the flush."""
    import motionmag.eval.bench as bench
    from motionmag.deepmag.method import WholeClipMagnifier

    flushed = []

    class Slow(WholeClipMagnifier):
        def magnify_clip(self, frames):
            flushed.append(len(frames))
            time.sleep(0.05)
            return frames

    case = BenchCase("linear", "temporal", 16, 16, frames=4, runs=2, threads=1, weights="-")
    monkeypatch.setattr(bench, "build_magnifier", lambda config: Slow())
    result = measure_case(case)
    assert flushed == [bench.WHOLE_CLIP_FRAMES] * 3  # one warm-up run and two timed
    assert result.frames == bench.WHOLE_CLIP_FRAMES
    assert result.fps < bench.WHOLE_CLIP_FRAMES / 0.05
    assert result.gflops_per_frame is None


def test_a_bench_of_every_method_names_those_it_leaves_out(monkeypatch, capsys):
    """`motionmag bench` timed "every installed method" and left out the nets without
    weights (lwmm, hmn, ...) without a word."""
    import motionmag.eval.cli_bench as cli_bench
    from motionmag.magnify.registry import methods, weights_available

    def stop(*args, **kwargs):
        raise KeyboardInterrupt  # nothing is timed: the note comes before

    monkeypatch.setattr(cli_bench, "run_bench", stop)
    assert main(["bench", "--sizes", "64x48", "--no-memory"]) == 130
    err = capsys.readouterr().err
    untimed = [s.name for s in methods() if s.weights and not weights_available(s)]
    untimed = [name for name in untimed if name != REFERENCE]
    if not untimed:
        pytest.skip("every method ships weights: none is left out")
    assert f"note: {', '.join(untimed)} have no weights installed: not timed" in err
