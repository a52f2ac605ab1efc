"""Data-driven activity: the switching a design's nets see on real weights and activations.

A family's cost module (the module its ``bill_of_materials`` reference names) provides
``data_activity(design, w_codes, x_codes, *, tiles)``: it lays integer operand codes out in
the order its engine streams them (which operand sits still, which streams, how tiles
follow each other) and returns a
:class:`~shiftadd.workloads.activity_stats.DataActivity` whose ``term``, ``sum`` and
``digit`` figures compare the data with uniformly random codes laid out the same way. The
cost model then prices each item at the activity of the nets that drive it
(``Item.driver``; :func:`shiftadd.models.cost.cost_terms` with ``activity=``).

:func:`measure` is the entry point: float tensors (a real layer, or synthetic ones of
stated statistics) are rounded to the design's number format (:attr:`Design.number_format`,
the quantizers of the quality figures), then handed to the family. The helpers below are
shared by the families: the random reference codes, the lanes' terms, the reduction-tree
switching.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib

import numpy as np

from ..design.base import range_width
from ..errors import InputError
from ..families import family_of
from ..workloads.activity_stats import (
    DataActivity,
    GemmOperands,
    act_codes,
    bus_toggle_rate,
    digit_codes,
    equivalent_activity,
    gemm_operands,
    weight_codes,
    workload_operands,
)

__all__ = [
    "measure",
    "workload_activity",
    "has_data_model",
    "gemm_activity",
    "workload_gemm_operands",
    "design_codes",
    "random_codes",
    "lane_terms",
    "value_toggles",
    "tree_toggles",
    "digit_toggles",
    "act_values",
    "weight_values",
    "ratio",
    "from_switching",
    "term_width",
    "MAX_TILES",
    "MAX_VECTORS",
]

#: Tiles of a layer laid out at most (in streaming order): bounds the work on large layers.
MAX_TILES = 8
#: Activation vectors streamed per tile at most.
MAX_VECTORS = 256


def _data_activity_fn(design):
    # The data-activity model lives beside the family's bill of materials (same module).
    ref = family_of(design).bill_of_materials
    if ref is None:
        return None
    return getattr(importlib.import_module(ref.partition(":")[0]), "data_activity", None)


def _family_codes_fn(design):
    # A family whose weights are not one code each (bit planes plus scale fields) turns
    # floats into its ports' codes itself: ``design_codes`` beside its ``data_activity``.
    if _data_activity_fn(design) is None:
        return None
    ref = family_of(design).bill_of_materials
    assert ref is not None  # a data-activity model sits beside a bill of materials
    return getattr(importlib.import_module(ref.partition(":")[0]), "design_codes", None)


def _data_cycles_fn(design):
    # Cycles that follow the data (digit-sparse trees) live beside the family's cycle model.
    ref = family_of(design).gemm_cycles
    if ref is None:
        return None
    return getattr(importlib.import_module(ref.partition(":")[0]), "data_vector_cycles", None)


def has_data_model(design) -> bool:
    """Whether ``design``'s family measures its switching on data (its cost module defines
    ``data_activity``); the others are priced at a single activity number.

    Parameters
    ----------
    design : Design
        A design of any family.

    Returns
    -------
    bool
        True for a family with a data-activity model.
    """
    return _data_activity_fn(design) is not None


def _family_data_activity(design):
    fn = _data_activity_fn(design)
    if fn is None:
        raise InputError(
            f"the {design.arch} family has no data-driven activity model (its cost module "
            "defines no data_activity)",
            field="activity",
            allowed="a number in [0, 1]",
        )
    return fn


def design_codes(design, weights, acts) -> tuple[np.ndarray, np.ndarray]:
    """Float weights ``(N, K)`` and activations ``(M, K)`` as the codes ``design``'s ports
    carry, in its number format.

    Parameters
    ----------
    design : Design
        A design with a one-code-per-weight number format.
    weights : array_like
        Float weights ``(N, K)``.
    acts : array_like
        Float activations ``(M, K)``.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        int64 weight codes ``(N, K)`` and activation codes ``(M, K)``, in the ranges the
        design's arithmetic accepts (a family whose cost module defines ``design_codes``,
        such as the shift-add engine's packed BCQ codes, gives its own).
    """
    own = _family_codes_fn(design)
    if own is not None:
        return own(design, weights, acts)
    w = np.asarray(weights, dtype=np.float32)
    x = np.asarray(acts, dtype=np.float32)
    if w.ndim != 2 or x.ndim != 2 or w.shape[1] != x.shape[1]:
        raise InputError(
            f"weights {w.shape} and activations {x.shape} are not (N, K) and (M, K)",
            field="data",
        )
    fmt = design.number_format
    wc, xc = weight_codes(w, fmt), act_codes(x, fmt.act)
    arith = design.arith
    for name, c, (lo, hi) in (
        ("weight", wc, arith.weight_range),
        ("activation", xc, arith.act_range),
    ):
        if c.size and (c.min() < lo or c.max() > hi):
            raise InputError(
                f"{name} codes of format {fmt.label} fall outside [{lo}, {hi}]",
                field="number_format",
            )
    return wc, xc


def random_codes(design, w_shape, x_shape, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Uniformly random weight and activation codes (the calibration's kind of data).

    Parameters
    ----------
    design : Design
        The design (its arithmetic's code ranges).
    w_shape, x_shape : tuple of int
        Shapes of the weight and activation codes.
    seed : int
        Seed.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        int64 weight and activation codes.
    """
    rng = np.random.default_rng([seed, 0x5EED])
    arith = design.arith
    wlo, whi = arith.weight_range
    alo, ahi = arith.act_range
    return (
        rng.integers(wlo, whi + 1, size=w_shape, dtype=np.int64),
        rng.integers(alo, ahi + 1, size=x_shape, dtype=np.int64),
    )


