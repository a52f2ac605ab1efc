"""Small helpers shared by the generators."""

from __future__ import annotations

import contextlib

__all__ = ["validating"]


@contextlib.contextmanager
def validating(component):
    """Parameter checks in a component constructor: if one raises, the half-built object
    is not reported by Amaranth as an unused elaboratable (only the exception is)."""
    try:
        yield
    except BaseException:
        component._MustUse__silence = True
        raise
