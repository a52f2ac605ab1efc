"""The ``shiftadd`` command: a thin layer over tested library functions.

Every subcommand parses its flags, calls one library function and prints the result (a
table, or JSON with ``--json``). Each command imports what it runs only when it runs
(marked "deferred" below): start-up time, since ``shiftadd model`` must not pay for
Amaranth, cocotb or pandas. Bad input ends in one line on stderr naming the field and
the allowed values, and exit status 2; a failed check (a simulation mismatch, a lint
warning) in exit status 1.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

from ._version import __version__
from .errors import ShiftaddError

__all__ = ["main", "build_parser"]


# -- argument types ------------------------------------------------------------------------
def _int_at_least(flag: str, minimum: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{flag}: {text!r} is not an integer (allowed: an integer >= {minimum})"
            ) from None
        if value < minimum:
            raise argparse.ArgumentTypeError(
                f"{flag}: {value} is out of range (allowed: an integer >= {minimum})"
            )
        return value

    return parse


def _int_in(flag: str, lo: int, hi: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or not lo <= value <= hi:
            raise argparse.ArgumentTypeError(
                f"{flag}: {text!r} is out of range (allowed: an integer from {lo} to {hi})"
            )
        return value

    return parse


def _number_in(flag: str, lo: float, hi: float | None = None, *, lo_open: bool = False):
    allowed = (
        (f"a number > {lo:g}" if lo_open else f"a number >= {lo:g}")
        if hi is None
        else f"a number from {lo:g} to {hi:g}"
    )

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{flag}: {text!r} is not a number (allowed: {allowed})"
            ) from None
        if not (value > lo if lo_open else value >= lo) or (hi is not None and value > hi):
            raise argparse.ArgumentTypeError(
                f"{flag}: {value} is out of range (allowed: {allowed})"
            )
        return value

    return parse


def _gemm(text: str) -> tuple[int, int, int]:
    parts = text.split(",")
    try:
        dims = tuple(int(p) for p in parts)
    except ValueError:
        dims = ()
    if len(dims) != 3 or min(dims) < 1:
        raise argparse.ArgumentTypeError(
            f"--gemm: {text!r} is not M,N,K (allowed: three integers >= 1, e.g. 64,16,256)"
        )
    return dims


# -- output helpers ------------------------------------------------------------------------
def _emit(args, data: dict, lines: list[str]) -> None:
    if getattr(args, "json", False):
        json.dump(data, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        sys.stdout.write("\n".join(lines) + "\n")


def _fmt(value, digits: int = 4) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


# -- commands ------------------------------------------------------------------------------
def cmd_doctor(args) -> int:
    from .rtl_gen.tools import doctor  # deferred: start-up time

    statuses = doctor(args.liberty)
    lines = []
    for s in statuses:
        mark = "found  " if s.found else "missing"
        detail = " ".join(x for x in (s.version or "", s.path or "", s.note) if x)
        lines.append(f"{mark} {s.name}: {detail}".rstrip())
        if not s.found and s.fix:
            lines.append(f"        fix: {s.fix}")
    _emit(args, {"tools": [s.to_dict() for s in statuses]}, lines)
    return 0


def cmd_gen(args) -> int:
    from .design import load_design  # deferred: start-up time
    from .rtl_gen.emit import write_rtl

    design = load_design(args.design)
    v_path, j_path = write_rtl(design, args.out)
    result = {"design": design.name, "verilog": str(v_path), "manifest": str(j_path)}
    lines = [f"wrote {v_path}", f"wrote {j_path}"]
    status = 0
    if not args.no_lint:
        from .rtl_gen.lint import lint_verilog  # deferred: start-up time

        lint = lint_verilog(v_path, design.name)
        result["lint"] = {
            "ok": lint.ok,
            "warnings": list(lint.warnings),
            "command": " ".join(lint.command[:3] + ("...",)),
        }
        lines.append("verilator --lint-only -Wall: " + ("clean" if lint.ok else "WARNINGS"))
        lines += [f"  {w}" for w in lint.warnings[:20]]
        status = 0 if lint.ok else 1
    _emit(args, result, lines)
    return status


def cmd_sim(args) -> int:
    from .design import load_design  # deferred: start-up time
    from .sim.runner import simulate

    design = load_design(args.design)
    report = simulate(
        design,
        vectors=args.vectors,
        seed=args.seed,
        simulator=args.simulator,
        stall=args.stall,
        gemm=args.gemm,
        random_init=args.random_init,
    )
    d = report.to_dict()
    lines = [
        f"design {report.design} on {report.simulator}: " + ("PASS" if report.passed else "FAIL"),
        f"  vectors checked     {report.vectors} ({report.dot_products} dot products)",
        f"  mismatches          {report.mismatches} (missing {report.missing}, "
        f"extra {report.extra})",
        f"  cycles checked      {report.cycle_checked} against the analytic model, "
        f"{report.cycle_mismatches} differ",
        f"  simulated cycles    {report.sim_cycles}",
        f"  throughput          {report.dot_products_per_second:,.0f} checked dot products/s "
        f"({report.cycles_per_second:,.0f} cycles/s in the simulator)",
        f"  build               {report.build_seconds:.1f} s ({report.build_dir})",
    ]
    if report.gemm:
        g = report.gemm
        lines.append(
            f"  GEMM {g['gemm']}: product "
            + ("matches" if g["gemm_matches"] else "DIFFERS")
            + f", cycles simulated {g['gemm_cycles_sim']} vs model "
            f"{g['gemm_cycles_model']}"
        )
    for m in report.first_mismatches:
        lines.append(f"  mismatch: {m}")
    _emit(args, d, lines)
    return 0 if report.passed else 1


def cmd_synth(args) -> int:
    from ._io import write_json  # deferred: start-up time
    from .design import load_design
    from .rtl_gen.synth import synthesize

    design = load_design(args.design)
    r = synthesize(
        design,
        liberty=args.liberty,
        clock_ns=args.clock_ns,
        data_activity=args.activity,
        effort=args.effort,
        workdir=args.workdir,
    )
    d = r.to_dict()
    if args.out:
        write_json(args.out, d)
    lines = [
        f"design {r.design}: {r.cells} cells ({r.sequential_cells} sequential), "
        f"area {r.area:,.1f} {r.area_unit} ({r.area_ge:,.0f} GE), ABC effort {r.effort}",
        f"  liberty            {r.liberty or 'none (generic gates)'}",
        f"  clock              {r.clock_ns} ns",
    ]
    if r.critical_path_ns is not None:
        lines.append(
            f"  critical path      {r.critical_path_ns:.3f} ns -> fmax "
            f"{_fmt(r.fmax_mhz)} MHz (slack {r.slack_ns:+.3f} ns; "
            f"{r.critical_path['startpoint']} -> {r.critical_path['endpoint']})"
        )
    if r.power_mw is not None:
        p = r.power_mw
        lines.append(
            f"  power              {p['total']:.4g} mW (internal {p['internal']:.3g}, "
            f"switching {p['switching']:.3g}, leakage {p['leakage']:.3g}) at data "
            f"activity {args.activity} toggles/cycle, weights held"
        )
        lines.append(
            f"  energy             {r.energy_per_cycle_pj:.4g} pJ/cycle, "
            f"{_fmt(r.energy_per_op_pj)} pJ/op ({r.ops_per_cycle} ops/cycle)"
        )
    top = list(r.cell_types.items())[:8]
    lines.append("  cells              " + ", ".join(f"{t} {n}" for t, n in top))
    lines += [f"  note: {n}" for n in r.notes]
    if r.timing_met is False:
        miss = (
            f"TIMING NOT MET: critical path {r.critical_path_ns:.3f} ns is longer than the "
            f"{r.clock_ns} ns clock (slack {r.slack_ns:+.3f} ns, fmax {_fmt(r.fmax_mhz)} "
            f"MHz); add pipeline stages or use a clock of at least "
            f"{r.critical_path_ns:.2f} ns"
        )
        lines.insert(1, "  " + miss)
        print(f"shiftadd synth: warning: {r.design}: {miss}", file=sys.stderr)
    _emit(args, d, lines)
    return 3 if r.timing_met is False and args.require_timing else 0


def cmd_model(args) -> int:
    from .design import load_design  # deferred: start-up time
    from .models.cost import estimate
    from .models.cycles import gemm_cycles

    design = load_design(args.design)
    cost = estimate(design, args.units, data_activity=args.activity)
    d = {
        "design": design.to_dict(),
        "latency_cycles": design.latency,
        "initiation_interval": design.initiation_interval,
        "ops_per_cycle": design.ops_per_cycle,
        "cost": cost.to_dict(),
    }
    lines = [
        f"design {design.name} ({design.arch}): latency {design.latency} cycles, one vector "
        f"every {design.initiation_interval} cycle(s), {design.ops_per_cycle} ops/cycle",
        f"  area               {cost.area:,.1f} {cost.area_unit} (unit table {cost.table})",
        f"  energy             {cost.energy_per_cycle_pj:.4g} pJ/cycle, "
        f"{cost.energy_per_op_pj:.4g} pJ/op at data activity {cost.data_activity}",
        f"  power              {cost.power_mw:.4g} mW at {cost.clock_ns} ns",
        f"  efficiency         {cost.tops_per_watt:.3g} TOPS/W, {cost.gops_per_mm2:,.1f} GOPS/mm^2",
    ]
    timing = model_timing(design, cost.table)
    d["timing"] = timing
    if timing.get("critical_path_ns") is not None:
        verdict = "meets" if timing["meets_clock"] else "DOES NOT MEET"
        lines.append(
            f"  timing (model)     critical path {timing['critical_path_ns']:.2f} ns, fmax "
            f"{timing['fmax_mhz']:.0f} MHz: {verdict} the {design.clock_ns} ns clock; "
            f"slowest: {timing['path']}"
        )
        if args.breakdown:
            lines += [f"    {part:<52} {ns:6.3f} ns" for part, ns in timing["breakdown"]]
    else:
        lines.append(f"  timing (model)     not modelled: {timing['reason']}")
    if args.gemm:
        g = gemm_cycles(design, *args.gemm)
        d["gemm"] = {
            "M": args.gemm[0],
            "N": args.gemm[1],
            "K": args.gemm[2],
            **g.__dict__,
            "latency_ns": g.cycles * design.clock_ns,
            "energy_pj": g.cycles * cost.energy_per_cycle_pj,
        }
        lines.append(
            f"  GEMM {args.gemm}: {g.cycles} cycles ({g.tiles} tiles, "
            f"{g.weight_writes} weight writes), utilization {g.utilization:.1%}, "
            f"{g.cycles * design.clock_ns / 1000:.3g} us, "
            f"{g.cycles * cost.energy_per_cycle_pj / 1e6:.3g} uJ"
        )
    if args.breakdown:
        for row in cost.breakdown:
            lines.append(
                f"    {row['part']:<40} {row['unit']:<10} {row['count']:>9g} "
                f"{row['area']:>12,.0f} {row['energy_per_cycle_pj']:>9.3f} pJ"
            )
    _emit(args, d, lines)
    return 0


def model_timing(design, table: str) -> dict:
    """The timing model's report as plain data, or why there is none."""
    from .errors import InputError  # deferred: start-up time
    from .models.timing import critical_path

    try:
        report = critical_path(design, table)
    except InputError as exc:
        return {"critical_path_ns": None, "reason": str(exc)}
    return {**report.to_dict(), "meets_clock": report.meets(design.clock_ns)}


