"""Sweep plots as a reader sees them: units, labels, ids, markers and legible annotations,
checked on the matplotlib objects of a real (small) sweep."""

import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from shiftadd.models.pareto import pareto_front  # noqa: E402
from shiftadd.models.plots import design_label, draw_plot, energy_unit  # noqa: E402
from shiftadd.models.sweep import parse_sweep_spec, run_sweep  # noqa: E402

SPEC = {
    "name": "plots",
    "workload": {"spec": "opt-125m", "phase": "decode", "batch": 2, "context": 128},
    "engines": [
        {
            "arch": "adder_tree",
            "mode": ["xnor", "mac"],
            "k": [16, 32],
            "n": [4, 8],
            "clock_ns": [5.0, 10.0],
            "dram_gbps": [10.0, 40.0],
        },
        {"arch": "shiftadd", "mu": 4, "q": 2, "columns": [8, 16], "dram_gbps": [10.0, 40.0]},
    ],
}


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sweep")
    run_sweep(parse_sweep_spec(SPEC), folder, workers=1, progress=False)
    return folder


@pytest.fixture
def figure():
    figs = []

    def draw(*args, **kw):
        fig = draw_plot(*args, **kw)
        fig.canvas.draw()
        figs.append(fig)
        return fig

    yield draw
    for fig in figs:
        plt.close(fig)


def _tick_texts(labels) -> list[str]:
    return [t.get_text() for t in labels if t.get_text()]


def _text_boxes(fig, texts):
    renderer = fig.canvas.get_renderer()
    # Text's own box: an Annotation's get_window_extent also spans its leader line.
    return [Text.get_window_extent(t, renderer) for t in texts]


def _assert_no_overlap(fig, texts):
    boxes = _text_boxes(fig, texts)
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            a, b = boxes[i], boxes[j]
            overlap_x = min(a.x1, b.x1) - max(a.x0, b.x0)
            overlap_y = min(a.y1, b.y1) - max(a.y0, b.y0)
            assert overlap_x <= 1 or overlap_y <= 1, (texts[i].get_text(), texts[j].get_text())


@pytest.mark.parametrize(
    "values, unit, scale",
    [
        ([198_650.3, 14e6], "mJ", 1e3),
        ([1.19e6, 4e6], "J", 1e6),
        ([0.5, 30.0], "nJ", 1e-3),
        ([3.0, 900.0], "\u00b5J", 1.0),
        ([np.nan, -1.0], "\u00b5J", 1.0),
    ],
)
def test_energy_unit_puts_the_smallest_value_at_or_above_one(values, unit, scale):
    assert energy_unit(values) == (unit, scale)


def test_design_label_prints_integers_without_a_decimal_point():
    row = pd.Series(
        {"arch": "adder_tree", "mode": "mac", "k": 4.0, "n": 8.0, "rows": pd.NA, "clock_ns": 5.0}
    )
    label = design_label(row)
    assert label.replace("\u00a0", " ") == "adder_tree mac k=4 n=8 5 ns"
    grid = pd.Series({"arch": "systolic", "rows": 16, "cols": 16, "dram_gbps": 25.6})
    assert design_label(grid, {"rows", "cols", "dram_gbps"}).replace("\u00a0", " ") == (
        "16x16 25.6 GB/s"
    )


