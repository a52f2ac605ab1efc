"""Vectorized workload models: cycles and memory traffic of many designs on many GEMMs.

A design family provides two things:

* ``design_vector`` (:class:`~shiftadd.families.Family` capability): the handful of numbers
  its kernel needs (tile sizes, latency, operand widths...), computed once per design;
* ``kernel`` (capability): given those
  numbers as arrays of shape ``(P, 1)`` (one row per design point), the GEMM dimensions as
  arrays of shape ``(1, L)`` and the buffer capacities ``(P, 1)``, it returns arrays
  ``(P, L)``: ``cycles`` and the bits moved between DRAM, the on-chip buffers and the array.

A family's scalar cycle model (its ``gemm_cycles``) calls the same formula as its kernel,
so the sweep and the RTL-checked model are one formula.
"""

from __future__ import annotations

from collections.abc import Callable

from ..families import family, family_of

__all__ = ["design_vector", "kernel_for", "default_validation_gemm", "TRAFFIC_KEYS"]

# Keys every kernel returns besides "cycles" (all in bits, per GEMM):
TRAFFIC_KEYS = (
    "dram_read_bits",
    "dram_write_bits",
    "act_buf_read_bits",
    "act_buf_write_bits",
    "weight_buf_read_bits",
    "weight_buf_write_bits",
    "out_buf_read_bits",
    "out_buf_write_bits",
)


def design_vector(design) -> dict[str, float]:
    """The numbers ``design``'s family kernel needs about it (tile sizes, latency, operand
    widths...), computed once per design.

    Parameters
    ----------
    design : Design
        A design of any registered family.

    Returns
    -------
    dict of str to float
        The family's workload vector (e.g. ``tile_n``, ``tile_k``).
    """
    return family_of(design).get("design_vector")(design)


def kernel_for(arch: str) -> Callable:
    """The vectorized cycle-and-traffic kernel of family ``arch`` (see the module).

    Parameters
    ----------
    arch : str
        Family name.

    Returns
    -------
    Callable
        The family's ``kernel`` capability: ``cycles`` and the :data:`TRAFFIC_KEYS` (bits)
        as ``(P, L)`` arrays.
    """
    return family(arch).get("kernel")


def default_validation_gemm(design) -> tuple[int, int, int]:
    """The GEMM ``(M, N, K)`` a design is validated on, by default: 256 activation rows (so
    streaming dominates the weight loads), one and a half N-tiles (a partial tile) and one
    K-tile, from the design's workload vector.

    Parameters
    ----------
    design : Design
        A design of any registered family.

    Returns
    -------
    tuple of (int, int, int)
        The GEMM dimensions ``(M, N, K)``.
    """
    v = design_vector(design)
    tile_n, tile_k = int(v["tile_n"]), int(v["tile_k"])
    return 256, tile_n + max(1, tile_n // 2), tile_k
