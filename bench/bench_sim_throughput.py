"""Benchmark: checked dot products per second through cocotb on Verilator.

The design is the foundation's K=256, N=16 adder-tree array; every result is checked
against the NumPy golden model and every output cycle against the analytic model. The figure
is end to end: stimulus generation, golden model, memory images, simulation, record decode
and comparison (the simulator build is cached and reported separately).

Target: at least 1,000,000 checked K=256 dot products per second on one core.

Run (from the repository root)::

    .venv/bin/python bench/bench_sim_throughput.py            # xnor, 1M vectors
    .venv/bin/python bench/bench_sim_throughput.py --modes xnor addsub mac --vectors 200000

Writes JSON to ``--out`` (default ``bench/results/sim_throughput.json``).
"""

from __future__ import annotations

import argparse
import platform
import sys

from shiftadd._io import write_json
from shiftadd.design import AdderTreeDesign
from shiftadd.sim.runner import simulate


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--modes", nargs="+", default=["xnor"], choices=["xnor", "addsub", "mac"])
    ap.add_argument("--k", type=int, default=256)
    ap.add_argument("--n", type=int, default=16)
    ap.add_argument("--vectors", type=int, default=1_000_000)
    ap.add_argument("--simulator", default="verilator", choices=["verilator", "icarus"])
    ap.add_argument("--out", default="bench/results/sim_throughput.json")
    args = ap.parse_args(argv)
    rows = []
    for mode in args.modes:
        design = AdderTreeDesign(
            name=f"bench_{mode}_k{args.k}_n{args.n}", mode=mode, k=args.k, n=args.n
        )
        r = simulate(design, vectors=args.vectors, simulator=args.simulator, seed=7)
        row = {
            "mode": mode,
            "k": args.k,
            "n": args.n,
            "simulator": args.simulator,
            "passed": r.passed,
            "vectors": r.vectors,
            "dot_products": r.dot_products,
            "mismatches": r.mismatches,
            "cycle_checked": r.cycle_checked,
            "cycle_mismatches": r.cycle_mismatches,
            "bench_seconds": r.bench_seconds,
            "dot_products_per_second": r.dot_products_per_second,
            "sim_cycles": r.sim_cycles,
            "simulated_cycles_per_second": r.sim_cycles / r.timing["simulate"]
            if r.timing.get("simulate")
            else None,
            "timing_seconds": r.timing,
            "build_seconds": r.build_seconds,
        }
        rows.append(row)
        print(
            f"{mode:7s} K={args.k} N={args.n}: {r.dot_products:,} dot products checked in "
            f"{r.bench_seconds:.2f} s = {r.dot_products_per_second:,.0f}/s "
            f"({'PASS' if r.passed else 'FAIL'}); breakdown "
            + ", ".join(f"{k} {v:.2f}s" for k, v in r.timing.items())
            + f"; build {r.build_seconds:.1f} s"
        )
    write_json(
        args.out,
        {
            "benchmark": "sim_throughput",
            "python": sys.version.split()[0],
            "machine": platform.machine(),
            "command": " ".join(["bench/bench_sim_throughput.py", *(argv or sys.argv[1:])]),
            "results": rows,
        },
    )
    return 0 if all(r["passed"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
