"""``shiftadd calibrate``: measure the unit table's building blocks on a liberty.

Each block is a small Amaranth component, synthesized with the same flow as the designs
(:func:`shiftadd.rtl_gen.synth.synthesize_verilog`) and measured with OpenSTA at the
calibration clock and data activity. Per-bit and per-lane costs come from blocks wide
enough that port effects are negligible, and linear fits over several widths separate the
per-bit cost of adders and multipliers from their fixed cost.
"""

from __future__ import annotations

import datetime
import gc
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
from amaranth.hdl import Module, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .._io import atomic_write
from ..errors import ToolError
from ..hw.adder_tree import AdderTree
from ..rtl_gen.activity import StimulusBlock, random_stimulus_activity
from ..rtl_gen.emit import component_verilog, port_list
from ..rtl_gen.liberty import read_liberty
from ..rtl_gen.synth import synthesize_verilog
from ..rtl_gen.tools import find_sta, resolve_liberty
from .cost import _tree_adders
from .memory import extract_sram_table
from .units import DATA_DIR, load_unit_table

__all__ = ["calibrate", "CALIBRATION_CLOCK_NS", "CALIBRATION_ACTIVITY"]

CALIBRATION_CLOCK_NS = 10.0
CALIBRATION_ACTIVITY = 0.5
LANES = 64
FANOUTS = (4, 8, 12, 16, 24, 32, 48, 64, 128)  # loads per net of the fan-out blocks
FANOUT_NETS = 4
SIM_CYCLES = 2000  # random-data cycles of each block's gate-level simulation


class _Register(wiring.Component):
    def __init__(self, *, width: int, enable: bool):
        self._enable = enable
        members = {"d": In(width), "q": Out(width)}
        if enable:
            members["en"] = In(1)
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        reg = Signal(len(self.d), reset_less=True)
        if self._enable:
            with m.If(self.en):
                m.d.sync += reg.eq(self.d)
        else:
            m.d.sync += reg.eq(self.d)
        m.d.comb += self.q.eq(reg)
        return m


class _Adder(wiring.Component):
    def __init__(self, *, width: int):
        super().__init__({"a": In(signed(width)), "b": In(signed(width)),
                          "s": Out(signed(width + 1))})

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.s.eq(self.a + self.b)
        return m


class _Multiplier(wiring.Component):
    def __init__(self, *, a_bits: int, w_bits: int):
        super().__init__({"a": In(signed(a_bits)), "w": In(signed(w_bits)),
                          "p": Out(signed(a_bits + w_bits))})

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.p.eq(self.a * self.w)
        return m


class _Compressor(wiring.Component):
    """A row of 3:2 compressors (full adders kept in carry-save form)."""

    def __init__(self, *, lanes: int):
        super().__init__({"x": In(lanes), "y": In(lanes), "z": In(lanes),
                          "s": Out(lanes), "c": Out(lanes)})

    def elaborate(self, platform):
        m = Module()
        x, y, z = self.x, self.y, self.z
        m.d.comb += [self.s.eq(x ^ y ^ z), self.c.eq((x & y) | (x & z) | (y & z))]
        return m


class _BoothSelect(wiring.Component):
    """Booth partial-product selector rows exactly as the adder-tree options build them
    (:func:`shiftadd.hw.booth.select_row`): per bit ``(one & w[i] | two & w[i-1]) ^ neg``.
    The weights are held (static ports); each digit's three wires drive one row of
    ``weight_bits + 1`` bits and toggle as independent random bits."""

    def __init__(self, *, rows: int, weight_bits: int):
        self._rows, self._wb = rows, weight_bits
        super().__init__({"w": In(rows * weight_bits), "one": In(rows), "two": In(rows),
                          "neg": In(rows), "y": Out(rows * (weight_bits + 1))})

    @property
    def bits(self) -> int:
        return self._rows * (self._wb + 1)

    def elaborate(self, platform):
        from amaranth.hdl import Cat
        from amaranth.lib import data

        from ..hw.booth import DIGIT_LAYOUT, select_row

        m = Module()
        wb = self._wb
        rows = []
        for j in range(self._rows):
            weight = self.w[j * wb:(j + 1) * wb].as_signed()
            digit = data.View(DIGIT_LAYOUT, Cat(self.one[j], self.two[j], self.neg[j]))
            rows.append(select_row(m, weight, digit, name=f"row{j}"))
        m.d.comb += self.y.eq(Cat(*rows))
        return m