def test_pareto_plot_units_ids_and_markers(sweep, figure):
    fig = figure(sweep, "pareto")
    ax = fig.axes[0]
    points = pd.read_parquet(sweep / "points.parquet")
    unit, _ = energy_unit(points["energy_per_token_uj"])
    assert ax.get_ylabel() == f"energy per token ({unit})"
    assert "mm\u00b2" in ax.get_xlabel()
    # Plain numbers on the log axes, not powers of ten.
    for labels in (ax.get_yticklabels(), ax.get_xticklabels()):
        assert _tick_texts(labels) and not any("^" in t for t in _tick_texts(labels))
    # Every front design is named by its id on the plot and in the listing beside it.
    front = pareto_front(points, [("area_mm2", "min"), ("energy_per_token_uj", "min")])
    front = front.sort_values("point").drop_duplicates(["area_mm2", "energy_per_token_uj"])
    on_plot = " ".join(t.get_text() for t in ax.texts)
    for pid in front["point"]:
        assert re.search(rf"#{pid}\b", on_plot)
    # One marker shape per family, and no two engines drawn alike.
    styles = {}
    for coll in ax.collections:
        label = coll.get_label()
        if label.startswith(("adder_tree", "shiftadd")):
            shape = coll.get_paths()[0].vertices.round(3).tobytes()
            styles[label] = (shape, tuple(np.round(coll.get_facecolor()[0][:3], 3)))
    assert set(styles) == {"adder_tree mac", "adder_tree xnor", "shiftadd"}
    assert styles["adder_tree mac"][0] == styles["adder_tree xnor"][0]
    assert styles["adder_tree mac"][0] != styles["shiftadd"][0]
    assert len(set(styles.values())) == 3
    _assert_no_overlap(fig, [t for t in ax.texts if t.get_text().startswith("#")])


def test_breakdown_labels_are_short_integers_and_fit(sweep, figure):
    fig = figure(sweep, "breakdown")
    ax = fig.axes[0]
    assert re.fullmatch(r"energy per token \((nJ|\u00b5J|mJ|J)\)", ax.get_ylabel())
    labels = _tick_texts(ax.get_xticklabels())
    assert labels and all(t.startswith("#") for t in labels)
    for text in labels:
        assert not re.search(r"\b\d+\.0\b", text), text  # k=4, not k=4.0
        assert max(len(line) for line in text.split("\n")) <= 16, text
    assert all(t.get_rotation() == 0 for t in ax.get_xticklabels())
    _assert_no_overlap(fig, [t for t in ax.get_xticklabels() if t.get_text()])


def test_roofline_numbers_every_gemm_once_without_overlap(sweep, figure):
    fig = figure(sweep, "roofline")
    ax = fig.axes[0]
    layers = pd.read_parquet(sweep / "layers.parquet")
    pid = int(re.search(r"point #(\d+)", ax.get_title()).group(1))
    entries = [t.get_text() for t in ax.get_legend().get_texts()][1:]
    named = []
    for j, entry in enumerate(entries, start=1):
        number, _, rest = " ".join(entry.split()).partition(": ")
        assert int(number) == j
        named += [g.strip() for g in re.sub(r" \((memory|compute)-bound\)$", "", rest).split(",")]
    assert sorted(named) == sorted(layers.loc[layers["point"] == pid, "gemm"].unique())
    numbers = [t for t in ax.texts if t.get_text().isdigit()]
    assert sorted(int(t.get_text()) for t in numbers) == list(range(1, len(entries) + 1))
    _assert_no_overlap(fig, numbers)
    assert not any("^" in t for t in _tick_texts(ax.get_yticklabels()))


def test_layers_heatmap_is_mostly_data(sweep, figure):
    fig = figure(sweep, "layers")
    ax = fig.axes[0]
    assert "%" in fig.axes[1].get_ylabel()
    labels = _tick_texts(ax.get_xticklabels())
    assert all(t.startswith("#") for t in labels)
    assert max(len(line) for t in labels for line in t.split("\n")) <= 16
    # The heatmap takes more of the figure than its tick labels do.
    renderer = fig.canvas.get_renderer()
    heat = ax.get_window_extent(renderer)
    ticks = [t.get_window_extent(renderer) for t in ax.get_xticklabels() if t.get_text()]
    label_height = max(b.y1 for b in ticks) - min(b.y0 for b in ticks)
    assert heat.height > 2 * label_height


def test_quality_plot_front_labels_do_not_overlap(sweep, figure):
    fig = figure(sweep, "quality")
    ax = fig.axes[0]
    assert re.fullmatch(r"energy per token \((nJ|\u00b5J|mJ|J)\)", ax.get_ylabel())
    labels = [t for t in ax.texts if t.get_text().startswith("#")]
    assert labels
    _assert_no_overlap(fig, labels)
