"""Workload files: our own CSV/parquet GEMM tables and SCALE-Sim GEMM topologies.

Our workload file holds the columns of :func:`~shiftadd.workloads.shapes.gemm_table`;
``weight_shape`` is stored as the text ``"NxK"`` (empty for activation x activation GEMMs)
so that CSV and parquet carry it alike.

A SCALE-Sim (v2) GEMM topology is a CSV with header ``Layer, M, N, K,`` and one
``name, M, N, K,`` row per GEMM, where SCALE-Sim multiplies an ``M x K`` operand by a
``K x N`` one, the same convention as ours. SCALE-Sim has no repeat count and no layer
index, so the exporter folds them into the layer name, ``L<layer>.<name>[__x<count>]``, which
:func:`read_scalesim_csv` decodes again.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from .._io import atomic_path, atomic_write
from ..errors import InputError
from .configs import load_model_config
from .shapes import COLUMNS, KINDS, LAYER_BLOCKS, PHASES, gemm_table

__all__ = [
    "REQUIRED_COLUMNS",
    "write_workload",
    "read_workload",
    "validate_workload",
    "to_scalesim_csv",
    "read_scalesim_csv",
    "is_scalesim_csv",
    "resolve_workload",
]

REQUIRED_COLUMNS = ["name", "layer", "M", "N", "K", "count", "kind", "phase"]
_INT_COLUMNS = ["layer", "M", "N", "K", "count"]
_ACT_X_ACT_NAMES = {"attn_score", "attn_value"}
_SCALESIM_NAME = re.compile(r"L(?P<layer>-?\d+)\.(?P<name>.+?)(?:__x(?P<count>\d+))?")


def _format_shape(shape) -> str:
    if shape is None or (isinstance(shape, float) and np.isnan(shape)):
        return ""
    return "x".join(str(int(v)) for v in shape)


def _parse_shape(text, row: int, source: str):
    if text is None or (isinstance(text, float) and np.isnan(text)) or text == "":
        return None
    if isinstance(text, (tuple, list, np.ndarray)):
        parts = list(text)
    else:
        parts = str(text).replace("(", "").replace(")", "").replace(",", "x").split("x")
    try:
        shape = tuple(int(str(p).strip()) for p in parts)
    except ValueError:
        shape = ()
    if len(shape) != 2 or min(shape) < 1:
        raise InputError(
            f"row {row}: expected 'NxK', got {text!r}", field="weight_shape", source=source
        )
    return shape


def validate_workload(df: pd.DataFrame, *, source: str = "<workload>") -> pd.DataFrame:
    """Check a GEMM table's columns and types; return a normalized copy.

    Integer columns become int64, ``weight_shape`` becomes ``(N, K)`` tuples or None and is
    derived when absent, ``block`` and ``macs`` are added when absent.

    Parameters
    ----------
    df : pandas.DataFrame
        The GEMM table, with at least :data:`REQUIRED_COLUMNS`.
    source : str
        Where the table came from, named in error messages.

    Returns
    -------
    pandas.DataFrame
        A normalized copy, columns in the order of :func:`gemm_table`, index reset.

    Raises
    ------
    InputError
        A missing column, a non-integer or non-positive size, an unknown ``kind`` or
        ``phase``, or a ``weight_shape`` that disagrees with ``N, K``; the message names the
        column, the row and ``source``.
    """
    if not isinstance(df, pd.DataFrame):
        raise InputError("expected a table", source=source)
    df = df.copy()
    for col in REQUIRED_COLUMNS:
        if col not in df.columns:
            raise InputError("missing column", field=col, source=source, allowed=REQUIRED_COLUMNS)
    if df.empty:
        raise InputError("workload has no rows", source=source)
    for col in _INT_COLUMNS:
        values = pd.to_numeric(df[col], errors="coerce")
        bad = values.isna() | (values != np.round(values))
        # Past 2**53 a parsed number is no longer an exact integer and int64 could wrap.
        bad |= values.abs() > 2**53
        if col != "layer":
            bad |= values < 1
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            need = "an integer" if col == "layer" else "a positive integer"
            need += " of at most 2^53"
            raise InputError(
                f"row {i}: expected {need}, got {df[col].iloc[i]!r}", field=col, source=source
            )
        df[col] = values.astype("int64")
    df["name"] = df["name"].astype(str)
    for col, allowed in (("kind", KINDS), ("phase", PHASES)):
        df[col] = df[col].astype(str)
        bad = ~df[col].isin(allowed)
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(
                f"row {i}: unknown value {df[col].iloc[i]!r}",
                field=col,
                allowed=allowed,
                source=source,
            )
    weight = (df["kind"] == "act x weight").to_numpy()
    if "weight_shape" in df.columns:
        shapes = [_parse_shape(v, i, source) for i, v in enumerate(df["weight_shape"])]
    else:
        shapes = [None] * len(df)
    n, k = df["N"].to_numpy(), df["K"].to_numpy()
    for i, shape in enumerate(shapes):
        expected = (int(n[i]), int(k[i])) if weight[i] else None
        if shape is None and weight[i]:
            shape = expected
        if shape != expected:
            raise InputError(
                f"row {i}: {shape} disagrees with kind {df['kind'].iloc[i]!r} and "
                f"N, K = {n[i]}, {k[i]}",
                field="weight_shape",
                source=source,
            )
        shapes[i] = shape
    df["weight_shape"] = pd.Series(shapes, index=df.index, dtype=object)
    if "block" not in df.columns:
        df["block"] = df["name"].map(LAYER_BLOCKS).fillna("other")
    df["macs"] = df["M"] * df["N"] * df["K"] * df["count"]
    ordered = [c for c in COLUMNS if c in df.columns]
    return df[ordered + [c for c in df.columns if c not in ordered]].reset_index(drop=True)


def write_workload(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write a GEMM table as ``.csv`` or ``.parquet`` (chosen by suffix), atomically.

    Parameters
    ----------
    df : pandas.DataFrame
        The GEMM table (validated first, see :func:`validate_workload`).
    path : str or os.PathLike
        The file to write: ``.csv``, ``.parquet`` or ``.pq``.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet", ".pq"):
        raise InputError(
            f"unknown workload file type {suffix!r}",
            field="path",
            allowed=[".csv", ".parquet"],
            source=str(path),
        )
    out = validate_workload(df, source=str(path))
    out["weight_shape"] = out["weight_shape"].map(_format_shape)
    with atomic_path(path) as tmp:
        if suffix == ".csv":
            out.to_csv(tmp, index=False)
        else:
            out.to_parquet(tmp, index=False)
    return path


def read_workload(path: str | os.PathLike) -> pd.DataFrame:
    """Read and validate a workload file written by :func:`write_workload`.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.csv``, ``.parquet`` or ``.pq`` workload file.

    Returns
    -------
    pandas.DataFrame
        The validated GEMM table (see :func:`validate_workload`).

    Raises
    ------
    InputError
        Unreadable file, missing column or bad value (the message names the column).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("no such file", field="workload", source=str(path))
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            df = pd.read_parquet(path)
        else:
            df = pd.read_csv(
                path, dtype={"weight_shape": str, "name": str}, keep_default_na=False, na_values=[]
            )
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise InputError(f"cannot read workload: {exc}", source=str(path)) from None
    return validate_workload(df, source=str(path))


