"""The shiftadd command: every subcommand, its JSON output, and its error paths."""

import json
import subprocess
import sys

import pytest

from shiftadd.cli import main

XNOR = 'arch = "adder_tree"\nname = "cli_xnor"\nmode = "xnor"\nk = 16\nn = 2\nthreshold = true\n'


@pytest.fixture
def design(tmp_path):
    path = tmp_path / "d.toml"
    path.write_text(XNOR)
    return path


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_gen_writes_verilog_and_manifest(design, tmp_path, capsys):
    code, out, _ = run(capsys, "gen", design, "--out", tmp_path / "rtl", "--json")
    assert code == 0
    result = json.loads(out)
    assert result["lint"]["ok"]
    manifest = json.loads((tmp_path / "rtl" / "cli_xnor.json").read_text())
    assert manifest["parameters"]["k"] == 16
    assert (tmp_path / "rtl" / "cli_xnor.v").read_text().count("module cli_xnor(") == 1


def test_model_reports_cycles_area_energy(design, capsys):
    code, out, _ = run(capsys, "model", design, "--gemm", "10,5,40", "--json")
    assert code == 0
    d = json.loads(out)
    assert d["latency_cycles"] == 2 and d["cost"]["area"] > 0
    assert d["gemm"]["cycles"] == 3 * 5 + 3 * 3 * 10 + 2
    code, out, _ = run(capsys, "model", design, "--breakdown")
    assert "lane XNORs" in out and "TOPS/W" in out


@pytest.mark.sim
def test_sim_passes_and_reports(design, capsys):
    code, out, _ = run(capsys, "sim", design, "--vectors", "500", "--json")
    assert code == 0
    d = json.loads(out)
    assert d["passed"] and d["vectors"] == 500 and d["dot_products"] == 1000
    assert d["cycle_checked"] == 500


@pytest.mark.synth
def test_synth_generic_and_liberty(
    design, capsys, need_yosys, need_sta, liberty, monkeypatch, tmp_path
):
    monkeypatch.delenv("SHIFTADD_LIBERTY", raising=False)
    code, out, _ = run(capsys, "synth", design)
    assert code == 0 and "GE" in out and "no liberty" in out
    report = tmp_path / "synth.json"
    code, out, _ = run(
        capsys, "synth", design, "--liberty", liberty, "--clock-ns", "4", "--out", report, "--json"
    )
    assert code == 0
    d = json.loads(out)
    assert d["area_unit"] == "um^2" and d["fmax_mhz"] > 0 and d["power_mw"]["total"] > 0
    assert json.loads(report.read_text())["area"] == d["area"]


def test_doctor_json(capsys):
    code, out, _ = run(capsys, "doctor", "--json")
    names = [t["name"] for t in json.loads(out)["tools"]]
    assert code == 0 and any("verilator" in n for n in names) and any("liberty" in n for n in names)


@pytest.mark.parametrize(
    "text,field",
    [
        ('arch = "adder_tree"\nmode = "ternary"\n', "mode"),
        ('arch = "adder_tree"\nk = "big"\n', "k"),
        ('arch = "warp_drive"\n', "arch"),
        ('arch = "adder_tree"\nkk = 3\n', "kk"),
    ],
)
def test_bad_design_exits_2_without_output(tmp_path, capsys, text, field):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    out_dir = tmp_path / "never"
    code, out, err = run(capsys, "gen", path, "--out", out_dir)
    assert code == 2 and f"field '{field}'" in err and "Traceback" not in err
    assert not out_dir.exists()
    for command in (["model", path], ["sim", path], ["synth", path]):
        code, _, err = run(capsys, *command)
        assert code == 2 and f"field '{field}'" in err


@pytest.mark.parametrize(
    "argv,message",
    [
        (["sim", "D", "--vectors", "0"], "--vectors"),
        (["sim", "D", "--simulator", "vcs"], "--simulator"),
        (["model", "D", "--gemm", "1,2"], "--gemm"),
        (["synth", "D", "--clock-ns", "-1"], "--clock-ns"),
        (["synth", "D", "--activity", "2"], "--activity"),
        (["model", "D", "--units", "nope"], "--units"),
        (["synth", "D", "--liberty", "/no/such.lib"], "--liberty"),
    ],
)
def test_bad_flags_exit_2(design, capsys, argv, message):
    argv = [design if a == "D" else a for a in argv]
    with pytest.raises(SystemExit) as info:
        code = main([str(a) for a in argv])
        raise SystemExit(code)
    _, err = capsys.readouterr()
    assert info.value.code == 2 and message in err and "Traceback" not in err


def test_console_script_runs_in_a_subprocess(design, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "shiftadd.cli", "model", str(design), "--json"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.returncode == 0 and json.loads(proc.stdout)["ops_per_cycle"] == 64
    proc = subprocess.run(
        [sys.executable, "-m", "shiftadd.cli", "model", "missing.toml"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.returncode == 2 and "no such file" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_workload_command_is_wired(capsys):
    code, out, _ = run(capsys, "workload", "show", "llama-2-7b", "--phase", "decode", "--json")
    assert code == 0 and "q_proj" in out


@pytest.mark.synth
def test_relative_paths_work(design, capsys, need_yosys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SHIFTADD_LIBERTY", raising=False)
    code, out, _ = run(capsys, "gen", design, "--out", "rtl", "--json")
    assert code == 0 and json.loads(out)["lint"]["ok"]
    code, out, _ = run(capsys, "synth", design, "--workdir", "work", "--json")
    assert code == 0 and (tmp_path / "work" / "yosys_map.log").is_file()


def test_validate_bad_input_exits_2_without_output(design, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("SHIFTADD_LIBERTY", raising=False)
    out = tmp_path / "validation.md"
    code, _, err = run(capsys, "validate", design, "--out", out)
    assert code == 2 and "field '--liberty'" in err and "Traceback" not in err
    code, _, err = run(
        capsys,
        "validate",
        tmp_path / "missing.toml",
        "--liberty",
        tmp_path / "none.lib",
        "--out",
        out,
    )
    assert code == 2 and "Traceback" not in err
    assert not out.exists()
