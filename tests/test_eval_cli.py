"""`motionmag eval`: table, JSON, plot, --compare, skips and bad input, end to end."""

from __future__ import annotations

import json
import math

import pytest

from motionmag.cli import main
from motionmag.eval.report import format_table, read_json, to_json, write_json
from motionmag.eval.results import Level, SuiteResult
from motionmag.eval.suites import GROUPS, resolve_suites, suite_names

SMALL = ["--n", "1", "--size", "64", "--quiet"]


def test_suite_names_and_groups():
    assert suite_names() == [
        "subpixel", "noise-small", "noise-large", "alpha-sweep",
        "linearity", "circles", "rig", "real-video", "physio-tasks", "physio-gamma",
    ]  # fmt: skip
    assert [s.name for s in resolve_suites("physio")] == ["physio-tasks", "physio-gamma"]
    assert [s.name for s in resolve_suites("pairs")] == suite_names()[:4]
    assert [s.name for s in resolve_suites("rig,subpixel,rig")] == ["subpixel", "rig"]
    assert set(GROUPS["all"]) == set(suite_names())


def test_eval_writes_table_json_and_plot(tmp_path, capsys):
    out_json, out_png = tmp_path / "r.json", tmp_path / "r.png"
    args = ["eval", "linear", "--suite", "subpixel", *SMALL]
    assert main([*args, "--json", str(out_json), "--plot", str(out_png)]) == 0
    printed = capsys.readouterr().out
    assert "subpixel: ssim (higher is better)" in printed and "input (ssim_input)" in printed
    document = json.loads(out_json.read_text())
    (result,) = document["results"]
    assert result["method"] == "linear" and len(result["levels"]) == 15
    assert all(0 <= level["values"]["ssim"] <= 1 for level in result["levels"])
    assert out_png.stat().st_size > 5_000
    # compare: a saved run is drawn beside a new one
    compared = tmp_path / "c.png"
    assert main([*args, "--compare", str(out_json), "--plot", str(compared)]) == 0
    assert compared.is_file()
    assert main([*args, "--json", str(out_json), "--compare", str(out_json)]) == 2
    # a run on other scenes says so, with both input floors (the table shows this run's)
    capsys.readouterr()
    assert main([*args, "--seed", "3", "--compare", str(out_json)]) == 0
    note = capsys.readouterr().err
    assert "was run with other settings (scene_seed, seed)" in note
    theirs = result["levels"][0]["values"]["ssim_input"]
    assert f"its input floor at the first level is {theirs:.4g}, this run's " in note


def test_the_real_video_ruler_is_chosen_on_the_command_line(tmp_path):
    """--ruler picks the flow that measures the real-video suite; the two rulers read the
    same output differently, and the JSON says which one measured it."""
    errors = {}
    for ruler in ("dis", "farneback"):
        out_json = tmp_path / f"{ruler}.json"
        args = ["eval", "linear", "--suite", "real-video", "--n", "3", "--size", "96"]
        assert main([*args, "--quiet", "--ruler", ruler, "--json", str(out_json)]) == 0
        (result,) = json.loads(out_json.read_text())["results"]
        assert result["settings"]["estimator"] == ruler
        errors[ruler] = [level["values"]["motion_error"] for level in result["levels"]]
    assert errors["dis"] != errors["farneback"]
    assert main(["eval", "linear", "--suite", "real-video", "--ruler", "raft"]) == 2


def test_a_suite_that_does_not_apply_is_skipped(tmp_path, capsys):
    assert main(["eval", "acceleration", "--suite", "subpixel", *SMALL]) == 2
    assert "skipped" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args, status",
    [
        (["eval", "nope"], 2),
        (["eval", "linear", "--suite", "nope"], 2),
        (["eval", "linear", "--n", "0"], 2),
        (["eval", "linear", "--plot", "x.gif"], 2),
        (["eval", "linear", "--json", "/no/such/dir/r.json"], 2),
        (["eval", "linear", "--json", "results.txt"], 2),
        (["eval", "linear", "--video", "/no/such.mp4"], 3),
        (["eval", "linear", "--compare", "/no/such.json"], 3),
    ],
)
def test_bad_input_is_one_sentence_and_a_status(args, status, capsys):
    assert main(args) == status
    err = capsys.readouterr().err.strip()
    assert err.startswith("motionmag: error:") and err.count("\n") == 0


