"""``shiftadd calibrate``: measure the unit table's building blocks on a liberty.

Each block (:mod:`shiftadd.hw.calibration`) is a small Amaranth component, synthesized
between registers with the same flow as the designs
(:func:`shiftadd.rtl_gen.synth.synthesize_verilog`) and measured with OpenSTA at the
calibration clock and data activity. Per-bit and per-lane costs come from blocks wide enough
that port effects are negligible, and least-squares fits over several widths separate the
per-bit cost of adders and multipliers from their fixed cost.

The flow is a list of stages (:func:`calibration_stages`): plan the blocks, synthesize each
(built once), simulate all netlists together at gate level for their switching activity,
power each with that activity, fit the units, write the table.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import tomli_w
from amaranth import Cat, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .._io import atomic_write
from ..design.tree import plan_tree, tree_adders
from ..errors import InputError, ToolError
from ..hw.adder_tree import AdderTree
from ..hw.calibration import (
    Adder,
    BoothSelect,
    Compressor,
    Fanout,
    Lanes,
    Multiplier,
    Register,
    Registered,
)
from ..hw.clock_gate import GatedRegister
from ..models.memory import extract_sram_table
from ..models.technology import horowitz_table, write_unit_table
from ..models.units import DATA_DIR, load_unit_table
from ..rtl_gen.activity import StimulusBlock, random_stimulus_activity
from ..rtl_gen.emit import component_verilog, port_list
from ..rtl_gen.liberty import check_liberty, read_liberty
from ..rtl_gen.synth import synthesize_verilog
from ..rtl_gen.tools import find_sta, find_yosys, resolve_liberty, run_tool, tool_versions
from .stages import Stage, run_stages

__all__ = [
    "calibrate",
    "calibration_stages",
    "calibration_blocks",
    "CalibrationBlock",
    "measure_blocks",
    "fit_units",
    "clock_gate_blocks",
    "clock_gate_unit",
    "ICG_GROUPS",
    "fanout_unit",
    "stage_blocks",
    "stage_unit",
    "LoadedChain",
    "DELAY_UNIT_PARTS",
    "isotonic",
    "CALIBRATION_CLOCK_NS",
    "CALIBRATION_ACTIVITY",
    "FANOUT_NETS",
]

CALIBRATION_CLOCK_NS = 10.0
CALIBRATION_ACTIVITY = 0.5
LANES = 64
# Clock gates (unit ``icg``): flip-flops behind each gate of the gated register blocks, two
# sizes to split a gate's open-cycle energy into its own and its load's.
ICG_GROUPS = (8, 32)
FANOUTS = (4, 8, 12, 16, 24, 32, 48, 64, 128)  # loads per net of the fan-out blocks
FANOUT_NETS = 4
SIM_CYCLES = 2000  # random-data cycles of each block's gate-level simulation
ADDER_WIDTHS = (4, 8, 16, 32)
# Adders inside reduction trees see less activity than free-standing ones (upper sum bits of
# random terms change less often), so trees are calibrated in place: (terms, term width).
TREES = ((16, 1), (64, 1), (16, 4), (16, 8), (8, 16), (32, 2))
# Multipliers with the weight operand held, as in the arrays: (activation, weight) bits.
MULT_SHAPES = ((4, 4), (8, 4), (4, 8), (8, 8), (6, 6), (3, 5))
BOOTH_ROWS, BOOTH_WEIGHT_BITS = 8, 8
# In the arrays one input of an XNOR/XOR lane and the select of a mux are weights or
# configuration, held while data streams; the calibration holds them too.
LANE_STATIC_INPUTS = {"xnor2": ("b",), "xor2": ("b",), "and2": (), "mux2": ("s",)}
# Delay units (timed with OpenSTA, not powered): adders of these operand widths besides
# ADDER_WIDTHS, balanced trees on a grid of leaf counts x leaf widths (up to TREE_MAX_BITS
# leaf bits; larger trees are extrapolated along the levels), multipliers on a grid.
DELAY_ADDER_WIDTHS = (2, 64)
DELAY_TREE_COUNTS = (2, 4, 8, 16, 64, 256, 512)
# Leaves: unsigned (0 .. 2**w - 1) and signed (two's complement w bits); a signed tree's
# sign extension makes it slower than an unsigned one of the same widths.
DELAY_TREE_UNSIGNED_WIDTHS = (1, 2, 4, 8)
DELAY_TREE_SIGNED_WIDTHS = (2, 4, 8, 16)
DELAY_TREE_MAX_BITS = 2048
DELAY_MULT_WIDTHS = (2, 4, 8, 16)
# Fan-out nets larger than the power blocks' (shared LUT key bits and select lines reach
# hundreds or thousands of gates): each further buffer level adds delay.
DELAY_FANOUTS = (256, 1024)
# Row-decoded register writes (a weight row or a neuron's weights loaded when
# ``valid & ready & index == i``): rows x bits per row, up to DELAY_WRITE_MAX_BITS register
# bits (larger cells NaN, continued along the rows like the trees). The write flag's gate
# drives the load enables of a row in both polarities; synthesis buffers that net in steps
# that depend on the row width (an 8-bit row's enables unbuffered, a 12-bit row's
# buffered), so the bits axis is dense where the designs' rows lie and reaches the wide
# flag nets (every register enable of an array) at 2048 bits.
DELAY_WRITE_ROWS = (2, 3, 4, 5, 6, 8, 12, 16)
DELAY_WRITE_BITS = (4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 512, 1024, 2048)
DELAY_WRITE_MAX_BITS = 4096
# Loaded stages (unit ``stage``): a ripple of DELAY_STAGE_CHAIN two-input gates whose every
# tap drives the next gate and further gate inputs, DELAY_STAGE_LOADS in all (an output-
# stationary drain thermometer, a Booth encoder's complemented bits and digit wires). At
# the 10 ns target such a chain has slack, so synthesis maps it on the weakest cells and
# leaves the taps unbuffered up to about ten loads: a stage costs more than a gate plus a
# fan-out net (whose block is a register driving the net, the path buffered as its own).
# A chain, not one gate: a single loaded gate between registers is mostly register
# overhead, and the chain's stages repeat the in-design driver (a weak gate, not a flop).
DELAY_STAGE_CHAIN = 8
DELAY_STAGE_LOADS = (2, 3, 4, 6, 8, 10, 12, 16, 24)


class DecodedWrite(wiring.Component):
    """``rows`` registers of ``bits`` bits; row ``i`` loads ``data`` when ``valid & ready &
    (row == i)``, and holds otherwise: the weight write of the weight-stationary array and
    the flag-driven register enables.

    The index decode is inside the block: synthesis may merge it with the flags into one
    wide gate (as it does in some weight-stationary arrays) or decode ahead of the flag
    (as in others); the block lets it choose, as the designs do.

    It lives here rather than in :mod:`shiftadd.hw.calibration` because only the delay
    calibration uses it (timed, not powered).
    """

    def __init__(self, *, rows: int, bits: int):
        self._rows, self._bits = rows, bits
        super().__init__(
            {
                "row": In(max(1, (rows - 1).bit_length())),
                "valid": In(1),
                "ready": In(1),
                "data": In(bits),
                "y": Out(rows * bits),
            }
        )

    def elaborate(self, platform):
        m = Module()
        write = self.valid & self.ready
        regs = []
        for i in range(self._rows):
            reg = Signal(self._bits, name=f"row{i}")
            with m.If(write & (self.row == i)):
                m.d.sync += reg.eq(self.data)
            regs.append(reg)
        m.d.comb += self.y.eq(Cat(*regs))
        return m


class LoadedChain(wiring.Component):
    """``stages`` OR gates in series, ``x[k] = x[k - 1] | s[k]``, each tap ``x[k]`` driving
    the next gate and ``loads - 1`` AND gates with inputs of their own: the ripple whose
    every gate drives several loads (the ``stage`` delay unit).

    It lives here rather than in :mod:`shiftadd.hw.calibration` because only the delay
    calibration uses it (timed, not powered).
    """

    def __init__(self, *, stages: int, loads: int):
        self._stages, self._loads = stages, loads
        side = stages * (loads - 1)
        super().__init__({"a": In(1), "s": In(stages), "b": In(max(1, side)), "y": Out(side + 1)})

    def elaborate(self, platform):
        m = Module()
        x, outs, side = self.a, [], self._loads - 1
        for k in range(self._stages):
            x = x | self.s[k]
            outs += [x & self.b[k * side + j] for j in range(side)]
        m.d.comb += self.y.eq(Cat(*outs, x))
        return m


@dataclasses.dataclass(frozen=True)
class CalibrationBlock:
    """One block to measure: ``build()`` makes the component (called once, when it is
    synthesized); ``activity`` is the data inputs' toggle rate, ``hold`` keeps the enable low,
    ``static`` names inputs held at random constants; a ``timing_only`` block is timed
    with OpenSTA and not powered."""

    label: str
    build: Callable[[], object]
    activity: float = CALIBRATION_ACTIVITY
    hold: bool = False
    static: tuple[str, ...] = ()
    timing_only: bool = False


def _tree_range(width: int) -> tuple[int, int]:
    """The power blocks' leaves: one unsigned bit, or ``width``-bit signed."""
    return _leaf_range("u" if width == 1 else "s", width)


