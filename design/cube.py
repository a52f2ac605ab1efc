"""The 3D-Cube engine: a ``rows x depth x cols`` cube of PEs computing one tile product per
cycle.

The cube of the HPCA 2025 bit-weight paper (REFERENCE.md sections 1 and 8): PE
``(r, k, c)`` multiplies activation ``X[m0 + r, k0 + k]`` by weight ``W[n0 + c, k0 + k]``
and adds the product to the partial sum of PE ``(r, k - 1, c)``; the partial sums chain
along the reduction axis ``k`` and leave the cube at ``k = depth - 1`` as the ``rows x
cols`` results ``Y[m0 + r, n0 + c]`` of one ``depth``-long slice of the reduction.
Activations hop along ``c`` and weights along ``r``, one PE per cycle, so a whole
``rows x depth`` block of X and ``cols x depth`` block of W enter every cycle and a whole
``rows x cols`` tile of partial results leaves every cycle: ``rows * cols * depth`` MACs
per cycle, with no accumulation over time inside the cube (a longer reduction is cut into
``depth``-long slices whose results the host adds, as the weight-stationary systolic array
does with its ``rows``).

The PEs are those of the other grid engines (:mod:`shiftadd.design.systolic`):
``mac``, ``addsub`` or ``ternary``, and with ``carry_save_accumulate`` (OPT1) the partial
sums travel as carry-save pairs (radix-4 Booth partial products for ``mac``) and are
resolved by one carry-propagate adder per output at the cube's edge. The accumulator is
exact for ``depth`` products by default (int8 ``mac``: ``2 * 8 + ceil(log2(depth))`` bits,
the paper's ``ACC_WIDTH``, 19 bits for ``depth = 8``).
"""

from __future__ import annotations

import dataclasses
import typing
from typing import TYPE_CHECKING, Any, ClassVar

from ..errors import InputError
from .base import check_int
from .random import draw_bool, draw_choice, draw_int, draw_valid
from .systolic import MAX_ACC_BITS, GridDesign, Mode, chain_masks

if TYPE_CHECKING:
    import numpy as np

__all__ = ["CubeDesign", "random_design", "MAX_CUBE_SIDE"]

#: Largest side of a cube (each of ``rows``, ``cols``, ``depth``): at most 16^3 = 4096 PEs
#: (the paper's published cube is 8^3).
MAX_CUBE_SIDE = 16


@dataclasses.dataclass(frozen=True)
class CubeDesign(GridDesign):
    """A ``rows x depth x cols`` 3D-Cube engine.

    The fields are those of :class:`~shiftadd.design.systolic.GridDesign` (without
    ``k_max``: the cube never accumulates over time) and ``depth``.

    Parameters
    ----------
    name : str
        Verilog module name.
    rows : int
        Rows of X per tile (``M`` side), 1 to 16.
    cols : int
        Rows of W per tile (``N`` side), 1 to 16.
    depth : int
        Reduction steps per tile (``K`` side, the partial-sum chain), 1 to 16.
    mode : {"mac", "addsub", "ternary"}
        PE arithmetic (see :mod:`shiftadd.design.systolic`).
    act_bits, act_signed : int, bool
        Activation width (2 to 16) and signedness.
    weight_bits, weight_signed : int, bool
        Weight width (2 to 16) and signedness for ``mac``; ``addsub`` fixes 1 bit unsigned,
        ``ternary`` 2 bits signed.
    acc_bits : int, optional
        Partial-sum width; default: exact for ``depth`` products.
    wrap : bool
        Allow ``acc_bits`` narrower than exact: results wrap modulo ``2**acc_bits``.
    k_max : None
        Not a cube field (must stay unset): the cube does not accumulate over time.
    carry_save_accumulate : bool
        OPT1: Booth partial products (``mac``) and carry-save partial sums, resolved at the
        cube's edge.
    clock_ns : float
        Target clock period, used by synthesis and the analytic model.
    """

    arch: ClassVar[str] = "cube"
    name: str = "cube"
    depth: int = 4

    output_stationary: ClassVar[bool] = False
    skewed: ClassVar[bool] = True

    def _validate(self) -> None:
        for f in ("rows", "cols", "depth"):
            check_int(f, getattr(self, f), 1, MAX_CUBE_SIDE)
        if self.k_max is not None:
            raise InputError(
                "the cube passes partial sums along its depth and never accumulates over "
                "time; a longer reduction is cut into depth-long slices",
                field="k_max",
                allowed="unset (the reduction tile is `depth`)",
            )
        super()._validate()

    # -- values ---------------------------------------------------------------------------
    @property
    def reduction_length(self) -> int:
        """Products one result sums: ``depth``."""
        return self.depth

    @property
    def pes(self) -> int:
        """PEs of the cube, ``rows * cols * depth``."""
        return self.rows * self.cols * self.depth

    @property
    def psum_masks(self) -> tuple[tuple[int, int], ...]:
        """Carry-save partial sums: bits of (sum, carry) each depth layer passes on (the
        first layer adds its terms to nothing)."""
        plan = self.csa_plan
        assert plan is not None, "only with carry_save_accumulate"
        return chain_masks(self.csa_term_masks, plan, self.acc_width, self.depth)

    # -- schedule -------------------------------------------------------------------------
    @property
    def ops_per_cycle(self) -> int:
        """Two operations (multiply and add) per PE per cycle at full rate."""
        return 2 * self.pes

    @property
    def outputs_per_transfer(self) -> int:
        """Results in one transfer of the result stream (a whole ``rows x cols`` tile)."""
        return self.rows * self.cols

    @property
    def act_skew(self) -> int:
        """Largest delay of an activation before the cube: ``X[r, k]`` waits ``r + k``
        cycles (and then hops along ``c``)."""
        return self.rows + self.depth - 2

    @property
    def weight_skew(self) -> int:
        """Largest delay of a weight before the cube: ``W[c, k]`` waits ``c + k`` cycles
        (and then hops along ``r``)."""
        return self.cols + self.depth - 2

    @property
    def skew_max(self) -> int:
        """Cycles from the input register to the last PE's step: ``rows + cols + depth -
        3``."""
        return self.rows + self.cols + self.depth - 3

    @property
    def latency(self) -> int:
        """Cycles from a tile's handshake to its result transfer: the input register, the
        ``rows + cols + depth - 3`` cycles of skew to the last PE, its partial-sum
        register, the de-skew and the result register, ``rows + cols + depth``."""
        return self.rows + self.cols + self.depth