def test_table_marks_lower_is_better():
    result = SuiteResult(
        suite="circles", method="m", x_name="noise", x_log=False, primary="mse",
        floor="mse_input", levels=[Level(x=0.0, values={"mse": 1.5, "mse_input": 3.0}, n=1)],
    )  # fmt: skip
    table = format_table([result])
    assert "mse (grey levels^2, lower is better)" in table and "1.5000" in table
    assert "3.0000" in table  # the unit named where the metric has one (review, stop 54)


def test_read_json_roundtrip(tmp_path):
    result = SuiteResult(
        "rig",
        "m",
        "alpha",
        True,
        "amplitude_ratio",
        None,
        [Level(5.0, {"amplitude_ratio": 0.9}, 2, {"amplitude_ratio": 0.1})],
    )
    path = tmp_path / "x.json"
    path.write_text(json.dumps({"results": [result.to_dict()]}))
    assert read_json(path) == [result]
    # non-finite numbers: written as strict JSON (null, "inf"), read back as floats
    result.levels.append(Level(10.0, {"amplitude_ratio": math.inf, "psnr_db": math.nan}, 2))
    result.summary = {"worst": -math.inf}
    write_json(path, to_json([result], command="eval m"))
    assert "NaN" not in path.read_text() and "Infinity" not in path.read_text()
    (back,) = read_json(path)
    assert back.levels[1].values["amplitude_ratio"] == math.inf
    assert math.isnan(back.levels[1].values["psnr_db"]) and back.summary["worst"] == -math.inf
    assert back.levels[0] == result.levels[0]


def test_ratio_tables_say_one_is_ideal_and_a_perfect_score_is_drawn_as_such():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from motionmag.eval.report import _bars

    ratio = SuiteResult(
        suite="rig", method="m", x_name="alpha", x_log=True, primary="amplitude_ratio",
        floor=None, levels=[Level(5.0, {"amplitude_ratio": 0.9}, 1)],
    )  # fmt: skip
    assert "amplitude_ratio (1 is ideal)" in format_table([ratio])
    perfect = SuiteResult(
        suite="physio-tasks", method="m", x_name="task", x_log=False, primary="psnr_db",
        floor=None, levels=[Level(0, {"psnr_db": math.inf}, 1), Level(1, {"psnr_db": 40.0}, 1)],
    )  # fmt: skip
    fig, axis = plt.subplots()
    _bars(axis, "psnr_db", [perfect])
    assert [t.get_text() for t in axis.texts] == ["inf\n(identical)"]  # not an empty bar
    assert axis.get_xlim() == (-0.5, 1.5)
    plt.close(fig)


def test_compare_names_what_is_wrong_with_the_file(tmp_path, capsys):
    """Another command's JSON leaked a KeyError ('levels'), a binary file a codec error."""
    other = tmp_path / "bench.json"
    other.write_text('{"results": [{"method": "linear", "fps": 3.1}]}')
    binary = tmp_path / "noise.json"
    binary.write_bytes(bytes(range(256)))
    for path, words in ((other, "holds no evaluation results"), (binary, "is not a JSON file")):
        assert main(["eval", "linear", "--suite", "subpixel", "--compare", str(path)]) == 3
        err = capsys.readouterr().err
        assert words in err and err.count("\n") == 1, err


def test_a_bad_setting_or_video_is_refused_before_any_suite_runs(tmp_path, capsys):
    """A method without the --set option was 'skipped' suite by suite and the run ended
    without it (exit 0); a --video that is not a video failed only when real-video came,
    after the suites before it had run; --alpha inf ran."""
    out = tmp_path / "r.json"
    cases = [
        (["eval", "linear", "phase", "--suite", "subpixel", "--set", "lambda_c_px=16"], 2,
         "method 'phase' has no option lambda_c_px"),
        (["eval", "linear", "--suite", "subpixel,real-video", "--video", str(tmp_path / "v.json")],
         3, "is not a video"),
        (["eval", "linear", "--suite", "subpixel", "--alpha", "inf"], 2, "not inf"),
    ]  # fmt: skip
    (tmp_path / "v.json").write_text("{}")
    for argv, status, words in cases:
        assert main([*argv, "--n", "1", "--size", "64", "--json", str(out)]) == status
        err = capsys.readouterr().err
        assert words in err and "%|" not in err, err  # no progress bar: no suite ran
        assert not out.exists()