def calibration_blocks() -> list[CalibrationBlock]:
    """Every block the unit table is fitted from."""
    B = CalibrationBlock
    blocks = [
        B("dff_held", lambda: Register(width=LANES, enable=False), activity=0.0),
        B("dff_toggling", lambda: Register(width=LANES, enable=False)),
        B("dffe_held", lambda: Register(width=LANES, enable=True), activity=0.0, hold=True),
        B("dffe_toggling", lambda: Register(width=LANES, enable=True)),
    ]
    blocks += [B(f"adder{w}", lambda w=w: Adder(width=w)) for w in ADDER_WIDTHS]
    blocks += [
        B(f"tree{c}x{w}", lambda c=c, w=w: AdderTree(count=c, term_range=_tree_range(w)))
        for c, w in TREES
    ]
    blocks += [
        B(f"mult{x}x{y}", lambda x=x, y=y: Multiplier(a_bits=x, w_bits=y), static=("w",))
        for x, y in MULT_SHAPES
    ]
    blocks += [
        B("csa", lambda: Compressor(lanes=LANES)),
        B(
            "booth_sel",
            lambda: BoothSelect(rows=BOOTH_ROWS, weight_bits=BOOTH_WEIGHT_BITS),
            static=("w",),
        ),
    ]
    blocks += [B(f"fanout{f}", lambda f=f: Fanout(nets=FANOUT_NETS, loads=f)) for f in FANOUTS]
    blocks += [
        B(op, lambda op=op: Lanes(op=op, lanes=LANES), static=LANE_STATIC_INPUTS[op])
        for op in LANE_STATIC_INPUTS
    ]
    return blocks + clock_gate_blocks() + delay_blocks()


