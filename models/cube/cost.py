"""Cost model of the 3D-Cube engine: blocks counted as :mod:`shiftadd.hw.cube` builds them
(the grid engines' PEs priced by :func:`shiftadd.models.grid.cost.pe_items`), register
switching from the PE arithmetic, the port activity for vectorless synthesis power, and the
switching on real data (:func:`data_activity`)."""

from __future__ import annotations

import numpy as np

from ...design.cube import CubeDesign
from ...workloads.activity_stats import DataActivity
from ..cost import Item
from ..data_activity import (
    MAX_VECTORS,
    from_switching,
    lane_terms,
    term_width,
    value_toggles,
)
from ..grid.cost import chain_pe_items, first_layer_width, switching_summary, toggle_factors

__all__ = [
    "switching_factors",
    "skew_bits",
    "bill_of_materials",
    "activity_profile",
    "data_activity",
]


def switching_factors(design: CubeDesign) -> dict[str, float]:
    """Switching of the cube's value registers relative to random data, from its PE
    arithmetic (:func:`shiftadd.models.grid.cost.toggle_factors`): ``psum`` (partial-sum
    registers, averaged over the depth layers, each holding successive independent sums of
    ``k + 1`` products), ``result`` (sums of ``depth`` products leaving the cube).

    Parameters
    ----------
    design : CubeDesign
        The design.

    Returns
    -------
    dict of str to float
        ``psum`` and ``result`` switching factors, each in ``[0, 2]``.
    """
    d = design
    key = (d.arith, d.acc_width)
    psum = float(np.mean([toggle_factors(*key, i)[1] for i in range(1, d.depth + 1)]))
    return {"psum": psum, "result": toggle_factors(*key, d.depth)[1]}


def skew_bits(design: CubeDesign) -> dict[str, int]:
    """Register bits of the skew and de-skew delay lines: ``act`` (``X[r, k]`` delayed
    ``r + k`` cycles), ``weight`` (``W[c, k]`` delayed ``c + k``), ``result`` (output
    ``(r, c)`` delayed ``(rows - 1 - r) + (cols - 1 - c)``).

    Parameters
    ----------
    design : CubeDesign
        The design.

    Returns
    -------
    dict of str to int
        Register bits of each delay network.
    """
    d = design
    R, C, D = d.rows, d.cols, d.depth
    assert d.weight_bits is not None

    def stages(a: int, b: int) -> int:
        # sum over i < a, j < b of (i + j)
        return b * a * (a - 1) // 2 + a * b * (b - 1) // 2

    return {
        "act": d.act_bits * stages(R, D),
        "weight": d.weight_bits * stages(C, D),
        "result": d.acc_width * stages(R, C),
    }


