"""The threshold array's cost model: building blocks counted from the PE structure, priced
at the switching activity the program causes, the neuron priced by a cell preset."""

from __future__ import annotations

import collections
import functools
from typing import cast

import numpy as np

from ...design.arith import xnor_matches
from ...design.threshold import ThresholdDesign
from ...design.threshold_program import schedule
from ...errors import InputError
from ...workloads.activity_stats import DataActivity
from ..cost import Item, price, unit_table
from ..data_activity import MAX_TILES, MAX_VECTORS, random_codes, ratio
from .cells import CellPreset, cell_preset
from .golden import LayerRuns, execute, layer_runs

__all__ = [
    "program_activity",
    "threshold_fanout_nets",
    "one_hot_decoder",
    "threshold_bom",
    "bill_of_materials",
    "threshold_estimate",
    "step_stream_activity",
    "activity_profile",
    "data_activity",
]


def _cell(design: ThresholdDesign, preset: str | CellPreset | None) -> CellPreset:
    if isinstance(preset, CellPreset):
        return preset
    return cell_preset(preset or "standard_cell", tuple(design.neuron_weights))


def program_activity(
    design: ThresholdDesign, k: int | None = None, *, runs: int = 6, seed: int = 0
) -> dict:
    """Toggle rates (per bit per cycle) of the array's parts while it streams random binary
    layers (inputs and weights uniformly random, thresholds near the median count), from the
    NumPy interpreter of the program (:func:`execute`, the RTL's exact state sequence) and
    the instruction stream itself.

    Returns ``instruction`` (step-register bits), ``select_change`` (a neuron input's source
    select changes), ``reg``, ``mem``, ``data`` (neuron registers, local memory, data
    registers) and ``x`` (neuron inputs after the inversion).

    Parameters
    ----------
    design : ThresholdDesign
        The array (its PE structure; name, clock and PE count beyond four do not matter).
    k : int, optional
        Fan-in of the layers streamed (default: ``design.k``).
    runs : int
        Random layers interpreted.
    seed : int
        Seed of the random layers.

    Returns
    -------
    dict of str to float
        The toggle rates named above.
    """
    # The rates depend on the PE's program and data only: designs that differ in name,
    # clock or PE count beyond the four interpreted share one run (a sweep varies those).
    key = design.replace(name="activity", clock_ns=10.0, pes=min(design.pes, 4))
    return _program_activity(cast(ThresholdDesign, key), design.k if k is None else k, runs, seed)


@functools.lru_cache(maxsize=256)
def _program_activity(design: ThresholdDesign, k: int, runs: int, seed: int) -> dict:
    prog = schedule(design, k)
    K, S = prog.k, prog.steps
    pes = min(design.pes, 4)  # every PE runs the same program on like data
    d = cast(ThresholdDesign, design.replace(pes=pes))
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 2, (pes * design.vectors, K))
    w = rng.integers(0, 2, (runs, K))
    t = K // 2 + rng.integers(-1, 2, runs)
    lr = layer_runs(d, x, w, t, rng.random(runs) < 0.5)
    counts = _run_switching(d, lr)
    src = np.asarray(lr.fields["src"]).reshape(runs * S, -1)
    rates = {key: f / n for key, (f, n) in counts.items()}
    return {
        "instruction": rates["instruction"],
        "select_change": float((src[1:] != src[:-1]).mean()),
        **{key: rates[key] for key in ("reg", "mem", "data", "x")},
    }


def _run_switching(design: ThresholdDesign, lr: LayerRuns) -> dict:
    """``(flips, bit-cycles)`` of the array's nets over the runs of ``lr``, from the
    interpreter (:func:`execute`: ``reg``, ``mem``, ``data``, ``x``, each run from its own
    start) and the instruction fields (``instruction``: the step register, runs back to
    back; ``load`` is used on acceptance, not registered)."""
    tog: dict = {}
    execute(design, lr.fields, lr.data, toggles=tog)
    n = tog["steps"] * design.pes
    steps = lr.runs * lr.program.steps
    flips = 0
    for key, val in lr.fields.items():
        if key == "load":
            continue
        a = np.asarray(val).reshape(steps, -1).astype(np.int64)
        flips += int(np.bitwise_count(a[1:] ^ a[:-1]).sum())
    return {
        "instruction": (float(flips), float((steps - 1) * design.instruction_bits)),
        "reg": (float(tog["reg"]), float(n * design.neurons)),
        "mem": (float(tog["mem"]), float(n * design.storage_bits)),
        "data": (float(tog["data"]), float(n * design.data_bits)),
        "x": (float(tog["x"]), float(n * design.neurons * design.fan_in)),
    }