def clock_gate_blocks() -> list[CalibrationBlock]:
    """The ``icg`` unit's blocks: ``LANES`` flip-flops behind clock gates, the gates closed
    with the data held (the gate's clock pin alone), and open with the data toggling, for
    each group size of :data:`ICG_GROUPS`."""
    B = CalibrationBlock

    def build(g: int, label: str):
        return lambda: GatedRegister(width=LANES, group=g, module=f"{label}_clock_gate")

    g0 = ICG_GROUPS[0]
    blocks = [B("icg_closed", build(g0, "icg_closed"), activity=0.0, hold=True)]
    blocks += [B(f"icg_open{g}", build(g, f"icg_open{g}")) for g in ICG_GROUPS]
    return blocks


#: The power blocks whose critical paths the delay units also use.
DELAY_FROM_POWER_BLOCKS = (
    "dff_toggling",
    "csa",
    *LANE_STATIC_INPUTS,
    *(f"adder{w}" for w in ADDER_WIDTHS),
    *(f"fanout{f}" for f in FANOUTS),
)


def _leaf_range(sign: str, width: int) -> tuple[int, int]:
    if sign == "u":
        return 0, (1 << width) - 1
    return -(1 << (width - 1)), (1 << (width - 1)) - 1


def delay_blocks() -> list[CalibrationBlock]:
    """The timing-only blocks: adders, the tree grid and the multiplier grid.

    Returns
    -------
    list of CalibrationBlock
        Blocks with ``timing_only`` set, labelled ``delay_...``.
    """
    B = CalibrationBlock
    blocks = [
        B(f"delay_adder{w}", lambda w=w: Adder(width=w), timing_only=True)
        for w in DELAY_ADDER_WIDTHS
    ]
    blocks += [
        B(
            f"delay_tree{c}x{sign}{w}",
            lambda c=c, r=_leaf_range(sign, w): AdderTree(count=c, term_range=r),
            timing_only=True,
        )
        for sign, widths in (("u", DELAY_TREE_UNSIGNED_WIDTHS), ("s", DELAY_TREE_SIGNED_WIDTHS))
        for c in DELAY_TREE_COUNTS
        for w in widths
        if c * w <= DELAY_TREE_MAX_BITS
    ]
    blocks += [
        B(
            f"delay_mult{a}x{w}",
            lambda a=a, w=w: Multiplier(a_bits=a, w_bits=w),
            static=("w",),
            timing_only=True,
        )
        for a in DELAY_MULT_WIDTHS
        for w in DELAY_MULT_WIDTHS
    ]
    blocks += [
        B(f"delay_fanout{f}", lambda f=f: Fanout(nets=FANOUT_NETS, loads=f), timing_only=True)
        for f in DELAY_FANOUTS
    ]
    blocks += [
        B(f"delay_write{r}x{b}", lambda r=r, b=b: DecodedWrite(rows=r, bits=b), timing_only=True)
        for r in DELAY_WRITE_ROWS
        for b in DELAY_WRITE_BITS
        if r * b <= DELAY_WRITE_MAX_BITS
    ]
    return blocks + stage_blocks()


def stage_blocks() -> list[CalibrationBlock]:
    """The ``stage`` unit's blocks: a :class:`LoadedChain` of :data:`DELAY_STAGE_CHAIN`
    gates for each load count of :data:`DELAY_STAGE_LOADS`, labelled ``delay_stage...``."""
    return [
        CalibrationBlock(
            f"delay_stage{n}",
            lambda n=n: LoadedChain(stages=DELAY_STAGE_CHAIN, loads=n),
            timing_only=True,
        )
        for n in DELAY_STAGE_LOADS
    ]


def stage_unit(critical_paths: dict[str, float], reg: float) -> dict:
    """The ``stage`` delay unit: logic delay per gate of a loaded chain, ns, by the gate
    inputs each tap drives (the blocks of :func:`stage_blocks`, register overhead ``reg``
    subtracted, divided by the chain length). The measured steps stay: from about twelve
    loads synthesis buffers a tap, which is faster than a weak gate driving ten."""
    return {
        "loads": list(DELAY_STAGE_LOADS),
        "ns": [
            max(0.0, critical_paths[f"delay_stage{n}"] - reg) / DELAY_STAGE_CHAIN
            for n in DELAY_STAGE_LOADS
        ],
    }


#: Delay units measurable on their own (``calibrate(delays_only=True, delay_units=...)``,
#: merged into the table's ``[delay]`` section): each unit's blocks, and its fit from the
#: blocks' critical paths and the table's register overhead ``reg``.
DELAY_UNIT_PARTS = {"stage": (stage_blocks, stage_unit)}


def _delay_plan(state: dict) -> None:
    """Only the blocks the delay units need (``calibrate --delays-only``), or only those of
    the units named in ``state["delay_units"]``."""
    if state.get("delay_units"):
        state["blocks"] = [b for u in state["delay_units"] for b in DELAY_UNIT_PARTS[u][0]()]
        return
    keep = set(DELAY_FROM_POWER_BLOCKS)
    state["blocks"] = [b for b in calibration_blocks() if b.timing_only or b.label in keep]


