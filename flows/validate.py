"""Fidelity of the analytic models against the RTL, synthesis and OpenSTA.

For one design, :func:`validate_design` runs a tiled GEMM four ways and compares:

* **cycles**: the analytic model's cycle count of the GEMM against the cycles the RTL took
  in a cocotb + Verilator simulation (checked bit-exactly against the golden model). The
  target is zero error.
* **area**: the model's area (bill of materials priced with the calibrated unit table,
  :func:`shiftadd.models.cost.cost_terms`) against the yosys + ABC netlist on the liberty.
  Target: within 10 %.
* **energy**: the model's energy for that GEMM, as the sweep computes it (cycles x energy per
  active cycle at the data activity, clock energy for idle cycles, leakage x time), against
  OpenSTA's power x time with the switching activity of every cell pin taken from a
  gate-level simulation of the same GEMM on the synthesized netlist (which is also checked
  against the golden model). Target: within 25 %.
* **timing**: the timing model's critical path (:func:`shiftadd.models.timing.critical_path`,
  so fmax) against OpenSTA's worst path on the same netlist. Target: within 10 %.

:func:`validation_report` runs a list of design files and writes the table as Markdown
(``docs/validation.md``, with the command that rebuilds it) and JSON.

**Energy on real data** (:func:`validate_data_energy`, :func:`data_energy_report`,
``shiftadd validate --data CHECKPOINT``): the same GEMM simulated at gate level twice, on
random operands and on a real weight tile with the activations it sees on the calibration
sentences, against the model priced with uniform activity and with the switching measured
on that data (:func:`shiftadd.models.data_activity.measure`). Target: within 25 % on the
real data (``docs/validation_data.md``).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import hashlib
import json
import multiprocessing
import os
import tempfile
import time
from pathlib import Path

from .._io import atomic_write
from .._progress import stage, track
from ..design import load_design
from ..errors import InputError, ShiftaddError
from ..families import family_of
from ..models.cost import cost_terms, gemm_energy_pj, output_drains
from ..models.cycles import gemm_cycles
from ..models.data_activity import design_codes, measure
from ..models.perf import design_vector
from ..models.timing import critical_path_ns
from ..models.units import DATA_DIR
from ..rtl_gen.emit import elaborate
from ..rtl_gen.synth import synthesize
from ..rtl_gen.tools import find_sta, find_yosys, resolve_liberty, tool_versions, verilator_version
from ..sim.operands import save_operands
from ..sim.runner import simulate
from ..workloads.activity_stats import DataActivity, checkpoint_operands
from .activity import measure_activity

__all__ = [
    "ValidationRow",
    "validation_gemm",
    "validate_design",
    "family_summary",
    "validation_report",
    "MAX_JOBS",
    "remodel",
    "AREA_TOLERANCE",
    "ENERGY_TOLERANCE",
    "TIMING_TOLERANCE",
    "MODEL_DATA_ACTIVITY",
    "DataEnergyRow",
    "validate_data_energy",
    "data_energy_report",
    "data_energy_markdown",
    "remodel_data",
    "model_energy_pj",
]

AREA_TOLERANCE = 0.10
ENERGY_TOLERANCE = 0.25
TIMING_TOLERANCE = 0.10
# The bench drives uniformly random data: every data input bit toggles with probability
# 1/2 per transfer, the model's "random data" activity.
MODEL_DATA_ACTIVITY = 0.5


@dataclasses.dataclass
class ValidationRow:
    """One design's model-versus-implementation figures (errors are model / measured - 1)."""

    design: str
    arch: str
    source: str
    gemm: tuple
    design_hash: str
    rtl_passed: bool
    cycles_model: int
    cycles_sim: int
    area_model_um2: float
    area_synth_um2: float
    energy_model_pj: float
    energy_sta_pj: float
    gate_level_passed: bool
    simulated_cycles: float
    annotated_pins: int
    clock_ns: float
    seconds: float
    notes: list = dataclasses.field(default_factory=list)
    critical_path_model_ns: float | None = None
    critical_path_sta_ns: float | None = None
    #: SHA-256 of the emitted Verilog's body (:attr:`GeneratedRTL.body_sha256`): a row is
    #: reused only for the same hardware, not merely the same design parameters.
    rtl_sha256: str = ""

    @property
    def cycles_error(self) -> int:
        return self.cycles_model - self.cycles_sim

    @property
    def area_error(self) -> float:
        return self.area_model_um2 / self.area_synth_um2 - 1.0

    @property
    def energy_error(self) -> float:
        return self.energy_model_pj / self.energy_sta_pj - 1.0

    @property
    def timing_error(self) -> float | None:
        """Model critical path / OpenSTA critical path - 1 (None when either is missing)."""
        if not self.critical_path_model_ns or not self.critical_path_sta_ns:
            return None
        return self.critical_path_model_ns / self.critical_path_sta_ns - 1.0

    @property
    def passed(self) -> bool:
        timing = self.timing_error
        return (
            (timing is None or abs(timing) <= TIMING_TOLERANCE)
            and self.rtl_passed
            and self.gate_level_passed
            and self.cycles_error == 0
            and abs(self.area_error) <= AREA_TOLERANCE
            and abs(self.energy_error) <= ENERGY_TOLERANCE
            and self.annotated_pins > 0
        )

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d.update(
            cycles_error=self.cycles_error,
            area_error=self.area_error,
            energy_error=self.energy_error,
            timing_error=self.timing_error,
            passed=self.passed,
        )
        return d


