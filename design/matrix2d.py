"""The 2D-matrix engine: an output-stationary grid with broadcast operands.

Every row's activation and every column's weight reach all PEs of that row or column in the
same cycle (no systolic skew); each PE accumulates its output in place, with the same PE
arithmetic policies and ``carry_save_accumulate`` option as the systolic array (see
:mod:`shiftadd.design.systolic` for the fields). Results drain as in the output-stationary
systolic array, so a tile's rows leave ``latency`` cycles after its last step.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, ClassVar

from .systolic import GridDesign, random_grid_design

if TYPE_CHECKING:
    import numpy as np

__all__ = ["Matrix2DDesign", "random_design"]


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


def random_design(rng: np.random.Generator, name: str) -> Matrix2DDesign:
    """A random valid 2D-matrix engine, small enough to synthesize and simulate in about a
    minute (see :func:`shiftadd.design.systolic.random_grid_design` for the ranges).

    Parameters
    ----------
    rng : numpy.random.Generator
        The only source of randomness (the same state gives the same design).
    name : str
        Verilog module name of the design.

    Returns
    -------
    Matrix2DDesign
        The validated design.

    Raises
    ------
    RuntimeError
        No valid combination in :data:`~shiftadd.design.random.RANDOM_ATTEMPTS` draws.
    """
    return random_grid_design(Matrix2DDesign, rng, name)
