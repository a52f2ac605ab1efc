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
import math
import os
import re
import sys
from pathlib import Path

from ._version import __version__
from .errors import ShiftaddError

__all__ = ["main", "build_parser", "MAX_VECTORS", "MAX_GEMM_DIM"]

#: Most random vectors one ``sim`` or ``demo`` run checks (hours of simulation already).
MAX_VECTORS = 10**8
#: Largest GEMM dimension ``--gemm`` takes (M*N*K is bounded by the models' own limit,
#: :data:`shiftadd.workloads.configs.MAX_GEMM_MACS`).
MAX_GEMM_DIM = 2**31
#: Most local worker processes ``sweep --workers`` starts.
MAX_WORKERS = 256
#: Longest error line printed: a message quoting a huge value is cut in the middle, so the
#: field (at the start) and the allowed values (at the end) stay readable.
MAX_ERROR_CHARS = 1000


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line, ``shiftadd CMD: error: MESSAGE``, exit
    status 2, without the usage block (``--help`` still shows it)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {_one_line(message)}\n")


def _one_line(text: str) -> str:
    text = " ".join(str(text).split())
    if len(text) > MAX_ERROR_CHARS:
        half = MAX_ERROR_CHARS // 2
        text = f"{text[:half]} ... {text[-half:]}"
    return text


# -- argument types ------------------------------------------------------------------------
# argparse prefixes a type's error with "argument --flag: ", so the messages below do not
# repeat the flag.
def _parse_int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def _int_at_least(flag: str, minimum: int, maximum: int | None = None):
    allowed = (
        f"an integer >= {minimum}"
        if maximum is None
        else f"an integer from {minimum} to {maximum:,}"
    )

    def parse(text: str) -> int:
        value = _parse_int(text)
        if value is None:
            raise argparse.ArgumentTypeError(
                f"{text[:40]!r} is not an integer (allowed: {allowed})"
            )
        if value < minimum or (maximum is not None and value > maximum):
            raise argparse.ArgumentTypeError(f"{text[:40]} is out of range (allowed: {allowed})")
        return value

    return parse


def _int_in(flag: str, lo: int, hi: int):
    return _int_at_least(flag, lo, hi)


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
                f"{text[:40]!r} is not a number (allowed: {allowed})"
            ) from None
        if (
            not math.isfinite(value)
            or not (value > lo if lo_open else value >= lo)
            or (hi is not None and value > hi)
        ):
            raise argparse.ArgumentTypeError(f"{value} is out of range (allowed: {allowed})")
        return value

    return parse


def _gemm(text: str) -> tuple[int, int, int]:
    dims = tuple(_parse_int(p) for p in text.split(","))
    if len(dims) != 3 or None in dims or not all(1 <= d <= MAX_GEMM_DIM for d in dims):
        raise argparse.ArgumentTypeError(
            f"{text[:60]!r} is not M,N,K (allowed: three integers from 1 to 2^31, e.g. 64,16,256)"
        )
    from .workloads.configs import MAX_GEMM_MACS  # deferred: start-up time

    m, n, k = dims
    if m * n * k > MAX_GEMM_MACS:
        raise argparse.ArgumentTypeError(
            f"{text} is {m * n * k:.3g} multiply-accumulates, more than the models count "
            "exactly (allowed: M*N*K <= 2^53, about 9.0e15)"
        )
    return m, n, k


def _table_name(text: str) -> str:
    # The name becomes a file name under models/data/: no path, no surprises.
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", text) or ".." in text:
        raise argparse.ArgumentTypeError(
            f"{text[:60]!r} is not a table name (allowed: up to 64 letters, digits, '-', '_' "
            "and '.', e.g. ihp-sg13g2)"
        )
    return text


#: Largest operand or result matrix of a simulated GEMM (elements) and most simulated
#: multiply-accumulates: the bench holds the matrices in memory and the simulator runs
#: about a million cycles a second.
MAX_SIM_MATRIX = 2**24
MAX_SIM_MACS = 2**36


def _sim_gemm(text: str) -> tuple[int, int, int]:
    m, n, k = _gemm(text)
    if max(m * k, n * k, m * n) > MAX_SIM_MATRIX or m * n * k > MAX_SIM_MACS:
        raise argparse.ArgumentTypeError(
            f"{text} is too large to simulate (allowed: each of M*K, N*K and M*N at most "
            "2^24 elements and M*N*K at most 2^36; `shiftadd model --gemm` takes larger ones)"
        )
    return m, n, k


