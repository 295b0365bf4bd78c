"""ONNX export of a learned magnifier's per-frame parts, and an ONNX Runtime runner.

What matters:

- **Two graphs, the engine's split.** The engine encodes every frame and decodes every
  frame once its selection is known, so the two parts exported are the encoder
  (``frame -> texture, shape``) and the manipulator + decoder given the selection and
  alpha as inputs (``texture, shape, selection, alpha -> frame``, i.e.
  ``decode(V, M + h((alpha - 1) g(S)))``). The selection itself (``M(t) - M(ref)`` in
  static mode, a band-pass in temporal mode) stays in torch, in fp32, in the temporal
  selector: the static reference's encoding is computed once, as on the torch path.
  Batch, height and width are dynamic axes, so one export serves every frame size.
- **Same interface as the torch path** (``magnify/learned.py``'s runner): ``encode`` and
  ``decode`` take and return float32 torch tensors; only the CPU is supported
  (onnxruntime's CPU build), with ``threads`` intra-op threads (default: torch's count).
- **Exported once per weights.** Files are cached in ``$MOTIONMAG_CACHE_DIR`` (else
  ``$XDG_CACHE_HOME/motionmag``, else ``~/.cache/motionmag``) under ``onnx/``, named by a
  SHA-256 of the network class, its configuration and every weight, and by the opset;
  written to a temporary file and renamed, so a crash never leaves a broken cache entry;
  a cached file ONNX Runtime cannot load (damaged, or written by another install's
  exporter) is exported again, once.
- **Nothing fails quietly.** Without the ``onnx`` / ``onnxruntime`` packages (the
  ``[onnx]`` extra) asking for the backend is a UsageError that says what to install.
"""

from __future__ import annotations

import copy
import hashlib
import importlib
import json
import os
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..atomic import atomic_output
from ..errors import MotionmagError, UsageError

#: ONNX opset of the exported graphs (part of the cache key)
ONNX_OPSET = 17
#: bump when the exported parts change meaning (part of the cache key)
EXPORT_FORMAT = 1
#: the frame size (px) the graphs are traced at; H and W are dynamic axes
_TRACE_SIZE_PX = 64


def require_onnx(export: bool = True) -> None:
    """UsageError (one sentence) unless onnxruntime (and, to export, onnx) can be imported."""
    needed = ["onnxruntime", "onnx"] if export else ["onnxruntime"]
    missing = []
    for name in needed:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise UsageError(
            f"backend 'onnx' needs the package{'s' if len(missing) > 1 else ''} "
            f"{' and '.join(missing)}, which {'are' if len(missing) > 1 else 'is'} not "
            "installed: run `.venv/bin/pip install -e '.[onnx]'` (or pip install onnx "
            "onnxruntime), or use --backend torch."
        )


def cache_dir() -> Path:
    """Where exported graphs are kept: ``$MOTIONMAG_CACHE_DIR`` or the user cache, ``/onnx``."""
    root = os.environ.get("MOTIONMAG_CACHE_DIR")
    if not root:
        xdg = os.environ.get("XDG_CACHE_HOME")
        root = os.path.join(xdg, "motionmag") if xdg else os.path.expanduser("~/.cache/motionmag")
    return Path(root) / "onnx"


#: raised whenever the exported graphs change (so a cached older export is not used):
#: 2 = alpha < 1 through the linear manipulator (``MagnificationNet.amplify``)
GRAPH_VERSION = 2


def weights_digest(model: nn.Module) -> str:
    """SHA-256 (hex) of the graph version, the network's class, configuration and every
    weight's bytes."""
    digest = hashlib.sha256()
    digest.update(f"graph {GRAPH_VERSION}".encode())
    digest.update(type(model).__name__.encode())
    digest.update(json.dumps(getattr(model, "config", {}), sort_keys=True).encode())
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(str(tuple(tensor.shape)).encode())
        digest.update(tensor.detach().to("cpu", torch.float32).contiguous().numpy().tobytes())
    return digest.hexdigest()


class EncoderPart(nn.Module):
    """``frame (N, 3, H, W) in [0, 1] -> (texture, shape)``: the network's encoder."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, frame: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.model.encode(frame)


class DecoderPart(nn.Module):
    """``(texture, shape, selection, alpha (1,)) -> frame in [0, 1]``: manipulator + decoder.

    ``decode(V, M + h((alpha - 1) g(S)))`` (Oh et al. 2018 Eq. 3-4, alpha the total
    factor); alpha = 1 adds exactly zero (bias-free h).
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(
        self,
        texture: torch.Tensor,
        shape: torch.Tensor,
        selection: torch.Tensor,
        alpha: torch.Tensor,
    ) -> torch.Tensor:
        return self.model.decode(texture, shape + self.model.amplify(selection, alpha), clip=True)


def _export(part: nn.Module, args: tuple, path: Path, inputs: dict, outputs: dict) -> None:
    """Export ``part`` to ``path`` atomically (temporary file in the same folder, rename)."""
    with atomic_output(path) as temporary, warnings.catch_warnings():
        # the TorchScript exporter's deprecation notice, trace-time shape checks and
        # constant-folding notes about reflect padding: none changes the graph's result
        warnings.simplefilter("ignore")
        torch.onnx.export(
            part,
            args,
            temporary,
            dynamo=False,  # the TorchScript exporter: no onnxscript dependency
            opset_version=ONNX_OPSET,
            input_names=list(inputs),
            output_names=list(outputs),
            dynamic_axes={**inputs, **outputs},
            do_constant_folding=True,
        )


