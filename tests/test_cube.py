"""The 3D-Cube engine (``arch = "cube"``): design checks, cycle, cost and timing models, the
sweep, and the generator in the Amaranth simulator against the golden model and the cycle
model (with and without stalls)."""

import numpy as np
import pytest

from shiftadd.design import design_from_dict
from shiftadd.design.cube import CubeDesign, random_design
from shiftadd.errors import InputError
from shiftadd.hw import build_component
from shiftadd.hw.cube import CubeArray
from shiftadd.models.cost import bill_of_materials, estimate
from shiftadd.models.cube.cost import data_activity
from shiftadd.models.cube.cycles import design_vector, kernel
from shiftadd.models.cycles import gemm_cycles
from shiftadd.models.data_activity import has_data_model, random_codes
from shiftadd.models.grid.golden import gemm_reference
from shiftadd.models.sweep import evaluate_chunk, parse_sweep_spec
from shiftadd.models.timing import critical_path, timing_paths
from shiftadd.sim.amaranth_play import play_amaranth
from shiftadd.sim.benches import bench_for
from shiftadd.sim.plan import Checker


def cube(**params):
    return design_from_dict({"arch": "cube", **params})


# -- design ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("depth", "bits"), [(2, 17), (4, 18), (8, 19), (16, 20)])
def test_int8_accumulator_is_the_papers_width(depth, bits):
    # ACC_WIDTH = 2 * WIDTH + clog2(N): 19 bits for the paper's 8 x 8 x 8 cube.
    d = cube(depth=depth)
    assert d.acc_width == bits == 16 + int(np.ceil(np.log2(depth)))
    lo, hi = d.exact_acc_range
    assert (lo, hi) == (depth * -128 * 127, depth * 128 * 128)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        (dict(depth=0), "depth"),
        (dict(depth=17), "depth"),
        (dict(rows=17), "rows"),
        (dict(cols=0), "cols"),
        (dict(k_max=64), "k_max"),
        (dict(acc_bits=17), "acc_bits"),
        (dict(mode="int8"), "mode"),
    ],
)
def test_invalid_fields_are_named(params, field):
    with pytest.raises(InputError) as err:
        cube(**params)
    assert err.value.field == field


def test_wrap_allows_a_narrow_accumulator():
    d = cube(depth=4, acc_bits=16, wrap=True)
    assert d.wraps and d.acc_width == 16
    x = np.full((1, 4), -128)
    w = np.full((1, 4), -128)
    assert gemm_reference(d, x, w)[0, 0] == 65536 - (1 << 16)


def test_derived_schedule_values():
    d = cube(rows=2, cols=3, depth=4)
    assert d.pes == 24 and d.ops_per_cycle == 48 and d.outputs_per_transfer == 6
    assert d.latency == 9 and d.reduction_length == 4 and not d.is_output_stationary


def test_random_designs_are_valid_and_small():
    rng = np.random.default_rng(7)
    seen = set()
    for i in range(30):
        d = random_design(rng, f"c{i}")
        assert isinstance(d, CubeDesign)
        seen.add((d.mode, d.carry_save_accumulate))
        assert max(d.rows, d.cols, d.depth) <= 4
    assert len(seen) >= 4


# -- models ---------------------------------------------------------------------------------
def test_gemm_cycles_closed_form_and_kernel():
    d = cube(rows=2, cols=3, depth=4)
    r = gemm_cycles(d, 5, 7, 9)
    tiles = 3 * 3 * 3
    assert r.transfers == r.tiles == tiles and r.cycles == tiles + d.latency
    assert r.weight_writes == 0 and r.macs == 5 * 7 * 9
    # A large GEMM of whole tiles fills the cube.
    assert gemm_cycles(d, 200, 300, 400).utilization == pytest.approx(1.0, abs=0.001)
    vec = {k: np.array([[float(v)]]) for k, v in design_vector(d).items()}
    m, n, k = np.array([[5, 1]]), np.array([[7, 3]]), np.array([[9, 4]])
    big = np.array([[float(1 << 40)]])
    out = kernel(vec, m, n, k, big, big, big)
    assert out["cycles"][0, 0] == r.cycles and out["cycles"][0, 1] == 1 + d.latency
    # X streamed once per N-block, W once per M-block
    assert out["act_buf_read_bits"][0, 0] == 5 * 9 * 8 * 3
    assert out["weight_buf_read_bits"][0, 0] == 7 * 9 * 8 * 3