def _synthesize_blocks(state: dict) -> None:
    """Each block between registers (:class:`~shiftadd.hw.calibration.Registered`),
    synthesized with the designs' flow; netlists kept for the activity simulation."""
    root, progress = state["root"], state.get("progress")
    jobs = {}
    for block in state["blocks"]:
        if progress:
            progress(f"synthesize {block.label}")
        built = block.build()
        wrapped = Registered(built)
        ports = port_list(wrapped, clocked=True)
        rules = [
            ("en", 0.0, 0.0 if block.hold else 1.0),
            ("rst", 0.0, 0.0),
            *[(p, 0.0, 0.5) for p in block.static],
            ("*", block.activity, 0.5),
        ]
        # Modules a block gives as Verilog text (a clock gate's latch) follow it.
        verilog = component_verilog(wrapped, block.label) + "".join(
            getattr(built, "verilog_modules", {}).values()
        )
        kwargs = dict(
            ports=ports,
            activity_rules=rules,
            ops_per_cycle=None,
            liberty=state["liberty"],
            clock_ns=CALIBRATION_CLOCK_NS,
            data_activity=block.activity,
            workdir=root / block.label,
        )
        r = synthesize_verilog(verilog, block.label, **kwargs)
        if r.critical_path_ns is None:
            raise ToolError(
                f"OpenSTA found no constrained path in calibration block {block.label}: {r.notes}"
            )
        state.setdefault("critical_paths", {})[block.label] = r.critical_path_ns
        if block.timing_only:
            continue
        held = {"rst": 0, "en": 0 if block.hold else 1}
        toggling = tuple(
            p["name"]
            for p in ports
            if p["direction"] == "input"
            and p["name"] not in held
            and p["name"] not in block.static
            and block.activity > 0
        )
        jobs[block.label] = (
            verilog,
            kwargs,
            StimulusBlock(
                netlist=r.netlist, top=block.label, ports=ports, toggling=toggling, held=held
            ),
        )
    state["jobs"] = jobs


def _simulate_activity(state: dict) -> None:
    """One zero-delay gate-level simulation of all the netlists together (a single Verilator
    build): every cell pin's switching activity under uniformly random data (held inputs at
    random constants, the enable low for held blocks), the kind of activity the validation
    (:mod:`shiftadd.flows.validate`) measures on whole designs."""
    state["activities"] = random_stimulus_activity(
        [job[2] for job in state["jobs"].values()],
        liberty=state["liberty"],
        cycles=SIM_CYCLES,
        workdir=state["root"] / "sim",
    )


def _power_blocks(state: dict) -> None:
    """OpenSTA power of each block with its simulated activity: area, dynamic energy per
    cycle (pJ) and leakage (mW) of the combinational logic and of the flip-flops
    (``seq_*``), and the buffer cells synthesis inserted."""
    lib = read_liberty(state["liberty"])
    progress = state.get("progress")
    results = {}
    for label, (verilog, kwargs, _) in state["jobs"].items():
        if progress:
            progress(f"power of {label}")
        r = synthesize_verilog(verilog, label, **kwargs, activity=state["activities"][label])
        if r.power_mw is None:
            raise ToolError(f"no power figure for calibration block {label}: {r.notes}")
        g = r.power_mw["groups"]
        comb, seq = g.get("Combinational"), g.get("Sequential")
        gates = _clock_gate_power(kwargs["workdir"], state["liberty"]) if "icg" in label else {}
        results[label] = {
            **gates,
            "area": r.area - r.sequential_area,
            "energy": (comb["total"] - comb["leakage"]) * CALIBRATION_CLOCK_NS,
            "leakage_mw": comb["leakage"],
            "seq_area": r.sequential_area,
            "seq_energy": (seq["total"] - seq["leakage"]) * CALIBRATION_CLOCK_NS,
            "seq_leakage_mw": seq["leakage"],
            **dict(zip(("buffers", "buffer_area"), lib.buffer_usage(r.cell_types))),
        }
    state["results"] = results


def _clock_gate_power(workdir: Path, liberty) -> dict:
    """Energy per cycle (pJ) and leakage (mW) of one clock gate, the mean over the gate
    instances of a block whose power was just reported in ``workdir``: its OpenSTA script
    rerun with the power of those instances only. A gate's energy is small beside the
    flip-flops around it, whose clock energy varies with their held data (the internal
    power's ``when`` states), so it is read per instance, not as a difference of groups."""
    cell = read_liberty(liberty).clock_gate()
    sta = find_sta()
    if cell is None or sta is None:
        raise ToolError("clock-gate calibration needs a liberty clock gate and OpenSTA")
    tcl = (
        (workdir / "sta.tcl")
        .read_text()
        .replace(
            "report_power -digits 6",
            "set gates {}\n"
            "foreach c [get_cells -hierarchical *] {\n"
            f'  if {{[get_property $c ref_name] == "{cell[0]}"}} {{ lappend gates $c }}\n'
            "}\n"
            "report_power -instances $gates -digits 6",
        )
    )
    (workdir / "sta_gates.tcl").write_text(tcl)
    out = run_tool([sta[0], "-no_splash", "-exit", "sta_gates.tcl"], workdir)
    rows = [
        [float(x) for x in m.groups()]
        for m in re.finditer(r"^\s*(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+\S+\s*$", out, re.M)
        if all(_is_number(x) for x in m.groups())
    ]
    if not rows:
        raise ToolError(f"no clock-gate power in {workdir / 'sta_gates.tcl'}")
    internal, switching, leakage, _ = (float(x) for x in np.mean(np.asarray(rows), axis=0))
    return {
        "gate_energy": (internal + switching) * 1e3 * CALIBRATION_CLOCK_NS,
        "gate_leakage_mw": leakage * 1e3,
    }


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _least_squares(columns, values) -> list[float]:
    """Coefficients ``c`` minimizing ``|columns @ c - values|`` (one column per cost part)."""
    coef, *_ = np.linalg.lstsq(np.asarray(columns, float), np.asarray(values, float), rcond=None)
    return [float(c) for c in coef]


def _fit_bits_count(bits, counts, results) -> dict:
    """Least-squares ``cost = per_bit * bits + fixed * count`` for area, energy, leakage."""
    columns = np.array([bits, counts], float).T
    ab, af = _least_squares(columns, [r["area"] for r in results])
    eb, ef = _least_squares(columns, [r["energy"] for r in results])
    lb = float(np.sum([r["leakage_mw"] for r in results]) / np.sum(bits))
    return {
        "area_per_bit": ab,
        "area_fixed": af,
        "energy_per_bit": eb,
        "energy_fixed": ef,
        "leakage_mw_per_bit": lb,
    }


