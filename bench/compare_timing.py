"""Timing model vs OpenSTA on the designs the timing model was developed on.

`bench/results/timing_dev_set.jsonl` holds 79 designs (the catalog, 18 off-catalog variants
and 41 designs synthesized to probe each family's structure) with the critical path OpenSTA
reported on their yosys + ABC netlist (IHP SG13G2 typical, 10 ns clock). By default this
compares the current model with those recorded figures (seconds); `--resynth` synthesizes
every design again and records fresh figures (about an hour on two cores).

Run (from the repository root)::

    .venv/bin/python bench/compare_timing.py [--resynth --liberty L]

Prints a per-family table (designs, within 10%, max and mean absolute error) and writes it
to ``--out`` (default ``bench/results/compare_timing.json``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from shiftadd import design_from_dict
from shiftadd._io import atomic_write, write_json
from shiftadd.models.timing import critical_path

REPO = Path(__file__).resolve().parents[1]
DEV_SET = REPO / "bench" / "results" / "timing_dev_set.jsonl"
TOLERANCE = 0.10


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--resynth", action="store_true", help="synthesize every design again")
    parser.add_argument("--liberty", help="liberty for --resynth (default: $SHIFTADD_LIBERTY)")
    parser.add_argument(
        "--out", type=Path, default=REPO / "bench" / "results" / "compare_timing.json"
    )
    args = parser.parse_args(argv)
    entries = [json.loads(line) for line in DEV_SET.read_text().splitlines()]
    if args.resynth:
        from shiftadd.rtl_gen.synth import synthesize  # deferred: only with --resynth

        for e in entries:
            r = synthesize(design_from_dict(e["design"]), liberty=args.liberty, clock_ns=10.0)
            e["sta_critical_path_ns"] = r.critical_path_ns
            print(f"  {e['key']}: {r.critical_path_ns:.3f} ns", file=sys.stderr)
        atomic_write(DEV_SET, "".join(json.dumps(e, sort_keys=True) + "\n" for e in entries))
    rows = []
    for e in entries:
        design = design_from_dict(e["design"])
        model = critical_path(design).critical_path_ns
        rows.append(
            {
                "key": e["key"],
                "arch": design.arch,
                "sta_ns": e["sta_critical_path_ns"],
                "model_ns": model,
                "error": model / e["sta_critical_path_ns"] - 1,
            }
        )
    families = {}
    for arch in sorted({r["arch"] for r in rows}):
        errs = [abs(r["error"]) for r in rows if r["arch"] == arch]
        families[arch] = {
            "designs": len(errs),
            "within": sum(x <= TOLERANCE for x in errs),
            "max_abs_error": max(errs),
            "mean_abs_error": sum(errs) / len(errs),
        }
    total = sum(abs(r["error"]) <= TOLERANCE for r in rows)
    print(f"{'family':<12}{'designs':>8}{'within 10%':>12}{'max':>8}{'mean':>8}")
    for arch, f in families.items():
        print(
            f"{arch:<12}{f['designs']:>8}{f['within']:>12}{100 * f['max_abs_error']:>7.1f}%"
            f"{100 * f['mean_abs_error']:>7.1f}%"
        )
    print(
        f"all: {total} of {len(rows)} within 10%, "
        f"max {100 * max(abs(r['error']) for r in rows):.1f}%"
    )
    write_json(
        args.out, {"families": families, "within": total, "designs": len(rows), "rows": rows}
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
