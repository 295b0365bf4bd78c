"""Whether a GIF file ends inside a frame (a download or copy cut short), and whether it
has a transparent colour.

What matters: a GIF states neither its frame count nor its duration, and FFmpeg decodes a
GIF cut in half without an error (its last frame partly drawn), so the reader's checks
against the stated length cannot see the cut. The file's block structure can (GIF89a
specification, Sec. 17-27): after the header and the colour table come extension blocks
(``0x21``) and images (``0x2C``), each ending with a zero-length sub-block, then the
trailer ``0x3B``. A file that ends inside a block is cut; one that ends between blocks
without the trailer holds whole frames only and is accepted (some writers omit it).

FFmpeg decodes every GIF to ``bgra``, with or without transparency, so the pixel format
cannot say whether a GIF is transparent. Its Graphic Control Extensions (label ``0xF9``,
Sec. 23: the packed field's bit 0 is the transparent colour flag) say whether it may be:
a GIF without the flag is opaque; one with it may still compose opaque frames (animated
GIFs mark unchanged pixels transparent), which only decoding tells.
"""

from __future__ import annotations

from pathlib import Path

_EXTENSION, _IMAGE, _TRAILER = 0x21, 0x2C, 0x3B
_GRAPHIC_CONTROL = 0xF9


def gif_is_cut(path: str | Path) -> bool:
    """True when the GIF at ``path`` ends inside a block (its last frame is incomplete);
    False for a whole file, with or without its trailer, and for what is not a GIF."""
    return gif_blocks(path)[0]


def gif_blocks(path: str | Path) -> tuple[bool, bool]:
    """``(cut, transparent)`` of the GIF at ``path``, its bytes read once: ``cut`` as
    :func:`gif_is_cut`; ``transparent`` when a Graphic Control Extension sets the
    transparent colour flag (pixels of that frame may be see-through, or just unchanged;
    without it the GIF is opaque). ``(False, False)`` for what is not a GIF."""
    data = Path(path).read_bytes()
    if data[:3] != b"GIF" or len(data) < 13:
        return data[:3] == b"GIF", False  # a header cut short is cut; not a GIF: not ours
    transparent = False
    at = 13 + _colour_table_bytes(data[10])
    if at > len(data):
        return True, transparent
    while at < len(data):
        kind = data[at]
        if kind == _TRAILER:
            return False, transparent
        if kind == _EXTENSION:
            if at + 3 < len(data) and data[at + 1] == _GRAPHIC_CONTROL and data[at + 2] >= 1:
                transparent = transparent or bool(data[at + 3] & 0x01)
            at += 2  # introducer, label
        elif kind == _IMAGE:
            if at + 10 > len(data):
                return True, transparent
            at += 10 + _colour_table_bytes(data[at + 9]) + 1  # descriptor, table, LZW size
        else:
            return True, transparent  # not a block: the data stops making sense here
        at = _after_sub_blocks(data, at)
        if at < 0:
            return True, transparent
    return False, transparent  # whole blocks, no trailer


def _colour_table_bytes(packed: int) -> int:
    """Bytes of the colour table a packed field announces (0 when it has none)."""
    return 3 * 2 ** ((packed & 0x07) + 1) if packed & 0x80 else 0


def _after_sub_blocks(data: bytes, at: int) -> int:
    """The offset after the sub-blocks starting at ``at`` and their zero terminator; -1
    when the data ends first."""
    while at < len(data):
        size = data[at]
        at += 1 + size
        if size == 0:
            return at
    return -1