def act_values(arith, codes: np.ndarray) -> np.ndarray:
    """What activation codes stand for: a 1-bit unsigned code is -1/+1 (XNOR), others as is.

    Parameters
    ----------
    arith : Arithmetic
        The PE arithmetic.
    codes : numpy.ndarray
        Activation codes.

    Returns
    -------
    numpy.ndarray
        int64 values.
    """
    c = np.asarray(codes, dtype=np.int64)
    if arith.act_bits == 1 and not arith.act_signed:
        return 2 * c - 1
    return c


def weight_values(arith, codes: np.ndarray) -> np.ndarray:
    """What weight codes stand for: a 1-bit unsigned code is -1/+1 (XNOR, add/sub), others
    as the arithmetic says (ternary codes -1/0/+1, integers as is).

    Parameters
    ----------
    arith : Arithmetic
        The PE arithmetic.
    codes : numpy.ndarray
        Weight codes.

    Returns
    -------
    numpy.ndarray
        int64 values.
    """
    c = np.asarray(codes, dtype=np.int64)
    if arith.weight_bits == 1 and not arith.weight_signed:
        return 2 * c - 1
    return np.asarray(arith.weight_values(c), dtype=np.int64)


def lane_terms(arith, x, w) -> np.ndarray:
    """The term each lane forms from activation codes ``x`` and weight codes ``w``
    (broadcast): the product (multiplier lanes), ``a`` / ``~a`` / 0 (complementing lanes),
    or the match bit (XNOR lanes).

    Parameters
    ----------
    arith : Arithmetic
        The PE arithmetic.
    x, w : numpy.ndarray
        Activation and weight codes, broadcastable.

    Returns
    -------
    numpy.ndarray
        int64 terms.
    """
    x = np.asarray(x, dtype=np.int64)
    wv = arith.weight_values(w)
    if arith.multiplier:
        return x * wv
    if arith.complements:
        return np.asarray(arith.complement_term(x, wv)[0], dtype=np.int64)
    return (x == np.asarray(w, dtype=np.int64)).astype(np.int64)


def value_toggles(values, bits: int, *, axis: int = 0) -> tuple[float, float]:
    """``(flips, bit-cycles)`` of ``bits``-wide two's complement registers holding
    ``values`` on successive cycles along ``axis``.

    Parameters
    ----------
    values : array_like of int
        Register contents per cycle.
    bits : int
        Register width.
    axis : int
        The cycle axis.

    Returns
    -------
    (float, float)
        Bit flips, and bits x (cycles - 1) x registers.
    """
    v = np.moveaxis(np.asarray(values), axis, 0)
    n = max(0, v.shape[0] - 1) * (v[0].size if v.shape[0] else 0) * bits
    return bus_toggle_rate(v, bits) * n, float(n)


