"""Energy per classification of the binary MAC baseline (``accumulate``) with its SRAM
operand buffers (issue 17, step 3).

The baseline of TULIP's kind reads its operands from on-chip SRAM every cycle: one
``k``-bit activation word (shared by the ``n`` lanes) and ``n k`` weight bits (one word of a
weight buffer built from side-by-side macros), as :mod:`shiftadd.models.memory` builds
buffers from the IHP SG13G2 macros. Per binary layer of a workload (a GEMM table,
:func:`shiftadd.workloads.interchange.resolve_workload`):

- compute: the cost model's energy (:func:`shiftadd.models.cost.gemm_energy_pj`) over the
  layer's cycles (:func:`shiftadd.models.adder_tree.cycles.gemm_cycles_batch`);
- activation reads: one word per cycle that streams a chunk;
- weight reads: one ``n k``-bit word per such cycle;
- activation writes: the layer's ``M x N`` output bits, packed into ``k``-bit words of the
  activation buffer (the next layer's input);
- SRAM leakage over the layer's cycles.

Not counted: loading the weights (they stay resident in a weight buffer that holds every
layer's weights), DRAM, the non-binary first and last layers, and the control FSM and
address generators (to be priced as synthesized RTL).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from ...design.adder_tree import AdderTreeDesign
from ...errors import InputError
from ...workloads.interchange import resolve_workload
from ..cost import cost_terms, gemm_energy_pj
from ..memory import SramBuffer, buffer_for
from .cycles import gemm_cycles_batch

__all__ = ["ClassificationEnergy", "classification_energy"]


@dataclasses.dataclass(frozen=True)
class ClassificationEnergy:
    """Energy of one classification (one pass over the workload's binary layers).

    Parameters
    ----------
    layers : pandas.DataFrame
        Per layer: ``name``, ``M``, ``N``, ``K``, ``count``, ``cycles``, ``chunks`` and the
        energies in pJ ``compute_pj``, ``act_read_pj``, ``weight_read_pj``,
        ``act_write_pj``, ``sram_leakage_pj``, ``total_pj`` (times ``count``).
    act_buffer, weight_buffer : SramBuffer
        The buffers as built from the macros.
    clock_ns : float
        Clock period of the compute cycles.
    """

    layers: pd.DataFrame
    act_buffer: SramBuffer
    weight_buffer: SramBuffer
    clock_ns: float

    @property
    def compute_pj(self) -> float:
        """Energy of the datapath alone (the cost model), in pJ."""
        return float(self.layers["compute_pj"].sum())

    @property
    def sram_pj(self) -> float:
        """Energy of the SRAM accesses and leakage, in pJ."""
        cols = ["act_read_pj", "weight_read_pj", "act_write_pj", "sram_leakage_pj"]
        return float(self.layers[cols].to_numpy().sum())

    @property
    def total_pj(self) -> float:
        """Compute plus SRAM, in pJ."""
        return self.compute_pj + self.sram_pj

    @property
    def cycles(self) -> int:
        """Clock cycles of the classification."""
        return int((self.layers["cycles"] * self.layers["count"]).sum())

    @property
    def area_um2(self) -> float:
        """Area of both buffers, in um^2 (the datapath's is the cost model's)."""
        return self.act_buffer.area_um2 + self.weight_buffer.area_um2


def classification_energy(
    design: AdderTreeDesign,
    workload,
    *,
    act_buffer_bits: int | None = None,
    weight_buffer_bits: int | None = None,
    data_activity: float = 0.5,
    table=None,
    sram: str = "ihp-sg13g2",
) -> ClassificationEnergy:
    """Energy per classification of an accumulating binary MAC array on a workload.

    Parameters
    ----------
    design : AdderTreeDesign
        A design with ``accumulate``; its ``k`` is the activation word width.
    workload : str, path or pandas.DataFrame
        The binary layers: a workload file or GEMM table (every ``K <= accumulate_k``).
    act_buffer_bits : int, optional
        Activation buffer capacity; default the largest ``M (K + N)`` of a layer (its
        inputs as the chunks read them, an upper bound for a conv layer, plus its
        outputs).
    weight_buffer_bits : int, optional
        Weight buffer capacity; default every layer's ``N K`` weights (all resident).
    data_activity : float
        Toggle activity of the streamed data for the datapath's energy.
    table : UnitTable or str, optional
        The unit table of the cost model (default: the calibrated IHP SG13G2 table).
    sram : str
        The SRAM macro table.

    Returns
    -------
    ClassificationEnergy
        Per layer and in total: compute, SRAM and their sum.

    Raises
    ------
    InputError
        The design has no ``accumulate``, or a layer's ``K`` exceeds ``accumulate_k``.
    """
    if not getattr(design, "accumulate", False):
        raise InputError(
            "the buffered MAC baseline reads one chunk of every operand per cycle: it needs "
            "an adder-tree design with accumulate = true",
            field="accumulate",
            allowed=[True],
        )
    df = resolve_workload(workload)
    m, n, k = (df[c].to_numpy(np.int64) for c in ("M", "N", "K"))
    count = df["count"].to_numpy(np.int64)
    c = gemm_cycles_batch(design, m, n, k)
    k_tiles, n_tiles = -(-k // design.k), -(-n // design.n)
    chunks = m * n_tiles * k_tiles
    if act_buffer_bits is None:
        act_buffer_bits = int((m * (k + n)).max())
    if weight_buffer_bits is None:
        weight_buffer_bits = int((n * k * count).sum())
    act = buffer_for(int(act_buffer_bits), design.k, sram)
    weight = buffer_for(int(weight_buffer_bits), design.n * design.k, sram)
    terms = cost_terms(design, table)
    compute = gemm_energy_pj(
        terms,
        gemm_cycles=chunks,
        total_cycles=c["cycles"],
        macs=m * n * k,
        outputs=0,
        clock_ns=design.clock_ns,
        data_activity=data_activity,
    )
    out_words = -(-(m * n) // design.k)
    leak_mw = act.leakage_mw + weight.leakage_mw
    layers = pd.DataFrame(
        {
            "name": df["name"].astype(str),
            "M": m,
            "N": n,
            "K": k,
            "count": count,
            "cycles": c["cycles"],
            "chunks": chunks,
            "compute_pj": compute * count,
            "act_read_pj": chunks * act.read_pj_per_word * count,
            "weight_read_pj": chunks * weight.read_pj_per_word * count,
            "act_write_pj": out_words * act.write_pj_per_word * count,
            "sram_leakage_pj": leak_mw * c["cycles"] * design.clock_ns * count,
        }
    )
    parts = ["compute_pj", "act_read_pj", "weight_read_pj", "act_write_pj", "sram_leakage_pj"]
    layers["total_pj"] = layers[parts].sum(axis=1)
    return ClassificationEnergy(layers, act, weight, design.clock_ns)
