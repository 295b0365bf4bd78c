"""The Python API's entry points, speaking of keywords where the command line speaks of flags.

What matters: the engine's checks are shared with the command line, and their sentences
name its flags (``--band LOW HIGH``, ``--overwrite``). A Python caller passed keywords,
so these wrappers put the errors they raise, and the notes they return, in the caller's
terms (``errors.python_terms_of``: ``band=(LOW, HIGH)``, ``overwrite=True``). The
command line calls the unwrapped functions (``magnify.api``, ``eval.region_motion``,
``models.registry``) and keeps its flags.
"""

from __future__ import annotations

import numpy as np

from .errors import in_python_terms, python_terms
from .eval.region_motion import compare as _compare
from .eval.region_motion import region_motion as _region_motion
from .magnify import api as _api
from .magnify.stream import Stream as _Stream
from .models.registry import create_model as _create_model

magnify = in_python_terms()(_api.magnify)
magnify_frames = in_python_terms()(_api.magnify_frames)
measure = in_python_terms(name="measure")(_region_motion)
compare_motion = in_python_terms({"freq": "freq_hz"}, name="compare_motion")(_compare)
create_model = in_python_terms()(_create_model)


class Stream(_Stream):
    __doc__ = _Stream.__doc__

    def __init__(self, *args, **kwargs) -> None:
        with python_terms():
            super().__init__(*args, **kwargs)

    def push(self, frame: np.ndarray) -> np.ndarray | None:
        """Feed one frame; return the oldest output not yet returned, or None."""
        with python_terms():
            return super().push(frame)

    def flush(self) -> list[np.ndarray]:
        """The outputs still owed once the input has ended, oldest first."""
        with python_terms():
            return super().flush()
