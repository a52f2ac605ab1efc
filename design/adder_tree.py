"""The adder-tree array: N neurons, each a K-input dot product reduced by a balanced tree.

Three arithmetic modes share one structure (the PE arithmetic is one description per mode,
:mod:`shiftadd.design.arith`, built in hardware by :mod:`shiftadd.hw.arith`):

``xnor``
    binary activations and weights, XNOR then popcount (XNOR-Net). A bit 1 encodes +1 and a
    bit 0 encodes -1; the array outputs the popcount of matches ``p``, from which the +-1 dot
    product is ``2 p - K``.
``addsub``
    binary weights (bit 1 = +1, bit 0 = -1), integer activations (BinaryConnect).
``mac``
    integer weights and activations: the multiplier-adder tree baseline.

With ``threshold = true`` each neuron ends in a compare with a per-neuron threshold ``T``
(folded batch norm, REFERENCE.md section 4): ``y = [acc >= T]``, or ``y = [acc <= T]`` when
the neuron's ``flip`` bit is set (negative batch-norm scale). The array then outputs one bit
per neuron instead of the accumulator.
"""

from __future__ import annotations

import dataclasses
import functools
import typing
from typing import TYPE_CHECKING, ClassVar, Literal

from ..errors import InputError
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
    signed_width,
)
from .bitweight import OPTION_FIELDS, BitWeightPlan, bitweight_plan, expected_vector_cycles
from .random import draw_bool, draw_choice, draw_int, draw_valid
from .tree import PipelinedDatapath, TreePlan, plan_tree

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "AdderTreeDesign",
    "MAX_ACCUMULATE_K",
    "RANDOM_MAX_CHUNKS",
    "random_design",
    "random_size",
]

Mode = Literal["xnor", "addsub", "mac"]

#: Largest :attr:`AdderTreeDesign.accumulate_k` (fan-in of one accumulated output).
MAX_ACCUMULATE_K = 1 << 20