def test_kernel_dram_traffic_is_bounded_and_falls_with_bigger_buffers():
    d = cube(rows=4, cols=4, depth=4)
    vec = {k: np.array([[float(v)]]) for k, v in design_vector(d).items()}
    shapes = np.array([[128, 1, 512]]), np.array([[384, 4096, 64]]), np.array([[1536, 4096, 8]])
    m, n, k = shapes
    x_bits, w_bits = m * k * 8, n * k * 8
    mt, nt = -(-m // 4), -(-n // 4)
    previous = None
    for kib in (1, 8, 64, 1024, 1 << 16):
        cap = np.array([[kib * 8192.0]])
        out = kernel(vec, m, n, k, cap, cap, cap)
        reads = out["dram_read_bits"]
        assert np.all(reads >= x_bits + w_bits)
        assert np.all(reads <= x_bits * nt + w_bits * mt)  # the nothing-held order
        assert np.all(out["cycles"] == mt * nt * -(-k // 4) + d.latency)
        if previous is not None:
            assert np.all(reads <= previous)
        previous = reads
    # Everything fits: each operand once.
    assert np.array_equal(previous, x_bits + w_bits)


def test_cost_counts_every_pe_and_register():
    d = cube(rows=2, cols=3, depth=4)
    items = bill_of_materials(d)
    mults = sum(i.count for i in items if i.unit == "mult")
    assert mults == d.pes
    psum = next(i for i in items if i.part == "partial-sum registers")
    # The first layer holds one product each (its width + 1 distinct bits, the rest copies
    # of the sign bit); the other layers the whole accumulator.
    face = d.rows * d.cols
    assert psum.count == face * (d.product_width + 1) + (d.pes - face) * d.acc_width
    assert d.product_width + 1 < d.acc_width
    # X[r, k] skewed r + k cycles: 8 bits * (4 * 1 + 2 * 6) for rows 2, depth 4
    skew = next(i for i in items if i.part == "activation skew registers")
    assert skew.count == 8 * (4 * 1 + 2 * 6)
    assert estimate(d).area > 0


def test_carry_save_cube_has_booth_pes_and_edge_adders():
    d = cube(rows=2, cols=2, depth=3, carry_save_accumulate=True)
    items = bill_of_materials(d)
    assert not any(i.unit == "mult" for i in items)
    cpa = next(i for i in items if i.part == "carry-propagate adders at the cube's edge")
    assert cpa.count == 4 and cpa.bits == 4 * d.acc_width
    enc = sum(i.count for i in items if "Booth encoders" in i.part and i.unit == "xor2")
    # Digit 0 reads the implicit a[-1] = 0: its one and neg are wires (no XOR).
    assert enc == d.pes * (d.booth_digits - 1) * 2


@pytest.mark.parametrize("cs", [False, True])
def test_data_activity_of_random_codes_is_random_and_sparse_data_costs_less(cs):
    d = cube(carry_save_accumulate=cs)
    assert has_data_model(d)
    w, x = random_codes(d, (48, 256), (40, 256), seed=7)
    act = data_activity(d, w, x)
    for field in ("act_toggle", "weight_toggle", "term", "sum", "digit"):
        assert getattr(act, field) == pytest.approx(0.5, abs=0.04), field
    assert estimate(d, data_activity=act).energy_per_cycle_pj == pytest.approx(
        estimate(d).energy_per_cycle_pj, rel=0.03
    )
    # Mostly zero activations: the terms and partial sums switch far less.
    x[np.random.default_rng(1).random(x.shape) < 0.9] = 0
    sparse = data_activity(d, w, x)
    assert sparse.act_zero > 0.85 and sparse.term < 0.3 and sparse.sum < 0.3
    assert estimate(d, data_activity=sparse).energy_per_cycle_pj < 0.8 * (
        estimate(d).energy_per_cycle_pj
    )


def test_timing_paths_cover_the_pe_and_the_edge():
    for cs in (False, True):
        d = cube(carry_save_accumulate=cs)
        names = [p.name for p in timing_paths(d)]
        assert any("partial-sum register" in n for n in names)
        assert any("advance" in n for n in names)
        assert any("carry-propagate" in n for n in names) == cs
        assert critical_path(d).critical_path_ns > 0


def test_the_sweep_accepts_the_cube():
    data = {
        "name": "cube",
        "workload": {"spec": "opt-125m", "phase": "decode", "batch": 2, "context": 128},
        "engines": [
            {
                "arch": "cube",
                "rows": [2, 4],
                "cols": 4,
                "depth": [4, 8],
                "carry_save_accumulate": [False, True],
            }
        ],
    }
    s = parse_sweep_spec(data)
    assert s.points == 8
    points, layers = evaluate_chunk(s, 0, s.points)
    for _, row in points.iterrows():
        d = cube(
            name="cube_sweep",
            rows=int(row["rows"]),
            cols=4,
            depth=int(row["depth"]),
            carry_save_accumulate=bool(row["carry_save_accumulate"]),
        )
        lay = layers[layers["point"] == row["point"]]
        for _, g in lay.head(3).iterrows():
            assert g["cycles"] == gemm_cycles(d, g["M"], g["N"], g["K"]).cycles


# -- generator in the Amaranth simulator ----------------------------------------------------
def test_component_checks_its_design():
    with pytest.raises(TypeError, match="CubeDesign"):
        CubeArray(design=design_from_dict({"arch": "systolic", "dataflow": "ws"}))


CUBES = [
    dict(rows=2, cols=3, depth=2),
    dict(rows=3, cols=2, depth=3, carry_save_accumulate=True),
    dict(
        rows=2, cols=2, depth=2, act_bits=4, act_signed=False, weight_bits=5, acc_bits=9, wrap=True
    ),
    dict(rows=2, cols=1, depth=3, mode="addsub", carry_save_accumulate=True),
    dict(rows=1, cols=2, depth=4, mode="ternary", act_bits=5, carry_save_accumulate=True),
    dict(rows=1, cols=1, depth=1),
]


@pytest.mark.parametrize("params", CUBES, ids=lambda p: "-".join(map(str, p.values())))
def test_cube_in_amaranth_simulator_matches_golden_and_cycles(params):
    design = cube(**params)
    bench = bench_for(design)
    rng = np.random.default_rng(5)
    checker = Checker()
    for chunk in bench.chunks(rng, 40, max_entries=40):
        checker.check(chunk, play_amaranth(build_component(design), chunk))
    gemm = bench.gemm(rng, 5, 4, 7)
    recorded = play_amaranth(build_component(design), gemm)
    checker.check(gemm, recorded)
    info = gemm.finish(recorded)
    report = checker.report
    assert report.passed, report.first_mismatches
    assert report.cycle_checked == report.vectors > 0
    assert info["gemm_matches"] and info["gemm_cycles_sim"] == info["gemm_cycles_model"]


def test_cube_under_backpressure_and_bubbles_keeps_every_result():
    design = cube(rows=2, cols=2, depth=3, carry_save_accumulate=True)
    bench = bench_for(design)
    rng = np.random.default_rng(9)
    chunk = next(bench.chunks(rng, 30, max_entries=30, model_cycles=False))
    stall = np.random.default_rng(1)
    ready = stall.random(4000) < 0.6
    recorded = play_amaranth(
        build_component(design),
        chunk,
        out_ready=lambda cycle: bool(ready[cycle % ready.size]),
        bubbles=stall.random(chunk.entries) < 0.3,
    )
    report = Checker().check(chunk, recorded)
    assert report.passed and report.vectors == 30, report.first_mismatches


def test_a_wrong_expectation_is_caught():
    design = cube(rows=2, cols=2, depth=2)
    chunk = next(bench_for(design).chunks(np.random.default_rng(2), 10, max_entries=10))
    chunk.expected["result"].values[3, 1, 0] += 1
    chunk.expected["result"].cycles[5] += 1
    report = Checker().check(chunk, play_amaranth(build_component(design), chunk))
    assert report.mismatches == 1 and report.cycle_mismatches == 1


def test_random_cubes_in_amaranth_simulator():
    # Random modes, widths, signedness, sides, carry-save and wrapping accumulators.
    rng = np.random.default_rng(123)
    for i in range(6):
        design = random_design(rng, f"rand{i}")
        bench = bench_for(design)
        checker = Checker()
        traffic = np.random.default_rng(i)
        for chunk in bench.chunks(traffic, 20, max_entries=20):
            checker.check(chunk, play_amaranth(build_component(design), chunk))
        gemm = bench.gemm(traffic, 5, 3, 9)
        recorded = play_amaranth(build_component(design), gemm)
        checker.check(gemm, recorded)
        info = gemm.finish(recorded)
        assert checker.report.passed, (design, checker.report.first_mismatches)
        assert info["gemm_matches"] and info["gemm_cycles_sim"] == info["gemm_cycles_model"]


def test_one_layer_cube_keeps_only_the_products_bits_on_its_result_path():
    """Seed 20261609 #007 (3 x 3 x 1 ternary, acc_bits 10): its netlist keeps 7 of 10 bits of
    every partial-sum, de-skew and result register (the product's 6 and the carry-in's)."""
    wide = cube(rows=3, cols=3, depth=1, mode="ternary", act_bits=5, acc_bits=10)
    items = {i.part: i for i in bill_of_materials(wide)}
    held = wide.product_width + 1
    assert held == 7
    assert items["partial-sum registers"].count == 9 * held
    assert items["result register"].count == 9 * held + 1
    deeper = cube(rows=3, cols=3, depth=2, mode="ternary", act_bits=5, acc_bits=10)
    assert next(i for i in bill_of_materials(deeper) if i.part == "result register").count == 91