#: Which nets of the PE each kind of switching follows on measured data (``Item.driver``;
#: :func:`data_activity`): the data registers the activation bits (``act``), the instruction
#: (step register, decoders, instruction nets) the weights, which travel in it as input
#: polarities (``weight``), the neuron inputs after the inversion, i.e. the XNOR terms and
#: the intermediate bits read back (``term``), the neuron outputs, local memory or neuron
#: registers and results, i.e. the popcount's and compare's bits (``sum``).
_DRIVER = {"instruction": "weight", "data": "act", "x": "term", "reg": "sum", "mem": "sum"}


def _at_activity(
    unit: str,
    part: str,
    count: float,
    toggles_per_input: float,
    bits: float = 0.0,
    driver: str = "weight",
    clock: float = 1.0,
) -> list[Item]:
    """``count`` units whose data inputs toggle ``toggles_per_input`` times per cycle on
    average: the table prices a unit at the calibration activity (0.5 per input), so the
    share ``a = toggles / 0.5`` of them is priced active and the rest held (same area and
    clock energy). ``a`` is capped at 1. ``bits`` is passed on (a net's fan-out for
    ``fanout_buf``); ``driver`` names the nets whose measured switching scales the active
    share on data (:data:`_DRIVER`); ``clock`` is the share of cycles the units' clock runs
    (a clock-gated group, :attr:`Item.clock`)."""
    a = min(max(toggles_per_input / 0.5, 0.0), 1.0)
    items = [Item(unit, part, count * a, bits=bits, driver=driver, clock=clock)]
    if a < 1.0:
        items.append(
            Item(
                unit,
                f"{part} (held share)",
                count * (1.0 - a),
                bits=bits,
                active=False,
                driver=driver,
                clock=clock,
            )
        )
    return items


def gate_open_shares(design: ThresholdDesign, prog) -> dict[str, float]:
    """Share of a program's steps each clock-gated register group loads on (its gate's
    enable), runs back to back at full rate: ``storage`` (a neuron register ``R_n``, the
    mean over the neurons, or a PE's local memory: any neuron stores), ``data`` (loading
    steps), ``result`` (emitting steps). All 1.0 without :attr:`ThresholdDesign.clock_gating`
    (every register clocked every cycle).

    Parameters
    ----------
    design : ThresholdDesign
        The threshold array.
    prog : Program
        Its program for the fan-in priced.

    Returns
    -------
    dict
        ``storage``, ``data``, ``result``: shares in ``[0, 1]``.
    """
    if not design.clock_gating:
        return {"storage": 1.0, "data": 1.0, "result": 1.0}
    store = np.asarray(prog.store, bool)
    storage = store.mean(axis=0).mean() if design.ring else store.any(axis=1).mean()
    return {
        "storage": float(storage),
        "data": float(np.asarray(prog.load, bool).mean()),
        "result": float(np.asarray(prog.emit, bool).mean()),
    }


def clock_gate_items(design: ThresholdDesign, shares: dict[str, float]) -> list[Item]:
    """The clock gates of a gated array (:attr:`ThresholdDesign.clock_gates`), each with the
    flip-flops it drives and the share of cycles it is open; none without gating."""
    d = design
    if not d.clock_gating:
        return []
    if d.ring:
        storage = ("clock gates: neuron registers R_n", d.pes * d.neurons, d.neuron_register_bits)
    else:
        storage = ("clock gates: local memory", d.pes, d.memory_bits)
    groups = [
        (*storage, shares["storage"]),
        ("clock gate: data registers", 1, d.pes * d.data_bits, shares["data"]),
        ("clock gate: result register", 1, d.pes, shares["result"]),
    ]
    return [
        Item("icg", part, count, bits=bits, clock=share, driver="weight")
        for part, count, bits, share in groups
    ]