@dataclasses.dataclass(frozen=True)
class AdderTreeDesign(PipelinedDatapath, Design):
    """An array of ``n`` neurons, each reducing ``k`` products with a balanced adder tree.

    Parameters
    ----------
    name : str
        Verilog module name.
    mode : {"xnor", "addsub", "mac"}
        PE arithmetic (see the module docstring).
    k : int
        Inputs per neuron (the reduction dimension K), 1 to 16384.
    n : int
        Neurons (outputs per input vector, N), 1 to 1024.
    act_bits, act_signed : int, bool
        Activation width and signedness (``addsub``, ``mac``); ``xnor`` fixes 1 bit.
    weight_bits, weight_signed : int, bool
        Weight width and signedness (``mac``); ``xnor`` and ``addsub`` fix 1 bit.
    threshold : bool
        End each neuron with the folded batch-norm compare and output one bit per neuron.
    pipeline_stages : int
        Registers inside the datapath besides the input and output registers, 0 to
        :attr:`max_pipeline_stages`, spread evenly over the product layer and the tree levels.
    clock_ns : float
        Target clock period, used by synthesis and the analytic model.
    carry_save_accumulate, shared_encoder_same_bitweight, digit_sparse : bool
        Bit-weight options of the ``mac`` tree (OPT1, OPT2, OPT3+OPT4 of the HPCA 2025
        paper; see :mod:`shiftadd.design.bitweight`). The first two combine; ``digit_sparse``
        stands alone. None works with ``threshold``.
    digit_group : int, optional
        ``digit_sparse``: lanes per sparse encoder (default 4); must divide ``k``.
    accumulate : bool
        The binary MAC form (``mode = "xnor"`` with ``threshold``): each lane keeps a
        multi-bit accumulator across chunks of ``k`` inputs, cleared by a chunk tagged
        ``first`` and thresholded on the one tagged ``last``, so a neuron of fan-in
        ``K <= accumulate_k`` takes ``ceil(K / k)`` cycles. Weights and thresholds stream
        with every chunk (no weight registers). See :attr:`accumulator_range`.
    accumulate_k : int, optional
        With ``accumulate``: the largest fan-in ``K`` one output covers, a multiple of ``k``
        up to :data:`MAX_ACCUMULATE_K`; it sizes the accumulator and the threshold field.
    """

    arch: ClassVar[str] = "adder_tree"
    name: str = "adder_tree"
    mode: Mode = "xnor"
    k: int = 64
    n: int = 4
    act_bits: int | None = None
    act_signed: bool | None = None
    weight_bits: int | None = None
    weight_signed: bool | None = None
    threshold: bool = False
    pipeline_stages: int = 0
    clock_ns: float = 10.0
    # Options added after plain designs were recorded: left out of to_dict at their defaults.
    carry_save_accumulate: bool = dataclasses.field(default=False, metadata=OMIT_DEFAULT)
    shared_encoder_same_bitweight: bool = dataclasses.field(default=False, metadata=OMIT_DEFAULT)
    digit_sparse: bool = dataclasses.field(default=False, metadata=OMIT_DEFAULT)
    digit_group: int | None = dataclasses.field(default=None, metadata=OMIT_DEFAULT)
    accumulate: bool = dataclasses.field(default=False, metadata=OMIT_DEFAULT)
    accumulate_k: int | None = dataclasses.field(default=None, metadata=OMIT_DEFAULT)

    def __post_init__(self):
        if self.digit_sparse is True and self.digit_group is None:
            object.__setattr__(self, "digit_group", 4)
        if self.mode in typing.get_args(Mode):  # others are reported by the field check
            for key, value in resolve_mode_fields(
                self.mode, {f: getattr(self, f) for f in OPERAND_FIELDS}
            ).items():
                object.__setattr__(self, key, value)
        super().__post_init__()

    def _validate(self) -> None:
        check_int("k", self.k, 1, 16384)
        check_int("n", self.n, 1, 1024)
        for f in ("act_bits", "weight_bits"):
            if f not in self.arith.fixed:
                check_int(f, getattr(self, f), 2, 16)
        self._validate_bitweight()
        self._validate_accumulate()
        check_int("pipeline_stages", self.pipeline_stages, 0, self.max_pipeline_stages)
        check_clock(self.clock_ns)

    def _validate_bitweight(self) -> None:
        chosen = [f for f in OPTION_FIELDS if getattr(self, f)]
        if chosen and not self.arith.multiplier:
            raise InputError(
                f"the bit-weight options need mode 'mac', not {self.mode!r}",
                field=chosen[0],
                allowed=[False],
            )
        if chosen and not (self.act_signed and self.weight_signed):
            field = "act_signed" if not self.act_signed else "weight_signed"
            raise InputError(
                "the bit-weight options take signed operands (an unsigned b-bit "
                "code fits a signed b+1-bit field)",
                field=field,
                allowed=[True],
            )
        assert self.act_bits is not None  # filled in from the mode by __post_init__
        if chosen and self.act_bits % 2:
            raise InputError(
                f"the bit-weight options split activations into radix-4 digits "
                f"and need an even width, not {self.act_bits}",
                field="act_bits",
                allowed=list(range(2, 17, 2)),
            )
        if chosen and self.threshold:
            raise InputError(
                "the bit-weight options output dot products; the folded "
                "threshold is available on the plain tree",
                field="threshold",
                allowed=[False],
            )
        if self.digit_sparse:
            for other in ("carry_save_accumulate", "shared_encoder_same_bitweight"):
                if getattr(self, other):
                    raise InputError(
                        "digit_sparse already shares one EN-T encoder per group, "
                        "works bit weight by bit weight and accumulates in "
                        "carry-save form",
                        field=other,
                        allowed=[False],
                    )
            assert self.digit_group is not None  # defaulted by __post_init__
            check_int("digit_group", self.digit_group, 1, self.k)
            if self.k % self.digit_group:
                raise InputError(
                    f"{self.digit_group} does not divide k = {self.k}",
                    field="digit_group",
                    allowed=[g for g in range(1, min(self.k, 64) + 1) if self.k % g == 0],
                )
        elif self.digit_group is not None:
            raise InputError(
                "only with digit_sparse = true", field="digit_group", allowed="leave it out"
            )

    def _validate_accumulate(self) -> None:
        if not self.accumulate:
            if self.accumulate_k is not None:
                raise InputError(
                    "only with accumulate = true", field="accumulate_k", allowed="leave it out"
                )
            return
        if self.mode != "xnor":
            raise InputError(
                f"accumulate = true is the binary MAC (XNOR-popcount) form and needs mode "
                f"'xnor', not {self.mode!r}",
                field="mode",
                allowed=["xnor"],
            )
        if not self.threshold:
            raise InputError(
                "accumulate = true ends every output with the folded threshold",
                field="threshold",
                allowed=[True],
            )
        allowed = f"a multiple of k = {self.k} from {self.k} to {MAX_ACCUMULATE_K}"
        if self.accumulate_k is None:
            raise InputError(
                "required with accumulate = true (the largest fan-in K an output covers)",
                field="accumulate_k",
                allowed=allowed,
            )
        if (
            not isinstance(self.accumulate_k, int)
            or isinstance(self.accumulate_k, bool)
            or not self.k <= self.accumulate_k <= MAX_ACCUMULATE_K
            or self.accumulate_k % self.k
        ):
            raise InputError(
                f"{self.accumulate_k!r} is not {allowed}", field="accumulate_k", allowed=allowed
            )

    @functools.cached_property
    def bitweight(self) -> BitWeightPlan | None:
        """The :class:`~shiftadd.design.bitweight.BitWeightPlan` of the options, or None."""
        return bitweight_plan(self)

    # -- value ranges ---------------------------------------------------------------------
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
        """Range of one activation as the ports carry it (xnor: a bit)."""
        return self.arith.act_range

    @property
    def weight_range(self) -> tuple[int, int]:
        """Range of one weight as the ports carry it (xnor, addsub: a bit)."""
        return self.arith.weight_range

    @property
    def product_range(self) -> tuple[int, int]:
        """Range of one lane's true contribution to the dot product."""
        return self.arith.product_range

    @property
    def acc_range(self) -> tuple[int, int]:
        """Range of the dot product (the accumulator output); with :attr:`accumulate`, of
        the match count over up to :attr:`accumulate_k` inputs."""
        lo, hi = self.product_range
        if self.accumulate:
            assert self.accumulate_k is not None  # checked by _validate_accumulate
            return self.accumulate_k * lo, self.accumulate_k * hi
        return self.k * lo, self.k * hi

    @property
    def max_chunks(self) -> int:
        """Chunks of ``k`` inputs one output may take: ``accumulate_k / k`` (1 without
        :attr:`accumulate`)."""
        return self.accumulate_k // self.k if self.accumulate and self.accumulate_k else 1

    @property
    def accumulator_range(self) -> tuple[int, int]:
        """Range of a lane's accumulator register (:attr:`accumulate`): the match count
        before an output's last chunk, ``0 .. accumulate_k - k``. Exact and at most
        ``ceil(log2(accumulate_k + 1))`` bits: the last chunk's count and ``-T`` (the offset
        leaf, on the last chunk only) are added on the way to the compare, never stored."""
        return 0, (self.max_chunks - 1) * self.k

    @property
    def accumulated_range(self) -> tuple[int, int]:
        """Range of the value the compare tests with :attr:`accumulate`: the accumulator
        plus the tree's root (the last chunk's count minus the threshold)."""
        lo, hi = self.tree.root
        return lo + self.accumulator_range[0], hi + self.accumulator_range[1]

    @property
    def acc_width(self) -> int:
        """Bits of the accumulator output (exact for :attr:`acc_range`)."""
        return range_width(*self.acc_range)[0]

    @property
    def acc_signed(self) -> bool:
        """Whether the accumulator output is two's complement (a dot product can be < 0)."""
        return range_width(*self.acc_range)[1]

    @property
    def threshold_width(self) -> int:
        """Width of the signed threshold field: it reaches at least one beyond each end of
        the accumulator range, so a neuron can be forced to always 1 or always 0."""
        lo, hi = self.acc_range
        return signed_width(lo - 1, hi + 1)

    @property
    def threshold_range(self) -> tuple[int, int]:
        """Every threshold the port can carry; the datapath is exact for all of them."""
        return int_range(self.threshold_width, True)

    # -- datapath as built ----------------------------------------------------------------
    @property
    def term_range(self) -> tuple[int, int]:
        """Range of one tree leaf as the hardware forms it.

        ``addsub`` forms ``w ? a : ~a`` (one's complement, no incrementer per lane) and adds
        the count of -1 weights once per neuron, in the offset leaf.
        """
        return self.arith.term_range

    @property
    def has_offset_leaf(self) -> bool:
        """Whether each neuron's tree has one more leaf, loaded with the weights.

        It carries the count of -1 weights (``addsub``) minus the threshold (``threshold``),
        so the compare becomes a sign test and every weight-dependent value enters the
        pipeline at its first stage.
        """
        return self.arith.complements or self.threshold

    @property
    def offset_range(self) -> tuple[int, int]:
        """Range of the offset leaf: the count of -1 weights minus the threshold."""
        lo = hi = 0
        if self.arith.complements:
            hi += self.k
        if self.threshold:
            tlo, thi = self.threshold_range
            lo -= thi
            hi -= tlo
        return lo, hi

    @property
    def leaf_ranges(self) -> tuple[tuple[int, int], ...]:
        """Range of every leaf of a neuron's tree: ``k`` terms, then the offset leaf if any."""
        leaves = (self.term_range,) * self.k
        if self.has_offset_leaf:
            leaves += (self.offset_range,)
        return leaves

    @functools.cached_property
    def tree(self) -> TreePlan:
        """The balanced adder tree of one neuron over :attr:`leaf_ranges` (computed once per
        design object: the cost, cycle and timing models all walk it)."""
        return plan_tree(self.leaf_ranges)

    @property
    def logic_layers(self) -> int:
        """The product layer plus the adder levels (with bit-weight options, see
        :attr:`shiftadd.design.bitweight.BitWeightPlan.logic_layers`)."""
        if self.bitweight is not None:
            return self.bitweight.logic_layers
        return self.tree.depth + 1

    @property
    def register_slots(self) -> tuple[int, ...]:
        """Logic layers after which a datapath register sits: spread evenly, or with
        bit-weight options the first one after the shared encoders
        (:meth:`shiftadd.design.bitweight.BitWeightPlan.register_slots`)."""
        if self.bitweight is not None:
            return self.bitweight.register_slots(self.pipeline_stages)
        return super().register_slots

    @property
    def latency(self) -> int:
        """Cycles from a vector's handshake to its result's valid: input register,
        ``pipeline_stages`` datapath registers, output register. ``digit_sparse``: the
        latency of a vector that takes one cycle (one more for the per-bit-weight flush);
        each further cycle of the vector adds one."""
        if self.digit_sparse:
            return self.pipeline_stages + 3
        return self.pipeline_stages + 2

    @property
    def initiation_interval(self) -> int:
        """Cycles between accepted vectors at full rate."""
        return 1

    @property
    def output_bits_per_neuron(self) -> int:
        """Result bits per neuron: 1 with ``threshold``, else :attr:`acc_width`."""
        return 1 if self.threshold else self.acc_width

    @property
    def ops_per_cycle(self) -> float:
        """Operations per cycle at full rate, counting a multiply-accumulate (or an
        XNOR-accumulate, or an add/sub) as two operations, the usual convention.

        ``digit_sparse`` depends on the data: this is the rate for independent, uniformly
        random activation codes (:func:`shiftadd.design.bitweight.expected_vector_cycles`),
        a float."""
        if self.digit_sparse:
            return 2 * self.k * self.n / expected_vector_cycles(self)
        return 2 * self.k * self.n

    @property
    def weight_storage_bits(self) -> int:
        """Bits of weight state in the array: every weight, plus each neuron's offset leaf
        (none with :attr:`accumulate`: weights and thresholds stream with every chunk)."""
        assert self.weight_bits is not None  # filled in from the mode by __post_init__
        if self.accumulate:
            return 0
        bits = self.n * self.k * self.weight_bits
        if self.has_offset_leaf:
            bits += self.n * range_width(*self.offset_range)[0]
        return bits


