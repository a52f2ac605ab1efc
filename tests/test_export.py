"""A sweep point back to RTL: `shiftadd export` writes the point's design file exactly, the
points table has one schema whatever the chunk size, and the exported design reproduces the
sweep's cycles and energy, generates Verilog and passes a short simulation."""

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shiftadd import design_from_dict, generate_verilog, load_design
from shiftadd.errors import InputError
from shiftadd.models.cost import cost_terms, gemm_energy_pj, output_drains
from shiftadd.models.cycles import gemm_cycles
from shiftadd.models.pareto import pareto_front
from shiftadd.models.perf import design_vector
from shiftadd.models.sweep import parse_sweep_spec, point_design, run_sweep
from shiftadd.sim.runner import simulate

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]

SPEC = {
    "name": "export",
    "workload": {"spec": "opt-125m", "phase": "decode", "batch": 1, "context": 64},
    "options": {"skip_invalid": True},
    "engines": [
        {
            "arch": "adder_tree",
            "mode": ["xnor", "mac"],
            "k": [12, 32],
            "n": [2, 4],
            "act_bits": 4,
            "weight_bits": 3,
            "pipeline_stages": [0, 2],
            "clock_ns": [2.0, 10.0],
        },
        {
            "arch": "systolic",
            "dataflow": ["os", "ws"],
            "rows": [2, 3],
            "cols": 2,
            "act_bits": 4,
            "weight_bits": 4,
            "k_max": 4096,
            "clock_ns": 10.0,
        },
    ],
}


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "shiftadd.cli", *args],
        capture_output=True,
        text=True,
        cwd=REPO.parent,
    )


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep")
    spec = parse_sweep_spec(json.loads(json.dumps(SPEC)))
    run_sweep(spec, out, workers=1, progress=False)
    return spec, out


def test_schema_does_not_depend_on_chunk_size(tmp_path):
    schemas = []
    for chunk in (3, 100_000):
        data = json.loads(json.dumps(SPEC))
        data["options"]["chunk_size"] = chunk
        out = tmp_path / f"c{chunk}"
        run_sweep(parse_sweep_spec(data), out, workers=1, progress=False)
        points = pd.read_parquet(out / "points.parquet")
        schemas.append(points.dtypes.astype(str).to_dict())
        # integer fields stay integers; another family's fields are missing, not None/NaN
        assert str(points["k"].dtype) == "Int64" and str(points["rows"].dtype) == "Int64"
        assert points.loc[points["arch"] == "systolic", "k"].isna().all()
        assert points["point"].tolist() == list(range(len(points)))
    assert schemas[0] == schemas[1]


def test_timing_columns_and_the_front_only_holds_buildable_points(sweep):
    _, out = sweep
    points = pd.read_parquet(out / "points.parquet")
    timed = points[points["timed"]]
    assert len(timed) and (timed["critical_path_ns"] > 0).all()
    missed = timed[timed["clock_ns"] < timed["critical_path_ns"]]
    assert len(missed), "a 2 ns clock is too short for some of these trees"
    assert not missed["timing_met"].any() and not missed["feasible"].any()
    front = pareto_front(points, [("area_mm2", "min"), ("energy_per_token_uj", "min")])
    assert front["feasible"].all()


def test_export_every_pareto_point_reproduces_the_sweep(sweep, tmp_path):
    spec, out = sweep
    points = pd.read_parquet(out / "points.parquet")
    layers = pd.read_parquet(out / "layers.parquet")
    front = pareto_front(points, [("area_mm2", "min"), ("energy_per_token_uj", "min")])
    assert len(front) >= 2
    for _, row in front.iterrows():
        path = tmp_path / f"p{row['point']}.toml"
        r = _cli("export", str(out), str(row["point"]), "--out", str(path))
        assert r.returncode == 0, r.stderr
        text = tomllib.loads(path.read_text())
        # integer fields are integers, only the family's own fields, the evaluated clock
        assert all(not isinstance(v, float) for k, v in text.items() if k != "clock_ns")
        assert text["clock_ns"] == row["clock_ns"]
        design = load_design(path)
        assert design.arch == row["arch"]
        lay = layers[layers["point"] == row["point"]]
        energy = 0.0
        for _, g in lay.iterrows():
            m, n, k = int(g["M"]), int(g["N"]), int(g["K"])
            cycles = gemm_cycles(design, m, n, k).cycles
            assert cycles == g["cycles"]
            energy += g["count"] * float(
                gemm_energy_pj(
                    # the sweep's compute energy; leakage is a column of its own
                    dataclasses.replace(cost_terms(design), leakage_mw=0.0),
                    gemm_cycles=cycles,
                    total_cycles=cycles,
                    macs=m * n * k,
                    outputs=output_drains(m, n, k, design_vector(design)["tile_k"]),
                    clock_ns=design.clock_ns,
                    data_activity=row["activity"],
                )
            )
        assert energy * 1e-6 == pytest.approx(row["energy_compute_uj"], rel=1e-9)
        # `shiftadd model` of the exported file: the same design, clock and timing verdict
        r = _cli("model", str(path), "--json")
        assert r.returncode == 0, r.stderr
        model = json.loads(r.stdout)
        assert model["design"]["clock_ns"] == row["clock_ns"]
        if row["timed"]:
            assert model["timing"]["critical_path_ns"] == pytest.approx(row["critical_path_ns"])
            assert model["timing"]["meets_clock"] == bool(row["timing_met"])
        else:
            assert model["timing"]["critical_path_ns"] is None
        assert generate_verilog(design).verilog
        assert simulate(design, vectors=40, seed=int(row["point"])).passed


def test_point_design_round_trips_every_point(sweep):
    _, out = sweep
    points = pd.read_parquet(out / "points.parquet")
    for point in np.random.default_rng(0).choice(points["point"], 8, replace=False):
        fields = point_design(out, int(point))
        design = design_from_dict({**fields, "name": "x"})
        assert design.clock_ns == points.loc[points["point"] == point, "clock_ns"].item()


def test_export_bad_input_is_one_line(sweep, tmp_path):
    _, out = sweep
    r = _cli("export", str(out), "999999", "--out", str(tmp_path / "x.toml"))
    assert r.returncode == 2 and "POINT_ID" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "x.toml").exists()
    r = _cli("export", str(out), "0", "--out", str(tmp_path / "x.yaml"))
    assert r.returncode == 2 and "--out" in r.stderr
    r = _cli("export", str(tmp_path), "0", "--out", str(tmp_path / "x.toml"))
    assert r.returncode == 2 and "points.parquet" in r.stderr
    with pytest.raises(InputError, match="POINT_ID"):
        point_design(out, 10**9)