def validation_gemm(design) -> tuple[int, int, int]:
    """The GEMM ``(M, N, K)`` a design is validated on: its family's choice (by default
    :func:`shiftadd.models.perf.default_validation_gemm`)."""
    return tuple(int(x) for x in family_of(design).get("validation_gemm")(design))


def model_energy_pj(
    design,
    gemm,
    gemm_cycles: int,
    total_cycles: float,
    clock_ns: float,
    data_activity: float,
    units=None,
    activity: DataActivity | None = None,
) -> float:
    """The sweep's energy formula for GEMM ``(M, N, K)`` run in ``total_cycles`` of which
    ``gemm_cycles`` stream data; with ``activity`` (switching measured on the GEMM's data)
    every item at the activity of the nets that drive it instead of ``data_activity``.

    Parameters
    ----------
    design : Design
        The design.
    gemm : tuple of int
        ``(M, N, K)``.
    gemm_cycles : int
        Cycles the cycle model gives the GEMM (data streaming).
    total_cycles : float
        Cycles of the whole run (reset, fill and drain included).
    clock_ns : float
        Clock period.
    data_activity : float
        Toggle rate of the data inputs without ``activity``.
    units : str or UnitTable, optional
        The unit table.
    activity : DataActivity, optional
        Switching measured on the GEMM's data.

    Returns
    -------
    float
        Energy of the run in pJ.
    """
    m, n, k = gemm
    tile_k = int(design_vector(design)["tile_k"])
    terms = cost_terms(design, units, activity=activity)
    if activity is not None:
        data_activity = terms.calibration_activity  # the terms are already the data's
    return float(
        gemm_energy_pj(
            terms,
            gemm_cycles=gemm_cycles,
            total_cycles=max(total_cycles, gemm_cycles),
            macs=m * n * k,
            outputs=output_drains(m, n, k, tile_k),
            clock_ns=clock_ns,
            data_activity=data_activity,
        )
    )


def _required_liberty(liberty) -> Path:
    """The liberty validation synthesizes on; refused in one line when there is none."""
    lib = resolve_liberty(liberty)
    if lib is None:
        raise InputError(
            "validation compares with synthesis on real cells: give a liberty",
            field="--liberty",
            allowed="a .lib path or SHIFTADD_LIBERTY",
        )
    return lib


def _gate_level_energy(design, *, netlist, lib, work, gemm, seed, operands=None):
    """Simulate the mapped ``netlist`` on the validation GEMM (random operands, or the given
    ones) and annotate that activity in OpenSTA: ``(powered result, activity, gate-level
    report, energy in pJ over the simulated cycles)``."""
    switching, gates = measure_activity(
        design, netlist=netlist, liberty=lib, gemm=gemm, seed=seed, operands=operands
    )
    powered = synthesize(design, liberty=lib, workdir=work, activity=switching)
    if not powered.power_mw:
        raise InputError("OpenSTA reported no power", field="--liberty")
    energy = powered.power_mw["total"] * float(design.clock_ns) * switching.cycles
    return powered, switching, gates, energy


