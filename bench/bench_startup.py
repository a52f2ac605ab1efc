"""Benchmark: wall time of ``shiftadd model examples/mac_int8_k64.toml`` (start-up included).

Target: under 0.5 s wall on the 2-core reference machine. Before the architecture work the
command spent about 1.4 s importing (Amaranth and every generator came in through
``shiftadd.models``) to compute for 50 microseconds.

The script also runs the command once under ``python -X importtime`` and lists the top-level
packages by cumulative import time, and checks that neither Amaranth nor cocotb was imported.

Run (from the repository root)::

    .venv/bin/python bench/bench_startup.py

Writes JSON to ``--out`` (default ``bench/results/startup.json``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from shiftadd._io import write_json

REPO = Path(__file__).resolve().parents[1]
COMMAND = ["-m", "shiftadd.cli", "model", str(REPO / "examples" / "mac_int8_k64.toml")]
TARGET_S = 0.5


def wall_times(runs: int) -> list[float]:
    """Wall seconds of ``runs`` fresh processes of the model command."""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, *COMMAND], check=True, capture_output=True, cwd=REPO.parent)
        times.append(time.perf_counter() - t0)
    return times


def import_profile() -> dict[str, float]:
    """Cumulative import milliseconds of each top-level package, from ``-X importtime``."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", *COMMAND],
        check=True,
        capture_output=True,
        text=True,
        cwd=REPO.parent,
    )
    cumulative: dict[str, float] = {}
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or line.count("|") != 2:
            continue
        _, cum, raw_name = line.split(":", 1)[1].split("|")
        # nesting shows as indentation after one separating space: keep unindented names only
        if not cum.strip().isdigit() or raw_name.startswith("  "):
            continue
        name = raw_name.strip()
        cumulative[name] = cumulative.get(name, 0.0) + int(cum) / 1000.0
    return dict(sorted(cumulative.items(), key=lambda kv: -kv[1]))


def heavy_modules() -> list[str]:
    """Which of amaranth, cocotb, pandas, matplotlib the model command imports."""
    probe = (
        "import sys, runpy; sys.argv = ['shiftadd'] + sys.argv[1:];\n"
        "try:\n    runpy.run_module('shiftadd.cli', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "import json; print(json.dumps(sorted(m for m in ('amaranth', 'cocotb', 'pandas', "
        "'matplotlib') if m in sys.modules)), file=sys.stderr)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe, *COMMAND[2:]],
        capture_output=True,
        text=True,
        cwd=REPO.parent,
        check=True,
    )
    return json.loads(proc.stderr.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7, choices=range(1, 101), metavar="1..100")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "startup.json")
    args = parser.parse_args(argv)
    times = wall_times(args.runs)
    median = statistics.median(times)
    profile = import_profile()
    heavy = heavy_modules()
    result = {
        "command": "shiftadd " + " ".join(COMMAND[2:]),
        "runs": args.runs,
        "median_s": round(median, 3),
        "min_s": round(min(times), 3),
        "target_s": TARGET_S,
        "meets_target": median < TARGET_S,
        "import_ms_by_package": {k: round(v, 1) for k, v in list(profile.items())[:8]},
        "heavy_modules_imported": heavy,
    }
    write_json(args.out, result)
    print(
        f"shiftadd model: median {median:.3f} s over {args.runs} runs "
        f"(target < {TARGET_S} s): {'met' if median < TARGET_S else 'MISSED'}"
    )
    for name, ms in list(profile.items())[:6]:
        print(f"  import {name:<24} {ms:7.1f} ms")
    print(f"  heavy modules imported: {', '.join(heavy) or 'none'}")
    return 0 if median < TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
