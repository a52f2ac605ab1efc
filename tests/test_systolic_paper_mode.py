"""Paper mode of the output-stationary systolic array (issue 16, item 3): no stall enables,
no drain registers, no carry-propagate adder; every PE's accumulator (or (sum, carry) pair)
leaves in one transfer per tile."""

from pathlib import Path

import numpy as np
import pytest

from shiftadd.design import design_from_dict, load_design
from shiftadd.errors import InputError
from shiftadd.models.cycles import gemm_cycles
from shiftadd.models.grid.cost import bill_of_materials
from shiftadd.models.grid.cycles import design_vector, grid_cycles, kernel, os_output_cycles
from shiftadd.models.grid.golden import paper_tile_reference, pe_trace, resolve, tile_reference
from shiftadd.models.grid.timing import timing_paths
from shiftadd.rtl_gen.emit import generate_verilog
from shiftadd.sim.amaranth_play import check_on_amaranth
from shiftadd.sim.bench_systolic import GridBench
from shiftadd.sim.plan import Checker, Recorded
from shiftadd.sim.runner import simulate

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "paper"


def _paper(cs: bool, mode: str = "mac", rows: int = 2, cols: int = 3, **kw):
    params = dict(
        arch="systolic",
        name=f"paper_{mode}_{'csa' if cs else 'cp'}_{rows}x{cols}",
        rows=rows,
        cols=cols,
        mode=mode,
        k_max=16,
        carry_save_accumulate=cs,
        paper_mode=True,
    )
    return design_from_dict({**params, **kw})


# -- design -----------------------------------------------------------------------------------
def test_paper_mode_is_output_stationary_only():
    with pytest.raises(InputError) as e:
        design_from_dict(dict(arch="systolic", dataflow="ws", paper_mode=True))
    assert e.value.field == "paper_mode" and "dataflow = 'os'" in str(e.value)
    with pytest.raises(InputError):
        design_from_dict(dict(arch="systolic", paper_mode=1))


def test_default_designs_keep_their_parameters_and_hash():
    """paper_mode off is left out of the parameters, so existing designs keep their hash."""
    plain = design_from_dict(dict(arch="systolic"))
    assert "paper_mode" not in plain.to_dict()
    assert plain.design_hash == design_from_dict(plain.to_dict()).design_hash
    paper = _paper(False)
    assert paper.to_dict()["paper_mode"] is True
    assert design_from_dict(paper.to_dict()) == paper
    assert paper.design_hash != paper.replace(paper_mode=False).design_hash


def test_schedule_properties():
    d = _paper(True, rows=3, cols=4)
    assert d.skew_max == 5
    assert (d.last_spacing, d.tile_overhead, d.latency, d.result_transfers) == (6, 5, 7, 1)
    assert d.outputs_per_transfer == 12
    plain = d.replace(paper_mode=False)
    assert (plain.tile_overhead, plain.latency, plain.result_transfers) == (0, 8, 3)


# -- golden and cycle models ------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["mac", "addsub", "ternary"])
def test_exposed_pairs_hold_the_tile_result(mode):
    """The pairs add up to the tile's results; the PEs nearer the input took idle steps, so
    their pairs differ bit for bit from the PE's trace at its last step (idle steps are
    modelled, not ignored)."""
    d = _paper(True, mode, rows=3, cols=3)
    rng = np.random.default_rng(1)
    bench = GridBench(d)
    x, w = bench.random_act(rng, 3, 9), bench.random_weights(rng, 3, 9)
    pairs = paper_tile_reference(d, x, w).astype(np.uint64)
    values = resolve(d, pairs[:, 0], pairs[:, 1]).reshape(3, 3)
    assert np.array_equal(values, tile_reference(d, x, w))
    # element 2 * 3 + 0: tile row 2 = physical row 0, column 0, skew_max = 4 idle steps
    a = np.broadcast_to(x[2][:, None], (9, 1))
    s, c = pe_trace(d, a, w[0][:, None])
    assert (int(s[-1, 0]), int(c[-1, 0])) != tuple(int(v) for v in pairs[6])
    # the last PE (tile row 0, column 2) took no idle step: its pair is the trace's
    a = np.broadcast_to(x[0][:, None], (9, 1))
    s, c = pe_trace(d, a, w[2][:, None])
    assert (int(s[-1, 0]), int(c[-1, 0])) == tuple(int(v) for v in pairs[2])


