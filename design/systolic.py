"""Grids of accumulating PEs: the systolic array (output- or weight-stationary).

An ``R x C`` array of processing elements computes integer GEMM tiles. Every PE runs the
same arithmetic (:mod:`shiftadd.design.arith`, built by :mod:`shiftadd.hw.arith`):

``mac``
    integer activations and weights (any widths from 2 to 16 bits, signed or not);
``addsub``
    binary weights, bit 1 = +1 and bit 0 = -1 (BinaryConnect); integer activations;
``ternary``
    weights in {-1, 0, +1} as a 2-bit two's complement code: ``0b01`` = +1, ``0b00`` = 0,
    ``0b11`` = -1. Bit 0 says "non-zero", bit 1 "negative"; ``0b10`` is not a weight (the
    golden model rejects it, the hardware reads it as 0).

``carry_save_accumulate`` (OPT1 of the HPCA 2025 paper, REFERENCE.md section 1) keeps every
accumulator as a carry-save pair ``(sum, carry)`` modulo ``2**acc_width``: a 3:2 compressor
tree reduces the new partial products and the registered pair to the next pair, so no carry
propagates inside a PE. With ``mac`` the activation is radix-4 Booth encoded and each digit
selects ``0, +-w, +-2w``; with ``addsub``/``ternary`` the single term ``+-a`` enters the tree
(``-a`` as ``~a`` with the 1 injected in the carry's free bit 0). The pair is resolved by one
carry-propagate adder per column where results leave the array.

Dataflows (``dataflow``):

``os`` (output-stationary)
    PE ``(i, j)`` accumulates ``Y[i, j]`` over a tile's reduction length; activations move
    right, weights move down, both skewed in by the array; results drain down the columns.
``ws`` (weight-stationary)
    PE ``(i, j)`` holds ``W[j, k0 + i]``; activations move right (skewed in), partial sums
    move down and leave the bottom of each column, de-skewed into one row per transfer.

The accumulator is exact by default: wide enough for ``k_max`` products (os) or ``rows``
products (ws). A narrower ``acc_bits`` is an error unless ``wrap = true`` asks for
two's complement wrap-around explicitly (results are then modulo ``2**acc_bits``, and the
golden model wraps the same way).
"""

from __future__ import annotations

import dataclasses
import functools
import typing
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeVar

from ..errors import InputError
from ..workloads.digits import booth_digit_count
from ..workloads.formats import NumberFormat
from .arith import Arithmetic, arithmetic, resolve_mode_fields
from .base import (
    OMIT_DEFAULT,
    OPERAND_FIELDS,
    Design,
    check_clock,
    check_int,
    int_range,
    range_width,
)
from .random import draw_bool, draw_choice, draw_int, draw_log_int, draw_valid

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "GridDesign",
    "SystolicDesign",
    "CsaPlan",
    "plan_csa",
    "chain_masks",
    "MAX_ACC_BITS",
    "random_design",
    "random_grid_design",
    "random_size",
]

Mode = Literal["mac", "addsub", "ternary"]

# Accumulators stay within NumPy's int64 and the harness's 63-bit plain fields.
MAX_ACC_BITS = 62


@dataclasses.dataclass(frozen=True)
class CsaPlan:
    """A carry-save (3:2 compressor) reduction of ``rows`` equal-width rows to two.

    ``steps[i] = (x, y, z)`` compresses rows ``x, y, z`` (indices into the growing list of
    rows: the inputs first, then each step appends its sum and its carry, in that order).
    Injection bit ``i`` goes into the free bit 0 of the carry of step
    :meth:`inject_step` ``(i)``, one of the last steps, so the result's carry has no bit
    that is always 0. The last step's sum and carry are the result.

    Parameters
    ----------
    rows : int
        Input rows, at least 3.
    injections : int
        Bits injected into free carry bits, at most ``rows - 2``.
    steps : tuple of tuple of (int, int, int)
        The compressors in order, each as the indices of its three input rows.
    """

    rows: int
    injections: int
    steps: tuple[tuple[int, int, int], ...]

    @property
    def compressors(self) -> int:
        """3:2 compressors (rows of full adders) in the reduction."""
        return len(self.steps)

    def inject_step(self, i: int) -> int:
        """The step whose carry takes injection bit ``i``.

        Parameters
        ----------
        i : int
            Injection bit, 0 to ``injections - 1``.

        Returns
        -------
        int
            Index into :attr:`steps`.
        """
        return len(self.steps) - self.injections + i

    @property
    def depth(self) -> int:
        """3:2 levels on the longest path."""
        level = [0] * self.rows
        for x, y, z in self.steps:
            d = max(level[x], level[y], level[z]) + 1
            level += [d, d]
        return level[-1] if self.steps else 0


