"""Sweep specs, the vectorized evaluation, resuming, Dask, Pareto fronts and plots."""

import json
import os

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shiftadd.design import AdderTreeDesign
from shiftadd.errors import InputError
from shiftadd.models.cost import cost_terms
from shiftadd.models.cycles import gemm_cycles
from shiftadd.models.pareto import pareto_front, pareto_mask
from shiftadd.models.plots import PLOT_KINDS, plot_results
from shiftadd.models.sweep import evaluate_chunk, parse_sweep_spec, run_sweep

BASE = {
    "name": "t",
    "workload": {"spec": "opt-125m", "phase": "decode", "batch": 2, "context": 128},
    "engines": [
        {
            "arch": "adder_tree",
            "mode": ["xnor", "mac"],
            "k": {"start": 16, "stop": 64, "factor": 2},
            "n": [4, 8],
            "clock_ns": [5.0, 10.0],
            "dram_gbps": [10.0, 40.0],
        }
    ],
}


def spec(**changes):
    data = json.loads(json.dumps(BASE))
    for key, value in changes.items():
        data[key] = value
    return parse_sweep_spec(data)


def test_expansion_counts_points():
    s = spec()
    assert s.points == 2 * 3 * 2 * 2 * 2
    assert s.tokens == 2 and set(s.layers["name"]) >= {"q_proj", "fc1", "lm_head"}


def test_evaluation_matches_the_scalar_models():
    s = spec()
    points, layers = evaluate_chunk(s, 0, s.points)
    assert len(points) == s.points and len(layers) == s.points * len(s.layers)
    for _, row in points.sample(6, random_state=1).iterrows():
        design = AdderTreeDesign(
            name="adder_tree_sweep", mode=row["mode"], k=int(row["k"]), n=int(row["n"])
        )
        lay = layers[layers["point"] == row["point"]]
        for _, g in lay.iterrows():
            assert g["cycles"] == gemm_cycles(design, g["M"], g["N"], g["K"]).cycles
        assert row["cycles"] == (lay["cycles"] * lay["count"]).sum()
        logic = cost_terms(design).area * 1e-6
        assert row["area_logic_mm2"] == pytest.approx(logic)
        parts = row[
            ["energy_compute_uj", "energy_idle_uj", "energy_sram_uj", "energy_dram_uj"]
        ].sum()
        assert row["energy_uj"] == pytest.approx(parts, rel=1e-9)
        assert row["energy_uj"] == pytest.approx(lay["energy_uj"].sum(), rel=1e-9)
        assert row["energy_per_token_uj"] == pytest.approx(row["energy_uj"] / 2)


def test_decode_gemv_is_memory_bound_with_little_bandwidth():
    s = spec(
        engines=[
            {"arch": "adder_tree", "mode": "mac", "k": 256, "n": 64, "dram_gbps": [0.5, 1000.0]}
        ]
    )
    points, layers = evaluate_chunk(s, 0, s.points)
    slow, fast = points.iloc[0], points.iloc[1]
    assert slow["memory_bound_fraction"] > 0.9 > fast["memory_bound_fraction"]
    assert slow["latency_us"] > fast["latency_us"]
    assert slow["cycles"] == fast["cycles"]


@pytest.mark.parametrize(
    "change,field",
    [
        ({"engines": [{"arch": "warp"}]}, "engines[0].arch"),
        ({"engines": [{"arch": "adder_tree", "kk": 3}]}, "engines[0].kk"),
        ({"engines": [{"arch": "adder_tree", "k": []}]}, "engines[0].k"),
        (
            {"engines": [{"arch": "adder_tree", "k": {"start": 8, "stop": 4, "step": 1}}]},
            "engines[0].k",
        ),
        ({"engines": [{"arch": "adder_tree", "mode": "xnor", "act_bits": 4}]}, "engines[0]"),
        ({"engines": [{"arch": "adder_tree", "dram_gbps": 0}]}, "engines[0].dram_gbps"),
        ({"engines": [{"arch": "adder_tree", "units": "nope"}]}, "engines[0].units"),
        ({"engines": []}, "engines"),
        ({"workload": {"spec": "opt-125m", "phase": "train"}}, "workload.phase"),
        ({"workload": {"phase": "decode"}}, "workload.spec"),
        ({"colour": 1}, "colour"),
    ],
)
def test_bad_specs_fail_before_any_work(change, field):
    with pytest.raises(InputError) as info:
        spec(**change)
    assert info.value.field == field


def test_impossible_combinations_can_be_skipped():
    engines = [{"arch": "adder_tree", "mode": ["xnor", "mac"], "act_bits": [8], "k": 16}]
    with pytest.raises(InputError, match="impossible combination"):
        spec(engines=engines)
    s = spec(engines=engines, options={"skip_invalid": True})
    assert s.points == 1


def test_resume_after_interruption_recomputes_nothing_finished(tmp_path):
    s = spec(options={"chunk_size": 7})
    seen = []

    def stop_after_two(index):
        seen.append(index)
        if len(seen) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(s, tmp_path / "run", workers=1, progress=False, on_chunk=stop_after_two)
    assert not (tmp_path / "run" / "points.parquet").exists()
    # a half-written chunk file (e.g. from a crash) is not trusted
    (tmp_path / "run" / "chunks" / "points_00003.parquet").write_bytes(b"garbage")
    result = run_sweep(s, tmp_path / "run", workers=1, progress=False)
    assert result["computed_chunks"] == result["chunks"] - 2
    fresh = run_sweep(s, tmp_path / "fresh", workers=1, progress=False)
    a = pd.read_parquet(tmp_path / "run" / "points.parquet")
    b = pd.read_parquet(tmp_path / "fresh" / "points.parquet")
    pd.testing.assert_frame_equal(a, b)
    assert fresh["computed_chunks"] == fresh["chunks"]
    assert not [p for p in (tmp_path / "run").rglob("*") if p.name.startswith(".")]


