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

    The fields and derived values are those of
    :class:`~shiftadd.design.systolic.GridDesign`.

    Parameters
    ----------
    name : str
        Verilog module name.
    rows, cols : int
        Array size ``R x C``, 1 to 64 each.
    mode : {"mac", "addsub", "ternary"}
        PE arithmetic (see :mod:`shiftadd.design.systolic`).
    act_bits, act_signed : int, bool
        Activation width (2 to 16) and signedness.
    weight_bits, weight_signed : int, bool
        Weight width (2 to 16) and signedness for ``mac``; ``addsub`` fixes 1 bit unsigned,
        ``ternary`` 2 bits signed.
    acc_bits : int, optional
        Accumulator width; default: exact for ``k_max`` products.
    wrap : bool
        Allow ``acc_bits`` narrower than exact: results wrap modulo ``2**acc_bits``.
    k_max : int, optional
        The longest reduction a tile accumulates before it drains (default 4096); longer
        GEMM reductions are split into tiles of ``k_max`` and added on the host.
    carry_save_accumulate : bool
        OPT1: Booth partial products (``mac``) and a carry-save accumulator, no
        carry-propagate adder in the PE.
    clock_ns : float
        Target clock period, used by synthesis and the analytic model.
    """

    arch: ClassVar[str] = "matrix2d"
    name: str = "matrix2d"
    skewed: ClassVar[bool] = False
