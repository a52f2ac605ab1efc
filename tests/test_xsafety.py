"""X-safety and simulation budgets of every engine (issue 18).

Every family and its modes, at small sizes, runs random traffic (stream mode) and a tiled GEMM
with partial tiles on Icarus, where every register starts unknown (X) and the harness records
unknown result bits, and on Verilator with random initial values (``--x-assign unique
--x-initial unique``, seeded). A result that depended on a register nothing initialized would
be X on Icarus and random on Verilator; both count as mismatches. Lanes that carry no result
(neurons a partial GEMM tile leaves unwritten) are not compared, and the bench self-tests show
the comparison would catch them. The harness budget follows each family's cycle model, and a
time-out reports the budget and the cycle reached.

Icarus builds are cheap, so every engine and mode runs there; Verilator with random initial
values runs one design per array kind (each is its own build). ``test_families.py`` runs the
family examples in stream mode on both as well.
"""

import functools
from pathlib import Path

import numpy as np
import pytest

from shiftadd.cli import main
from shiftadd.design import design_from_dict
from shiftadd.errors import InputError
from shiftadd.models.cycles import gemm_cycles
from shiftadd.sim import runner
from shiftadd.sim.benches import bench_for
from shiftadd.sim.harness import HarnessSpec, decode_records, harness_verilog
from shiftadd.sim.plan import Burst, Checker, Chunk, Expectation, Recorded
from shiftadd.sim.runner import simulate

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

# One small design per family and mode, and a GEMM whose M, N, K leave partial tiles.
ENGINES = {
    "at_xnor_threshold": (
        dict(arch="adder_tree", mode="xnor", k=16, n=4, threshold=True, pipeline_stages=2),
        (5, 3, 13),
    ),
    "at_addsub_threshold": (
        dict(
            arch="adder_tree",
            mode="addsub",
            k=9,
            n=3,
            act_bits=4,
            act_signed=False,
            threshold=True,
            pipeline_stages=1,
        ),
        (4, 2, 7),
    ),
    "at_mac": (dict(arch="adder_tree", mode="mac", k=8, n=3, pipeline_stages=1), (4, 5, 19)),
    "at_opt12": (
        dict(
            arch="adder_tree",
            mode="mac",
            k=8,
            n=3,
            carry_save_accumulate=True,
            shared_encoder_same_bitweight=True,
        ),
        (4, 2, 11),
    ),
    # Pipelined OPT1: the first register follows the shared Booth encoders.
    "at_opt1_pipelined": (
        dict(
            arch="adder_tree",
            mode="mac",
            k=8,
            n=3,
            carry_save_accumulate=True,
            pipeline_stages=2,
        ),
        (4, 2, 11),
    ),
    # MAC-based binary baseline: the accumulator must start each output from zero.
    "at_accumulate": (
        dict(
            arch="adder_tree",
            mode="xnor",
            k=8,
            n=3,
            threshold=True,
            accumulate=True,
            accumulate_k=24,
            pipeline_stages=1,
        ),
        (5, 4, 24),
    ),
    "cube": (dict(arch="cube", rows=2, cols=3, depth=2, mode="mac"), (3, 4, 5)),
    "at_digit_sparse": (
        dict(arch="adder_tree", mode="mac", k=8, n=3, digit_sparse=True, digit_group=4),
        (4, 2, 11),
    ),
    "systolic_os": (
        dict(
            arch="systolic",
            dataflow="os",
            rows=3,
            cols=2,
            k_max=40,
            mode="ternary",
            act_bits=6,
            act_signed=False,
            carry_save_accumulate=True,
        ),
        (4, 3, 9),
    ),
    # K < rows: the last weight rows are never written (zero activations meet them).
    "systolic_ws": (dict(arch="systolic", dataflow="ws", rows=3, cols=2, mode="mac"), (2, 3, 2)),
    "matrix2d": (
        dict(arch="matrix2d", rows=2, cols=3, k_max=40, mode="addsub", carry_save_accumulate=True),
        (3, 2, 5),
    ),
    "shiftadd_barrel": (
        dict(
            arch="shiftadd",
            mu=4,
            q=2,
            terms=2,
            columns=3,
            scale_rows=1,
            lut_slots=2,
            acc_groups=4,
            pipeline_stages=1,
        ),
        (2, 5, 30),
    ),
    "shiftadd_constant": (
        dict(
            arch="shiftadd",
            mu=3,
            q=2,
            terms=2,
            act_bits=6,
            shifter="constant",
            const_shifts=[[4, 1], [2, 0]],
            const_signs=[[1, -1], [-1, 0]],
            columns=3,
            lut_slots=3,
            pipeline_stages=2,
        ),
        (2, 4, 10),
    ),
    "threshold": (dict(arch="threshold", k=20, pes=3, memory_bits=16), (7, 3, 20)),
    "threshold_tulip": (
        dict(arch="threshold", k=20, pes=2, neurons=4, pe="tulip", neuron_register_bits=8),
        (3, 2, 20),
    ),
    "threshold_pooled": (
        dict(
            arch="threshold",
            k=30,
            pes=2,
            vectors=2,
            pool=2,
            memory_bits=16,
            neuron_weights=[2, 1, 1, 1],
            data_bits=4,
        ),
        (6, 2, 30),
    ),
}
SIMULATORS = {
    "icarus": dict(simulator="icarus"),
    "verilator_random": dict(simulator="verilator", random_init=True),
}
# Icarus (cheap builds, X-detecting) runs every engine and mode; Verilator with random
# initial values runs one engine per array kind (each is a separate, slower build).
RUNS = [(engine, "icarus") for engine in ENGINES] + [
    (engine, "verilator_random")
    for engine in (
        "at_xnor_threshold",
        "at_digit_sparse",
        "at_accumulate",
        "systolic_os",
        "systolic_ws",
        "matrix2d",
        "shiftadd_barrel",
        "threshold_pooled",
    )
]


