"""Derived structure of the bit-weight options of the multiplier-adder tree (``mac`` mode).

The options (HPCA 2025, REFERENCE.md section 1) rewrite each lane's multiply as a sum over
the radix-4 digits of the activation, ``a * w = sum_j d_j * w * 4**j`` with
``d_j * w`` in ``{0, +-w, +-2w}``, and move work between the lanes and logic shared by all
neurons:

``carry_save_accumulate`` (OPT1)
    radix-4 Booth digits; every lane's partial products go into one carry-save (3:2) tree
    per neuron, with a single carry-propagate adder at its root.
``shared_encoder_same_bitweight`` (OPT2)
    EN-T digits (sign and magnitude, digits {0, +1, +2, -1}); one encoder per lane shared by
    all neurons; each neuron sums the partial products of one bit weight first (narrow
    adders), then shifts the four sums by 0/2/4/6 and adds them once. With
    ``carry_save_accumulate`` as well, the same-bit-weight sums stay in carry-save form.
``digit_sparse`` (OPT3 + OPT4)
    EN-T digits; per group of ``digit_group`` lanes, one encoder lists the nonzero digits of
    the current bit weight and broadcasts one per cycle to the group's PE in every neuron
    (a mux and a carry-save accumulator); the group sums are resolved, shifted and added
    once per bit weight outside the PEs. Cycles depend on the data.

A negative digit selects ``~sel`` and adds one more ``1`` at the digit's weight (two's
complement without an incrementer). Those ones depend only on the activation, so their sum
is formed once for all neurons by the shared encoder logic. In carry-save form every
partial product is a ``B``-bit two's complement number whose sign bit is inverted, which
makes it unsigned at the price of a constant ``-2**(B-1)`` at its weight; the constants of
all partial products add up to one number, folded into the shared correction row.

:func:`bitweight_plan` derives everything the generator, the golden model and the cost model
need from a design; :attr:`shiftadd.design.AdderTreeDesign.bitweight` caches it.
"""

from __future__ import annotations

import dataclasses
from math import comb

import numpy as np

from ..workloads.digits import booth_digit_count, booth_encode, ent_digit_count, ent_encode
from .base import int_range, signed_width
from .carry_save import CsaPlan, full_mask, plan_csa
from .tree import TreePlan, plan_tree, register_slots

__all__ = [
    "ENCODER_LAYER",
    "OPTION_FIELDS",
    "SELECT_LAYER",
    "BitWeightPlan",
    "bitweight_plan",
    "expected_vector_cycles",
]

OPTION_FIELDS = ("carry_save_accumulate", "shared_encoder_same_bitweight", "digit_sparse")

#: Logic layer of the carry-save and same-bit-weight datapaths shared by all neurons: one
#: digit encoder per lane and the shared count of negative digits (or correction row). A
#: register after it holds the digit wires (one, two, neg) and that count.
ENCODER_LAYER = 0
#: Logic layer of each neuron's partial-product selection; a register after it holds every
#: partial-product row (a zero digit selects an all-zero row, which stays constant).
SELECT_LAYER = 1