def cmd_calibrate(args) -> int:
    from .flows.calibrate import calibrate  # deferred: start-up time

    path = calibrate(
        args.liberty,
        name=args.name,
        out=args.out,
        progress=None if args.json else (lambda label: print(f"  {label}", file=sys.stderr)),
        delays_only=args.delays_only,
    )
    _emit(args, {"table": str(path)}, [f"wrote {path}"])
    return 0


def cmd_validate(args) -> int:
    from .errors import InputError  # deferred: start-up time
    from .flows.validate import validation_report

    catalog = Path(__file__).resolve().parent / "examples"
    if args.random is not None:
        from .design.random import random_designs  # deferred: start-up time

        if args.designs:
            raise InputError("give design files or --random, not both", field="--random")
        paths = [
            (f"random (seed {args.seed}) #{i}", d)
            for i, d in enumerate(random_designs(args.random, args.seed, args.arch))
        ]
    else:
        # Relative to the working directory when below it: the table shows where designs are.
        paths = args.designs or sorted(
            os.path.relpath(p) if p.is_relative_to(Path.cwd()) else str(p)
            for p in catalog.iterdir()
            if p.suffix in (".toml", ".yaml", ".yml")
        )
    command = "shiftadd validate " + " ".join(
        (["--random", str(args.random), "--seed", str(args.seed)] if args.random else [])
        + [f"--arch {a}" for a in args.arch or []]
        + (["--out", args.out] if args.out else [])
        + (["--json-out", args.json_out] if args.json_out else [])
    )
    rows = validation_report(
        paths,
        liberty=args.liberty,
        out_md=args.out,
        out_json=args.json_out,
        command=command.strip(),
        progress=None if args.json else (lambda src: print(f"  validating {src}", file=sys.stderr)),
    )
    lines = [
        f"{r.design:28s} cycles {r.cycles_error:+d}  area {100 * r.area_error:+6.1f}%  "
        f"energy {100 * r.energy_error:+6.1f}%  critical path "
        + ("   n/a " if r.timing_error is None else f"{100 * r.timing_error:+6.1f}%")
        + f"  {'ok' if r.passed else 'OUT OF TARGET'}"
        for r in rows
    ]
    if args.out:
        lines.append(f"wrote {args.out}")
    _emit(args, {"rows": [r.to_dict() for r in rows]}, lines)
    return 0 if all(r.passed for r in rows) else 1