def one_hot_decoder(bits: int, codes) -> tuple[int, list[int]]:
    """Two-input gates of a one-hot decoder and the fan-outs of its inner nets.

    Synthesis builds each comparison ``select == code`` as an AND of ``bits`` literals in a
    balanced tree that pairs neighbouring bits (bits 0 and 1, 2 and 3, ..., an odd bit
    joining at the top), and shares every subtree two codes have in common: a gate of the
    tree over bits ``lo..hi`` exists once per distinct value the codes take on those bits.
    A 5-bit select decoded into 27 codes is 51 gates (4 + 4 + 16 + 27), not 27.

    Parameters
    ----------
    bits : int
        Width of the decoded field (at least 1).
    codes : iterable of int
        The decoded values, each with an output (a multiplexer's select line).

    Returns
    -------
    gates : int
        Two-input gates of the decoder (its outputs included).
    fanouts : list of int
        Gates each inner net drives: the select bits' literals (true and complemented) and
        the shared subterms; the outputs are not included.
    """
    codes = sorted({int(c) for c in codes})
    if bits < 1 or not codes or codes[0] < 0 or codes[-1] >> bits:
        raise ValueError(f"codes {codes} do not fit a {bits}-bit decoder")
    ranges = [(i, i + 1) for i in range(bits)]

    def values(lo: int, hi: int) -> set[int]:
        return {(c >> lo) & ((1 << (hi - lo)) - 1) for c in codes}

    gates, fanouts = 0, []
    while len(ranges) > 1:
        merged = []
        for j in range(0, len(ranges) - 1, 2):
            (lo, mid), (_, hi) = ranges[j], ranges[j + 1]
            parent = values(lo, hi)
            gates += len(parent)
            # Each value of a child subtree (or literal) drives the parents that extend it.
            fanouts += [
                sum(1 for p in parent if p & ((1 << (mid - lo)) - 1) == v) for v in values(lo, mid)
            ]
            fanouts += [sum(1 for p in parent if p >> (mid - lo) == v) for v in values(mid, hi)]
            merged.append((lo, hi))
        if len(ranges) % 2:
            merged.append(ranges[-1])
        ranges = merged
    return gates, fanouts


def threshold_fanout_nets(design: ThresholdDesign) -> list[tuple[str, int, int, str | None]]:
    """The array's nets of high fan-out, ``(name, nets, fan-out, activity key)``, from its
    structure (:class:`shiftadd.hw.threshold_array.ThresholdPE`): the instruction is decoded
    once and drives every PE; a PE's register, memory and data bits feed every neuron
    input's source multiplexer. The activity key names the :func:`program_activity` rate the
    net toggles at (``None``: held, as the reset).

    Parameters
    ----------
    design : ThresholdDesign
        The threshold array.

    Returns
    -------
    list of (str, int, int, str or None)
        ``(name, nets, fan-out, activity key)`` per kind of net.
    """
    d = design
    if d.ring:
        return _ring_fanout_nets(d)
    P, N, F, L, D = d.pes, d.neurons, d.fan_in, d.memory_bits, d.data_bits
    inputs = N * F + 1  # neuron inputs and the emit multiplexer
    # Inner nets of the shared decoders: a select bit's literal or a shared subterm drives
    # every gate that extends it (one_hot_decoder); only fan-outs of 4 and more are kept.
    inner: collections.Counter = collections.Counter()
    for decoders, bits, codes in (
        (inputs, d.select_bits, range(1, d.sources)),
        (N, d.address_bits, range(L)),
    ):
        for fanout in one_hot_decoder(bits, codes)[1]:
            if fanout >= 4:
                inner[fanout] += decoders
    return [
        ("one-hot source selects", inputs * d.sources, P, "instruction"),
        *[
            (f"decoder inner nets (fan-out {f})", n, f, "instruction")
            for f, n in sorted(inner.items())
        ],
        ("store address decodes", N * L, P, "instruction"),
        (
            "per-neuron instruction fields (threshold, inversions, enable)",
            N * (d.threshold_bits + F + 1) + 1,
            P,
            "instruction",
        ),
        # Each source bit feeds every neuron input's multiplexer and the emit multiplexer;
        # a memory or data bit also its own hold multiplexer, a neuron's register every
        # memory bit's write multiplexer.
        ("local memory bits", P * L, inputs + 1, "mem"),
        ("data register bits", P * D, inputs + 1, "data"),
        ("neuron outputs", P * N, inputs + L, "reg"),
        ("reset", 1, P * (N + L + 1) + 2, None),
        # The step register's load enable (accept a step) selects the next value of every
        # instruction bit (two gates each: the enable multiplexer); a loading step's enable
        # every data register bit. Both are steady while a layer streams.
        ("step register enable", 1, 2 * (d.instruction_bits - 1), None),
        ("data register load enable", 1, P * D, None),
    ]