def test_a_different_spec_does_not_mix_into_old_results(tmp_path):
    run_sweep(spec(), tmp_path, workers=1, progress=False)
    other = spec(engines=[{"arch": "adder_tree", "k": 8}])
    with pytest.raises(InputError, match="different sweep"):
        run_sweep(other, tmp_path, workers=1, progress=False)


def test_local_processes_give_the_same_results(tmp_path):
    s = spec(options={"chunk_size": 10})
    run_sweep(s, tmp_path / "one", workers=1, progress=False)
    run_sweep(s, tmp_path / "two", workers=2, progress=False)
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "one" / "layers.parquet"),
        pd.read_parquet(tmp_path / "two" / "layers.parquet"),
    )


def test_dask_cluster_survives_a_lost_worker(tmp_path):
    distributed = pytest.importorskip("distributed")
    s = spec(options={"chunk_size": 2})
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        killed = []

        def kill_one(index):
            # After the first chunk arrives, kill a worker process outright (its nanny
            # starts a new one); chunks it held must be computed again elsewhere.
            if not killed:
                nanny = next(iter(cluster.workers.values()))
                nanny.process.process.kill()
                killed.append(nanny)

        result = run_sweep(s, tmp_path / "dask", client=client, progress=False, on_chunk=kill_one)
    assert killed and result["computed_chunks"] == result["chunks"] == 24
    local = run_sweep(s, tmp_path / "local", workers=1, progress=False)
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "dask" / "points.parquet"),
        pd.read_parquet(tmp_path / "local" / "points.parquet"),
    )
    assert local["points"] == 48


@given(st.integers(1, 60), st.integers(2, 3), st.integers(0, 2**31))
@settings(max_examples=40, deadline=None)
def test_pareto_mask_matches_brute_force(n, d, seed):
    v = np.random.default_rng(seed).integers(0, 5, size=(n, d)).astype(float)
    dominated = [
        any(np.all(v[j] <= v[i]) and np.any(v[j] < v[i]) for j in range(n)) for i in range(n)
    ]
    assert pareto_mask(v).tolist() == [not x for x in dominated]


def test_pareto_front_with_max_objective():
    df = pd.DataFrame({"a": [1, 2, 3, 1], "b": [5, 9, 7, 4]})
    front = pareto_front(df, "a:min,b:max")
    assert sorted(front.index) == [0, 1]
    with pytest.raises(InputError, match="--objectives"):
        pareto_front(df, "a:min")
    with pytest.raises(InputError, match="unknown column"):
        pareto_front(df, "a:min,zz:max")


def test_plots(tmp_path):
    run_sweep(spec(), tmp_path, workers=1, progress=False)
    for kind in PLOT_KINDS:
        files = plot_results(tmp_path, kind)
        assert [f.rsplit(".", 1)[1] for f in files] == ["png", "svg"]
        assert all(os.path.getsize(f) > 2000 for f in files)
    with pytest.raises(InputError, match="--kind"):
        plot_results(tmp_path, "pie")
    with pytest.raises(InputError, match="not a finished sweep"):
        plot_results(tmp_path / "chunks", "pareto")


def test_sequence_valued_fields_sweep_as_values():
    """A flat list for a tuple-valued design field is one value; a list of lists sweeps."""
    from shiftadd.models.sweep import evaluate_chunk, parse_sweep_spec

    base = {
        "name": "tl",
        "workload": {"spec": "opt-125m", "phase": "decode", "batch": 1, "context": 64},
    }
    one = parse_sweep_spec(
        {
            **base,
            "engines": [
                {"arch": "threshold", "k": 64, "memory_bits": 64, "neuron_weights": [2, 1, 1, 1]}
            ],
        }
    )
    assert one.points == 1
    two = parse_sweep_spec(
        {
            **base,
            "engines": [
                {
                    "arch": "threshold",
                    "k": 64,
                    "memory_bits": 64,
                    "neuron_weights": [[2, 1, 1, 1], [2, 2, 1, 1, 1]],
                }
            ],
        }
    )
    assert two.points == 2
    points, _ = evaluate_chunk(two, 0, two.points)
    assert sorted(points["neuron_weights"].astype(str)) == ["2,1,1,1", "2,2,1,1,1"]


def test_designs_that_cannot_run_the_workload_fail_before_any_work():
    """A threshold program for the workload's K needs more local memory than the design has:
    an error naming the engine at parse time, or the design dropped with skip_invalid."""
    from shiftadd.models.sweep import parse_sweep_spec

    base = {
        "name": "tl",
        "workload": {"spec": "opt-125m", "phase": "decode", "batch": 1, "context": 64},
        "engines": [{"arch": "threshold", "k": 64, "memory_bits": [16, 64]}],
    }
    with pytest.raises(InputError, match="cannot run this workload") as info:
        parse_sweep_spec(base)
    assert info.value.field == "engines[0]"
    spec = parse_sweep_spec({**base, "options": {"skip_invalid": True}})
    assert [d.memory_bits for d in spec.blocks[0].designs] == [64]