# -- output helpers ------------------------------------------------------------------------
def _emit(args, data: dict, lines: list[str]) -> None:
    if getattr(args, "json", False):
        json.dump(data, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        sys.stdout.write("\n".join(lines) + "\n")


def _note(text: str) -> None:
    """One progress line on stderr that does not break a running stage's terminal line."""
    from ._progress import note  # deferred: start-up time

    note(text)


def _fmt(value, digits: int = 4) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def _num(value, digits: int = 4) -> str:
    """A count or rate for people: integral values without a decimal point and with
    thousands separators (``1,024``), others to ``digits`` significant digits (``13.33``)."""
    if value is None:
        return "n/a"
    value = float(value)
    if value.is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:,.{digits}g}" if abs(value) >= 10**digits else f"{value:.{digits}g}"


class _DefaultsFormatter(argparse.HelpFormatter):
    """Help that ends in ``(default: X)`` for every flag with a default worth stating (not
    None or False) whose help does not already say it."""

    def _get_help_string(self, action):
        text = action.help or ""
        default = action.default
        if (
            action.option_strings
            and not (default is None or default is False or default is argparse.SUPPRESS)
            and "default" not in text
        ):
            text += " (default: %(default)s)"
        return text


def _show_defaults(parser: argparse.ArgumentParser) -> None:
    """Give ``parser`` and every subcommand parser below it :class:`_DefaultsFormatter`."""
    parser.formatter_class = _DefaultsFormatter
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                _show_defaults(child)


def _check_liberty(value) -> None:
    """Refuse, in one line, a liberty that is not a usable cell library before any work."""
    from .rtl_gen.liberty import check_liberty  # deferred: start-up time
    from .rtl_gen.tools import resolve_liberty

    lib = resolve_liberty(value)
    if lib is not None:
        check_liberty(lib, field="--liberty" if value else "SHIFTADD_LIBERTY")


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
    waves = _waves_path(args)
    if waves is not None:
        from ._io import check_output_path  # deferred: start-up time

        # Before the build: a path that cannot be written is refused in one line.
        check_output_path(waves, "--waves", "file", suffixes=(".fst", ".vcd"))
    report = simulate(
        design,
        vectors=args.vectors,
        seed=args.seed,
        simulator=args.simulator,
        stall=args.stall,
        gemm=args.gemm,
        random_init=args.random_init,
        waves=waves,
    )
    d = report.to_dict()
    lines = [
        f"design {report.design} on {report.simulator}: " + ("PASS" if report.passed else "FAIL"),
        f"  vectors checked     {report.vectors} ({report.dot_products} dot products)",
        f"  mismatches          {report.mismatches} (missing {report.missing}, "
        f"extra {report.extra}, unknown X {report.unknown})",
        f"  cycles checked      {report.cycle_checked} against the analytic model, "
        f"{report.cycle_mismatches} differ",
        f"  clock cycles run    {report.sim_cycles:,} (every chunk, with pipeline fill and drain)",
        f"  throughput          {report.dot_products_per_second:,.0f} checked dot products/s "
        f"({report.cycles_per_second:,.0f} clock cycles/s in the simulator)",
        f"  build               {report.build_seconds:.1f} s ({report.build_dir})",
    ]
    if report.gemm:
        g = report.gemm
        same = g["gemm_cycles_sim"] == g["gemm_cycles_model"]
        lines.append(
            f"  GEMM {'x'.join(map(str, g['gemm']))} (MxNxK): product "
            + ("matches" if g["gemm_matches"] else "DIFFERS")
            + f"; first input to last output {g['gemm_cycles_sim']:,} cycles, analytic model "
            f"{g['gemm_cycles_model']:,}" + ("" if same else " (DIFFER)")
        )
    if report.unchecked_lanes:
        lines.append(
            f"  padding lanes       {report.unchecked_lanes} carry no result, not compared"
        )
    if report.timeout:
        t = report.timeout
        lines.append(
            f"  timeout at budget {t['budget']} cycles, reached cycle {t['reached']} ({t['chunk']})"
        )
    for m in report.first_mismatches:
        lines.append(f"  mismatch: {m}")
    if report.waves:
        lines.append(f"  waves               {report.waves}")
        if not report.passed:
            lines.append("  (with --waves the run stops after its first failing chunk)")
    elif args.waves is not None:
        lines.append("  waves               none written (the simulator recorded no signal)")
    if not report.passed:
        again = f"shiftadd sim {args.design} {report.reproduce}"
        lines.append(f"  seed {report.seed}; reproduce: {again}")
    _emit(args, d, lines)
    return 0 if report.passed else 1