def plan_csa(rows: int, injections: int = 0) -> CsaPlan:
    """Plan a Wallace-style 3:2 reduction of ``rows`` rows (at least 3).

    Level by level the rows are taken in triples from the front; each triple's sum and carry
    go to the front of the next level and the one or two rows left over follow them. The RTL
    (:class:`shiftadd.hw.csa.CarrySaveTree`) and the golden model
    (:func:`shiftadd.models.systolic.csa_reduce`) both follow this plan, so their carry-save
    pairs agree bit for bit, not only in value.

    Parameters
    ----------
    rows : int
        Rows to reduce, at least 3.
    injections : int
        Bits to inject into free carry bit 0s, at most ``rows - 2``.

    Returns
    -------
    CsaPlan
        The reduction to a sum and a carry row.

    Raises
    ------
    ValueError
        Fewer than 3 rows, or more injections than free carry bits.
    """
    if rows < 3:
        raise ValueError(f"a carry-save tree needs at least 3 rows, not {rows}")
    if injections > rows - 2:
        raise ValueError(
            f"{injections} injection bits do not fit the {rows - 2} free carry "
            f"slots of a {rows}-row tree"
        )
    level = list(range(rows))
    count = rows
    steps = []
    while len(level) > 2:
        nxt = []
        full = len(level) // 3 * 3
        for i in range(0, full, 3):
            steps.append((level[i], level[i + 1], level[i + 2]))
            nxt += [count, count + 1]
            count += 2
        level = nxt + level[full:]
    return CsaPlan(rows=rows, injections=injections, steps=tuple(steps))


def csa_masks(row_masks, plan: CsaPlan, width: int) -> tuple[int, int]:
    """Bit positions of the result's sum and carry that can be nonzero, from those of the
    rows (``row_masks``, one int per row): a sum bit exists where any row has one, a carry
    bit above each position where two or more meet, and bit 0 of an injected carry."""
    full = (1 << width) - 1
    masks = [int(x) & full for x in row_masks]
    injected = {plan.inject_step(i) for i in range(plan.injections)}
    for i, (x, y, z) in enumerate(plan.steps):
        a, b, c = masks[x], masks[y], masks[z]
        carry = (((a & b) | (a & c) | (b & c)) << 1) & full
        masks += [a | b | c, carry | (1 if i in injected else 0)]
    return masks[-2], masks[-1]


def chain_masks(term_masks, plan: CsaPlan, width: int, length: int) -> tuple[tuple[int, int], ...]:
    """Bits of (sum, carry) that can be nonzero at each of ``length`` chained carry-save
    adders, each adding its terms to the pair the previous one passes on (the first adds
    them to nothing): a weight-stationary column, a cube's depth.

    Parameters
    ----------
    term_masks : sequence of int
        Bits each adder's own term rows can set.
    plan : CsaPlan
        The carry-save tree of one adder (terms, then the incoming pair).
    width : int
        Width of the partial sums.
    length : int
        Adders in the chain.

    Returns
    -------
    tuple of (int, int)
        Per adder, the masks of the (sum, carry) pair it passes on.
    """
    out, prev = [], (0, 0)
    for _ in range(length):
        prev = csa_masks([*term_masks, *prev], plan, width)
        out.append(prev)
    return tuple(out)


def accumulator_masks(term_masks, plan: CsaPlan, width: int) -> tuple[int, int]:
    """Bits of a carry-save accumulator (sum, carry) that can be nonzero when it feeds back
    into its own tree after the terms: the fixed point of :func:`csa_masks` from all bits
    (bits that can never be set are not built as registers)."""
    full = (1 << width) - 1
    acc = (full, full)
    while True:
        nxt = csa_masks([*term_masks, *acc], plan, width)
        if nxt == acc:
            return acc
        acc = (nxt[0] & acc[0], nxt[1] & acc[1])


