"""Amaranth generators: arithmetic blocks, PEs and arrays.

:func:`build_component` is the factory from a validated design to its top-level component
(its family's ``component``, :mod:`shiftadd.families`).
"""

from __future__ import annotations

from ..families import family_of

__all__ = ["build_component"]


def build_component(design, hierarchical: bool = False):
    """The top-level Amaranth component of ``design``.

    Parameters
    ----------
    design : Design
        A validated design of a registered family.
    hierarchical : bool
        The form whose identical units (PEs, neuron slices) are submodules listed in the
        component's ``hierarchy_units``, where the family has one; otherwise (and for a
        family without such a form) the default.

    Returns
    -------
    amaranth.lib.wiring.Component
        The top, every member a ``lib.stream`` stream (the harness drives only streams).
    """
    family = family_of(design)
    factory = family.get("component")
    if hierarchical and family.hierarchical:
        return factory(design=design, hierarchical=True)
    return factory(design=design)
