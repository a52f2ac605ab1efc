"""Models of the shift-add engine (``arch = "shiftadd"``): golden, cycles, cost, layer energy.

- **Golden**: the engine computes :func:`shiftadd.models.lutgemm.lut_gemm` tile by tile; the
  helpers here map a BCQ layer onto the engine's scale granularity
  (:func:`engine_scales`) and compute what a stream of weight transfers accumulates
  (:func:`transfer_sums`, built on :func:`~shiftadd.models.lutgemm.build_luts`).
- **Cycles**: one input transfer per cycle; a GEMM loads ``ceil(K/mu)`` tables per
  activation vector and streams ``ceil(N/columns)`` weight transfers per table
  (:func:`shiftadd_cycles`, shared by :func:`gemm_cycles_batch` and the sweep kernel
  registered as ``"shiftadd"`` with :func:`~shiftadd.models.perf.design_vector`), every
  result leaves ``latency`` cycles after its ``last`` transfer (:func:`stream_output_cycles`).
- **Cost**: :func:`bill_of_materials` (priced by :func:`shiftadd.models.cost.estimate`) and
  the synthesis :func:`activity_profile` (weights streaming, tables held).
- **Layer energy**: :func:`layer_energy` counts LUT builds, lookups, shifts, adds and memory
  traffic of whole LLM layers on the shift-add engine and on FP16 and int8 multiplier
  engines (see ``docs/shiftadd_engine.md``).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..design.adder_tree import plan_tree
from ..design.base import range_width
from ..design.shiftadd import ShiftAddDesign
from ..errors import InputError
from ..rtl_gen.synth import activity_profile
from .cost import Item, _tree_adders, bill_of_materials
from .cycles import gemm_cycles_batch, stream_output_cycles
from .lutgemm import alpha_int_from_terms, build_luts
from .perf import design_vector, register_kernel
from .validation import validation_gemm

__all__ = ["engine_scales", "constant_scales", "transfer_sums", "accumulate", "lookup_mux2",
           "shiftadd_cycles",
           "lut_build_energy", "OpEnergies", "PAPER_45NM", "DRAM_PJ_PER_BIT",
           "shiftadd_op_counts", "weight_bits_per_weight", "layer_energy_ops",
           "engine_energy_per_cycle", "layer_energy_hw"]


# ---------------------------------------------------------------------------------------
# golden helpers
# ---------------------------------------------------------------------------------------

def constant_scales(design: ShiftAddDesign, rows: int,
                    groups: int) -> tuple[np.ndarray, np.ndarray]:
    """The fixed scales of a ``shifter = "constant"`` design broadcast to the scale grid
    ``(q, rows, groups, terms)`` of :func:`shiftadd.models.lutgemm.lut_gemm`."""
    sh = np.asarray(design.const_shifts, np.int64)[:, None, None, :]
    sg = np.asarray(design.const_signs, np.int64)[:, None, None, :]
    shape = (design.q, rows, groups, design.terms)
    return np.broadcast_to(sh, shape).copy(), np.broadcast_to(sg, shape).copy()


def engine_scales(design: ShiftAddDesign, shifts, signs, n_rows: int, k_cols: int):
    """Scale terms of a layer at the engine's granularity.

    Parameters
    ----------
    design : ShiftAddDesign
    shifts, signs : array_like, shape (q, N / group_rows, K / mu_a[, t])
        A layer's scale terms (:class:`~shiftadd.workloads.bcq.BCQResult` ``shifts`` and
        ``signs``); ``t`` may be smaller than the design's ``terms`` (missing terms are 0).
    n_rows, k_cols : int
        The layer's ``N`` and ``K``.

    Returns
    -------
    shifts, signs : numpy.ndarray of int64, shape (q, N / scale_rows, K / mu, terms)
        One scale set per ``scale_rows`` rows and ``mu`` inputs, as the weight transfers
        carry them.

    Raises
    ------
    InputError
        When the layer's groups are not whole multiples of the engine's (``scale_rows``
        must divide the row group, ``mu`` the scale block width).
    """
    sh = np.asarray(shifts, np.int64)
    sg = np.asarray(signs, np.int64)
    if sh.ndim == 3:
        sh, sg = sh[..., None], sg[..., None]
    q, ng, kb, t = sh.shape
    if q != design.q:
        raise InputError(f"the layer has {q} bit planes, the design {design.q}", field="q",
                         allowed=[q])
    if t > design.terms:
        raise InputError(f"the layer's scales have {t} terms, the design {design.terms}",
                         field="terms", allowed=f"an integer >= {t}")
    gr, mua = n_rows // ng, k_cols // kb
    if gr % design.scale_rows:
        raise InputError(f"{design.scale_rows} does not divide the layer's row group {gr}",
                         field="scale_rows", allowed=f"a divisor of {gr}")
    if mua % design.mu:
        raise InputError(f"{design.mu} does not divide the layer's scale block {mua}",
                         field="mu", allowed=f"a divisor of {mua}")
    if t < design.terms:
        pad = ((0, 0), (0, 0), (0, 0), (0, design.terms - t))
        sh, sg = np.pad(sh, pad), np.pad(sg, pad)
    reps = (gr // design.scale_rows, mua // design.mu)
    sh = np.repeat(np.repeat(sh, reps[0], axis=1), reps[1], axis=2)
    sg = np.repeat(np.repeat(sg, reps[0], axis=1), reps[1], axis=2)
    return sh, sg


def transfer_sums(design: ShiftAddDesign, act_groups, table_of, keys, shifts=None,
                  signs=None) -> np.ndarray:
    """What each weight transfer adds to the ``columns`` accumulators.

    Parameters
    ----------
    design : ShiftAddDesign
    act_groups : array_like of int, shape (loads, mu)
        The activation groups of every table load.
    table_of : array_like of int, shape (transfers,)
        Which load's table each weight transfer reads.
    keys : array_like of int, shape (transfers, columns, q)
        The ``mu``-bit keys (bit ``j`` = input ``j``, 1 = +1).
    shifts, signs : array_like of int, shape (transfers, scale_sets, q, terms), optional
        Barrel designs: the scale terms of each transfer (constant designs use their own).

    Returns
    -------
    numpy.ndarray of int64, shape (transfers, columns)
        ``sum_i sum_t sign * (T[key_i] << shift)`` with the tables of
        :func:`~shiftadd.models.lutgemm.build_luts`.
    """
    d = design
    tables = build_luts(np.asarray(act_groups, np.int64), d.mu)[:, 0, :]   # (loads, 2**mu)
    keys = np.asarray(keys, np.int64)
    table_of = np.asarray(table_of, np.int64)
    looked = tables[table_of[:, None, None], keys]                        # (W, columns, q)
    if d.shifter == "constant":
        alpha = alpha_int_from_terms(np.asarray(d.const_shifts), np.asarray(d.const_signs))
        return (looked * alpha[None, None, :]).sum(axis=2)
    sh = np.asarray(shifts, np.int64)
    sg = np.asarray(signs, np.int64)
    cols = np.arange(d.columns) // d.scale_rows
    sh, sg = sh[:, cols], sg[:, cols]                                     # (W, columns, q, t)
    return (sg * (looked[..., None] << sh)).sum(axis=(2, 3))


def accumulate(sums: np.ndarray, lengths) -> np.ndarray:
    """Results of consecutive accumulations of ``lengths`` transfers each (``sums`` in
    transfer order)."""
    lengths = np.asarray(lengths, np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    return np.add.reduceat(sums, starts, axis=0)


# ---------------------------------------------------------------------------------------
# cycles
# ---------------------------------------------------------------------------------------

@stream_output_cycles.register
def _(design: ShiftAddDesign, input_positions):
    # Fully pipelined: a `last` weight transfer's result leaves `latency` cycles later.
    return np.asarray(input_positions, dtype=np.int64) + design.latency


def shiftadd_cycles(mu, columns, lut_slots, latency, m, n, k) -> dict:
    """The GEMM schedule's cycles, vectorized (NumPy broadcasting over every argument).

    Per K-tile of ``lut_slots`` groups of ``mu`` inputs and per activation vector: load the
    tile's tables (one transfer per group), then for every N-tile of ``columns`` rows one
    weight transfer per group, the last one emitting the tile's partial sums. Tables are
    loaded once per vector and group whatever ``lut_slots`` is, and transfers follow back to
    back (a table write only affects later weight transfers), so
    ``transfers = M * G * (1 + ceil(N / columns))`` and the last result leaves ``latency``
    cycles after the last transfer. The scalar model (:func:`gemm_cycles_batch`) and the
    sweep kernel both call this.
    """
    groups = -(-k // mu)
    n_tiles = -(-n // columns)
    k_tiles = -(-groups // lut_slots)
    weight_writes = m * groups * n_tiles
    transfers = m * groups + weight_writes
    return {"cycles": transfers + latency, "transfers": transfers,
            "tiles": k_tiles * n_tiles, "weight_writes": weight_writes, "groups": groups,
            "k_tiles": k_tiles, "n_tiles": n_tiles}


@gemm_cycles_batch.register
def _(design: ShiftAddDesign, m, n, k):
    m, n, k = (np.asarray(v, dtype=np.int64) for v in (m, n, k))
    c = shiftadd_cycles(design.mu, design.columns, design.lut_slots, design.latency, m, n, k)
    macs = m * n * k
    return {"cycles": c["cycles"], "transfers": c["transfers"], "tiles": c["tiles"],
            "weight_writes": c["weight_writes"], "macs": macs,
            "utilization": macs / (c["cycles"] * design.columns * design.mu)}


# ---------------------------------------------------------------------------------------
# sweep: design vector and vectorized kernel
# ---------------------------------------------------------------------------------------

@design_vector.register
def _(design: ShiftAddDesign) -> dict[str, float]:
    d = design
    # Weight bits as the transfers carry them: q planes plus the scale fields of the
    # transfer spread over its columns * mu weights (slot and last are control).
    weight_bits = d.q + d.scale_bits_per_transfer / (d.columns * d.mu)
    return {"tile_k": d.mu, "tile_n": d.columns, "latency": d.latency,
            "act_bits": d.act_bits, "weight_bits": weight_bits, "out_bits": d.acc_width,
            "psum_bits": d.acc_width, "lanes": d.columns * d.mu, "mu": d.mu,
            "columns": d.columns, "lut_slots": d.lut_slots}


@register_kernel("shiftadd")
def _shiftadd_kernel(v: dict, m, n, k, act_buf_bits, weight_buf_bits, out_buf_bits):
    """Cycles and traffic of the shift-add engine's schedule (:func:`shiftadd_cycles`).

    Activations are read from DRAM once and from the activation buffer once per table
    load. The weights of a K-tile (``N x lut_slots * mu``) are streamed once per activation
    vector: from DRAM once if the block fits the weight buffer, else once per vector.
    Partial sums of K-tiles accumulate in the output buffer when the ``M x N`` block fits,
    else they go to DRAM and back.
    """
    c = shiftadd_cycles(v["mu"], v["columns"], v["lut_slots"], v["latency"], m, n, k)
    k_tiles = c["k_tiles"]
    ab, wb, pb, ob = v["act_bits"], v["weight_bits"], v["psum_bits"], v["out_bits"]
    weights = n * k * wb
    w_block = n * np.minimum(k, v["lut_slots"] * v["mu"]) * wb
    w_dram = np.where(w_block <= weight_buf_bits, weights, weights * m)
    w_stream = c["weight_writes"] * v["columns"] * v["mu"] * wb
    act = m * k * ab
    act_stream = m * c["groups"] * v["mu"] * ab
    psum_fits = m * n * pb <= out_buf_bits
    extra = np.maximum(k_tiles - 1, 0) * m * n * pb
    out_final = m * n * ob
    ones = np.ones_like(c["cycles"])
    return {
        "cycles": c["cycles"],
        "dram_read_bits": w_dram + act * ones + np.where(psum_fits, 0, extra),
        "dram_write_bits": out_final * ones + np.where(psum_fits, 0, extra),
        "act_buf_read_bits": act_stream * ones,
        "act_buf_write_bits": act * ones,
        "weight_buf_read_bits": w_stream * ones,
        "weight_buf_write_bits": w_dram * ones,
        "out_buf_read_bits": np.where(psum_fits, extra, 0) + out_final * ones,
        "out_buf_write_bits": np.where(psum_fits, extra, 0) + out_final * ones,
    }


# ---------------------------------------------------------------------------------------
# cost: bill of materials, synthesis activity
# ---------------------------------------------------------------------------------------

def _builder_items(design: ShiftAddDesign) -> list[Item]:
    """The LUT builder, its input register and the table slots: busy only while a table is
    loaded (once per ``mu`` activations and vector, shared by all ``N`` rows)."""
    d = design
    sum_count, sum_bits = _tree_adders(plan_tree([d.act_range] * d.mu))
    widths = _entry_widths(d)
    # entries 1 .. 2**mu - 1: one adder each, as wide as the entry's exact range
    t0_bits, inc_bits = widths[0], sum(widths[1:])
    entry_bits = sum(widths)
    return [
        Item("dffe", "act input register", d.mu * d.act_bits
             + (d.slot_bits if d.lut_slots > 1 else 0) + 1, active=False),
        Item("tree_adder", "LUT builder: group sum", sum_count, bits=sum_bits, active=False),
        Item("adder", "LUT builder: negation (entry 0)", 1, bits=t0_bits, active=False),
        Item("adder", "LUT builder: incremental entries", d.entries - 1, bits=inc_bits,
             active=False),
        # Each entry is stored at its exact width (the sign-extension bits of the uniform
        # table field duplicate a stored bit and are merged), and every entry's least
        # significant bit is the parity of the group (adding 2 x_s keeps it), stored once.
        Item("dffe", "table slots", d.lut_slots * (entry_bits - (d.entries - 1)),
             active=False),
        Item("and2", "table slot write decode", d.lut_slots * d.slot_bits
             if d.lut_slots > 1 else 0, active=False),
    ]


def _entry_widths(design: ShiftAddDesign) -> list[int]:
    """Exact width of every table entry (the builder's signals)."""
    from ..hw.shiftadd_lut import entry_range

    return [range_width(*entry_range(key, design.mu, design.act_range))[0]
            for key in range(design.entries)]


def lookup_mux2(design: ShiftAddDesign) -> int:
    """Distinct mux2 nodes of one lookup PE's ``2**mu``:1 tree after logic sharing.

    Bit 0 of every entry is the group's parity (``T[0]`` plus even numbers), one net, so
    it needs no mux; bits above an entry's exact width copy its sign bit, so a tree node
    whose entries are all narrower than bit ``b`` computes the same function for ``b`` as
    for ``b - 1`` and synthesis merges the two. A node over entries of widths ``w_e`` thus
    costs ``max(w_e) - 1`` mux2, not ``lut_width``.
    """
    level = [[w] for w in _entry_widths(design)]
    total = 0
    while len(level) > 1:
        nxt = []
        for i in range(0, len(level) - 1, 2):
            span = level[i] + level[i + 1]
            total += max(span) - 1
            nxt.append(span)
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return total


def _offset_alone(levels, depth: int) -> bool:
    """Whether the last node of ``levels[depth]`` is still the last leaf alone (an odd
    last node passes through every level unchanged)."""
    return all(len(levels[j]) % 2 for j in range(depth))


@bill_of_materials.register
def _(design: ShiftAddDesign) -> list[Item]:
    from ..hw.shiftadd_shift import BarrelShifter
    from ..hw.arith import shape_of_range

    d = design
    lookups = d.columns * d.q
    items = _builder_items(d)
    items += [
        Item("dffe", "weight input register", d.weight_transfer_bits + 1),
        Item("mux2", "lookup PEs (2**mu:1 muxes)", lookups * lookup_mux2(d)),
    ]
    if d.lut_slots > 1:
        # Per entry, a slot tree over its exact width (sign copies merged, see lookup_mux2;
        # bit 0 differs between slots, so it is muxed here).
        items.append(Item("mux2", "table slot select (shared)",
                          (d.lut_slots - 1) * sum(_entry_widths(d))))
    if d.shifter == "barrel":
        shifter = BarrelShifter(value_shape=shape_of_range(*d.lut_range), bits=d.shift_bits)
        shifter._MustUse__silence = True   # built only to read its stage widths
        per_shifter = sum(width - 1 for width in shifter.stage_widths)
        leaf_width = range_width(*d.leaf_range)[0]
        terms = lookups * d.terms
        c, b = _tree_adders(plan_tree([(0, 1)] * (d.q * d.terms)))
        items += [
            Item("mux2", "barrel shifters", terms * per_shifter),
            Item("xor2", "term sign inverters", terms * leaf_width),
            Item("and2", "term enables", terms * leaf_width),
            Item("and2", "negative-term flags", d.scale_sets * d.q * d.terms),
            Item("tree_adder", "negative-term counts", d.scale_sets * c, bits=d.scale_sets * b),
        ]
    else:
        negatives = sum(range_width(*d.leaf_range_of(s, g))[0] for *_, s, g in d.active_terms
                        if g < 0)
        items.append(Item("xor2", "negative-term inverters", d.columns * negatives))
    count, bits = _tree_adders(d.tree)
    items.append(Item("tree_adder", "plane-sum trees", d.columns * count, bits=d.columns * bits))
    for slot in d.register_slots:
        levels = d.tree.levels
        widths = [range_width(lo, hi)[0] for lo, hi in levels[slot]]
        flops = d.columns * sum(widths) + 1 + int(d.accumulates)
        # The offset leaf (count of negative terms) depends on the scale set only: while it
        # has not met a term it is the same register in every column of the set.
        if d.offset_range is not None and _offset_alone(levels, slot):
            flops -= (d.columns - d.scale_sets) * widths[-1]
        items.append(Item("dffe", f"pipeline register after layer {slot}", flops))
    acc = d.acc_width
    items.append(Item("dffe", "output register", d.columns * acc + 1))
    if d.accumulates:
        items += [
            Item("and2", "accumulator clear", d.columns * acc),
            Item("adder", "accumulators", d.columns, bits=d.columns * acc),
            Item("dffe", "accumulator registers", d.columns * acc),
            Item("dff", "accumulation state", 1),
        ]
    return [i for i in items if i.count]


@activity_profile.register
def _(design: ShiftAddDesign, data_activity: float):
    # The steady state of a layer: a weight transfer every cycle (random key and scale
    # bits), tables held (a table load is one transfer in 1 + ceil(N / columns), so the
    # builder's energy is accounted per build, see lut_build_energy), output always read.
    return [
        ("weights__payload*", data_activity, 0.5),
        ("weights__valid", 0.0, 1.0),
        ("act__*", 0.0, 0.0),
        ("result__ready", 0.0, 1.0),
        ("rst", 0.0, 0.0),
        ("*", 0.0, 0.0),
    ]


def lut_build_energy(design: ShiftAddDesign, table=None, *, data_activity: float = 0.5) -> float:
    """Energy in pJ of loading one table: the data energy of the act register, the builder
    and the slot written, as if they toggled at ``data_activity`` for one cycle (their clock
    energy and leakage are in :func:`~shiftadd.models.cost.estimate`'s every-cycle figure)."""
    from .cost import _price, _table

    table = _table(table)
    scale = data_activity / table.calibration_activity
    total = 0.0
    for item in _builder_items(design):
        if item.part == "table slots":   # one slot of lut_slots is written
            item = dataclasses.replace(item, count=item.count / design.lut_slots)
        if item.count:
            total += scale * _price(dataclasses.replace(item, active=True), table)[2]
    return total


# ---------------------------------------------------------------------------------------
# whole-layer energy: shift-add engine beside FP16 and int8 multiplier engines
# ---------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class OpEnergies:
    """Energy per operation (pJ) for the operation-count model, with its provenance.

    ``sa_add`` prices every add of the shift-add datapath (LUT build, scale terms,
    accumulation), ``fp16_*`` and ``int8_mult`` / ``int_add`` the multiplier engines.
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
    name="shiftaddllm-45nm", node="45 nm", fp16_mult=1.1, fp16_add=0.4, int8_mult=0.2,
    int_add=0.1, shift=0.15, lookup=0.37, sa_add=0.4,
    source="ShiftAddLLM energy table (FP16 mult/add, shift, lookup); Horowitz ISSCC 2014 "
           "(int8 mult, 32-bit add)")

#: DRAM energy per bit. ShiftAddLLM: 200 pJ per 16-bit access; Horowitz: 1.3-2.6 nJ per
#: 64 bits.
DRAM_PJ_PER_BIT = {"shiftaddllm": 200.0 / 16, "horowitz-low": 1300.0 / 64,
                   "horowitz-high": 2600.0 / 64}


def shiftadd_op_counts(m, n, k, *, q: int, mu: int, terms: int) -> dict[str, np.ndarray]:
    """Operations of ``Y[M, N] = X[M, K] @ W[N, K].T`` as a LUT-GEMM, vectorized over
    arrays of shapes (every scale with all ``terms`` present; equal to
    :func:`~shiftadd.models.lutgemm.lut_gemm_ops` then)."""
    m, n, k = (np.asarray(v, dtype=np.int64) for v in (m, n, k))
    groups = -(-k // mu)
    tables = m * groups
    lookups = m * q * n * groups
    return {"lut_tables": tables, "lut_build_adds": tables * ((1 << mu) + mu - 1),
            "lut_build_shifts": tables * mu, "lookups": lookups,
            "scale_shifts": lookups * terms, "scale_adds": lookups * (terms - 1),
            "accumulate_adds": m * n * (q * groups - 1)}


def weight_bits_per_weight(engine: str, n, k, *, q: int = 3, mu: int = 8, terms: int = 3,
                           shift_bits: int = 4, group_rows: int | None = None) -> np.ndarray:
    """DRAM bits per weight: FP16 16; int8 8 plus a 16-bit scale per output row; BCQ
    ``q`` planes plus the APoT scales (``t * shift_bits + 2 (t - 1)`` bits, or
    ``shift_bits`` for one term, per plane and block of ``group_rows x mu`` weights) and
    the layer's 8-bit exponent base."""
    n, k = np.asarray(n, np.float64), np.asarray(k, np.float64)
    if engine == "fp16":
        return np.full(np.broadcast(n, k).shape, 16.0)
    if engine == "int8":
        return 8.0 + 16.0 / k
    from ..workloads.bcq import scale_bits

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


def layer_energy_ops(table, *, units: OpEnergies = PAPER_45NM, q: int = 3, mu: int = 8,
                     terms: int = 3, shift_bits: int = 4, group_rows: int | None = None,
                     dram_pj_per_bit: float = DRAM_PJ_PER_BIT["shiftaddllm"],
                     act_bits: int = 8, scope: str = "linear"):
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
    import pandas as pd

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
            e["lut_build"] = tot["lut_build_adds"] * units.sa_add + \
                tot["lut_build_shifts"] * units.shift
            e["lookup"] = tot["lookups"] * units.lookup
            e["shift"] = tot["scale_shifts"] * units.shift
            e["add"] = (tot["scale_adds"] + tot["accumulate_adds"]) * units.sa_add
        bits = weight_bits_per_weight(engine, n, k, q=q, mu=mu, terms=terms,
                                      shift_bits=shift_bits, group_rows=group_rows)
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
    df.attrs.update(units=units.name, node=units.node, q=q, mu=mu, terms=terms,
                    dram_pj_per_bit=dram_pj_per_bit, scope=scope, macs=macs,
                    model=table.attrs.get("model"), phase=table.attrs.get("phase"))
    return df


# BOM parts of the engines grouped as the layer tables report them.
_PART_GROUPS = (("LUT builder", "lut_build"), ("act input", "lut_build"),
                ("table slot", "lookup"), ("lookup", "lookup"),
                ("barrel", "shift"), ("term", "shift"), ("negative", "shift"),
                ("plane-sum", "add"), ("accumulator", "add"), ("adder trees", "add"),
                ("multipliers", "mult"))


def _part_group(part: str) -> str:
    for prefix, group in _PART_GROUPS:
        if prefix in part:
            return group
    return "registers"


def engine_energy_per_cycle(design, table=None, *, data_activity: float = 0.5,
                            streaming_weights: bool = True) -> dict[str, float]:
    """Energy per cycle (pJ) of a design at full rate, by part group (``lookup``,
    ``shift``, ``add``, ``mult``, ``lut_build``, ``registers``), priced with a unit table.

    ``streaming_weights`` counts the weight registers of a multiplier array as toggling
    (every weight used once, as in LLM decoding), where :func:`~shiftadd.models.cost.estimate`
    holds them.
    """
    from .cost import _price, _table

    table = _table(table)
    scale = data_activity / table.calibration_activity
    out = dict.fromkeys(("lut_build", "lookup", "shift", "add", "mult", "registers"), 0.0)
    clock_ns = design.clock_ns
    for item in bill_of_materials(design):
        if streaming_weights and item.part == "weight registers":
            item = dataclasses.replace(item, active=True)
        _, e_clock, e_data, leak = _price(item, table)
        out[_part_group(item.part)] += e_clock + scale * e_data + leak * clock_ns
    return out


def layer_energy_hw(table, design: ShiftAddDesign, baseline, *, unit_table="ihp-sg13g2",
                    fp16_mac_pj: float | None = None,
                    dram_pj_per_bit: float = DRAM_PJ_PER_BIT["shiftaddllm"],
                    shift_bits: int | None = None, group_rows: int | None = None,
                    scope: str = "linear"):
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
    """
    import pandas as pd
    from .cost import _table
    from .cycles import gemm_cycles_batch as cycles_of

    ut = _table(unit_table)
    t = _weight_gemms(table, scope)
    m, n, k, c = (t[col].to_numpy(np.int64) for col in ("M", "N", "K", "count"))
    macs = float((m * n * k * c).sum())
    act_words = float(((m * k) * c).sum())
    out_words = float(((m * n) * c).sum())
    weights = n * k * c
    if fp16_mac_pj is None:
        from .technology import IHP_NODE_NM, IHP_VDD, scale_factors

        node, vdd = float(ut.meta.get("node_nm", IHP_NODE_NM)), float(ut.meta.get("vdd", IHP_VDD))
        fp16_mac_pj = (PAPER_45NM.fp16_mult + PAPER_45NM.fp16_add) * \
            scale_factors(45.0, 0.9, node, vdd)["energy"]
    rows = []
    # shift-add engine
    per_cycle = engine_energy_per_cycle(design, ut)
    r = cycles_of(design, m, n, k)
    tables = m * (-(-k // design.mu))
    cycles = float(((r["weight_writes"] + tables) * c).sum())
    e = {g: v * cycles for g, v in per_cycle.items()}
    e["lut_build"] += float((tables * c).sum()) * lut_build_energy(design, ut)
    bits = weight_bits_per_weight("shiftadd", n, k, q=design.q, mu=design.mu,
                                  terms=design.terms,
                                  shift_bits=shift_bits or design.shift_bits,
                                  group_rows=group_rows)
    rows.append(("shiftadd", e, float((weights * bits).sum()), design.act_bits))
    # int8 multiplier array, weights streaming
    per_cycle = engine_energy_per_cycle(baseline, ut, streaming_weights=True)
    cycles = float((-(-(m * n * k) // (baseline.k * baseline.n)) * c).sum())
    e = {g: v * cycles for g, v in per_cycle.items()}
    rows.append(("int8", e, float((weights * weight_bits_per_weight("int8", n, k)).sum()),
                 baseline.act_bits))
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
    df.attrs.update(units=ut.name, node=f"{ut.meta.get('node_nm', 130)} nm",
                    dram_pj_per_bit=dram_pj_per_bit, scope=scope, macs=macs,
                    design=design.name, baseline=baseline.name,
                    model=table.attrs.get("model"), phase=table.attrs.get("phase"))
    return df


@validation_gemm.register
def _(design: ShiftAddDesign):
    # The cost model prices the steady state of a layer: weight transfers streaming past
    # held tables (the builder works once per 1 + ceil(N / columns) transfers). The default
    # GEMM (one and a half N-tiles) would make every third transfer a table load, so the
    # fidelity check runs a decode-like slice: 17 N-tiles (the last one partial), two
    # K-tiles (partial sums leave the engine), four activation vectors.
    return 4, 16 * design.columns + max(1, design.columns // 2), 2 * design.mu * design.lut_slots