@dataclasses.dataclass(frozen=True)
class BitWeightPlan:
    """Everything derived from a design's bit-weight options.

    Parameters
    ----------
    options : tuple of str
        The option fields set, in :data:`OPTION_FIELDS` order.
    encoder : {"booth", "ent"}
        Activation digit encoding.
    digits : int
        Radix-4 digits per activation (``D``).
    select_range : tuple of int
        Range of a selected multiple ``sel`` in ``{0, w, 2w}`` as a two's complement number.
    select_width : int
        Bits of ``sel`` and of a partial-product row before shifting (``B``).
    pp_range : tuple of int
        Range of one partial product ``d * w`` with ``d`` in ``{0, +-1, +-2}``.
    width : int
        Result width (the accumulator's); carry-save arithmetic is modulo ``2**width``.
    carry_save, same_bitweight, sparse : bool
        The options.
    k : int
        Lanes per neuron (the design's ``k``).
    csa : CsaPlan or None
        Carry-save tree of one neuron (``carry_save``), leaves in :attr:`leaf_lanes` order.
    leaf_lanes : tuple of (int, int)
        ``(lane, digit)`` of each CSA leaf; ``(-1, -1)`` is the shared correction row.
    correction_constant : int
        Sum of the partial products' sign constants modulo ``2**width``.
    group, groups, pe_width : int
        ``digit_sparse``: lanes per encoder, encoders, carry-save accumulator width.
    flush_csa : CsaPlan or None
        ``digit_sparse``: tree over the groups' (sum, carry) pairs of one neuron.
    negative_digits : tuple of bool
        Per digit position, whether any activation code has a negative digit there.
    """

    options: tuple[str, ...]
    encoder: str
    digits: int
    select_range: tuple[int, int]
    select_width: int
    pp_range: tuple[int, int]
    width: int
    carry_save: bool
    same_bitweight: bool
    sparse: bool
    k: int
    csa: CsaPlan | None = None
    leaf_lanes: tuple[tuple[int, int], ...] = ()
    correction_constant: int = 0
    group: int = 0
    groups: int = 0
    pe_width: int = 0
    flush_csa: CsaPlan | None = None
    negative_digits: tuple[bool, ...] = ()

    @property
    def correction_width(self) -> int:
        """Bits of the shared correction row that are not always 0."""
        top = self.correction_constant + self.negsum_range[1]
        return self.width if top >= (1 << self.width) else max(1, top.bit_length())

    @property
    def negsum_lane_range(self) -> tuple[int, int]:
        """Range of one lane's negative digits weighted by ``4**j`` (a leaf of the shared
        count); digits that can never be negative are left out."""
        return 0, sum(4**j for j in range(self.digits) if self.negative_digits[j])

    @property
    def negsum_range(self) -> tuple[int, int]:
        """Range of the shared count of negative digits, weighted by ``4**j``."""
        return 0, self.k * self.negsum_lane_range[1]

    @property
    def row_range(self) -> tuple[int, int]:
        """Range of one partial-product row as a signed ``select_width``-bit number
        (``sel`` or ``~sel``)."""
        return int_range(self.select_width, True)

    @property
    def bitweight_tree(self) -> TreePlan:
        """``shared_encoder_same_bitweight`` without carry save: the adder tree of one bit
        weight (``k`` rows and the shared count of negative digits)."""
        return plan_tree([self.row_range] * self.k + [(0, self.k)])

    @property
    def combine_ranges(self) -> tuple[tuple[int, int], ...]:
        """Ranges of the same-bit-weight sums shifted by ``4**j``: the combining tree's leaves."""
        lo, hi = self.bitweight_tree.root
        return tuple((lo * 4**j, hi * 4**j) for j in range(self.digits))

    @property
    def combine_tree(self) -> TreePlan:
        """The adder tree adding the shifted same-bit-weight sums once."""
        return plan_tree(self.combine_ranges)

    @property
    def logic_layers(self) -> int:
        """Layers a pipeline register may follow (see :meth:`register_slots`).

        Carry save and same bit weight start with :data:`ENCODER_LAYER`, the logic shared
        by all neurons (the digit encoders and the shared count of negative digits, or the
        correction row), then :data:`SELECT_LAYER`, each neuron's partial-product selection.
        Then carry save: the CSA levels, the carry-propagate adder; plain same bit weight:
        the bit-weight tree's levels, the combining tree's levels. Digit sparse: one, the
        resolved group sum before it is shifted and accumulated.
        """
        if self.sparse:
            return 1
        if self.carry_save:
            assert self.csa is not None  # set by bitweight_plan with carry_save
            return 2 + self.csa.depth + 1
        return 2 + self.bitweight_tree.depth + self.combine_tree.depth

    def register_slots(self, stages: int) -> tuple[int, ...]:
        """The logic layers followed by a pipeline register, for ``stages`` registers.

        Carry save and same bit weight: the first register follows the shared encoders
        (:data:`ENCODER_LAYER`), so the encoders are never in series with a neuron's
        selection and tree once the datapath is pipelined at all (the paper's OPT2 tree
        registers the EN-T codes too); the others are spread evenly over the neuron's
        layers (:func:`~shiftadd.design.tree.register_slots`). Digit sparse: the even spread
        over its one layer.

        Parameters
        ----------
        stages : int
            Pipeline registers, 0 to :attr:`logic_layers`.

        Returns
        -------
        tuple of int
            Sorted layer indices.

        Raises
        ------
        ValueError
            ``stages`` out of range.
        """
        layers = self.logic_layers
        if self.sparse or stages == 0:
            return register_slots(stages, layers)
        if not 0 <= stages <= layers:
            raise ValueError(f"stages={stages} not in [0, {layers}]")
        rest = register_slots(stages - 1, layers - 1)
        return (ENCODER_LAYER, *(ENCODER_LAYER + 1 + s for s in rest))


