"""Pareto fronts over two or three objectives."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InputError

__all__ = ["pareto_mask", "pareto_front", "parse_objectives"]


def pareto_mask(values: np.ndarray) -> np.ndarray:
    """Rows of ``values`` (shape ``(n, d)``, smaller is better in every column) that no other
    row dominates (no worse in all columns and better in one). Duplicates are all kept.

    Parameters
    ----------
    values : ndarray of float, shape (n, d)
        Objective values, one row per point; smaller is better in every column.

    Returns
    -------
    ndarray of bool, shape (n,)
        True for the rows on the Pareto front.
    """
    v = np.asarray(values, dtype=float)
    n, d = v.shape
    if n == 0:
        return np.zeros(0, bool)
    order = np.lexsort(v.T[::-1])  # by the first column, ties by the next
    s = v[order]
    keep = np.zeros(n, bool)
    if d == 1:
        keep[order] = s[:, 0] == s[0, 0]
        return keep
    if d == 2:
        # Sorted by (x, y), every row that could dominate row i comes before it, except
        # its identical copies (which do not dominate). Row i is on the front when every
        # row before its run of copies has a larger y.
        new_run = np.concatenate([[True], (s[1:] != s[:-1]).any(axis=1)])
        run_start = np.maximum.accumulate(np.where(new_run, np.arange(n), 0))
        best = np.minimum.accumulate(s[:, 1])
        before = np.where(run_start > 0, best[np.maximum(run_start - 1, 0)], np.inf)
        keep[order] = s[:, 1] < before
        return keep
    # d >= 3: sweep in sorted order against the current front (small in practice).
    front = np.empty((0, d))
    flags = np.zeros(n, bool)
    for i in range(n):
        row = s[i]
        dominated = bool(len(front)) and np.any(
            np.all(front <= row, axis=1) & np.any(front < row, axis=1)
        )
        if not dominated:
            flags[i] = True
            front = np.vstack([front, row])
    keep[order] = flags
    return keep


def parse_objectives(spec: str | list, columns) -> list[tuple[str, str]]:
    """``"area_mm2:min,energy_per_token_uj:min"`` (or a list) as ``[(column, min|max)]``.

    Parameters
    ----------
    spec : str or list of str
        Two or three ``column[:min|max]`` items, comma-separated in a string; the sense
        defaults to ``min``.
    columns : collection of str
        The column names an objective may name.

    Returns
    -------
    list of (str, str)
        ``(column, "min" | "max")`` per objective, in the given order.

    Raises
    ------
    InputError
        On an unknown column or sense, or fewer than two or more than three objectives.
    """
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    out = []
    for item in items:
        name, _, sense = str(item).strip().partition(":")
        sense = sense or "min"
        if name not in columns:
            raise InputError(
                f"unknown column {name!r}", field="--objectives", allowed=sorted(columns)
            )
        if sense not in ("min", "max"):
            raise InputError(
                f"{sense!r} is not allowed for {name}", field="--objectives", allowed=["min", "max"]
            )
        out.append((name, sense))
    if not 2 <= len(out) <= 3:
        raise InputError(
            f"{len(out)} objectives given",
            field="--objectives",
            allowed="two or three column:min|max pairs",
        )
    return out


def pareto_front(df: pd.DataFrame, objectives) -> pd.DataFrame:
    """The rows of ``df`` on the Pareto front of ``objectives`` ([(column, "min"|"max")]).

    Parameters
    ----------
    df : pandas.DataFrame
        The points, one per row.
    objectives : str or list of (str, str)
        ``[(column, "min" | "max")]``, or a string spec for :func:`parse_objectives`.

    Returns
    -------
    pandas.DataFrame
        The rows on the front (rows with a non-finite objective excluded, and, when ``df``
        has a ``feasible`` column, as a sweep's points do, the rows that miss timing),
        sorted by the first objective.
    """
    if "feasible" in df.columns:
        df = df[df["feasible"].to_numpy(bool)]
    objectives = (
        parse_objectives(objectives, df.columns) if isinstance(objectives, str) else objectives
    )
    v = np.column_stack([df[c].to_numpy(float) * (1 if s == "min" else -1) for c, s in objectives])
    finite = np.isfinite(v).all(axis=1)
    mask = np.zeros(len(df), bool)
    mask[finite] = pareto_mask(v[finite])
    return df[mask].sort_values(objectives[0][0])