def cmd_demo(args) -> int:
    from .flows.demo import run_demo  # deferred: start-up time

    summary = run_demo(
        args.out,
        vectors=args.vectors,
        liberty=args.liberty,
        quick=args.quick,
        log=lambda s: print(s, file=sys.stderr),
    )
    lines = [f"results table: {summary['csv']}", f"plot: {summary['plot']}"]
    for key in ("sweep", "quality_sweep"):
        sweep = summary[key]
        lines.append(
            f"{key.replace('_', ' ')}: {sweep['points']:,} points in {sweep['seconds']:.1f} s, "
            f"Pareto front (area, energy, quality) {sweep['pareto_points']} points: "
            f"{sweep['results']}"
        )
        lines += [f"{key.replace('_', ' ')} plot: {p}" for p in sweep["plots"]]
    _emit(args, summary, lines)
    return 0 if summary["passed"] else 1


def cmd_sweep(args) -> int:
    from .models.pareto import pareto_front  # deferred: start-up time
    from .models.plots import plot_results
    from .models.sweep import load_sweep_spec, quality_summary, run_sweep, timing_summary

    spec = load_sweep_spec(args.spec, workload=args.workload, phase=args.phase, batch=args.batch)
    result = run_sweep(
        spec,
        args.out,
        scheduler=args.scheduler,
        workers=args.workers,
        csv=args.csv,
        progress=not args.json,
    )
    import pandas as pd  # deferred: start-up time

    points = pd.read_parquet(f"{args.out}/points.parquet")
    objectives = [("area_mm2", "min"), ("energy_per_token_uj", "min")]
    scored = spec.quality_source is not None
    if scored:
        objectives.append(("quality", "max"))
    front = pareto_front(points, objectives)
    result["pareto_points"] = len(front)
    # Points equal in every objective (differing only in, e.g., a buffer size) listed once.
    distinct = front.drop_duplicates([c for c, _ in objectives]).sort_values("energy_per_token_uj")
    result["pareto_objectives"] = [c for c, _ in objectives]
    result["timing"] = timing_summary(points, spec.options["timing"])
    result["quality"] = quality_summary(points, spec)
    kinds = ["pareto", "quality"] if scored else ["pareto"]
    result["plots"] = [] if args.no_plots else [p for k in kinds for p in plot_results(args.out, k)]
    lines = [
        f"{result['points']:,} design points x {len(spec.layers)} GEMMs "
        f"({result['evaluations']:,} evaluations) in {result['seconds']:.1f} s "
        f"({result['computed_chunks']} of {result['chunks']} chunks computed)",
        f"  results   {args.out}/points.parquet, {args.out}/layers.parquet",
        f"  timing    {result['timing']['text']}",
        f"  quality   {result['quality']['text']}",
        f"  Pareto front ({', '.join(result['pareto_objectives'])}): {len(front)} points, "
        f"{len(distinct)} distinct",
    ]
    for _, r in distinct.head(12).iterrows():
        quality = f"  quality {r['quality']:6.3f} ({r['weight_format']}/{r['act_format']})"
        lines.append(
            f"    point {r['point']:>7}  {r['arch']:<11} "
            f"{r['area_mm2']:9.3f} mm^2  {r['energy_per_token_uj']:12.1f} uJ/token  "
            f"{r['tokens_per_s']:8.2f} tokens/s" + (quality if scored else "")
        )
    if len(distinct) > 12:
        lines.append(f"    ... {len(distinct) - 12} more distinct points in points.parquet")
    lines += [f"  plot      {p}" for p in result["plots"]]
    _emit(args, result, lines)
    return 0