def validate_design(
    design,
    *,
    liberty,
    source: str = "",
    seed: int = 0,
    workdir: str | os.PathLike | None = None,
    data_activity: float = MODEL_DATA_ACTIVITY,
    units=None,
) -> ValidationRow:
    """Compare the analytic cycles, area and energy of ``design`` with RTL simulation,
    synthesis and OpenSTA power under gate-level simulated activity (see the module).

    Parameters
    ----------
    design : Design
        The design to validate (a design dataclass of a registered family).
    liberty : path
        Standard-cell liberty (required: area and power need real cells).
    source : str
        Where the design came from (shown in the table).
    seed : int
        Seed of the GEMM's random data.
    workdir : path, optional
        Keep the synthesis files there (default: a temporary folder).
    data_activity : float
        The model's data activity (toggles per bit per transfer; random data: 0.5).
    units : str or UnitTable, optional
        The model's unit table (default: the calibrated IHP SG13G2 table).

    Returns
    -------
    ValidationRow
        The model's and the measured cycles, area (um^2) and energy (pJ) of the validation
        GEMM, with the pass flags of the RTL and gate-level simulations.
    """
    lib = _required_liberty(liberty)
    t0 = time.perf_counter()
    gemm = validation_gemm(design)
    notes: list[str] = []
    rtl = simulate(design, gemm=gemm, seed=seed)
    if not rtl.gemm:
        raise InputError(f"the {design.arch} bench has no GEMM mode", field="arch")
    with tempfile.TemporaryDirectory(prefix="shiftadd-validate-") as tmp:
        work = Path(workdir) if workdir else Path(tmp)
        mapped = synthesize(design, liberty=lib, workdir=work)
        powered, activity, gates, energy_sta = _gate_level_energy(
            design, netlist=mapped.netlist, lib=lib, work=work, gemm=gemm, seed=seed
        )
    if powered.area != mapped.area:
        notes.append("the second synthesis differs from the simulated netlist")
    clock_ns = float(design.clock_ns)
    cycles_sim = int(rtl.gemm["gemm_cycles_sim"])
    cycles_model = int(rtl.gemm["gemm_cycles_model"])
    energy_model = model_energy_pj(
        design, gemm, cycles_model, activity.cycles, clock_ns, data_activity, units
    )
    return ValidationRow(
        design=design.name,
        arch=design.arch,
        source=source,
        gemm=gemm,
        design_hash=design.design_hash,
        rtl_passed=bool(rtl.passed and rtl.gemm.get("gemm_matches", False)),
        cycles_model=cycles_model,
        cycles_sim=cycles_sim,
        area_model_um2=cost_terms(design, units).area,
        area_synth_um2=mapped.area,
        energy_model_pj=energy_model,
        energy_sta_pj=energy_sta,
        gate_level_passed=bool(gates.passed),
        simulated_cycles=activity.cycles,
        annotated_pins=int(powered.activity.get("annotated_pins", 0) if powered.activity else 0),
        clock_ns=clock_ns,
        seconds=time.perf_counter() - t0,
        notes=notes,
        critical_path_model_ns=critical_path_ns(design, units),
        critical_path_sta_ns=mapped.critical_path_ns,
    )


def remodel(
    row: ValidationRow, design, *, data_activity: float = MODEL_DATA_ACTIVITY, units=None
) -> ValidationRow:
    """``row`` with the model's area and energy recomputed for ``design`` (whose measured
    columns it holds) from the current models and unit table.

    The model's cycles stay as the bench computed them: the digit-sparse option's cycles
    depend on the GEMM's data, which only the bench has.
    """
    if row.design_hash != design.design_hash:
        raise ValueError(
            f"row of {row.design} ({row.design_hash}) is not of design "
            f"{design.name} ({design.design_hash})"
        )
    return dataclasses.replace(
        row,
        critical_path_model_ns=critical_path_ns(design, units),
        area_model_um2=cost_terms(design, units).area,
        energy_model_pj=model_energy_pj(
            design,
            row.gemm,
            row.cycles_model,
            row.simulated_cycles,
            row.clock_ns,
            data_activity,
            units,
        ),
    )


def _pct(x: float) -> str:
    return f"{100 * x:+.1f}%"