def test_json_and_plot_are_written_both_or_neither(tmp_path, capsys, monkeypatch):
    """A stop while the plot was drawn kept the JSON alone."""
    import motionmag.eval.cli_eval as cli_eval

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_eval, "plot", stopped)
    json_path, plot_path = tmp_path / "r.json", tmp_path / "r.png"
    argv = ["eval", "linear", "--suite", "subpixel", *SMALL, "--json", str(json_path),
            "--plot", str(plot_path)]  # fmt: skip
    assert main(argv) == 130
    assert not json_path.exists() and not plot_path.exists()


def test_an_edited_or_empty_results_file_is_one_sentence(tmp_path, capsys):
    """A level value edited to a string was a TypeError traceback after the whole run;
    {"results": {}} was read as nothing to compare, silently."""
    out = tmp_path / "r.json"
    assert main(["eval", "linear", "--suite", "subpixel", *SMALL, "--json", str(out)]) == 0
    document = json.loads(out.read_text())
    document["results"][0]["levels"][0]["values"]["ssim"] = "abc"
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(document))
    (tmp_path / "empty.json").write_text('{"results": {}}')
    for name in ("edited.json", "empty.json"):
        capsys.readouterr()
        argv = ["eval", "linear", "--suite", "subpixel", *SMALL, "--compare", str(tmp_path / name)]
        assert main(argv) == 3
        err = capsys.readouterr().err
        assert "holds no evaluation results" in err and err.count("\n") == 1


def test_compared_levels_are_matched_by_x_not_by_position():
    """A compared file with other levels showed its values against the wrong x."""

    def result(method: str, xs: list[float], values: list[float]) -> SuiteResult:
        levels = [Level(x=x, values={"ssim": v}, n=1) for x, v in zip(xs, values, strict=True)]
        return SuiteResult(suite="subpixel", method=method, x_name="px", x_log=False,
                           primary="ssim", floor=None, levels=levels)  # fmt: skip

    table = format_table([result("now", [0.1, 0.2, 0.3], [0.5, 0.6, 0.7]),
                          result("old", [0.2, 0.3], [0.66, 0.77])])  # fmt: skip
    rows = [line.split() for line in table.splitlines()[2:5]]
    assert rows == [
        ["0.1", "0.5000", "-"], ["0.2", "0.6000", "0.6600"], ["0.3", "0.7000", "0.7700"]
    ]  # fmt: skip


def _tasks(method: str, table: list[str], plots: list[str]) -> SuiteResult:
    values = {name: 0.5 for name in table}
    return SuiteResult(suite="physio-tasks", method=method, x_name="task", x_log=False,
                       primary="ssim", floor=None, levels=[Level(0, values, 1)],
                       x_labels=["A"], table=table, plots=plots)  # fmt: skip


def test_the_report_does_not_depend_on_the_order_of_the_methods():
    """physio-tasks: `eval linear color` left out color's compensated metrics (the first
    method's columns and panels were taken for all); `eval color linear` kept them."""
    from motionmag.eval.report import _panels

    plain = _tasks("linear", ["psnr_db", "ssim"], ["psnr_db", "ssim"])
    fuller = _tasks("color", ["psnr_db", "ssim", "gain_compensated"], ["ssim", "gain_compensated"])
    for group in ([plain, fuller], [fuller, plain]):
        header = format_table(group).splitlines()[1].split()
        assert header == ["task", "method", "psnr_db", "ssim", "gain_compensated"]
        assert {metric for _suite, metric, _group in _panels(group)} == {
            "psnr_db",
            "ssim",
            "gain_compensated",
        }
    table = format_table([fuller, plain]).splitlines()
    linear_row = next(line.split() for line in table if " linear " in f" {line} ")
    assert linear_row[-1] == "-"  # linear has no gain_compensated: a dash, not a value


