"""The demo's quick form end to end (issue 19): hierarchical synthesis of the full-size
designs, the model's energy against gate-level simulated activity on the K=16, N=2 siblings
(run in worker processes beside the main stages), results table and plot."""

import pandas as pd

from shiftadd.flows.demo import run_demo


def test_quick_demo_measures_energy_the_way_the_model_is_calibrated(
    need_yosys, need_sta, liberty, tmp_path
):
    summary = run_demo(tmp_path, vectors=2000, liberty=liberty, quick=True, log=lambda s: None)
    assert summary["passed"]
    rows = pd.read_csv(summary["csv"])
    assert list(rows["synthesis"]) == ["hierarchical"] * 3
    assert rows["lint_clean"].all() and (rows["mismatches"] == 0).all()
    # Area: the model against the hierarchical netlist (within 2% of flat, docs/hierarchy.md).
    assert rows["model_area_error"].abs().max() < 0.10
    # Energy: against OpenSTA power with every pin's activity from a gate-level simulation.
    assert rows["gate_level_passed"].all()
    assert (rows["gate_level_k"] == 16).all() and (rows["gate_level_n"] == 2).all()
    assert rows["model_energy_error"].abs().max() < 0.25
    assert (rows["synth_vectorless_energy_per_op_pj"] > 0).all()
    assert (tmp_path / "demo_area_energy.png").stat().st_size > 10_000
