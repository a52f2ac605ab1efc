"""The 2D-matrix engine: an output-stationary grid with broadcast operands.

Every row's activation and every column's weight reach all PEs of that row or column in the
same cycle (no systolic skew); each PE accumulates its output in place, with the same PE
arithmetic policies and ``carry_save_accumulate`` option as the systolic array (see
:mod:`shiftadd.design.systolic` for the fields). Results drain as in the output-stationary
systolic array, so a tile's rows leave ``latency`` cycles after its last step.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from .systolic import GridDesign

__all__ = ["Matrix2DDesign"]


@dataclasses.dataclass(frozen=True)
class Matrix2DDesign(GridDesign):
    """An ``R x C`` 2D-matrix engine: broadcast operands, per-PE accumulation.

    See :class:`~shiftadd.design.systolic.GridDesign` for the fields.
    """

    arch: ClassVar[str] = "matrix2d"
    name: str = "matrix2d"
    skewed: ClassVar[bool] = False
