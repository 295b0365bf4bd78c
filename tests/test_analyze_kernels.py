"""Kernel analysis (Oh et al. Sec. 4.3): exact on a linear encoder, and the CLI end to end."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from motionmag.analyze.kernels import approximate_kernels, probe_images
from motionmag.cli import main
from motionmag.nets.oh2018 import Oh2018Net


def test_linear_encoder_gives_back_its_kernels_exactly():
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(3, 4, 5, stride=2, padding=2, bias=True)
    images = probe_images(3, 160)
    result = approximate_kernels(conv, images, stride=2, kernel_px=7, spacing_px=32)
    weights = conv.weight.detach().numpy()
    np.testing.assert_allclose(result.kernels[:, :, 1:6, 1:6], weights, atol=1e-6)
    assert np.abs(result.kernels[:, :, 0]).max() < 1e-7  # outside the 5x5 support
    assert np.all(result.error < 1e-6)  # a linear system is explained completely


def test_nonlinear_encoder_has_an_approximation_error():
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(3, 4, 5, stride=2, padding=2, bias=True)
    images = probe_images(3, 160)
    result = approximate_kernels(
        lambda x: conv(x) ** 2, images, stride=2, kernel_px=7, spacing_px=32
    )
    assert np.all(result.error > 1e-3)
    assert list(result.order()) == list(np.argsort(result.error))


def test_kernels_command_writes_a_png(tmp_path, monkeypatch):
    from safetensors.torch import save_file

    torch.manual_seed(0)
    net = Oh2018Net()
    weights = tmp_path / "oh2018.safetensors"
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(weights))
    out = tmp_path / "kernels.png"
    bystander = tmp_path / ".kernels.tmp.png"  # once the fixed temporary name, replaced
    bystander.write_text("the user's notes")
    args = ["analyze", "kernels", "oh2018", "-o", str(out), "--weights", str(weights)]
    assert main([*args, "--images", "2"]) == 0
    assert out.stat().st_size > 10_000
    assert bystander.read_text() == "the user's notes"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".kernels.tmp.png",
        "kernels.png",
        "oh2018.safetensors",
    ]
    assert main([*args, "--images", "2"]) == 2  # refuses to overwrite
    assert main(["analyze", "kernels", "oh2018", "-o", str(tmp_path / "k.jpg")]) == 2
    assert not (tmp_path / "k.jpg").exists()


@pytest.mark.parametrize("kernel", ["257", "96", "8", "1"])
def test_a_kernel_crop_that_cannot_be_probed_is_one_sentence(tmp_path, capsys, kernel):
    """--kernel 257 was a ValueError traceback naming a spacing the user cannot set."""
    out = tmp_path / "k.png"
    assert main(["analyze", "kernels", "oh2018", "-o", str(out), "--kernel", kernel]) == 2
    err = capsys.readouterr().err
    assert f"--kernel {kernel} is not an odd number from 3 to 95" in err
    assert "Traceback" not in err and not out.exists()


@pytest.mark.parametrize("images", ["0", "14"])
def test_a_probe_image_count_out_of_range_is_one_sentence(tmp_path, capsys, images):
    out = tmp_path / "k.png"
    assert main(["analyze", "kernels", "oh2018", "-o", str(out), "--images", images]) == 2
    err = capsys.readouterr().err
    assert f"--images {images} is outside 1-13" in err and "--kernel" not in err
    assert not out.exists()


def test_texture_kernels_are_drawn_in_the_branch_receptive_field():
    from motionmag.analyze.kernels import default_kernel_px

    net = Oh2018Net()
    assert default_kernel_px(net, "shape") == 15
    assert default_kernel_px(net, "texture") == 75  # 2 x its 37 px radius + 1


@pytest.mark.parametrize("branch", ["texture"])
def test_texture_branch_runs(branch, tmp_path):
    torch.manual_seed(0)
    net = Oh2018Net()
    result = approximate_kernels(
        lambda x: net.encode(x)[0], probe_images(2, 192), stride=4, kernel_px=9
    )
    assert result.kernels.shape == (32, 3, 9, 9) and np.all(np.isfinite(result.error))


def test_weights_that_are_a_folder_are_named_so(tmp_path, capsys):
    """It read "-o ... is inside the input frame folder" (the folder taken as frames)."""
    code = main(["analyze", "kernels", "oh2018", "-o", str(tmp_path / "k.png"),
                 "--weights", str(tmp_path)])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 3 and "is a folder, not a file: give a .safetensors file" in err, err
    assert not (tmp_path / "k.png").exists()