class _Fanout(wiring.Component):
    """``nets`` wires each driving ``loads`` two-input gates: ``y[i, j] = a[i] & b[j]``.

    The ``a`` wires (behind their input registers) have fan-out ``loads``; the ``b`` wires
    fan-out ``nets``, kept small so that only the ``a`` wires need buffering. Measures how
    many buffers synthesis inserts on a wire of a given fan-out (shared select lines,
    broadcast data and reset nets in the arrays)."""

    def __init__(self, *, nets: int, loads: int):
        self._nets, self._loads = nets, loads
        super().__init__({"a": In(nets), "b": In(loads), "y": Out(nets * loads)})

    def elaborate(self, platform):
        from amaranth.hdl import Cat

        m = Module()
        m.d.comb += self.y.eq(Cat(*(self.a[i] & self.b[j] for i in range(self._nets)
                                    for j in range(self._loads))))
        return m


class _Lanes(wiring.Component):
    def __init__(self, *, op: str, lanes: int):
        self._op = op
        members = {"a": In(lanes), "b": In(lanes), "y": Out(lanes)}
        if op == "mux2":
            members["s"] = In(lanes)
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        a, b = self.a, self.b
        if self._op == "xnor2":
            m.d.comb += self.y.eq(~(a ^ b))
        elif self._op == "xor2":
            m.d.comb += self.y.eq(a ^ b)
        elif self._op == "and2":
            m.d.comb += self.y.eq(a & b)
        else:
            m.d.comb += self.y.eq((a & self.s) | (b & ~self.s))
        return m


class _Registered(wiring.Component):
    """``block`` between registers: every input and output passes a flip-flop, as inside
    the arrays, so the block sees realistic drivers and loads."""

    def __init__(self, block):
        self._block = block
        super().__init__({name: (In if m.flow == wiring.In else Out)(m.shape)
                          for name, m in block.signature.members.items()})

    def elaborate(self, platform):
        m = Module()
        m.submodules.block = block = self._block
        for name, member in block.signature.members.items():
            reg = Signal(member.shape, name=f"{name}_reg", reset_less=True)
            if member.flow == wiring.In:
                m.d.sync += reg.eq(getattr(self, name))
                m.d.comb += getattr(block, name).eq(reg)
            else:
                m.d.sync += reg.eq(getattr(block, name))
                m.d.comb += getattr(self, name).eq(reg)
        return m


_PLACEHOLDER = {key: 1.0 for key in ("area", "energy", "leakage_mw", "seq_area", "seq_energy",
                                     "seq_leakage_mw", "buffers", "buffer_area")}


