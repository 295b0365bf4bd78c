"""motionmag: make motions too small to see visible, and measurable.

alpha is the total magnification factor everywhere: output displacement = alpha x input
displacement (1 = unchanged, 0 < alpha < 1 attenuates).

>>> import motionmag as mm
>>> mm.magnify("in.mp4", "out.mp4", method="linear", alpha=20, band=(0.5, 3.0))
>>> out = mm.magnify_frames(frames, fps=30.0, method="linear", alpha=10, mode="static")
>>> stream = mm.Stream(method="linear", alpha=10, mode="dynamic")
>>> net = mm.create_model("oh2018", pretrained=True)   # the trained torch.nn.Module
>>> before = mm.measure("in.mp4", roi=(200, 150, 120, 80))   # a region's motion, px per frame
"""

# first: one sets GOMP_SPINCOUNT before torch loads, the other quiets Ctrl+C meanwhile
from . import openmp_spin, startup_interrupt  # noqa: F401 (openmp_spin: its import)
from .errors import InputError, MotionmagError, UsageError
from .magnify.config import MagnifyConfig
from .magnify.engine import MagnifyResult
from .magnify.registry import MethodSpec, get_method, methods
from .python_api import Stream, compare_motion, create_model, magnify, magnify_frames, measure

__version__ = "0.1.0"

startup_interrupt.package_loaded()  # Python's Ctrl+C handler back (the command: later)

__all__ = [
    "InputError",
    "MagnifyConfig",
    "MagnifyResult",
    "MethodSpec",
    "MotionmagError",
    "Stream",
    "UsageError",
    "__version__",
    "compare_motion",
    "create_model",
    "get_method",
    "magnify",
    "magnify_frames",
    "measure",
    "methods",
]
