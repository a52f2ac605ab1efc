"""Exceptions that shiftadd raises for bad input and missing tools.

Every error a user can cause by a bad design file, workload, weights or flag is an
:class:`InputError`; the CLI prints its message and exits with status 2, without a
traceback. :class:`ToolError` covers external programs (yosys, OpenSTA, Verilator) that are
missing or fail.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["ShiftaddError", "InputError", "ToolError", "SimulationMismatch"]


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


class ToolError(ShiftaddError, RuntimeError):
    """An external tool is missing, too old, or failed; the message says how to fix it."""


class SimulationMismatch(ShiftaddError):
    """The RTL disagreed with the golden model (raised only where a caller asks for it)."""
