"""Generated Verilog of the grid engines is lint-clean (``verilator --lint-only -Wall``), and
the CLI generates and models the example design files."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from shiftadd.design import design_from_dict
from shiftadd.rtl_gen.emit import generate_verilog
from shiftadd.rtl_gen.lint import lint_verilog

REPO = Path(__file__).resolve().parent.parent

ENGINES = [
    dict(arch="systolic", dataflow="os", rows=3, cols=2, k_max=20),
    dict(arch="systolic", dataflow="ws", rows=3, cols=2),
    dict(arch="matrix2d", rows=2, cols=3, k_max=20),
]
ARITH = [
    dict(mode="mac"),
    dict(mode="mac", act_bits=4, act_signed=False, weight_bits=4, acc_bits=9, wrap=True),
    dict(mode="addsub", act_bits=5),
    dict(mode="ternary", act_bits=6, act_signed=False),
]
CASES = [
    dict(e, **a, carry_save_accumulate=cs) for e in ENGINES for a in ARITH for cs in (False, True)
]


@pytest.mark.parametrize("params", CASES, ids=lambda p: "-".join(map(str, p.values())))
def test_generated_verilog_is_lint_clean(params):
    design = design_from_dict(dict(params, name="lint_grid"))
    result = lint_verilog(generate_verilog(design).verilog, design.name, is_text=True)
    assert result.ok, result.warnings[:5]


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "shiftadd.cli", *args],
        capture_output=True,
        text=True,
        cwd=REPO.parent,
    )


def test_cli_gen_and_model_on_examples(tmp_path):
    example = REPO / "examples" / "systolic_ws_csa_int4_8x8.toml"
    r = _cli("gen", str(example), "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "systolic_ws_csa_int4_8x8.v").is_file()
    r = _cli(
        "model", str(REPO / "examples" / "matrix2d_int8_8x8.toml"), "--gemm", "20,30,100", "--json"
    )
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    # the GEMM given on the command line is the one modelled, with positive cycles and area
    assert (out["gemm"]["M"], out["gemm"]["N"], out["gemm"]["K"]) == (20, 30, 100)
    assert out["gemm"]["cycles"] > 0 and out["gemm"]["macs"] == 20 * 30 * 100
    assert out["cost"]["area"] > 0 and out["cost"]["area_unit"] == "um^2"


def test_cli_reports_a_bad_design_in_one_line(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('arch = "systolic"\ndataflow = "ws"\nk_max = 8\n')
    r = _cli("model", str(bad))
    assert r.returncode == 2 and "k_max" in r.stderr and "Traceback" not in r.stderr
