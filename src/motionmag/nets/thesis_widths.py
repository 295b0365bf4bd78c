"""The widths of the Singh 2024 thesis networks' two sizes each, without importing torch.

What matters: the registries and ``motionmag train``'s help text read these at start-up,
before any network module (and torch) is imported; the networks' defaults and the
trainers' configs read the same numbers (THESIS.md s.8's registry mapping).
"""

from __future__ import annotations

#: registry name -> (the thesis's name for the size, its width: MD-MM's FCB width f,
#: LW-MM's C, HMN's base width c)
THESIS_SIZES: dict[str, tuple[str, int]] = {
    "mdmm-d1": ("D1", 18),
    "mdmm-d2": ("D2", 12),
    "lwmm": ("M1", 24),
    "lwmm-light": ("M2 (light)", 8),
    "hmn": ("M1", 24),
    "hmn-light": ("M2 (light)", 8),
}


def sizes_of(family: str) -> list[tuple[str, str, int]]:
    """``(registry name, size name, width)`` of ``family`` (``mdmm``, ``lwmm``, ``hmn``)."""
    return [(name, size, width) for name, (size, width) in THESIS_SIZES.items()
            if name.startswith(family)]  # fmt: skip


def thesis_width(name: str) -> int:
    """The width of thesis network ``name``."""
    return THESIS_SIZES[name][1]
