"""The 3D-Cube's register-to-register paths (:mod:`shiftadd.models.timing`).

Every PE of the cube (:mod:`shiftadd.hw.cube`) is one stage: from its activation register
(which also feeds the next PE along ``c``) or its weight register (which feeds the next PE
along ``r``) through the grid PE's lane logic and accumulation
(:func:`shiftadd.models.grid.timing.pe_elements`: multiplier and adder, or Booth selectors
and 3:2 compressor levels with ``carry_save_accumulate``) into its partial-sum register.
The partial sum from the previous layer enters the same adder or compressor tree, a shorter
path. With ``carry_save_accumulate`` one carry-propagate adder per output resolves the last
layer's pair into the first de-skew (or the result) register. Backpressure is the global
``advance = ~result.valid | result.ready``, a gate that enables every register of the cube
through a buffer tree (priced as the calibrated two-row decoded write, the same structure).
A cube one layer deep adds nothing to its products: the PE is the multiplier (or the term
and its carry-in) alone.
"""

from __future__ import annotations

from ...design.cube import CubeDesign
from ..grid.timing import operand_nets, operands, pe_elements
from ..timing import TimingPath, adder, decoded_write, gates
from .cost import skew_bits

__all__ = ["timing_paths", "register_bits"]


def _enable():
    return gates("mux2", 1, "register load enable")


def register_bits(design: CubeDesign) -> int:
    """Bits of every register that loads under ``advance`` (the loads on its net).

    Parameters
    ----------
    design : CubeDesign
        The design.

    Returns
    -------
    int
        Input, skew, pass, partial-sum, de-skew, result and valid registers.
    """
    d = design
    R, C, D, W = d.rows, d.cols, d.depth, d.acc_width
    ab, wb = d.act_bits, d.weight_bits
    assert wb is not None
    skew = skew_bits(d)
    if d.carry_save_accumulate:
        psum = R * C * sum(bin(s).count("1") + bin(c).count("1") for s, c in d.psum_masks)
    else:
        psum = d.pes * W
    return (
        R * D * ab
        + C * D * wb
        + 1
        + skew["act"]
        + skew["weight"]
        + ab * R * D * (C - 1)
        + wb * (R - 1) * D * C
        + psum
        + skew["result"]
        + R * C * W
        + 1
        + (R + C + D - 2)
    )


def timing_paths(design: CubeDesign) -> list[TimingPath]:
    """Every register-to-register path of a cube.

    Parameters
    ----------
    design : CubeDesign
        The design.

    Returns
    -------
    list of TimingPath
        The PE datapath from each operand register, the carry-propagate adders at the edge
        (carry-save), and the global ``advance`` enable.
    """
    d = design
    nets = operand_nets(d)
    # Both operands also feed the register passing them on (the weight-stationary count
    # of operand_nets holds the weight still).
    loads = {
        "activation": nets["activation"],
        "weight": nets["weight"] + (1 if d.rows > 1 else 0),
    }
    loads["negated weight"] = loads["weight"]
    paths = [
        TimingPath(
            f"PE partial sum ({operand} register -> partial-sum register)",
            (*pe_elements(d, operand, loads[operand], accumulate=d.depth > 1), _enable()),
        )
        for operand in operands(d)
    ]
    if d.carry_save_accumulate:
        paths.append(
            TimingPath(
                "last layer's pair -> carry-propagate adder -> de-skew or result register",
                (adder(d.acc_width, "carry-propagate adder at the cube's edge"), _enable()),
            )
        )
    # advance is a gate (not a register) driving every register's enable through a buffer
    # tree: the two-row decoded write, calibrated on that structure (its one-bit index is a
    # literal, so the decode is the same single gate).
    paths.append(
        TimingPath(
            "advance (result.ready -> every register enable)",
            (decoded_write(2, register_bits(d) + 1, "advance = ~valid | ready -> enables"),),
        )
    )
    return paths
