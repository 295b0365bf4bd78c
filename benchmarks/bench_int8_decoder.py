"""Would 8-bit integers speed up a learned net's decoder on this CPU? ONNX Runtime static
quantization (QDQ, per-channel int8 weights, uint8 activations) of the exported
manipulator + decoder graph (``magnify/onnx_backend.py``) against the fp32 graph,
alternated in one process at 640x360, 2 threads, with the quality cost::

    python benchmarks/bench_int8_decoder.py [--model ha2024-fast] [--rounds 3] \
        [--json benchmarks/results/bench_int8_decoder.json]

Two quantized variants: every convolution, and every convolution but the manipulator's
(whose input, the tiny motion selection, alpha then multiplies). Calibration: 8 pairs of
scikit-image's ``astronaut`` translated by 0.1-2 px at alpha 2-50; measured on
``coffee`` translated by 0.3 px at alpha 10 (neither photo is in any training set).
Quality: SSIM (0-255 scale) and mean absolute difference ([0, 1] units) of each output to
the fp32 graph's.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from skimage import data

from motionmag.eval.metrics import ssim
from motionmag.magnify.onnx_backend import export_parts
from motionmag.models.registry import create_model
from records import command_line  # benchmarks/records.py

WIDTH, HEIGHT = 640, 360


def translated_pair(photo: np.ndarray, shift_px: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(frame, frame translated by (shift, shift / 2) px), (1, 3, H, W) in [0, 1]."""
    frame = cv2.resize(photo, (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA)
    frame = frame.astype(np.float32) / 255.0
    matrix = np.float32([[1, 0, shift_px], [0, 1, shift_px / 2]])
    moved = cv2.warpAffine(
        frame, matrix, (WIDTH, HEIGHT), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT
    )

    def tensor(image: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None]

    return tensor(frame), tensor(moved)


def decoder_feed(model, photo: np.ndarray, shift_px: float, alpha: float) -> dict:
    """The decoder graph's inputs for one pair: frame b's encoding and the selection."""
    a, b = translated_pair(photo, shift_px)
    with torch.no_grad():
        _, shape_a = model.encode(a)
        texture_b, shape_b = model.encode(b)
    return {
        "texture": texture_b.numpy(),
        "shape": shape_b.numpy(),
        "selection": (shape_b - shape_a).numpy(),
        "alpha": np.array([alpha], np.float32),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="ha2024-fast")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--runs", type=int, default=4, help="decodes per timing")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    import onnx
    import onnxruntime as ort
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    torch.set_num_threads(args.threads)
    model = create_model(args.model, pretrained=True).eval()
    work = Path(tempfile.mkdtemp(prefix="int8-"))
    _, decoder_path = export_parts(model, work)
    shifts_alphas = [(0.1, 2.0), (0.5, 5.0), (1.0, 10.0), (2.0, 20.0)]
    shifts_alphas += [(0.1, 50.0), (0.5, 2.0), (1.0, 5.0), (2.0, 10.0)]
    calibration = [decoder_feed(model, data.astronaut(), s, a) for s, a in shifts_alphas]

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.items = iter(calibration)

        def get_next(self) -> dict | None:
            return next(self.items, None)

    prepared = work / "prepared.onnx"
    # the exporter's reflect pads leave shapes symbolic inference cannot finish; the
    # pre-processing writes scratch files into the working folder, so run it in ``work``
    with contextlib.chdir(work):
        quant_pre_process(str(decoder_path), str(prepared), skip_symbolic_shape=True)
    graph = onnx.load(str(prepared))
    manipulator = [
        n.name for n in graph.graph.node if n.op_type == "Conv" and "manipulator" in n.name
    ]
    variants = {"int8 all convolutions": [], "int8 but the manipulator": manipulator}
    paths = {"fp32": decoder_path}
    for name, excluded in variants.items():
        paths[name] = work / f"{len(paths)}.onnx"
        quantize_static(
            str(prepared),
            str(paths[name]),
            Reader(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            op_types_to_quantize=["Conv"],
            nodes_to_exclude=excluded,
        )
    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sessions = {
        name: ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        for name, path in paths.items()
    }
    feed = decoder_feed(model, data.coffee(), 0.3, 10.0)
    times: dict[str, list[float]] = {name: [] for name in sessions}
    outputs = {}
    for _ in range(args.rounds):
        for name, session in sessions.items():
            start = time.perf_counter()
            for _ in range(args.runs):
                outputs[name] = session.run(None, feed)[0][0].transpose(1, 2, 0)
            times[name].append((time.perf_counter() - start) / args.runs)
    fp32_ms = statistics.median(times["fp32"]) * 1000
    rows = {}
    for name in sessions:
        ms = statistics.median(times[name]) * 1000
        rows[name] = {"decode_ms": round(ms, 1), "speed_vs_fp32": round(fp32_ms / ms, 3)}
        if name != "fp32":
            rows[name]["ssim_to_fp32"] = round(ssim(255 * outputs[name], 255 * outputs["fp32"]), 4)
            rows[name]["mean_abs_to_fp32"] = round(
                float(np.abs(outputs[name] - outputs["fp32"]).mean()), 5
            )
        print(name, rows[name])
    result = {
        "command": command_line(),
        "model": args.model,
        "size": f"{WIDTH}x{HEIGHT}",
        "threads": args.threads,
        "cpu_flags_avx512_vnni": "avx512_vnni" in Path("/proc/cpuinfo").read_text(),
        "onnxruntime": ort.__version__,
        "rows": rows,
    }
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
