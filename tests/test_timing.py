"""The timing model's pricing, its reports, timing-aware sweeps and the synthesis verdict."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from shiftadd import design_from_dict
from shiftadd.design import AdderTreeDesign
from shiftadd.errors import InputError
from shiftadd.families import families
from shiftadd.models.sweep import evaluate_chunk, parse_sweep_spec
from shiftadd.models.timing import (
    TimingPath,
    adder,
    critical_path,
    element_delay,
    fanout,
    gates,
    has_delays,
    mult,
    path_delay,
    timing_paths,
    tree,
)
from shiftadd.models.units import load_unit_table
from shiftadd.rtl_gen.tools import find_sta, find_yosys, resolve_liberty

REPO = Path(__file__).resolve().parents[1]
TABLE = load_unit_table("ihp-sg13g2")
DELAY = TABLE["delay"]


def test_the_calibrated_table_has_delay_units_and_horowitz_does_not():
    assert has_delays(TABLE)
    assert not has_delays(load_unit_table("horowitz-45nm"))
    with pytest.raises(InputError, match="no delay units"):
        critical_path(AdderTreeDesign(name="x", k=8, n=2), "horowitz-45nm")


def test_elements_hit_the_measured_points_and_interpolate_between_them():
    a = DELAY["adder"]
    for width, ns in zip(a["widths"], a["ns"]):
        assert element_delay(adder(width, "a"), DELAY) == pytest.approx(ns)
    lo, hi = element_delay(adder(9, "a"), DELAY), element_delay(adder(17, "a"), DELAY)
    assert lo < element_delay(adder(12, "a"), DELAY) < hi
    t = DELAY["tree"]
    for i, levels in enumerate(t["levels"]):
        for j, width in enumerate(t["signed_leaf_widths"]):
            ns = t["signed_ns"][i][j]
            if np.isfinite(ns):
                got = element_delay(tree(levels, width, True, "t"), DELAY)
                assert got == pytest.approx(ns)
    m = DELAY["mult"]
    assert element_delay(mult(8, 8, "m"), DELAY) == pytest.approx(m["ns"][2][2])
    assert element_delay(gates("xnor2", 3, "g"), DELAY) == pytest.approx(3 * DELAY["gate"]["xnor2"])
    assert element_delay(fanout(1, "f"), DELAY) == 0.0


def test_delays_grow_with_size_and_continue_beyond_the_grid():
    widths = [element_delay(adder(w, "a"), DELAY) for w in (4, 8, 16, 32, 64, 128)]
    assert widths == sorted(widths) and widths[-1] > widths[-2]
    deep = [element_delay(tree(n, 1, False, "t"), DELAY) for n in range(1, 14)]
    assert deep == sorted(deep) and deep[-1] > deep[-2]  # 13 levels: extrapolated
    loads = [element_delay(fanout(f, "f"), DELAY) for f in (4, 16, 64, 256, 4096)]
    assert loads == sorted(loads)


def test_a_tree_after_carry_logic_adds_only_its_increment():
    whole = element_delay(tree(5, 4, True, "t"), DELAY)
    first = element_delay(tree(3, 4, True, "t"), DELAY)
    rest = element_delay(tree(2, 4, True, "t", after=3), DELAY)
    assert first + rest == pytest.approx(whole) and rest > 0


def test_the_report_is_the_slowest_path_plus_the_register():
    design = AdderTreeDesign(name="x", mode="mac", k=64, n=4, act_bits=8, weight_bits=8)
    report = critical_path(design)
    paths = timing_paths(design)
    assert report.paths and len(report.paths) == len(paths)
    worst = max(path_delay(p, DELAY) for p in paths) + DELAY["reg"]
    assert report.critical_path_ns == pytest.approx(worst)
    assert sum(ns for _, ns in report.breakdown) == pytest.approx(report.critical_path_ns)
    assert report.fmax_mhz == pytest.approx(1000 / report.critical_path_ns)
    assert report.meets(report.critical_path_ns) and not report.meets(0.9 * worst)
    assert json.loads(json.dumps(report.to_dict()))["path"] == report.path


@pytest.mark.parametrize("fam", list(families()), ids=lambda f: f.arch)
def test_every_family_has_a_timing_model_that_pipelining_does_not_slow(fam):
    assert fam.has("timing_paths"), fam.lacks.get("timing_paths")
    example = design_from_dict({**_example(fam), "name": "t"})
    report = critical_path(example)
    assert 0.2 < report.critical_path_ns < 50
    assert all(isinstance(p, TimingPath) and p.elements for p in timing_paths(example))
    if hasattr(example, "pipeline_stages") and hasattr(example, "max_pipeline_stages"):
        times = [
            critical_path(example.replace(pipeline_stages=s)).critical_path_ns
            for s in range(example.max_pipeline_stages + 1)
        ]
        assert all(b <= a + 1e-9 for a, b in zip(times, times[1:]))


def _example(fam):
    from shiftadd.design import read_design_file

    return read_design_file(REPO / "examples" / fam.example)


SPEC = {
    "name": "timing",
    "workload": {"spec": "opt-125m", "phase": "decode", "batch": 1, "context": 64},
    "engines": [
        {
            "arch": "adder_tree",
            "mode": "xnor",
            "k": 512,
            "n": 4,
            "pipeline_stages": [0, 1, 3],
            "clock_ns": [2.0, 5.0, 10.0],
        }
    ],
}


@pytest.mark.parametrize("mode", ["enforce", "own_fmax", "ignore"])
def test_sweep_timing_modes(mode):
    data = json.loads(json.dumps(SPEC))
    data["options"] = {"timing": mode}
    spec = parse_sweep_spec(data)
    points, _ = evaluate_chunk(spec, 0, spec.points)
    assert points["timed"].all()
    crit = points["critical_path_ns"]
    # pipelining shortens the path: a real trade-off
    by_stages = points.groupby("pipeline_stages")["critical_path_ns"].first()
    assert by_stages[0] > by_stages[1] > by_stages[3]
    if mode == "own_fmax":
        assert np.allclose(points["clock_ns"], crit) and points["timing_met"].all()
    else:
        assert (points["timing_met"] == (points["clock_ns"] >= crit)).all()
        assert not points["timing_met"].all()
    assert points["feasible"].all() == (mode != "enforce")


def test_sweep_rejects_an_unknown_timing_mode():
    data = json.loads(json.dumps(SPEC))
    data["options"] = {"timing": "sometimes"}
    with pytest.raises(InputError, match="options.timing"):
        parse_sweep_spec(data)


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "shiftadd.cli", *args],
        capture_output=True,
        text=True,
        cwd=REPO.parent,
    )


def test_model_prints_timing_in_text_and_json():
    r = _cli("model", str(REPO / "examples" / "bnn_xnor_k256.toml"))
    assert r.returncode == 0 and "timing (model)" in r.stdout and "fmax" in r.stdout
    r = _cli("model", str(REPO / "examples" / "bnn_xnor_k256.toml"), "--json")
    timing = json.loads(r.stdout)["timing"]
    assert timing["critical_path_ns"] > 0 and isinstance(timing["meets_clock"], bool)


def test_validate_random_flag_is_bounded():
    r = _cli("validate", "--random", "0")
    assert r.returncode == 2 and "--random" in r.stderr and "Traceback" not in r.stderr
    r = _cli("validate", "--random", "2", "--arch", "nope", "--liberty", "none")
    assert r.returncode == 2 and "Traceback" not in r.stderr


@pytest.mark.skipif(find_yosys() is None or find_sta() is None, reason="needs yosys and sta")
def test_synth_says_when_the_clock_is_missed(tmp_path):
    design = tmp_path / "d.toml"
    design.write_text(
        'arch = "adder_tree"\nname = "tight"\nmode = "xnor"\nk = 16\nn = 1\nclock_ns = 0.3\n'
    )
    lib = resolve_liberty(None)
    if lib is None:
        pytest.skip("no liberty (SHIFTADD_LIBERTY): generic gates have no timing")
    liberty = ["--liberty", str(lib)]
    r = _cli("synth", str(design), *liberty, "--json")
    out = json.loads(r.stdout)
    assert r.returncode == 0 and out["timing_met"] is False
    assert "TIMING NOT MET" in r.stderr
    r = _cli("synth", str(design), *liberty, "--require-timing")
    assert r.returncode == 3 and "TIMING NOT MET" in r.stdout