def _measure_blocks(planned: dict[str, tuple], *, liberty, workdir: Path | None = None,
                    progress=None) -> dict[str, dict]:
    """Measure blocks ``{label: (component, activity, hold_enable, static_ports)}``.

    Each block sits between registers (:class:`_Registered`) and is synthesized with the
    designs' flow. One zero-delay gate-level simulation of all the netlists together (a
    single Verilator build) gives every cell pin's switching activity under uniformly random
    data (held inputs at random constants, the enable low for ``hold_enable``), the same
    kind of activity :func:`shiftadd.models.validation.validate_design` measures on whole
    designs; OpenSTA then reports the power of each block with it. Returns per label: area,
    dynamic energy per cycle (pJ) and leakage (mW) of the combinational logic, and the same
    for the flip-flops (``seq_*``).
    """
    with tempfile.TemporaryDirectory(prefix="shiftadd-cal-") as tmp:
        root = Path(workdir) if workdir else Path(tmp)
        jobs = {}
        for label, (comp, activity, hold, static) in planned.items():
            if progress:
                progress(f"synthesize {label}")
            wrapped = _Registered(comp)
            ports = port_list(wrapped, clocked=True)
            rules = [("en", 0.0, 1.0 if not hold else 0.0), ("rst", 0.0, 0.0),
                     *[(p, 0.0, 0.5) for p in static], ("*", activity, 0.5)]
            verilog = component_verilog(wrapped, label)
            kwargs = dict(ports=ports, activity_rules=rules, ops_per_cycle=None,
                          liberty=liberty, clock_ns=CALIBRATION_CLOCK_NS,
                          data_activity=activity, workdir=root / label)
            r = synthesize_verilog(verilog, label, **kwargs)
            held = {"rst": 0, "en": 0 if hold else 1}
            toggling = tuple(p["name"] for p in ports if p["direction"] == "input"
                             and p["name"] not in held and p["name"] not in static
                             and activity > 0)
            jobs[label] = (verilog, kwargs, StimulusBlock(netlist=r.netlist, top=label,
                                                          ports=ports, toggling=toggling,
                                                          held=held))
        if progress:
            progress(f"gate-level simulation of {len(jobs)} blocks")
        activities = random_stimulus_activity([job[2] for job in jobs.values()],
                                              liberty=liberty, cycles=SIM_CYCLES,
                                              workdir=root / "sim")
        lib = read_liberty(liberty)
        results = {}
        for label, (verilog, kwargs, _) in jobs.items():
            if progress:
                progress(f"power of {label}")
            r = synthesize_verilog(verilog, label, **kwargs, activity=activities[label])
            if r.power_mw is None:
                raise ToolError(f"no power figure for calibration block {label}: {r.notes}")
            g = r.power_mw["groups"]
            comb, seq = g.get("Combinational"), g.get("Sequential")
            results[label] = {
                "area": r.area - r.sequential_area,
                "energy": (comb["total"] - comb["leakage"]) * CALIBRATION_CLOCK_NS,
                "leakage_mw": comb["leakage"],
                "seq_area": r.sequential_area,
                "seq_energy": (seq["total"] - seq["leakage"]) * CALIBRATION_CLOCK_NS,
                "seq_leakage_mw": seq["leakage"],
                **dict(zip(("buffers", "buffer_area"), lib.buffer_usage(r.cell_types)))}
    return results


def _least_squares(columns, values) -> list[float]:
    """Coefficients ``c`` minimizing ``|columns @ c - values|`` (one column per cost part)."""
    coef, *_ = np.linalg.lstsq(np.asarray(columns, float), np.asarray(values, float),
                               rcond=None)
    return [float(c) for c in coef]


def _fit_bits_count(bits, counts, results) -> dict:
    """Least-squares ``cost = per_bit * bits + fixed * count`` for area, energy, leakage."""
    columns = np.array([bits, counts], float).T
    ab, af = _least_squares(columns, [r["area"] for r in results])
    eb, ef = _least_squares(columns, [r["energy"] for r in results])
    lb = float(np.sum([r["leakage_mw"] for r in results]) / np.sum(bits))
    return {"area_per_bit": ab, "area_fixed": af, "energy_per_bit": eb, "energy_fixed": ef,
            "leakage_mw_per_bit": lb}


def _linear_fit(x: list[float], y: list[float]) -> tuple[float, float]:
    slope, intercept = np.polyfit(np.asarray(x, float), np.asarray(y, float), 1)
    return float(slope), float(intercept)


def _fanout_unit(blocks: dict[int, dict]) -> dict:
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
        raise ToolError("synthesis buffered fewer than two of the fan-out calibration blocks "
                        f"(buffers per net {dict(zip(fanouts, per_net))}); the liberty has "
                        "no usable buffer cell or the fan-outs are too small")
    slope, _ = _linear_fit([f for f, _ in buffered], [b for _, b in buffered])
    if slope <= 0:
        raise ToolError("buffers per net do not grow with fan-out in the calibration blocks "
                        f"({dict(zip(fanouts, per_net))})")
    total = sum(blocks[f]["buffers"] for f in fanouts)
    columns = [[FANOUT_NETS * f, blocks[f]["buffers"]] for f in fanouts]

    def per_buffer(key):
        return max(0.0, _least_squares(columns, [blocks[f][key] for f in fanouts])[1])

    return {"area": sum(blocks[f]["buffer_area"] for f in fanouts) / total,
            "energy": per_buffer("energy"), "leakage_mw": per_buffer("leakage_mw"),
            "loads_per_buffer": 1.0 / slope, "fanouts": fanouts, "buffers_per_net": per_net}