@dataclasses.dataclass(frozen=True)
class GridDesign(Design):
    """Fields and derived values shared by the grid engines (systolic, 2D matrix).

    Parameters
    ----------
    name : str
        Verilog module name.
    rows, cols : int
        Array size ``R x C``, 1 to 64 each.
    mode : {"mac", "addsub", "ternary"}
        PE arithmetic (see the module docstring).
    act_bits, act_signed : int, bool
        Activation width (2 to 16) and signedness.
    weight_bits, weight_signed : int, bool
        Weight width (2 to 16) and signedness for ``mac``; ``addsub`` fixes 1 bit unsigned,
        ``ternary`` 2 bits signed.
    acc_bits : int, optional
        Accumulator width; default: exact for :attr:`reduction_length` products.
    wrap : bool
        Allow ``acc_bits`` narrower than exact: results wrap modulo ``2**acc_bits``.
    k_max : int, optional
        Output-stationary arrays: the longest reduction a tile accumulates before it
        drains (default 4096); longer GEMM reductions are split into tiles of ``k_max`` and
        added on the host.
    carry_save_accumulate : bool
        OPT1: Booth partial products (``mac``) and a carry-save accumulator, no
        carry-propagate adder in the PE.
    clock_ns : float
        Target clock period, used by synthesis and the analytic model.
    """

    rows: int = 4
    cols: int = 4
    mode: Mode = "mac"
    act_bits: int = 8
    act_signed: bool = True
    weight_bits: int | None = None
    weight_signed: bool | None = None
    acc_bits: int | None = None
    wrap: bool = False
    k_max: int | None = None
    carry_save_accumulate: bool = False
    clock_ns: float = 10.0

    #: whether the design accumulates over a tile's K inside the PEs (os, matrix2d)
    output_stationary: ClassVar[bool] = True
    DEFAULT_K_MAX: ClassVar[int] = 4096

    def __post_init__(self):
        if self.mode in typing.get_args(Mode):  # others are reported by the field check
            for key, value in resolve_mode_fields(
                self.mode, {f: getattr(self, f) for f in OPERAND_FIELDS}
            ).items():
                object.__setattr__(self, key, value)
        if self.k_max is None and self.is_output_stationary:
            object.__setattr__(self, "k_max", self.DEFAULT_K_MAX)
        super().__post_init__()

    @property
    def is_output_stationary(self) -> bool:
        """Whether PEs accumulate a tile's reduction in place (os dataflow, matrix2d)."""
        return self.output_stationary

    def _validate(self) -> None:
        check_int("rows", self.rows, 1, 64)
        check_int("cols", self.cols, 1, 64)
        for f in ("act_bits", "weight_bits"):
            if f not in self.arith.fixed:
                check_int(f, getattr(self, f), 2, 16)
        if self.is_output_stationary:
            assert self.k_max is not None  # defaulted by __post_init__
            check_int("k_max", self.k_max, 1, 1 << 20)
        elif self.k_max is not None:
            raise InputError(
                "only output-stationary arrays accumulate a tile's reduction in "
                "the PEs; a weight-stationary column sums `rows` products",
                field="k_max",
                allowed="unset (or use dataflow = 'os')",
            )
        exact = self.exact_acc_width
        if exact > MAX_ACC_BITS:
            raise InputError(
                f"the exact accumulator needs {exact} bits, more than {MAX_ACC_BITS}",
                field="k_max",
                allowed="a smaller k_max, or narrower operands",
            )
        if self.acc_bits is not None:
            # Wrap-around is for the accumulated sum: one product must still fit, so every
            # operand bit matters.
            check_int("acc_bits", self.acc_bits, self.product_width, MAX_ACC_BITS)
            if self.acc_bits < exact and not self.wrap:
                raise InputError(
                    f"{self.acc_bits} bits cannot hold {self.reduction_length} products "
                    f"exactly (range {self.exact_acc_range}); set wrap = true to accept "
                    f"wrap-around modulo 2**{self.acc_bits}",
                    field="acc_bits",
                    allowed=f"an integer from {exact} to {MAX_ACC_BITS}",
                )
        check_clock(self.clock_ns)

    # -- operand and value ranges -------------------------------------------------------
    @functools.cached_property
    def arith(self) -> Arithmetic:
        """The PE arithmetic of :attr:`mode` with these operand widths."""
        return arithmetic(self.mode, **{f: getattr(self, f) for f in OPERAND_FIELDS})

    @property
    def number_format(self) -> NumberFormat:
        """The formats of the PE arithmetic (:attr:`Arithmetic.number_format`)."""
        return self.arith.number_format

    @property
    def act_range(self) -> tuple[int, int]:
        """Range of one activation code on the ports."""
        return self.arith.act_range

    @property
    def weight_range(self) -> tuple[int, int]:
        """Range of one weight *code* on the ports (addsub: a bit; ternary: -1..1)."""
        return self.arith.weight_range

    @property
    def weight_value_range(self) -> tuple[int, int]:
        """Range of the number a weight code stands for."""
        return self.arith.weight_value_range

    @property
    def product_range(self) -> tuple[int, int]:
        """Range of one PE's true contribution (activation times weight value)."""
        return self.arith.product_range

    @property
    def product_width(self) -> int:
        """Bits of one product (the narrowest accumulator, even with ``wrap``)."""
        return range_width(*self.product_range)[0]

    @property
    def reduction_length(self) -> int:
        """Products one accumulator sums: ``k_max`` (output-stationary) or ``rows`` (ws)."""
        if self.is_output_stationary:
            assert self.k_max is not None  # defaulted by __post_init__
            return self.k_max
        return self.rows

    @property
    def exact_acc_range(self) -> tuple[int, int]:
        """Range of a sum of :attr:`reduction_length` products."""
        lo, hi = self.product_range
        return self.reduction_length * lo, self.reduction_length * hi

    @property
    def exact_acc_width(self) -> int:
        """Bits of an accumulator that never wraps (holds :attr:`exact_acc_range`)."""
        return range_width(*self.exact_acc_range)[0]

    @property
    def acc_width(self) -> int:
        """``W``: bits of every accumulator (and of each half of a carry-save pair)."""
        return self.acc_bits if self.acc_bits is not None else self.exact_acc_width

    @property
    def acc_signed(self) -> bool:
        """Results are two's complement when any product can be negative."""
        return self.product_range[0] < 0

    @property
    def wraps(self) -> bool:
        """Whether results may wrap modulo ``2**acc_width``."""
        return self.acc_width < self.exact_acc_width

    @property
    def result_range(self) -> tuple[int, int]:
        """Every value a result can take as the port carries it."""
        return int_range(self.acc_width, self.acc_signed)

    # -- datapath as built --------------------------------------------------------------
    @property
    def booth(self) -> bool:
        """Radix-4 Booth partial products (``mac`` with ``carry_save_accumulate``)."""
        return self.carry_save_accumulate and self.arith.multiplier

    @property
    def booth_digits(self) -> int:
        """Radix-4 Booth digits per activation: ``ceil(b/2)``, or ``ceil((b+1)/2)`` for an
        unsigned code."""
        return booth_digit_count(self.act_bits, self.act_signed)

    @property
    def csa_plan(self) -> CsaPlan | None:
        """The PE's 3:2 reduction with ``carry_save_accumulate``: the terms (Booth partial
        products, or ``+-a``) followed by the accumulator's sum and carry."""
        if not self.carry_save_accumulate:
            return None
        terms = self.booth_digits if self.booth else 1
        # One bit of weight 1: the +1 of a ones'-complement term (Booth row 0, or -a).
        return plan_csa(terms + 2, 1)

    @property
    def csa_term_masks(self) -> tuple[int, ...]:
        """Bits each carry-save term row can have set: Booth row ``j`` (signed, shifted by
        ``2j``) from bit ``2j`` up, the single ``+-a`` term everywhere."""
        w = self.acc_width
        full = (1 << w) - 1
        if self.booth:
            return tuple(
                full & ~((1 << (2 * j)) - 1) for j in range(self.booth_digits) if 2 * j < w
            )
        return (full,)

    @property
    def acc_masks(self) -> tuple[int, int]:
        """Output-stationary carry-save accumulator: bits of (sum, carry) that exist."""
        plan = self.csa_plan
        assert plan is not None, "only with carry_save_accumulate"
        return accumulator_masks(self.csa_term_masks, plan, self.acc_width)

    @property
    def psum_masks(self) -> tuple[tuple[int, int], ...]:
        """Weight-stationary carry-save partial sums: bits of (sum, carry) each array row
        passes down (the top row adds its terms to nothing)."""
        plan = self.csa_plan
        assert plan is not None, "only with carry_save_accumulate"
        return chain_masks(self.csa_term_masks, plan, self.acc_width, self.rows)

    @property
    def value_bits(self) -> int:
        """Bits of one accumulator or partial sum in flight (doubled in carry-save form)."""
        return self.acc_width * (2 if self.carry_save_accumulate else 1)

    @property
    def initiation_interval(self) -> int:
        """Cycles between accepted input steps at full rate."""
        return 1

    @property
    def ops_per_cycle(self) -> int:
        """Two operations (multiply and add) per PE per cycle at full rate."""
        return 2 * self.rows * self.cols

    @property
    def outputs_per_transfer(self) -> int:
        """Results in one transfer of the result stream: a row of a tile, or the whole
        tile in paper mode."""
        return self.rows * self.cols if self.paper_structured else self.cols

    # -- paper mode (overridden by designs that have the field) -------------------------
    @property
    def paper_structured(self) -> bool:
        """Whether the array is built as the paper's public OS RTL is (``paper_mode``):
        no enables, no drain registers, no carry-propagate adder; False unless a design
        has the ``paper_mode`` field set."""
        return False

    @property
    def result_transfers(self) -> int:
        """Output-stationary: result transfers per tile (its rows, or one in paper mode)."""
        return 1 if self.paper_structured else self.rows

    @property
    def tile_overhead(self) -> int:
        """Output-stationary: cycles a tile adds to its K steps when tiles cannot overlap
        (paper mode: the skew, while the last PE finishes), else 0."""
        return self.skew_max if self.paper_structured else 0

    # -- output-stationary schedule (overridden where it differs) -----------------------
    #: operands reach PE (i, j) after i + j cycles (systolic) rather than all at once
    skewed: ClassVar[bool] = True

    @property
    def skew_max(self) -> int:
        """Largest operand delay (cycles) from the input register to a PE."""
        return self.rows + self.cols - 2 if self.skewed else 0

    @property
    def last_spacing(self) -> int:
        """Output-stationary: fewest cycles between two tiles' last steps, so a tile's
        results have drained from a row's drain registers before the next tile's results
        are loaded there; the input holds a tile's last step until then. Paper mode: fewest
        cycles from a tile's last step to the next tile's first step (``skew_max + 1``),
        so the last PE has finished and the results have left before PE (0, 0) restarts;
        the input holds the next tile's first step until then."""
        if self.paper_structured:
            return self.skew_max + 1
        # PE (i, j) loads its drain register skew(i, j) cycles after the last step and
        # physical row i's drain register is free skew_max + 1 + i cycles after it
        # (docs/systolic.md): skew(i, j) = i + j leaves skew_max + 1, no skew leaves R.
        return self.skew_max + 1 + (0 if self.skewed else self.rows - 1)

    @property
    def latency(self) -> int:
        """Output-stationary: cycles from a tile's last step handshake to its first result
        row (``R`` rows follow on consecutive cycles); weight-stationary: from an
        activation vector's handshake to its result row. Paper mode: to the tile's one
        result transfer (no drain and no result register)."""
        return self.skew_max + (2 if self.paper_structured else 3)


