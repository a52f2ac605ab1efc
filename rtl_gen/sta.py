"""Static timing and power with OpenSTA: the environment every netlist is timed in, the Tcl
script for a netlist, and reading OpenSTA's report into a synthesis result."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

from .activity import SwitchingActivity, sta_annotation
from .liberty import read_liberty

__all__ = [
    "sta_environment",
    "sta_script",
    "read_sta_report",
    "timing_paths",
    "worst_clock_path",
    "CLOCK_GROUP",
]

# The name every netlist's clock gets in OpenSTA, hence the path group of its register and
# port paths.
CLOCK_GROUP = "clk"

_ARRIVAL = re.compile(r"^\s*(-?[\d.]+)\s+data arrival time", re.M)
_SLACK = re.compile(r"^\s*(-?[\d.]+)\s+slack \((MET|VIOLATED)\)", re.M)
_POINT = re.compile(r"^(Startpoint|Endpoint):\s*(\S+)", re.M)
_GROUP = re.compile(r"^Path Group:\s*(\S+)", re.M)
_POWER = re.compile(
    r"^(Sequential|Combinational|Macro|Pad|Total)\s+([-\d.eE+]+)\s+([-\d.eE+]+)"
    r"\s+([-\d.eE+]+)\s+([-\d.eE+]+)",
    re.M,
)


def sta_environment(liberty: Path) -> tuple[float, str | None]:
    """``(output load in pF, input driver cell)`` every netlist is timed with: a mid-size
    buffer drives the inputs; outputs see four buffer input pins."""
    buffers = read_liberty(liberty).buffers()
    driver = buffers[min(2, len(buffers) - 1)].name if buffers else None
    load_pf = 4 * (buffers[0].inputs[0].capacitance if buffers else 0.005) or 0.02
    return load_pf, driver


def sta_script(
    top: str,
    netlist: Path,
    liberty: Path,
    clock_ns: float,
    ports: list[dict],
    rules: list[tuple[str, float, float]],
    load_pf: float,
    driver: str | None,
    activity: SwitchingActivity | None = None,
    *,
    clock_port: str | None = "clk",
    ideal_ports: tuple[str, ...] = (),
) -> str:
    """OpenSTA Tcl: read the netlist, constrain the clock, report the critical path, then
    power with the ports' activity ``rules`` (``(glob, toggles per cycle, duty)``) or, with
    ``activity``, every annotated pin's simulated activity.

    The clock is called ``clk`` whatever its port (``clock_port``; a design without that
    port gets a virtual clock), and the critical path is the worst setup path of the
    clock's path group (:data:`CLOCK_GROUP`), which leaves out asynchronous resets'
    recovery and removal checks (OpenSTA's ``**async_default**`` group). ``ideal_ports``
    (external RTL's resets) get no driving cell, like the clock: their fan-out tree is built
    in physical design, which this flow does not model, and a flip-flop's asynchronous
    reset pins sit outside ABC's buffering."""
    clocked = clock_port is not None and any(p["name"] == clock_port for p in ports)
    clock_pins = f"[get_ports {{{clock_port}}}]"
    lines = [
        f"read_liberty {liberty}",
        f"read_verilog {netlist}",
        f"link_design {top}",
        # A combinational block gets a virtual clock: it sets the period that turns
        # toggles per cycle into power.
        f"create_clock -name {CLOCK_GROUP} -period {clock_ns}"
        + (f" {clock_pins}" if clocked else ""),
        f"set_input_delay 0 -clock {CLOCK_GROUP} "
        + (f"[delete_from_list [all_inputs] {clock_pins}]" if clocked else "[all_inputs]"),
        f"set_output_delay 0 -clock {CLOCK_GROUP} [all_outputs]",
        f"set_load {load_pf} [all_outputs]",
    ]
    if driver:
        undriven = [clock_port] if clocked else []
        undriven += [p for p in ideal_ports if any(q["name"] == p for q in ports)]
        names = " ".join(undriven)
        lines.append(
            f"set_driving_cell -lib_cell {driver} "
            + (
                f"[delete_from_list [all_inputs] [get_ports {{{names}}}]]"
                if undriven
                else "[all_inputs]"
            )
        )
    # The clock's path group only: an asynchronous reset's recovery check is not a datapath.
    lines += [f"report_checks -path_delay max -path_group {CLOCK_GROUP} -digits 4"]
    for port in ports:
        if port["direction"] != "input" or port["name"] == clock_port:
            continue
        for pattern, toggles, duty in rules:
            if fnmatch.fnmatch(port["name"], pattern):
                lines.append(
                    f"set_power_activity -input_ports [get_ports {{{port['name']}*}}] "
                    f"-activity {toggles} -duty {duty}"
                )
                break
    if activity is not None:
        inputs = [p["name"] for p in ports if p["direction"] == "input" and p["name"] != clock_port]
        lines.append(sta_annotation(activity, inputs))
        lines += _clock_gates_for_power(netlist, liberty)
    lines += ["report_power -digits 6", "exit"]
    return "\n".join(lines) + "\n"


def _clock_gates_for_power(netlist: Path, liberty) -> list[str]:
    """Tcl that lets simulated activity price gated clocks: OpenSTA prices every pin of a
    clock network at the clock's rate, ignoring annotated activity, so the flip-flops behind
    an integrated clock gate would pay their clock on every cycle. After the timing report
    (which times them through the gate) the gates' arcs are disabled, so their outputs and
    the flip-flops' clock pins are priced from the simulation. Nothing without gates."""
    icg = read_liberty(liberty).clock_gate()
    if icg is None or not Path(netlist).is_file() or icg[0] not in Path(netlist).read_text():
        return []
    return [
        "# clock gates: gated clock nets priced from their simulated activity",
        "foreach c [get_cells -hierarchical *] {",
        f'  if {{[get_property $c ref_name] == "{icg[0]}"}} {{ set_disable_timing $c }}',
        "}",
    ]


def timing_paths(out: str) -> list[dict]:
    """Every path in OpenSTA ``report_checks`` output.

    Parameters
    ----------
    out : str
        OpenSTA's output (other text in it is skipped).

    Returns
    -------
    list of dict
        Per path, in report order: ``startpoint``, ``endpoint``, ``path_group`` (None when
        the report names none), ``arrival_ns`` (data arrival time) and ``slack_ns``.
    """
    paths = []
    for chunk in re.split(r"^(?=Startpoint:)", out, flags=re.M):
        arrival, slack = _ARRIVAL.search(chunk), _SLACK.search(chunk)
        if not chunk.startswith("Startpoint:") or not (arrival and slack):
            continue
        points = dict(_POINT.findall(chunk))
        group = _GROUP.search(chunk)
        paths.append(
            {
                "startpoint": points.get("Startpoint"),
                "endpoint": points.get("Endpoint"),
                "path_group": group.group(1) if group else None,
                "arrival_ns": float(arrival.group(1)),
                "slack_ns": float(slack.group(1)),
            }
        )
    return paths


def worst_clock_path(out: str, group: str = CLOCK_GROUP) -> dict | None:
    """The least-slack path of the clock's path group in OpenSTA output.

    Paths of other groups, such as an asynchronous reset's recovery and removal checks
    (``**async_default**``), are not datapaths and are left out; paths of a report that
    names no groups count as the clock's.

    Parameters
    ----------
    out : str
        OpenSTA's output.
    group : str
        The clock's path group (the clock's name).

    Returns
    -------
    dict or None
        The path as :func:`timing_paths` gives it, or None when the group has none.
    """
    paths = [p for p in timing_paths(out) if p["path_group"] in (group, None)]
    return min(paths, key=lambda p: p["slack_ns"]) if paths else None


def read_sta_report(result, out: str, rules, data_activity: float) -> None:
    """Fill a :class:`~shiftadd.rtl_gen.synth.SynthResult`'s timing and power from
    OpenSTA's output ``out``."""
    path = worst_clock_path(out)
    if path is not None:
        s = path["slack_ns"]
        result.slack_ns = s
        result.timing_met = s >= 0.0
        result.critical_path_ns = result.clock_ns - s
        result.fmax_mhz = 1000.0 / result.critical_path_ns if result.critical_path_ns > 0 else None
        result.critical_path = {
            "startpoint": path["startpoint"],
            "endpoint": path["endpoint"],
            "arrival_ns": path["arrival_ns"],
            "path_group": path["path_group"],
        }
    else:
        result.notes.append("OpenSTA reported no constrained path")
    groups = {
        m.group(1): [float(m.group(i)) * 1e3 for i in range(2, 6)] for m in _POWER.finditer(out)
    }
    if "Total" in groups:
        internal, switching, leakage, total = groups["Total"]
        result.power_mw = {
            "internal": internal,
            "switching": switching,
            "leakage": leakage,
            "total": total,
            "sequential": groups.get("Sequential", [0, 0, 0, 0])[3],
            "combinational": groups.get("Combinational", [0, 0, 0, 0])[3],
            "groups": {
                g: dict(zip(("internal", "switching", "leakage", "total"), v))
                for g, v in groups.items()
            },
        }
        result.activity = {
            "data_inputs_toggles_per_cycle": data_activity,
            "rules": [list(r) for r in rules],
            "note": "OpenSTA propagates input activity through the netlist",
        }
        result.energy_per_cycle_pj = total * result.clock_ns  # mW * ns = pJ
        if result.ops_per_cycle:
            result.energy_per_op_pj = result.energy_per_cycle_pj / result.ops_per_cycle
    else:
        result.notes.append("OpenSTA reported no power")