def _number_format(text: str):
    """``--format W/A`` as a NumberFormat: a registered weight format and an activation
    format (``int4/int8``, ``bcq3/int8``, ``sign/sign``)."""
    from .errors import InputError  # deferred: start-up time
    from .workloads.quality import NumberFormat
    from .workloads.quant import available_formats

    weight, sep, act = text.partition("/")
    if not sep:
        raise InputError(
            f"{text!r} is not WEIGHT/ACT", field="--format", allowed="e.g. int4/int8, sign/sign"
        )
    if not any(re.fullmatch(p, weight) for p in available_formats()):
        raise InputError(
            f"unknown weight format {weight!r}",
            field="--format",
            allowed="sign, ternary, int2..int16, int2_asym..int16_asym, bcq1..bcq4, "
            "bcq1_fixed..bcq4_fixed",
        )
    return NumberFormat(weight, act)


def cmd_quality(args) -> int:
    from .design import load_design  # deferred: start-up time
    from .workloads.interchange import resolve_workload
    from .workloads.quality import format_quality, quality_source

    formats = [(f"{d.name} ({d.arch})", d.number_format) for d in map(load_design, args.design)]
    formats += [(f.label, f) for f in map(_number_format, args.format or [])]
    if not formats:
        formats = [
            (text, _number_format(text))
            for text in ("sign/sign", "sign/int8", "ternary/int8", "int4/int8", "int8/int8")
        ]
    table = resolve_workload(args.workload, phase="prefill", seq=128)
    source = quality_source(args.workload, table)
    rows = []
    for name, fmt in formats:
        r = format_quality(source, fmt, cache=not args.no_cache)
        rows.append({"name": name, "format": fmt.to_dict(), "label": fmt.label, **_result_dict(r)})
    lines = [f"quality on {source.description}", ""]
    header = (
        f"{'design or format':<34} {'weights':<24} {'acts':<6} {'bits/w':>7} {'weight err':>10} "
        f"{'output err':>10} {source.metric:>17}"
    )
    lines.append(header)
    for row, (_, fmt) in zip(rows, formats):
        lines.append(
            f"{row['name'][:34]:<34} {fmt.weight_label[:24]:<24} {fmt.act:<6} "
            f"{row['bits_per_weight']:7.3f} {row['weight_error']:10.4f} "
            f"{row['output_error']:10.4f} {row['quality']:17.4f}"
        )
        if args.layers:
            for layer in row["layers"]:
                lines.append(
                    f"    {layer['name']:<52} weight err {layer['weight_error']:.4f}  "
                    f"output err {layer['output_error']:.4f}"
                )
    _emit(args, {"source": source.description, "metric": source.metric, "rows": rows}, lines)
    return 0