def bitweight_plan(design) -> BitWeightPlan | None:
    """The :class:`BitWeightPlan` of an adder-tree design, or None without options.

    Parameters
    ----------
    design : AdderTreeDesign
        The design (its mode, operand and option fields are read).

    Returns
    -------
    BitWeightPlan or None
        The derived structure, or None when no bit-weight option is set.
    """
    opts = tuple(f for f in OPTION_FIELDS if getattr(design, f))
    if not opts:
        return None
    carry_save = design.carry_save_accumulate
    same = design.shared_encoder_same_bitweight
    sparse = design.digit_sparse
    encoder = "booth" if carry_save and not same else "ent"
    a_bits, a_signed = design.act_bits, design.act_signed
    # EN-T: the magnitude has bits - 1 bits plus one (-2**(b-1)) when signed, and a carry may
    # leave the top 2-bit chunk of an unsigned operand: as many digits as Booth.
    digits = (booth_digit_count if encoder == "booth" else ent_digit_count)(a_bits, a_signed)
    wlo, whi = design.weight_range
    select_range = (min(0, 2 * wlo), max(0, 2 * whi))
    select_width = signed_width(*select_range)
    corners = [d * w for d in (-2, 2) for w in (wlo, whi)]
    pp_range = (min(corners), max(corners))
    width = design.acc_width
    k = design.k
    common = dict(
        options=opts,
        encoder=encoder,
        digits=digits,
        select_range=select_range,
        select_width=select_width,
        pp_range=pp_range,
        width=width,
        carry_save=carry_save,
        same_bitweight=same,
        sparse=sparse,
        k=k,
        negative_digits=_negative_digits(encoder, a_bits, a_signed, digits),
    )
    if sparse:
        group = design.digit_group
        groups = k // group
        # Wide enough for one bit weight's sum over all k lanes: the groups' carry-save
        # pairs are then added modulo 2**pe_width and the result is exact.
        pe_width = signed_width(k * pp_range[0], k * pp_range[1])
        flush = plan_csa([full_mask(pe_width)] * (2 * groups), pe_width)
        return BitWeightPlan(
            **common, group=group, groups=groups, pe_width=pe_width, flush_csa=flush
        )
    if not carry_save:
        return BitWeightPlan(**common)
    row = full_mask(select_width)
    if same:
        lanes = [(i, j) for j in range(digits) for i in range(k)]
        partition = [list(range(j * k, (j + 1) * k)) for j in range(digits)]
    else:
        lanes = [(i, j) for i in range(k) for j in range(digits)]
        partition = None
    constant = -k * sum(1 << (select_width - 1 + 2 * j) for j in range(digits)) % (1 << width)
    partial = BitWeightPlan(**common, correction_constant=constant)
    masks = [row << (2 * j) for _, j in lanes] + [full_mask(partial.correction_width)]
    lanes.append((-1, -1))
    csa = plan_csa(masks, width, partition)
    return dataclasses.replace(partial, csa=csa, leaf_lanes=tuple(lanes))


def _negative_digits(encoder: str, bits: int, signed: bool, digits: int) -> tuple[bool, ...]:
    """Per digit position, whether any code of the operand range has a negative digit
    there (e.g. the top Booth digit of an unsigned code never is)."""
    lo, hi = int_range(bits, signed)
    codes = np.arange(lo, hi + 1)
    if encoder == "booth":
        d = booth_encode(codes, bits, signed)
    else:
        negative, mag = ent_encode(codes, bits, signed)
        d = np.where(negative[:, None], -mag.astype(np.int64), mag)
    assert d.shape[1] == digits
    return tuple(bool(x) for x in np.asarray((d < 0).any(axis=0)))


def expected_vector_cycles(design, histogram=None) -> float:
    """Expected cycles per vector of a ``digit_sparse`` design when every lane draws its code
    independently from ``histogram`` (counts per code from the range's low end, as
    :func:`shiftadd.workloads.digits.code_histogram` returns; default uniform).

    Exact for independent lanes: per bit weight, a group's nonzero digits are binomial, the
    step count is their maximum over the groups, and ``E[max(1, S)] = E[S] + P(S = 0)``.

    Parameters
    ----------
    design : AdderTreeDesign
        A design with ``digit_sparse = true``.
    histogram : array_like of float, optional
        Relative frequency of each activation code, from the low end of the range.

    Returns
    -------
    float
        Expected cycles per input vector.

    Raises
    ------
    ValueError
        The design is not ``digit_sparse``.
    """
    plan = design.bitweight
    if plan is None or not plan.sparse:
        raise ValueError(f"design {design.name!r} is not digit_sparse")
    lo, hi = design.act_range
    codes = np.arange(lo, hi + 1)
    p_code = np.ones(codes.size) if histogram is None else np.asarray(histogram, float)
    p_code = p_code / p_code.sum()
    _, digits = ent_encode(codes, design.act_bits, design.act_signed)
    p_nz = p_code @ (digits != 0)  # per bit weight
    g, groups = plan.group, plan.groups
    t = np.arange(g + 1)
    expected = 0.0
    for p in p_nz:
        pmf = np.array([comb(g, i) * p**i * (1 - p) ** (g - i) for i in t])
        cdf = np.cumsum(pmf)
        expected += float(np.sum(1.0 - cdf[:-1] ** groups))
    p_zero = float(p_code[codes == 0].sum()) if (codes == 0).any() else 0.0
    return expected + p_zero**design.k
