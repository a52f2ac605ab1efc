"""Sweeps weigh model quality: quality columns per point, the floor, the front and its plot."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from shiftadd.errors import InputError
from shiftadd.models.pareto import pareto_front
from shiftadd.models.plots import plot_results
from shiftadd.models.sweep import evaluate_chunk, parse_sweep_spec, run_sweep
from shiftadd.workloads.quality import NumberFormat, format_quality

BASE = {
    "name": "q",
    "workload": {"spec": "opt-125m", "phase": "decode", "batch": 1, "context": 64},
    "engines": [
        {"arch": "adder_tree", "mode": ["xnor", "addsub", "mac"], "k": [32, 64], "n": 4},
        {"arch": "shiftadd", "q": [2, 3], "mu": 4, "columns": 8},
    ],
}


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SHIFTADD_CACHE", str(tmp_path / "cache"))


def spec(**options):
    data = json.loads(json.dumps(BASE))
    if options:
        data["options"] = options
    return parse_sweep_spec(data)


def test_points_carry_the_quality_of_their_format():
    s = spec()
    points, _ = evaluate_chunk(s, 0, s.points)
    assert points["quality"].notna().all()
    by_mode = points.groupby(points["mode"].astype(str).fillna("-"))["quality"].first()
    assert by_mode["xnor"] < by_mode["addsub"] < by_mode["mac"]
    sa = points[points["arch"] == "shiftadd"]
    assert set(sa["weight_format"].str.split().str[0]) == {"bcq2", "bcq3"}
    assert (sa["act_format"] == "int8").all()
    # the figure in a row is the format's own figure on the workload's source
    row = points[points["mode"] == "mac"].iloc[0]
    expected = format_quality(s.quality_source, NumberFormat("int8", "int8"))
    assert row["quality"] == pytest.approx(expected.quality)
    assert row["output_error"] == pytest.approx(expected.output_error)


def test_quality_floor_makes_points_infeasible(tmp_path):
    s = spec(quality_floor=0.5)
    run_sweep(s, tmp_path, workers=1, progress=False)
    points = pd.read_parquet(tmp_path / "points.parquet")
    low = points["quality"] < 0.5
    assert low.any() and (~low).any()
    assert not points.loc[low, "feasible"].any()
    assert not points.loc[low, "quality_ok"].any()
    front = pareto_front(points, [("energy_per_token_uj", "min"), ("quality", "max")])
    assert (front["quality"] >= 0.5).all()
    # with no floor the binary designs are on the front
    s0 = spec()
    p0, _ = evaluate_chunk(s0, 0, s0.points)
    f0 = pareto_front(p0, [("energy_per_token_uj", "min"), ("quality", "max")])
    assert (f0["quality"] < 0.5).any()
    files = plot_results(tmp_path, "quality")
    assert [f.rsplit(".", 1)[1] for f in files] == ["png", "svg"]
    meta = json.loads((tmp_path / "sweep.json").read_text())
    assert meta["quality_source"]["kind"] == "synthetic"


def test_quality_off():
    s = spec(quality="off")
    assert s.quality_source is None
    points, _ = evaluate_chunk(s, 0, s.points)
    assert points["quality"].isna().all()
    assert points["feasible"].equals(points["timing_met"])


def test_no_quality_plot_without_quality(tmp_path):
    run_sweep(spec(quality="off"), tmp_path, workers=1, progress=False)
    with pytest.raises(InputError, match="no quality figures"):
        plot_results(tmp_path, "quality")


@pytest.mark.parametrize(
    "options,field",
    [
        ({"quality": "maybe"}, "options.quality"),
        ({"quality_floor": "high"}, "options.quality_floor"),
        ({"quality_floor": 2}, "options.quality_floor"),
        ({"quality": "off", "quality_floor": 0.5}, "options.quality_floor"),
    ],
)
def test_bad_quality_options(options, field):
    with pytest.raises(InputError) as info:
        spec(**options)
    assert info.value.field == field


def test_points_schema_has_exact_quality_dtypes():
    s = spec()
    points, _ = evaluate_chunk(s, 0, s.points)
    assert str(points["weight_format"].dtype) == "string"
    assert str(points["act_format"].dtype) == "string"
    assert points["quality"].dtype == np.float64
    assert points["quality_ok"].dtype == bool


def test_demo_quality_stage(tmp_path):
    from shiftadd.flows.demo import run_quality_sweep

    logged = []
    result = run_quality_sweep(tmp_path, quick=True, log=logged.append)
    assert result["quality"]["metric"] == "embedding_cosine"
    assert result["quality"]["floor"] == 0.9 and result["quality"]["below_floor"] > 0
    points = pd.read_parquet(result["results"])
    front = pareto_front(
        points, [("area_mm2", "min"), ("energy_per_token_uj", "min"), ("quality", "max")]
    )
    assert len(front) == result["pareto_points"] > 0
    assert (front["quality"] >= 0.9).all()
    assert any(p.endswith("plot_quality.png") for p in result["plots"])
    assert any("embedding_cosine" in line for line in logged)


def test_include_head():
    data = json.loads(json.dumps(BASE))
    with_head = parse_sweep_spec(data)
    data["workload"]["include_head"] = False
    without = parse_sweep_spec(data)
    assert "lm_head" in set(with_head.layers["name"])
    assert "lm_head" not in set(without.layers["name"])
    data["workload"]["include_head"] = "no"
    with pytest.raises(InputError) as info:
        parse_sweep_spec(data)
    assert info.value.field == "workload.include_head"
