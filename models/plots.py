"""Plots of sweep results (PNG and SVG): Pareto scatter, energy against model quality,
energy breakdown, roofline, per-layer heatmap."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from .._io import atomic_path
from ..errors import InputError
from .pareto import pareto_front

__all__ = ["PLOT_KINDS", "load_results", "plot_results"]

PLOT_KINDS = ("pareto", "quality", "breakdown", "roofline", "layers")
_ENERGY_PARTS = (
    ("energy_compute_uj", "array, computing"),
    ("energy_idle_uj", "array, idle + leakage"),
    ("energy_sram_uj", "on-chip SRAM"),
    ("energy_dram_uj", "DRAM"),
)


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
    return (
        pd.read_parquet(folder / "points.parquet"),
        pd.read_parquet(folder / "layers.parquet"),
        json.loads((folder / "sweep.json").read_text()),
    )


_SHORT = {
    "clock_ns": "clk {}ns",
    "dram_gbps": "{}GB/s",
    "act_buffer_kib": "act {}K",
    "weight_buffer_kib": "w {}K",
    "out_buffer_kib": "out {}K",
    "activity": "a={}",
}


def _label(row, varying=()) -> str:
    parts = [str(row["arch"])]
    for key in ("mode", "dataflow", "k", "n", "rows", "cols", "pipeline_stages"):
        if key in row and key in varying and pd.notna(row[key]):
            parts.append(f"{key}={row[key]}")
    for key, fmt in _SHORT.items():
        if key in row and key in varying:
            parts.append(fmt.format(f"{row[key]:g}"))
    return " ".join(parts)


def _engine_keys(points: pd.DataFrame) -> np.ndarray:
    """Engine, and its PE arithmetic where the engine has modes (other engines: none)."""
    keys = points["arch"].astype(str).to_numpy(dtype=object)
    if "mode" in points:
        mode = points["mode"].astype(object)
        keys = np.where(mode.notna(), keys + " " + mode.astype(str), keys)
    return keys


def _palette(plt) -> list:
    """Engine colours without grey, which marks the points left off the front."""
    tab10, dark2 = plt.get_cmap("tab10"), plt.get_cmap("Dark2")
    return [tab10(i) for i in range(10) if i != 7] + [dark2(i) for i in range(8)]


def _varying(points: pd.DataFrame) -> set:
    return {c for c in points.columns if points[c].astype(str).nunique() > 1}


def _save(fig, out: Path) -> list[str]:
    paths = []
    for suffix in (".png", ".svg"):
        path = out.with_suffix(suffix)
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=130, format=suffix[1:], bbox_inches="tight")
        paths.append(str(path))
    return paths


def plot_results(
    folder: str | Path, kind: str, out: str | Path | None = None, top: int = 12
) -> list[str]:
    """Draw one kind of plot for the sweep in ``folder``; returns the files written.

    Parameters
    ----------
    folder : str or Path
        A finished sweep folder (see :func:`load_results`).
    kind : str
        One of :data:`PLOT_KINDS`: ``pareto`` (area vs energy per token), ``breakdown``
        (energy by component), ``roofline`` (of the middle Pareto design by area) or ``layers``
        (energy share per GEMM).
    out : str or Path, optional
        Output path without suffix; default ``folder/plot_<kind>``.
    top : int
        Pareto designs shown by ``breakdown`` and ``layers``.

    Returns
    -------
    list of str
        The PNG and SVG files written.
    """
    # deferred: matplotlib takes longer to import than a sweep chunk, and its backend is
    # chosen before pyplot loads
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # deferred: after the backend is chosen

    if kind not in PLOT_KINDS:
        raise InputError(f"unknown plot {kind!r}", field="--kind", allowed=PLOT_KINDS)
    points, layers, meta = load_results(folder)
    out = Path(out) if out else Path(folder) / f"plot_{kind}"
    front = pareto_front(points, [("area_mm2", "min"), ("energy_per_token_uj", "min")])
    # Points equal in both objectives (e.g. differing only in DRAM bandwidth) show once.
    front = front.drop_duplicates(subset=["area_mm2", "energy_per_token_uj"])
    varying = _varying(points) | {"mode", "k", "n"}
    title = (
        f"{meta['name']}: {meta['workload']['spec']} {meta['workload']['phase']}, "
        f"batch {meta['workload']['batch']}"
    )
    if kind == "pareto":
        fig, ax = plt.subplots(figsize=(7.5, 5))
        keys = _engine_keys(points)
        feasible = (
            points["feasible"].to_numpy(bool)
            if "feasible" in points
            else np.ones(len(points), bool)
        )
        if not feasible.all():
            ax.scatter(
                points.loc[~feasible, "area_mm2"],
                points.loc[~feasible, "energy_per_token_uj"],
                s=6,
                alpha=0.25,
                color="0.6",
                marker="x",
                label="misses timing or quality floor",
                rasterized=True,
            )
        palette = _palette(plt)
        for i, key in enumerate(sorted(set(keys))):
            sel = (keys == key) & feasible
            ax.scatter(
                points.loc[sel, "area_mm2"],
                points.loc[sel, "energy_per_token_uj"],
                s=6,
                alpha=0.35,
                color=palette[i % len(palette)],
                label=key,
                rasterized=True,
            )
        ax.plot(
            front["area_mm2"], front["energy_per_token_uj"], "k.-", lw=1, ms=5, label="Pareto front"
        )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("area (mm^2, logic + SRAM buffers)")
        ax.set_ylabel("energy per token (uJ)")
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=7, markerscale=2)
        ax.grid(alpha=0.3, which="both")
    elif kind == "quality":
        fig, ax = _quality_plot(plt, points, meta, title)
    elif kind == "breakdown":
        chosen = front.head(top)
        fig, ax = plt.subplots(figsize=(8, 4.5))
        bottom = np.zeros(len(chosen))
        x = np.arange(len(chosen))
        for col, label in _ENERGY_PARTS:
            vals = chosen[col].to_numpy() / meta["tokens"]
            ax.bar(x, vals, bottom=bottom, label=label)
            bottom += vals
        ax.set_xticks(
            x,
            [_label(r, varying) + f"\n{r['area_mm2']:.2g} mm^2" for _, r in chosen.iterrows()],
            rotation=60,
            ha="right",
            fontsize=6,
        )
        ax.set_ylabel("energy per token (uJ)")
        ax.set_title(f"Energy by component, Pareto designs\n{title}", fontsize=9)
        # Beside the axes: full-height bars leave no free corner inside.
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        ax.grid(axis="y", alpha=0.3)
    elif kind == "roofline":
        best = front.iloc[len(front) // 2]
        lay = layers[layers["point"] == best["point"]]
        peak = best["peak_tops"]
        bw = best["dram_gbps"]  # GB/s = bytes/ns -> ops/byte * GB/s = Gops/s
        fig, ax = plt.subplots(figsize=(7, 4.5))
        xs = np.logspace(-2, 4, 200)
        ax.plot(
            xs,
            np.minimum(peak, xs * bw * 1e-3),
            "k-",
            lw=1.5,
            label=f"roof: {peak:.3g} TOPS, {bw:g} GB/s",
        )
        # GEMMs at the same place (decode GEMVs often are) share one marker and label.
        spots = lay.assign(
            x=lay["intensity_ops_per_byte"].round(6), y=lay["achieved_tops"].round(9)
        )
        for (xv, yv), grp in spots.groupby(["x", "y"]):
            ax.scatter(xv, yv, s=30, marker="s" if grp["memory_bound"].any() else "o")
            ax.annotate(
                ", ".join(sorted(grp["gemm"])),
                (xv, yv),
                fontsize=6,
                xytext=(4, 4),
                textcoords="offset points",
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("operational intensity (ops per DRAM byte)")
        ax.set_ylabel("achieved TOPS")
        ax.set_title(
            f"Roofline of {_label(best, varying)} (squares: memory-bound)\n{title}", fontsize=9
        )
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3, which="both")
    else:  # layers
        chosen = front.head(top)
        lay = layers[layers["point"].isin(chosen["point"])]
        table = lay.pivot_table(index="gemm", columns="point", values="energy_uj", aggfunc="sum")
        table = table[chosen["point"]]
        share = table / table.sum(axis=0)
        fig, ax = plt.subplots(figsize=(8, 4.5))
        im = ax.imshow(share.to_numpy(), aspect="auto", cmap="viridis")
        ax.set_yticks(range(len(share.index)), share.index, fontsize=7)
        ax.set_xticks(
            range(len(chosen)),
            [_label(r, varying) for _, r in chosen.iterrows()],
            rotation=60,
            ha="right",
            fontsize=6,
        )
        fig.colorbar(im, ax=ax, label="share of the design's energy")
        ax.set_title(f"Energy share per GEMM, Pareto designs\n{title}", fontsize=9)
    paths = _save(fig, out)
    plt.close(fig)
    return paths


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
    keys = _engine_keys(points)
    feasible = points["feasible"].to_numpy(bool)
    energy = points["energy_per_token_uj"].to_numpy(float) * 1e-3  # mJ
    quality = points["quality"].to_numpy(float)
    if not feasible.all():
        ax.scatter(
            quality[~feasible],
            energy[~feasible],
            s=6,
            alpha=0.25,
            color="0.6",
            marker="x",
            label="misses timing or quality floor",
            rasterized=True,
        )
    palette = _palette(plt)
    for i, key in enumerate(sorted(set(keys))):
        sel = (keys == key) & feasible
        if not sel.any():
            continue  # an engine with every point off the front shows only in grey
        ax.scatter(
            quality[sel],
            energy[sel],
            s=8,
            alpha=0.4,
            color=palette[i % len(palette)],
            label=key,
            rasterized=True,
        )
    front = pareto_front(points, [("energy_per_token_uj", "min"), ("quality", "max")])
    front = front.drop_duplicates(subset=["energy_per_token_uj", "quality"])
    ax.plot(
        front["quality"],
        front["energy_per_token_uj"] * 1e-3,
        "k.-",
        lw=1,
        ms=6,
        label="front (energy, quality)",
    )
    # Each front point named by its id and number formats, to find it in points.parquet.
    for j, (_, r) in enumerate(front.iterrows()):
        ax.annotate(
            f"#{r['point']} {r['weight_format']}/{r['act_format']}",
            (r["quality"], r["energy_per_token_uj"] * 1e-3),
            fontsize=6,
            xytext=((5, 4), (5, -10), (-10, 10))[j % 3],
            textcoords="offset points",
        )
    floor = meta.get("options", {}).get("quality_floor")
    if floor is not None:
        ax.axvline(floor, color="tab:red", ls="--", lw=1, label=f"quality floor {floor:g}")
    ax.set_yscale("log")
    metric = source["metric"].replace("_", " ")
    ax.set_xlabel(f"model quality: {metric} (1 = float model)")
    ax.set_ylabel("energy per token (mJ)")
    ax.set_title(f"{title}\nquality measured on {source['description']}", fontsize=8)
    ax.legend(fontsize=7, markerscale=2, loc="best")
    ax.grid(alpha=0.3, which="both")
    return fig, ax