@dataclasses.dataclass(frozen=True)
class SystolicDesign(GridDesign):
    """An ``R x C`` systolic array, output- or weight-stationary.

    The fields are those of :class:`GridDesign` and ``dataflow``.

    Parameters
    ----------
    name : str
        Verilog module name.
    rows, cols : int
        Array size ``R x C``, 1 to 64 each.
    mode : {"mac", "addsub", "ternary"}
        PE arithmetic (see the module docstring).
    act_bits, act_signed : int, bool
        Activation width (2 to 16) and signedness.
    weight_bits, weight_signed : int, bool
        Weight width (2 to 16) and signedness for ``mac``; ``addsub`` fixes 1 bit unsigned,
        ``ternary`` 2 bits signed.
    acc_bits : int, optional
        Accumulator width; default: exact for :attr:`reduction_length` products.
    wrap : bool
        Allow ``acc_bits`` narrower than exact: results wrap modulo ``2**acc_bits``.
    k_max : int, optional
        ``os`` only: the longest reduction a tile accumulates before it drains (default
        4096); longer GEMM reductions are split into tiles of ``k_max`` and added on the host.
    carry_save_accumulate : bool
        OPT1: Booth partial products (``mac``) and a carry-save accumulator, no
        carry-propagate adder in the PE.
    clock_ns : float
        Target clock period, used by synthesis and the analytic model.
    dataflow : {"os", "ws"}
        Output-stationary (a tile's K steps stream through, results drain) or
        weight-stationary (a K-tile of weights is held, activation vectors stream).
    paper_mode : bool
        ``os`` only: build the array as the HPCA 2025 paper's public OS RTL is: every PE
        and operand register loads every cycle (no stall enable), no drain registers and
        no carry-propagate adder. Each tile's accumulators leave as one wide transfer of
        every PE's value (carry-save: its (sum, carry) pair, resolved by the consumer),
        ``latency`` cycles after the tile's last step, once the last PE has finished;
        the next tile's first step waits until then, so a tile takes ``K + skew_max``
        cycles (no overlap). The result must be taken in the cycle it is valid (its
        ``ready`` is not read), and a carry-save pair is exact bit for bit only when a
        tile's steps arrive back to back (idle cycles re-compress the pair, keeping its
        value).
    """

    arch: ClassVar[str] = "systolic"
    name: str = "systolic"
    dataflow: Literal["os", "ws"] = "os"
    paper_mode: bool = dataclasses.field(default=False, metadata=OMIT_DEFAULT)

    @property
    def is_output_stationary(self) -> bool:
        """Whether the dataflow is output-stationary (``dataflow = "os"``)."""
        return self.dataflow == "os"

    @property
    def paper_structured(self) -> bool:
        """Whether ``paper_mode`` is set."""
        return self.paper_mode

    def _validate(self) -> None:
        super()._validate()
        if self.paper_mode and self.dataflow != "os":
            raise InputError(
                "paper mode builds the output-stationary array only",
                field="paper_mode",
                allowed="false, or dataflow = 'os'",
            )

    @property
    def weight_write_wait(self) -> int:
        """Weight-stationary: a write to array row ``i`` is accepted at least
        ``i + weight_write_wait`` cycles after the last activation vector, once every
        vector in flight has passed row ``i``."""
        return self.cols

    @property
    def latency(self) -> int:
        """Output-stationary: cycles from a tile's last step handshake to its first result
        row; weight-stationary: from an activation vector's handshake to its result row."""
        if self.dataflow == "ws":
            # input register, R + C - 1 PE and de-skew stages, output register
            return self.rows + self.cols + 1
        return super().latency