def _linear_fit(x: list[float], y: list[float]) -> tuple[float, float]:
    slope, intercept = np.polyfit(np.asarray(x, float), np.asarray(y, float), 1)
    return float(slope), float(intercept)


def fanout_unit(blocks: dict[int, dict]) -> dict:
    """Buffers per net against fan-out, and the cost of one buffer, from fan-out blocks
    ``{fanout: figures}``.

    Synthesis buffers a net in steps (none up to some fan-out, then about one buffer per
    ``loads_per_buffer`` further loads), so the table keeps the measured points and the
    models interpolate between them (:func:`shiftadd.models.cost.buffers_per_net`),
    continuing with the slope of the buffered points beyond the largest. A buffer's area is
    the buffer cells' own area; its energy and leakage come from a least-squares split of
    the blocks' logic into a part per load gate and a part per buffer.
    """
    fanouts = sorted(blocks)
    per_net = [blocks[f]["buffers"] / FANOUT_NETS for f in fanouts]
    buffered = [(f, b) for f, b in zip(fanouts, per_net) if b > 0]
    if len(buffered) < 2:
        raise ToolError(
            "synthesis buffered fewer than two of the fan-out calibration blocks "
            f"(buffers per net {dict(zip(fanouts, per_net))}); the liberty has "
            "no usable buffer cell or the fan-outs are too small"
        )
    slope, _ = _linear_fit([f for f, _ in buffered], [b for _, b in buffered])
    if slope <= 0:
        raise ToolError(
            "buffers per net do not grow with fan-out in the calibration blocks "
            f"({dict(zip(fanouts, per_net))})"
        )
    total = sum(blocks[f]["buffers"] for f in fanouts)
    columns = [[FANOUT_NETS * f, blocks[f]["buffers"]] for f in fanouts]

    def per_buffer(key):
        return max(0.0, _least_squares(columns, [blocks[f][key] for f in fanouts])[1])

    return {
        "area": sum(blocks[f]["buffer_area"] for f in fanouts) / total,
        "energy": per_buffer("energy"),
        "leakage_mw": per_buffer("leakage_mw"),
        "loads_per_buffer": 1.0 / slope,
        "fanouts": fanouts,
        "buffers_per_net": per_net,
    }


def fit_units(results: dict[str, dict]) -> dict[str, dict]:
    """The unit table from block measurements ``{label: figures}`` (the labels of
    :func:`calibration_blocks`; figures as the power stage reports them)."""
    units: dict[str, dict] = {}
    # Flip-flops: a register bank between the input and output registers makes three banks
    # in a chain; the sequential power divides evenly. The enable of ``dffe`` is a mux in
    # this library (no enable flip-flop), found in the combinational group.
    banks = 3 * LANES
    plain_held, plain = results["dff_held"], results["dff_toggling"]
    units["dff"] = {
        "area": plain["seq_area"] / banks,
        "energy_clock": plain_held["seq_energy"] / banks,
        "energy_data": max(0.0, plain["seq_energy"] - plain_held["seq_energy"]) / banks,
        "leakage_mw": plain["seq_leakage_mw"] / banks,
    }
    en_held, en = results["dffe_held"], results["dffe_toggling"]
    units["dffe"] = {
        "area": units["dff"]["area"] + en["area"] / LANES,
        "energy_clock": units["dff"]["energy_clock"] + en_held["energy"] / LANES,
        "energy_data": units["dff"]["energy_data"]
        + max(0.0, en["energy"] - en_held["energy"]) / LANES,
        "leakage_mw": units["dff"]["leakage_mw"] + en["leakage_mw"] / LANES,
    }
    adders = [results[f"adder{w}"] for w in ADDER_WIDTHS]
    bits = [w + 1 for w in ADDER_WIDTHS]
    ab, af = _linear_fit(bits, [r["area"] for r in adders])
    eb, ef = _linear_fit(bits, [r["energy"] for r in adders])
    lb, _ = _linear_fit(bits, [r["leakage_mw"] for r in adders])
    units["adder"] = {
        "area_per_bit": ab,
        "area_fixed": af,
        "energy_per_bit": eb,
        "energy_fixed": ef,
        "leakage_mw_per_bit": lb,
        "fit_widths": list(ADDER_WIDTHS),
    }
    tree_counts, tree_bits = zip(*(tree_adders(plan_tree([_tree_range(w)] * c)) for c, w in TREES))
    tree_results = [results[f"tree{c}x{w}"] for c, w in TREES]
    units["tree_adder"] = {
        **_fit_bits_count(list(tree_bits), list(tree_counts), tree_results),
        "fit_trees": [list(t) for t in TREES],
    }
    mults = [results[f"mult{x}x{y}"] for x, y in MULT_SHAPES]
    columns = [[x * y, x + y, 1.0] for x, y in MULT_SHAPES]
    app, aio, afix = _least_squares(columns, [r["area"] for r in mults])
    epp, eio, efix = _least_squares(columns, [r["energy"] for r in mults])
    lpp = float(np.mean([r["leakage_mw"] / (x * y) for r, (x, y) in zip(mults, MULT_SHAPES)]))
    units["mult"] = {
        "area_per_pp": app,
        "area_per_io": aio,
        "area_fixed": afix,
        "energy_per_pp": epp,
        "energy_per_io": eio,
        "energy_fixed": efix,
        "leakage_mw_per_pp": lpp,
        "fit_shapes": [list(s) for s in MULT_SHAPES],
    }
    r = results["csa"]
    units["csa"] = {
        "area": r["area"] / LANES,
        "energy": r["energy"] / LANES,
        "leakage_mw": r["leakage_mw"] / LANES,
    }
    r, selector_bits = results["booth_sel"], BOOTH_ROWS * (BOOTH_WEIGHT_BITS + 1)
    units["booth_sel"] = {
        "area": r["area"] / selector_bits,
        "energy": r["energy"] / selector_bits,
        "leakage_mw": r["leakage_mw"] / selector_bits,
    }
    units["fanout_buf"] = fanout_unit({f: results[f"fanout{f}"] for f in FANOUTS})
    if "icg_closed" in results:
        units["icg"] = clock_gate_unit(results, units["dff"])
    for op in LANE_STATIC_INPUTS:
        r = results[op]
        units[op] = {
            "area": r["area"] / LANES,
            "energy": r["energy"] / LANES,
            "leakage_mw": r["leakage_mw"] / LANES,
        }
    return units


