"""External Verilog through the synthesis flow (``shiftadd synth --verilog``): the critical
path from the clock's path group (not an asynchronous reset's recovery check), SystemVerilog
sources, power from simulated random activity, and one-line errors for bad input."""

from pathlib import Path

import pytest

from shiftadd.cli import main
from shiftadd.errors import InputError
from shiftadd.rtl_gen.activity import read_saif
from shiftadd.rtl_gen.sta import timing_paths, worst_clock_path
from shiftadd.rtl_gen.synth import read_top_ports, synthesize_external
from shiftadd.rtl_gen.tools import run_tool

pytestmark = pytest.mark.synth

DATA = Path(__file__).parent / "data" / "verilog"
MAC_ASYNC = DATA / "mac16_async.v"
MAC_SYNC = DATA / "mac16_sync.v"
ACC_SV = [DATA / "acc8_pipe.sv", DATA / "add8.sv"]
EXAMPLE = str(Path(__file__).resolve().parents[1] / "examples" / "mac_int8_k64.toml")


def _all_groups(workdir: Path) -> str:
    """OpenSTA on the kept netlist, reporting the worst paths of every group (the report
    the flow read before it asked for the clock's group only)."""
    script = (workdir / "sta.tcl").read_text()
    assert "-path_group clk" in script
    every = workdir / "sta_every_group.tcl"
    every.write_text(script.replace("-path_group clk", "-group_count 3"))
    return run_tool(["sta", "-no_splash", "-exit", str(every)], workdir)


def test_async_reset_critical_path_is_the_multiply_accumulate(
    need_yosys, need_sta, liberty, tmp_path
):
    r = synthesize_external([MAC_ASYNC], "mac16_async", liberty=liberty, workdir=tmp_path)
    assert r.sequential_cells == 64 and r.area > 0
    # a 16x16 multiply feeding a 32-bit accumulate: several ns in SG13G2
    assert r.critical_path_ns > 2.0
    assert r.critical_path["path_group"] == "clk"
    assert r.critical_path["startpoint"] != "rst_n"
    # The recovery arcs are there, first in a report of every group and far shorter: reading
    # the first slack in the log gave the bogus path this test guards against.
    paths = timing_paths(_all_groups(tmp_path))
    first = paths[0]
    assert first["path_group"] == "**async_default**" and first["startpoint"] == "rst_n"
    assert r.clock_ns - first["slack_ns"] < 1.0 < r.critical_path_ns
    assert worst_clock_path(_all_groups(tmp_path))["slack_ns"] == pytest.approx(r.slack_ns)
    assert any("rst_n (active low)" in n for n in r.notes)
    assert r.activity["method"] == "vectorless"


def test_sync_reset_has_no_recovery_arcs(need_yosys, need_sta, liberty, tmp_path):
    r = synthesize_external([MAC_SYNC], "mac16_sync", liberty=liberty, workdir=tmp_path)
    assert r.critical_path_ns > 2.0 and r.critical_path["path_group"] == "clk"
    groups = {p["path_group"] for p in timing_paths(_all_groups(tmp_path))}
    assert groups == {"clk"}
    assert r.power_mw["total"] > 0
    assert any("rst (active high)" in n for n in r.notes)


def test_worst_clock_path_skips_other_groups():
    report = "\n".join(
        [
            "Startpoint: rst_n (input port clocked by clk)",
            "Endpoint: r1 (recovery check against rising-edge clock clk)",
            "Path Group: **async_default**",
            "   0.30   data arrival time",
            "   9.60   slack (MET)",
            "Startpoint: r2 (rising edge-triggered flip-flop clocked by clk)",
            "Endpoint: r3 (rising edge-triggered flip-flop clocked by clk)",
            "Path Group: clk",
            "   4.10   data arrival time",
            "   5.70   slack (MET)",
            "Startpoint: r4 (rising edge-triggered flip-flop clocked by clk)",
            "Endpoint: r5 (rising edge-triggered flip-flop clocked by clk)",
            "Path Group: clk",
            "   4.50   data arrival time",
            "   5.30   slack (MET)",
        ]
    )
    worst = worst_clock_path(report)
    assert (worst["startpoint"], worst["slack_ns"], worst["arrival_ns"]) == ("r4", 5.3, 4.5)
    assert len(timing_paths(report)) == 3
    assert worst_clock_path(report.split("Startpoint: r2")[0]) is None


def test_systemverilog_files_and_random_activity(need_yosys, need_sta, liberty, tmp_path):
    ports = read_top_ports(ACC_SV, "acc8_pipe")
    assert [(p["name"], p["direction"], p["width"]) for p in ports] == [
        ("clk_i", "input", 1),
        ("arst_ni", "input", 1),
        ("x", "input", 8),
        ("y", "input", 8),
        ("total", "output", 12),
    ]
    vectorless = synthesize_external(ACC_SV, "acc8_pipe", liberty=liberty, clock_ns=5.0)
    simulated = synthesize_external(
        ACC_SV,
        "acc8_pipe",
        liberty=liberty,
        clock_ns=5.0,
        activity_from="random",
        cycles=400,
        seed=3,
        workdir=tmp_path,
    )
    # the clock port clk_i is the timed clock: register-to-register paths exist
    assert simulated.critical_path["path_group"] == "clk"
    assert simulated.critical_path["startpoint"] not in ("x", "y", "arst_ni")
    assert simulated.area == vectorless.area
    assert vectorless.activity["method"] == "vectorless"
    act = simulated.activity
    assert act["method"] == "random" and act["source"] == "simulation (SAIF)"
    assert act["annotated_pins"] > 100 and act["simulated_cycles"] == pytest.approx(404)
    assert simulated.power_mw["total"] != pytest.approx(vectorless.power_mw["total"], rel=1e-3)
    # the bench held the reset active first, then released it, and drove x and y at random
    bench = (tmp_path / "activity_sim" / "calib_tb.v").read_text()
    assert "acc8_pipe__arst_ni = {1{1'b0}};" in bench
    assert "acc8_pipe__arst_ni = {1{1'b1}};" in bench
    assert "acc8_pipe__x = {$urandom};" in bench and ".clk_i(clk)" in bench


