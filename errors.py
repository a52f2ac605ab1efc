"""Exceptions that shiftadd raises for bad input and missing tools.

Every error a user can cause by a bad design file, workload, weights or flag is an
:class:`InputError`; the CLI prints its message and exits with status 2, without a
traceback. :class:`ToolError` covers external programs (yosys, OpenSTA, Verilator) that are
missing or fail.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["ShiftaddError", "InputError", "ToolError", "SimulationMismatch", "brief"]

#: Longest ``repr`` of a user's value quoted in an error message: a 10 MB string or a
#: million-element list is named by its start and its size, not printed whole.
BRIEF_CHARS = 60


def brief(value) -> str:
    """``repr(value)`` cut to :data:`BRIEF_CHARS` characters, saying how long it was.

    Parameters
    ----------
    value : object
        A value taken from user input.

    Returns
    -------
    str
        The repr, or its first characters followed by ``... (N chars)``.
    """
    try:
        text = repr(value)
    except (RecursionError, ValueError):  # a deeply nested value, or an int too long to print
        return f"<{type(value).__name__}>"
    if len(text) <= BRIEF_CHARS:
        return text
    return f"{text[:BRIEF_CHARS]}... ({len(text):,} chars)"


class ShiftaddError(Exception):
    """Base class of the errors the CLI reports as one message and exit status 2."""


class InputError(ShiftaddError, ValueError):
    """Invalid user input: names the offending field and, when finite, the allowed values.

    Parameters
    ----------
    message : str
        What is wrong, in a sentence.
    field : str, optional
        Dotted name of the offending field (``"mode"``, ``"sweep.array_rows"``, ``"--vectors"``).
    allowed : iterable or str, optional
        The allowed values (an iterable is listed) or a description such as ``"an integer >= 1"``.
    source : str, optional
        The file or argument the value came from.
    """

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        allowed: Iterable | str | None = None,
        source: str | None = None,
    ):
        # One line whatever the message quotes (a parser's multi-line report, a value with
        # newlines): the CLI prints the error as exactly one line.
        message = " ".join(str(message).split())
        if field is not None and len(field) > 100:  # a megabyte key is named by its start
            field = f"{field[:100]}..."
        self.message = message
        self.field = field
        self.source = source
        if allowed is not None and not isinstance(allowed, str):
            allowed = ", ".join(repr(a) if isinstance(a, str) else str(a) for a in allowed)
        self.allowed = allowed
        parts = []
        if source:
            parts.append(f"{source}: ")
        if field:
            parts.append(f"field '{field}': ")
        parts.append(message)
        if allowed:
            parts.append(f" (allowed: {allowed})")
        super().__init__("".join(parts))

    def with_source(self, source: str | None) -> InputError:
        """The same error naming ``source`` (kept when it already names one).

        Parameters
        ----------
        source : str or None
            The file or argument the value came from.

        Returns
        -------
        InputError
            A new error with the same message, field and allowed values.
        """
        if self.source is not None or source is None:
            return self
        return InputError(self.message, field=self.field, allowed=self.allowed, source=source)


class ToolError(ShiftaddError, RuntimeError):
    """An external tool is missing, too old, or failed; the message says how to fix it."""


class SimulationMismatch(ShiftaddError):
    """The RTL disagreed with the golden model (raised only where a caller asks for it)."""
