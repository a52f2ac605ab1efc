"""PE arithmetic: one description per mode, read by ``design/``, ``hw/``, ``models/`` and
``sim/`` (in the spirit of Gemmini's ``Arithmetic`` typeclass).

A mode says what one activation and one weight contribute to a dot product:

``xnor``
    binary activations and weights, bit 1 = +1 and bit 0 = -1 (XNOR-Net); the lane counts a
    match, ``XNOR(a, w)``, and the dot product is ``2 * matches - K``.
``addsub``
    binary weights, bit 1 = +1 and bit 0 = -1 (BinaryConnect); integer activations; the lane
    adds ``a`` or subtracts it.
``ternary``
    weights in {-1, 0, +1} as a 2-bit two's complement code (``0b01`` = +1, ``0b00`` = 0,
    ``0b11`` = -1; bit 0 "non-zero", bit 1 "negative"; ``0b10`` is not a weight).
``mac``
    integer activations and weights of any widths, signed or not.

A description (:class:`Arithmetic`) is a frozen value built from a design's width and
signedness fields (:func:`arithmetic`); it knows the operand codes and the values they stand
for, the range of a product, the range of the term the hardware forms per lane (``-a`` as
``~a`` plus a one added elsewhere: no incrementer per lane), the exact NumPy dot product the
golden models use, the padding that contributes nothing to a partial tile, and which gates
of the cost model's unit table a lane is made of. The Amaranth side of each mode lives in
:mod:`shiftadd.hw.arith`, one class per description class. (The shift-add engine's
arithmetic, lookups of binary-coded weights and shifts, is its own family's description:
:mod:`shiftadd.design.shiftadd`.)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import ClassVar

import numpy as np

from ..errors import InputError
from ..workloads.formats import NumberFormat
from .base import int_range

__all__ = [
    "Arithmetic",
    "Xnor",
    "AddSub",
    "Ternary",
    "Mac",
    "MODES",
    "arithmetic",
    "resolve_mode_fields",
    "exact_matmul",
    "xnor_matches",
]


def exact_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b.T`` for integer matrices, exactly, through floating-point BLAS.

    BLAS is far faster than NumPy's integer matmul, and exact while every partial sum is an
    integer the float type represents: float32 below 2**24, float64 below 2**53.

    Parameters
    ----------
    a : ndarray, shape (M, K)
        Integer matrix.
    b : ndarray, shape (N, K)
        Integer matrix.

    Returns
    -------
    ndarray, shape (M, N), int64
        The exact product ``a @ b.T``.
    """

    def magnitude(m):
        return max(-int(m.min()), int(m.max())) if m.size else 0

    bound = float(magnitude(a)) * float(magnitude(b)) * a.shape[1]
    if bound >= 2.0**53:
        return a.astype(np.int64) @ b.astype(np.int64).T
    dtype = np.float32 if bound < 2.0**24 else np.float64
    return np.rint(a.astype(dtype) @ b.astype(dtype).T).astype(np.int64)


def _pack_bits(bits: np.ndarray) -> np.ndarray:
    """Rows of 0/1 values as uint64 words (zero padded)."""
    packed = np.packbits(bits.astype(bool), axis=1, bitorder="little")
    pad = (-packed.shape[1]) % 8
    if pad:
        packed = np.concatenate([packed, np.zeros((packed.shape[0], pad), np.uint8)], axis=1)
    return np.ascontiguousarray(packed).view(np.uint64)