def _design(key: str):
    params, _ = ENGINES[key]
    return design_from_dict({**params, "name": f"xs_{key}"})


def _explain(report) -> str:
    return f"{report.first_mismatches} timeout={report.timeout}; repeat: {report.reproduce}"


# -- simulations ---------------------------------------------------------------------------
@pytest.mark.sim
@pytest.mark.parametrize("engine,init", RUNS, ids=[f"{e}-{i}" for e, i in RUNS])
def test_stream_and_gemm_pass_from_unknown_initial_state(
    engine, init, sim_build_root, need_iverilog
):
    """Both modes on one build: every result known and equal to the golden model, every
    cycle equal to the model's."""
    design = _design(engine)
    kw = SIMULATORS[init]
    r = simulate(design, vectors=40, seed=7, build_root=sim_build_root, **kw)
    assert r.passed and r.mismatches == 0 and r.unknown == 0, _explain(r)
    assert r.cycle_checked == r.vectors > 0 and r.cycle_mismatches == 0, _explain(r)
    gemm = ENGINES[engine][1]
    r = simulate(design, gemm=gemm, seed=9, build_root=sim_build_root, **kw)
    assert r.passed and r.mismatches == 0 and r.unknown == 0 and r.missing == 0, _explain(r)
    assert r.gemm["gemm_matches"], _explain(r)
    assert r.gemm["gemm_cycles_sim"] == r.gemm["gemm_cycles_model"], _explain(r)