# -- random designs (shiftadd validate --random) ------------------------------------------
#: Ranges of :func:`random_grid_design`: array rows and columns, operand bits, ``k_max``.
RANDOM_SIZE = (2, 6)
RANDOM_BITS = (2, 8)
RANDOM_K_MAX = (2, 300)
#: Largest :func:`random_size` of a random grid (50 to 150 um^2 a unit).
RANDOM_SIZE_BUDGET = 1500

G = TypeVar("G", bound=GridDesign)


def random_size(design: GridDesign) -> float:
    """The size measure :func:`random_grid_design` bounds by :data:`RANDOM_SIZE_BUDGET`.

    ``rows * cols * ((act_bits + 2) * (weight_bits + 2) + value_bits)``: per PE the
    multiplier and the accumulator (``addsub``: 1-bit weights, ``ternary``: 2-bit);
    roughly proportional to the area (50 to 150 um^2 a unit).

    Parameters
    ----------
    design : GridDesign
        The design to measure.

    Returns
    -------
    float
        Its size in units.
    """
    assert design.weight_bits is not None  # filled in from the mode by __post_init__
    pe = (design.act_bits + 2) * (design.weight_bits + 2) + design.value_bits
    return float(design.rows * design.cols * pe)


def random_grid_design(
    design_class: type[G], rng: np.random.Generator, name: str, dataflow: str | None = None
) -> G:
    """A random valid grid design of class ``design_class``, small enough to synthesize and
    simulate in about a minute.

    Every mode; signed and unsigned operands of 2 to 8 bits; ``rows`` and ``cols`` from 2
    to 6; ``carry_save_accumulate``; output-stationary ``k_max`` from 2 to 300
    (log-uniform); sometimes an ``acc_bits`` narrower than exact with ``wrap``, or wider
    than exact; all within a :func:`random_size` of :data:`RANDOM_SIZE_BUDGET`.

    Parameters
    ----------
    design_class : type
        The grid design class (:class:`SystolicDesign` or a
        :class:`~shiftadd.design.matrix2d.Matrix2DDesign`).
    rng : numpy.random.Generator
        The only source of randomness (the same state gives the same design).
    name : str
        Verilog module name of the design.
    dataflow : {"os", "ws"}, optional
        The ``dataflow`` field, for a class that has one; ``None``: the class has none and
        is output-stationary.

    Returns
    -------
    GridDesign
        The validated design, an instance of ``design_class``.

    Raises
    ------
    RuntimeError
        No valid combination in :data:`~shiftadd.design.random.RANDOM_ATTEMPTS` draws.
    """
    return draw_valid(lambda: _draw_grid(design_class, rng, name, dataflow), design_class.arch)