def _decoder_inner_nets(decoders) -> list[tuple[str, int, int, str | None]]:
    """Fan-out nets of 4 and more inside shared one-hot decoders, ``(decoders, bits,
    codes)`` per kind of decoder (:func:`one_hot_decoder`)."""
    inner: collections.Counter = collections.Counter()
    for count, bits, codes in decoders:
        for fanout in one_hot_decoder(bits, codes)[1]:
            if fanout >= 4:
                inner[fanout] += count
    return [
        (f"decoder inner nets (fan-out {f})", n, f, "instruction") for f, n in sorted(inner.items())
    ]


def _ring_fanout_nets(design: ThresholdDesign) -> list[tuple[str, int, int, str | None]]:
    """:func:`threshold_fanout_nets` of the ring PE (``pe = "tulip"``): a neuron's output
    and register bits feed only its own and the next neuron's inputs (and the emit)."""
    d = design
    P, N, F, L, D = d.pes, d.neurons, d.fan_in, d.neuron_register_bits, d.data_bits
    return [
        ("one-hot source selects", N * F * d.sources + d.emit_sources, P, "instruction"),
        *_decoder_inner_nets(
            (
                (N * F, d.select_bits, range(1, d.sources)),
                (1, d.emit_select_bits, range(1, d.emit_sources)),
                (N, d.address_bits, range(L)),
            )
        ),
        ("store address decodes", N * L, P, "instruction"),
        (
            "per-neuron instruction fields (threshold, inversions, enable)",
            N * (d.threshold_bits + F + 1) + 1,
            P,
            "instruction",
        ),
        # A register bit feeds its own and the next neuron's inputs, the emit and its hold
        # multiplexer; a neuron's output those and its own register's write data.
        ("neuron register bits", P * N * L, 2 * F + 2, "mem"),
        ("data register bits", P * D, N * F + 2, "data"),
        ("neuron outputs", P * N, 2 * F + 1 + L, "reg"),
        ("reset", 1, P * (N + N * L + 1) + 2, None),
        ("step register enable", 1, 2 * (d.instruction_bits - 1), None),
        ("data register load enable", 1, P * D, None),
    ]


