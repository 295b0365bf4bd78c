"""Stand-in for PyAV on a lent GPU machine that lacks it (training reads no video).

``benchmarks/gpu_train.sh`` puts this folder on PYTHONPATH only when ``import av`` fails,
which saves carrying a 36 MB wheel. Any attribute (``av.open``, ``av.error.FFmpegError``,
...) is an Exception subclass, so the package's imports, annotations and ``except``
clauses load; calling any of them raises ImportError.
"""


class _AnyAttribute(type):
    def __getattr__(cls, name: str) -> type:
        if name.startswith("__"):
            raise AttributeError(name)
        return MissingError

    def __call__(cls, *args, **kwargs):
        raise ImportError("PyAV is not installed on this machine (benchmarks/gpu_stub stands in)")


class MissingError(Exception, metaclass=_AnyAttribute):
    """Every PyAV name: raises when called for real."""


def __getattr__(name: str) -> type:
    if name.startswith("__"):
        raise AttributeError(name)
    return MissingError