@pytest.mark.sim
@pytest.mark.parametrize("init", list(SIMULATORS))
def test_padding_lanes_are_unknown_and_would_fail_if_compared(init, sim_build_root, need_iverilog):
    """A GEMM with fewer columns than neurons leaves rows never written: their lanes are
    excluded (counted in ``unchecked_lanes``); compared anyway (fault ``lanes``) they are X
    on Icarus and random on Verilator, so the run fails: the X detection and the random
    initial values are real."""
    design = _design("at_xnor_threshold")
    gemm = (5, 1, 16)  # one of four neurons carries a result
    kw = SIMULATORS[init]
    ok = simulate(design, gemm=gemm, seed=3, build_root=sim_build_root, **kw)
    assert ok.passed and ok.gemm["gemm_matches"], _explain(ok)
    assert ok.unchecked_lanes == 5 * 3
    bad = simulate(design, gemm=gemm, seed=3, fault="lanes", build_root=sim_build_root, **kw)
    assert not bad.passed and not bad.gemm["gemm_matches"]
    assert bad.mismatches > 0 and bad.first_mismatches
    assert all(lane >= 1 for m in bad.first_mismatches for lane in m["lanes"])
    if init == "icarus":
        assert bad.unknown == bad.mismatches
        assert "x" in bad.first_mismatches[0]["got"]
    assert "--seed 3" in bad.reproduce and "--gemm 5,1,16" in bad.reproduce


@pytest.mark.sim
def test_a_timeout_reports_budget_and_cycle_reached(tmp_path, capsys, monkeypatch, need_iverilog):
    """Bench self-test ``budget`` (half the model's cycles, injected): the run fails and says
    where it stopped, not merely that outputs are missing."""
    params, _ = ENGINES["systolic_ws"]
    path = tmp_path / "ws.toml"
    path.write_text(
        'name = "xs_systolic_ws"\n'
        + "".join(f"{k} = {v!r}\n".replace("'", '"') for k, v in params.items())
    )
    model = gemm_cycles(_design("systolic_ws"), 2, 3, 7).cycles
    monkeypatch.setattr(runner, "simulate", functools.partial(runner.simulate, fault="budget"))
    assert main(["sim", str(path), "--gemm", "2,3,7", "--simulator", "icarus"]) == 1
    out = capsys.readouterr().out
    assert f"timeout at budget {model // 2} cycles, reached cycle {model // 2} (gemm)" in out
    assert f"reproduce: shiftadd sim {path} --simulator icarus --seed 0 --gemm 2,3,7" in out