def _ring_bom(design: ThresholdDesign, cell: CellPreset, prog, act: dict) -> list[Item]:
    """:func:`threshold_bom` of the ring PE (``pe = "tulip"``): per-neuron registers with
    no write-data multiplexer, ring multiplexers over ``3 + 2 L_n + D`` sources, the
    emit multiplexer over every output, register and data bit, the narrower instruction."""
    d = design
    P, N, F, L, D = d.pes, d.neurons, d.fan_in, d.neuron_register_bits, d.data_bits
    S, E = d.sources, d.emit_sources
    r_instr = act["instruction"]
    sel_gates = one_hot_decoder(d.select_bits, range(1, S))[0]
    emit_gates = one_hot_decoder(d.emit_select_bits, range(1, E))[0]
    store_gates = one_hot_decoder(d.address_bits, range(L))[0]
    # A ring input's multiplexer: two neuron outputs, 2 L register bits, D data bits.
    r_mux = (2 * act["select_change"] + 2 * act["reg"] + 2 * L * act["mem"] + D * act["data"]) / (
        2 * S
    )
    r_emit = (N * act["reg"] + N * L * act["mem"] + D * act["data"]) / (2 * E)
    gate = gate_open_shares(d, prog)
    items = [
        *_at_activity("dffe", "step register (instruction)", d.instruction_bits, r_instr),
        *_at_activity("and2", "select decoders (shared)", N * F * sel_gates, r_instr),
        *_at_activity("and2", "emit select decoder (shared)", emit_gates, r_instr),
        # Each neuron's store address decoded into its L register bits' enables.
        *_at_activity("and2", "store address decoders (shared)", N * (store_gates + L), r_instr),
        *_at_activity(
            "dffe", "data registers", P * D, act["data"], driver="act", clock=gate["data"]
        ),
        Item(
            "threshold_neuron",
            f"threshold neurons ({cell.name})",
            P * N,
            price=cell.price(prog.utilization),
            driver="term",
        ),
        *_at_activity("and2", "ring input multiplexers", P * N * F * S, r_mux, driver="term"),
        *_at_activity(
            "xor2", "neuron input inversions", P * N * F, (act["x"] + r_instr) / 2, driver="term"
        ),
        *_at_activity("and2", "emit multiplexers", P * E, r_emit, driver="sum"),
        # Written only from the owning neuron's output: the enable is the decoded store.
        *_at_activity(
            "dffe",
            "neuron registers R_n",
            P * N * L,
            act["mem"],
            driver="sum",
            clock=gate["storage"],
        ),
        *_result_register(d, prog, gate),
        *clock_gate_items(d, gate),
    ]
    for part, nets, fanout, rate in _ring_fanout_nets(d):
        items += _at_activity(
            "fanout_buf",
            f"fan-out buffers: {part}",
            nets,
            act[rate] if rate else 0.0,
            bits=fanout,
            driver=_DRIVER[rate or "instruction"],
        )
    return items


def _result_register(design: ThresholdDesign, prog, gate: dict[str, float]) -> list[Item]:
    """The result register: one bit per PE and the valid bit. Gated, the payload bits are
    clocked only on emitting steps and the valid bit stays on the free-running clock."""
    rate = 0.5 * prog.outputs / prog.steps
    P = design.pes
    if not design.clock_gating:
        return _at_activity("dffe", "result register", P + 1, rate, driver="sum")
    return [
        *_at_activity("dffe", "result register", P, rate, driver="sum", clock=gate["result"]),
        *_at_activity("dffe", "result valid", 1, rate, driver="sum"),
    ]


