"""Errors that reach the user as one plain sentence and an exit status.

What matters here: every failure the user can cause is one of these three classes, each
carrying the process exit status of INTERFACE.md (2 bad arguments, 3 unreadable or
unsupported input, 1 anything else). The message is a full sentence that says what is
wrong and what to do; the command line prints it as is.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Callable, Iterator


class MotionmagError(Exception):
    """Base class: a failure with a user-facing sentence. Exit status 1."""

    exit_code: int = 1


class UsageError(MotionmagError, ValueError):
    """Bad arguments (a band outside the Nyquist limit, a missing output folder, ...). Exit 2."""

    exit_code = 2


class InputError(MotionmagError):
    """The input cannot be read or is not supported (missing, not a video, truncated). Exit 3."""

    exit_code = 3


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread by the command line so that a run stops as it
    does after Ctrl+C: ``magnify`` keeps no partial output, ``live`` ends its run and keeps
    what it wrote, training saves a checkpoint (its own handler). Exit status 143."""


#: flags that take one of a few words: ``--mode temporal`` reads ``mode='temporal'``;
#: any other word after one goes on with the sentence (``--filter sets up ...``).
#: ``--method``'s words are the registered methods (:func:`_choice_words`)
_CHOICE_FLAGS = {
    "mode": frozenset({"static", "dynamic", "temporal"}),
    "filter": frozenset({"butter", "diff-iir", "fir"}),
    "device": frozenset({"cpu", "cuda"}),
    "backend": frozenset({"torch", "onnx"}),
    "stabilize": frozenset({"translation", "similarity", "affine", "homography"}),
    "precision": frozenset({"fp32", "bf16"}),
    "method": frozenset(),
}


def _choice_words(flag: str) -> frozenset[str]:
    """The words ``--flag`` takes (:data:`_CHOICE_FLAGS`; the registered methods for
    ``--method``)."""
    if flag != "method":
        return _CHOICE_FLAGS[flag]
    from .magnify.registry import methods  # at error time: the registry is loaded by then

    return frozenset(spec.name for spec in methods())


#: switches: ``--overwrite`` reads ``overwrite=True``
_SWITCHES = frozenset({"overwrite", "keep-stabilized", "side-by-side", "quiet"})
_NUMBER = r"-?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?"
#: one pattern, scanned left to right: spans left as they are (a `command`, a 'name'),
#: then the flag forms, most specific first
_TERMS = re.compile(
    r"(?P<keep>`[^`]*`|'[^']*')"
    r"|--(?P<box>roi|crop) (?P<corner>X Y W H|-?\d+ -?\d+ -?\d+ -?\d+)\b"
    r"|--band (?P<band>LOW HIGH|LOW|HIGH)\b"
    r"|--band (?P<band_low>" + _NUMBER + r") (?P<band_high>" + _NUMBER + r")(?!\w|\.\d)"
    r"|--set (?P<option>[a-z_][a-z0-9_]*)(?P<setting>=[^\s,;:]*)?"
    r"|--(?P<flag>[a-z][a-z0-9-]*)"
    r"(?: (?P<value>" + _NUMBER + r"(?!\w|\.\d)|'[^']*'|[a-z][a-z0-9-]*(?=[\s.,:;)]|$)))?"
)


def python_terms_of(message: str, keywords: dict[str, str] | None = None) -> str:
    """``message``, written for the command line, in the terms of a Python call: each
    ``--flag`` becomes its keyword (``keywords``: flag without ``--`` -> keyword, for
    the names that differ; else the flag with ``_`` for ``-``), ``--flag VALUE`` becomes
    ``keyword=VALUE``, ``--set NAME=VALUE`` the option ``NAME=VALUE``, ``--band LOW
    HIGH`` ``band=(LOW, HIGH)`` and a switch ``--overwrite`` ``overwrite=True``. A
    `command` and a 'name' in quotes are left as they are."""
    keywords = keywords or {}

    def keyword(flag: str) -> str:
        return keywords.get(flag, flag.replace("-", "_"))

    def in_python(match: re.Match) -> str:
        if match["keep"] is not None:
            return match["keep"]
        if match["box"] is not None:
            return f"{keyword(match['box'])}=({', '.join(match['corner'].split())})"
        if match["band_low"] is not None:
            high = match["band_high"]
            stop = "." if high.endswith(".") else ""  # the sentence's full stop, not a decimal
            return f"{keyword('band')}=({match['band_low']}, {high.rstrip('.')}){stop}"
        if match["band"] is not None:
            band = match["band"]
            return f"{keyword('band')}=(LOW, HIGH)" if " " in band else f"the band's {band}"
        if match["option"] is not None:
            return match["option"] + (match["setting"] or "")
        flag, value = match["flag"], match["value"]
        if flag in _SWITCHES:
            return f"{keyword(flag)}=True" + ("" if value is None else f" {value}")
        if value is None:
            return keyword(flag)
        if value[0].isalpha():  # a word: a choice, or the sentence going on
            if flag not in _CHOICE_FLAGS or value not in _choice_words(flag):
                return f"{keyword(flag)} {value}"
            value = f"'{value}'"
        return f"{keyword(flag)}={value}"

    return _TERMS.sub(in_python, message)


@contextlib.contextmanager
def python_terms(keywords: dict[str, str] | None = None) -> Iterator[None]:
    """Within it, a :class:`MotionmagError` speaks of keywords, not flags
    (:func:`python_terms_of`): the Python API's functions wrap their work in it, the
    command line calls the same work without."""
    try:
        yield
    except MotionmagError as error:
        if error.args and isinstance(error.args[0], str):
            error.args = (python_terms_of(error.args[0], keywords), *error.args[1:])
        raise


def in_python_terms(keywords: dict[str, str] | None = None, name: str | None = None) -> Callable:
    """Decorator: the function's errors, and the ``notes`` of what it returns, in Python
    terms (:func:`python_terms`); a keyword the function does not take is a UsageError
    naming it as the API does (``name``), not a TypeError naming the inner function. The
    command line calls the undecorated function (see ``motionmag/python_api.py``), whose
    errors name its flags."""

    def decorate(function: Callable) -> Callable:
        import inspect

        parameters = inspect.signature(function).parameters
        open_ended = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
        public = name or function.__name__

        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            unknown = [] if open_ended else [key for key in kwargs if key not in parameters]
            if unknown:
                import difflib

                close = difflib.get_close_matches(unknown[0], list(parameters), n=1)
                hint = f" (did you mean {close[0]}=?)" if close else ""
                raise UsageError(
                    f"{public}() takes no keyword '{unknown[0]}'{hint}: it takes "
                    f"{', '.join(parameters)}."
                )
            with python_terms(keywords):
                result = function(*args, **kwargs)
            notes = getattr(result, "notes", None)
            if isinstance(notes, list):
                notes[:] = [python_terms_of(n, keywords) for n in notes]
            return result

        return wrapper

    return decorate