@pytest.mark.parametrize(
    "argv, field",
    [
        (["--verilog", "no_such_file.v", "--top", "x"], "--verilog"),
        (["--verilog", str(MAC_ASYNC)], "--top"),
        (["--verilog", str(MAC_ASYNC), "--top", "nope"], "--top"),
        (["--verilog", str(MAC_ASYNC), "--top", "mac16_async", "--clock-port", "ck"], "--clock"),
        (["--verilog", str(MAC_ASYNC), "--top", "mac16_async", "--reset-port", "r"], "--reset"),
        ([EXAMPLE, "--verilog", str(MAC_ASYNC), "--top", "m"], "--verilog"),
        ([EXAMPLE, "--top", "mac16_async"], "--top"),
        ([], "design"),
        (["--verilog", *map(str, ACC_SV), "--top", "acc8_pipe", "--param", "W=x"], "--param"),
        (
            ["--verilog", str(MAC_SYNC), "--top", "mac16_sync", "--activity-from", "sequences"],
            "--stimulus",
        ),
    ],
)
def test_cli_bad_input_is_one_line(need_yosys, argv, field, capsys, tmp_path):
    work = tmp_path / "work"
    assert main(["synth", *argv, "--liberty", "none", "--workdir", str(work)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and f"field '{field}" in err and "Traceback" not in err
    assert not work.exists()


def test_unreadable_systemverilog_names_the_subset(need_yosys, tmp_path):
    src = tmp_path / "cls.sv"
    src.write_text(
        "class c; int x; endclass\nmodule m(input logic a, output logic y);\n"
        "assign y = a;\nendmodule\n"
    )
    with pytest.raises(InputError, match=r"cls.sv:1: .*read_verilog -sv.*sv2v"):
        read_top_ports([src], "m")


def test_cli_reports_area_path_and_power_method(need_yosys, need_sta, liberty, capsys):
    argv = ["synth", "--verilog", str(MAC_SYNC), "--top", "mac16_sync", "--liberty", str(liberty)]
    assert main([*argv, "--clock-ns", "8", "--ops-per-cycle", "1"]) == 0
    out = capsys.readouterr().out
    assert "design mac16_sync:" in out and "um^2" in out
    assert "critical path" in out and "[vectorless:" in out and "pJ/op (1 ops/cycle)" in out


def test_given_sequences_and_parameters(need_yosys, need_sta, liberty, tmp_path):
    """x = 1 every cycle makes the W = 4 accumulator a counter: its bit k toggles every
    2**k cycles; x = y = 0 leaves every data net still."""
    assert [p["width"] for p in read_top_ports(ACC_SV, "acc8_pipe", parameters={"W": 4})] == [
        1,
        1,
        4,
        4,
        8,
    ]
    n, reset = 64, 4
    common = dict(
        parameters={"W": 4},
        liberty=liberty,
        clock_ns=5.0,
        activity_from="sequences",
        cycles=n,
        reset_cycles=reset,
    )
    count = synthesize_external(
        ACC_SV,
        "acc8_pipe",
        sequences={"x": [1] * (n + reset), "y": [0] * (n + reset)},
        workdir=tmp_path / "count",
        **common,
    )
    still = synthesize_external(ACC_SV, "acc8_pipe", sequences={"x": [0] * (n + reset)}, **common)
    assert count.activity["method"] == "sequences" and "x, y" in count.activity["detail"]
    assert any("held at 0 in the simulation: y" in note for note in still.notes)
    assert still.power_mw["switching"] == 0.0 < count.power_mw["switching"]
    assert count.sequential_cells == 16  # 4 + 4 operand bits, 8 accumulator bits
    nets = read_saif(tmp_path / "count" / "activity_sim" / "activity.saif", scope=("calib_tb",))
    for k in range(4):
        rate = nets.nets[f"u_acc8_pipe/total[{k}]"][0]
        assert rate == pytest.approx(2.0**-k * n / (n + reset), abs=1.5 / (n + reset))


@pytest.mark.parametrize(
    "kwargs, field",
    [
        (dict(activity_from="sequences", sequences={"x": [0] * 3}), "sequences"),
        (dict(activity_from="sequences", sequences={"clk_i": [0] * 9999}), "sequences"),
        (dict(activity_from="sequences", sequences={"x": [256] * 9999}), "sequences"),
        (dict(sequences={"x": [0] * 9999}), "sequences"),
        (dict(parameters={"Q": 3}), "--param"),
        (dict(parameters={"W": "wide"}), "--param"),
        (dict(activity_from="gate"), "--activity-from"),
        (dict(activity_from="random", liberty="none"), "--activity-from"),
    ],
)
def test_bad_external_arguments(need_yosys, liberty, kwargs, field):
    kwargs = {"liberty": liberty, **kwargs}
    with pytest.raises(InputError, match=f"field '{field}'"):
        synthesize_external(ACC_SV, "acc8_pipe", **kwargs)