# -- random designs (shiftadd validate --random) ------------------------------------------
#: Ranges of :func:`random_design`: cube sides, operand bits.
RANDOM_SIDE = (1, 4)
RANDOM_BITS = (2, 8)
#: Largest size (PEs times per-PE units, as ``random_size`` of the grid designs) of a
#: random cube.
RANDOM_CUBE_BUDGET = 2000


def _size(design: CubeDesign) -> float:
    assert design.weight_bits is not None  # filled in from the mode by __post_init__
    pe = (design.act_bits + 2) * (design.weight_bits + 2) + design.value_bits
    return float(design.pes * pe)


def random_design(rng: np.random.Generator, name: str) -> CubeDesign:
    """A random valid cube, small enough to synthesize and simulate in about a minute.

    Every mode; signed and unsigned operands of 2 to 8 bits; sides from 1 to 4;
    ``carry_save_accumulate``; sometimes an ``acc_bits`` narrower than exact with ``wrap``,
    or wider than exact; the PEs times ``(act_bits + 2) * (weight_bits + 2) + value_bits``
    at most :data:`RANDOM_CUBE_BUDGET`.

    Parameters
    ----------
    rng : numpy.random.Generator
        The only source of randomness (the same state gives the same design).
    name : str
        Verilog module name of the design.

    Returns
    -------
    CubeDesign
        The validated design.

    Raises
    ------
    RuntimeError
        No valid combination in :data:`~shiftadd.design.random.RANDOM_ATTEMPTS` draws.
    """
    return draw_valid(lambda: _draw(rng, name), CubeDesign.arch)


def _draw(rng: np.random.Generator, name: str) -> CubeDesign | None:
    lo, hi = RANDOM_BITS
    mode = draw_choice(rng, typing.get_args(Mode))
    params: dict[str, Any] = {
        "name": name,
        "mode": mode,
        "act_bits": draw_int(rng, lo, hi),
        "act_signed": draw_bool(rng),
        "carry_save_accumulate": draw_bool(rng, 0.5),
        "rows": draw_int(rng, *RANDOM_SIDE),
        "cols": draw_int(rng, *RANDOM_SIDE),
        "depth": draw_int(rng, *RANDOM_SIDE),
    }
    if mode == "mac":
        params["weight_bits"] = draw_int(rng, lo, hi)
        params["weight_signed"] = draw_bool(rng)
    probe = CubeDesign.from_dict(params)
    assert isinstance(probe, CubeDesign)
    exact, narrowest = probe.exact_acc_width, probe.product_width
    u = rng.random()
    if u < 0.2 and narrowest < exact:
        params.update(acc_bits=draw_int(rng, narrowest, exact - 1), wrap=True)
    elif u < 0.35:
        params["acc_bits"] = draw_int(rng, exact + 1, min(exact + 4, MAX_ACC_BITS))
    design = CubeDesign.from_dict(params)
    assert isinstance(design, CubeDesign)
    return design if _size(design) <= RANDOM_CUBE_BUDGET else None