# -- random designs (shiftadd validate --random) ------------------------------------------
#: Ranges of :func:`random_design`: inputs per neuron, neurons, operand bits.
RANDOM_K = (3, 48)
RANDOM_N = (1, 6)
RANDOM_BITS = (2, 8)
#: Largest :func:`random_size` of a random design (about 30 um^2 a unit, so most random
#: designs stay under 100k um^2 and all within a few hundred thousand).
RANDOM_SIZE_BUDGET = 4000


def random_size(design: AdderTreeDesign) -> float:
    """The size measure :func:`random_design` bounds by :data:`RANDOM_SIZE_BUDGET`.

    ``k * n * (act_bits + 2) * (weight_bits + 2)`` (``xnor``: 1-bit operands, ``addsub``:
    1-bit weights), times ``1 + pipeline_stages / 3`` for the pipeline registers and, with
    ``digit_sparse``, ``1 + 4 / digit_group`` for the encoders; roughly proportional to the
    area (about 30 um^2 a unit).

    Parameters
    ----------
    design : AdderTreeDesign
        The design to measure.

    Returns
    -------
    float
        Its size in units.
    """
    assert design.act_bits is not None and design.weight_bits is not None
    size = float(design.k * design.n * (design.act_bits + 2) * (design.weight_bits + 2))
    size *= 1 + design.pipeline_stages / 3
    if design.digit_sparse:
        assert design.digit_group is not None  # defaulted by __post_init__
        size *= 1 + 4 / design.digit_group
    return size