def _waves_path(args) -> str | None:
    """Where ``sim --waves`` writes: the given file, or ``out/waves/DESIGN-SIM-seedN.fst``
    (under the current folder, like every other output, never into the repository)."""
    if args.waves is None:
        return None
    if args.waves:
        return args.waves
    stem = Path(args.design).stem
    return str(Path("out") / "waves" / f"{stem}-{args.simulator}-seed{args.seed}.fst")


def cmd_synth(args) -> int:
    from ._io import write_json  # deferred: start-up time
    from .design import load_design
    from .errors import InputError
    from .rtl_gen.synth import synthesize, synthesize_external

    external = {
        "--top": args.top,
        "--clock-port": args.clock_port,
        "--reset-port": args.reset_port,
        "--reset-active": args.reset_active,
        "--ops-per-cycle": args.ops_per_cycle,
        "--param": args.param,
        "--stimulus": args.stimulus,
        "--activity-from": None if args.activity_from == "vectorless" else args.activity_from,
    }
    if args.verilog and args.hierarchical:
        raise InputError(
            "--hierarchical applies to a design file (external RTL is synthesized flat)",
            field="--hierarchical",
            allowed="with a design file",
        )
    if args.verilog and args.design:
        raise InputError("give a design file or --verilog, not both", field="--verilog")
    _check_liberty(args.liberty)
    if args.verilog:
        params = {}
        for item in args.param or ():
            name, _, value = item.partition("=")
            params[name.strip()] = value.strip()
        sequences = None
        if (args.activity_from == "sequences") != (args.stimulus is not None):
            raise InputError("--stimulus goes with --activity-from sequences", field="--stimulus")
        if args.stimulus is not None:
            import numpy as np  # deferred: start-up time

            try:
                with np.load(args.stimulus) as data:
                    sequences = {k: data[k].astype(np.int64).ravel().tolist() for k in data}
            except (OSError, ValueError) as exc:
                raise InputError(
                    f"cannot read {args.stimulus}: {exc}",
                    field="--stimulus",
                    allowed="an .npz of integer arrays named by input port",
                ) from None
        r = synthesize_external(
            args.verilog,
            args.top or "",
            parameters=params,
            clock_port=args.clock_port,
            reset_port=args.reset_port,
            reset_active=args.reset_active,
            liberty=args.liberty,
            clock_ns=10.0 if args.clock_ns is None else args.clock_ns,
            data_activity=args.activity,
            activity_from=args.activity_from,
            sequences=sequences,
            cycles=args.cycles,
            seed=args.seed,
            ops_per_cycle=args.ops_per_cycle,
            effort=args.effort,
            workdir=args.workdir,
        )
    else:
        if not args.design:
            raise InputError("no design file", field="design", allowed="a design file or --verilog")
        stray = [flag for flag, value in external.items() if value is not None]
        if stray:
            raise InputError(
                f"{stray[0]} applies to --verilog only", field=stray[0], allowed="with --verilog"
            )
        design = load_design(args.design)
        r = synthesize(
            design,
            liberty=args.liberty,
            clock_ns=args.clock_ns,
            data_activity=args.activity,
            effort=args.effort,
            workdir=args.workdir,
            hierarchical=args.hierarchical,
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
        method = (r.activity or {}).get("method")
        lines.append(
            f"  power              {p['total']:.4g} mW (internal {p['internal']:.3g}, "
            f"switching {p['switching']:.3g}, leakage {p['leakage']:.3g}) "
            + (
                f"[{method}: {r.activity['detail']}]"
                if method
                else f"at data activity {args.activity} toggles/cycle, weights held"
            )
        )
        lines.append(
            f"  energy             {r.energy_per_cycle_pj:.4g} pJ/cycle"
            + (
                f", {_fmt(r.energy_per_op_pj)} pJ/op ({r.ops_per_cycle} ops/cycle)"
                if r.ops_per_cycle
                else " (give --ops-per-cycle for energy per op)"
            )
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
    ii = design.initiation_interval
    every = "every cycle" if ii == 1 else f"every {_num(ii)} cycles"
    lines = [
        f"design {design.name} ({design.arch}): latency {_num(design.latency)} cycles, one "
        f"vector {every}, {_num(design.ops_per_cycle)} ops/cycle",
    ]
    chunks = getattr(design, "max_chunks", 1)
    if chunks > 1:
        # An accumulating design's "vector" is one chunk of an output's inputs.
        lines.append(
            f"  accumulates        an output over up to {_num(chunks)} vectors of "
            f"{_num(design.k)} inputs (K <= {_num(chunks * design.k)}): one output per "
            f"lane every ceil(K/{_num(design.k)}) cycles"
        )
    lines += [
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
            lines.append(f"    {'critical path element':<52} {'delay (ns)':>10}")
            lines += [f"    {part:<52} {ns:10.3f}" for part, ns in timing["breakdown"]]
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
            f"  GEMM {'x'.join(map(str, args.gemm))} (MxNxK): {_num(g.cycles)} cycles "
            f"({_num(g.tiles)} tiles, {_num(g.weight_writes)} weight writes), utilization "
            f"{g.utilization:.1%}, {g.cycles * design.clock_ns / 1000:.3g} us, "
            f"{g.cycles * cost.energy_per_cycle_pj / 1e6:.3g} uJ"
        )
    if args.breakdown:
        lines.append("  cost by part")
        lines.append(
            f"    {'part':<40} {'unit':<10} {'count':>9} {'area (' + cost.area_unit + ')':>14} "
            f"{'energy (pJ/cycle)':>18}"
        )
        for row in cost.breakdown:
            lines.append(
                f"    {row['part']:<40} {row['unit']:<10} {_num(row['count']):>9} "
                f"{row['area']:>14,.0f} {row['energy_per_cycle_pj']:>18.3f}"
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
        progress=None if args.json else (lambda label: _note(f"  {label}")),
        delays_only=args.delays_only,
    )
    _emit(args, {"table": str(path)}, [f"wrote {path}"])
    return 0


def cmd_validate(args) -> int:
    from .errors import InputError  # deferred: start-up time
    from .flows.validate import validation_report

    _check_liberty(args.liberty)
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
    if args.data:
        return _validate_data(args, paths)
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
        progress=None if args.json else (lambda src: _note(f"  validating {src}")),
        jobs=args.jobs,
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


def _validate_data(args, paths) -> int:
    """``shiftadd validate --data CHECKPOINT``: energy on random vs real operands."""
    from .flows.validate import data_energy_report  # deferred: start-up time

    command = " ".join(
        ["shiftadd validate --data", args.data, *map(str, args.designs or [])]
        + (["--out", args.out] if args.out else [])
        + (["--json-out", args.json_out] if args.json_out else [])
    )
    rows = data_energy_report(
        paths,
        liberty=args.liberty,
        checkpoint=args.data,
        out_md=args.out,
        out_json=args.json_out,
        command=command,
        progress=None if args.json else (lambda src: _note(f"  validating {src}")),
    )
    lines = [
        f"{r.design:28s} random: model {100 * r.random_error:+6.1f}%  real data: model "
        f"{100 * r.data_error:+6.1f}%  (real vs random: model {100 * r.model_shift:+6.1f}%, "
        f"gate level {100 * r.sta_shift:+6.1f}%)  {'ok' if r.passed else 'OUT OF TARGET'}"
        for r in rows
    ]
    _emit(args, {"rows": [r.to_dict() for r in rows]}, lines)
    return 0 if rows and all(r.passed for r in rows) else 1


def cmd_demo(args) -> int:
    from .flows.demo import run_demo  # deferred: start-up time

    _check_liberty(args.liberty)
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
    from .models.sweep import (
        check_sweep_folder,
        load_sweep_spec,
        quality_summary,
        run_sweep,
        timing_summary,
    )

    check_sweep_folder(args.out)  # a corrupt sweep.json: refused before the spec's work
    spec = load_sweep_spec(args.spec, workload=args.workload, phase=args.phase, batch=args.batch)
    check_sweep_folder(args.out, spec.digest)
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
    # The lowest id stands for its ties, as in the plots.
    distinct = (
        front.sort_values("point")
        .drop_duplicates([c for c, _ in objectives])
        .sort_values("energy_per_token_uj", kind="stable")
    )
    result["pareto_objectives"] = [c for c, _ in objectives]
    result["timing"] = timing_summary(points, spec.options["timing"])
    result["quality"] = quality_summary(points, spec)
    kinds = ["pareto", "quality"] if scored else ["pareto"]
    result["plots"] = [] if args.no_plots else [p for k in kinds for p in plot_results(args.out, k)]
    result["pareto_distinct"] = len(distinct)
    lines = [
        f"{result['points']:,} design points x {len(spec.layers)} GEMMs "
        f"({result['evaluations']:,} evaluations) in {result['seconds']:.1f} s "
        f"({result['computed_chunks']} of {result['chunks']} chunks computed)",
        f"  results   {args.out}/points.parquet, {args.out}/layers.parquet",
        f"  timing    {result['timing']['text']}",
        f"  quality   {result['quality']['text']}",
    ]
    if result.get("activity"):
        lines.append(f"  activity  {result['activity']['text']}")
    lines += _pareto_lines(front, distinct, result["pareto_objectives"], shown=12)
    lines += [f"  plot      {p}" for p in result["plots"]]
    _emit(args, result, lines)
    return 0


def _pareto_lines(front, distinct, objectives: list[str], shown: int = 12) -> list[str]:
    """The sweep summary's Pareto table: a count line that adds up, a header and one row
    per distinct design (points equal in every objective are ties, named in their row).

    Parameters
    ----------
    front : pandas.DataFrame
        Every point on the front, ties included.
    distinct : pandas.DataFrame
        One point per distinct objective vector, in the order to list.
    objectives : list of str
        The objective columns.
    shown : int
        Rows listed; the rest are counted.

    Returns
    -------
    list of str
        The lines to print.
    """
    from .models.plots import energy_unit  # deferred: start-up time

    unit, scale = energy_unit(distinct["energy_per_token_uj"])
    # Decimals for four significant digits on the smallest energy listed (>= 1 in its unit).
    smallest = distinct["energy_per_token_uj"].min() / scale if len(distinct) else 1.0
    decimals = min(3, max(0, 3 - int(math.floor(math.log10(max(smallest, 1e-9))))))
    scored = "quality" in objectives
    ties = front.groupby(objectives, sort=False)["point"].apply(list)
    listed = distinct.head(shown)
    count = (
        f"  Pareto front ({', '.join(objectives)}): {len(front)} points"
        + (
            f", {len(distinct)} distinct (the other {len(front) - len(distinct)} tie with "
            "one in every objective)"
            if len(distinct) < len(front)
            else ""
        )
        + f"; {len(listed)} listed by energy"
    )
    header = (
        f"    {'point':>7}  {'engine':<17} {'area mm^2':>9}  {unit + '/token':>9}  "
        f"{'tokens/s':>8}"
        + (f"  {'quality':>7}  {'formats (weight/act)':<30}" if scored else "")
        + "  ties"
    )
    lines = [count, header]
    for _, r in listed.iterrows():
        engine = r["arch"] if _missing(r.get("mode")) else f"{r['arch']} {r['mode']}"
        others = [p for p in ties[tuple(r[c] for c in objectives)] if p != r["point"]]
        tie_text = ", ".join(f"#{p}" for p in others[:3]) + (
            f" +{len(others) - 3}" if len(others) > 3 else ""
        )
        formats = f"{r['weight_format']}/{r['act_format']}" if scored else ""
        lines.append(
            f"    {r['point']:>7}  {engine:<17} {r['area_mm2']:9.3f}  "
            f"{r['energy_per_token_uj'] / scale:9.{decimals}f}  {r['tokens_per_s']:8.2f}"
            + (f"  {r['quality']:7.3f}  {formats:<30}" if scored else "")
            + f"  {tie_text or '-'}"
        )
    if len(distinct) > len(listed):
        lines.append(
            f"    ... {len(distinct) - len(listed)} more distinct designs on the front in "
            "points.parquet"
        )
    return lines


def _missing(value) -> bool:
    """None, NaN or pandas' NA: a field the point's engine does not have."""
    try:
        return value is None or bool(value != value)
    except TypeError:  # pandas.NA refuses bool()
        return True


def _number_format(text: str):
    """``--format W/A`` as a NumberFormat: a registered weight format and an activation
    format (``int4/int8``, ``bcq3/int8``, ``sign/sign``)."""
    from .errors import InputError  # deferred: start-up time
    from .workloads.format_names import format_words
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
            allowed=format_words(),
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
    # The default name is built from the folder's: made a valid module name (a folder
    # "my-sweep" gives "my_sweep_p3"); a name given with --name is checked as it is.
    stem = re.sub(r"[^A-Za-z0-9_]", "_", Path(args.sweep).resolve().name)[:40]
    if not stem or stem[0].isdigit():
        stem = "sweep_" + stem
    fields["name"] = args.name or f"{stem}_p{args.point}"
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
    parser = _Parser(
        prog="shiftadd",
        description="Design and judge binary and shift-add neural-network accelerators.",
    )
    parser.add_argument("--version", action="version", version=f"shiftadd {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("doctor", help="report the tools shiftadd uses and how to fix missing ones")
    p.add_argument("--liberty", help="liberty file to check (default: $SHIFTADD_LIBERTY)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_doctor)

    p = sub.add_parser("gen", help="generate Verilog and a manifest from a design file")
    p.add_argument("design", help="design file (.toml or .yaml)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--no-lint", action="store_true", help="skip verilator --lint-only -Wall")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_gen)

    p = sub.add_parser("sim", help="simulate the RTL and check it against the golden model")
    p.add_argument("design", help="design file (.toml or .yaml)")
    p.add_argument(
        "--vectors",
        type=_int_at_least("--vectors", 1, MAX_VECTORS),
        default=10000,
        help="random input vectors to check",
    )
    p.add_argument(
        "--seed", type=_int_at_least("--seed", 0), default=0, help="seed of the random stimulus"
    )
    p.add_argument(
        "--simulator",
        choices=("verilator", "icarus"),
        default="verilator",
        help="HDL simulator under cocotb",
    )
    p.add_argument("--stall", action="store_true", help="random input gaps and output backpressure")
    p.add_argument(
        "--gemm",
        type=_sim_gemm,
        metavar="M,N,K",
        help="run one tiled GEMM instead of random vectors",
    )
    p.add_argument(
        "--random-init",
        action="store_true",
        help="start every register at a random value (Verilator; shows a missing reset)",
    )
    p.add_argument(
        "--waves",
        nargs="?",
        const="",
        metavar="FILE",
        help="write a waveform of the run (a separate traced build) and print its path: FST, "
        "or VCD on a Verilator without FST support or for a .vcd FILE "
        "(default file: out/waves/DESIGN-SIMULATOR-seedN.fst)",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_sim)

    p = sub.add_parser(
        "synth",
        help="synthesize with yosys; timing and power with OpenSTA",
        description="Synthesize a design file, or external RTL with --verilog/--top, with "
        "yosys + ABC on a liberty; critical path (the clock's setup paths; reset recovery "
        "checks excluded), area and power with OpenSTA. SystemVerilog (.sv) is read with "
        "yosys 0.23's read_verilog -sv, a synthesizable subset (packages and simple "
        "interfaces work, classes do not): convert other code with sv2v first.",
    )
    p.add_argument("design", nargs="?", help="design file (or --verilog FILE... --top NAME)")
    p.add_argument(
        "--verilog",
        nargs="+",
        metavar="FILE",
        help="external Verilog/SystemVerilog files instead of a design file (.sv files: "
        "yosys 0.23 read_verilog -sv, a synthesizable subset)",
    )
    p.add_argument("--top", help="top module of --verilog")
    p.add_argument(
        "--hierarchical",
        action="store_true",
        help="design file: synthesize each distinct unit (PE, neuron slice) once and "
        "instantiate it, no optimization across unit ports (default: flat; docs/hierarchy.md)",
    )
    p.add_argument(
        "--param",
        action="append",
        metavar="NAME=INT",
        help="--verilog: set a parameter of the top (repeatable)",
    )
    p.add_argument(
        "--clock-port",
        help="clock input of --verilog's top (default: the input named clk/clock/clk_i; none: "
        "combinational, virtual clock)",
    )
    p.add_argument(
        "--reset-port",
        help="reset input of --verilog's top (default: inputs named rst/reset/rst_n/arst_ni...)",
    )
    p.add_argument(
        "--reset-active",
        choices=("low", "high"),
        help="reset polarity (default: low when the name ends in n/b/l, e.g. rst_n)",
    )
    p.add_argument(
        "--activity-from",
        choices=("vectorless", "random", "sequences"),
        default="vectorless",
        help="--verilog power: OpenSTA vectorless from --activity (default), or a "
        "gate-level simulation (reset held first) with seeded random inputs or with the "
        "--stimulus values",
    )
    p.add_argument(
        "--stimulus",
        metavar="FILE.npz",
        help="--activity-from sequences: one integer array per input port (named by port), "
        "one value per cycle from the first reset cycle (4 reset cycles + --cycles)",
    )
    p.add_argument(
        "--cycles",
        type=_int_at_least("--cycles", 1),
        default=2000,
        help="simulated cycles for --activity-from random (default 2000)",
    )
    p.add_argument(
        "--seed", type=_int_at_least("--seed", 0), default=1, help="stimulus seed (default 1)"
    )
    p.add_argument(
        "--ops-per-cycle",
        type=_int_at_least("--ops-per-cycle", 1),
        help="--verilog: operations per cycle, for energy per op",
    )
    p.add_argument(
        "--liberty", help="liberty file (default: $SHIFTADD_LIBERTY; 'none' for generic gates)"
    )
    p.add_argument(
        "--clock-ns",
        type=_number_in("--clock-ns", 0, lo_open=True),
        help="clock period (default: the design's clock_ns; 10 ns with --verilog)",
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
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_synth)

    p = sub.add_parser("model", help="analytic cycles, area and energy")
    p.add_argument("design", help="design file (.toml or .yaml)")
    p.add_argument(
        "--gemm", type=_gemm, metavar="M,N,K", help="also the cycles and energy of one tiled GEMM"
    )
    p.add_argument("--units", default="ihp-sg13g2", help="unit table name or file")
    p.add_argument(
        "--activity",
        type=_number_in("--activity", 0, 1),
        default=0.5,
        help="data toggles per cycle for energy",
    )
    p.add_argument(
        "--breakdown",
        action="store_true",
        help="list every part's cost and the critical path's elements",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")
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
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_quality)

    p = sub.add_parser("calibrate", help="measure the unit cost table on a liberty")
    p.add_argument("--liberty", help="liberty file (default: $SHIFTADD_LIBERTY)")
    p.add_argument(
        "--name", type=_table_name, default="ihp-sg13g2", help="table name (default ihp-sg13g2)"
    )
    p.add_argument("--out", help="write here instead of models/data/units_<name>.toml")
    p.add_argument(
        "--delays-only",
        action="store_true",
        help="measure only the delay units and rewrite the table's [delay] section",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")
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
    p.add_argument(
        "--jobs",
        type=_int_in("--jobs", 1, 64),
        default=1,
        help="designs measured at once, each in its own process (default 1)",
    )
    p.add_argument("--liberty", help="liberty file (default: $SHIFTADD_LIBERTY)")
    p.add_argument("--out", help="write the Markdown table here (e.g. docs/validation.md)")
    p.add_argument("--json-out", help="write the rows as JSON here")
    p.add_argument(
        "--data",
        metavar="CHECKPOINT",
        help="drive the gate-level simulation with a real weight tile and its calibration "
        "activations from this checkpoint (packaged name or BERT folder) and compare the "
        "energy on random and real data (adder tree, systolic, 2D matrix, shift-add)",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser(
        "demo",
        help="the main job: generate, simulate, synthesize and model the three adder-tree modes",
    )
    p.add_argument("--out", default="out/demo", help="output folder (default out/demo)")
    p.add_argument(
        "--vectors",
        type=_int_at_least("--vectors", 1, MAX_VECTORS),
        default=100000,
        help="random vectors each simulation checks",
    )
    p.add_argument("--liberty", help="liberty file (default: $SHIFTADD_LIBERTY)")
    p.add_argument("--quick", action="store_true", help="small designs, for a smoke test")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("export", help="write the design file of one sweep point")
    p.add_argument("sweep", help="a finished sweep folder")
    p.add_argument("point", type=int, metavar="POINT_ID", help="the point's id (column point)")
    p.add_argument("--out", required=True, help="design file to write (.toml)")
    p.add_argument("--name", help="design name (default: <sweep folder>_p<POINT_ID>)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("sweep", help="evaluate a design-space sweep over an LLM workload")
    p.add_argument("spec", help="sweep spec (.toml or .yaml)")
    p.add_argument("--workload", help="preset, config.json or workload file (overrides the spec)")
    p.add_argument("--phase", choices=("prefill", "decode"), help="override the spec's phase")
    p.add_argument(
        "--batch", type=_int_at_least("--batch", 1, 2**20), help="override the spec's batch"
    )
    p.add_argument("--out", required=True, help="output folder (an interrupted sweep resumes)")
    p.add_argument(
        "--scheduler", help="Dask distributed scheduler address (default: local processes)"
    )
    p.add_argument(
        "--workers",
        type=_int_at_least("--workers", 1, MAX_WORKERS),
        help="local worker processes (default: CPU count)",
    )
    p.add_argument("--csv", action="store_true", help="also write CSV files")
    p.add_argument("--no-plots", action="store_true", help="skip the Pareto and quality plots")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("plot", help="plot sweep results")
    p.add_argument("results", help="a sweep output folder")
    p.add_argument(
        "--kind",
        required=True,
        choices=("pareto", "quality", "breakdown", "roofline", "layers"),
        help="pareto: area vs energy per token; quality: energy vs model quality; breakdown: "
        "energy by component; roofline: of the middle Pareto design; layers: energy per GEMM",
    )
    p.add_argument("--out", help="output file stem (default RESULTS/plot_KIND); .png and .svg")
    p.add_argument(
        "--top",
        type=_int_at_least("--top", 1, 1000),
        default=12,
        help="Pareto designs shown in breakdown and layer plots",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_plot)

    from .workloads.cli import add_workload_parser  # deferred: start-up time

    add_workload_parser(sub)
    _show_defaults(parser)
    return parser


#: The output paths of each command, checked before any work starts:
#: ``(command, attribute, kind, allowed suffixes or None)``.
OUTPUTS = (
    ("gen", "out", "folder", None),
    ("synth", "out", "file", None),
    ("synth", "workdir", "folder", None),
    ("calibrate", "out", "file", (".toml",)),
    ("validate", "out", "file", None),
    ("validate", "json_out", "file", None),
    ("demo", "out", "folder", None),
    ("export", "out", "file", (".toml",)),
    ("sweep", "out", "folder", None),
    ("plot", "out", "file", None),
    ("workload show", "csv", "file", (".csv", ".parquet", ".pq")),
    ("workload show", "scalesim", "file", (".csv",)),
    ("workload stats", "out", "file", (".csv", ".json")),
)


def check_outputs(args) -> None:
    """Raise :class:`~shiftadd.errors.InputError` for an output path of the parsed command
    that cannot be written (see :data:`OUTPUTS`), before the command does any work."""
    from ._io import check_output_path  # deferred: start-up time

    command = args.command
    if getattr(args, "workload_command", None):
        command = f"{command} {args.workload_command}"
    for cmd, attr, kind, suffixes in OUTPUTS:
        value = getattr(args, attr, None) if cmd == command else None
        if isinstance(value, (str, os.PathLike)):
            check_output_path(value, "--" + attr.replace("_", "-"), kind, suffixes=suffixes)


def main(argv: list[str] | None = None) -> int:
    """Run the ``shiftadd`` command line and return its exit status.

    Parameters
    ----------
    argv : list of str, optional
        The arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success, 1 for a failed check, 2 for bad input (one line on stderr), 3 for a
        missed clock under ``--require-timing``, 130 when interrupted.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a one-line usage error (status 2)
        return exc.code if isinstance(exc.code, int) else 2
    name = f"shiftadd {args.command}"
    if getattr(args, "workload_command", None):
        name += f" {args.workload_command}"
    try:
        check_outputs(args)
        # Progress of long steps on stderr for this command only (library use, and a
        # program calling main(), stay silent after); not under --json, read by programs.
        from ._progress import set_enabled  # deferred: start-up time

        previous = set_enabled(not getattr(args, "json", False))
        try:
            status = int(args.func(args) or 0)
        finally:
            set_enabled(previous)
        # Flush here, not at interpreter exit, so a reader that went away is seen below.
        sys.stdout.flush()
        return status
    except ShiftaddError as exc:
        print(f"{name}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("shiftadd: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader (`| head`) went away: stop quietly, as other command-line tools do
        # (stdout now points at /dev/null, so the interpreter's final flush cannot fail).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