def xnor_matches(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``matches[v, n]``: positions where bit rows ``x[v]`` and ``w[n]`` agree.

    Parameters
    ----------
    x : ndarray, shape (V, K)
        Activation bits (0/1).
    w : ndarray, shape (N, K)
        Weight bits (0/1).

    Returns
    -------
    ndarray, shape (V, N), int64
        Number of matching bit positions of each pair of rows.
    """
    # Popcount of XOR over 64-bit words: padding bits are 0 on both sides, never mismatch.
    xp, wp = _pack_bits(x), _pack_bits(w)
    out = np.empty((x.shape[0], w.shape[0]), np.int64)
    step = max(1, (1 << 22) // max(1, w.shape[0] * xp.shape[1]))  # bound temporaries
    for i in range(0, x.shape[0], step):
        diff = np.bitwise_count(xp[i : i + step, None, :] ^ wp[None, :, :])
        out[i : i + step] = x.shape[1] - diff.sum(axis=-1, dtype=np.int64)
    return out


@dataclasses.dataclass(frozen=True)
class Arithmetic:
    """What one (activation, weight) pair of a mode contributes.

    Parameters
    ----------
    act_bits, act_signed : int, bool
        The activation code on the ports.
    weight_bits, weight_signed : int, bool
        The weight code on the ports.
    """

    mode: ClassVar[str] = ""
    #: Design-field defaults of the mode, and the fields the mode fixes to them.
    defaults: ClassVar[Mapping[str, object]] = {}
    fixed: ClassVar[tuple[str, ...]] = ()
    #: Gates of one lane besides any multiplier (unit-table unit, part name), for the cost
    #: models; a mode with a multiplier has ``multiplier = True``.
    lane_gates: ClassVar[tuple[tuple[str, str], ...]] = ()
    multiplier: ClassVar[bool] = False
    #: Whether a negative weight is formed as ``~a`` (ones' complement) with the +1 added
    #: elsewhere (a per-neuron count, a carry-in, or a carry's free bit).
    complements: ClassVar[bool] = False

    act_bits: int
    act_signed: bool
    weight_bits: int
    weight_signed: bool

    # -- codes and values -------------------------------------------------------------------
    @property
    def act_range(self) -> tuple[int, int]:
        """Range of one activation code (the value it stands for, except ``xnor``)."""
        return int_range(self.act_bits, self.act_signed)

    @property
    def weight_range(self) -> tuple[int, int]:
        """Range of the weight codes the golden models accept."""
        return int_range(self.weight_bits, self.weight_signed)

    @property
    def weight_value_range(self) -> tuple[int, int]:
        """Range of the numbers the weight codes stand for."""
        return self.weight_range

    def weight_values(self, codes) -> np.ndarray:
        """The numbers weight codes stand for (int64).

        Parameters
        ----------
        codes : array_like of int
            Weight codes as the ports carry them.

        Returns
        -------
        ndarray of int64
            The values, same shape as ``codes``.
        """
        return np.asarray(codes, dtype=np.int64)

    # -- number formats -----------------------------------------------------------------
    @property
    def weight_format(self) -> str:
        """The registered weight format (:mod:`shiftadd.workloads.quant`) whose values the
        weight codes carry, a per-row scale applied after the array: ``int<k>`` for signed
        k-bit codes, ``int<k>_asym`` for unsigned ones (zero point corrected outside), and
        ``sign`` (two levels) for a 1-bit code."""
        if self.weight_bits == 1:
            return "sign"
        return f"int{self.weight_bits}" + ("" if self.weight_signed else "_asym")

    @property
    def act_format(self) -> str:
        """The activation format (:data:`shiftadd.workloads.quality.ACT_FORMAT_PATTERN`):
        ``int<k>`` per-token symmetric for signed codes, ``uint<k>`` with a zero point for
        unsigned ones, ``sign`` for a 1-bit code."""
        if self.act_bits == 1:
            return "sign"
        return ("int" if self.act_signed else "uint") + str(self.act_bits)

    @property
    def number_format(self) -> NumberFormat:
        """The number formats the mode computes with, for the model-quality figures."""
        return NumberFormat(weight=self.weight_format, act=self.act_format)

    @property
    def product_range(self) -> tuple[int, int]:
        """Range of one lane's true contribution to the dot product."""
        alo, ahi = self.act_range
        wlo, whi = self.weight_value_range
        corners = [alo * wlo, alo * whi, ahi * wlo, ahi * whi]
        return min(corners), max(corners)

    @property
    def complement_range(self) -> tuple[int, int]:
        """Range of ``w ? a : ~a``: ``~a = -a - 1`` of a signed activation stays in its range;
        of an unsigned one it needs one more bit, as a signed value."""
        if self.act_signed:
            return self.act_range
        return -(1 << self.act_bits), (1 << self.act_bits) - 1

    @property
    def term_range(self) -> tuple[int, int]:
        """Range of the term a lane forms in hardware (an adder-tree leaf)."""
        return self.complement_range if self.complements else self.product_range

    # -- golden ---------------------------------------------------------------------------
    def dot(self, x: np.ndarray, w: np.ndarray) -> np.ndarray:
        """``acc[v, n]`` of activation codes ``x[v, k]`` against weight codes ``w[n, k]``,
        exactly (operands already validated).

        Parameters
        ----------
        x : ndarray, shape (V, K)
            Activation codes.
        w : ndarray, shape (N, K)
            Weight codes.

        Returns
        -------
        ndarray, shape (V, N), int64
            The dot products.
        """
        return exact_matmul(x, self.weight_values(w))

    @property
    def pad(self) -> tuple[int, int]:
        """Activation and weight codes that contribute nothing, to pad a partial tile."""
        return 0, 0

    def random_weight_values(self, rng: np.random.Generator, shape) -> np.ndarray:
        """Uniformly random weight values (what the switching simulations feed).

        Parameters
        ----------
        rng : numpy.random.Generator
            Source of randomness.
        shape : int or tuple of int
            Shape of the result.

        Returns
        -------
        ndarray of int64
            Values drawn uniformly from :attr:`weight_value_range`.
        """
        lo, hi = self.weight_value_range
        return rng.integers(lo, hi + 1, size=shape, dtype=np.int64)

    def complement_term(self, a: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(term, one)`` with ``term + one == a * value(w)`` as a complementing mode's
        hardware forms them (``~a`` and a one for a negative weight); NumPy twin of
        :meth:`shiftadd.hw.arith.PEArithmetic.addend`.

        Parameters
        ----------
        a : ndarray of int
            Activation values.
        w : ndarray of int
            Weight values, broadcastable against ``a``.

        Returns
        -------
        term : ndarray of int
            The lane's term: ``a``, ``~a`` or 0.
        one : ndarray of bool
            Whether the lane adds a one elsewhere (negative weight).

        Raises
        ------
        NotImplementedError
            The mode does not negate by complement.
        """
        raise NotImplementedError(f"mode {self.mode!r} does not negate by complement")


@dataclasses.dataclass(frozen=True)
class Xnor(Arithmetic):
    """Binary activations and weights (bit 1 = +1): the lane is ``XNOR(a, w)``, 1 on a
    match; ``dot`` counts matches.

    Parameters
    ----------
    act_bits, act_signed : int, bool
        The activation code on the ports (1 bit, unsigned).
    weight_bits, weight_signed : int, bool
        The weight code on the ports (1 bit, unsigned).
    """

    mode: ClassVar[str] = "xnor"
    defaults: ClassVar[Mapping[str, object]] = {
        "act_bits": 1,
        "weight_bits": 1,
        "act_signed": False,
        "weight_signed": False,
    }
    fixed: ClassVar[tuple[str, ...]] = ("act_bits", "weight_bits", "act_signed", "weight_signed")
    lane_gates: ClassVar[tuple[tuple[str, str], ...]] = (("xnor2", "XNORs"),)

    @property
    def product_range(self) -> tuple[int, int]:
        """Range of one lane's output: a match is 1, a mismatch 0."""
        return 0, 1

    def dot(self, x: np.ndarray, w: np.ndarray) -> np.ndarray:
        """Matches ``acc[v, n]`` of activation bits ``x[v, k]`` against weight bits ``w[n, k]``.

        Parameters
        ----------
        x : ndarray, shape (V, K)
            Activation bits.
        w : ndarray, shape (N, K)
            Weight bits.

        Returns
        -------
        ndarray, shape (V, N), int64
            Matching positions; the +-1 dot product is ``2 * matches - K``.
        """
        return xnor_matches(x, w)

    @property
    def pad(self) -> tuple[int, int]:
        """Activation bit 0 and weight bit 1: never a match."""
        # act bit 0 (-1) against weight bit 1 (+1) never matches
        return 0, 1


@dataclasses.dataclass(frozen=True)
class AddSub(Arithmetic):
    """Binary weights (bit 1 = +1, bit 0 = -1) and integer activations.

    Parameters
    ----------
    act_bits, act_signed : int, bool
        The activation code on the ports.
    weight_bits, weight_signed : int, bool
        The weight code on the ports (1 bit, unsigned).
    """

    mode: ClassVar[str] = "addsub"
    defaults: ClassVar[Mapping[str, object]] = {
        "act_bits": 8,
        "act_signed": True,
        "weight_bits": 1,
        "weight_signed": False,
    }
    fixed: ClassVar[tuple[str, ...]] = ("weight_bits", "weight_signed")
    lane_gates: ClassVar[tuple[tuple[str, str], ...]] = (("xor2", "conditional inverters"),)
    complements: ClassVar[bool] = True

    @property
    def weight_value_range(self) -> tuple[int, int]:
        """Weights stand for -1 and +1."""
        return -1, 1

    def weight_values(self, codes) -> np.ndarray:
        """The numbers weight bits stand for: bit 1 is +1, bit 0 is -1.

        Parameters
        ----------
        codes : array_like of int
            Weight bits.

        Returns
        -------
        ndarray of int64
            -1 or +1, same shape as ``codes``.
        """
        return 2 * np.asarray(codes, dtype=np.int64) - 1

    @property
    def product_range(self) -> tuple[int, int]:
        """Range of ``+-a``."""
        alo, ahi = self.act_range  # no zero weight: +-a only
        return min(alo, -ahi), max(ahi, -alo)

    @property
    def pad(self) -> tuple[int, int]:
        """Activation 0 and weight bit 1 (+1): adds nothing, counts no -1 weight."""
        # act 0 with weight +1: no -1 weight to count either
        return 0, 1

    def random_weight_values(self, rng: np.random.Generator, shape) -> np.ndarray:
        """Uniformly random weight values, -1 or +1.

        Parameters
        ----------
        rng : numpy.random.Generator
            Source of randomness.
        shape : int or tuple of int
            Shape of the result.

        Returns
        -------
        ndarray of int64
            -1 or +1 with equal probability.
        """
        return 2 * rng.integers(0, 2, size=shape, dtype=np.int64) - 1

    def complement_term(self, a: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(term, one)``: ``a`` for weight +1, ``~a`` and a one for weight -1.

        Parameters
        ----------
        a : ndarray of int
            Activation values.
        w : ndarray of int
            Weight values (-1 or +1), broadcastable against ``a``.

        Returns
        -------
        term : ndarray of int
            ``a`` or ``~a``.
        one : ndarray of bool
            Whether the weight is -1.
        """
        return np.where(w == 1, a, ~a), (w == 0)


@dataclasses.dataclass(frozen=True)
class Ternary(Arithmetic):
    """Weights in {-1, 0, +1} as 2-bit two's complement codes; bit 0 enables the term,
    bit 1 selects ``~a`` and the +1.

    Parameters
    ----------
    act_bits, act_signed : int, bool
        The activation code on the ports.
    weight_bits, weight_signed : int, bool
        The weight code on the ports (2 bits, signed).
    """

    mode: ClassVar[str] = "ternary"
    defaults: ClassVar[Mapping[str, object]] = {
        "act_bits": 8,
        "act_signed": True,
        "weight_bits": 2,
        "weight_signed": True,
    }
    fixed: ClassVar[tuple[str, ...]] = ("weight_bits", "weight_signed")
    lane_gates: ClassVar[tuple[tuple[str, str], ...]] = (
        ("xor2", "conditional inverters"),
        ("and2", "zero-weight gates"),
    )
    complements: ClassVar[bool] = True

    @property
    def weight_format(self) -> str:
        """Ternary weights times a per-row scale (TWN)."""
        return "ternary"

    @property
    def weight_range(self) -> tuple[int, int]:
        """Weight codes the golden models accept: -1, 0, +1 (not -2, ``0b10``)."""
        return -1, 1

    @property
    def product_range(self) -> tuple[int, int]:
        """Range of ``-a``, 0 or ``a``."""
        alo, ahi = self.act_range
        return min(alo, -ahi, 0), max(ahi, -alo, 0)

    def complement_term(self, a: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(term, one)``: ``a`` for +1, 0 for 0, ``~a`` and a one for -1.

        Parameters
        ----------
        a : ndarray of int
            Activation values.
        w : ndarray of int
            Weight values (-1, 0, +1), broadcastable against ``a``.

        Returns
        -------
        term : ndarray of int
            ``a``, 0 or ``~a``.
        one : ndarray of bool
            Whether the weight is -1.
        """
        return np.where(w == 0, 0, np.where(w < 0, ~a, a)), (w < 0)


@dataclasses.dataclass(frozen=True)
class Mac(Arithmetic):
    """Integer activations and weights: the lane multiplies.

    Parameters
    ----------
    act_bits, act_signed : int, bool
        The activation code on the ports.
    weight_bits, weight_signed : int, bool
        The weight code on the ports.
    """

    mode: ClassVar[str] = "mac"
    defaults: ClassVar[Mapping[str, object]] = {
        "act_bits": 8,
        "act_signed": True,
        "weight_bits": 8,
        "weight_signed": True,
    }
    multiplier: ClassVar[bool] = True


#: Every mode, by name.
MODES: dict[str, type[Arithmetic]] = {cls.mode: cls for cls in (Xnor, AddSub, Ternary, Mac)}


def resolve_mode_fields(
    mode: str, fields: Mapping[str, object], defaults: Mapping[str, object] | None = None
) -> dict[str, object]:
    """The width and signedness fields of a design in ``mode``: given values (``None`` for
    unset), unset ones from ``defaults`` (default: the mode's own), and an error for a value
    the mode fixes otherwise.

    Parameters
    ----------
    mode : str
        A key of :data:`MODES`.
    fields : mapping
        The design's values of the width and signedness fields (None for unset).
    defaults : mapping, optional
        Values of unset fields; default: the mode's own ``defaults``.

    Returns
    -------
    dict
        ``fields`` with every unset field of ``defaults`` filled in.

    Raises
    ------
    InputError
        A fixed field set to another value (naming the field and the value allowed).
    """
    cls = MODES[mode]
    defaults = cls.defaults if defaults is None else defaults
    out = dict(fields)
    for key, default in defaults.items():
        value = out.get(key)
        if value is None:
            out[key] = default
        elif key in cls.fixed and value != default:
            raise InputError(
                f"mode '{mode}' fixes it to {default!r}, got {value!r}",
                field=key,
                allowed=[default],
            )
    return out


def arithmetic(
    mode: str, *, act_bits: int, act_signed: bool, weight_bits: int, weight_signed: bool
) -> Arithmetic:
    """The description of ``mode`` for these operand codes.

    Parameters
    ----------
    mode : str
        A key of :data:`MODES`.
    act_bits, act_signed : int, bool
        Activation width in bits and signedness.
    weight_bits, weight_signed : int, bool
        Weight width in bits and signedness.

    Returns
    -------
    Arithmetic
        An instance of the mode's class.
    """
    return MODES[mode](
        act_bits=act_bits,
        act_signed=act_signed,
        weight_bits=weight_bits,
        weight_signed=weight_signed,
    )
