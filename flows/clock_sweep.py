"""Find a design's best clock: a short sweep of the synthesis delay target, timed by OpenSTA.

ABC maps for a delay target, so the netlist (area and critical path) depends on the clock
asked for. :func:`clock_sweep` synthesizes at a relaxed period first, then at a target a
little below the critical path it got, and so on while the critical path keeps shrinking
(a few points at most). The *best clock* of the design is the shortest critical path seen;
the netlist that reached it is then timed again by OpenSTA alone
(:func:`shiftadd.rtl_gen.synth.retime`) at that
period, rounded up to 10 ps, so power, slack and energy are reported at the design's own
best clock and not at the target it was mapped for.
"""

from __future__ import annotations

import dataclasses
import math
import shutil
import tempfile
import time
from pathlib import Path

from ..errors import InputError, ToolError
from ..rtl_gen.synth import (
    DEFAULT_DATA_ACTIVITY,
    DEFAULT_EFFORT,
    SynthResult,
    activity_profile,
    retime,
    synthesize,
)
from ..rtl_gen.tools import resolve_liberty

__all__ = ["SweepPoint", "ClockSweep", "clock_sweep"]


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
        return {
            "clock_ns": self.clock_ns,
            "fmax_mhz": self.fmax_mhz,
            "points": [dataclasses.asdict(p) for p in self.points],
            "best": self.best.to_dict(),
        }


def clock_sweep(
    design,
    *,
    liberty=None,
    start_ns: float | None = None,
    max_points: int = 3,
    tighten: float = 0.85,
    tolerance: float = 0.02,
    data_activity: float = DEFAULT_DATA_ACTIVITY,
    activity_rules=None,
    effort: str = DEFAULT_EFFORT,
    workdir=None,
    timeout: float | None = None,
) -> ClockSweep:
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
        raise InputError(
            f"{max_points!r} is out of range", field="max_points", allowed="an integer from 1 to 8"
        )
    if not 0.5 <= tighten <= 1.0:
        raise InputError(f"{tighten} is out of range", field="tighten", allowed="0.5 to 1")
    rules = activity_profile(design, data_activity) if activity_rules is None else activity_rules
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
            r = synthesize(
                design,
                liberty=liberty,
                clock_ns=round(target, 3),
                data_activity=data_activity,
                effort=effort,
                workdir=root / f"p{i}",
                timeout=timeout,
            )
            if r.critical_path_ns is None:
                raise ToolError(f"OpenSTA gave no critical path for {design.name}: {r.notes}")
            points.append(
                SweepPoint(
                    target_ns=round(target, 3),
                    area=r.area,
                    critical_path_ns=r.critical_path_ns,
                    slack_ns=r.slack_ns,
                    seconds=time.perf_counter() - t0,
                )
            )
            results.append(r)
            previous = best
            if best is None or r.critical_path_ns < best.critical_path_ns:
                best = r
            if previous is not None and best.critical_path_ns > previous.critical_path_ns * (
                1 - tolerance
            ):
                break
            target = best.critical_path_ns * tighten
        clock = math.ceil(best.critical_path_ns * 100 - 1e-6) / 100
        timed = retime(
            best,
            design,
            clock,
            liberty=liberty,
            data_activity=data_activity,
            activity_rules=rules,
            timeout=timeout,
        )
        if tmp is not None:
            timed.netlist = None
        return ClockSweep(points=points, best=timed, clock_ns=clock)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
