"""Benchmark: the 16 x 16 int8 output-stationary systolic array, end to end.

(a) full flow, wall time per stage: Amaranth elaboration + Verilog emission, ``verilator
    --lint-only -Wall``, the Verilator build of the cocotb bench, simulation of 100 random
    GEMM tiles (a 160 x 160 x K GEMM: 10 x 10 tiles, every result and the cycle count
    checked), and Yosys + ABC synthesis with OpenSTA timing and power on the liberty in
    ``SHIFTADD_LIBERTY``;
(b) checked multiply-accumulates per second through cocotb on Verilator (random tiles with
    the edge cases first, every result compared with the golden model and every result's
    cycle with the cycle model), with the bench's own time split (plan, encode, simulate,
    collect, check);
(c) analytic-model throughput: design points x GEMM layers evaluated per second on one core
    by the sweep kernel (the systolic family's ``kernel``).

Run (from the repository root)::

    SHIFTADD_LIBERTY=../shared/pdk/ihp-sg13g2/sg13g2_stdcell_typ_1p20V_25C.lib \\
        .venv/bin/python bench/bench_systolic.py [--skip-synth] [--steps 200000] \\
        [--parts model,flow,throughput]

Writes JSON to ``--out`` (default ``bench/results/bench_systolic.json``). With ``--parts``
naming fewer than all three, the parts not run keep their figures from the existing file;
every part records the command, date and load average of the run that measured it.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from shiftadd._io import write_json
from shiftadd.design import load_design
from shiftadd.models.perf import design_vector, kernel_for
from shiftadd.rtl_gen.emit import generate_verilog
from shiftadd.rtl_gen.lint import lint_verilog
from shiftadd.rtl_gen.synth import synthesize
from shiftadd.rtl_gen.tools import resolve_liberty
from shiftadd.sim.runner import simulate

REPO = Path(__file__).resolve().parent.parent
DESIGN = REPO / "examples" / "systolic_os_int8_16x16.toml"


def flow(design, skip_synth: bool, tile_k: int) -> dict:
    out = {}
    t0 = time.perf_counter()
    rtl = generate_verilog(design)
    out["generate_seconds"] = time.perf_counter() - t0
    out["verilog_lines"] = rtl.verilog.count("\n")
    t0 = time.perf_counter()
    lint = lint_verilog(rtl.verilog, design.name, is_text=True)
    out["lint_seconds"] = time.perf_counter() - t0
    out["lint_clean"] = lint.ok
    m, n = 10 * design.rows, 10 * design.cols  # 100 output tiles
    with tempfile.TemporaryDirectory() as tmp:  # a fresh Verilator build, timed
        t0 = time.perf_counter()
        sim = simulate(design, gemm=(m, n, tile_k), seed=1, build_root=tmp)
        out["simulate_total_seconds"] = time.perf_counter() - t0
    out["sim_build_seconds"] = sim.build_seconds
    out["sim_run_seconds"] = sim.bench_seconds
    out["gemm"] = sim.gemm
    out["sim_passed"] = sim.passed
    out["tiles"] = 100
    if not skip_synth:
        t0 = time.perf_counter()
        syn = synthesize(design, liberty=resolve_liberty(None) or "none")
        out["synth_seconds"] = time.perf_counter() - t0
        out["synth"] = {
            "area": syn.area,
            "area_unit": syn.area_unit,
            "cells": syn.cells,
            "fmax_mhz": syn.fmax_mhz,
            "power_mw": (syn.power_mw or {}).get("total"),
            "liberty": syn.liberty,
            "effort": syn.effort,
            "breakdown_seconds": syn.seconds,
        }
    return out


def throughput(design, steps: int) -> dict:
    t0 = time.perf_counter()
    sim = simulate(design, vectors=steps, seed=2)
    wall = time.perf_counter() - t0
    macs = steps * design.rows * design.cols  # every step is R x C MACs, all checked
    timing = dict(sim.timing)
    cpu = timing.pop("cpu", None)  # CPU seconds of the bench loop; the rest is wall time
    return {
        "steps": steps,
        "macs": macs,
        "passed": sim.passed,
        "build_seconds": sim.build_seconds,
        "results_checked": sim.vectors * design.cols,
        "cycle_checked": sim.cycle_checked,
        "sim_cycles": sim.sim_cycles,
        "bench_seconds": sim.bench_seconds,
        "wall_seconds_incl_startup": wall,
        "checked_macs_per_second": macs / sim.bench_seconds,
        "bench_cpu_seconds": cpu,
        # Per CPU-second of the bench process: what an unshared core would give.
        "checked_macs_per_cpu_second": macs / cpu if cpu else None,
        "cycles_per_second": sim.cycles_per_second,
        "timing": timing,
    }


def model_throughput(design, points: int = 256, layers: int = 4096, reps: int = 5) -> dict:
    """Evaluations of the sweep kernel: ``points`` design points (array sizes, both
    dataflows) x ``layers`` random GEMM shapes, on one core."""
    rng = np.random.default_rng(0)
    vecs = []
    for i in range(points):
        size = 4 << (i % 4)
        d = design.replace(
            rows=size,
            cols=size,
            dataflow="os" if i % 2 else "ws",
            k_max=None if i % 2 == 0 else 4096,
        )
        vecs.append(design_vector(d))
    v = {key: np.array([[r[key]] for r in vecs], float) for key in vecs[0]}
    m, n, k = (rng.integers(1, 8192, (1, layers)).astype(float) for _ in range(3))
    cap = np.full((points, 1), 8 * 2**20 * 8.0)
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        kernel_for("systolic")(v, m, n, k, cap, cap, cap)
        best = min(best, time.perf_counter() - t0)
    return {
        "points": points,
        "layers": layers,
        "best_seconds": best,
        "evaluations_per_second": points * layers / best,
    }


PARTS = ("model", "flow", "throughput")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skip-synth", action="store_true", help="no synthesis in the flow part")
    ap.add_argument(
        "--steps", type=int, default=200_000, help="K steps streamed for the MACs/s figure"
    )
    ap.add_argument("--tile-k", type=int, default=64, help="K of the 100-tile GEMM")
    ap.add_argument(
        "--parts",
        default=",".join(PARTS),
        help="comma-separated parts to run, of model, flow, throughput (default: all)",
    )
    ap.add_argument("--out", default="bench/results/bench_systolic.json")
    args = ap.parse_args(argv)
    parts = [p for p in args.parts.split(",") if p]
    if not parts or set(parts) - set(PARTS):
        ap.error(f"--parts takes a comma-separated subset of {', '.join(PARTS)}")
    design = load_design(DESIGN)
    command = "bench/bench_systolic.py " + " ".join(argv if argv is not None else sys.argv[1:])
    result = {"benchmark": "systolic", "design": design.to_dict()}
    if set(parts) != set(PARTS) and Path(args.out).exists():
        # The parts not run keep the figures (and command) of the run that measured them.
        old = json.loads(Path(args.out).read_text())
        for k in PARTS:
            if k in old and k not in parts:
                # Files from before per-part stamps carry one command for the whole run.
                top = {key: old[key] for key in ("command", "load_average") if key in old}
                result[k] = {**top, **old[k]}
    stamp = lambda: {  # noqa: E731
        "command": command.strip(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "load_average": os.getloadavg(),
    }
    ok = True
    if "model" in parts:
        result["model"] = {**model_throughput(design), **stamp()}
        print(
            f"(c) analytic model: {result['model']['evaluations_per_second']:,.0f} "
            "point x layer evaluations/s"
        )
    if "flow" in parts:
        f = result["flow"] = {**flow(design, args.skip_synth, args.tile_k), **stamp()}
        print(
            f"(a) generate {f['generate_seconds']:.1f} s, lint {f['lint_seconds']:.1f} s, "
            f"Verilator build {f['sim_build_seconds']:.1f} s, 100 tiles "
            f"{f['sim_run_seconds']:.2f} s (passed {f['sim_passed']})"
            + (
                f", synthesis {f['synth_seconds']:.0f} s, {f['synth']['area']:,.0f} "
                f"{f['synth']['area_unit']}, fmax {f['synth']['fmax_mhz']:.0f} MHz"
                if "synth" in f
                else ""
            )
        )
        ok = ok and f["lint_clean"] and f["sim_passed"]
    if "throughput" in parts:
        t = result["throughput"] = {**throughput(design, args.steps), **stamp()}
        per_cpu = t["checked_macs_per_cpu_second"]
        print(
            f"(b) {t['checked_macs_per_second'] / 1e6:.2f} M checked MACs/s "
            f"({t['macs']:,} MACs in {t['bench_seconds']:.2f} s; split "
            + ", ".join(f"{k} {v:.2f} s" for k, v in t["timing"].items())
            + (f"; {per_cpu / 1e6:.2f} M per CPU-second" if per_cpu else "")
            + f"; load average {t['load_average'][0]:.1f})"
        )
        ok = ok and t["passed"]
    write_json(args.out, result)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