def clock_gate_unit(results: dict[str, dict], dff: dict) -> dict:
    """The ``icg`` unit from the blocks of :func:`clock_gate_blocks` and the ``dff`` unit.

    Each block's gates are measured per instance (``gate_energy``, ``gate_leakage_mw``:
    :func:`_clock_gate_power`). ``energy_clock`` is a gate's energy per cycle while closed
    (its clock pin); its extra energy per open cycle (its gated clock net and the clock pins
    it drives) is fitted over the group sizes as ``energy_open_fixed +
    energy_open_per_load * flip-flops``. The area is the blocks' sequential area beyond
    their ``3 LANES + 1`` flip-flops, per gate."""
    closed = results["icg_closed"]
    e_closed = closed["gate_energy"]
    extra = [results[f"icg_open{g}"]["gate_energy"] - e_closed for g in ICG_GROUPS]
    per_load, fixed = _linear_fit(list(ICG_GROUPS), extra)
    gates = LANES // ICG_GROUPS[0]
    return {
        "area": (closed["seq_area"] - (3 * LANES + 1) * dff["area"]) / gates,
        "energy_clock": e_closed,
        "energy_open_fixed": fixed,
        "energy_open_per_load": per_load,
        "leakage_mw": closed["gate_leakage_mw"],
        "fit_groups": list(ICG_GROUPS),
    }


def isotonic(values) -> np.ndarray:
    """The least-squares non-decreasing fit of ``values`` (pool adjacent violators): a
    dip is averaged with its neighbours instead of one high point being carried onward.

    Parameters
    ----------
    values : array_like of float
        Measurements in order of a size that should never make them smaller.

    Returns
    -------
    numpy.ndarray
        The fit, same length.
    """
    blocks: list[list[float]] = []  # [mean, count] of pooled runs
    for v in np.asarray(values, float):
        blocks.append([float(v), 1.0])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            (m1, n1), (m2, n2) = blocks[-2], blocks.pop()
            blocks[-1] = [(m1 * n1 + m2 * n2) / (n1 + n2), n1 + n2]
    return np.repeat([m for m, _ in blocks], [int(n) for _, n in blocks])


def fit_delays(critical_paths: dict[str, float]) -> dict:
    """The ``[delay]`` units from the blocks' OpenSTA critical paths ``{label: ns}``.

    Every block sits between registers, so its critical path is one register's
    clock-to-output and setup time (the plain register bank, ``reg``) plus the block's
    logic; the units are the logic delays. A fan-out net's delay excludes the AND gate each
    load is; it is made non-decreasing in the load count (synthesis buffers in steps, and a
    larger net is never faster in a design).

    Parameters
    ----------
    critical_paths : dict of str to float
        Critical path, ns, of each block of :func:`delay_blocks` and of
        :data:`DELAY_FROM_POWER_BLOCKS`.

    Returns
    -------
    dict
        ``reg``, ``gate`` (per gate kind), ``csa`` (per level), ``adder`` (result
        ``widths`` and ``ns``), ``tree`` (grids ``levels`` x leaf widths for unsigned and
        for signed leaves, NaN where a block was too large to measure), ``mult``
        (``a_bits`` x ``w_bits`` grid ``ns``), ``fanout`` (``loads`` and ``ns``), ``write``
        (a row-decoded register write from the write flag's register to the loaded
        register: ``rows`` x ``bits`` grid ``ns``, NaN beyond
        :data:`DELAY_WRITE_MAX_BITS` register bits, non-decreasing in the rows by
        :func:`isotonic`, as measured along the bits); all in ns.
    """
    cp = critical_paths
    reg = cp["dff_toggling"]
    gate = {op: max(0.0, cp[op] - reg) for op in LANE_STATIC_INPUTS}
    adder_widths = sorted((*ADDER_WIDTHS, *DELAY_ADDER_WIDTHS))
    adder_ns = [
        cp[f"adder{w}" if w in ADDER_WIDTHS else f"delay_adder{w}"] - reg for w in adder_widths
    ]
    levels = [max(1, (c - 1).bit_length()) for c in DELAY_TREE_COUNTS]

    def tree_grid(sign, widths):
        return [
            [
                cp[f"delay_tree{c}x{sign}{w}"] - reg
                if c * w <= DELAY_TREE_MAX_BITS
                else float("nan")
                for w in widths
            ]
            for c in DELAY_TREE_COUNTS
        ]

    mult_ns = [
        [cp[f"delay_mult{a}x{w}"] - reg for w in DELAY_MULT_WIDTHS] for a in DELAY_MULT_WIDTHS
    ]
    fan_loads = (*FANOUTS, *DELAY_FANOUTS)
    write_ns = np.array(
        [
            [
                max(0.0, cp[f"delay_write{r}x{b}"] - reg)
                if r * b <= DELAY_WRITE_MAX_BITS
                else float("nan")
                for b in DELAY_WRITE_BITS
            ]
            for r in DELAY_WRITE_ROWS
        ]
    )
    # More rows widen the index decode and the flag's net: never faster, but one slow
    # mapping (the 3-row 16-bit block) must not lift every larger cell, as a running
    # maximum did, so each width's column is pooled into its least-squares non-decreasing
    # fit. Along the bits the measured steps stay: synthesis buffers a wider row's
    # enables, and such a row is faster (a 12-bit row than an 8-bit one).
    for j in range(write_ns.shape[1]):
        ok = ~np.isnan(write_ns[:, j])
        write_ns[ok, j] = isotonic(write_ns[ok, j])
    fan_ns = np.maximum.accumulate(
        [
            max(0.0, cp[f"fanout{f}" if f in FANOUTS else f"delay_fanout{f}"] - reg - gate["and2"])
            for f in fan_loads
        ]
    )
    units = {
        "reg": reg,
        "gate": gate,
        "csa": max(0.0, cp["csa"] - reg),
        "adder": {"widths": [w + 1 for w in adder_widths], "ns": adder_ns},
        "tree": {
            "levels": levels,
            "unsigned_leaf_widths": list(DELAY_TREE_UNSIGNED_WIDTHS),
            "unsigned_ns": tree_grid("u", DELAY_TREE_UNSIGNED_WIDTHS),
            "signed_leaf_widths": list(DELAY_TREE_SIGNED_WIDTHS),
            "signed_ns": tree_grid("s", DELAY_TREE_SIGNED_WIDTHS),
        },
        "mult": {
            "a_bits": list(DELAY_MULT_WIDTHS),
            "w_bits": list(DELAY_MULT_WIDTHS),
            "ns": mult_ns,
        },
        "fanout": {"loads": list(fan_loads), "ns": [float(x) for x in fan_ns]},
        "write": {
            "rows": list(DELAY_WRITE_ROWS),
            "bits": list(DELAY_WRITE_BITS),
            "ns": write_ns.tolist(),
        },
    }
    units["stage"] = stage_unit(cp, reg)
    return units