def threshold_bom(
    design: ThresholdDesign, cell: str | CellPreset | None = None, k: int | None = None
) -> list[Item]:
    """Building blocks of a threshold array running the program for fan-in ``k``, with the
    neuron priced by a cell preset (default: the synthesized standard-cell neuron).

    Parameters
    ----------
    design : ThresholdDesign
        The threshold array.
    cell : str or CellPreset, optional
        The neuron's preset or its name (``"standard_cell"`` or ``"custom_cell"``); default
        the standard-cell neuron for the design's ``neuron_weights``.
    k : int, optional
        Fan-in of the layer the program is scheduled for; default ``design.k``.

    Returns
    -------
    list of Item
        The array's parts, each split into an active and a held share by its switching
        activity under the program.

    Raises
    ------
    InputError
        When the preset characterizes a neuron with other weights.
    """
    d = design
    prog = schedule(d, k)
    P, N, F, L, D = d.pes, d.neurons, d.fan_in, d.memory_bits, d.data_bits
    cell = _cell(d, cell)
    if tuple(cell.weights) and tuple(cell.weights) != tuple(d.neuron_weights):
        raise InputError(
            f"the {cell.name} preset characterizes a neuron with weights {list(cell.weights)}",
            field="neuron_weights",
            allowed=[list(cell.weights)],
        )
    if d.ring:
        return _ring_bom(d, cell, prog, program_activity(d, k))
    util = prog.utilization
    S = d.sources
    # Every PE executes the same instruction, so each select is decoded once (one-hot,
    # shared) and a PE's S-input multiplexer is S gated inputs into an OR: about S two-input
    # gates per multiplexer, which is what synthesis builds (AND-OR-invert cells).
    act = program_activity(d, k)
    r_instr = act["instruction"]
    sel_gates = one_hot_decoder(d.select_bits, range(1, S))[0]
    store_gates = one_hot_decoder(d.address_bits, range(L))[0]
    # A neuron input's S-way multiplexer is S gates with two inputs each: its one-hot select
    # line (two of them toggle when the select changes) and its source bit.
    r_mux = (2 * act["select_change"] + N * act["reg"] + L * act["mem"] + D * act["data"]) / (2 * S)
    gate = gate_open_shares(d, prog)
    items = [
        # The registered instruction (all of it but `load`, used on acceptance) and valid;
        # its bits toggle as the program's instructions do.
        *_at_activity("dffe", "step register (instruction)", d.instruction_bits, r_instr),
        # Each neuron input's (and the emit) select is decoded into its S - 1 one-hot lines
        # (source 0 is the constant), a neuron's store address into L lines, each then
        # qualified by the neuron's store and the commit; trees of two-input gates with
        # shared subterms (one_hot_decoder).
        *_at_activity("and2", "select decoders (shared)", (N * F + 1) * sel_gates, r_instr),
        *_at_activity("and2", "store address decoders (shared)", N * (store_gates + L), r_instr),
        # A memory bit is written when any neuron stores to it: an OR of N write lines.
        *_at_activity("and2", "local memory write enables (shared)", L * (N - 1), r_instr),
        *_at_activity(
            "dffe", "data registers", P * D, act["data"], driver="act", clock=gate["data"]
        ),
        Item(
            "threshold_neuron",
            f"threshold neurons ({cell.name})",
            P * N,
            price=cell.price(util),
            driver="term",
        ),
        *_at_activity("and2", "neuron input multiplexers", P * N * F * S, r_mux, driver="term"),
        *_at_activity(
            "xor2", "neuron input inversions", P * N * F, (act["x"] + r_instr) / 2, driver="term"
        ),
        *_at_activity("and2", "emit multiplexers", P * S, r_mux, driver="term"),
        *_at_activity(
            "dffe", "local memory", P * L, act["mem"], driver="sum", clock=gate["storage"]
        ),
        # The highest storing neuron wins a memory bit: a chain of N - 1 two-way
        # multiplexers over the neurons' registers per bit (the hold is the enable).
        *_at_activity(
            "mux2", "local memory write select", P * L * (N - 1), act["reg"], driver="sum"
        ),
        *_result_register(d, prog, gate),
        *clock_gate_items(d, gate),
    ]
    # Buffers synthesis puts on the nets of high fan-out (a tenth of the pooled array's cells).
    for part, nets, fanout, rate in threshold_fanout_nets(d):
        items += _at_activity(
            "fanout_buf",
            f"fan-out buffers: {part}",
            nets,
            act[rate] if rate else 0.0,
            bits=fanout,
            driver=_DRIVER[rate or "instruction"],
        )
    return items


def bill_of_materials(design: ThresholdDesign) -> list[Item]:
    """The building blocks of a threshold array (standard-cell neuron preset).

    Parameters
    ----------
    design : ThresholdDesign
        The threshold array.

    Returns
    -------
    list of Item
        :func:`threshold_bom` with the default preset and fan-in.
    """
    return threshold_bom(design)


def threshold_estimate(
    design: ThresholdDesign,
    cell: str | CellPreset | None = None,
    *,
    k: int | None = None,
    table=None,
    data_activity: float = 0.5,
) -> dict:
    """Area, energy per cycle and per binary neuron evaluation of ``design`` with a cell
    preset, for the program of fan-in ``k``.

    Parameters
    ----------
    design : ThresholdDesign
        The threshold array.
    cell : str or CellPreset, optional
        The neuron's preset or its name; default the standard-cell neuron.
    k : int, optional
        Fan-in of the layer the program is scheduled for; default ``design.k``.
    table : UnitTable or str, optional
        Unit table, its name or file; default the calibrated IHP SG13G2 table.
    data_activity : float
        Toggles per cycle of a data bit (0 to 1), relative to the table's calibration
        activity.

    Returns
    -------
    dict
        ``area_um2``, ``energy_per_cycle_pj`` (leakage included), ``leakage_mw``,
        ``evaluations_per_cycle``, ``energy_per_evaluation_pj``, ``steps`` (program length)
        and ``breakdown`` (one dict per part).
    """
    table = unit_table(table)
    prog = schedule(design, k)
    scale = data_activity / table.calibration_activity
    rows = []
    area = energy = leak = 0.0
    for item in threshold_bom(design, cell, k):
        a, e_clock, e_data, lk = price(item, table)
        e = e_clock + scale * e_data
        area, energy, leak = area + a, energy + e, leak + lk
        rows.append(
            {
                "part": item.part,
                "unit": item.unit,
                "count": item.count,
                "area": a,
                "energy_per_cycle_pj": e + lk * design.clock_ns,
            }
        )
    energy += leak * design.clock_ns
    evals_per_cycle = design.pes * design.vectors / prog.steps
    return {
        "area_um2": area,
        "energy_per_cycle_pj": energy,
        "leakage_mw": leak,
        "evaluations_per_cycle": evals_per_cycle,
        "energy_per_evaluation_pj": energy / evals_per_cycle,
        "steps": prog.steps,
        "breakdown": rows,
    }


