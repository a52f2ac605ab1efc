"""``sim --waves``: a waveform of the run (FST, or VCD on a Verilator without FST support),
a separate traced build, its path printed, and ``--waves`` in a failure's reproduce line."""

import json

import pytest

from shiftadd.cli import main
from shiftadd.design import AdderTreeDesign
from shiftadd.sim.runner import simulate, verilator_fst, waves_file

pytestmark = pytest.mark.sim

TINY = dict(name="waves_tiny", mode="mac", k=5, n=2, act_bits=4, weight_bits=3)


def _check_waveform(path, fmt):
    data = path.read_bytes()
    assert len(data) > 1000, len(data)
    if fmt == "vcd":
        text = data.decode()
        assert "$enddefinitions" in text and "$var" in text
        assert "shiftadd_harness" in text  # the harness and the design under it
        assert text.count("\n#") > 50  # many time steps, not only the header
    else:
        assert data[0] == 0  # an FST file opens with its header block (type 0)


def test_waves_file_suffix_follows_the_format():
    assert waves_file("a/run.fst", "icarus").name == "run.fst"
    assert waves_file("a/run.vcd", "icarus").name == "run.fst"  # cocotb's Icarus dumps FST
    assert waves_file("a/run.vcd", "verilator").name == "run.vcd"
    expected = ".fst" if verilator_fst() else ".vcd"
    assert waves_file("a/run.fst", "verilator").suffix == expected


def test_failing_run_on_verilator_writes_waves_and_says_how_to_repeat(tmp_path, sim_build_root):
    design = AdderTreeDesign(**TINY)
    report = simulate(
        design,
        vectors=300,
        seed=2,
        fault="expected",
        depth=64,  # chunks of 64 transfers: the corrupted first one fails
        waves=tmp_path / "fail.fst",
        build_root=sim_build_root,
    )
    assert not report.passed and report.mismatches == 1
    # the waveform ends with the first failing chunk: later chunks were not run
    assert 0 < report.vectors <= 64
    assert "--waves" in report.reproduce and "--seed 2" in report.reproduce
    path = waves_file(tmp_path / "fail.fst", "verilator")
    assert report.waves == str(path.resolve())
    _check_waveform(path, path.suffix[1:])
    # its own build: the default (untraced) build stays as fast as before
    assert report.build_dir.rsplit("/", 1)[-1].startswith(
        f"waves_tiny-verilator-{path.suffix[1:]}-"
    )
    assert not list(tmp_path.glob(".*.tmp*"))  # nothing half written left behind


def test_cli_sim_waves_prints_the_path(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    design = tmp_path / "tiny.toml"
    design.write_text(
        'arch = "adder_tree"\n' + "".join(f"{k} = {json.dumps(v)}\n" for k, v in TINY.items())
    )
    assert main(["sim", str(design), "--vectors", "200", "--seed", "2", "--waves"]) == 0
    captured = capsys.readouterr()
    fmt = "fst" if verilator_fst() else "vcd"
    path = tmp_path / "out" / "waves" / f"tiny-verilator-seed2.{fmt}"
    assert f"waves               {path}" in captured.out
    _check_waveform(path, fmt)
    # progress of the run on stderr (not a terminal: one line at start, one at the end)
    assert "simulate waves_tiny on verilator ..." in captured.err
    assert "simulate waves_tiny on verilator: done in" in captured.err
    # under --json, stdout is the JSON alone and carries the path; stderr has no progress
    assert main(["sim", str(design), "--vectors", "200", "--waves", "w.vcd", "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["waves"] == str(tmp_path / "w.vcd")
    assert captured.err == ""
    _check_waveform(tmp_path / "w.vcd", "vcd")
    # a path that cannot hold a waveform is refused before any build
    assert main(["sim", str(design), "--waves", "w.txt"]) == 2
    assert "--waves" in capsys.readouterr().err


def test_icarus_writes_fst(tmp_path, sim_build_root):
    report = simulate(
        AdderTreeDesign(**TINY),
        vectors=100,
        simulator="icarus",
        waves=tmp_path / "run.fst",
        build_root=sim_build_root,
    )
    assert report.passed
    assert report.waves == str(tmp_path / "run.fst")
    _check_waveform(tmp_path / "run.fst", "fst")
