"""Benchmark: analytic-model throughput and a 100,000-point sweep.

(1) Model throughput: (design point x GEMM) evaluations per second on one core (quality
scoring off: it is done once per number format and cached), for every
engine with a workload model, over the distinct GEMMs of Llama-2-7B decode.
(2) A sweep of at least 100,000 design points over all layers of Llama-2-7B decode on two
local worker processes, writing the parquet files and the four plots; wall time.

Targets: >= 1,000,000 evaluations per second on one core; the 100,000-point sweep in under
one minute on the 2-core reference machine.

Run (from the repository root)::

    .venv/bin/python bench/bench_sweep.py

Writes JSON to ``--out`` (default ``bench/results/sweep.json``).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from shiftadd._io import write_json
from shiftadd.families import families
from shiftadd.models.plots import PLOT_KINDS, plot_results
from shiftadd.models.sweep import evaluate_chunk, parse_sweep_spec, run_sweep

WORKLOAD = {"spec": "llama-2-7b", "phase": "decode", "batch": 1, "context": 4096}

# Per engine: the swept design fields (structural) for the throughput test.
ENGINES = {
    "adder_tree": {
        "mode": ["xnor", "addsub", "mac"],
        "k": [32, 64, 128, 256, 512],
        "n": [4, 8, 16, 32, 64],
        "pipeline_stages": [0, 2],
    },
    "systolic": {
        "dataflow": ["os", "ws"],
        "mode": ["mac", "addsub", "ternary"],
        "rows": [8, 16, 32],
        "cols": [8, 16, 32],
        "k_max": 16384,
        "carry_save_accumulate": [False, True],
    },
    "matrix2d": {
        "mode": ["mac", "addsub", "ternary"],
        "rows": [8, 16, 32],
        "cols": [8, 16, 32],
        "k_max": 16384,
        "carry_save_accumulate": [False, True],
    },
    "cube": {
        "mode": ["mac", "addsub", "ternary"],
        "rows": [4, 8, 16],
        "cols": [4, 8, 16],
        "depth": [4, 8, 16],
        "carry_save_accumulate": [False, True],
    },
    "shiftadd": {"mu": [4, 8], "q": [2, 3, 4], "terms": [1, 2, 3], "columns": [8, 16, 32]},
    # As many design points as the other engines (the 6 designs x 576 system points of an
    # earlier version measured mostly the fixed cost of framing a chunk).
    "threshold": {
        "k": [64, 128, 256, 512, 1024],
        "pes": [8, 16, 32, 64, 128, 256],
        "neurons": [4],
        "memory_bits": 64,
        "data_bits": [4, 6, 8],
        "vectors": [1, 2],
    },
}
SYSTEM = {
    "clock_ns": [2.5, 5.0, 10.0],
    "act_buffer_kib": [16, 32, 64, 128],
    "weight_buffer_kib": [64, 128, 256, 512],
    "out_buffer_kib": [16, 32],
    "dram_gbps": [12.8, 25.6, 51.2],
    "activity": [0.25, 0.5],
}


def engine_spec(arch: str, fields: dict, quality: str = "auto") -> dict:
    return {
        "name": f"bench-{arch}",
        "workload": WORKLOAD,
        "engines": [{"arch": arch, **fields, **SYSTEM}],
        "options": {"skip_invalid": True, "chunk_size": 50_000, "quality": quality},
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="bench/results/sweep.json")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    results = {
        "benchmark": "sweep",
        "command": "bench/bench_sweep.py " + " ".join(argv or sys.argv[1:]),
        "throughput": [],
        "sweep": None,
    }
    for arch in [f.arch for f in families() if f.has("kernel")]:
        fields = ENGINES.get(arch)
        if fields is None:
            print(f"{arch}: no benchmark field set; skipped")
            continue
        # The analytic models alone: a number format's quality is scored once per format and
        # cached on disk (seconds to minutes for BCQ on synthetic weights, the first time),
        # which is not model throughput.
        spec = parse_sweep_spec(engine_spec(arch, fields, quality="off"))
        n = min(spec.points, 50_000)
        evaluate_chunk(spec, 0, min(n, 1000))  # warm the per-design caches' code paths
        t0 = time.perf_counter()
        evaluate_chunk(spec, 0, n)
        dt = time.perf_counter() - t0
        # Again, with every per-design cache filled (threshold programs are compiled once per
        # distinct PE configuration and K, then reused by every later chunk of a sweep).
        t0 = time.perf_counter()
        evaluate_chunk(spec, 0, n)
        dt_warm = time.perf_counter() - t0
        evals = n * len(spec.layers)
        rate = evals / dt
        results["throughput"].append(
            {
                "arch": arch,
                "points": n,
                "gemms": len(spec.layers),
                "evaluations": evals,
                "seconds": dt,
                "evaluations_per_second": rate,
                "seconds_warm": dt_warm,
                "evaluations_per_second_warm": evals / dt_warm,
            }
        )
        print(
            f"{arch}: {evals:,} evaluations ({n:,} points x {len(spec.layers)} GEMMs) in "
            f"{dt:.2f} s on one core = {rate:,.0f}/s first pass, "
            f"{evals / dt_warm:,.0f}/s with the per-design caches filled"
        )

    spec = parse_sweep_spec(
        engine_spec("adder_tree", {**ENGINES["adder_tree"], "threshold": [False, True]})
    )
    out = Path(tempfile.mkdtemp(prefix="shiftadd-sweep-bench-"))
    try:
        t0 = time.perf_counter()
        r = run_sweep(spec, out, workers=args.workers, progress=False)
        plots = [p for kind in PLOT_KINDS for p in plot_results(out, kind)]
        wall = time.perf_counter() - t0
        size = sum(p.stat().st_size for p in out.glob("*.parquet"))
    finally:
        shutil.rmtree(out, ignore_errors=True)
    results["sweep"] = {
        "points": r["points"],
        "gemms": len(spec.layers),
        "evaluations": r["evaluations"],
        "workers": args.workers,
        "seconds_including_parquet_and_plots": wall,
        "parquet_bytes": size,
        "plots": len(plots),
    }
    print(
        f"sweep: {r['points']:,} points x {len(spec.layers)} GEMMs of Llama-2-7B decode, "
        f"parquet + {len(plots)} plot files, {args.workers} workers: {wall:.1f} s"
    )
    write_json(args.out, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