def _cache_error(directory: Path, error: OSError) -> UsageError:
    """The sentence for an export cache that cannot be written (made, filled, cleared)."""
    return UsageError(
        f"the ONNX export cache '{directory}' cannot be written ({error.strerror or error}): "
        "set MOTIONMAG_CACHE_DIR to a folder you can write to."
    )


def export_parts(model: nn.Module, directory: Path | None = None) -> tuple[Path, Path]:
    """ONNX files (encoder, manipulator + decoder) of ``model``, exported unless cached."""
    directory = cache_dir() if directory is None else Path(directory)
    key = f"{type(model).__name__}-{weights_digest(model)[:20]}-opset{ONNX_OPSET}-v{EXPORT_FORMAT}"
    encoder_path = directory / f"{key}-encoder.onnx"
    decoder_path = directory / f"{key}-decoder.onnx"
    if encoder_path.is_file() and decoder_path.is_file():
        return encoder_path, decoder_path
    require_onnx(export=True)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise _cache_error(directory, error) from None
    cpu = copy.deepcopy(model).to("cpu", torch.float32, memory_format=torch.contiguous_format)
    cpu.eval()
    size = max(_TRACE_SIZE_PX, int(getattr(model, "min_size_px", 0)))
    frame = torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(0))
    try:
        _export_both(cpu, frame, encoder_path, decoder_path)
    except OSError as error:  # a read-only cache folder: the temporary file is refused
        raise _cache_error(directory, error) from None
    return encoder_path, decoder_path


def _export_both(
    cpu: nn.Module, frame: torch.Tensor, encoder_path: Path, decoder_path: Path
) -> None:
    """Trace and write the encoder (unless cached) and the manipulator + decoder."""
    with torch.inference_mode(False), torch.no_grad():
        texture, shape = cpu.encode(frame)
        selection = 0.01 * torch.randn(shape.shape, generator=torch.Generator().manual_seed(1))
        alpha = torch.tensor([10.0])
        if not encoder_path.is_file():
            _export(
                EncoderPart(cpu),
                (frame,),
                encoder_path,
                {"frame": {0: "n", 2: "h", 3: "w"}},
                {"texture": {0: "n", 2: "ht", 3: "wt"}, "shape": {0: "n", 2: "hs", 3: "ws"}},
            )
        _export(
            DecoderPart(cpu),
            (texture, shape, selection, alpha),
            decoder_path,
            {
                "texture": {0: "n", 2: "ht", 3: "wt"},
                "shape": {0: "n", 2: "hs", 3: "ws"},
                "selection": {0: "n", 2: "hs", 3: "ws"},
                "alpha": {},
            },
            {"frame": {0: "n", 2: "h", 3: "w"}},
        )


def _session(path: Path, options):
    """An ONNX Runtime CPU session of the graph at ``path``."""
    import onnxruntime as ort

    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _numpy(tensor: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(tensor.detach().to("cpu", torch.float32).numpy())


class OnnxRunner:
    """The learned network's per-frame parts run by ONNX Runtime (CPU), torch in and out.

    Args:
        model: the torch network (exported once, see :func:`export_parts`).
        threads: intra-op threads (default: ``torch.get_num_threads()``).
        directory: the export cache (default :func:`cache_dir`).
    """

    def __init__(
        self, model: nn.Module, threads: int | None = None, directory: Path | None = None
    ) -> None:
        require_onnx(export=False)
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.intra_op_num_threads = int(threads or torch.get_num_threads())
        options.inter_op_num_threads = 1
        paths = export_parts(model, directory)
        try:
            self.encoder, self.decoder = (_session(path, options) for path in paths)
        except Exception:  # a damaged cached file, or one another install's exporter
            # wrote (ONNX Runtime raises its own classes): export again
            try:
                for path in paths:
                    path.unlink(missing_ok=True)
            except OSError as error:
                raise _cache_error(paths[0].parent, error) from None
            paths = export_parts(model, directory)
            try:
                self.encoder, self.decoder = (_session(path, options) for path in paths)
            except Exception as error:
                raise MotionmagError(
                    f"ONNX Runtime cannot load the network exported to '{paths[0].parent}' "
                    f"({type(error).__name__}): use --backend torch, or update onnxruntime."
                ) from None
        self.paths = paths

    def encode(self, frame: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Frames (N, 3, H, W) in [0, 1], H and W multiples of 4 -> (texture, shape)."""
        texture, shape = self.encoder.run(None, {"frame": _numpy(frame)})
        return torch.from_numpy(texture), torch.from_numpy(shape)

    def decode(
        self,
        texture: torch.Tensor,
        shape: torch.Tensor,
        selection: torch.Tensor,
        alpha: float,
    ) -> torch.Tensor:
        """``decode(V, M + h((alpha - 1) g(S)))`` -> frames (N, 3, H, W) in [0, 1]."""
        (out,) = self.decoder.run(
            None,
            {
                "texture": _numpy(texture),
                "shape": _numpy(shape),
                "selection": _numpy(selection),
                "alpha": np.array([alpha], dtype=np.float32),
            },
        )
        return torch.from_numpy(out)