def step_stream_activity(
    design: ThresholdDesign,
    k: int | None = None,
    *,
    runs: int = 8,
    seed: int = 0,
    data_activity: float = 0.5,
) -> float:
    """Mean toggles per cycle of the step stream's payload bits while a layer runs: the
    program's instructions for random weights and thresholds, and input bits that change
    with probability ``data_activity`` on loading steps.

    Parameters
    ----------
    design : ThresholdDesign
        The threshold array.
    k : int, optional
        Fan-in of the layer the program is scheduled for; default ``design.k``.
    runs : int
        Random output neurons simulated.
    seed : int
        Seed of the random layer.
    data_activity : float
        Probability that an input bit changes on a loading step (0 to 1).

    Returns
    -------
    float
        Mean toggles per payload bit per cycle.
    """
    rng = np.random.default_rng(seed)
    prog = schedule(design, k)
    K = prog.k
    rows = design.pes * design.vectors
    x = (rng.random((rows, K)) < 0.5).astype(np.int8)
    w = rng.integers(0, 2, (runs, K))
    t = rng.integers(0, K + 1, runs)
    lr = layer_runs(design, x, w, t, rng.random(runs) < 0.5)
    flat = lr.payload()
    n = lr.runs * prog.steps
    # Toggles per field from consecutive values (the mean over all payload bits does not
    # depend on where each field sits in the payload).
    widths = design.step_field_widths
    flips = total_bits = 0
    data_flips = 0
    for name, width in widths.items():
        values = np.asarray(flat[name]).reshape(n, -1).astype(np.int64) & ((1 << width) - 1)
        changed = int(np.bitwise_count(values[1:] ^ values[:-1]).sum())
        flips += changed
        total_bits += values.shape[1] * width
        if name == "data":
            data_flips = changed
    toggles = flips / ((n - 1) * total_bits)
    # Input bits are random here (toggle rate 0.5 on a load); scale them to data_activity.
    data_width = design.pes * design.data_bits
    data_share = data_width / total_bits
    data_rate = data_flips / ((n - 1) * data_width)
    return float(toggles + data_share * data_rate * (data_activity / 0.5 - 1.0))


def activity_profile(
    design: ThresholdDesign, data_activity: float
) -> list[tuple[str, float, float]]:
    """Port switching while a layer streams (for vectorless synthesis power).

    Parameters
    ----------
    design : ThresholdDesign
        The threshold array.
    data_activity : float
        Probability that an input bit changes on a loading step (0 to 1).

    Returns
    -------
    list of (str, float, float)
        ``(port glob, toggles per cycle, duty)`` rules, first match wins: the step payload
        toggles at :func:`step_stream_activity`'s rate.
    """
    # Streaming a layer: a new instruction every cycle, input bits on loading steps,
    # results always read.
    return [
        ("step__payload*", step_stream_activity(design, data_activity=data_activity), 0.5),
        ("step__valid", 0.0, 1.0),
        ("result__ready", 0.0, 1.0),
        ("rst", 0.0, 0.0),
        ("*", 0.0, 0.0),
    ]