def family_summary(rows: list[ValidationRow]) -> list[str]:
    """Per family, the share of designs within each target and within all of them, as a
    Markdown table.

    Parameters
    ----------
    rows : list of ValidationRow
        Validated designs.

    Returns
    -------
    list of str
        Markdown lines.
    """
    out = [
        "| family | designs | cycles exact | area within 10% | energy within 25% "
        "| critical path within 10% | all targets |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for arch in sorted({r.arch for r in rows}):
        sel = [r for r in rows if r.arch == arch]
        timed = [r for r in sel if r.timing_error is not None]

        def share(ok: int, n: int) -> str:
            return f"{ok}/{n} ({ok / n:.0%})" if n else "-"

        out.append(
            f"| {arch} | {len(sel)} "
            f"| {share(sum(r.cycles_error == 0 for r in sel), len(sel))} "
            f"| {share(sum(abs(r.area_error) <= AREA_TOLERANCE for r in sel), len(sel))} "
            f"| {share(sum(abs(r.energy_error) <= ENERGY_TOLERANCE for r in sel), len(sel))} "
            f"| {share(sum(abs(r.timing_error) <= TIMING_TOLERANCE for r in timed), len(timed))} "
            f"| {share(sum(r.passed for r in sel), len(sel))} |"
        )
    return out


def _ns(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def markdown_table(rows: list[ValidationRow], *, command: str, liberty: str, versions: dict) -> str:
    ok = sum(r.passed for r in rows)
    lines = [
        "# Model fidelity (generated)",
        "",
        f"Rebuild with `{command}`. Generated by `shiftadd.flows.validate`; do not edit.",
        "",
        f"Liberty: `{Path(liberty).name}`. Tools: "
        + ", ".join(f"{k} {v}" for k, v in sorted(versions.items()))
        + ".",
        "",
        "Each design runs the tiled GEMM in the `gemm` column. *Cycles*: the analytic model vs "
        "the RTL in cocotb + Verilator (bit-exact against the golden model); target 0. "
        f"*Area*: model vs the yosys/ABC netlist; target within {AREA_TOLERANCE:.0%}. "
        "*Energy*: the sweep's energy formula for that GEMM at random-data activity "
        f"({MODEL_DATA_ACTIVITY}) vs OpenSTA power x time with every cell pin annotated from a "
        "gate-level simulation of the same GEMM on the netlist (itself checked against the "
        f"golden model); target within {ENERGY_TOLERANCE:.0%}. *Critical path*: the timing "
        "model (structure priced with delay units OpenSTA measured on the liberty) vs OpenSTA's "
        f"worst path on the netlist; target within {TIMING_TOLERANCE:.0%}. "
        "Errors are model / measured - 1.",
        "",
        "| design | arch | gemm (M,N,K) | cycles model | cycles RTL | error | area model um2 "
        "| area synth um2 | error | energy model nJ | energy STA nJ | error "
        "| crit. path model ns | crit. path STA ns | error | gate-level | pass |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.design} | {r.arch} | {','.join(map(str, r.gemm))} | {r.cycles_model} "
            f"| {r.cycles_sim} | {r.cycles_error} | {r.area_model_um2:,.0f} "
            f"| {r.area_synth_um2:,.0f} | {_pct(r.area_error)} | {r.energy_model_pj / 1e3:.2f} "
            f"| {r.energy_sta_pj / 1e3:.2f} | {_pct(r.energy_error)} "
            f"| {_ns(r.critical_path_model_ns)} | {_ns(r.critical_path_sta_ns)} "
            f"| {'-' if r.timing_error is None else _pct(r.timing_error)} "
            f"| {'ok' if r.gate_level_passed else 'MISMATCH'} | {'yes' if r.passed else 'NO'} |"
        )
    lines += ["", f"{ok} of {len(rows)} designs within all targets."]
    lines += ["", *family_summary(rows)]
    notes = [(r.design, n) for r in rows for n in r.notes]
    if notes:
        lines += ["", "Notes:", ""] + [f"- {d}: {n}" for d, n in notes]
    return "\n".join(lines) + "\n"


def validation_report(
    paths: list[str | os.PathLike],
    *,
    liberty,
    out_md=None,
    out_json=None,
    command: str = "shiftadd validate",
    progress=None,
    jobs: int = 1,
) -> list[ValidationRow]:
    """Validate every design file in ``paths``; write the Markdown and JSON tables.

    With an existing ``out_json`` from the same liberty and tools, the measured columns of
    designs whose emitted Verilog and validation GEMM are unchanged are reused (an interrupted
    run resumes) and their model columns recomputed; delete the JSON file to measure
    everything again. With ``jobs`` > 1 the designs to measure run in that many worker
    processes (each synthesis, simulation and OpenSTA run is single-threaded); the rows keep
    the order of ``paths`` whatever order they finish in.
    """
    if not isinstance(jobs, int) or not 1 <= jobs <= MAX_JOBS:
        raise InputError(f"{jobs!r} is out of range", field="jobs", allowed=f"1 to {MAX_JOBS}")
    lib = _required_liberty(liberty)
    # every file validated before work; designs given as objects are used as they are
    designs = [
        (str(p), load_design(p)) if not isinstance(p, tuple) else (str(p[0]), p[1]) for p in paths
    ]
    versions = {k: v for k, v in tool_versions().items() if v}
    versions.update(
        yosys=(find_yosys() or ("", "missing"))[1],
        opensta=(find_sta() or ("", "missing"))[1],
        verilator=verilator_version(),
    )
    versions["unit_table_sha256"] = hashlib.sha256(
        (DATA_DIR / "units_ihp-sg13g2.toml").read_bytes()
    ).hexdigest()[:16]
    # The measured columns (RTL cycles, synthesized area, OpenSTA energy) of an earlier run
    # with the same design, GEMM, liberty and tools are reused, so an interrupted validation
    # resumes where it stopped; the model's area and energy are always recomputed from the
    # current models and unit table, which take milliseconds.
    measured_with = {k: v for k, v in versions.items() if k != "unit_table_sha256"}
    done: dict[str, ValidationRow] = {}
    if out_json and Path(out_json).is_file():
        try:
            old = json.loads(Path(out_json).read_text())
        except ValueError:
            old = {}
        old_tools = {k: v for k, v in old.get("tools", {}).items() if k != "unit_table_sha256"}
        if old.get("liberty") == str(lib) and old_tools == measured_with:
            fields = {f.name for f in dataclasses.fields(ValidationRow)}
            for r in old.get("rows", []):
                if "design_hash" in r:
                    r = {k: v for k, v in r.items() if k in fields}
                    r["gemm"] = tuple(r["gemm"])
                    done[r["design_hash"]] = ValidationRow(**r)
    rows: list[ValidationRow] = []
    failures: list[tuple[str, str]] = []

    def write(pending: int) -> None:
        # Rewritten (atomically) after every design, so a long run shows its progress.
        if out_md:
            text = markdown_table(rows, command=command, liberty=str(lib), versions=versions)
            if failures:
                text += "\nCould not be validated:\n\n" + "".join(
                    f"- `{src}`: {msg}\n" for src, msg in failures
                )
            if pending:
                text += f"\n({pending} more design(s) still being validated.)\n"
            generated = [d for src, d in designs if src.startswith("random")]
            if generated:
                # Generated designs have no file to open: list what each one is.
                text += "\nThe generated designs (fields other than defaults):\n\n" + "".join(
                    f"- `{d.name}`: "
                    + ", ".join(
                        f"{k}={v}"
                        for k, v in d.to_dict().items()
                        if k not in ("name", "arch") and v not in (None, False)
                    )
                    + "\n"
                    for d in generated
                )
            atomic_write(Path(out_md), text)
        if out_json:
            atomic_write(
                Path(out_json),
                json.dumps(
                    {
                        "liberty": str(lib),
                        "tools": versions,
                        "pending": pending,
                        "failures": failures,
                        "rows": [r.to_dict() for r in rows],
                    },
                    indent=1,
                    default=str,
                )
                + "\n",
            )

    slots: list[ValidationRow | None] = [None] * len(designs)
    to_measure: list[tuple[int, str, object, str]] = []

    def settle(i: int, source: str, row: ValidationRow | None, error: str | None) -> None:
        if error is not None:
            # One design's failure is reported and does not stop the others.
            failures.append((source, error))
        slots[i] = row
        rows[:] = [r for r in slots if r is not None]

    with stage("validate", total=len(designs)) as running:
        for i, (source, design) in enumerate(designs):
            reused = done.get(design.design_hash)
            try:
                # A generator change keeps the design hash: the emitted Verilog decides.
                digest = elaborate(design).body_sha256
            except (ShiftaddError, RuntimeError, ValueError) as exc:
                settle(i, source, None, str(exc).splitlines()[0][:300])
                running.advance()
                continue
            if (
                reused is not None
                and reused.rtl_sha256 == digest
                and reused.gemm == tuple(validation_gemm(design))
            ):
                if progress:
                    progress(source)
                try:
                    settle(i, source, _reuse_row(reused, design, source, lib), None)
                except (ShiftaddError, RuntimeError, ValueError) as exc:
                    settle(i, source, None, str(exc).splitlines()[0][:300])
                running.advance()
            else:
                to_measure.append((i, source, design, digest))
        if to_measure:
            write(len(to_measure))
        pending = len(to_measure)
        for i, source, row, error, digest in _measure_rows(to_measure, lib, jobs, progress):
            pending -= 1
            if row is not None:
                row = dataclasses.replace(row, rtl_sha256=digest)
            settle(i, source, row, error)
            running.advance()
            write(pending)
        write(0)
    return rows


#: Most worker processes ``validation_report`` runs.
MAX_JOBS = 64


def _reuse_row(reused: ValidationRow, design, source: str, lib: Path) -> ValidationRow:
    """An earlier row's measurements with the current models' columns."""
    row = dataclasses.replace(remodel(reused, design), source=source)
    if row.critical_path_sta_ns is None:
        # A row measured before timing was validated: time its netlist now.
        try:
            with tempfile.TemporaryDirectory(prefix="shiftadd-validate-") as tmp:
                sta = synthesize(design, liberty=lib, workdir=tmp).critical_path_ns
            row = dataclasses.replace(row, critical_path_sta_ns=sta)
        except ShiftaddError as exc:
            first = str(exc).splitlines()[0][:200]
            row.notes.append(f"critical path not measured: {first}")
    return row


def _validate_or_error(design, lib: str, source: str) -> tuple[ValidationRow | None, str | None]:
    # Runs in a worker process: errors come back as text (exceptions with keyword-only
    # fields do not unpickle).
    try:
        return validate_design(design, liberty=lib, source=source), None
    except (ShiftaddError, RuntimeError, ValueError) as exc:
        return None, str(exc).splitlines()[0][:300]


def _measure_rows(to_measure, lib: Path, jobs: int, progress):
    """Yield ``(index, source, row, error, digest)`` for each design to measure, in
    ``jobs`` processes (in this one for ``jobs == 1``), as they finish."""
    if jobs == 1 or len(to_measure) <= 1:
        for i, source, design, digest in to_measure:
            if progress:
                progress(source)
            yield (i, source, *_validate_or_error(design, str(lib), source), digest)
        return
    # spawn, not fork: the parent may hold threads (progress redraw) and open tool pipes.
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(
        max_workers=min(jobs, len(to_measure)), mp_context=context
    ) as pool:
        futures = {}
        for i, source, design, digest in to_measure:
            if progress:
                progress(source)
            futures[pool.submit(_validate_or_error, design, str(lib), source)] = (
                i,
                source,
                digest,
            )
        for future in concurrent.futures.as_completed(futures):
            i, source, digest = futures[future]
            yield (i, source, *future.result(), digest)


@dataclasses.dataclass
class DataEnergyRow:
    """One design's energy on random data and on real data, model and gate level.

    ``*_model_pj``: the sweep's energy formula for the validation GEMM (random: one activity,
    0.5; data: every item at the activity :func:`shiftadd.models.data_activity.measure`
    finds for the nets that drive it). ``*_sta_pj``: OpenSTA power x time with every cell
    pin annotated from a gate-level simulation of the same GEMM on the netlist (random
    operands, then the real ones). Errors are model / measured - 1; shifts are data /
    random - 1.
    """

    design: str
    arch: str
    source: str
    data: str
    gemm: tuple
    activity: dict
    random_model_pj: float
    random_sta_pj: float
    data_model_pj: float
    data_sta_pj: float
    cycles_random: float
    cycles_data: float
    gate_level_passed: bool
    clock_ns: float
    seconds: float
    design_hash: str = ""
    rtl_sha256: str = ""
    #: The cycle model's count for each run (the bench's; data-dependent for digit-sparse
    #: designs), kept so a rerun can reprice the row with the current models.
    model_cycles_random: int = 0
    model_cycles_data: int = 0

    @property
    def random_error(self) -> float:
        return self.random_model_pj / self.random_sta_pj - 1.0

    @property
    def data_error(self) -> float:
        return self.data_model_pj / self.data_sta_pj - 1.0

    @property
    def model_shift(self) -> float:
        """How far the model's real-data energy is from its random-data energy."""
        return self.data_model_pj / self.random_model_pj - 1.0

    @property
    def sta_shift(self) -> float:
        """How far the gate-level real-data energy is from the random-data energy."""
        return self.data_sta_pj / self.random_sta_pj - 1.0

    @property
    def passed(self) -> bool:
        return self.gate_level_passed and abs(self.data_error) <= ENERGY_TOLERANCE

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d.update(
            random_error=self.random_error,
            data_error=self.data_error,
            model_shift=self.model_shift,
            sta_shift=self.sta_shift,
            passed=self.passed,
        )
        return d


def validate_data_energy(
    design,
    *,
    liberty,
    checkpoint: str = "all-minilm-l6-v2",
    layer: str | None = None,
    source: str = "",
    seed: int = 0,
    workdir: str | os.PathLike | None = None,
    units=None,
) -> DataEnergyRow:
    """Energy of ``design``'s validation GEMM on random operands and on a real weight tile
    with the activations it sees, the model against gate-level simulated power.

    The GEMM ``(M, N, K)`` runs on the first ``N x K`` weights of a linear layer of
    ``checkpoint`` and the first ``M`` of its input rows on the calibration sentences
    (:func:`shiftadd.workloads.activity_stats.checkpoint_operands`), rounded to the
    design's number format. The netlist is synthesized once and simulated twice (random,
    then real operands); each run's switching annotates OpenSTA's power.

    Parameters
    ----------
    design : Design
        A design whose family has a data-activity model and a bench that runs given
        operands (adder tree, systolic, 2D matrix, shift-add).
    liberty : path
        Standard-cell liberty.
    checkpoint : str
        Packaged checkpoint name or BERT checkpoint folder.
    layer : str, optional
        The linear layer (default: the first with enough outputs and inputs).
    source : str
        Where the design came from (shown in the table).
    seed : int
        Seed of the random operands (and thresholds).
    workdir : path, optional
        Keep the synthesis files there.
    units : str or UnitTable, optional
        The model's unit table.

    Returns
    -------
    DataEnergyRow
        Model and gate-level energies on both kinds of data, and the measured switching.
    """
    lib = _required_liberty(liberty)
    t0 = time.perf_counter()
    gemm = validation_gemm(design)
    m, n, k = gemm
    w, x, data = checkpoint_operands(checkpoint, layer, rows=n, cols=k, tokens=m)
    activity = measure(design, w, x, source=data, tiles=1 << 20)
    wc, xc = design_codes(design, w, x)
    clock_ns = float(design.clock_ns)
    energies, cycles, passed = {}, {}, True
    model_cycle_counts: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="shiftadd-validate-data-") as tmp:
        work = Path(workdir) if workdir else Path(tmp)
        operands = save_operands(Path(tmp) / "operands.npz", xc, wc)
        mapped = synthesize(design, liberty=lib, workdir=work)
        for kind, given in (("random", None), ("data", operands)):
            _, switching, gates, energy_sta = _gate_level_energy(
                design,
                netlist=mapped.netlist,
                lib=lib,
                work=work,
                gemm=gemm,
                seed=seed,
                operands=given,
            )
            passed = passed and bool(gates.passed and (gates.gemm or {}).get("gemm_matches"))
            model_cycles = int((gates.gemm or {}).get("gemm_cycles_model", 0))
            energies[kind] = (
                model_energy_pj(
                    design,
                    gemm,
                    model_cycles,
                    switching.cycles,
                    clock_ns,
                    MODEL_DATA_ACTIVITY,
                    units,
                    activity=activity if kind == "data" else None,
                ),
                energy_sta,
            )
            cycles[kind] = switching.cycles
            model_cycle_counts[kind] = model_cycles
    return DataEnergyRow(
        design=design.name,
        arch=design.arch,
        source=source,
        data=data,
        gemm=gemm,
        activity=activity.to_dict(),
        random_model_pj=energies["random"][0],
        random_sta_pj=energies["random"][1],
        data_model_pj=energies["data"][0],
        data_sta_pj=energies["data"][1],
        cycles_random=cycles["random"],
        cycles_data=cycles["data"],
        gate_level_passed=passed,
        clock_ns=clock_ns,
        seconds=time.perf_counter() - t0,
        design_hash=design.design_hash,
        model_cycles_random=model_cycle_counts["random"],
        model_cycles_data=model_cycle_counts["data"],
    )


def remodel_data(
    row: DataEnergyRow, design, *, checkpoint: str, units=None
) -> DataEnergyRow | None:
    """``row``'s measurements with the model columns recomputed by the current models (the
    data's switching measured again on the same operands); None when the row lacks the
    model's cycle counts and the design's cycles depend on its data (measure it again).

    Parameters
    ----------
    row : DataEnergyRow
        A row measured earlier on ``design`` (same emitted Verilog and GEMM).
    design : Design
        The design.
    checkpoint : str
        The checkpoint the row's real operands came from.
    units : str or UnitTable, optional
        The model's unit table.

    Returns
    -------
    DataEnergyRow or None
        The repriced row.
    """
    m, n, k = row.gemm
    counts = {"random": row.model_cycles_random, "data": row.model_cycles_data}
    if not all(counts.values()):
        if getattr(design, "digit_sparse", False):
            return None
        # Rows from before the counts were kept: the cycle model is data-independent here
        # and equal to the RTL's (the validation checks that), so it gives the same count.
        analytic = int(gemm_cycles(design, m, n, k).cycles)
        counts = {"random": analytic, "data": analytic}
    w, x, _ = checkpoint_operands(checkpoint, None, rows=n, cols=k, tokens=m)
    activity = measure(design, w, x, source=row.data, tiles=1 << 20)
    clock_ns = float(row.clock_ns)
    model = {
        kind: model_energy_pj(
            design,
            row.gemm,
            counts[kind],
            total,
            clock_ns,
            MODEL_DATA_ACTIVITY,
            units,
            activity=activity if kind == "data" else None,
        )
        for kind, total in (("random", row.cycles_random), ("data", row.cycles_data))
    }
    return dataclasses.replace(
        row,
        activity=activity.to_dict(),
        random_model_pj=model["random"],
        data_model_pj=model["data"],
        model_cycles_random=counts["random"],
        model_cycles_data=counts["data"],
    )


def data_energy_markdown(rows: list[DataEnergyRow], *, command: str) -> str:
    """The random-versus-real-data energy table as Markdown (no title).

    Parameters
    ----------
    rows : list of DataEnergyRow
        Validated designs.
    command : str
        The command that rebuilds the table (shown above it).

    Returns
    -------
    str
        Markdown.
    """
    lines = [
        f"Rebuild with `{command}`.",
        "",
        "| design | arch | gemm (M,N,K) | act toggle | weight toggle | act zeros | weight zeros "
        "| term | sum | model random nJ | STA random nJ | error | model data nJ | STA data nJ "
        "| error | data vs random, model | data vs random, STA | pass |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        a = r.activity
        lines.append(
            f"| {r.design} | {r.arch} | {','.join(map(str, r.gemm))} "
            f"| {a['act_toggle']:.3f} | {a['weight_toggle']:.3f} | {a['act_zero']:.1%} "
            f"| {a['weight_zero']:.1%} | {a['term']:.3f} | {a['sum']:.3f} "
            f"| {r.random_model_pj / 1e3:.2f} | {r.random_sta_pj / 1e3:.2f} "
            f"| {_pct(r.random_error)} | {r.data_model_pj / 1e3:.2f} "
            f"| {r.data_sta_pj / 1e3:.2f} | {_pct(r.data_error)} | {_pct(r.model_shift)} "
            f"| {_pct(r.sta_shift)} | {'yes' if r.passed else 'NO'} |"
        )
    ok = sum(r.passed for r in rows)
    lines += [
        "",
        f"{ok} of {len(rows)} designs within {ENERGY_TOLERANCE:.0%} on real data.",
    ]
    if rows:
        lines += ["", f"Data: {rows[0].data}."]
    return "\n".join(lines) + "\n"


def data_energy_report(
    paths: list,
    *,
    liberty,
    checkpoint: str = "all-minilm-l6-v2",
    out_md=None,
    out_json=None,
    command: str = "shiftadd validate --data all-minilm-l6-v2",
    progress=None,
) -> list[DataEnergyRow]:
    """:func:`validate_data_energy` for every design file in ``paths``; writes the Markdown
    table (:func:`data_energy_markdown`) and JSON rows, rewritten after every design.

    With an existing ``out_json`` from the same checkpoint, liberty and tools, the measured
    columns of designs whose emitted Verilog and validation GEMM are unchanged are reused (an
    interrupted run resumes) and their model columns recomputed (:func:`remodel_data`);
    delete the file to measure everything again.

    Parameters
    ----------
    paths : list of path or (str, Design)
        Design files, or (source, design) pairs.
    liberty : path
        Standard-cell liberty.
    checkpoint : str
        Packaged checkpoint name or BERT checkpoint folder.
    out_md, out_json : path, optional
        Where to write the table and the rows.
    command : str
        The command shown above the table.
    progress : callable, optional
        Called with each design's source before it runs.

    Returns
    -------
    list of DataEnergyRow
        The rows of the designs that could be validated.
    """
    _required_liberty(liberty)
    # Every file and the checkpoint checked before any work.
    designs = [
        (str(p), load_design(p)) if not isinstance(p, tuple) else (str(p[0]), p[1]) for p in paths
    ]
    checkpoint_operands(checkpoint, rows=1, cols=1, tokens=1)
    measured_with = {
        "checkpoint": checkpoint,
        "liberty": str(resolve_liberty(liberty)),
        "tools": {
            **{k: v for k, v in tool_versions().items() if v},
            "yosys": (find_yosys() or ("", "missing"))[1],
            "opensta": (find_sta() or ("", "missing"))[1],
            "verilator": verilator_version(),
        },
    }
    done: dict[str, DataEnergyRow] = {}
    if out_json and Path(out_json).is_file():
        try:
            old = json.loads(Path(out_json).read_text())
        except ValueError:
            old = {}
        if old.get("measured_with") == measured_with:
            fields = {f.name for f in dataclasses.fields(DataEnergyRow)}
            for r in old.get("rows", []):
                if r.get("design_hash"):
                    r = {key: v for key, v in r.items() if key in fields}
                    r["gemm"] = tuple(r["gemm"])
                    done[r["design_hash"]] = DataEnergyRow(**r)
    rows: list[DataEnergyRow] = []
    failures: list[tuple[str, str]] = []
    for i, (source, design) in enumerate(track(designs, "data-energy validation")):
        if progress:
            progress(source)
        try:
            reused = done.get(design.design_hash)
            digest = elaborate(design).body_sha256
            if (
                reused is not None
                and reused.rtl_sha256 == digest
                and reused.gemm == tuple(validation_gemm(design))
            ):
                remodelled = remodel_data(reused, design, checkpoint=checkpoint)
            else:
                remodelled = None
            if remodelled is not None:
                rows.append(dataclasses.replace(remodelled, source=source))
            else:
                row = validate_data_energy(
                    design, liberty=liberty, checkpoint=checkpoint, source=source
                )
                rows.append(dataclasses.replace(row, rtl_sha256=digest))
        except (ShiftaddError, RuntimeError, ValueError) as exc:
            failures.append((source, str(exc).splitlines()[0][:300]))
        pending = len(designs) - i - 1
        if out_md:
            text = data_energy_markdown(rows, command=command)
            if failures:
                text += "\nCould not be validated:\n\n" + "".join(
                    f"- `{src}`: {msg}\n" for src, msg in failures
                )
            if pending:
                text += f"\n({pending} more design(s) still being validated.)\n"
            atomic_write(Path(out_md), text)
        if out_json:
            atomic_write(
                Path(out_json),
                json.dumps(
                    {
                        "measured_with": measured_with,
                        "rows": [r.to_dict() for r in rows],
                        "failures": failures,
                        "pending": pending,
                    },
                    indent=1,
                    default=str,
                )
                + "\n",
            )
    return rows