def test_cycle_model_tiles_do_not_overlap():
    d = _paper(False, rows=2, cols=3)  # skew_max 3
    steps = np.array([5, 1, 7])
    # last steps at 4, 4 + 1 + 3 = 8, 8 + 7 + 3 = 18; one transfer each, latency 5
    assert os_output_cycles(d, steps).tolist() == [9, 13, 23]
    m, n, k = 5, 4, 37
    tiles = -(-m // 2) * -(-n // 3) * -(-k // 16)
    per_tile = [16, 16, 5] * (tiles // 3)
    closed = gemm_cycles(d, m, n, k).cycles
    assert closed == int(os_output_cycles(d, per_tile)[-1]) + 1
    c = grid_cycles(True, 2, 3, 16, d.last_spacing, d.latency, m, n, k, d.tile_overhead, 1)
    assert int(c["cycles"]) == closed
    # the sweep kernel (float arrays) counts the same
    v = {key: np.array([[float(val)]]) for key, val in design_vector(d).items()}
    swept = kernel(v, np.array([[m]]), np.array([[n]]), np.array([[k]]), 1e9, 1e9, 1e9)
    assert int(swept["cycles"][0, 0]) == closed


# -- cost and timing models -------------------------------------------------------------------
@pytest.mark.parametrize("cs", [False, True])
def test_cost_and_timing_models_drop_drain_adders_and_enables(cs):
    d = _paper(cs, rows=4, cols=4, acc_bits=32, k_max=4096)
    parts = {i.part for i in bill_of_materials(d)}
    assert not any("drain" in p or "result register" in p or "carry-propagate" in p for p in parts)
    plain = {i.part for i in bill_of_materials(d.replace(paper_mode=False))}
    assert any("drain" in p for p in plain)
    names = [p.name for p in timing_paths(d)]
    assert not any("advance" in n or "drain" in n for n in names)
    assert not any(
        e.what == "register load enable"
        for p in timing_paths(d)
        if "PE" in p.name
        for e in p.elements
    )


# -- RTL --------------------------------------------------------------------------------------
def test_paper_verilog_has_one_wide_result_and_no_drain():
    d = _paper(True, rows=2, cols=2, acc_bits=24, k_max=64)
    v = generate_verilog(d).verilog
    assert f"output [{2 * 4 * 24 - 1}:0] result__payload" in v
    assert "drain" not in v


@pytest.mark.parametrize(
    "mode,cs",
    [("mac", False), ("mac", True), ("addsub", True), ("ternary", True), ("ternary", False)],
)
def test_bit_exact_on_the_amaranth_simulator(mode, cs):
    d = _paper(cs, mode)
    report = check_on_amaranth(d, 120, seed=3, max_entries=60)
    assert report.passed and report.mismatches == 0, report.first_mismatches
    assert report.cycle_checked == report.vectors > 0 and report.cycle_mismatches == 0


def test_pairs_are_compared_bit_for_bit():
    """Results with the right values but other pairs (sum and carry swapped) fail; the
    bench's final add gives the same numbers for both."""
    d = _paper(True, rows=2, cols=2)
    bench = GridBench(d)
    chunk = next(bench.chunks(np.random.default_rng(0), 40, max_entries=40))
    exp = chunk.expected["result"]
    assert exp.values.shape[1:] == (4, 2)
    swapped = exp.values[:, :, ::-1].reshape(exp.count, -1)
    differ = int(np.count_nonzero((exp.values[:, :, 0] != exp.values[:, :, 1]).any(axis=1)))
    assert differ > 0
    report = Checker().check(chunk, {"result": Recorded(values=swapped, cycles=exp.cycles)})
    assert report.mismatches == differ
    assert np.array_equal(bench.result_values(swapped), bench.result_values(exp.values))


def test_examples_load_and_generate():
    for name in ("systolic_os_paper_int8_4x4.toml", "systolic_os_paper_csa_4x4.toml"):
        d = load_design(EXAMPLES / name)
        assert d.paper_mode and d.acc_width == 32
        assert generate_verilog(d).verilog


RUNS = {
    "verilator": dict(simulator="verilator"),
    "verilator_random": dict(simulator="verilator", random_init=True),
    "icarus": dict(simulator="icarus"),
}


@pytest.mark.sim
@pytest.mark.parametrize("cs", [False, True], ids=["mac", "csa"])
@pytest.mark.parametrize("init", list(RUNS))
def test_bit_exact_under_cocotb(cs, init, sim_build_root, need_iverilog):
    """Random and edge tiles, then a tiled GEMM: every pair bit-exact, every cycle the
    model's, the GEMM assembled after the bench's final add equal to the reference; from
    random (Verilator) or unknown (Icarus) initial register values."""
    d = _paper(cs, rows=2, cols=3, name=f"paper_sim_{'csa' if cs else 'mac'}")
    kw = RUNS[init]
    r = simulate(d, vectors=80, seed=7, build_root=sim_build_root, **kw)
    assert r.passed and r.mismatches == 0 and r.unknown == 0, r.first_mismatches
    assert r.cycle_checked == r.vectors > 0 and r.cycle_mismatches == 0
    r = simulate(d, gemm=(5, 4, 37), seed=9, build_root=sim_build_root, **kw)
    assert r.passed and r.mismatches == 0 and r.unknown == 0, r.first_mismatches
    assert r.gemm["gemm_matches"]
    assert r.gemm["gemm_cycles_sim"] == r.gemm["gemm_cycles_model"]
