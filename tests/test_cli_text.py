"""What the shiftadd command prints for people: formatted numbers, table headers, counts that
agree with what is listed, one cycle figure per meaning, and help with defaults."""

import argparse
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from shiftadd.cli import build_parser, main
from shiftadd.models.pareto import pareto_front

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
# A run of digits after a decimal point that no person asked for (13.333333333333334).
LONG_FLOAT = re.compile(r"\d\.\d{6,}")

SPEC = """
name = "cli-text"

[workload]
spec = "opt-125m"
phase = "decode"
batch = 2
context = 128

[[engines]]
arch = "adder_tree"
mode = ["xnor", "mac"]
k = [16, 32]
n = [4, 8]
clock_ns = [5.0, 10.0]
dram_gbps = [10.0, 40.0]

[[engines]]
arch = "shiftadd"
mu = 4
q = 2
columns = [8, 16]
dram_gbps = [10.0, 40.0]
"""


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    "example",
    ["threshold_pool4.toml", "mac_k16_opt34_digit_sparse.toml", "mac_int8_k64.toml"],
)
def test_model_prints_rounded_numbers(example, capsys):
    code, out, _ = run(capsys, "model", EXAMPLES / example, "--gemm", "33,10,150")
    assert code == 0
    assert not LONG_FLOAT.search(out), out
    assert "cycle(s)" not in out and "nan" not in out
    ops = re.search(r", ([\d.,]+) ops/cycle", out.splitlines()[0]).group(1)
    assert len(ops.replace(",", "").replace(".", "")) <= 5, ops
    assert "GEMM 33x10x150 (MxNxK)" in out


def test_model_breakdown_tables_have_headers(capsys):
    code, out, _ = run(capsys, "model", EXAMPLES / "mac_int8_k64.toml", "--breakdown")
    assert code == 0
    lines = out.splitlines()
    header = next(
        i for i, line in enumerate(lines) if line.split()[:3] == ["part", "unit", "count"]
    )
    assert "area (um^2)" in lines[header] and "energy (pJ/cycle)" in lines[header]
    rows = lines[header + 1 :]
    assert rows and all(len(r.split()) >= 5 for r in rows)
    # Columns line up under the header: each row's last number ends where the header does.
    assert all(len(r) == len(lines[header]) for r in rows)
    timing = next(i for i, line in enumerate(lines) if "critical path element" in line)
    assert "delay (ns)" in lines[timing] and lines[timing + 1].strip()[-1].isdigit()


