"""The ShiftAddLLM shift-add engine: LUT-GEMM with binary-coded weights and shift scales.

A layer ``Y = X @ W.T`` with BCQ weights ``W_int = sum_i alpha_i * (2 B_i - 1)``
(:mod:`shiftadd.workloads.bcq`, :mod:`shiftadd.models.lutgemm`) is computed without a
multiplier:

1. a **LUT builder** turns a group of ``mu`` activations into the ``2**mu``-entry table
   ``T[key] = sum_j (2 key_j - 1) x_j`` with the incremental construction
   ``T[key] = T[key - 2**s] + 2 x_s`` and stores it in one of ``lut_slots`` table slots
   (flip-flops). The table is built once and shared by every output column (every output
   row of the layer, not only the ``columns`` processed together);
2. per weight transfer, for each of ``columns`` output rows and each of the ``q`` bit planes,
   a **lookup PE** indexes the table with the ``mu`` plane bits of the row;
3. each looked-up value is multiplied by its scale as **shifts**: one per APoT term
   (``terms``; 1 = a single power of two), by barrel shifters whose amounts come with the
   weights (``shifter = "barrel"``) or by wiring when the design fixes the scales
   (``shifter = "constant"``);
4. the shifted terms of all planes are summed by an adder tree and **accumulated** over up
   to ``acc_groups`` consecutive weight transfers; the transfer flagged ``last`` emits the
   ``columns`` sums on the result stream.

Dataflow: the activations (tables) are stationary and the weights stream, one transfer per
cycle, as in LUT-GEMM for LLM decoding: each table is reused by all ``N`` output rows.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, ClassVar, Literal, cast

from ..errors import InputError
from ..workloads.formats import NumberFormat
from .adder_tree import PipelinedDatapath, TreePlan, plan_tree
from .base import Design, check_clock, check_int, int_range, range_width
from .random import draw_bool, draw_choice, draw_int, draw_log_int, draw_valid

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "ShiftAddDesign",
    "entry_range",
    "table_range",
    "barrel_stage_widths",
    "random_design",
    "random_size",
]

Shifter = Literal["barrel", "constant"]

MAX_MU = 8  # 256-entry tables; wider tables dwarf the datapath in flip-flops
MAX_RESULT_BITS = 62  # result fields are unpacked into int64 by the bench


def entry_range(key: int, mu: int, act_range: tuple[int, int]) -> tuple[int, int]:
    """Exact range of table entry ``T[key]``: input ``j`` counts ``+x_j`` when key bit ``j``
    is set, else ``-x_j``.

    Parameters
    ----------
    key : int
        Table index, 0 to ``2**mu - 1``.
    mu : int
        Activations per table.
    act_range : tuple of (int, int)
        Range of one activation.

    Returns
    -------
    tuple of (int, int)
        Smallest and largest value of ``T[key]``.
    """
    lo, hi = act_range
    ones = bin(key).count("1")
    return ones * lo - (mu - ones) * hi, ones * hi - (mu - ones) * lo


def table_range(mu: int, act_range: tuple[int, int]) -> tuple[int, int]:
    """One range holding every table entry: ``[-mu * amax, mu * amax]``.

    Parameters
    ----------
    mu : int
        Activations per table.
    act_range : tuple of (int, int)
        Range of one activation.

    Returns
    -------
    tuple of (int, int)
        ``(-mu * amax, mu * amax)`` with ``amax`` the largest activation magnitude.
    """
    lo, hi = act_range
    amax = max(-lo, hi)
    return -mu * amax, mu * amax


def barrel_stage_widths(value_width: int, bits: int) -> tuple[int, ...]:
    """Output width of every stage of a ``bits``-stage barrel shifter of a ``value_width``-bit
    value (stage ``j`` shifts by ``2**j``; a stage of width ``w`` is ``w`` mux2 nodes, the
    lowest bits of a shifted-in zero aside).

    Parameters
    ----------
    value_width : int
        Bits of the value shifted.
    bits : int
        Bits of the shift amount (stages).

    Returns
    -------
    tuple of int
        Output width in bits of stages ``0`` to ``bits - 1``.
    """
    return tuple(value_width + (1 << (j + 1)) - 1 for j in range(bits))


@dataclasses.dataclass(frozen=True)
class ShiftAddDesign(PipelinedDatapath, Design):
    """A LUT-and-shift engine for binary-coded weights (ShiftAddLLM).

    Parameters
    ----------
    name : str
        Verilog module name.
    mu : int
        Activations per table (LUT width), 1 to 8: tables have ``2**mu`` entries.
    q : int
        Bit planes per weight (BCQ bits), 1 to 4.
    terms : int
        Signed power-of-two terms per scale (APoT ``t``), 1 to 4; 1 is a single power of two.
    shift_bits : int
        Width of a shift amount with ``shifter = "barrel"``, 1 to 5: shifts 0 to
        ``2**shift_bits - 1``, the quantizer's ``shift_bits``.
    act_bits : int
        Width of a signed (two's complement) activation, 2 to 16.
    columns : int
        Output rows processed per weight transfer (the engine's parallel outputs), 1 to 256.
    scale_rows : int, optional
        Consecutive columns sharing one scale set in a transfer (the quantizer's row group,
        or a divisor of it); divides ``columns``. Default: ``columns`` (one set per transfer).
    lut_slots : int
        Tables held at once, 1 to 16; a weight transfer names the slot it reads.
    acc_groups : int, optional
        Most weight transfers accumulated into one result (sizes the accumulator),
        1 to 65536. Default: ``lut_slots``.
    shifter : {"barrel", "constant"}
        ``"barrel"``: every transfer carries the scales' shift amounts and signs, applied by
        barrel shifters (mux2 stages). ``"constant"``: the scales are fixed by
        ``const_shifts`` / ``const_signs`` (the same for every block), so the shifts are
        wiring and the transfers carry only bit planes.
    const_shifts, const_signs : list of list of int, optional
        ``shifter = "constant"``: per plane, ``terms`` shift amounts (0 to 31) and signs
        (-1, 0, +1); plane ``i``'s scale is ``sum_t sign * 2**shift``. Default: plane ``i``
        has the single term ``+2**(q - 1 - i)`` (uniform odd-integer weights).
    pipeline_stages : int
        Registers inside the lookup/shift/sum datapath besides the input and output
        registers, 0 to :attr:`max_pipeline_stages`.
    clock_ns : float
        Target clock period for synthesis and the analytic model.
    """

    arch: ClassVar[str] = "shiftadd"
    name: str = "shiftadd"
    mu: int = 4
    q: int = 3
    terms: int = 3
    shift_bits: int = 4
    act_bits: int = 8
    columns: int = 8
    scale_rows: int | None = None
    lut_slots: int = 1
    acc_groups: int | None = None
    shifter: Shifter = "barrel"
    const_shifts: tuple[tuple[int, ...], ...] | None = None
    const_signs: tuple[tuple[int, ...], ...] | None = None
    pipeline_stages: int = 0
    clock_ns: float = 10.0

    def __post_init__(self):
        if self.scale_rows is None:
            object.__setattr__(self, "scale_rows", self.columns)
        if self.acc_groups is None:
            object.__setattr__(self, "acc_groups", self.lut_slots)
        q, t = self.q, self.terms
        if self.shifter == "constant" and all(isinstance(v, int) and v >= 1 for v in (q, t)):
            # Defaults need valid q and terms; bad ones are reported by the field checks.
            if self.const_shifts is None:
                object.__setattr__(
                    self, "const_shifts", tuple((q - 1 - i,) + (0,) * (t - 1) for i in range(q))
                )
            if self.const_signs is None:
                object.__setattr__(
                    self, "const_signs", tuple((1,) + (0,) * (t - 1) for _ in range(q))
                )
        super().__post_init__()

    @property
    def number_format(self) -> NumberFormat:
        """Binary-coded weights and signed ``act_bits`` activations.

        ``barrel``: ``bcq<q>`` in the kernel layout, one scale set per ``scale_rows`` output
        rows and ``mu`` inputs, scales as single powers of two (``terms = 1``) or APoT sums
        of ``terms`` powers, ``shift_bits`` wide. ``constant``: ``bcq<q>_fixed`` with the
        plane scales the constant shifts and signs define, and a float scale per row.
        """
        act = f"int{self.act_bits}"
        if self.shifter == "constant":
            assert self.const_shifts is not None and self.const_signs is not None
            planes = tuple(
                float(sum(s * 2**h for h, s in zip(shifts, signs)))
                for shifts, signs in zip(self.const_shifts, self.const_signs)
            )
            return NumberFormat(f"bcq{self.q}_fixed", act, (("plane_scales", planes),))
        options: tuple[tuple[str, Any], ...] = (
            ("layout", "kernel"),
            ("mu", self.mu),
            ("group_rows", self.scale_rows),
            ("scale_form", "pow2" if self.terms == 1 else "apot"),
            ("shift_bits", self.shift_bits),
        )
        if self.terms > 1:
            options += (("apot_terms", self.terms),)
        return NumberFormat(f"bcq{self.q}", act, options)

    def _validate(self) -> None:
        check_int("mu", self.mu, 1, MAX_MU)
        check_int("q", self.q, 1, 4)
        check_int("terms", self.terms, 1, 4)
        check_int("shift_bits", self.shift_bits, 1, 5)
        check_int("act_bits", self.act_bits, 2, 16)
        check_int("columns", self.columns, 1, 256)
        # defaulted by __post_init__
        assert self.scale_rows is not None and self.acc_groups is not None
        check_int("scale_rows", self.scale_rows, 1, self.columns)
        if self.columns % self.scale_rows:
            raise InputError(
                f"{self.scale_rows} does not divide columns={self.columns}",
                field="scale_rows",
                allowed=[d for d in range(1, self.columns + 1) if self.columns % d == 0],
            )
        check_int("lut_slots", self.lut_slots, 1, 16)
        check_int("acc_groups", self.acc_groups, 1, 65536)
        if self.shifter == "constant":
            self._validate_constant_scales()
        elif self.const_shifts is not None or self.const_signs is not None:
            field = "const_shifts" if self.const_shifts is not None else "const_signs"
            raise InputError(
                "only used with shifter = 'constant'",
                field=field,
                allowed="leave it out with shifter = 'barrel'",
            )
        check_int("pipeline_stages", self.pipeline_stages, 0, self.max_pipeline_stages)
        check_clock(self.clock_ns)
        if self.acc_width > MAX_RESULT_BITS:
            raise InputError(
                f"the accumulator would need {self.acc_width} bits",
                field="acc_groups",
                allowed=f"values keeping the accumulator within "
                f"{MAX_RESULT_BITS} bits (fewer groups, narrower "
                f"activations or fewer shift bits)",
            )

    def _validate_constant_scales(self) -> None:
        q, t = self.q, self.terms
        # defaulted by __post_init__ once q and terms are valid
        assert self.const_shifts is not None and self.const_signs is not None
        for field, table, lo, hi in (
            ("const_shifts", self.const_shifts, 0, 31),
            ("const_signs", self.const_signs, -1, 1),
        ):
            if len(table) != q or any(len(row) != t for row in table):
                raise InputError(
                    f"expected {q} lists (one per plane) of {t} values",
                    field=field,
                    allowed=f"a {q} x {t} list of integers",
                )
            for i, row in enumerate(table):
                for j, v in enumerate(row):
                    if not lo <= v <= hi:
                        raise InputError(
                            f"{v} is out of range",
                            field=f"{field}[{i}][{j}]",
                            allowed=f"an integer from {lo} to {hi}",
                        )
        if not any(s for row in self.const_signs for s in row):
            raise InputError(
                "every term is 0: the engine would compute nothing",
                field="const_signs",
                allowed="at least one nonzero sign",
            )

    # -- operand ranges ---------------------------------------------------------------------
    @property
    def act_range(self) -> tuple[int, int]:
        """Range of one signed ``act_bits``-bit activation."""
        return int_range(self.act_bits, True)

    @property
    def entries(self) -> int:
        """Table entries, ``2**mu``."""
        return 1 << self.mu

    @property
    def lut_range(self) -> tuple[int, int]:
        """Range of a table entry ``sum_j (+-x_j)`` over ``mu`` activations."""
        return table_range(self.mu, self.act_range)

    def entry_range(self, key: int) -> tuple[int, int]:
        """Exact range of table entry ``T[key]`` (what the builder's signal holds).

        Parameters
        ----------
        key : int
            Table index, 0 to ``2**mu - 1``.

        Returns
        -------
        tuple of (int, int)
            Smallest and largest value of ``T[key]``.
        """
        return entry_range(key, self.mu, self.act_range)

    @property
    def barrel_stage_widths(self) -> tuple[int, ...]:
        """``shifter = "barrel"``: output width of every stage of one term's shifter."""
        return barrel_stage_widths(range_width(*self.lut_range)[0], self.shift_bits)

    @property
    def lut_width(self) -> int:
        """Bits of one table entry (holds :attr:`lut_range`)."""
        return range_width(*self.lut_range)[0]

    @property
    def max_shift(self) -> int:
        """Largest shift amount the datapath applies."""
        if self.shifter == "constant":
            assert self.const_shifts is not None  # defaulted by __post_init__
            return max(s for row in self.const_shifts for s in row)
        return (1 << self.shift_bits) - 1

    @property
    def shift_range(self) -> tuple[int, int]:
        """Range of the shift field (barrel) or of the constant shifts."""
        return 0, self.max_shift

    @property
    def scale_sets(self) -> int:
        """Scale sets per weight transfer: ``columns // scale_rows``."""
        assert self.scale_rows is not None  # defaulted by __post_init__
        return self.columns // self.scale_rows

    @property
    def active_terms(self) -> tuple[tuple[int, int, int, int], ...]:
        """``(plane, term, shift, sign)`` of every term the datapath forms per column.

        Barrel: all ``q * terms`` terms (shift and sign come with the weights; reported as
        ``max_shift`` and 0). Constant: only the terms with a nonzero sign.
        """
        if self.shifter == "barrel":
            return tuple(
                (i, j, self.max_shift, 0) for i in range(self.q) for j in range(self.terms)
            )
        assert self.const_shifts is not None and self.const_signs is not None
        return tuple(
            (i, j, self.const_shifts[i][j], self.const_signs[i][j])
            for i in range(self.q)
            for j in range(self.terms)
            if self.const_signs[i][j]
        )

    def leaf_range_of(self, shift: int, sign: int) -> tuple[int, int]:
        """Range of one plane-tree leaf as built: the shifted lookup, or its one's
        complement (``~v = -v - 1``) for a negative term; barrel leaves may be either or 0.

        Parameters
        ----------
        shift : int
            Left shift of the looked-up value (bits).
        sign : int
            Sign of the term: +1, -1, or 0 for a barrel term (any sign).

        Returns
        -------
        tuple of (int, int)
            Smallest and largest value of the leaf.
        """
        lo, hi = self.lut_range
        slo, shi = lo << shift, hi << shift
        if sign > 0:
            return slo, shi
        if sign < 0:
            return -shi - 1, -slo - 1
        return min(slo, -shi - 1, 0), max(shi, -slo - 1, 0)

    @property
    def leaf_ranges(self) -> tuple[tuple[int, int], ...]:
        """Range of every term leaf of a column's plane tree, in :attr:`active_terms` order."""
        return tuple(self.leaf_range_of(s, g) for _, _, s, g in self.active_terms)

    @property
    def leaf_range(self) -> tuple[int, int]:
        """One range covering every term leaf."""
        ranges = self.leaf_ranges
        return min(r[0] for r in ranges), max(r[1] for r in ranges)

    @property
    def offset_range(self) -> tuple[int, int] | None:
        """Range of the extra leaf counting negative terms (restores ``~v`` to ``-v``);
        None when no term can be negative."""
        if self.shifter == "barrel":
            return 0, self.q * self.terms
        negatives = sum(1 for *_, g in self.active_terms if g < 0)
        return (negatives, negatives) if negatives else None

    @property
    def tree(self) -> TreePlan:
        """The per-column adder tree over the plane terms (plus the offset leaf)."""
        leaves = list(self.leaf_ranges)
        if self.offset_range is not None:
            leaves.append(self.offset_range)
        return plan_tree(leaves)

    @property
    def plane_sum_range(self) -> tuple[int, int]:
        """Range of one transfer's true contribution ``sum_i alpha_i * T[key_i]`` per column."""
        lo, hi = self.lut_range
        total_lo = total_hi = 0
        for _, _, shift, sign in self.active_terms:
            if sign == 0 and self.shifter == "barrel":
                total_lo += lo << shift
                total_hi += hi << shift
            else:
                a, b = sorted((sign * (lo << shift), sign * (hi << shift)))
                total_lo += a
                total_hi += b
        return total_lo, total_hi

    @property
    def acc_range(self) -> tuple[int, int]:
        """Range of a result: up to ``acc_groups`` transfers accumulated."""
        assert self.acc_groups is not None  # defaulted by __post_init__
        lo, hi = self.plane_sum_range
        return self.acc_groups * lo, self.acc_groups * hi

    @property
    def acc_width(self) -> int:
        """Bits of the accumulator and of a result (holds :attr:`acc_range`)."""
        return range_width(*self.acc_range)[0]

    @property
    def accumulates(self) -> bool:
        """Whether results accumulate over transfers (``acc_groups > 1``): the transfers
        then carry ``last`` and the engine has accumulator registers."""
        assert self.acc_groups is not None  # defaulted by __post_init__
        return self.acc_groups > 1

    # -- pipeline -----------------------------------------------------------------------------
    @property
    def logic_layers(self) -> int:
        """The lookup/shift layer plus the plane tree's adder levels."""
        return self.tree.depth + 1

    @property
    def latency(self) -> int:
        """Cycles from a ``last`` weight transfer's handshake (any transfer without
        accumulation) to its result's valid: input register, ``pipeline_stages`` datapath
        registers, output register (accumulate)."""
        return self.pipeline_stages + 2

    @property
    def initiation_interval(self) -> int:
        """Cycles between accepted weight transfers at full rate."""
        return 1

    # -- throughput and storage ---------------------------------------------------------------
    @property
    def n(self) -> int:
        """Outputs per result transfer (``columns``), as the simulation report counts them."""
        return self.columns

    @property
    def weights_per_cycle(self) -> int:
        """Weights (all ``q`` planes of one element) consumed per weight transfer."""
        return self.columns * self.mu

    @property
    def ops_per_cycle(self) -> int:
        """Operations per cycle at full rate, a weight x activation product counting as a
        multiply and an add (2 ops), as for the multiplier arrays of equal throughput."""
        return 2 * self.weights_per_cycle

    @property
    def slot_bits(self) -> int:
        """Bits of a table-slot index (at least 1)."""
        return max(1, (self.lut_slots - 1).bit_length())

    @property
    def scale_bits_per_transfer(self) -> int:
        """Shift and sign bits per weight transfer (0 for constant scales)."""
        if self.shifter == "constant":
            return 0
        return self.scale_sets * self.q * self.terms * (self.shift_bits + 2)

    @property
    def weight_transfer_bits(self) -> int:
        """Payload bits of one weight transfer: slot, last, keys and scales."""
        return (
            (self.slot_bits if self.lut_slots > 1 else 0)
            + int(self.accumulates)
            + self.columns * self.q * self.mu
            + self.scale_bits_per_transfer
        )

    @property
    def lut_storage_bits(self) -> int:
        """Flip-flops holding the tables: ``lut_slots * 2**mu`` entries of :attr:`lut_width`."""
        return self.lut_slots * self.entries * self.lut_width


# -- random designs (shiftadd validate --random) ------------------------------------------
#: Ranges of :func:`random_design`.
RANDOM_MU = (1, 5)
RANDOM_Q = (1, 3)
RANDOM_TERMS = (1, 3)
RANDOM_COLUMNS = (1, 6)
RANDOM_ACT_BITS = (2, 8)
RANDOM_SHIFT_BITS = (1, 4)
RANDOM_LUT_SLOTS = (1, 3)
RANDOM_ACC_GROUPS = (1, 40)
RANDOM_CONST_SHIFT = 6
#: Most shifted terms per transfer of a random design, ``columns * q * terms``.
RANDOM_COLUMN_TERMS = 18
#: Largest :func:`random_size` of a random design (about 120 um^2 a unit).
RANDOM_SIZE_BUDGET = 1600


def random_size(design: ShiftAddDesign) -> float:
    """The size measure :func:`random_design` bounds by :data:`RANDOM_SIZE_BUDGET`.

    Per column and formed term the table entry width plus ``2**shift_bits`` (barrel),
    times ``1 + pipeline_stages / 3``; plus 0.8 a table bit, 0.15 a lookup multiplexer
    input bit and 2 an accumulator bit: roughly proportional to the area (about 120 um^2 a
    unit).

    Parameters
    ----------
    design : ShiftAddDesign
        The design to measure.

    Returns
    -------
    float
        Its size in units.
    """
    return float(
        _term_units(design) * (1 + design.pipeline_stages / 3)
        + 0.8 * design.lut_storage_bits
        + 0.15 * design.columns * design.q * design.entries * design.lut_width
        + 2 * design.columns * design.acc_width
    )


def _term_units(design: ShiftAddDesign) -> int:
    """The shifted terms' part of :func:`random_size`, without pipeline registers."""
    term = design.lut_width + ((1 << design.shift_bits) if design.shifter == "barrel" else 0)
    return design.columns * len(design.active_terms) * term


def random_design(rng: np.random.Generator, name: str) -> ShiftAddDesign:
    """A random valid shift-add engine, small enough to synthesize and simulate in about a
    minute.

    ``mu`` 1 to 5, ``q`` 1 to 3, ``terms`` 1 to 3, ``columns`` 1 to 6 within
    :data:`RANDOM_COLUMN_TERMS` terms per transfer; barrel shifters (``shift_bits`` 1 to 4)
    or constant scales (the default or random shifts 0 to 6 and signs); any ``scale_rows``
    dividing ``columns``; ``act_bits`` 2 to 8; ``lut_slots`` 1 to 3; ``acc_groups`` default
    or 1 to 40; ``pipeline_stages`` from 0 to the design's maximum; all within a
    :func:`random_size` of :data:`RANDOM_SIZE_BUDGET`.

    Parameters
    ----------
    rng : numpy.random.Generator
        The only source of randomness (the same state gives the same design).
    name : str
        Verilog module name of the design.

    Returns
    -------
    ShiftAddDesign
        The validated design.

    Raises
    ------
    RuntimeError
        No valid combination in :data:`~shiftadd.design.random.RANDOM_ATTEMPTS` draws.
    """
    return draw_valid(lambda: _draw_shiftadd(rng, name), "shiftadd")


def _draw_shiftadd(rng: np.random.Generator, name: str) -> ShiftAddDesign | None:
    """One candidate of :func:`random_design` (``None``: over the size budget)."""
    q = draw_int(rng, *RANDOM_Q)
    terms = draw_int(rng, *RANDOM_TERMS)
    most_columns = min(RANDOM_COLUMNS[1], RANDOM_COLUMN_TERMS // (q * terms))
    if most_columns < RANDOM_COLUMNS[0]:
        return None
    columns = draw_int(rng, RANDOM_COLUMNS[0], most_columns)
    shifter = draw_choice(rng, ("barrel", "constant"))
    params: dict[str, Any] = {
        "name": name,
        "mu": draw_int(rng, *RANDOM_MU),
        "q": q,
        "terms": terms,
        "act_bits": draw_int(rng, *RANDOM_ACT_BITS),
        "columns": columns,
        "lut_slots": draw_int(rng, *RANDOM_LUT_SLOTS),
        "shifter": shifter,
    }
    if draw_bool(rng):
        divisors = [d for d in range(1, columns + 1) if columns % d == 0]
        params["scale_rows"] = draw_choice(rng, divisors)
    if draw_bool(rng):
        params["acc_groups"] = draw_log_int(rng, *RANDOM_ACC_GROUPS)
    if shifter == "barrel":
        params["shift_bits"] = draw_int(rng, *RANDOM_SHIFT_BITS)
    elif draw_bool(rng, 0.7):
        params["const_shifts"] = [
            [draw_int(rng, 0, RANDOM_CONST_SHIFT) for _ in range(terms)] for _ in range(q)
        ]
        params["const_signs"] = [[draw_int(rng, -1, 1) for _ in range(terms)] for _ in range(q)]
    probe = cast(ShiftAddDesign, ShiftAddDesign.from_dict(params))
    size = random_size(probe)
    if size > RANDOM_SIZE_BUDGET:
        return None
    # the most pipeline registers within the budget (they scale the terms' part)
    fits = int(3 * (RANDOM_SIZE_BUDGET - size) / max(1, _term_units(probe)))
    params["pipeline_stages"] = draw_int(rng, 0, min(probe.max_pipeline_stages, fits))
    return cast(ShiftAddDesign, ShiftAddDesign.from_dict(params))
