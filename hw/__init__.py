"""Amaranth generators: arithmetic blocks, PEs and arrays.

:func:`build_component` is the factory from a validated design to its top-level component.
"""

from __future__ import annotations

import functools

from ..design import AdderTreeDesign
from .adder_tree import AdderTree, Popcount
from .adder_tree_array import AdderTreeArray
from .arith import AddSub, Mac, PEArithmetic, XnorPopcount, arithmetic_for
from .threshold import FoldedThreshold
from .shiftadd_engine import ShiftAddDesign, ShiftAddEngine

__all__ = ["build_component", "interface_of", "AdderTree", "Popcount", "AdderTreeArray", "FoldedThreshold",
           "PEArithmetic", "XnorPopcount", "AddSub", "Mac", "arithmetic_for"]


def interface_of(design):
    """The top-level component of ``design``, built only to read its interface (signature,
    payload layouts): it is never elaborated, and says so to Amaranth so no
    UnusedElaboratable warning is raised."""
    component = build_component(design)
    component._MustUse__silence = True
    return component


@functools.singledispatch
def build_component(design):
    """The top-level Amaranth component of ``design``."""
    raise TypeError(f"no generator for {type(design).__name__}")


@build_component.register
def _(design: AdderTreeDesign):
    if design.digit_sparse:  # multi-cycle per vector: its own top (hw/adder_tree_sparse.py)
        from .adder_tree_sparse import DigitSparseArray

        return DigitSparseArray(design=design)
    return AdderTreeArray(design=design)


build_component.register(ShiftAddDesign, lambda design: ShiftAddEngine(design=design))
from .systolic import SystolicDesign, systolic_array  # noqa: E402
build_component.register(SystolicDesign, systolic_array)
from .matrix2d import Matrix2DArray, Matrix2DDesign  # noqa: E402
build_component.register(Matrix2DDesign, lambda design: Matrix2DArray(design=design))
from .threshold_array import ThresholdArray, ThresholdDesign  # noqa: E402
build_component.register(ThresholdDesign, lambda design: ThresholdArray(design=design))