def bill_of_materials(design: CubeDesign) -> list[Item]:
    """Blocks of a cube as :mod:`shiftadd.hw.cube` builds them: input register, skew
    lines, operand pass registers, the PEs of each depth layer and their partial-sum
    registers, a carry-propagate adder per output (carry-save), de-skew, result register.

    Parameters
    ----------
    design : CubeDesign
        The design.

    Returns
    -------
    list of Item
        The building blocks, to be priced with a unit table
        (:func:`shiftadd.models.cost.estimate`).
    """
    d = design
    R, C, D, W = d.rows, d.cols, d.depth, d.acc_width
    ab, wb, cs = d.act_bits, d.weight_bits, d.carry_save_accumulate
    assert wb is not None
    face = R * C
    f = switching_factors(d)
    skew = skew_bits(d)
    rate = face  # a whole tile of results leaves every cycle
    # A one-layer cube's results are its first-layer sums (one product each): the bits of
    # the result path above them copy the sign bit (one flip-flop).
    held = first_layer_width(d) if D == 1 and not cs else W

    def per_output(unit, part, count, bits=0.0):
        # Energy of the parts an output element passes on its way out (area, clock and
        # leakage are in the structural item beside it).
        return Item(
            unit,
            f"{part} (per output)",
            count,
            bits=bits,
            per="output",
            rate=rate,
            toggle=f["result"],
            structural=False,
            driver="sum",
        )

    items = [
        Item("dffe", "input register (activations, valid)", R * D * ab + 1, driver="act"),
        Item("dffe", "input register (weights)", C * D * wb, driver="weight"),
        Item("dffe", "activation skew registers", skew["act"], driver="act"),
        Item("dffe", "weight skew registers", skew["weight"], driver="weight"),
        Item("dffe", "activation pass registers", ab * R * D * (C - 1), driver="act"),
        Item("dffe", "weight pass registers", wb * (R - 1) * D * C, driver="weight"),
        Item("dffe", "valid delay", R + C + D - 2),
        Item("dffe", "result register", face * held + 1, active=False),
        per_output("dffe", "result register", held),
        Item("dffe", "de-skew registers", skew["result"] * held // W, active=False),
        per_output("dffe", "de-skew registers", held * ((R - 1) + (C - 1)) / 2),
    ]
    if cs:
        items += [
            Item(
                "adder",
                "carry-propagate adders at the cube's edge",
                face,
                bits=face * W,
                active=False,
            ),
            per_output("adder", "carry-propagate adders at the cube's edge", 1, bits=W),
        ]
    items += chain_pe_items(
        d,
        face,
        D,
        passers=R * (C - 1),
        labels=("first-layer PEs", "layer {} PEs"),
        toggle=f["psum"],
    )
    return items


def activity_profile(design: CubeDesign, data_activity: float):
    """Port switching while the cube streams (for vectorless synthesis power).

    Parameters
    ----------
    design : CubeDesign
        The design.
    data_activity : float
        Toggles per cycle of a streamed data bit (0.5: uniformly random data).

    Returns
    -------
    list of tuple of (str, float, float)
        ``(port glob, toggles per cycle, duty)`` rules (first match wins), the catch-all
        ``"*"`` last.
    """
    # A new tile (activations and weights) every cycle at full rate.
    return [
        ("feed__payload*", data_activity, 0.5),
        ("feed__valid", 0.0, 1.0),
        ("result__ready", 0.0, 1.0),
        ("rst", 0.0, 0.0),
        ("*", 0.0, 0.0),
    ]


def _cube_switching(design: CubeDesign, w: np.ndarray, x: np.ndarray, tiles: int) -> dict:
    """Flips and bit-cycles of a cube's nets running ``x @ w.T``: up to ``tiles`` windows of
    consecutive tiles in streaming order (output blocks row-block-major, reduction slices
    innermost), each tile one cycle of every PE."""
    d = design
    arith = d.arith
    R, C, D, W = d.rows, d.cols, d.depth, d.acc_width
    (n, k), m = w.shape, x.shape[0]
    order = [
        (m0, n0, k0) for m0 in range(0, m, R) for n0 in range(0, n, C) for k0 in range(0, k, D)
    ]
    # Consecutive tiles (their switching is what the PEs see), in windows spread evenly.
    length = max(2, min(len(order), MAX_VECTORS // max(1, tiles), (1 << 20) // d.pes))
    starts = np.unique(
        np.linspace(0, max(0, len(order) - length), min(tiles, len(order))).round().astype(int)
    )
    tw = term_width(arith)
    acts, weights, term, acc = [], [], [0.0, 0.0], [0.0, 0.0]
    for s in starts:
        window = order[s : s + length]
        xt = np.zeros((len(window), R, D), np.int64)
        wt = np.zeros((len(window), C, D), np.int64)
        for i, (m0, n0, k0) in enumerate(window):  # tiles, not elements
            k1 = min(k, k0 + D)
            xt[i, : min(R, m - m0), : k1 - k0] = x[m0 : m0 + R, k0:k1]
            wt[i, : min(C, n - n0), : k1 - k0] = w[n0 : n0 + C, k0:k1]
        acts.append(xt.reshape(len(window), R * D))
        weights.append(wt.reshape(len(window), C * D))
        # PE (r, k, c): x[r, k] * w[c, k]; partial sums grow along k.
        terms = lane_terms(arith, xt[:, :, :, None], wt.transpose(0, 2, 1)[:, None, :, :])
        for tot, (f, b) in (
            (term, value_toggles(terms, tw)),
            (acc, value_toggles(np.cumsum(terms, axis=2), W)),
        ):
            tot[0] += f
            tot[1] += b
    return switching_summary(d, np.concatenate(acts), np.concatenate(weights), term, acc)


def data_activity(
    design: CubeDesign, w_codes: np.ndarray, x_codes: np.ndarray, *, tiles: int = 8
) -> DataActivity:
    """Switching of a cube running activation codes ``x_codes`` (M, K) against weight codes
    ``w_codes`` (N, K), tile by tile as the GEMM streams them.

    Both operands stream (a ``rows x depth`` block of X and a ``cols x depth`` block of W
    per cycle); every PE forms its term and adds it to the partial sum of the layer before.
    The activation and weight registers switch with their streams; multipliers and lane
    gates with the products; adders, partial sums and results with the partial sums; Booth
    encoders and selects with the activations' digits. ``term``, ``sum`` and ``digit`` are
    each compared with uniformly random codes laid out the same way.

    Parameters
    ----------
    design : CubeDesign
        The design.
    w_codes, x_codes : numpy.ndarray
        Weight and activation codes in the design's ranges.
    tiles : int
        Windows of consecutive tiles laid out at most (evenly spaced in streaming order).

    Returns
    -------
    DataActivity
        The measured switching.
    """
    return from_switching(design, _cube_switching, w_codes, x_codes, tiles)