@pytest.mark.sim
def test_cli_reports_padding_lanes_and_a_failure_with_its_seed_and_command(
    need_iverilog, capsys, monkeypatch
):
    """The issue's case passes and says how many lanes carried no result; a failing run
    (here the bench self-test ``lanes``, injected) prints the seed and the command."""
    design = str(EXAMPLES / "bnn_threshold_k64.toml")
    argv = ["sim", design, "--gemm", "5,3,64", "--simulator", "icarus", "--seed", "4"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "PASS" in out and "product matches" in out
    assert "padding lanes       25 carry no result" in out and "reproduce" not in out
    monkeypatch.setattr(runner, "simulate", functools.partial(runner.simulate, fault="lanes"))
    assert main(argv) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "product DIFFERS" in out
    assert (
        f"seed 4; reproduce: shiftadd sim {design} --simulator icarus --seed 4 --gemm 5,3,64" in out
    )


# -- the parts, without a simulator -------------------------------------------------------
def test_checker_skips_lanes_without_result_and_counts_unknown_results():
    values = np.array([[1, 2, 3], [4, 5, 6]])
    lanes = np.array([True, True, False])
    chunk = Chunk([], {"result": Expectation(values, lanes=lanes)})
    got = np.array([[1, 2, 99], [4, 5, 0]])
    checker = Checker()
    report = checker.check(chunk, {"result": Recorded(got, np.arange(2))})
    assert report.passed and report.unchecked_lanes == 2
    unknown = np.array([[False, False, True], [False, True, False]])  # X in lane 2 is padding
    report = Checker().check(chunk, {"result": Recorded(got, np.arange(2), unknown)})
    assert not report.passed and report.mismatches == 1 and report.unknown == 1
    assert report.first_mismatches[0]["transfer"] == 1
    assert report.first_mismatches[0]["got"] == ["x"]
    # nothing came back at all: counted missing, no crash
    report = Checker().check(
        chunk, {"result": Recorded(np.zeros((0, 3), np.int64), np.zeros(0, np.int64))}
    )
    assert report.missing == 2 and not report.passed


def test_four_state_harness_records_unknown_bits():
    manifest = {
        "top": "dut",
        "ports": [],
        "streams": {
            "a": {"direction": "input", "payload": {"kind": "int", "width": 4, "signed": False}},
            "r": {
                "direction": "output",
                "payload": {
                    "kind": "array",
                    "length": 2,
                    "element": {"kind": "int", "width": 3, "signed": True},
                    "width": 6,
                },
            },
        },
    }
    two = HarnessSpec.from_manifest(manifest, depth=64)
    four = HarnessSpec.from_manifest(manifest, depth=64, four_state=True)
    assert four.record_bits(four.outputs[0]) == two.record_bits(two.outputs[0]) + 6
    assert "=== 1'bx" in harness_verilog(four) and "1'bx" not in harness_verilog(two)
    # record {unknown[5:0], cycle[31:0], payload[5:0]}: element 1 (bits 3..5) has an X bit
    payload = np.array([[1, 0, 0, 1, 1, 1]], bool)  # element 0 = 1, element 1 = -1
    cycle = ((7 >> np.arange(32)) & 1).astype(bool)[None, :]
    unknown = np.array([[0, 0, 0, 0, 1, 0]], bool)
    bits = np.zeros((1, 64), bool)  # $fwrite("%u") writes whole 32-bit words
    bits[:, :44] = np.concatenate([payload, cycle, unknown], axis=1)
    raw = np.packbits(bits, axis=1, bitorder="little").tobytes()  # little-endian words
    rec = decode_records(four, "r", raw)
    assert rec.values.tolist() == [[1, -1]] and rec.cycles.tolist() == [7]
    assert rec.unknown.tolist() == [[False, True]]


@pytest.mark.parametrize("engine", list(ENGINES))
def test_every_bench_sizes_its_chunks_by_the_cycle_model(engine):
    design = _design(engine)
    bench = bench_for(design)
    gemm = ENGINES[engine][1]
    chunk = bench.gemm(np.random.default_rng(0), *gemm)
    # the cycle after the model's last output (digit-sparse: predicted from the data)
    assert chunk.cycles == int(chunk.expected["result"].cycles[-1]) + 1
    if not getattr(design, "digit_sparse", False):
        assert chunk.cycles == gemm_cycles(design, *gemm).cycles
    assert chunk.budget() == 2 * (chunk.cycles + 1) + 1000
    for c in bench.chunks(np.random.default_rng(0), 50, max_entries=4096, model_cycles=False):
        assert c.cycles is not None and c.cycles >= 1
        assert c.budget(stall=True) == 4 * c.budget()


def test_ws_gemm_with_many_idle_cycles_gets_the_model_budget():
    """The issue's case: a 12x20 weight-stationary array, M=1, N=96, K=1000, needs more
    cycles than ``2 * (entries + 1) + 1000`` (weight writes idle the array)."""
    design = design_from_dict(
        dict(arch="systolic", name="ws12x20", dataflow="ws", rows=12, cols=20, mode="mac")
    )
    chunk = bench_for(design).gemm(np.random.default_rng(0), 1, 96, 1000)
    model = gemm_cycles(design, 1, 96, 1000).cycles
    assert 2 * (chunk.entries + 1) + 1000 < model == chunk.cycles < chunk.budget()


def test_burst_count_is_entries():
    chunk = Chunk([Burst("a", np.zeros(3), 3)], {})
    assert chunk.entries == 3 and chunk.budget() == 2 * 4 + 1000


@pytest.mark.sim
def test_a_gemm_the_design_cannot_run_is_the_users_error(sim_build_root, need_iverilog):
    """Raised by the bench inside the simulator process, reported as an InputError."""
    with pytest.raises(InputError) as err:
        simulate(
            _design("at_xnor_threshold"),
            gemm=(2, 2, 17),
            simulator="icarus",
            build_root=sim_build_root,
        )
    assert err.value.field == "gemm.K" and "K <= k = 16" in err.value.message
