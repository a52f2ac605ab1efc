"""Amaranth generators: arithmetic blocks, PEs and arrays.

:func:`build_component` is the factory from a validated design to its top-level component
(its family's ``component``, :mod:`shiftadd.families`).
"""

from __future__ import annotations

from ..families import family_of

__all__ = ["build_component"]


def build_component(design):
    """The top-level Amaranth component of ``design``.

    Parameters
    ----------
    design : Design
        A validated design of a registered family.

    Returns
    -------
    amaranth.lib.wiring.Component
        The top, every member a ``lib.stream`` stream (the harness drives only streams).
    """
    return family_of(design).get("component")(design=design)
