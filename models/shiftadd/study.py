"""Whole-layer energy of LLMs on the shift-add engine beside FP16 and int8 multiplier
engines: the study of ``docs/shiftadd_engine.md``.

:func:`layer_energy_ops` counts LUT builds, lookups, shifts, adds and memory traffic of whole
LLM layers with per-operation energies (:class:`OpEnergies`, the paper's 45 nm figures by
default); :func:`layer_energy_hw` prices the same layers with our engines' bills of
materials (:func:`engine_energy_per_cycle`) and the calibrated unit table.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from ...design.shiftadd import ShiftAddDesign
from ...errors import InputError
from ...workloads.bcq import scale_bits
from ..cost import bill_of_materials, price
from ..cost import unit_table as table_of
from ..cycles import gemm_cycles_batch
from ..technology import IHP_NODE_NM, IHP_VDD, scale_factors
from .cost import lut_build_energy

__all__ = [
    "OpEnergies",
    "PAPER_45NM",
    "DRAM_PJ_PER_BIT",
    "shiftadd_op_counts",
    "weight_bits_per_weight",
    "layer_energy_ops",
    "engine_energy_per_cycle",
    "layer_energy_hw",
]


@dataclasses.dataclass(frozen=True)
class OpEnergies:
    """Energy per operation (pJ) for the operation-count model, with its provenance.

    ``sa_add`` prices every add of the shift-add datapath (LUT build, scale terms,
    accumulation), ``fp16_*`` and ``int8_mult`` / ``int_add`` the multiplier engines.

    Parameters
    ----------
    name : str
        Name of the figure set.
    node : str
        Technology node the figures are for (e.g. ``"45 nm"``).
    fp16_mult, fp16_add : float
        FP16 multiply and add energy, in pJ.
    int8_mult : float
        8-bit integer multiply energy, in pJ.
    int_add : float
        Integer (accumulator) add energy, in pJ.
    shift : float
        Energy of one shift, in pJ.
    lookup : float
        Energy of one LUT lookup, in pJ.
    sa_add : float
        Energy of one add of the shift-add datapath, in pJ.
    source : str
        Where the figures come from.
    """

    name: str
    node: str
    fp16_mult: float
    fp16_add: float
    int8_mult: float
    int_add: float
    shift: float
    lookup: float
    sa_add: float
    source: str


#: ShiftAddLLM's own (Eyeriss-style, 45 nm) figures: FP16 mult 1.1, add 0.4, shift 0.15,
#: LUT lookup 0.37 pJ; their activations are FP16, so the shift-add datapath adds FP16 values.
#: Int8: Horowitz 45 nm, 8-bit multiply 0.2 pJ, 32-bit add 0.1 pJ (REFERENCE.md 2 and 6).
PAPER_45NM = OpEnergies(
    name="shiftaddllm-45nm",
    node="45 nm",
    fp16_mult=1.1,
    fp16_add=0.4,
    int8_mult=0.2,
    int_add=0.1,
    shift=0.15,
    lookup=0.37,
    sa_add=0.4,
    source="ShiftAddLLM energy table (FP16 mult/add, shift, lookup); Horowitz ISSCC 2014 "
    "(int8 mult, 32-bit add)",
)

#: DRAM energy per bit. ShiftAddLLM: 200 pJ per 16-bit access; Horowitz: 1.3-2.6 nJ per
#: 64 bits.
DRAM_PJ_PER_BIT = {
    "shiftaddllm": 200.0 / 16,
    "horowitz-low": 1300.0 / 64,
    "horowitz-high": 2600.0 / 64,
}


def shiftadd_op_counts(m, n, k, *, q: int, mu: int, terms: int) -> dict[str, np.ndarray]:
    """Operations of ``Y[M, N] = X[M, K] @ W[N, K].T`` as a LUT-GEMM, vectorized over
    arrays of shapes (every scale with all ``terms`` present; equal to
    :func:`~shiftadd.models.lutgemm.lut_gemm_ops` then).

    Parameters
    ----------
    m, n, k : int or array_like of int
        GEMM dimensions ``(M, N, K)``, broadcast together.
    q : int
        Bit planes per weight.
    mu : int
        LUT width (inputs per table).
    terms : int
        Power-of-two terms per scale.

    Returns
    -------
    dict of str to numpy.ndarray
        ``lut_tables``, ``lut_build_adds``, ``lut_build_shifts``, ``lookups``,
        ``scale_shifts``, ``scale_adds`` and ``accumulate_adds``.
    """
    m, n, k = (np.asarray(v, dtype=np.int64) for v in (m, n, k))
    groups = -(-k // mu)
    tables = m * groups
    lookups = m * q * n * groups
    return {
        "lut_tables": tables,
        "lut_build_adds": tables * ((1 << mu) + mu - 1),
        "lut_build_shifts": tables * mu,
        "lookups": lookups,
        "scale_shifts": lookups * terms,
        "scale_adds": lookups * (terms - 1),
        "accumulate_adds": m * n * (q * groups - 1),
    }


def weight_bits_per_weight(
    engine: str,
    n,
    k,
    *,
    q: int = 3,
    mu: int = 8,
    terms: int = 3,
    shift_bits: int = 4,
    group_rows: int | None = None,
) -> np.ndarray:
    """DRAM bits per weight: FP16 16; int8 8 plus a 16-bit scale per output row; BCQ
    ``q`` planes plus the APoT scales (``t * shift_bits + 2 (t - 1)`` bits, or
    ``shift_bits`` for one term, per plane and block of ``group_rows x mu`` weights) and
    the layer's 8-bit exponent base.

    Parameters
    ----------
    engine : str
        ``"fp16"``, ``"int8"``, or any other name for BCQ (shift-add).
    n, k : int or array_like of int
        The layer's output rows and inputs, broadcast together.
    q : int
        BCQ bit planes.
    mu : int
        Inputs per scale block.
    terms : int
        Power-of-two terms per scale (1 = pow2, more = APoT).
    shift_bits : int
        Bits of one shift amount.
    group_rows : int, optional
        Output rows per scale block; default ``max(1, 128 // mu)``.

    Returns
    -------
    numpy.ndarray of float64
        Bits per weight, shaped like ``n`` and ``k`` broadcast.
    """
    n, k = np.asarray(n, np.float64), np.asarray(k, np.float64)
    if engine == "fp16":
        return np.full(np.broadcast(n, k).shape, 16.0)
    if engine == "int8":
        return 8.0 + 16.0 / k
    gr = max(1, 128 // mu) if group_rows is None else group_rows
    per_scale = scale_bits("pow2" if terms == 1 else "apot", terms, shift_bits)
    return q + q * per_scale / (gr * mu) + 8.0 / (n * k)


def _weight_gemms(table, scope: str):
    t = table[table["kind"] == "act x weight"]
    if scope == "linear":
        t = t[t["block"] != "head"]
    elif scope != "all":
        raise InputError(f"unknown scope {scope!r}", field="scope", allowed=["linear", "all"])
    return t


def layer_energy_ops(
    table,
    *,
    units: OpEnergies = PAPER_45NM,
    q: int = 3,
    mu: int = 8,
    terms: int = 3,
    shift_bits: int = 4,
    group_rows: int | None = None,
    dram_pj_per_bit: float = DRAM_PJ_PER_BIT["shiftaddllm"],
    act_bits: int = 8,
    scope: str = "linear",
):
    """Energy of an LLM's weight GEMMs on FP16, int8 and shift-add engines by operation
    counts (the accounting of ShiftAddLLM's paper).

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`shiftadd.workloads.gemm_table` output.
    units : OpEnergies
        Energy per operation (default: ShiftAddLLM's 45 nm figures).
    q, mu, terms, shift_bits, group_rows : int
        The BCQ format and LUT width of the shift-add engine.
    dram_pj_per_bit : float
        DRAM energy per bit (weights read once per pass; activations in and out once).
    act_bits : int
        Activation bits in DRAM for the int8 and shift-add engines (FP16: 16); outputs are
        16 bits for all.
    scope : {"linear", "all"}
        ``"linear"``: the decoder's linear layers (what BCQ replaces; the head stays FP16
        in ShiftAddLLM); ``"all"``: every weight GEMM, the head included.

    Returns
    -------
    pandas.DataFrame
        One row per engine (``fp16``, ``int8``, ``shiftadd``) with the energy in pJ of
        each part (``mult``, ``add``, ``shift``, ``lookup``, ``lut_build``, ``dram_weights``,
        ``dram_act``), ``compute``, ``memory``, ``total`` and ``vs_fp16`` (fraction saved).
    """
    t = _weight_gemms(table, scope)
    m, n, k, c = (t[col].to_numpy(np.int64) for col in ("M", "N", "K", "count"))
    macs = float((m * n * k * c).sum())
    act_words = float(((m * k) * c).sum())
    out_words = float(((m * n) * c).sum())
    weights = n * k * c
    rows = []
    for engine in ("fp16", "int8", "shiftadd"):
        e = dict.fromkeys(("mult", "add", "shift", "lookup", "lut_build"), 0.0)
        if engine == "fp16":
            e["mult"], e["add"] = macs * units.fp16_mult, macs * units.fp16_add
        elif engine == "int8":
            e["mult"], e["add"] = macs * units.int8_mult, macs * units.int_add
        else:
            ops = shiftadd_op_counts(m, n, k, q=q, mu=mu, terms=terms)
            tot = {key: float((v * c).sum()) for key, v in ops.items()}
            e["lut_build"] = (
                tot["lut_build_adds"] * units.sa_add + tot["lut_build_shifts"] * units.shift
            )
            e["lookup"] = tot["lookups"] * units.lookup
            e["shift"] = tot["scale_shifts"] * units.shift
            e["add"] = (tot["scale_adds"] + tot["accumulate_adds"]) * units.sa_add
        bits = weight_bits_per_weight(
            engine, n, k, q=q, mu=mu, terms=terms, shift_bits=shift_bits, group_rows=group_rows
        )
        e["dram_weights"] = float((weights * bits).sum()) * dram_pj_per_bit
        in_bits = 16 if engine == "fp16" else act_bits
        e["dram_act"] = (act_words * in_bits + out_words * 16) * dram_pj_per_bit
        e["compute"] = e["mult"] + e["add"] + e["shift"] + e["lookup"] + e["lut_build"]
        e["memory"] = e["dram_weights"] + e["dram_act"]
        e["total"] = e["compute"] + e["memory"]
        e["weight_bits"] = float((weights * bits).sum() / weights.sum())
        rows.append({"engine": engine, **e})
    df = pd.DataFrame(rows).set_index("engine")
    df["vs_fp16"] = 1.0 - df["total"] / df.loc["fp16", "total"]
    df["compute_vs_fp16"] = 1.0 - df["compute"] / df.loc["fp16", "compute"]
    df.attrs.update(
        units=units.name,
        node=units.node,
        q=q,
        mu=mu,
        terms=terms,
        dram_pj_per_bit=dram_pj_per_bit,
        scope=scope,
        macs=macs,
        model=table.attrs.get("model"),
        phase=table.attrs.get("phase"),
    )
    return df


# BOM parts of the engines grouped as the layer tables report them.
_PART_GROUPS = (
    ("LUT builder", "lut_build"),
    ("act input", "lut_build"),
    ("table slot", "lookup"),
    ("lookup", "lookup"),
    ("barrel", "shift"),
    ("term", "shift"),
    ("negative", "shift"),
    ("plane-sum", "add"),
    ("accumulator", "add"),
    ("adder trees", "add"),
    ("multipliers", "mult"),
)


def _part_group(part: str) -> str:
    for prefix, group in _PART_GROUPS:
        if prefix in part:
            return group
    return "registers"


def engine_energy_per_cycle(
    design, table=None, *, data_activity: float = 0.5, streaming_weights: bool = True
) -> dict[str, float]:
    """Energy per cycle (pJ) of a design at full rate, by part group (``lookup``,
    ``shift``, ``add``, ``mult``, ``lut_build``, ``registers``), priced with a unit table.

    ``streaming_weights`` counts the weight registers of a multiplier array as toggling
    (every weight used once, as in LLM decoding), where :func:`~shiftadd.models.cost.estimate`
    holds them.

    Parameters
    ----------
    design : Design
        Any engine design with a bill of materials.
    table : UnitTable or str, optional
        Unit table, its name or file; default the calibrated IHP SG13G2 table.
    data_activity : float
        Toggles per cycle of a streamed data bit (0 to 1).
    streaming_weights : bool
        Price the ``weight registers`` part as toggling with the data.

    Returns
    -------
    dict of str to float
        Energy per cycle in pJ of each part group, leakage over one ``clock_ns`` cycle
        included.
    """

    table = table_of(table)
    scale = data_activity / table.calibration_activity
    out = dict.fromkeys(("lut_build", "lookup", "shift", "add", "mult", "registers"), 0.0)
    clock_ns = design.clock_ns
    for item in bill_of_materials(design):
        if streaming_weights and item.part == "weight registers":
            item = dataclasses.replace(item, active=True)
        _, e_clock, e_data, leak = price(item, table)
        out[_part_group(item.part)] += e_clock + scale * e_data + leak * clock_ns
    return out


def layer_energy_hw(
    table,
    design: ShiftAddDesign,
    baseline,
    *,
    unit_table="ihp-sg13g2",
    fp16_mac_pj: float | None = None,
    dram_pj_per_bit: float = DRAM_PJ_PER_BIT["shiftaddllm"],
    shift_bits: int | None = None,
    group_rows: int | None = None,
    scope: str = "linear",
):
    """Energy of an LLM's weight GEMMs on our engines, priced from their bills of materials.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`shiftadd.workloads.gemm_table` output.
    design : ShiftAddDesign
        The shift-add engine: every weight transfer and table load costs one cycle of its
        full-rate energy, each table load also its build energy (:func:`lut_build_energy`).
    baseline : AdderTreeDesign
        The int8 multiplier array of equal throughput (``mac`` mode), modelled as an ideal
        weight-streaming engine: ``ceil(M N K / (k n))`` cycles with its weight registers
        toggling.
    unit_table : str or UnitTable
        ``"ihp-sg13g2"`` (130 nm, calibrated by synthesis) or ``"horowitz-45nm"``.
    fp16_mac_pj : float, optional
        FP16 multiply-accumulate energy at the table's node. Default: Horowitz's 45 nm,
        0.9 V figures (multiply 1.1 + add 0.4 pJ, :data:`PAPER_45NM`), classically scaled
        (:func:`~shiftadd.models.technology.scale_factors`) to the table's node and supply
        (IHP SG13G2: 130 nm, 1.2 V, x 5.1). Not synthesized: no FP16 unit is generated here.
        0 leaves out the FP16 row (the savings are then relative to int8).
    dram_pj_per_bit : float
        DRAM energy per bit (weights read once per pass; activations in and out once).
    shift_bits : int, optional
        Shift amount bits of the scales in DRAM; default the design's ``shift_bits``.
    group_rows : int, optional
        Output rows per scale block in DRAM; default ``max(1, 128 // mu)``.
    scope : {"linear", "all"}
        ``"linear"``: the decoder's linear layers; ``"all"``: every weight GEMM, the head
        included.

    Returns
    -------
    pandas.DataFrame
        One row per engine (``fp16`` unless left out, ``shiftadd``, ``int8``) with the energy
        in pJ of each part group, ``dram_weights``, ``dram_act``, ``compute``, ``memory``,
        ``total``, ``weight_bits``, ``vs_fp16`` (or ``vs_int8``; fraction saved) and
        ``compute_per_mac_pj``.
    """
    ut = table_of(unit_table)
    t = _weight_gemms(table, scope)
    m, n, k, c = (t[col].to_numpy(np.int64) for col in ("M", "N", "K", "count"))
    macs = float((m * n * k * c).sum())
    act_words = float(((m * k) * c).sum())
    out_words = float(((m * n) * c).sum())
    weights = n * k * c
    if fp16_mac_pj is None:
        node, vdd = float(ut.meta.get("node_nm", IHP_NODE_NM)), float(ut.meta.get("vdd", IHP_VDD))
        fp16_mac_pj = (PAPER_45NM.fp16_mult + PAPER_45NM.fp16_add) * scale_factors(
            45.0, 0.9, node, vdd
        )["energy"]
    rows = []
    # shift-add engine
    per_cycle = engine_energy_per_cycle(design, ut)
    r = gemm_cycles_batch(design, m, n, k)
    tables = m * (-(-k // design.mu))
    cycles = float(((r["weight_writes"] + tables) * c).sum())
    e = {g: v * cycles for g, v in per_cycle.items()}
    e["lut_build"] += float((tables * c).sum()) * lut_build_energy(design, ut)
    bits = weight_bits_per_weight(
        "shiftadd",
        n,
        k,
        q=design.q,
        mu=design.mu,
        terms=design.terms,
        shift_bits=shift_bits or design.shift_bits,
        group_rows=group_rows,
    )
    rows.append(("shiftadd", e, float((weights * bits).sum()), design.act_bits))
    # int8 multiplier array, weights streaming
    per_cycle = engine_energy_per_cycle(baseline, ut, streaming_weights=True)
    cycles = float((-(-(m * n * k) // (baseline.k * baseline.n)) * c).sum())
    e = {g: v * cycles for g, v in per_cycle.items()}
    rows.append(
        (
            "int8",
            e,
            float((weights * weight_bits_per_weight("int8", n, k)).sum()),
            baseline.act_bits,
        )
    )
    if fp16_mac_pj:
        e = dict.fromkeys(per_cycle, 0.0)
        e["mult"] = macs * fp16_mac_pj
        rows.insert(0, ("fp16", e, float(weights.sum()) * 16.0, 16))
    out = []
    for engine, e, wbits, abits in rows:
        e = dict(e)
        e["dram_weights"] = wbits * dram_pj_per_bit
        e["dram_act"] = (act_words * abits + out_words * 16) * dram_pj_per_bit
        e["compute"] = sum(e[g] for g in per_cycle)
        e["memory"] = e["dram_weights"] + e["dram_act"]
        e["total"] = e["compute"] + e["memory"]
        e["weight_bits"] = wbits / float(weights.sum())
        out.append({"engine": engine, **e})
    df = pd.DataFrame(out).set_index("engine")
    ref = "fp16" if "fp16" in df.index else "int8"
    df[f"vs_{ref}"] = 1.0 - df["total"] / df.loc[ref, "total"]
    df["compute_per_mac_pj"] = df["compute"] / macs
    df.attrs.update(
        units=ut.name,
        node=f"{ut.meta.get('node_nm', 130)} nm",
        dram_pj_per_bit=dram_pj_per_bit,
        scope=scope,
        macs=macs,
        design=design.name,
        baseline=baseline.name,
        model=table.attrs.get("model"),
        phase=table.attrs.get("phase"),
    )
    return df
