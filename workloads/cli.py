"""The ``workload`` command: GEMM tables of models and weight statistics of checkpoints.

``add_workload_parser(subparsers)`` registers::

    workload show NAME|config.json|workload.csv [--phase prefill|decode] [--batch B]
                  [--seq S] [--context L] [--csv FILE] [--scalesim FILE] [--json]
    workload stats CHECKPOINT --format FMT [--sample-tiles T] [--tile 256] [--out FILE]
                  [--json] [--config CONFIG] [--group-size G] [--layers 0-3,7] ...
    workload list

Each subcommand's ``func`` takes the parsed arguments and returns an exit status; bad input
raises :class:`~shiftadd.errors.InputError`, which the main CLI prints and turns into
exit status 2.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .._io import atomic_write, check_output_path
from ..errors import InputError, brief

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "add_workload_parser",
    "cmd_workload_show",
    "cmd_workload_stats",
    "cmd_workload_list",
    "parse_layers",
]


def add_workload_parser(subparsers) -> argparse.ArgumentParser:
    """Register the ``workload`` command and its subcommands on ``subparsers``.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        What ``ArgumentParser.add_subparsers()`` returned.

    Returns
    -------
    argparse.ArgumentParser
        The ``workload`` parser.
    """
    wp = subparsers.add_parser(
        "workload",
        help="LLM GEMM shapes and weight statistics",
        description="List the GEMMs of an LLM, or stream a safetensors checkpoint through a "
        "weight quantizer and report per-layer statistics.",
    )
    sub = wp.add_subparsers(dest="workload_command", metavar="{show,stats,list}")
    sub.required = True

    show = sub.add_parser(
        "show",
        help="print a model's GEMM table",
        description="Print the GEMM list (Y[M,N] = X[M,K] @ W[N,K]^T) of a "
        "preset, a config.json or a workload file.",
    )
    show.add_argument(
        "model",
        metavar="NAME|config.json|workload.csv",
        help="preset name (see 'workload list'), config.json, checkpoint "
        "folder, or a workload / SCALE-Sim CSV",
    )
    show.add_argument(
        "--phase",
        choices=["prefill", "decode"],
        default=None,
        help="inference phase (models: default prefill; files: default all rows)",
    )
    show.add_argument("--batch", type=int, default=1, help="sequences per batch (default 1)")
    show.add_argument(
        "--seq",
        type=int,
        default=None,
        help="prefill prompt length (default min(2048, max positions))",
    )
    show.add_argument(
        "--context",
        type=int,
        default=None,
        help="decode context length (default: --seq when given, else 4096 capped at the "
        "model's trained length)",
    )
    show.add_argument(
        "--head-tokens",
        choices=["last", "all"],
        default=None,
        help="prefill tokens the output head runs on (default: last for "
        "decoders, all for encoders)",
    )
    show.add_argument(
        "--csv", metavar="FILE", help="write the table as a workload CSV (.parquet also accepted)"
    )
    show.add_argument("--scalesim", metavar="FILE", help="write a SCALE-Sim GEMM topology CSV")
    show.add_argument("--json", action="store_true", help="print the table as JSON")
    show.set_defaults(func=cmd_workload_show)

    stats = sub.add_parser(
        "stats",
        help="stream a checkpoint and report weight statistics",
        description="Quantize every linear-layer weight of a safetensors "
        "checkpoint and report error, storage and bit/digit "
        "statistics per tensor.",
    )
    stats.add_argument(
        "checkpoint",
        metavar="CHECKPOINT",
        help="checkpoint folder (model.safetensors or sharded with "
        "model.safetensors.index.json), index file or .safetensors file",
    )
    stats.add_argument(
        "--format",
        required=True,
        dest="fmt",
        metavar="FMT",
        help="weight format: sign, ternary, int2..int8, int4_asym, bcq1..bcq4, "
        "... (see 'workload list')",
    )
    stats.add_argument(
        "--config",
        default=None,
        help="config.json or preset (default: the checkpoint's config.json)",
    )
    stats.add_argument(
        "--sample-tiles",
        type=int,
        default=None,
        metavar="T",
        help="analyse T random tiles per tensor instead of whole tensors",
    )
    stats.add_argument(
        "--tile",
        type=int,
        default=256,
        help="tile edge (sampled mode) / rows per block (full mode); default 256",
    )
    stats.add_argument("--seed", type=int, default=0, help="tile sampling seed (default 0)")
    stats.add_argument(
        "--group-size",
        type=int,
        default=None,
        help="quantization group size along in_features (format option)",
    )
    stats.add_argument(
        "--mu", type=int, default=8, help="input columns per binary-coding key (default 8)"
    )
    stats.add_argument(
        "--layers", default=None, metavar="SPEC", help="only these decoder layers, e.g. '0-3,7'"
    )
    stats.add_argument("--include-head", action="store_true", help="also analyse the output head")
    stats.add_argument(
        "--out",
        metavar="FILE",
        help="write the table (.csv) or the full records with histograms (.json)",
    )
    stats.add_argument(
        "--json", action="store_true", help="print the records (with histograms) as JSON"
    )
    stats.add_argument("--no-progress", action="store_true", help="no progress bar")
    stats.set_defaults(func=cmd_workload_stats)

    lst = sub.add_parser("list", help="list model presets and weight formats")
    lst.add_argument("--json", action="store_true", help="print as JSON")
    lst.set_defaults(func=cmd_workload_list)
    return wp


def _positive(value, flag: str, upper: int | None = None) -> None:
    if value is None:
        return
    if value < 1 or (upper is not None and value > upper):
        allowed = "an integer >= 1" if upper is None else f"an integer from 1 to {upper:,}"
        raise InputError(f"{value} is out of range", field=flag, allowed=allowed)


#: Output files of the workload subcommands and the suffixes that name their formats.
SHOW_CSV_SUFFIXES = (".csv", ".parquet", ".pq")
SCALESIM_SUFFIXES = (".csv",)
STATS_OUT_SUFFIXES = (".csv", ".json")


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def _display(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    if "weight_shape" in out.columns:
        out["weight_shape"] = out["weight_shape"].map(
            lambda s: "" if s is None else f"{s[0]}x{s[1]}"
        )
    return out


def cmd_workload_show(args) -> int:
    """``workload show``: print (or write) the GEMM table of a model or workload file.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed options: ``model``, ``phase``, ``batch``, ``seq``, ``context``,
        ``head_tokens``, ``csv``, ``scalesim``, ``json``.

    Returns
    -------
    int
        Exit status, 0.
    """
    from .configs import MAX_BATCH, MAX_TOKENS, check_gemm_sizes  # deferred: start-up time
    from .interchange import (  # deferred: start-up time
        resolve_workload,
        to_scalesim_csv,
        write_workload,
    )
    from .shapes import weight_params  # deferred: start-up time

    _positive(args.batch, "--batch", MAX_BATCH)
    for flag in ("seq", "context"):
        _positive(getattr(args, flag), f"--{flag}", MAX_TOKENS)
    # Before the table is built: a path that cannot be written is refused without work.
    if args.csv:
        check_output_path(args.csv, "--csv", "file", suffixes=SHOW_CSV_SUFFIXES)
    if args.scalesim:
        check_output_path(args.scalesim, "--scalesim", "file", suffixes=SCALESIM_SUFFIXES)
    if args.head_tokens is not None and not Path(args.model).is_file():
        from .configs import load_model_config  # deferred: start-up time
        from .shapes import gemm_table

        df = gemm_table(
            load_model_config(args.model),
            args.phase or "prefill",
            args.batch,
            args.seq,
            args.context,
            head_tokens=args.head_tokens,
        )
    else:
        df = resolve_workload(args.model, args.phase, args.batch, args.seq, args.context)
    check_gemm_sizes(df["M"], df["N"], df["K"], field="model", source=str(args.model))
    if args.csv:
        write_workload(df, args.csv)
        print(f"wrote {args.csv}", file=sys.stderr)
    if args.scalesim:
        to_scalesim_csv(df, args.scalesim)
        print(f"wrote {args.scalesim}", file=sys.stderr)
    if args.json:
        rows = _display(df).to_dict(orient="records")
        print(
            json.dumps(
                _jsonable(
                    {
                        "workload": str(args.model),
                        **df.attrs,
                        "rows": rows,
                        "total_macs": int(df["macs"].sum()),
                        "weight_params": weight_params(df),
                    }
                ),
                indent=2,
            )
        )
    elif not (args.csv or args.scalesim):
        import pandas as pd  # deferred: start-up time

        with pd.option_context("display.max_rows", None, "display.width", 200):
            print(_display(df).to_string(index=False))
        print(
            f"# {len(df)} GEMMs, {int(df['macs'].sum()):.4g} MACs, "
            f"{weight_params(df):.4g} weights read"
        )
    return 0


def parse_layers(spec: str | None) -> list[int] | None:
    """Parse ``"0-3,7"`` into ``[0, 1, 2, 3, 7]``; None stays None.

    Parameters
    ----------
    spec : str or None
        Comma-separated layer indices and inclusive ranges ``a-b``.

    Returns
    -------
    list of int or None
        The layer indices, sorted and without duplicates; None when ``spec`` is None.

    Raises
    ------
    InputError
        Anything but comma-separated integers and ascending ranges, or an index past
        :data:`~shiftadd.workloads.configs.MAX_LAYERS`.
    """
    from .configs import MAX_LAYERS  # deferred: start-up time

    if spec is None:
        return None
    out: list[int] = []
    for part in spec.split(","):
        m = re.fullmatch(r"\s*(\d{1,9})\s*(?:-\s*(\d{1,9})\s*)?", part)
        if not m or (m[2] is not None and int(m[2]) < int(m[1])):
            raise InputError(
                f"expected integers and ranges like '0-3,7', got {spec[:60]!r}", field="--layers"
            )
        if int(m[2] or m[1]) >= MAX_LAYERS:
            raise InputError(
                f"layer {int(m[2] or m[1]):,} is beyond any model",
                field="--layers",
                allowed=f"layer indices from 0 to {MAX_LAYERS - 1}",
            )
        out.extend(range(int(m[1]), int(m[2] or m[1]) + 1))
    return sorted(set(out))


_TABLE_COLUMNS = [
    "tensor",
    "rows",
    "cols",
    "rel_fro",
    "bits_per_weight",
    "zero_fraction",
    "booth_nonzero",
    "ent_nonzero",
    "key_entropy_bits",
    "key_distinct_mean",
]


def cmd_workload_stats(args) -> int:
    """``workload stats``: stream a checkpoint and report per-tensor weight statistics.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed options: ``checkpoint``, ``fmt``, ``config``, ``sample_tiles``, ``tile``,
        ``seed``, ``include_head``, ``layers``, ``mu``, ``group_size``, ``no_progress``,
        ``out``, ``json``.

    Returns
    -------
    int
        Exit status, 0.
    """
    from .format_names import format_words  # deferred: start-up time
    from .quant import available_formats
    from .stats import iter_checkpoint_stats, records_to_frame, summarize

    if not any(re.fullmatch(p, args.fmt) for p in available_formats()):
        raise InputError(
            f"unknown weight format {brief(args.fmt)}", field="--format", allowed=format_words()
        )
    _positive(args.sample_tiles, "--sample-tiles", 10**6)
    _positive(args.tile, "--tile", 2**16)
    _positive(args.group_size, "--group-size", 2**20)
    _positive(args.mu, "--mu")  # its upper bound is the statistics' own check
    if args.seed < 0:
        raise InputError(f"{args.seed} is negative", field="--seed", allowed="an integer >= 0")
    if args.out:
        # The suffix names the format written: anything else is refused, not written as CSV.
        check_output_path(args.out, "--out", "file", suffixes=STATS_OUT_SUFFIXES)
    options = {} if args.group_size is None else {"group_size": args.group_size}
    records = list(
        iter_checkpoint_stats(
            args.checkpoint,
            args.fmt,
            config=args.config,
            sample_tiles=args.sample_tiles,
            tile=args.tile,
            seed=args.seed,
            include_head=args.include_head,
            layers=parse_layers(args.layers),
            mu=args.mu,
            progress=not args.no_progress,
            quant_options=options,
        )
    )
    table = records_to_frame(records)
    summary = summarize(table)
    if args.out:
        out = Path(args.out)
        if out.suffix.lower() == ".json":
            atomic_write(
                out,
                json.dumps(
                    _jsonable({"format": args.fmt, "summary": summary, "tensors": records}),
                    indent=1,
                )
                + "\n",
            )
        else:
            atomic_write(out, table.to_csv(index=False))
        print(f"wrote {out}", file=sys.stderr)
    if args.json:
        print(
            json.dumps(
                _jsonable({"format": args.fmt, "summary": summary, "tensors": records}), indent=1
            )
        )
    elif not args.out:
        cols = [c for c in _TABLE_COLUMNS if c in table.columns]
        import pandas as pd  # deferred: start-up time

        with pd.option_context("display.max_rows", None, "display.width", 200):
            print(table[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        print(
            "# "
            + ", ".join(
                f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in summary.items()
            )
        )
    return 0


def cmd_workload_list(args) -> int:
    """``workload list``: the model presets and the registered weight formats.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed options: ``json``.

    Returns
    -------
    int
        Exit status, 0.
    """
    from .configs import list_presets  # deferred: start-up time
    from .quant import available_formats

    formats = available_formats()
    if args.json:
        print(json.dumps({"presets": list_presets(), "formats": formats}, indent=2))
        return 0
    print("presets: " + ", ".join(list_presets()))
    print("formats:")
    for pattern, desc in formats.items():
        print(f"  {pattern:24s} {desc}")
    return 0