def tree_toggles(terms, width: int) -> tuple[float, float]:
    """``(flips, bit-cycles)`` of a balanced adder tree over the last axis of ``terms``
    (cycles first): every level's sums, each one bit wider than the level below.

    Parameters
    ----------
    terms : numpy.ndarray
        ``(cycles, ..., leaves)`` leaf values.
    width : int
        Leaf width in bits.

    Returns
    -------
    (float, float)
        Bit flips and bit-cycles over all levels above the leaves.
    """
    level = np.asarray(terms, dtype=np.int64)
    flips = total = 0.0
    bits = width
    while level.shape[-1] > 1:
        if level.shape[-1] % 2:
            pad = np.zeros(level.shape[:-1] + (1,), np.int64)
            level = np.concatenate([level, pad], axis=-1)
        level = level[..., 0::2] + level[..., 1::2]
        bits += 1
        f, n = value_toggles(level, bits)
        flips, total = flips + f, total + n
    return flips, total


def digit_toggles(codes, bits: int, signed: bool, encoding: str) -> tuple[float, float]:
    """``(toggle rate, nonzero density)`` of the radix-4 digits of a stream of codes
    (cycles first), each digit carried as a 3-bit two's complement select.

    Parameters
    ----------
    codes : numpy.ndarray
        ``(cycles, lanes)`` operand codes.
    bits : int
        Operand width.
    signed : bool
        Two's complement or unsigned codes.
    encoding : {"booth", "ent"}
        The digit set.

    Returns
    -------
    (float, float)
        Fraction of select bits flipping per cycle, and nonzero digits per digit.
    """
    d = digit_codes(codes, bits, signed, encoding)
    density = float(np.count_nonzero(d)) / d.size if d.size else 0.0
    return bus_toggle_rate(d.reshape(d.shape[0], -1), 3), density


def ratio(flips_bits_data, flips_bits_random) -> float:
    """The equivalent activity of a net from ``(flips, bit-cycles)`` on the data and on
    random codes (:func:`~shiftadd.workloads.activity_stats.equivalent_activity`).

    Parameters
    ----------
    flips_bits_data, flips_bits_random : (float, float)
        Flips and bit-cycles.

    Returns
    -------
    float
        The equivalent activity.
    """
    fd, nd = flips_bits_data
    fr, nr = flips_bits_random
    return equivalent_activity(fd / nd if nd else 0.0, fr / nr if nr else 0.0)


def from_switching(design, switching, w_codes, x_codes, tiles: int) -> DataActivity:
    """A family's :class:`DataActivity`: its switching on the codes, each net's rate as an
    equivalent activity against the same layout of uniformly random codes.

    Parameters
    ----------
    design : Design
        The design.
    switching : callable
        ``switching(design, w_codes, x_codes, tiles)`` -> the family's switching counts
        (``act``, ``weight``, ``act_zero``, ``weight_zero``, ``term``, ``sum``, ``digit``,
        ``density``) of the codes laid out as the engine streams them.
    w_codes, x_codes : numpy.ndarray
        Weight and activation codes in the design's ranges.
    tiles : int
        Tiles laid out at most.

    Returns
    -------
    DataActivity
        The measured switching.
    """
    data = switching(design, w_codes, x_codes, tiles)
    rw, rx = random_codes(design, w_codes.shape, x_codes.shape)
    rand = switching(design, rw, rx, tiles)
    digit = data["act"]
    if data["digit"] is not None:
        digit = equivalent_activity(data["digit"], rand["digit"])
    return DataActivity(
        act_toggle=data["act"],
        weight_toggle=data["weight"],
        act_zero=data["act_zero"],
        weight_zero=data["weight_zero"],
        term=ratio(data["term"], rand["term"]),
        sum=ratio(data["sum"], rand["sum"]),
        digit=digit,
        digit_density=data["density"],
    )


def term_width(arith) -> int:
    """Bits of a lane's term (:attr:`Arithmetic.term_range`).

    Parameters
    ----------
    arith : Arithmetic
        The PE arithmetic.

    Returns
    -------
    int
        Width in bits.
    """
    return range_width(*arith.term_range)[0]


