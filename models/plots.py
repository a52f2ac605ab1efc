"""Plots of sweep results (PNG and SVG): Pareto scatter, energy against model quality,
energy breakdown, roofline, per-layer heatmap.

Every plot names designs by their ``point`` id (the column of ``points.parquet`` that
``shiftadd export`` takes) and by the few fields that tell the shown designs apart; the
fields they share go to the subtitle. Engines are told apart by marker shape (one per
family) and by colour (one per engine and PE mode, from the colour-blind-safe Okabe-Ito
set). Energies are drawn in the unit that reads best for the data (see :func:`energy_unit`).
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd

from .._io import atomic_path
from ..errors import InputError
from .pareto import pareto_front

__all__ = [
    "PLOT_KINDS",
    "design_label",
    "draw_plot",
    "energy_unit",
    "load_results",
    "plot_results",
]

PLOT_KINDS = ("pareto", "quality", "breakdown", "roofline", "layers")
_ENERGY_PARTS = (
    ("energy_compute_uj", "array, computing"),
    ("energy_idle_uj", "array, idle + leakage"),
    ("energy_sram_uj", "on-chip SRAM"),
    ("energy_dram_uj", "DRAM"),
)
# Okabe & Ito (2008) without black (kept for the Pareto front), then three of Paul Tol's
# colour-blind-safe "muted" set, and yellow last (the hardest to see on white): ten
# engine keys before a colour repeats, and a repeated colour comes with another marker.
_OKABE_ITO = (
    "#E69F00",
    "#56B4E9",
    "#009E73",
    "#0072B2",
    "#D55E00",
    "#CC79A7",
    "#882255",
    "#999933",
    "#332288",
    "#F0E442",
)
_FAMILY_MARKERS = {
    "adder_tree": "o",
    "systolic": "s",
    "matrix2d": "D",
    "shiftadd": "^",
    "threshold": "v",
}
_SPARE_MARKERS = ("P", "X", "*", "h", "<", ">")
_MM2 = "mm\u00b2"
# Label fields in the order they are printed, each with its format ({} is the value).
_LABEL_FIELDS = (
    ("arch", "{}"),
    ("mode", "{}"),
    ("dataflow", "{}"),
    ("k", "k={}"),
    ("n", "n={}"),
    ("rows", "{}"),  # rows x cols are joined below
    ("cols", "{}"),
    ("mu", "\u03bc={}"),
    ("q", "q={}"),
    ("terms", "terms={}"),
    ("columns", "cols={}"),
    ("pes", "pes={}"),
    ("neurons", "neurons={}"),
    ("memory_bits", "mem={}b"),
    ("act_bits", "act {}b"),
    ("carry_save_accumulate", "csa={}"),
    ("pipeline_stages", "pipeline {}"),
    ("clock_ns", "{} ns"),
    ("act_buffer_kib", "A {} KiB"),
    ("weight_buffer_kib", "W {} KiB"),
    ("out_buffer_kib", "O {} KiB"),
    ("dram_gbps", "{} GB/s"),
    ("activity", "activity {}"),
    ("units", "units {}"),
)
_ENERGY_UNITS = (("nJ", 1e-3), ("\u00b5J", 1.0), ("mJ", 1e3), ("J", 1e6))


def load_results(folder: str | Path) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """``(points, layers, sweep metadata)`` of a finished sweep folder.

    Parameters
    ----------
    folder : str or Path
        Sweep output folder holding ``points.parquet``, ``layers.parquet`` and ``sweep.json``.

    Returns
    -------
    points : pandas.DataFrame
        One row per design point.
    layers : pandas.DataFrame
        One row per design point and GEMM.
    meta : dict
        The sweep's metadata (``sweep.json``).

    Raises
    ------
    InputError
        When one of the three files is missing.
    """
    folder = Path(folder)
    for name in ("points.parquet", "layers.parquet", "sweep.json"):
        if not (folder / name).is_file():
            raise InputError(f"not a finished sweep: {name} is missing", source=str(folder))
    name = "sweep.json"
    try:
        # A truncated or foreign file is bad input, not a crash (pyarrow's ArrowInvalid and
        # json's JSONDecodeError are ValueErrors; an unreadable file an OSError).
        meta = json.loads((folder / name).read_text())
        name = "points.parquet"
        points = pd.read_parquet(folder / name)
        name = "layers.parquet"
        layers = pd.read_parquet(folder / name)
    except (OSError, ValueError) as exc:
        raise InputError(
            f"not a readable sweep result: {exc}", field=name, source=str(folder)
        ) from None
    missing = {"point", "area_mm2", "energy_per_token_uj"} - set(points.columns)
    if not isinstance(meta, dict) or missing:
        raise InputError(
            "not a sweep result written by shiftadd sweep",
            field="sweep.json" if not isinstance(meta, dict) else "points.parquet",
            source=str(folder),
        )
    return points, layers, meta


def energy_unit(values_uj) -> tuple[str, float]:
    """The unit that reads best for energies given in microjoules, and its size in uJ.

    The largest of nJ, uJ, mJ and J in which the smallest positive value is at least 1,
    so that axis ticks and table columns carry at most a few digits before the point.

    Parameters
    ----------
    values_uj : array_like of float
        Energies in microjoules (non-finite and non-positive values are ignored).

    Returns
    -------
    unit : str
        ``"nJ"``, ``"µJ"``, ``"mJ"`` or ``"J"``.
    scale : float
        Microjoules per ``unit``: divide the values by it.
    """
    v = np.asarray(values_uj, dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    if v.size == 0:
        return "\u00b5J", 1.0
    smallest = v.min()
    unit, scale = _ENERGY_UNITS[0]
    for name, size in _ENERGY_UNITS:
        if smallest >= size:
            unit, scale = name, size
    return unit, scale


def _short(value: float) -> str:
    """Three significant digits without an exponent: ``5.08``, ``87.4``, ``3,723``."""
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"


def _value_text(value) -> str:
    """A field value as printed in labels: integral numbers without a decimal point."""
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (float, np.floating)):
        return str(int(value)) if float(value).is_integer() else f"{value:g}"
    return str(value)


def design_label(row, fields=None, sep: str = " ") -> str:
    """A short, readable name of one design point from the fields that matter.

    Parameters
    ----------
    row : mapping
        One row of ``points.parquet`` (a pandas Series or a dict).
    fields : collection of str, optional
        The fields to print (e.g. those that differ between the designs shown); default
        every label field the row has a value for.
    sep : str
        Between the parts.

    Returns
    -------
    str
        E.g. ``"adder_tree xnor k=64 n=4 5 ns"``; integral numbers print without ``.0``
        and rows and columns as ``16x16``.
    """
    parts = []
    for key, fmt in _LABEL_FIELDS:
        if key not in row or (fields is not None and key not in fields) or key == "cols":
            continue
        value = row[key]
        if pd.isna(value):
            continue
        if key == "rows":
            cols = row["cols"] if "cols" in row else None
            text = _value_text(value) + ("" if cols is None or pd.isna(cols) else "x")
            parts.append(text + ("" if cols is None or pd.isna(cols) else _value_text(cols)))
            continue
        parts.append(fmt.format(_value_text(value)))
    # No-break spaces inside a part ("10 ns"): wrapped titles break only between parts.
    parts = [p.replace(" ", "\u00a0") for p in parts]
    if fields is not None and "cols" in fields and ("rows" not in fields) and "cols" in row:
        if pd.notna(row["cols"]):
            parts.append(f"cols={_value_text(row['cols'])}")
    return sep.join(parts)


def _distinguishing(rows: pd.DataFrame) -> tuple[set, set]:
    """The label fields that differ between ``rows``, and those all rows share a value of."""
    varying, common = set(), set()
    for key, _ in _LABEL_FIELDS:
        if key not in rows:
            continue
        texts = rows[key].map(lambda v: "" if pd.isna(v) else _value_text(v))
        if texts.nunique() > 1:
            varying.add(key)
        elif texts.iloc[0] != "":
            common.add(key)
    if "rows" in varying or "cols" in varying:
        varying |= {"rows", "cols"} & set(rows.columns)
    common -= varying
    return varying, common


def _engine_keys(points: pd.DataFrame) -> np.ndarray:
    """Engine, and its PE arithmetic where the engine has modes (other engines: none)."""
    keys = points["arch"].astype(str).to_numpy(dtype=object)
    if "mode" in points:
        mode = points["mode"].astype(object)
        keys = np.where(mode.notna(), keys + " " + mode.astype(str), keys)
    return keys


def _styles(points: pd.DataFrame) -> dict:
    """``{engine key: (colour, marker)}``: a marker per family, colours cycling over the
    engine keys; no two keys share both."""
    keys = sorted(set(_engine_keys(points)))
    archs = sorted({k.split(" ")[0] for k in keys})
    spare = iter(_SPARE_MARKERS * 3)
    markers = {a: _FAMILY_MARKERS.get(a) or next(spare) for a in archs}
    return {
        key: (_OKABE_ITO[i % len(_OKABE_ITO)], markers[key.split(" ")[0]])
        for i, key in enumerate(keys)
    }


def _plain_log_ticks(axis, lo: float, hi: float) -> None:
    """Ticks on a log axis printed as plain numbers (``200``, ``500``, ``1000``), not 10^k."""
    from matplotlib import ticker  # deferred: matplotlib loads only for plots

    decades = np.log10(hi / lo) if lo > 0 and hi > 0 else 99
    if decades < 0.6:
        # Less than a decade and a half of the 1-2-5 steps: evenly spaced round ticks.
        axis.set_major_locator(ticker.MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))
        axis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
        axis.set_minor_formatter(ticker.NullFormatter())
        return
    if decades <= 1.2:
        subs: tuple = (1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 7.0)
    else:
        subs = (1.0, 2.0, 5.0) if decades <= 2.5 else (1.0, 3.0) if decades <= 4 else (1.0,)
    axis.set_major_locator(ticker.LogLocator(base=10, subs=subs))
    axis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(ticker.NullFormatter())


def _place_labels(
    ax, xy: np.ndarray, texts: list[str], fontsize: float = 6.5, prefer=None, marker: float = 3
) -> None:
    """Annotate the data points ``xy`` with ``texts`` without labels overlapping.

    Each label tries offsets around its point and then further out, one line and one label
    width at a time, and takes the first whose box overlaps neither a label placed before
    nor one of the annotated points; a label away from its point gets a thin leader line.
    With ``prefer`` (signs of x and y, e.g. ``(-1, -1)`` for below left, the side of a
    front of two minimized objectives that no design reaches) labels stay on that side.
    """
    fig = ax.figure
    ax.autoscale_view()
    points_per_px = 72.0 / fig.dpi
    disp = ax.transData.transform(np.asarray(xy, dtype=float)) * points_per_px
    char_w, line_h = 0.6 * fontsize, 1.35 * fontsize
    # The annotated points themselves are obstacles: a label must not hide a front marker.
    placed = [(px - marker, py - marker, px + marker, py + marker) for px, py in disp]
    x0, y0, x1, y1 = (ax.get_window_extent().extents * points_per_px).tolist()
    sides = [prefer] if prefer else [(1, 1), (1, -1), (-1, 1), (-1, -1)]
    sx = sides[0][0]
    order = np.argsort(-sx * disp[:, 0], kind="stable")
    for i in order:
        w, h = char_w * len(texts[i]) + 2, line_h
        px, py = disp[i]
        # (other side, distance, dx, dy, leader line)
        options: list[tuple[bool, float, float, float, bool]] = []
        for signx, signy in ((1, 1), (1, -1), (-1, 1), (-1, -1), (0, 1), (0, -1)):
            # signx 0: centred above or below the point.
            other = (signx, signy) not in sides and (signx != 0 or signy != sides[0][1])
            for t in range(8 if signx else 1):
                shift = t * (w + 4) / 2
                dx = 5 + shift if signx > 0 else -5 - w - shift if signx < 0 else -w / 2
                for s in range(30):
                    dy = (3 + s * line_h) if signy > 0 else (-3 - h - s * line_h)
                    options.append((other, abs(dx) + abs(dy), dx, dy, s > 0 or t > 0))
        # The preferred side first, nearest first; the other sides only when it is full.
        candidates = [(dx, dy, leader) for _, _, dx, dy, leader in sorted(options)]
        chosen = candidates[0]  # when no place is free: the nearest
        for candidate in candidates:
            dx, dy, _ = candidate
            box = (px + dx, py + dy, px + dx + w, py + dy + h)
            inside = box[0] >= x0 + 2 and box[2] <= x1 - 2 and box[1] >= y0 + 2 and box[3] <= y1
            if inside and all(
                box[2] <= b[0] or box[0] >= b[2] or box[3] <= b[1] or box[1] >= b[3] for b in placed
            ):
                chosen = candidate
                break
        dx, dy, leader = chosen
        placed.append((px + dx, py + dy, px + dx + w, py + dy + h))
        ax.annotate(
            texts[i],
            xy[i],
            xytext=(dx, dy),
            textcoords="offset points",
            fontsize=fontsize,
            va="bottom",
            ha="left",
            arrowprops={"arrowstyle": "-", "lw": 0.5, "color": "0.35"} if leader else None,
        )


def _scatter_engines(ax, x, y, points: pd.DataFrame, feasible: np.ndarray, size=14) -> None:
    """Every design point, coloured and shaped by engine; infeasible ones as grey crosses."""
    if not feasible.all():
        ax.scatter(
            x[~feasible],
            y[~feasible],
            s=size * 0.6,
            alpha=0.35,
            color="0.6",
            marker="x",
            linewidths=0.7,
            label="misses timing or quality floor",
            rasterized=True,
        )
    keys = _engine_keys(points)
    for key, (colour, marker) in _styles(points).items():
        sel = (keys == key) & feasible
        if not sel.any():
            continue  # an engine with every point infeasible shows only in grey
        ax.scatter(
            x[sel],
            y[sel],
            s=size,
            alpha=0.7,
            color=colour,
            marker=marker,
            linewidths=0,
            label=key,
            rasterized=True,
        )


def _feasible(points: pd.DataFrame) -> np.ndarray:
    if "feasible" in points:
        return points["feasible"].to_numpy(bool)
    return np.ones(len(points), bool)


def _title(meta: dict) -> str:
    w = meta["workload"]
    title = f"{meta['name']}: {w['spec']} {w['phase']}, batch {w['batch']}"
    activity = meta.get("activity") or {}
    if activity.get("data"):
        # Say which points are priced on measured data (activity_source) and which are not.
        title += f"; activity 'data' = {activity['label']} (0.5 where a family has no data model)"
    return title


def _common_text(rows: pd.DataFrame, common: set) -> str:
    text = design_label(rows.iloc[0], common, sep=", ")
    return "all shown: " + "\n".join(textwrap.wrap(text, 110)) if text else ""


def draw_plot(folder: str | Path, kind: str, top: int = 12):
    """Draw one kind of plot for the sweep in ``folder`` and return the figure (unsaved).

    Parameters
    ----------
    folder : str or Path
        A finished sweep folder (see :func:`load_results`).
    kind : str
        One of :data:`PLOT_KINDS`.
    top : int
        Pareto designs shown by ``breakdown`` and ``layers``.

    Returns
    -------
    matplotlib.figure.Figure
        The figure; the caller saves and closes it.

    Raises
    ------
    InputError
        For an unknown ``kind``, a folder that is not a finished sweep, or ``quality`` on a
        sweep without quality figures.
    """
    # deferred: matplotlib takes longer to import than a sweep chunk, and its backend is
    # chosen before pyplot loads
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # deferred: after the backend is chosen

    if kind not in PLOT_KINDS:
        raise InputError(f"unknown plot {kind!r}", field="--kind", allowed=PLOT_KINDS)
    points, layers, meta = load_results(folder)
    feasible = _feasible(points)
    # Feasible points only: a design that misses its clock or the quality floor is not
    # recommended, so it is not on the front the plots draw.
    front = pareto_front(points[feasible], [("area_mm2", "min"), ("energy_per_token_uj", "min")])
    # Points equal in both objectives (e.g. differing only in DRAM bandwidth) show once, by
    # the lowest id, as in the sweep summary.
    front = front.sort_values("point").drop_duplicates(subset=["area_mm2", "energy_per_token_uj"])
    front = front.sort_values("area_mm2")
    title = _title(meta)
    if kind == "pareto":
        return _pareto_plot(plt, points, front, meta, title)
    if kind == "quality":
        return _quality_plot(plt, points, meta, title)
    if kind == "breakdown":
        return _breakdown_plot(plt, front.head(top), meta, title)
    if kind == "roofline":
        return _roofline_plot(plt, front, layers, title)
    return _layers_plot(plt, front.head(top), layers, title)


def plot_results(
    folder: str | Path, kind: str, out: str | Path | None = None, top: int = 12
) -> list[str]:
    """Draw one kind of plot for the sweep in ``folder``; returns the files written.

    Parameters
    ----------
    folder : str or Path
        A finished sweep folder (see :func:`load_results`).
    kind : str
        One of :data:`PLOT_KINDS`: ``pareto`` (area vs energy per token), ``quality``
        (energy per token vs model quality), ``breakdown`` (energy by component),
        ``roofline`` (of the middle Pareto design by area) or ``layers`` (energy share per
        GEMM).
    out : str or Path, optional
        Output path without suffix; default ``folder/plot_<kind>``.
    top : int
        Pareto designs shown by ``breakdown`` and ``layers``.

    Returns
    -------
    list of str
        The PNG and SVG files written.
    """
    import matplotlib.pyplot as plt  # deferred: draw_plot chose the backend

    fig = draw_plot(folder, kind, top=top)
    out = Path(out) if out else Path(folder) / f"plot_{kind}"
    paths = []
    for suffix in (".png", ".svg"):
        path = out.with_suffix(suffix)
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=130, format=suffix[1:], bbox_inches="tight")
        paths.append(str(path))
    plt.close(fig)
    return paths


def _pareto_plot(plt, points: pd.DataFrame, front: pd.DataFrame, meta: dict, title: str):
    """Area against energy per token, every engine; the front's points numbered by id and
    listed beside the axes."""
    fig, ax = plt.subplots(figsize=(7.5, 5))
    unit, scale = energy_unit(points["energy_per_token_uj"])
    area = points["area_mm2"].to_numpy(float)
    energy = points["energy_per_token_uj"].to_numpy(float) / scale
    _scatter_engines(ax, area, energy, points, _feasible(points))
    fx, fy = front["area_mm2"].to_numpy(float), front["energy_per_token_uj"].to_numpy(float)
    ax.plot(fx, fy / scale, "k.-", lw=1, ms=6, label="Pareto front (area, energy)", zorder=5)
    if meta.get("quality_source") is not None and "quality" in points:
        # The summary's front weighs quality too: ring its points so both fronts show.
        f3 = pareto_front(
            points[_feasible(points)],
            [("area_mm2", "min"), ("energy_per_token_uj", "min"), ("quality", "max")],
        )
        ax.scatter(
            f3["area_mm2"],
            f3["energy_per_token_uj"] / scale,
            s=40,
            facecolors="none",
            edgecolors="k",
            linewidths=0.7,
            label="on the (area, energy, quality) front",
            zorder=4,
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    # Room below and left of the front, which no design reaches, for the front's ids.
    x_span = np.log10(np.nanmax(area) / np.nanmin(area))
    y_span = np.log10(np.nanmax(energy) / np.nanmin(energy))
    ax.set_xlim(np.nanmin(area) / 10 ** (0.12 * x_span + 0.02), np.nanmax(area) * 1.15)
    ax.set_ylim(np.nanmin(energy) / 10 ** (0.18 * y_span + 0.03), np.nanmax(energy) * 1.2)
    _plain_log_ticks(ax.xaxis, np.nanmin(area), np.nanmax(area))
    _plain_log_ticks(ax.yaxis, np.nanmin(energy), np.nanmax(energy))
    # Front points closer than a label's height share one label ("#4, #148"), anchored at
    # the group's middle point: separate labels would not fit beside them.
    fxy = np.column_stack([fx, fy / scale])
    disp = ax.transData.transform(fxy) * (72.0 / fig.dpi)
    gap = np.hypot(*np.diff(disp, axis=0).T) if len(disp) > 1 else np.zeros(0)
    group = np.concatenate([[0], np.cumsum(gap > 12)])
    ids = front["point"].to_numpy()
    anchors = [int(np.flatnonzero(group == g)[(group == g).sum() // 2]) for g in np.unique(group)]
    _place_labels(
        ax,
        fxy[anchors],
        [", ".join(f"#{p}" for p in ids[group == g]) for g in np.unique(group)],
        fontsize=7,
        prefer=(-1, -1),
    )
    ax.set_xlabel(f"area ({_MM2}, logic + SRAM buffers)")
    ax.set_ylabel(f"energy per token ({unit})")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), markerscale=1.3)
    ax.grid(alpha=0.3, which="major")
    varying, _ = _distinguishing(front)
    shown = front.head(14)
    listing = [
        f"#{r['point']}: {design_label(r, varying | {'arch', 'mode'})}, "
        f"{_short(r['area_mm2'])} {_MM2}, {_short(r['energy_per_token_uj'] / scale)} {unit}"
        for _, r in shown.iterrows()
    ]
    if len(front) > len(shown):
        listing.append(f"... {len(front) - len(shown)} more: points.parquet")
    ax.text(
        1.01,
        0.0,
        "Pareto front, by area (id = column point):\n" + "\n".join(listing),
        transform=ax.transAxes,
        fontsize=6.5,
        va="bottom",
        ha="left",
        family="monospace",
    )
    return fig


def _breakdown_plot(plt, chosen: pd.DataFrame, meta: dict, title: str):
    """Stacked energy per token by component for the Pareto designs, labelled by id and
    the fields that tell them apart."""
    per_token = {col: chosen[col].to_numpy(float) / meta["tokens"] for col, _ in _ENERGY_PARTS}
    unit, scale = energy_unit(sum(per_token.values()))
    fig, ax = plt.subplots(figsize=(max(6.0, 0.75 * len(chosen) + 3.0), 4.5))
    bottom = np.zeros(len(chosen))
    x = np.arange(len(chosen))
    colours = (_OKABE_ITO[3], _OKABE_ITO[1], _OKABE_ITO[2], _OKABE_ITO[4])
    for (col, label), colour in zip(_ENERGY_PARTS, colours):
        vals = per_token[col] / scale
        ax.bar(x, vals, bottom=bottom, label=label, color=colour, width=0.7)
        bottom += vals
    varying, common = _distinguishing(chosen)
    ax.set_xticks(
        x,
        [
            f"#{r['point']}\n"
            + design_label(r, varying - {"arch"} if len(varying) > 1 else varying, sep="\n")
            + f"\n{_short(r['area_mm2'])} {_MM2}"
            for _, r in chosen.iterrows()
        ],
        fontsize=7,
    )
    ax.set_ylabel(f"energy per token ({unit})")
    ax.set_xlabel("Pareto designs (area, energy), by area; #id = column point")
    subtitle = _common_text(chosen, common)
    ax.set_title(
        f"Energy by component\n{title}" + (f"\n{subtitle}" if subtitle else ""), fontsize=8
    )
    # Beside the axes: full-height bars leave no free corner inside.
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.grid(axis="y", alpha=0.3)
    return fig


def _roofline_plot(plt, front: pd.DataFrame, layers: pd.DataFrame, title: str):
    """Roofline of the middle Pareto design by area; GEMMs at one spot share a numbered
    marker, the numbers explained in the legend."""
    best = front.iloc[len(front) // 2]
    lay = layers[layers["point"] == best["point"]]
    peak = float(best["peak_tops"])
    bw = float(best["dram_gbps"])  # GB/s = bytes/ns -> ops/byte * GB/s = Gops/s
    ridge = peak / (bw * 1e-3)
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    ix = lay["intensity_ops_per_byte"].to_numpy(float)
    ty = lay["achieved_tops"].to_numpy(float)
    # GEMMs within ~2% of each other in both (decode GEMVs often are) share one spot.
    spots = lay.assign(x=np.round(np.log10(ix), 2), y=np.round(np.log10(ty), 2))
    groups = [grp for _, grp in spots.groupby(["x", "y"], sort=True)]
    groups.sort(key=lambda g: (-g["achieved_tops"].mean(), g["intensity_ops_per_byte"].mean()))
    lo = min(np.nanmin(ix), ridge) / 10
    hi = max(np.nanmax(ix), ridge) * 10
    xs = np.logspace(np.log10(lo), np.log10(hi), 200)
    ax.plot(
        xs,
        np.minimum(peak, xs * bw * 1e-3),
        "k-",
        lw=1.5,
        label=f"roof: {peak:.3g} TOPS peak, {bw:g} GB/s DRAM",
    )
    xy, numbers = [], []
    for j, grp in enumerate(groups, start=1):
        gx = float(grp["intensity_ops_per_byte"].mean())
        gy = float(grp["achieved_tops"].mean())
        bound = "memory-bound" if grp["memory_bound"].any() else "compute-bound"
        ax.scatter(
            gx,
            gy,
            s=36,
            marker="s" if grp["memory_bound"].any() else "o",
            color=_OKABE_ITO[(j - 1) % len(_OKABE_ITO)],
            edgecolors="k",
            linewidths=0.4,
            zorder=3,
            label="\n    ".join(
                textwrap.wrap(f"{j}: {', '.join(sorted(grp['gemm']))} ({bound})", 60)
            ),
        )
        xy.append((gx, gy))
        numbers.append(str(j))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(lo, hi)
    ys = np.array([v for _, v in xy] + [peak])
    ax.set_ylim(ys.min() / 4, peak * 2)
    _plain_log_ticks(ax.xaxis, lo, hi)
    _plain_log_ticks(ax.yaxis, ys.min() / 4, peak * 2)
    _place_labels(ax, np.array(xy), numbers, fontsize=8, prefer=(1, -1), marker=4.5)
    ax.set_xlabel("operational intensity (ops per DRAM byte)")
    ax.set_ylabel("achieved TOPS")
    name = "\n".join(
        textwrap.wrap(f"Roofline of point #{best['point']}: {design_label(best, sep=', ')}", 100)
    )
    ax.set_title(f"{name}\n{title}", fontsize=8)
    # Below the axes: GEMM lists are long, and the roof fills the top left.
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(0.0, -0.13), frameon=False)
    ax.grid(alpha=0.3, which="major")
    return fig


def _layers_plot(plt, chosen: pd.DataFrame, layers: pd.DataFrame, title: str):
    """Each GEMM's share of a Pareto design's energy, as a heatmap with the shares printed."""
    lay = layers[layers["point"].isin(chosen["point"])]
    table = lay.pivot_table(index="gemm", columns="point", values="energy_uj", aggfunc="sum")
    # GEMMs in workload order, not alphabetical.
    gemm_order = list(dict.fromkeys(lay["gemm"]))
    table = table.loc[gemm_order, chosen["point"]]
    share = 100 * table / table.sum(axis=0)
    values = share.to_numpy(float)
    varying, common = _distinguishing(chosen)
    fig, ax = plt.subplots(
        figsize=(max(5.5, 0.8 * len(chosen) + 3.0), max(3.5, 0.32 * len(gemm_order) + 2.2))
    )
    im = ax.imshow(values, aspect="auto", cmap="viridis", vmin=0)
    ax.set_yticks(range(len(share.index)), share.index, fontsize=7)
    ax.set_xticks(
        range(len(chosen)),
        [
            f"#{r['point']}\n"
            + design_label(r, varying - {"arch"} if len(varying) > 1 else varying, sep="\n")
            for _, r in chosen.iterrows()
        ],
        fontsize=7,
    )
    if values.size <= 400:
        threshold = np.nanmax(values) * 0.6
        for (i, j), v in np.ndenumerate(values):
            ax.text(
                j,
                i,
                f"{v:.0f}" if v >= 10 else f"{v:.1f}",
                ha="center",
                va="center",
                fontsize=6,
                color="k" if v > threshold else "w",
            )
    fig.colorbar(im, ax=ax, label="% of the design's energy per token")
    ax.set_xlabel("Pareto designs (area, energy), by area; #id = column point")
    subtitle = _common_text(chosen, common)
    ax.set_title(
        f"Energy share per GEMM\n{title}" + (f"\n{subtitle}" if subtitle else ""), fontsize=8
    )
    return fig


def _quality_plot(plt, points: pd.DataFrame, meta: dict, title: str):
    """Energy per token against model quality, the (energy, quality) front annotated."""
    source = meta.get("quality_source")
    if source is None or "quality" not in points or not np.isfinite(points["quality"]).any():
        raise InputError(
            "this sweep has no quality figures (options.quality = 'off', or written before "
            "sweeps scored number formats)",
            field="--kind",
            allowed=[k for k in PLOT_KINDS if k != "quality"],
        )
    fig, ax = plt.subplots(figsize=(7.5, 5))
    feasible = _feasible(points)
    unit, scale = energy_unit(points["energy_per_token_uj"])
    energy = points["energy_per_token_uj"].to_numpy(float) / scale
    quality = points["quality"].to_numpy(float)
    _scatter_engines(ax, quality, energy, points, feasible)
    front = pareto_front(points[feasible], [("energy_per_token_uj", "min"), ("quality", "max")])
    front = front.sort_values("point").drop_duplicates(subset=["energy_per_token_uj", "quality"])
    front = front.sort_values("quality")
    fq = front["quality"].to_numpy(float)
    fe = front["energy_per_token_uj"].to_numpy(float) / scale
    ax.plot(fq, fe, "k.-", lw=1, ms=6, label="front (energy, quality)", zorder=5)
    floor = meta.get("options", {}).get("quality_floor")
    if floor is not None:
        ax.axvline(floor, color=_OKABE_ITO[4], ls="--", lw=1, label=f"quality floor {floor:g}")
    ax.set_yscale("log")
    _plain_log_ticks(ax.yaxis, np.nanmin(energy), np.nanmax(energy))
    # Each front point named by its id and number formats, to find it in points.parquet.
    _place_labels(
        ax,
        np.column_stack([fq, fe]),
        [f"#{r['point']} {r['weight_format']}/{r['act_format']}" for _, r in front.iterrows()],
        prefer=(1, -1),
    )
    metric = source["metric"].replace("_", " ")
    ax.set_xlabel(f"model quality: {metric} (1 = float model)")
    ax.set_ylabel(f"energy per token ({unit})")
    ax.set_title(f"{title}\nquality measured on {source['description']}", fontsize=8)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), markerscale=1.3)
    ax.grid(alpha=0.3, which="major")
    return fig