def test_plots_survive_a_panel_of_nothing_and_many_methods(tmp_path):
    """A panel whose values were all NaN raised 'Data cannot be log-scaled' (and the JSON
    was not written); past 10 methods matplotlib's colours repeated."""
    from motionmag.eval.report import _style, plot

    levels = [Level(a, {"ratio": math.nan}, 0) for a in (2.0, 10.0, 100.0)]
    lost = SuiteResult(suite="linearity", method="m", x_name="alpha", x_log=True,
                       primary="ratio", floor=None, levels=levels)  # fmt: skip
    plot([lost], tmp_path / "lost.png")
    assert (tmp_path / "lost.png").stat().st_size > 5_000
    colours = [str(_style(k, 14)["color"]) for k in range(14)]
    assert len(set(colours)) == 14
    assert _style(0, 3) == {"color": "C0"}  # a few methods keep matplotlib's own


def test_compare_checks_settings_method_by_method_and_records_set_options(tmp_path, capsys):
    """A compared file's results were checked against the last method's settings (phase
    lost alpha 100, linear did not: 'other settings (unscored_alphas)' for a rerun of the
    same command); --set options were kept nowhere but the command line, so a run with
    other options compared without a note."""
    saved = tmp_path / "saved.json"
    args = ["eval", "linear", "phase", "--suite", "subpixel", "--n", "1", "--size", "48", "--quiet"]
    assert main([*args, "--json", str(saved)]) == 0
    document = json.loads(saved.read_text())
    document["results"][1]["settings"]["size_px"] = 50  # phase's only, as a suite may
    saved.write_text(json.dumps(document))
    capsys.readouterr()
    assert main([*args, "--compare", str(saved)]) == 0
    err = capsys.readouterr().err
    assert "phase / subpixel" in err and "linear / subpixel" not in err, err
    options = tmp_path / "options.json"
    one = ["eval", "linear", "--suite", "subpixel", "--n", "1", "--size", "48", "--quiet"]
    assert main([*one, "--set", "lambda_c_px=4", "--json", str(options)]) == 0
    (result,) = json.loads(options.read_text())["results"]
    assert result["settings"]["options"] == {"lambda_c_px": 4}
    capsys.readouterr()
    assert main([*one, "--compare", str(options)]) == 0
    assert "was run with other settings (options)" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, words",
    [
        (["eval", "hmn", "linear", "--suite", "subpixel"], "no shipped weights for 'hmn'"),
        (["eval", "linear", "phase", "linear", "--suite", "subpixel"],
         "linear is named more than once"),
        (["eval", "linear", "--suite", "subpixel", "--video", "/no/such.mp4"],
         "--video is read by the real-video suite only"),
    ],
)  # fmt: skip
def test_a_method_without_weights_or_named_twice_is_refused_before_the_work(
    tmp_path, capsys, argv, words
):
    """hmn without weights was 'skipped' suite by suite and the run went on with linear
    alone (exit 0); a method named twice ran twice; a --video for suites that do not read
    it was reported missing instead of not read."""
    out = tmp_path / "r.json"
    assert main([*argv, "--n", "1", "--size", "48", "--json", str(out)]) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1 and "%|" not in err, err
    assert not out.exists()


def test_a_many_metric_table_matches_compared_levels_by_x():
    """rig / real-video / circles print one row per level and method: a compared file of
    other alphas showed its values against this run's alphas, by position."""

    def rig(method: str, points: tuple) -> SuiteResult:
        levels = [Level(x, {"amplitude_ratio": v}, 1) for x, v in points]
        return SuiteResult(suite="rig", method=method, x_name="alpha", x_log=True,
                           primary="amplitude_ratio", floor=None, levels=levels,
                           table=["amplitude_ratio"])  # fmt: skip

    now, old = rig("now", ((5, 0.5), (10, 0.6))), rig("old", ((10, 0.9), (20, 0.8)))
    rows = [line.split() for line in format_table([now, old]).splitlines()[2:]]
    assert rows == [["5", "now", "0.5000"], ["10", "now", "0.6000"], ["10", "old", "0.9000"]]