def measure(design, weights, acts, *, source: str = "", tiles: int = MAX_TILES) -> DataActivity:
    """The switching of ``design``'s nets when it runs ``acts @ weights.T``.

    Parameters
    ----------
    design : Design
        A design whose family's cost module defines ``data_activity``.
    weights : array_like
        Float weights ``(N, K)`` (a real layer's, or synthetic).
    acts : array_like
        Float activations ``(M, K)`` that layer sees.
    source : str
        Description of the data (kept in the result).
    tiles : int
        Tiles laid out at most (streaming order).

    Returns
    -------
    DataActivity
        Per-operand toggles and zeros, equivalent activities of the terms, sums and digits;
        ``vector_cycles`` for a family whose cycle module defines ``data_vector_cycles``
        (cycles that follow the activations' digits).
    """
    fn = _family_data_activity(design)
    wc, xc = design_codes(design, weights, acts)
    stats = fn(design, wc, xc, tiles=tiles)
    cycles_fn = _data_cycles_fn(design)
    if cycles_fn is not None:
        # Every activation vector of the sample, not only the tiles laid out for switching.
        stats = dataclasses.replace(stats, vector_cycles=cycles_fn(design, xc))
    return dataclasses.replace(stats, source=source) if source else stats


@functools.lru_cache(maxsize=16)
def _spec_operands(spec: str) -> tuple[np.ndarray, np.ndarray, str]:
    # One read (and, for an encoder, one forward pass) per workload spec and process.
    return workload_operands(spec)


def workload_activity(design, spec: str, *, layers=None) -> DataActivity:
    """The switching of ``design``'s nets on one layer of workload ``spec`` (a sweep's
    ``activity = "data"`` measures every GEMM instead: :func:`gemm_activity`): a real layer
    and its calibration activations for a BERT checkpoint, a real weight matrix on synthetic
    activations for another checkpoint, synthetic tensors of stated statistics for a preset
    (:func:`~shiftadd.workloads.activity_stats.workload_operands`; the result's ``source``
    says which).

    Parameters
    ----------
    design : Design
        A design whose family has a data-activity model.
    spec : str
        The workload spec (packaged checkpoint name, checkpoint folder or preset).
    layers : pandas.DataFrame, optional
        The workload's GEMM table, for the synthetic shapes of a preset.

    Returns
    -------
    DataActivity
        The measured switching.
    """
    if layers is None:
        w, x, what = _spec_operands(str(spec))
    else:
        w, x, what = workload_operands(str(spec), layers=layers)
    return measure(design, w, x, source=what)


# Two workloads' operands at most: a preset's synthetic tensors are ~100 MB.
@functools.lru_cache(maxsize=2)
def workload_gemm_operands(spec: str, gemms: tuple) -> tuple[GemmOperands, ...]:
    """:func:`~shiftadd.workloads.activity_stats.gemm_operands` of a workload, read once per
    process (one checkpoint read and, for an encoder, one forward pass).

    Parameters
    ----------
    spec : str
        The workload spec.
    gemms : tuple
        ``(name, N, K, kind, model layers)`` per distinct GEMM (hashable: tuples).

    Returns
    -------
    tuple of GemmOperands
        One per distinct GEMM.
    """
    return gemm_operands(spec, gemms)


def gemm_activity(design, operands, *, tiles: int = MAX_TILES) -> tuple[DataActivity, ...]:
    """The switching of ``design``'s nets on each distinct GEMM of a workload: what a
    sweep's ``activity = "data"`` prices.

    Each GEMM is measured on every model layer its operands sample (``tiles`` shared among
    them, at least one each) and the layers' figures averaged
    (:meth:`DataActivity.mean`: equal-sized layers, energy linear in every rate).

    Parameters
    ----------
    design : Design
        A design whose family has a data-activity model (:func:`has_data_model`).
    operands : sequence of GemmOperands
        Per distinct GEMM (:func:`workload_gemm_operands`).
    tiles : int
        Tiles laid out per GEMM at most.

    Returns
    -------
    tuple of DataActivity
        One per GEMM, in order; ``source`` is the GEMM's description.
    """
    out = []
    for op in operands:
        each = max(1, tiles // len(op.samples))
        runs = [measure(design, w, x, tiles=each) for w, x in op.samples]
        out.append(DataActivity.mean(runs, source=op.description))
    return tuple(out)