def _units(measure, a: float, planning: bool = False) -> dict[str, dict]:
    """The unit table from block measurements: ``measure(component, label, activity=,
    hold=, static=)`` returns a block's figures (see :func:`_measure_blocks`); with
    ``planning`` it only records the blocks (its figures are placeholders)."""
    units: dict[str, dict] = {}
    # Flip-flops: a register bank between the input and output registers makes three banks
    # in a chain; the sequential power divides evenly. The enable of ``dffe`` is a mux in
    # this library (no enable flip-flop), found in the combinational group.
    banks = 3 * LANES
    plain_held = measure(_Register(width=LANES, enable=False), "dff_held", activity=0.0)
    plain = measure(_Register(width=LANES, enable=False), "dff_toggling")
    units["dff"] = {
        "area": plain["seq_area"] / banks,
        "energy_clock": plain_held["seq_energy"] / banks,
        "energy_data": max(0.0, plain["seq_energy"] - plain_held["seq_energy"]) / banks,
        "leakage_mw": plain["seq_leakage_mw"] / banks,
    }
    en_held = measure(_Register(width=LANES, enable=True), "dffe_held", activity=0.0, hold=True)
    en = measure(_Register(width=LANES, enable=True), "dffe_toggling")
    units["dffe"] = {
        "area": units["dff"]["area"] + en["area"] / LANES,
        "energy_clock": units["dff"]["energy_clock"] + en_held["energy"] / LANES,
        "energy_data": units["dff"]["energy_data"]
        + max(0.0, en["energy"] - en_held["energy"]) / LANES,
        "leakage_mw": units["dff"]["leakage_mw"] + en["leakage_mw"] / LANES,
    }
    widths = [4, 8, 16, 32]
    adders = [measure(_Adder(width=w), f"adder{w}") for w in widths]
    bits = [w + 1 for w in widths]
    ab, af = _linear_fit(bits, [r["area"] for r in adders])
    eb, ef = _linear_fit(bits, [r["energy"] for r in adders])
    lb, _ = _linear_fit(bits, [r["leakage_mw"] for r in adders])
    units["adder"] = {"area_per_bit": ab, "area_fixed": af, "energy_per_bit": eb,
                      "energy_fixed": ef, "leakage_mw_per_bit": lb,
                      "fit_widths": widths}
    # Adders inside reduction trees see less activity than free-standing ones (upper sum
    # bits of random terms change less often), so trees are calibrated in place.
    trees = [(16, 1), (64, 1), (16, 4), (16, 8), (8, 16), (32, 2)]
    tree_bits, tree_counts, tree_results = [], [], []
    for count, width in trees:
        term_range = (0, 1) if width == 1 else (-(1 << (width - 1)), (1 << (width - 1)) - 1)
        tree = AdderTree(count=count, term_range=term_range)
        c, b = _tree_adders(tree.plan)
        tree_counts.append(c)
        tree_bits.append(b)
        tree_results.append(measure(tree, f"tree{count}x{width}"))
    units["tree_adder"] = {**_fit_bits_count(tree_bits, tree_counts, tree_results),
                           "fit_trees": [list(t) for t in trees]}
    # Multipliers with the weight operand held, as in the arrays.
    shapes = [(4, 4), (8, 4), (4, 8), (8, 8), (6, 6), (3, 5)]
    mults = [measure(_Multiplier(a_bits=x, w_bits=y), f"mult{x}x{y}", static=("w",))
             for x, y in shapes]
    columns = [[x * y, x + y, 1.0] for x, y in shapes]
    app, aio, afix = _least_squares(columns, [r["area"] for r in mults])
    epp, eio, efix = _least_squares(columns, [r["energy"] for r in mults])
    lpp = float(np.mean([r["leakage_mw"] / (x * y) for r, (x, y) in zip(mults, shapes)]))
    units["mult"] = {"area_per_pp": app, "area_per_io": aio, "area_fixed": afix,
                     "energy_per_pp": epp, "energy_per_io": eio, "energy_fixed": efix,
                     "leakage_mw_per_pp": lpp, "fit_shapes": [list(s) for s in shapes]}
    r = measure(_Compressor(lanes=LANES), "csa")
    units["csa"] = {"area": r["area"] / LANES, "energy": r["energy"] / LANES,
                    "leakage_mw": r["leakage_mw"] / LANES}
    selector = _BoothSelect(rows=8, weight_bits=8)
    r = measure(selector, "booth_sel", static=("w",))
    units["booth_sel"] = {"area": r["area"] / selector.bits,
                          "energy": r["energy"] / selector.bits,
                          "leakage_mw": r["leakage_mw"] / selector.bits}
    fanout_blocks = {f: measure(_Fanout(nets=FANOUT_NETS, loads=f), f"fanout{f}")
                     for f in FANOUTS}
    if not planning:
        units["fanout_buf"] = _fanout_unit(fanout_blocks)
    # In the arrays one input of an XNOR/XOR lane and the select of a mux are weights or
    # configuration, held while data streams; the calibration holds them too.
    static_inputs = {"xnor2": ("b",), "xor2": ("b",), "and2": (), "mux2": ("s",)}
    for op in ("xnor2", "xor2", "and2", "mux2"):
        r = measure(_Lanes(op=op, lanes=LANES), op, static=static_inputs[op])
        units[op] = {"area": r["area"] / LANES, "energy": r["energy"] / LANES,
                     "leakage_mw": r["leakage_mw"] / LANES}

    return units

