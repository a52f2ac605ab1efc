"""The registered weight formats named in words, for error messages and help.

Formats are registered under regular expressions (``int(?P<bits>\\d+)``); a user should
read ``int2..int16``-style names, not a regex. :func:`format_names` renders each pattern's
groups: a digit range ``[1-4]`` as ``bcq1..bcq4``, a number ``\\d+`` as ``N``.
"""

from __future__ import annotations

import re

from .quant_base import registered_formats

__all__ = ["format_names", "format_words"]

_RANGE = re.compile(r"\(\?P<\w+>\[(\d)-(\d)\]\)")
_NUMBER = re.compile(r"\(\?P<\w+>\\d\+\)")


def _words(pattern: str, description: str) -> str:
    m = _RANGE.search(pattern)
    if m:
        lo = pattern[: m.start()] + m[1] + pattern[m.end() :]
        hi = pattern[: m.start()] + m[2] + pattern[m.end() :]
        text = f"{lo}..{hi}"
    else:
        text = _NUMBER.sub("N", pattern)
    if re.search(r"[\\()\[\]?*+|{}^$]", text):
        return description  # a pattern this renderer does not know: its description
    return text


def format_names() -> list[str]:
    """Every registered weight format as a name a user can type, ``N`` standing for a number.

    Returns
    -------
    list of str
        E.g. ``["bcq1..bcq4", "bcq1_fixed..bcq4_fixed", "sign", "ternary", "intN",
        "intN_asym"]``, in registration order.
    """
    from . import quant  # noqa: F401  deferred: importing it registers the built-in formats

    return [_words(p, d) for p, (_, _, d) in registered_formats().items()]


def format_words() -> str:
    """:func:`format_names` joined into one phrase for an error's ``allowed`` part.

    Returns
    -------
    str
        The names, comma separated, with what ``N`` means.
    """
    names = format_names()
    note = " (N: bits, e.g. int4)" if any("N" in n for n in names) else ""
    return ", ".join(names) + note
