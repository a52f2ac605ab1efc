"""Find a design's best clock: a short sweep of the synthesis delay target, timed by OpenSTA.

ABC maps for a delay target, so the netlist (area and critical path) depends on the clock
asked for. :func:`clock_sweep` synthesizes at a relaxed period first, then at a target a
little below the critical path it got, and so on while the critical path keeps shrinking
(a few points at most). The *best clock* of the design is the shortest critical path seen;
the netlist that reached it is then timed again by OpenSTA alone (:func:`retime`) at that
period, rounded up to 10 ps, so power, slack and energy are reported at the design's own
best clock and not at the target it was mapped for.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import shutil
import tempfile
import time
from pathlib import Path

from ..errors import InputError, ToolError
from .synth import (DEFAULT_DATA_ACTIVITY, DEFAULT_EFFORT, SynthResult, _fill_sta, _run,
                    _sta_script, activity_profile, synthesize)
from .tools import APT_HINT, find_sta, resolve_liberty

__all__ = ["SweepPoint", "ClockSweep", "clock_sweep", "retime"]


@dataclasses.dataclass(frozen=True)
class SweepPoint:
    """One synthesis run of the sweep: the delay target and what it gave."""

    target_ns: float
    area: float
    critical_path_ns: float
    slack_ns: float
    seconds: float

    @property
    def fmax_mhz(self) -> float:
        return 1000.0 / self.critical_path_ns


@dataclasses.dataclass
class ClockSweep:
    """Result of :func:`clock_sweep`.

    Attributes
    ----------
    points : list of SweepPoint
        Every synthesis run, in order.
    best : SynthResult
        The netlist with the shortest critical path, timed and powered at
        :attr:`clock_ns` (its ``netlist`` path is gone once the sweep returns unless a
        ``workdir`` was given).
    clock_ns : float
        The best clock: that critical path rounded up to 10 ps.
    """

    points: list[SweepPoint]
    best: SynthResult
    clock_ns: float

    @property
    def fmax_mhz(self) -> float:
        return 1000.0 / self.best.critical_path_ns

    @property
    def seconds(self) -> float:
        return sum(p.seconds for p in self.points)

    def to_dict(self) -> dict:
        return {"clock_ns": self.clock_ns, "fmax_mhz": self.fmax_mhz,
                "points": [dataclasses.asdict(p) for p in self.points],
                "best": self.best.to_dict()}


def _sta_setup(liberty: Path) -> tuple[float, str | None]:
    """Output load and input driver exactly as :func:`synthesize` sets them."""
    from .liberty import read_liberty

    buffers = read_liberty(liberty).buffers()
    driver = buffers[min(2, len(buffers) - 1)].name if buffers else None
    load_pf = 4 * (buffers[0].inputs[0].capacitance if buffers else 0.005) or 0.02
    return load_pf, driver


def retime(result: SynthResult, design, clock_ns: float, *, liberty=None,
           data_activity: float = DEFAULT_DATA_ACTIVITY, activity_rules=None,
           timeout: float | None = None) -> SynthResult:
    """Time and power an existing netlist (``result.netlist``) at another clock, with
    OpenSTA only; returns a copy of ``result`` with the new timing and power.

    ``activity_rules`` (``(port glob, toggles per cycle, duty)``) default to the design's
    :func:`~shiftadd.rtl_gen.synth.activity_profile` at ``data_activity``.
    """
    from ..hw import interface_of
    from .emit import port_list

    lib = resolve_liberty(liberty)
    sta = find_sta()
    if lib is None or sta is None:
        raise ToolError(f"retiming needs a liberty and OpenSTA (sta): {APT_HINT}")
    if result.netlist is None or not Path(result.netlist).is_file():
        raise InputError("the synthesis result keeps no netlist (synthesize with a workdir)",
                         field="netlist")
    if not 0.05 <= clock_ns <= 1e6:
        raise InputError(f"{clock_ns} is out of range", field="clock_ns",
                         allowed="a period in ns from 0.05 to 1e6")
    rules = activity_profile(design, data_activity) if activity_rules is None \
        else activity_rules
    ports = port_list(interface_of(design))
    load_pf, driver = _sta_setup(lib)
    netlist = Path(result.netlist)
    script = netlist.parent / f"sta_{clock_ns:.4f}.tcl"
    script.write_text(_sta_script(design.name, netlist, lib, clock_ns, ports, rules, load_pf,
                                  driver))
    out = _run([sta[0], "-no_splash", "-exit", str(script)], netlist.parent, timeout)
    new = copy.deepcopy(result)
    new.clock_ns = clock_ns
    new.notes = [n for n in new.notes if "OpenSTA reported" not in n]
    for key in ("critical_path_ns", "fmax_mhz", "slack_ns", "critical_path", "power_mw",
                "activity", "energy_per_cycle_pj", "energy_per_op_pj"):
        setattr(new, key, None)
    _fill_sta(new, out, rules, data_activity)
    return new


def clock_sweep(design, *, liberty=None, start_ns: float | None = None, max_points: int = 3,
                tighten: float = 0.85, tolerance: float = 0.02,
                data_activity: float = DEFAULT_DATA_ACTIVITY, activity_rules=None,
                effort: str = DEFAULT_EFFORT, workdir=None,
                timeout: float | None = None) -> ClockSweep:
    """Synthesize ``design`` at a few clock targets and report it at its best clock.

    Parameters
    ----------
    design : Design
    liberty : path, optional
        Standard-cell library (default ``SHIFTADD_LIBERTY``); required.
    start_ns : float, optional
        First, relaxed target (default: the design's ``clock_ns``).
    max_points : int
        Synthesis runs at most (1 to 8).
    tighten : float
        Each next target is ``tighten`` times the best critical path so far (0.5 to 1).
    tolerance : float
        Stop when a run shortens the best critical path by less than this fraction.
    data_activity, activity_rules
        Switching activity for power (see :func:`retime`).
    workdir : path, optional
        Keep each run's files in ``workdir/p<i>`` (default: a temporary folder).

    Returns
    -------
    ClockSweep
    """
    if resolve_liberty(liberty) is None:
        raise InputError("a clock sweep needs a liberty (timing)", field="--liberty")
    if not isinstance(max_points, int) or not 1 <= max_points <= 8:
        raise InputError(f"{max_points!r} is out of range", field="max_points",
                         allowed="an integer from 1 to 8")
    if not 0.5 <= tighten <= 1.0:
        raise InputError(f"{tighten} is out of range", field="tighten", allowed="0.5 to 1")
    rules = activity_profile(design, data_activity) if activity_rules is None \
        else activity_rules
    target = float(design.clock_ns if start_ns is None else start_ns)
    tmp = None
    if workdir is None:
        tmp = tempfile.mkdtemp(prefix="shiftadd-clock-")
        root = Path(tmp)
    else:
        root = Path(workdir)
    try:
        points, results = [], []
        best = None
        for i in range(max_points):
            t0 = time.perf_counter()
            r = synthesize(design, liberty=liberty, clock_ns=round(target, 3),
                           data_activity=data_activity, effort=effort,
                           workdir=root / f"p{i}", timeout=timeout)
            if r.critical_path_ns is None:
                raise ToolError(f"OpenSTA gave no critical path for {design.name}: {r.notes}")
            points.append(SweepPoint(target_ns=round(target, 3), area=r.area,
                                     critical_path_ns=r.critical_path_ns, slack_ns=r.slack_ns,
                                     seconds=time.perf_counter() - t0))
            results.append(r)
            previous = best
            if best is None or r.critical_path_ns < best.critical_path_ns:
                best = r
            if previous is not None and \
                    best.critical_path_ns > previous.critical_path_ns * (1 - tolerance):
                break
            target = best.critical_path_ns * tighten
        clock = math.ceil(best.critical_path_ns * 100 - 1e-6) / 100
        timed = retime(best, design, clock, liberty=liberty, data_activity=data_activity,
                       activity_rules=rules, timeout=timeout)
        if tmp is not None:
            timed.netlist = None
        return ClockSweep(points=points, best=timed, clock_ns=clock)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