@pytest.fixture(scope="module")
def sweep_out(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli_sweep")
    spec = folder / "spec.toml"
    spec.write_text(SPEC)
    return spec, folder / "out"


def test_sweep_summary_counts_agree_with_the_rows(sweep_out, capsys):
    spec, out = sweep_out
    code, text, _ = run(capsys, "sweep", spec, "--out", out, "--workers", "1", "--no-plots")
    assert code == 0
    assert "nan" not in text.lower().replace("nanmin", "")
    lines = text.splitlines()
    count_line = next(line for line in lines if "Pareto front" in line)
    total = int(re.search(r": (\d+) points", count_line).group(1))
    m = re.search(r"(\d+) distinct \(the other (\d+) tie", count_line)
    distinct = int(m.group(1)) if m else total
    assert not m or distinct + int(m.group(2)) == total
    listed = int(re.search(r"(\d+) listed", count_line).group(1))
    start = lines.index(count_line) + 2  # after the header row
    assert lines[start - 1].split()[:2] == ["point", "engine"]
    rows = [line for line in lines[start:] if re.match(r"\s+\d+\s", line)]
    assert len(rows) == listed == min(12, distinct)
    more = [line for line in lines if "more distinct designs" in line]
    assert (int(more[0].split()[1]) if more else 0) == distinct - listed

    # The same front, computed here: every listed id is on it, and ties add up to the count.
    points = pd.read_parquet(out / "points.parquet")
    objectives = [("area_mm2", "min"), ("energy_per_token_uj", "min"), ("quality", "max")]
    front = pareto_front(points, objectives)
    assert len(front) == total
    assert front.drop_duplicates([c for c, _ in objectives]).shape[0] == distinct
    ids = set(front["point"])
    for row in rows:
        assert int(row.split()[0]) in ids
        assert not row.rstrip().endswith("nan")
    # Shift-add rows name the engine only: it has no PE mode.
    assert any(re.search(r"\d\s+shiftadd\s+\d", r) for r in rows) or "shiftadd" not in set(
        front["arch"].head(listed)
    )


def test_sweep_json_reports_both_counts(sweep_out, capsys):
    spec, out = sweep_out
    code, text, _ = run(
        capsys, "sweep", spec, "--out", out, "--workers", "1", "--no-plots", "--json"
    )
    assert code == 0
    result = json.loads(text)
    assert result["pareto_points"] >= result["pareto_distinct"] >= 1


DATA_SPEC = """
name = "cli-data-activity"

[workload]
spec = "opt-125m"
phase = "decode"
context = 64

[[engines]]
arch = "adder_tree"
mode = "mac"
k = 16
n = 4
digit_sparse = [false, true]
activity = [0.5, "data"]
"""


def test_sweep_text_summary_prints_the_activity_line(tmp_path, capsys):
    """The text summary says what the energy was priced on, as ``--json`` does."""
    spec = tmp_path / "spec.toml"
    spec.write_text(DATA_SPEC)
    argv = ("sweep", spec, "--out", tmp_path / "out", "--workers", "1", "--no-plots")
    code, text, _ = run(capsys, *argv)
    assert code == 0
    code, as_json, _ = run(capsys, *argv, "--json")
    assert code == 0
    activity = json.loads(as_json)["activity"]
    line = next(line for line in text.splitlines() if line.startswith("  activity  "))
    assert line == f"  activity  {activity['text']}"
    assert "2 points at the spec's activity (0.5); 2 points on data (data:synthetic)" in line
    assert "1 digit_sparse points on data with cycles from its digits" in line
    assert activity["data_cycles"] == 1


def _subparsers(parser, name="shiftadd"):
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child_name, child in action.choices.items():
                yield from _subparsers(child, f"{name} {child_name}")


def test_every_flag_has_help_and_shows_its_default():
    for name, parser in _subparsers(build_parser()):
        text = parser.format_help()
        for action in parser._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            assert action.help, f"{name} {action.option_strings or action.dest}: no help"
            default = action.default
            if action.option_strings and not (
                default is None or default is False or default == argparse.SUPPRESS
            ):
                flag = action.option_strings[0]
                # the flag's entry in the options list, up to the next flag
                at = re.search(r"\n  " + re.escape(flag) + r"(?=[ ,\n])", text).end()
                block = text[at:]
                block = re.split(r"\n  -", block, maxsplit=1)[0]
                assert "default" in block and str(default) in " ".join(block.split()), (
                    f"{name} {flag}: default {default!r} not shown"
                )


@pytest.mark.sim
def test_sim_labels_its_two_cycle_figures(tmp_path, capsys):
    path = tmp_path / "mac.toml"
    path.write_text(
        'arch = "adder_tree"\nname = "cli_text_mac"\nmode = "mac"\nk = 4\nn = 2\n'
        "act_bits = 4\nweight_bits = 4\n"
    )
    code, out, _ = run(capsys, "sim", path, "--gemm", "5,3,10")
    assert code == 0, out
    assert "simulated cycles" not in out and "cycles simulated" not in out
    run_line = next(line for line in out.splitlines() if "clock cycles run" in line)
    gemm = re.search(r"first input to last output ([\d,]+) cycles, analytic model ([\d,]+)", out)
    assert gemm and gemm.group(1) == gemm.group(2)
    # The clock ran at least as long as the GEMM took (fill and drain come on top).
    assert int(run_line.split()[3].replace(",", "")) >= int(gemm.group(1).replace(",", ""))