def _draw_grid(
    design_class: type[G], rng: np.random.Generator, name: str, dataflow: str | None
) -> G | None:
    """One candidate of :func:`random_grid_design` (``None``: over the size budget)."""
    lo, hi = RANDOM_BITS
    mode = draw_choice(rng, typing.get_args(Mode))
    params: dict[str, Any] = {
        "name": name,
        "mode": mode,
        "act_bits": draw_int(rng, lo, hi),
        "act_signed": draw_bool(rng),
        "carry_save_accumulate": draw_bool(rng, 0.35),
    }
    if dataflow is not None:
        params["dataflow"] = dataflow
    if mode == "mac":
        params["weight_bits"] = draw_int(rng, lo, hi)
        params["weight_signed"] = draw_bool(rng)
    if dataflow in (None, "os"):
        params["k_max"] = draw_log_int(rng, *RANDOM_K_MAX)
    smallest, largest = RANDOM_SIZE
    # One PE's size from a smallest array (a weight-stationary column's exact accumulator
    # grows a bit with the rows: the final check below catches that).
    pe = random_size(typing.cast(G, design_class.from_dict({**params, "rows": 1, "cols": 1})))
    rows = draw_int(
        rng, smallest, max(smallest, min(largest, int(RANDOM_SIZE_BUDGET // (pe * smallest))))
    )
    cols = draw_int(
        rng, smallest, max(smallest, min(largest, int(RANDOM_SIZE_BUDGET // (pe * rows))))
    )
    params.update(rows=rows, cols=cols)
    probe = typing.cast(G, design_class.from_dict(params))
    exact, narrowest = probe.exact_acc_width, probe.product_width
    u = rng.random()
    if u < 0.2 and narrowest < exact:
        params.update(acc_bits=draw_int(rng, narrowest, exact - 1), wrap=True)
    elif u < 0.35:
        params["acc_bits"] = draw_int(rng, exact + 1, min(exact + 4, MAX_ACC_BITS))
    design = typing.cast(G, design_class.from_dict(params))
    return design if random_size(design) <= RANDOM_SIZE_BUDGET else None


def random_design(rng: np.random.Generator, name: str) -> SystolicDesign:
    """A random valid systolic array (either dataflow), small enough to synthesize and
    simulate in about a minute (see :func:`random_grid_design` for the ranges).

    Parameters
    ----------
    rng : numpy.random.Generator
        The only source of randomness (the same state gives the same design).
    name : str
        Verilog module name of the design.

    Returns
    -------
    SystolicDesign
        The validated design.

    Raises
    ------
    RuntimeError
        No valid combination in :data:`~shiftadd.design.random.RANDOM_ATTEMPTS` draws.
    """
    dataflow = draw_choice(rng, ("os", "ws"))
    return random_grid_design(SystolicDesign, rng, name, dataflow)