def _result_dict(result) -> dict:
    """A QualityResult as a JSON-able dict."""
    import dataclasses  # deferred: start-up time

    d = dataclasses.asdict(result)
    d["layers"] = list(d["layers"])
    return d


def cmd_export(args) -> int:
    import tomli_w  # deferred: start-up time

    from ._io import atomic_write
    from .design import design_from_dict
    from .errors import InputError  # deferred: start-up time
    from .models.sweep import point_design  # deferred: start-up time

    if args.point < 0:
        raise InputError(f"{args.point} is negative", field="POINT_ID", allowed="0 or more")
    out = Path(args.out)
    if out.suffix != ".toml":
        raise InputError(f"{out.name!r} is not a .toml file", field="--out", allowed="*.toml")
    if not out.parent.is_dir():
        raise InputError("no such folder", field="--out", source=str(out.parent))
    fields = point_design(args.sweep, args.point)
    fields["name"] = args.name or f"{Path(args.sweep).resolve().name}_p{args.point}"
    design = design_from_dict(fields)  # the file written is a valid design
    # None means "derived" in a design file: leave such fields out.
    body = {k: v for k, v in fields.items() if v is not None}
    header = (
        f"# Point {args.point} of the sweep in {args.sweep}, exported by shiftadd export;\n"
        f"# clock_ns is the clock the sweep evaluated the point at.\n"
    )
    atomic_write(out, header + tomli_w.dumps(body))
    _emit(
        args,
        {"design": design.to_dict(), "out": str(out)},
        [f"wrote {out} ({design.arch}, clock {design.clock_ns:g} ns)"],
    )
    return 0