#: Most chunks of ``k`` inputs in one output of a random ``accumulate`` design.
RANDOM_MAX_CHUNKS = 40


def random_design(rng: np.random.Generator, name: str) -> AdderTreeDesign:
    """A random valid adder-tree design, small enough to synthesize and simulate in about
    a minute.

    Every mode; signed and unsigned operands of 2 to 8 bits; ``k`` from 3 to 48 and ``n``
    from 1 to 6; the folded threshold; in ``xnor``, 40 % of the time the accumulating
    binary MAC (``accumulate``, ``accumulate_k`` of 1 to :data:`RANDOM_MAX_CHUNKS` chunks of
    ``k``); the bit-weight options of ``mac``
    (``carry_save_accumulate``, ``shared_encoder_same_bitweight``, both, or
    ``digit_sparse`` with any ``digit_group`` from 1 to 8 dividing ``k``);
    ``pipeline_stages`` from 0 to the design's maximum; all within a :func:`random_size` of
    :data:`RANDOM_SIZE_BUDGET`.

    Parameters
    ----------
    rng : numpy.random.Generator
        The only source of randomness (the same state gives the same design).
    name : str
        Verilog module name of the design.

    Returns
    -------
    AdderTreeDesign
        The validated design.

    Raises
    ------
    RuntimeError
        No valid combination in :data:`~shiftadd.design.random.RANDOM_ATTEMPTS` draws.
    """
    return draw_valid(lambda: _draw_adder_tree(rng, name), "adder_tree")