def calibrate(liberty=None, *, name: str | None = None, out: str | os.PathLike | None = None,
              workdir: str | os.PathLike | None = None, progress=None) -> Path:
    """Synthesize and measure every unit block on ``liberty`` and write the unit table.

    Returns the path of the table written (default ``models/data/units_<name>.toml``).
    """
    lib = resolve_liberty(liberty)
    if lib is None:
        raise ToolError("calibration needs a liberty file: pass --liberty or set "
                        "SHIFTADD_LIBERTY")
    if find_sta() is None:
        raise ToolError("calibration needs OpenSTA (sta) for power: "
                        "sudo apt-get install -y opensta")
    name = name or "ihp-sg13g2"
    a = CALIBRATION_ACTIVITY
    work = Path(workdir) if workdir else None
    planned: dict[str, tuple] = {}

    def plan(comp, label, activity=a, hold=False, static=()):
        planned[label] = (comp, activity, hold, tuple(static))
        return _PLACEHOLDER

    # Plan the blocks, measure them all (one gate-level simulation for all), then compute.
    _units(plan, a, planning=True)
    results = _measure_blocks(planned, liberty=lib, workdir=work, progress=progress)
    with warnings.catch_warnings():
        # The second pass builds the same components only to name them: never elaborated.
        warnings.filterwarnings("ignore", message=".*created but never used")
        units = _units(lambda comp, label, **kw: results[label], a)
        gc.collect()  # components in reference cycles warn when collected: do it here

    from ..rtl_gen.tools import find_yosys, tool_versions

    meta = {
        "name": name,
        "source": f"shiftadd calibrate --liberty {lib.name}",
        "liberty": lib.name,
        "created": datetime.date.today().isoformat(),
        "clock_ns": CALIBRATION_CLOCK_NS,
        "data_activity": a,
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
    }
    path = Path(out) if out else DATA_DIR / f"units_{name}.toml"
    atomic_write(path, _to_toml(meta, units))
    if out is None and name == "ihp-sg13g2":
        # The Horowitz 45 nm table derives its non-cited units from this one.
        from .technology import horowitz_table, write_unit_table

        write_unit_table(horowitz_table(load_unit_table(path)))
    # The SRAM macros of the same PDK, when they sit beside the standard-cell liberty.
    if any(lib.parent.glob("RM_IHPSG13_1P_*.lib")):
        if progress:
            progress("SRAM macros")
        extract_sram_table(lib.parent, name,
                           None if out is None else Path(out).with_name(f"sram_{name}.toml"))
    return path


def _to_toml(meta: dict, units: dict) -> str:
    import tomli_w

    return ("# Unit costs measured by `shiftadd calibrate`; regenerate, do not edit by hand.\n"
            + tomli_w.dumps({"meta": meta, **units}))
