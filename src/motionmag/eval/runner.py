"""Run any registered method on evaluation inputs: a frame pair or a short clip.

What matters: the suites never build magnifiers themselves; they call
:class:`MethodUnderTest`, which goes through the same public API (``magnify_frames``)
that users call, so an evaluation measures exactly what a user gets.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator

import numpy as np

from ..errors import UsageError
from ..magnify.api import magnify_frames
from ..magnify.registry import get_method


class MethodUnderTest:
    """A registered method with fixed options, callable on pairs and clips.

    Args:
        method: name from ``motionmag methods``.
        device: ``cpu`` or ``cuda``.
        options: method settings (as ``--set KEY=VALUE``).
    """

    def __init__(self, method: str, device: str = "cpu", options: dict | None = None) -> None:
        self.spec = get_method(method)
        self.name = self.spec.name
        self.device = device
        self.options = dict(options or {})

    @property
    def modes(self) -> tuple[str, ...]:
        return self.spec.modes

    def supports(self, mode: str) -> bool:
        return mode in self.spec.modes

    def pair(self, a: np.ndarray, b: np.ndarray, alpha: float) -> np.ndarray:
        """Magnify the motion from ``a`` to ``b`` by ``alpha`` (static mode, reference ``a``).

        Args:
            a, b: uint8 RGB frames (H, W, 3).
            alpha: total factor: the output shows ``a`` moved by ``alpha`` x (b - a).

        Returns:
            uint8 RGB (H, W, 3): the magnified version of ``b``.
        """
        if not self.supports("static"):
            raise UsageError(
                f"method '{self.name}' has no two-frame (static) mode: "
                "pair tests do not apply to it."
            )
        frames = np.stack([np.asarray(a, np.uint8), np.asarray(b, np.uint8)])
        with _notes_kept_quiet():
            out = magnify_frames(
                frames,
                method=self.name,
                alpha=float(alpha),
                mode="static",
                reference=0,
                device=self.device,
                **self.options,
            )
        return out[1]

    def clip(
        self,
        frames: np.ndarray,
        alpha: float,
        mode: str = "static",
        fps: float = 30.0,
        band: tuple[float, float] | None = None,
        filter: str = "butter",
        reference: int = 0,
    ) -> np.ndarray:
        """Magnify a uint8 clip (T, H, W, 3); returns the same shape."""
        if not self.supports(mode):
            raise UsageError(
                f"method '{self.name}' has no {mode} mode (it has: {', '.join(self.modes)})."
            )
        with _notes_kept_quiet():
            return magnify_frames(
                np.asarray(frames, np.uint8),
                fps=fps,
                method=self.name,
                alpha=float(alpha),
                mode=mode,
                band=band,
                filter=filter,
                reference=reference,
                device=self.device,
                **self.options,
            )


@contextlib.contextmanager
def _notes_kept_quiet() -> Iterator[None]:
    """``magnify_frames`` warns its method's notes (it returns only frames); a suite
    scores hundreds of clips and reports its own numbers, so they are not repeated per
    clip here (eval never showed them)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning, module=__name__)
        yield