def _draw_adder_tree(rng: np.random.Generator, name: str) -> AdderTreeDesign | None:
    """One candidate of :func:`random_design` (``None``: over the size budget)."""
    lo, hi = RANDOM_BITS
    mode = draw_choice(rng, typing.get_args(Mode))
    params: dict[str, typing.Any] = {"name": name, "mode": mode}
    act_bits = weight_bits = 1
    option = None
    if mode == "mac":
        option = draw_choice(rng, (None, None, "csa", "same", "csa+same", "sparse"))
    if mode != "xnor":
        act_bits = draw_int(rng, lo, hi)
        if option is not None:  # the bit-weight options take even, signed activations
            act_bits += act_bits % 2
        params["act_bits"] = act_bits
        params["act_signed"] = True if option else draw_bool(rng)
    if mode == "mac":
        weight_bits = draw_int(rng, lo, hi)
        params["weight_bits"] = weight_bits
        params["weight_signed"] = True if option else draw_bool(rng)
    lane = (act_bits + 2) * (weight_bits + 2)
    group = 1
    if option == "sparse":
        # lanes per encoder first, then k a multiple of it; fewer lanes cost more encoders
        group = draw_int(rng, 1, 8)
        lane = int(lane * (1 + 4 / group))
        params.update(digit_sparse=True, digit_group=group)
    k_lo = -(-RANDOM_K[0] // group) * group
    k_hi = min(RANDOM_K[1], RANDOM_SIZE_BUDGET // lane) // group * group
    if k_hi < k_lo:
        return None
    k = group * draw_int(rng, k_lo // group, k_hi // group)
    n = draw_int(rng, RANDOM_N[0], min(RANDOM_N[1], RANDOM_SIZE_BUDGET // (lane * k)))
    params.update(k=k, n=n)
    if option is None and mode == "xnor" and draw_bool(rng, 0.4):
        # The binary MAC form: outputs of up to RANDOM_MAX_CHUNKS chunks of k inputs.
        chunks = draw_int(rng, 1, RANDOM_MAX_CHUNKS)
        params.update(threshold=True, accumulate=True, accumulate_k=chunks * k)
    elif option is None:
        params["threshold"] = draw_bool(rng, 0.3)
    elif option != "sparse":
        params["carry_save_accumulate"] = "csa" in option
        params["shared_encoder_same_bitweight"] = "same" in option
    probe = typing.cast(AdderTreeDesign, AdderTreeDesign.from_dict(params))
    size = random_size(probe)
    if size > RANDOM_SIZE_BUDGET:
        return None
    # the most pipeline registers within the budget: size * (1 + stages / 3) <= budget
    fits = int(3 * (RANDOM_SIZE_BUDGET / size - 1))
    params["pipeline_stages"] = draw_int(rng, 0, min(probe.max_pipeline_stages, fits))
    return typing.cast(AdderTreeDesign, AdderTreeDesign.from_dict(params))
