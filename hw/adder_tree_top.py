"""The adder-tree family's top-level component: the pipelined array
(:class:`~shiftadd.hw.adder_tree_array.AdderTreeArray`, plain trees and the OPT1/OPT2
bit-weight options), the multi-cycle digit-sparse array
(:class:`~shiftadd.hw.bitweight_sparse.DigitSparseArray`, OPT3+OPT4), or the accumulating
binary MAC array (:class:`~shiftadd.hw.adder_tree_mac.BinaryMacArray`, ``accumulate``)."""

from __future__ import annotations

from ..design.adder_tree import AdderTreeDesign
from .adder_tree_array import AdderTreeArray
from .adder_tree_mac import BinaryMacArray
from .bitweight_sparse import DigitSparseArray

__all__ = ["adder_tree_top"]


def adder_tree_top(
    design: AdderTreeDesign, hierarchical: bool = False
) -> AdderTreeArray | DigitSparseArray | BinaryMacArray:
    """The top-level component of an adder-tree design (``hierarchical``: its form with
    identical units kept apart, where it has one)."""
    if design.digit_sparse:
        return DigitSparseArray(design=design)
    if design.accumulate:
        return BinaryMacArray(design=design, hierarchical=hierarchical)
    return AdderTreeArray(design=design, hierarchical=hierarchical)