DELAY_METHOD = (
    "each block synthesized between input and output registers with yosys+abc on the "
    "liberty; OpenSTA report_checks (max) critical path at the calibration clock, input "
    "ports driven by a mid-size buffer, outputs loaded with four buffer inputs; the "
    "register overhead (clock-to-output + setup, from a plain register bank) subtracted; "
    "adders at several widths, trees on a levels x leaf-width grid, multipliers on an "
    "operand-width grid, 64-lane gate blocks, fan-out nets of 4 to 1024 loads, "
    "row-decoded register writes on a rows x bits grid up to 4096 register bits, pooled "
    "non-decreasing in the rows (least squares), as measured along the bits; loaded "
    "stages from 8-gate OR ripples whose every tap drives 2 to 24 gate inputs, per gate"
)


def _fit(state: dict) -> None:
    state["units"] = fit_units(state["results"])
    state["units"]["delay"] = fit_delays(state["critical_paths"])


def _write_delays(state: dict) -> None:
    """Replace only the ``[delay]`` section (and its provenance) of an existing table."""
    lib, name, out = state["liberty"], state["name"], state.get("out")
    source = DATA_DIR / f"units_{name}.toml"
    table = load_unit_table(source)
    meta = dict(table.meta)
    meta["delay_source"] = f"shiftadd calibrate --delays-only --liberty {lib.name}"
    meta["delay_created"] = datetime.date.today().isoformat()
    meta["delay_method"] = DELAY_METHOD
    units = {k: v for k, v in table.units.items() if k != "delay"}
    added = state.get("delay_units")
    if added:
        # Only the named units, measured against the table's own register overhead; the
        # other delay units and the table's provenance stay as they were.
        meta = dict(table.meta)
        delay = dict(table["delay"])
        for u in added:
            delay[u] = DELAY_UNIT_PARTS[u][1](state["critical_paths"], float(delay["reg"]))
            meta[f"delay_{u}_source"] = (
                f"shiftadd calibrate --delays-only --liberty {lib.name} (unit {u} only)"
            )
            meta[f"delay_{u}_created"] = datetime.date.today().isoformat()
        units["delay"] = delay
    else:
        units["delay"] = fit_delays(state["critical_paths"])
    path = Path(out) if out else source
    atomic_write(path, _to_toml(meta, units))
    state["path"] = path


def _write(state: dict) -> None:
    lib, name, out = state["liberty"], state["name"], state.get("out")
    meta = {
        "name": name,
        "source": f"shiftadd calibrate --liberty {lib.name}",
        "liberty": lib.name,
        "created": datetime.date.today().isoformat(),
        "clock_ns": CALIBRATION_CLOCK_NS,
        "data_activity": CALIBRATION_ACTIVITY,
        "area_unit": "um^2",
        "energy_unit": "pJ",
        "method": "each unit synthesized between input and output registers with yosys+abc "
        "on the liberty; OpenSTA report_power (combinational group for logic, "
        "sequential group for flip-flops) with every cell pin's switching "
        f"activity from a zero-delay gate-level simulation ({SIM_CYCLES} cycles, "
        "Verilator) of uniformly random data (each data bit toggles with "
        "probability data_activity per cycle), held inputs at random constants; "
        "per-bit costs from 64-lane blocks (xnor2/xor2 with input b held, mux2 "
        "with its select held; booth_sel from 8 rows of 9 selector bits, weights "
        "held); adder, tree-adder and multiplier costs from least-squares fits "
        "over the listed widths",
        "yosys": (find_yosys() or ("", "?"))[1],
        "sta": (find_sta() or ("", "?"))[1],
        "shiftadd": tool_versions()["shiftadd"],
        "delay_method": DELAY_METHOD,
    }
    path = Path(out) if out else DATA_DIR / f"units_{name}.toml"
    atomic_write(path, _to_toml(meta, state["units"]))
    if out is None and name == "ihp-sg13g2":
        # The Horowitz 45 nm table derives its non-cited units from this one.
        write_unit_table(horowitz_table(load_unit_table(path)))
    # The SRAM macros of the same PDK, when they sit beside the standard-cell liberty.
    if any(lib.parent.glob("RM_IHPSG13_1P_*.lib")):
        if state.get("progress"):
            state["progress"]("SRAM macros")
        extract_sram_table(
            lib.parent, name, None if out is None else Path(out).with_name(f"sram_{name}.toml")
        )
    state["path"] = path


