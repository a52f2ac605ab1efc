"""The 2D-matrix engine: the output-stationary grid with broadcast operands.

It is :class:`~shiftadd.hw.systolic_os.OutputStationaryArray` built from a
:class:`~shiftadd.design.matrix2d.Matrix2DDesign` (``skewed = False``): activations go to a
whole row and weights to a whole column in the same cycle, every PE accumulates in place,
and results drain down the columns. Same ports and schedule as the output-stationary
systolic array, with ``skew_max = 0``.
"""

from __future__ import annotations

from ..design.matrix2d import Matrix2DDesign
from ._util import validating
from .systolic_os import OutputStationaryArray

__all__ = ["Matrix2DArray"]


class Matrix2DArray(OutputStationaryArray):
    """A ``rows x cols`` 2D-matrix engine (see :class:`OutputStationaryArray` for the
    members).

    Parameters
    ----------
    design : Matrix2DDesign
    hierarchical : bool
        Every PE a submodule of its own (see :class:`OutputStationaryArray`).
    """

    def __init__(self, *, design: Matrix2DDesign, hierarchical: bool = False):
        with validating(self):
            if not isinstance(design, Matrix2DDesign):
                raise TypeError(f"Design must be a Matrix2DDesign, not {design!r}")
        super().__init__(design=design, hierarchical=hierarchical)
