"""How much memory this process has free now, and sizes as words for a sentence.

Linux lets a process reserve more memory than it has and kills it (SIGKILL, exit 137,
no message) when the pages are touched, so a large allocation never reaches Python's
MemoryError: what certainly cannot fit is refused before it is made
(``magnify/frame_memory.py``, ``temporal/fir.py``).
"""

from __future__ import annotations

from pathlib import Path


def available_bytes(
    meminfo: str | Path = "/proc/meminfo",
    cgroup_root: str | Path = "/sys/fs/cgroup",
    own_cgroup: str | Path = "/proc/self/cgroup",
) -> int | None:
    """The memory free to this process, bytes: ``MemAvailable``, or less where a control
    group (a container's memory limit) leaves less (:func:`cgroup_free_bytes`); None
    where the system says neither (not Linux)."""
    system = None
    try:
        for line in Path(meminfo).read_text().splitlines():
            if line.startswith("MemAvailable:"):
                system = int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        system = None
    group = cgroup_free_bytes(cgroup_root, own_cgroup)
    known = [value for value in (system, group) if value is not None]
    return min(known) if known else None


#: a cgroup limit at or above this is no limit (v1 writes 2^63 rounded to a page)
NO_LIMIT = 2**60


def cgroup_free_bytes(root: str | Path, own: str | Path) -> int | None:
    """The least, over this process's memory control group and the groups above it, of
    limit less usage (v2 ``memory.max`` / ``memory.current``, v1 ``memory.limit_in_bytes``
    / ``memory.usage_in_bytes``), the usage less the page cache the kernel can drop
    (``inactive_file``: after a few GB of video read, usage sits near the limit); None
    without a limit. A process over it is killed without a message, as over the
    machine's memory."""
    root = Path(root)
    folders: list[Path] = []
    try:
        for line in Path(own).read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            base = root if controllers == "" else root / "memory"  # v2: one hierarchy
            if controllers == "" or "memory" in controllers.split(","):
                parts = [part for part in path.split("/") if part]
                folders += [base.joinpath(*parts[:n]) for n in range(len(parts), -1, -1)]
    except (OSError, ValueError):
        pass
    folders += [root, root / "memory"]  # a container's namespace: its group is the root
    free = [value for value in map(_group_free, dict.fromkeys(folders)) if value is not None]
    return min(free) if free else None


def _group_free(folder: Path) -> int | None:
    """Limit less reclaimable usage of one cgroup folder, or None (no limit, no files)."""
    for limit_name, usage_name, cache_name in (
        ("memory.max", "memory.current", "inactive_file"),
        ("memory.limit_in_bytes", "memory.usage_in_bytes", "total_inactive_file"),
    ):
        try:
            limit_text = (folder / limit_name).read_text().strip()
            usage = int((folder / usage_name).read_text().strip())
            limit = NO_LIMIT if limit_text == "max" else int(limit_text)
        except (OSError, ValueError):
            continue
        if limit >= NO_LIMIT:
            return None
        cache = 0
        try:
            for line in (folder / "memory.stat").read_text().splitlines():
                name, _, value = line.partition(" ")
                if name == cache_name:
                    cache = int(value)
        except (OSError, ValueError):
            cache = 0
        return max(limit - max(usage - cache, 0), 0)
    return None


def free_if_short(needed: float, available: int | None = None) -> int | None:
    """The free memory (bytes; ``available``, default :func:`available_bytes` now) when
    ``needed`` bytes exceed it, else None (it fits, or the system does not say): the one
    test behind every refusal of work that cannot fit."""
    available = available_bytes() if available is None else available
    return available if available is not None and needed > available else None


def gb_text(size_bytes: float) -> str:
    """Bytes as GB (1e9) for a sentence: whole numbers from 10 GB, two figures below."""
    value = size_bytes / 1e9
    return f"{value:.0f}" if value >= 10 else f"{value:.2g}"