def _liberty_field(liberty) -> str:
    """Where the liberty came from, for error messages: the flag, or the environment."""
    return "--liberty" if liberty not in (None, "") else "SHIFTADD_LIBERTY"


def measure_blocks(
    blocks: list[CalibrationBlock], *, liberty, workdir=None, progress=None
) -> dict[str, dict]:
    """Synthesize ``blocks``, simulate them together and power each with its simulated
    activity (the measuring stages of the calibration): ``{label: figures}``."""
    lib = resolve_liberty(liberty)
    if lib is not None:
        check_liberty(lib, field=_liberty_field(liberty))
    with tempfile.TemporaryDirectory(prefix="shiftadd-cal-") as tmp:
        state = {
            "liberty": lib,
            "blocks": list(blocks),
            "root": Path(workdir) if workdir else Path(tmp),
            "progress": progress,
        }
        run_stages(_MEASURING, state)
    return state["results"]


_MEASURING = [
    Stage("synthesize the blocks", _synthesize_blocks),
    Stage("gate-level simulation of all blocks", _simulate_activity),
    Stage("power of each block", _power_blocks),
]


def calibration_stages(*, delays_only: bool = False) -> list[Stage]:
    """The calibration flow: plan, synthesize, simulate, power, fit, write.

    Parameters
    ----------
    delays_only : bool
        Only the delay units: plan the blocks they need, synthesize and time them, and
        rewrite the ``[delay]`` section of the existing table.

    Returns
    -------
    list of Stage
        The stages in order.
    """
    if delays_only:
        return [
            Stage("plan the delay blocks", _delay_plan),
            Stage("synthesize and time the blocks", _synthesize_blocks),
            Stage("fit and write the delay units", _write_delays),
        ]
    return [
        Stage("plan the blocks", lambda s: s.update(blocks=calibration_blocks())),
        *_MEASURING,
        Stage("fit the units", _fit),
        Stage("write the table", _write),
    ]


def calibrate(
    liberty=None,
    *,
    name: str | None = None,
    out: str | os.PathLike | None = None,
    workdir: str | os.PathLike | None = None,
    progress=None,
    delays_only: bool = False,
    delay_units: tuple[str, ...] = (),
) -> Path:
    """Synthesize and measure every unit block on ``liberty`` and write the unit table.

    Parameters
    ----------
    liberty : path, optional
        Standard-cell liberty (default: ``SHIFTADD_LIBERTY``); required.
    name : str, optional
        Table name (default ``ihp-sg13g2``).
    out : path, optional
        Write here instead of ``models/data/units_<name>.toml``.
    workdir : path, optional
        Keep the synthesis and simulation files there.
    progress : callable, optional
        Called with a short label as each stage and block starts.
    delays_only : bool
        Measure only the delay units and rewrite the ``[delay]`` section of the existing
        table ``name`` (minutes instead of the full calibration's power simulation).
    delay_units : tuple of str
        With ``delays_only``: measure only these delay units (keys of
        :data:`DELAY_UNIT_PARTS`) and merge them into the existing ``[delay]`` section.

    Returns
    -------
    pathlib.Path
        The table written.
    """
    unknown = sorted(set(delay_units) - set(DELAY_UNIT_PARTS))
    if unknown or (delay_units and not delays_only):
        raise InputError(
            f"delay units {unknown or list(delay_units)} cannot be measured on their own"
            + ("" if unknown else " without delays_only"),
            field="delay_units",
            allowed=", ".join(DELAY_UNIT_PARTS) + " (with delays_only)",
        )
    lib = resolve_liberty(liberty)
    if lib is None:
        raise ToolError("calibration needs a liberty file: pass --liberty or set SHIFTADD_LIBERTY")
    # Before any block is elaborated or synthesized: a file that is not a usable cell
    # library fails here in one line rather than after minutes of work.
    check_liberty(lib, field=_liberty_field(liberty))
    if find_sta() is None:
        raise ToolError(
            "calibration needs OpenSTA (sta) for power: sudo apt-get install -y opensta"
        )
    with tempfile.TemporaryDirectory(prefix="shiftadd-cal-") as tmp:
        state = {
            "liberty": lib,
            "name": name or "ihp-sg13g2",
            "out": out,
            "root": Path(workdir) if workdir else Path(tmp),
            "progress": progress,
            "delay_units": tuple(delay_units),
        }
        run_stages(calibration_stages(delays_only=delays_only), state, progress=progress)
    return state["path"]


def _to_toml(meta: dict, units: dict) -> str:
    return (
        "# Unit costs measured by `shiftadd calibrate`; regenerate, do not edit by hand.\n"
        + tomli_w.dumps({"meta": meta, **units})
    )