def cmd_plot(args) -> int:
    from .models.plots import plot_results  # deferred: start-up time

    paths = plot_results(args.results, args.kind, args.out, top=args.top)
    _emit(args, {"files": paths}, [f"wrote {p}" for p in paths])
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="shiftadd",
        description="Design and judge binary and shift-add neural-network accelerators.",
    )
    parser.add_argument("--version", action="version", version=f"shiftadd {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("doctor", help="report the tools shiftadd uses and how to fix missing ones")
    p.add_argument("--liberty", help="liberty file to check (default: $SHIFTADD_LIBERTY)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_doctor)

    p = sub.add_parser("gen", help="generate Verilog and a manifest from a design file")
    p.add_argument("design", help="design file (.toml or .yaml)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--no-lint", action="store_true", help="skip verilator --lint-only -Wall")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_gen)

    p = sub.add_parser("sim", help="simulate the RTL and check it against the golden model")
    p.add_argument("design")
    p.add_argument("--vectors", type=_int_at_least("--vectors", 1), default=10000)
    p.add_argument("--seed", type=_int_at_least("--seed", 0), default=0)
    p.add_argument("--simulator", choices=("verilator", "icarus"), default="verilator")
    p.add_argument("--stall", action="store_true", help="random input gaps and output backpressure")
    p.add_argument(
        "--gemm", type=_gemm, metavar="M,N,K", help="run one tiled GEMM instead of random vectors"
    )
    p.add_argument(
        "--random-init",
        action="store_true",
        help="start every register at a random value (Verilator; shows a missing reset)",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_sim)

    p = sub.add_parser("synth", help="synthesize with yosys; timing and power with OpenSTA")
    p.add_argument("design")
    p.add_argument(
        "--liberty", help="liberty file (default: $SHIFTADD_LIBERTY; 'none' for generic gates)"
    )
    p.add_argument(
        "--clock-ns",
        type=_number_in("--clock-ns", 0, lo_open=True),
        help="clock period (default: the design's clock_ns)",
    )
    p.add_argument(
        "--activity",
        type=_number_in("--activity", 0, 1),
        default=0.5,
        help="data toggles per cycle for power (default 0.5)",
    )
    p.add_argument(
        "--require-timing", action="store_true", help="exit with status 3 when the clock is not met"
    )
    p.add_argument(
        "--effort",
        choices=("fast", "high"),
        default="fast",
        help="ABC mapping script (default fast; see rtl_gen.synth.EFFORTS)",
    )
    p.add_argument("--workdir", help="keep scripts, logs and netlist in this folder")
    p.add_argument("--out", help="also write the report as JSON to this file")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_synth)

    p = sub.add_parser("model", help="analytic cycles, area and energy")
    p.add_argument("design")
    p.add_argument("--gemm", type=_gemm, metavar="M,N,K")
    p.add_argument("--units", default="ihp-sg13g2", help="unit table name or file")
    p.add_argument("--activity", type=_number_in("--activity", 0, 1), default=0.5)
    p.add_argument("--breakdown", action="store_true", help="list every part's cost")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_model)

    p = sub.add_parser(
        "quality",
        help="what number formats do to a model: layer errors and a whole-model score",
    )
    p.add_argument("design", nargs="*", help="design files: score the formats they compute with")
    p.add_argument(
        "--format",
        action="append",
        metavar="WEIGHT/ACT",
        help="a format pair, e.g. int4/int8 or bcq3/int8 (repeatable)",
    )
    p.add_argument(
        "--workload",
        default="all-minilm-l6-v2",
        help="packaged checkpoint, checkpoint folder or preset (default all-minilm-l6-v2)",
    )
    p.add_argument("--layers", action="store_true", help="list every layer's errors")
    p.add_argument("--no-cache", action="store_true", help="recompute, ignoring the cache")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_quality)

    p = sub.add_parser("calibrate", help="measure the unit cost table on a liberty")
    p.add_argument("--liberty", help="liberty file (default: $SHIFTADD_LIBERTY)")
    p.add_argument("--name", default="ihp-sg13g2", help="table name (default ihp-sg13g2)")
    p.add_argument("--out", help="write here instead of models/data/units_<name>.toml")
    p.add_argument(
        "--delays-only",
        action="store_true",
        help="measure only the delay units and rewrite the table's [delay] section",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_calibrate)

    p = sub.add_parser(
        "validate",
        help="analytic cycles, area and energy vs RTL simulation, "
        "synthesis and OpenSTA with simulated activity",
    )
    p.add_argument("designs", nargs="*", help="design files (default: the examples catalog)")
    p.add_argument(
        "--random",
        type=_int_in("--random", 1, 1000),
        metavar="N",
        help="validate N random designs of every family instead (seeded generator)",
    )
    p.add_argument(
        "--seed", type=_int_in("--seed", 0, 2**31 - 1), default=0, help="seed of --random"
    )
    p.add_argument("--arch", action="append", help="with --random: only this family (repeatable)")
    p.add_argument("--liberty", help="liberty file (default: $SHIFTADD_LIBERTY)")
    p.add_argument("--out", help="write the Markdown table here (e.g. docs/validation.md)")
    p.add_argument("--json-out", help="write the rows as JSON here")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser(
        "demo",
        help="the main job: generate, simulate, synthesize and model the three adder-tree modes",
    )
    p.add_argument("--out", default="out/demo", help="output folder (default out/demo)")
    p.add_argument("--vectors", type=_int_at_least("--vectors", 1), default=100000)
    p.add_argument("--liberty", help="liberty file (default: $SHIFTADD_LIBERTY)")
    p.add_argument("--quick", action="store_true", help="small designs, for a smoke test")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("export", help="write the design file of one sweep point")
    p.add_argument("sweep", help="a finished sweep folder")
    p.add_argument("point", type=int, metavar="POINT_ID", help="the point's id (column point)")
    p.add_argument("--out", required=True, help="design file to write (.toml)")
    p.add_argument("--name", help="design name (default: <sweep folder>_p<POINT_ID>)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("sweep", help="evaluate a design-space sweep over an LLM workload")
    p.add_argument("spec", help="sweep spec (.toml or .yaml)")
    p.add_argument("--workload", help="preset, config.json or workload file (overrides the spec)")
    p.add_argument("--phase", choices=("prefill", "decode"))
    p.add_argument("--batch", type=_int_at_least("--batch", 1))
    p.add_argument("--out", required=True, help="output folder (an interrupted sweep resumes)")
    p.add_argument(
        "--scheduler", help="Dask distributed scheduler address (default: local processes)"
    )
    p.add_argument(
        "--workers",
        type=_int_at_least("--workers", 1),
        help="local worker processes (default: CPU count)",
    )
    p.add_argument("--csv", action="store_true", help="also write CSV files")
    p.add_argument("--no-plots", action="store_true")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("plot", help="plot sweep results")
    p.add_argument("results", help="a sweep output folder")
    p.add_argument(
        "--kind", required=True, choices=("pareto", "quality", "breakdown", "roofline", "layers")
    )
    p.add_argument("--out", help="output file stem (default RESULTS/plot_KIND); .png and .svg")
    p.add_argument(
        "--top",
        type=_int_at_least("--top", 1),
        default=12,
        help="designs shown in breakdown and layer plots",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_plot)

    from .workloads.cli import add_workload_parser  # deferred: start-up time

    add_workload_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ShiftaddError as exc:
        print(f"shiftadd {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("shiftadd: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader (`| head`) went away: stop quietly, as other command-line tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
