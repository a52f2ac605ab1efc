"""Vectorized workload models: cycles and memory traffic of many designs on many GEMMs.

A design family provides two things:

* :func:`design_vector` (single dispatch on the design dataclass): the handful of numbers
  its kernel needs (tile sizes, latency, operand widths...), computed once per design;
* a kernel, registered with :func:`register_kernel` under the family's ``arch``: given those
  numbers as arrays of shape ``(P, 1)`` (one row per design point), the GEMM dimensions as
  arrays of shape ``(1, L)`` and the buffer capacities ``(P, 1)``, it returns arrays
  ``(P, L)``: ``cycles`` and the bits moved between DRAM, the on-chip buffers and the array.

The scalar cycle model (:func:`shiftadd.models.cycles.gemm_cycles`) of a family calls the
same kernel, so the sweep and the RTL-checked model are one formula.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from ..design import AdderTreeDesign

__all__ = ["design_vector", "register_kernel", "kernel_for", "KERNELS", "TRAFFIC_KEYS",
           "adder_tree_cycles"]

# Keys every kernel returns besides "cycles" (all in bits, per GEMM):
TRAFFIC_KEYS = ("dram_read_bits", "dram_write_bits", "act_buf_read_bits",
                "act_buf_write_bits", "weight_buf_read_bits", "weight_buf_write_bits",
                "out_buf_read_bits", "out_buf_write_bits")

KERNELS: dict[str, Callable] = {}


def register_kernel(arch: str):
    def deco(fn):
        KERNELS[arch] = fn
        return fn
    return deco


def kernel_for(arch: str) -> Callable:
    return KERNELS[arch]


@functools.singledispatch
def design_vector(design) -> dict[str, float]:
    """The numbers a family's kernel needs about one design."""
    raise TypeError(f"no workload model for {type(design).__name__}")


# -- adder tree ----------------------------------------------------------------------------
@design_vector.register
def _(design: AdderTreeDesign) -> dict[str, float]:
    return {"tile_k": design.k, "tile_n": design.n, "latency": design.latency,
            "act_bits": design.act_bits, "weight_bits": design.weight_bits,
            "out_bits": design.output_bits_per_neuron, "psum_bits": design.acc_width,
            "lanes": design.k * design.n}


def adder_tree_cycles(tile_k, tile_n, latency, m, n, k, vector_cycles=1):
    """Weight-stationary tiles, back to back (see :mod:`shiftadd.models.cycles`).

    ``vector_cycles``: cycles one activation vector occupies the array (1 at full rate;
    ``digit_sparse`` designs, :mod:`shiftadd.models.bitweight`: the mean over the vectors,
    exact given the data, or an expectation)."""
    k_tiles = -(-k // tile_k)
    n_tiles = -(-n // tile_n)
    weight_writes = k_tiles * n
    transfers = weight_writes + k_tiles * n_tiles * m
    busy = weight_writes + k_tiles * n_tiles * m * vector_cycles
    return {"cycles": busy + latency, "transfers": transfers,
            "tiles": k_tiles * n_tiles, "weight_writes": weight_writes,
            "k_tiles": k_tiles, "n_tiles": n_tiles}


@register_kernel("adder_tree")
def _adder_tree_kernel(v: dict, m, n, k, act_buf_bits, weight_buf_bits, out_buf_bits):
    """Cycles and traffic of the weight-stationary adder-tree schedule.

    Weights are read from DRAM once (staged through the weight buffer). For each K-tile
    the ``M x tile_k`` activation block is streamed once per N-tile from the activation
    buffer; it comes from DRAM once if the block fits the buffer, else once per N-tile.
    Partial sums of K-tiles accumulate in the output buffer when an ``M x tile_n`` block
    fits, else they go to DRAM and back.
    """
    c = adder_tree_cycles(v["tile_k"], v["tile_n"], v["latency"], m, n, k,
                          v.get("vector_cycles", 1))
    k_tiles, n_tiles = c["k_tiles"], c["n_tiles"]
    ab, wb, pb, ob = v["act_bits"], v["weight_bits"], v["psum_bits"], v["out_bits"]
    weights = n * k * wb
    act_block = m * v["tile_k"] * ab
    act_fits = act_block <= act_buf_bits
    act_dram = np.where(act_fits, m * k * ab, m * k * ab * n_tiles)
    act_stream = m * v["tile_k"] * ab * k_tiles * n_tiles
    psum_block = m * v["tile_n"] * pb
    psum_fits = psum_block <= out_buf_bits
    extra = np.maximum(k_tiles - 1, 0) * m * n * pb
    out_final = m * n * ob
    out = {
        "cycles": c["cycles"],
        "dram_read_bits": weights + act_dram + np.where(psum_fits, 0, extra),
        "dram_write_bits": out_final + np.where(psum_fits, 0, extra),
        "act_buf_read_bits": act_stream,
        "act_buf_write_bits": act_dram,
        "weight_buf_read_bits": weights * np.ones_like(act_stream),
        "weight_buf_write_bits": weights * np.ones_like(act_stream),
        "out_buf_read_bits": np.where(psum_fits, extra, 0) + out_final,
        "out_buf_write_bits": np.where(psum_fits, extra, 0) + out_final,
    }
    return out