def _layer_switching(design: ThresholdDesign, w: np.ndarray, x: np.ndarray, tiles: int) -> dict:
    """``(flips, bit-cycles)`` of the array's nets (:func:`_run_switching`) when it runs the
    binary layer of input bits ``x`` (M, K) and weight bits ``w`` (N, K) as the bench
    streams it: the program for fan-in K, one run per output neuron and group of ``pes *
    vectors`` rows, neuron-major; at most ``tiles`` output neurons (evenly spaced) and
    :data:`~shiftadd.models.data_activity.MAX_VECTORS` rows. Each neuron's threshold is
    its median count over those rows (a batch-normalized layer's: both outcomes occur), and
    every other neuron compares ``<= T``."""
    d = design
    m = min(x.shape[0], max(MAX_VECTORS, d.pes * d.vectors))
    m -= m % d.pool
    if m == 0:
        raise InputError(
            f"{x.shape[0]} activation rows do not fill one pooling window of {d.pool}",
            field="data",
            allowed=f"at least {d.pool} rows",
        )
    n = w.shape[0]
    pick = np.unique(np.linspace(0, n - 1, min(n, max(1, tiles))).round().astype(int))
    xs, ws = x[:m], w[pick]
    counts = xnor_matches(xs, ws)  # (m, outputs)
    thresholds = np.round(np.median(counts, axis=0)).astype(np.int64)
    flips = np.arange(len(pick)) % 2 == 1
    return _run_switching(d, layer_runs(d, xs, ws, thresholds, flips))


def data_activity(
    design: ThresholdDesign, w_codes: np.ndarray, x_codes: np.ndarray, *, tiles: int = MAX_TILES
) -> DataActivity:
    """Switching of a threshold array running the binary layer of activation bits
    ``x_codes`` (M, K) and weight bits ``w_codes`` (N, K) (1 = +1), laid out as the bench
    streams it (:func:`_layer_switching`), against uniformly random bits laid out the same
    way.

    The NumPy interpreter of the program (:func:`execute`, the RTL's state sequence) gives
    the flips of each kind of net; each is returned as an equivalent activity (0.5 x rate on
    the data / rate on random bits; :func:`~shiftadd.models.data_activity.ratio`), the
    activity at which the bill of materials' calibrated price of the items it drives
    (``Item.driver``) gives their energy on the data: ``act_toggle`` the data registers
    (input bits), ``weight_toggle`` the step register and the instruction's decoders and
    nets (the weights are its input polarities), ``term`` the neuron inputs after the
    inversion (XNOR terms and intermediate bits read back; the neurons and multiplexers),
    ``sum`` the neuron outputs and local memory or neuron registers (popcount and compare
    bits). A binary layer has no zero values (``act_zero = weight_zero = 0``) and no digits
    (``digit`` is ``act_toggle``).

    Parameters
    ----------
    design : ThresholdDesign
        The threshold array; the program is scheduled for the layer's fan-in K.
    w_codes, x_codes : numpy.ndarray
        Weight bits (N, K) and activation bits (M, K), 0 or 1.
    tiles : int
        Output neurons laid out at most (evenly spaced).

    Returns
    -------
    DataActivity
        The measured switching.

    Raises
    ------
    InputError
        Codes that are not bits or not (N, K) and (M, K), fewer rows than one pooling
        window, or a fan-in whose program does not fit the PE's storage.
    """
    w = np.asarray(w_codes)
    x = np.asarray(x_codes)
    if w.ndim != 2 or x.ndim != 2 or w.shape[1] != x.shape[1] or not w.size or not x.size:
        raise InputError(
            f"weights {w.shape} and activations {x.shape} are not non-empty (N, K) and (M, K)",
            field="data",
        )
    for name, c in (("weight", w), ("activation", x)):
        if c.min() < 0 or c.max() > 1:
            raise InputError(
                f"{name} codes range over [{c.min()}, {c.max()}]: a binary layer's are bits",
                field="data",
                allowed="0 (-1) or 1 (+1)",
            )
    data = _layer_switching(design, w.astype(np.int8), x.astype(np.int8), tiles)
    rw, rx = random_codes(design, w.shape, x.shape)
    rand = _layer_switching(design, rw.astype(np.int8), rx.astype(np.int8), tiles)

    def both(*keys):
        return tuple(tuple(sum(src[k][i] for k in keys) for i in range(2)) for src in (data, rand))

    act = ratio(*both("data"))
    return DataActivity(
        act_toggle=act,
        weight_toggle=ratio(*both("instruction")),
        term=ratio(*both("x")),
        sum=ratio(*both("reg", "mem")),
        digit=act,
    )