def to_scalesim_csv(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Export a GEMM table as a SCALE-Sim GEMM topology (``Layer, M, N, K,``), atomically.

    The layer column reads ``L<layer>.<name>`` with ``__x<count>`` appended when the GEMM
    repeats; SCALE-Sim itself simulates each row once.

    Parameters
    ----------
    df : pandas.DataFrame
        The GEMM table (validated first, see :func:`validate_workload`).
    path : str or os.PathLike
        The CSV file to write.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    df = validate_workload(df, source=str(path))
    lines = ["Layer, M, N, K,"]
    for name, layer, m, n, k, count in df[["name", "layer", "M", "N", "K", "count"]].itertuples(
        index=False
    ):
        if "," in name:
            raise InputError(f"GEMM name {name!r} contains a comma", field="name")
        label = f"L{layer}.{name}" + (f"__x{count}" if count > 1 else "")
        lines.append(f"{label}, {m}, {n}, {k},")
    return atomic_write(path, "\n".join(lines) + "\n")


def _split_csv_line(line: str) -> list[str]:
    fields = [f.strip() for f in line.strip().split(",")]
    while fields and fields[-1] == "":
        fields.pop()  # SCALE-Sim rows end with a comma
    return fields


def is_scalesim_csv(path: str | os.PathLike) -> bool:
    """True when the first line of ``path`` is a SCALE-Sim GEMM header ``Layer, M, N, K``.

    Parameters
    ----------
    path : str or os.PathLike
        The file to look at.

    Returns
    -------
    bool
        Whether the header matches; False for an unreadable or non-text file.
    """
    try:
        with open(path) as fh:
            header = _split_csv_line(fh.readline())
    except (OSError, UnicodeDecodeError):
        return False
    return [h.lower() for h in header[:4]] == ["layer", "m", "n", "k"]


def read_scalesim_csv(path: str | os.PathLike, *, phase: str = "prefill") -> pd.DataFrame:
    """Read a SCALE-Sim GEMM topology CSV into a GEMM table.

    Names written by :func:`to_scalesim_csv` give back layer and count; other names keep
    layer = row index and count = 1. ``attn_score``/``attn_value`` rows are activation x
    activation GEMMs, all others weight GEMMs.

    Parameters
    ----------
    path : str or os.PathLike
        The SCALE-Sim topology CSV.
    phase : {"prefill", "decode"}
        Phase recorded for every row (SCALE-Sim files carry none).

    Returns
    -------
    pandas.DataFrame
        The validated GEMM table (see :func:`validate_workload`).

    Raises
    ------
    InputError
        Not a SCALE-Sim topology, a short row or a non-integer size.
    """
    path = Path(path)
    if not is_scalesim_csv(path):
        raise InputError(
            "not a SCALE-Sim GEMM topology: the header must read 'Layer, M, N, K,'",
            source=str(path),
        )
    rows: list[tuple[str, int, int, int, int, int, str, str]] = []
    with open(path) as fh:
        lines = fh.read().splitlines()[1:]
    for lineno, line in enumerate(lines, start=2):
        fields = _split_csv_line(line)
        if not fields:
            continue
        if len(fields) < 4:
            raise InputError(f"line {lineno}: expected 'name, M, N, K,'", source=str(path))
        label = fields[0]
        try:
            m, n, k = (int(v) for v in fields[1:4])
        except ValueError:
            raise InputError(
                f"line {lineno}: M, N, K must be integers, got {fields[1:4]}",
                field="M",
                source=str(path),
            ) from None
        match = _SCALESIM_NAME.fullmatch(label)
        if match:
            name, layer = match["name"], int(match["layer"])
            count = int(match["count"]) if match["count"] else 1
        else:
            name, layer, count = label, len(rows), 1
        kind = "act x act" if name in _ACT_X_ACT_NAMES else "act x weight"
        rows.append((name, layer, m, n, k, count, kind, phase))
    df = pd.DataFrame(rows, columns=REQUIRED_COLUMNS)
    return validate_workload(df, source=str(path))


def resolve_workload(
    spec,
    phase: str | None = None,
    batch: int = 1,
    seq: int | None = None,
    context: int | None = None,
) -> pd.DataFrame:
    """Turn a workload specification into a GEMM table.

    Parameters
    ----------
    spec : str, path or pandas.DataFrame
        A preset name (``"llama-2-7b"``), a ``config.json`` (or a folder holding one), a
        workload file written by :func:`write_workload` (``.csv`` or ``.parquet``), a
        SCALE-Sim GEMM topology CSV, or a GEMM table.
    phase : {"prefill", "decode"}, optional
        For models: the phase to list (default ``"prefill"``). For workload files: keep only
        rows of this phase (default: all rows).
    batch, seq, context : int
        As in :func:`gemm_table`; ignored for workload files.

    Returns
    -------
    pandas.DataFrame
        Columns as :func:`gemm_table` (``block`` and ``macs`` are derived when a file lacks
        them).
    """
    if isinstance(spec, pd.DataFrame):
        df = validate_workload(spec, source="<DataFrame>")
    else:
        path = Path(spec)
        suffix = path.suffix.lower()
        if suffix in (".csv", ".parquet", ".pq"):  # a workload file (missing: InputError)
            if suffix == ".csv" and path.is_file() and is_scalesim_csv(path):
                df = read_scalesim_csv(path, phase=phase or "prefill")
            else:
                df = read_workload(path)
        else:
            return gemm_table(load_model_config(spec), phase or "prefill", batch, seq, context)
    if phase is not None:
        if phase not in PHASES:
            raise InputError(f"unknown phase {phase!r}", field="phase", allowed=PHASES)
        df = df[df["phase"] == phase].reset_index(drop=True)
        if df.empty:
            raise InputError(f"workload has no {phase} rows", field="phase", source=str(spec))
    return df
