"""Benchmark of the workloads subsystem: weight statistics speed/memory and checkpoint streaming.

1. A 4096 x 11008 bf16 tensor (Llama-2-7B MLP shape, synthetic) is written to a temporary
   safetensors file; for every format a fresh child process reads it and computes
   :func:`shiftadd.workloads.tensor_stats` on the whole matrix, then again streaming it in
   256-row blocks. Reported: wall time, tracemalloc peak (NumPy allocations) and the child's
   peak RSS (``ru_maxrss``).
2. A synthetic Llama-2-7B-shaped sharded bf16 checkpoint is generated in a temporary folder
   (never in the repository) and a child process streams every linear-layer tensor
   (``--stream-format``, full mode, head included) end to end; its peak RSS must stay under
   2 GB. ``--layers`` keeps only the first decoder layers when the full 13 GB is too slow.

Usage::

    .venv/bin/python bench/bench_workloads.py [--out bench/results/workloads.json]
        [--layers 32] [--stream-format int8] [--formats sign,int8,...] [--tmp DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

RSS_LIMIT_MB = 2048
SHAPE = (4096, 11008)
DEFAULT_FORMATS = [
    "sign",
    "ternary",
    "int2",
    "int3",
    "int4",
    "int8",
    "int4_asym",
    "int8_asym",
    "bcq1",
    "bcq2",
    "bcq3",
    "bcq4",
]


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _vmhwm_mb() -> float | None:
    """Peak RSS of this process image (VmHWM); unlike ru_maxrss it restarts at exec."""
    try:
        text = Path("/proc/self/status").read_text()
    except OSError:
        return None
    m = re.search(r"^VmHWM:\s+(\d+) kB", text, re.M)
    return int(m.group(1)) / 1024 if m else None


def _memory() -> dict:
    hwm = _vmhwm_mb()
    return {
        "peak_rss_mb": None if hwm is None else round(hwm, 1),
        "ru_maxrss_mb": round(_maxrss_mb(), 1),
    }


def child_make_tensor(path: str) -> dict:
    from shiftadd.workloads import synthetic_weights, write_safetensors

    t0 = time.perf_counter()
    write_safetensors(path, {"w": synthetic_weights(SHAPE, seed=0)}, dtype="BF16")
    return {"seconds": round(time.perf_counter() - t0, 1)}


def child_make_checkpoint(folder: str, layers: str) -> dict:
    from shiftadd.workloads import load_model_config, write_checkpoint

    t0 = time.perf_counter()
    write_checkpoint(
        folder,
        load_model_config("llama-2-7b"),
        dtype="BF16",
        shard_bytes=2 * 10**9,
        seed=0,
        num_layers=int(layers),
        progress=True,
    )
    return {"seconds": round(time.perf_counter() - t0, 1), **_memory()}


def child_tensor(path: str, fmt: str, mode: str) -> dict:
    """Stats of the bench tensor in one format, in this (fresh) process."""
    from shiftadd.workloads import open_checkpoint, quantize, tensor_stats
    from shiftadd.workloads.stats import LayerStats

    ckpt = open_checkpoint(path)
    rss_before = _vmhwm_mb()
    tracemalloc.start()
    t0 = time.perf_counter()
    if mode == "whole":
        w = ckpt.read("w")
        s = tensor_stats(w, fmt)
        del w
    else:
        acc = LayerStats(fmt, cols=SHAPE[1])
        for _, block in ckpt.iter_row_blocks("w", 256):
            acc.add(block, quantize(block, fmt))
        s = acc.result()
    seconds = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "format": fmt,
        "mode": mode,
        "seconds": round(seconds, 2),
        "tracemalloc_peak_mb": round(peak / 2**20, 1),
        **_memory(),
        "rss_after_imports_mb": rss_before and round(rss_before, 1),
        "rel_fro": s["rel_fro"],
        "bits_per_weight": s["bits_per_weight"],
        "booth_nonzero": s.get("booth_nonzero"),
        "ent_nonzero": s.get("ent_nonzero"),
        "key_distinct_mean": s.get("key_distinct_mean"),
    }


def child_stream(path: str, fmt: str) -> dict:
    """Stream every linear-layer tensor of the checkpoint at ``path``, in this process."""
    from shiftadd.workloads import iter_checkpoint_stats, open_checkpoint

    ckpt = open_checkpoint(path)
    t0 = time.perf_counter()
    weights = tensors = 0
    for rec in iter_checkpoint_stats(ckpt, fmt, include_head=True, progress=True):
        weights += rec["weights_analysed"]
        tensors += 1
    seconds = time.perf_counter() - t0
    return {
        "format": fmt,
        "tensors": tensors,
        "weights": weights,
        "seconds": round(seconds, 1),
        "ns_per_weight": round(seconds / weights * 1e9, 1),
        **_memory(),
    }


def _run_child(args: list[str], *, show_stderr: bool = False) -> dict:
    # Children do all the heavy lifting so that this parent stays small: on Linux a child
    # inherits its parent's ru_maxrss across fork and exec.
    proc = subprocess.run(
        [sys.executable, __file__, *args],
        text=True,
        stdout=subprocess.PIPE,
        stderr=None if show_stderr else subprocess.PIPE,
    )
    if proc.returncode:
        sys.stderr.write(proc.stderr or "")
        raise SystemExit(f"child {args} failed")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _formats(requested: list[str]) -> list[str]:
    from shiftadd.workloads import available_formats

    patterns = available_formats()
    ok = [f for f in requested if any(re.fullmatch(p, f) for p in patterns)]
    skipped = sorted(set(requested) - set(ok))
    if skipped:
        print(f"# formats not registered, skipped: {', '.join(skipped)}")
    return ok


def bench_tensor(tmp: Path, formats: list[str]) -> list[dict]:
    path = tmp / "tensor.safetensors"
    _run_child(["--child-make-tensor", str(path)])
    rows = []
    print(
        f"\n## statistics of one {SHAPE[0]} x {SHAPE[1]} bf16 tensor "
        f"({SHAPE[0] * SHAPE[1] / 1e6:.1f} M weights), one child process per run"
    )
    print(
        f"{'format':10s} {'mode':7s} {'time s':>7s} {'tracemalloc MB':>15s} "
        f"{'peak RSS MB':>12s} {'ru_maxrss MB':>13s} {'rel_fro':>8s} {'bits/w':>7s} "
        f"{'EN-T nz':>8s}"
    )
    for fmt in formats:
        for mode in ("whole", "blocks"):
            r = _run_child(["--child-tensor", str(path), fmt, mode])
            rows.append(r)
            ent = "" if r["ent_nonzero"] is None else f"{r['ent_nonzero']:.3f}"
            print(
                f"{fmt:10s} {mode:7s} {r['seconds']:7.2f} {r['tracemalloc_peak_mb']:15.1f} "
                f"{r['peak_rss_mb']:12.1f} {r['ru_maxrss_mb']:13.1f} {r['rel_fro']:8.4f} "
                f"{r['bits_per_weight']:7.3f} {ent:>8s}",
                flush=True,
            )
    return rows


def bench_checkpoint(tmp: Path, layers: int, fmt: str) -> dict:
    from shiftadd.workloads import load_model_config, weight_manifest

    cfg = load_model_config("llama-2-7b")
    folder = tmp / "llama-2-7b-synthetic"
    gen = _run_child(["--child-make-checkpoint", str(folder), str(layers)], show_stderr=True)
    gen_s = gen["seconds"]
    size = sum(p.stat().st_size for p in folder.glob("*.safetensors"))
    n_weights = sum(
        s.shape[0] * s.shape[1] for s in weight_manifest(cfg.replace(num_layers=layers))
    )
    print(
        f"\n## synthetic Llama-2-7B-shaped checkpoint: {layers} of 32 layers + lm_head, "
        f"{size / 1e9:.2f} GB bf16 in {len(list(folder.glob('*.safetensors')))} shards, "
        f"generated in {gen_s:.0f} s"
    )
    r = _run_child(["--child-stream", str(folder), fmt], show_stderr=True)
    peak = max(v for v in (r["peak_rss_mb"], r["ru_maxrss_mb"]) if v is not None)
    r.update(
        layers=layers,
        checkpoint_gb=round(size / 1e9, 2),
        linear_weights=n_weights,
        generate_seconds=gen_s,
        generate_peak_rss_mb=gen["peak_rss_mb"],
        rss_limit_mb=RSS_LIMIT_MB,
        under_limit=peak < RSS_LIMIT_MB,
    )
    print(
        f"streamed {r['tensors']} tensors ({r['weights'] / 1e9:.2f} G weights, {fmt}) in "
        f"{r['seconds']:.0f} s ({r['ns_per_weight']} ns/weight); peak RSS "
        f"{r['peak_rss_mb']:.0f} MB, ru_maxrss {r['ru_maxrss_mb']:.0f} MB "
        f"({'under' if r['under_limit'] else 'OVER'} the {RSS_LIMIT_MB} MB limit)"
    )
    return r


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="bench/results/workloads.json")
    p.add_argument(
        "--layers",
        type=int,
        default=32,
        help="decoder layers of the synthetic 7B checkpoint (default all 32)",
    )
    p.add_argument("--stream-format", default="int8")
    p.add_argument("--formats", default=",".join(DEFAULT_FORMATS))
    p.add_argument("--skip-checkpoint", action="store_true")
    p.add_argument("--skip-tensor", action="store_true")
    p.add_argument("--tmp", default=None, help="folder for temporary files (default: system)")
    p.add_argument("--child-tensor", nargs=3, help=argparse.SUPPRESS)
    p.add_argument("--child-make-tensor", nargs=1, help=argparse.SUPPRESS)
    p.add_argument("--child-make-checkpoint", nargs=2, help=argparse.SUPPRESS)
    p.add_argument("--child-stream", nargs=2, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.child_tensor:
        print(json.dumps(child_tensor(*a.child_tensor)))
        return 0
    if a.child_stream:
        print(json.dumps(child_stream(*a.child_stream)))
        return 0
    if a.child_make_tensor:
        print(json.dumps(child_make_tensor(*a.child_make_tensor)))
        return 0
    if a.child_make_checkpoint:
        print(json.dumps(child_make_checkpoint(*a.child_make_checkpoint)))
        return 0

    from shiftadd._io import write_json

    tmp = Path(tempfile.mkdtemp(prefix="shiftadd-bench-", dir=a.tmp))
    result = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
    }
    try:
        if not a.skip_tensor:
            result["tensor"] = {
                "shape": list(SHAPE),
                "dtype": "BF16",
                "runs": bench_tensor(tmp, _formats(a.formats.split(","))),
            }
        if not a.skip_checkpoint:
            result["checkpoint"] = bench_checkpoint(tmp, a.layers, a.stream_format)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    write_json(a.out, result)
    print(f"\nwrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
