"""Benchmark: BCQ quantization of a LLaMA-2-7B MLP matrix and the golden LUT-GEMM.

Targets (single core): quantizing a 4096 x 11008 matrix to q=3 with 3-term APoT scales and
mu=8 in under 30 s with a peak RSS under 2 GB; the golden LUT-GEMM of a 4096 x 4096 layer
with a batch of 16 activation vectors in seconds.

Run (from the repository root)::

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/bench_bcq.py

Writes JSON to ``--out`` (default ``bench/results/bcq.json``).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np


def _peak_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux: the peak of the whole process so far
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _llm_like(rng, n, k) -> np.ndarray:
    # heavy-tailed weights with uneven row scales, roughly like a trained LLM layer;
    # generated in row blocks so that the float64 draws do not set the process peak RSS
    w = np.empty((n, k), np.float32)
    for r0 in range(0, n, 256):
        r1 = min(n, r0 + 256)
        rows = np.exp(0.3 * rng.standard_normal((r1 - r0, 1)))
        w[r0:r1] = rng.standard_t(5, size=(r1 - r0, k)) * 0.02 * rows
    return w


def main(argv=None) -> int:
    from shiftadd._io import write_json
    from shiftadd.models import lutgemm
    from shiftadd.workloads.bcq import bcq_quantize

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "bcq.json"))
    ap.add_argument("--rows", type=int, default=4096)
    ap.add_argument("--cols", type=int, default=11008)
    ap.add_argument("--lut-size", type=int, default=4096)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--iters", type=int, default=15)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    w = _llm_like(rng, args.rows, args.cols)
    rss_input = _peak_rss_mb()

    t0 = time.perf_counter()
    res = bcq_quantize(
        w, 3, layout="kernel", mu=8, scale_form="apot", apot_terms=3, iters=args.iters
    )
    t_bcq = time.perf_counter() - t0
    rss_bcq = _peak_rss_mb()
    w_rel = float(np.sqrt(res.errors["weight_mse"] / np.mean(w.astype(np.float64) ** 2)))
    bcq = {
        "shape": [args.rows, args.cols],
        "q": 3,
        "layout": "kernel",
        "mu": 8,
        "group_rows": res.group_rows,
        "scale_form": "apot",
        "apot_terms": 3,
        "shift_bits": res.shift_bits,
        "iters": args.iters,
        "wall_s": round(t_bcq, 3),
        "peak_rss_mb": round(rss_bcq, 1),
        "peak_rss_mb_before_quantize": round(rss_input, 1),
        "weight_rel_fro_error": round(w_rel, 5),
        "error_history_first_last": [res.errors["history"][0], res.errors["history"][-1]],
        "bits_per_weight": res.storage_bits / w.size,
        "targets": {"wall_s": 30, "peak_rss_mb": 2048},
    }
    del res, w

    n = args.lut_size
    wl = _llm_like(rng, n, n)
    t0 = time.perf_counter()
    rl = bcq_quantize(
        wl, 3, layout="kernel", mu=8, scale_form="apot", apot_terms=3, iters=args.iters
    )
    t_q = time.perf_counter() - t0
    x = rng.standard_normal((args.batch, n))
    sx = np.abs(x).max() / 127
    xi = np.round(x / sx).astype(np.int8)
    t0 = time.perf_counter()
    y, ops = lutgemm.lut_gemm_bcq(xi, rl, return_ops=True)
    t_lut = time.perf_counter() - t0
    t0 = time.perf_counter()
    ref = lutgemm.dense_reference(xi, rl.dequantized_int())
    t_dense = time.perf_counter() - t0
    yf = x @ wl.T.astype(np.float64)
    rel = float(np.linalg.norm(y * sx * 2.0**rl.exp_base - yf) / np.linalg.norm(yf))
    lut = {
        "shape": [n, n],
        "batch": args.batch,
        "q": 3,
        "mu": 8,
        "quantize_wall_s": round(t_q, 3),
        "lut_gemm_wall_s": round(t_lut, 3),
        "dense_int64_reference_wall_s": round(t_dense, 3),
        "exact_match": bool(np.array_equal(y, ref)),
        "rel_error_vs_float": round(rel, 5),
        "ops": ops,
    }
    out = {
        "command": "OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 .venv/bin/python "
        "bench/bench_bcq.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "env": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
            "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS"),
        },
        "bcq": bcq,
        "lut_gemm": lut,
    }
    write_json(args.out, out)
    print(
        f"bcq {args.rows}x{args.cols} q=3 apot mu=8: {t_bcq:.2f} s, peak RSS "
        f"{rss_bcq:.0f} MB, rel error {w_rel:.4f}"
    )
    print(
        f"lut-gemm {n}x{n} batch {args.batch}: {t_lut:.2f} s (dense int64 {t_dense:.2f} s), "
        f"exact={lut['exact_match']}, rel error vs float {rel:.4f}"
    )
    print(f"wrote {args.out}")
    return 0 if lut["exact_match"] else 1


if __name__ == "__main__":
    sys.exit(main())
