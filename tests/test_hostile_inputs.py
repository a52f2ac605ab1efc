"""Hostile input, as a table: every row must end in one line on stderr that names the
offending field, exit status 2, no traceback, and no file written.

Each row is ``(argv, files, expected)``: ``files`` are written to a fresh temporary folder
first (text, bytes, or a callable that builds them), ``{tmp}`` in ``argv`` stands for that
folder, and ``expected`` must appear in the one error line. Rows call
:func:`shiftadd.cli.main` in-process (it returns the exit status); the broken-pipe test
needs a real pipe and runs a subprocess. The row count is stated in the README's "Bad
input" section.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from shiftadd.cli import main
from shiftadd.design.names import RESERVED_MODULE_NAMES, VERILOG_KEYWORDS
from shiftadd.families import arches, family

DESIGN = 'arch = "adder_tree"\nname = "hostile"\nmode = "xnor"\nk = 64\nn = 4\n'
EXAMPLE = str(Path(__file__).resolve().parent.parent / "examples" / "mac_int8_k64.toml")


@dataclasses.dataclass
class Case:
    id: str
    argv: list
    expected: str
    files: dict = dataclasses.field(default_factory=dict)


def design_with(**fields) -> str:
    """DESIGN with some lines replaced or added (values are TOML text)."""
    lines = dict(line.split(" = ", 1) for line in DESIGN.strip().splitlines())
    lines.update(fields)
    return "".join(f"{k} = {v}\n" for k, v in lines.items() if v is not None)


def model_case(id_, text, expected, name="d.toml") -> Case:
    return Case(id_, ["model", "{tmp}/" + name], expected, {name: text})


def sweep_spec(workload="", options="", engine="", top="") -> str:
    """A small valid spec; ``engine`` lines replace the engine's defaults of the same key."""
    fields = {"arch": '"adder_tree"', "mode": '"xnor"', "k": "64", "n": "4"}
    for line in engine.splitlines():
        key, value = line.split(" = ", 1)
        fields[key] = value
    body = "".join(f"{k} = {v}\n" for k, v in fields.items())
    return (
        f'{top}\n[workload]\nspec = "gpt2"\nphase = "decode"\n{workload}\n'
        f'[options]\nquality = "off"\n{options}\n[[engines]]\n{body}'
    )


def sweep_case(id_, expected, **parts) -> Case:
    return Case(
        id_,
        ["sweep", "{tmp}/s.toml", "--out", "{tmp}/o"],
        expected,
        {"s.toml": sweep_spec(**parts)},
    )


def config_case(id_, expected, **changes) -> Case:
    raw = {
        "model_type": "llama",
        "hidden_size": 256,
        "intermediate_size": 512,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "vocab_size": 1000,
    }
    raw.update(changes)
    text = json.dumps({k: v for k, v in raw.items() if v is not None})
    return Case(id_, ["workload", "show", "{tmp}/config.json"], expected, {"config.json": text})


# -- design files ---------------------------------------------------------------------------
DESIGN_CASES = [
    model_case("mode-list", design_with(mode='["xnor"]'), "'mode'"),
    model_case("mode-int", design_with(mode="3"), "'mode'"),
    model_case("mode-table", design_with(mode="{a = 1}"), "'mode'"),
    model_case("k-string", design_with(k='"64"'), "'k'"),
    model_case("k-bool", design_with(k="true"), "'k'"),
    model_case("k-fraction", design_with(k="64.5"), "'k'"),
    model_case("k-negative", design_with(k="-64"), "'k'"),
    model_case("k-zero", design_with(k="0"), "'k'"),
    model_case("k-huge", design_with(k="9223372036854775807"), "'k'"),
    model_case("k-inf", design_with(k="inf"), "'k'"),
    model_case("k-nan", design_with(k="nan"), "'k'"),
    model_case("k-date", design_with(k="1979-05-27"), "'k'"),
    model_case("k-list", design_with(k="[64]"), "'k'"),
    model_case("n-huge-float", design_with(n="1e300"), "'n'"),
    model_case("clock-nan", design_with(clock_ns="nan"), "'clock_ns'"),
    model_case("clock-inf", design_with(clock_ns="inf"), "'clock_ns'"),
    model_case("clock-negative", design_with(clock_ns="-1.0"), "'clock_ns'"),
    model_case("clock-string", design_with(clock_ns='"fast"'), "'clock_ns'"),
    model_case("clock-bool", design_with(clock_ns="false"), "'clock_ns'"),
    model_case("act-bits-list", design_with(act_bits="[8]"), "'act_bits'"),
    model_case("pipeline-bool", design_with(pipeline_stages="true"), "'pipeline_stages'"),
    model_case("threshold-int", design_with(threshold="1"), "'threshold'"),
    model_case("name-list", design_with(name='["x"]'), "'name'"),
    model_case("name-int", design_with(name="7"), "'name'"),
    model_case("name-non-ascii", design_with(name='"ñame"'), "'name'"),
    model_case("name-cjk", design_with(name='"名前"'), "'name'"),
    model_case("name-dash", design_with(name='"a-b"'), "'name'"),
    model_case("name-digit-first", design_with(name='"1abc"'), "'name'"),
    model_case("name-empty", design_with(name='""'), "'name'"),
    model_case("name-space", design_with(name='"a b"'), "'name'"),
    model_case("name-newline", design_with(name='"a\\nb"'), "'name'"),
    model_case("name-escaped-verilog", design_with(name='"\\\\esc"'), "'name'"),
    model_case("name-65-chars", design_with(name=f'"{"a" * 65}"'), "'name'"),
    model_case("name-megabyte", design_with(name=f'"{"a" * 1_000_000}"'), "'name'"),
    *[
        model_case(f"name-keyword-{kw}", design_with(name=f'"{kw}"'), "'name'")
        for kw in ("module", "wire", "logic", "always_ff", "class", "xnor", "endmodule", "begin")
    ],
    *[
        model_case(f"name-reserved-{n}", design_with(name=f'"{n}"'), "'name'")
        for n in sorted(RESERVED_MODULE_NAMES)
    ],
    model_case("unknown-field", design_with(foo="1"), "'foo'"),
    model_case("unknown-field-typo", design_with(pipline_stages="1"), "'pipline_stages'"),
    model_case("arch-missing", 'name = "x"\n', "'arch'"),
    model_case("arch-unknown", 'arch = "gpu"\n', "'arch'"),
    model_case("arch-list", 'arch = ["adder_tree"]\n', "'arch'"),
    model_case("arch-int", "arch = 1\n", "'arch'"),
    model_case("arch-table", "[arch]\nx = 1\n", "'arch'"),
    model_case("empty-toml", "", "'arch'"),
    model_case("whitespace-toml", "\n\n   \n", "'arch'"),
    model_case("toml-syntax", "arch = \n", "not valid TOML"),
    model_case("toml-duplicate-key", DESIGN + "k = 32\n", "not valid TOML"),
    model_case("toml-binary", bytes(range(256)) * 4, "d.toml"),
    model_case("toml-non-utf8", b'arch = "adder\xff\xfe"\n', "not valid TOML"),
    model_case("toml-nul", b"arch = 1\x00\n", "not valid TOML"),
    model_case("toml-nested-arrays-5000", "x = " + "[" * 5000 + "]" * 5000 + "\n", "nested"),
    model_case("toml-nested-arrays-100", "x = " + "[" * 100 + "]" * 100 + "\n", "nested"),
    model_case("toml-nested-tables-100", "x = " + "{a = " * 100 + "1" + "}" * 100 + "\n", "nested"),
    model_case("toml-dotted-header-200", "[" + ".".join(["a"] * 200) + "]\nb = 1\n", "nested"),
    model_case("toml-2MiB", "# " + "x" * (2 * 1024 * 1024) + "\n", "bytes"),
    model_case("yaml-2MiB", "a: [" + "1, " * (700 * 1024) + "1]\n", "bytes", "d.yaml"),
    model_case("unknown-field-100k-chars", design_with(**{"b" * 100_000: "1"}), "'bbbb"),
    model_case("yaml-empty", "", "'arch'", "d.yaml"),
    model_case("yaml-list-top", "- 1\n- 2\n", "top level", "d.yaml"),
    model_case("yaml-scalar-top", "hello\n", "top level", "d.yaml"),
    model_case(
        "yaml-alias-bomb",
        "a: &a [x, x, x, x, x, x, x, x, x]\n"
        + "".join(
            f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi")
        ),
        "aliases",
        "d.yaml",
    ),
    model_case("yaml-anchor", "arch: &a adder_tree\nname: x\n", "anchors", "d.yaml"),
    model_case("yaml-merge-key", "base: &b {k: 64}\n<<: *b\n", "anchors", "d.yaml"),
    model_case("yaml-duplicate-key", "arch: adder_tree\nname: x\nk: 64\nk: 32\n", "'k'", "d.yaml"),
    model_case("yaml-duplicate-arch", "arch: adder_tree\narch: systolic\n", "'arch'", "d.yaml"),
    model_case("yaml-nested-5000", "x: " + "[" * 5000 + "]" * 5000 + "\n", "nested", "d.yaml"),
    model_case(
        "yaml-nested-maps-100",
        "".join(" " * i + f"a{i}:\n" for i in range(100)) + " " * 100 + "b: 1\n",
        "nested",
        "d.yaml",
    ),
    model_case("yaml-syntax", "arch: [\n", "not valid YAML", "d.yaml"),
    model_case("yaml-tab-indent", "arch: adder_tree\n\tk: 3\n", "not valid YAML", "d.yaml"),
    model_case("yaml-two-documents", "arch: x\n---\nk: 1\n", "not valid YAML", "d.yaml"),
    model_case("yaml-non-utf8", b"arch: adder\xff\xfetree\n", "not valid YAML", "d.yaml"),
    model_case("yaml-binary", bytes(range(256)) * 4, "not valid YAML", "d.yaml"),
    model_case("yaml-int-key", "arch: adder_tree\nname: x\n1: 2\n", "'1'", "d.yaml"),
    model_case("yaml-null-key", "arch: adder_tree\nname: x\n~: 2\n", "'None'", "d.yaml"),
    model_case("yaml-date-name", "arch: adder_tree\nname: 2020-01-01\n", "'name'", "d.yaml"),
    model_case("yaml-bool-k", "arch: adder_tree\nname: x\nk: yes\n", "'k'", "d.yaml"),
    model_case("yml-python-tag", "arch: !!python/name:os.system\n", "not valid YAML", "d.yml"),
    model_case("suffix-json", "{}", ".json", "d.json"),
    model_case("suffix-none", DESIGN, "design file type", "design"),
    Case("design-missing", ["model", "{tmp}/nope.toml"], "no such file"),
    Case("design-is-folder", ["model", "{tmp}/dir.toml"], "not a regular file", {"dir.toml/x": ""}),
    Case(
        "design-symlink-loop",
        ["model", "{tmp}/loop.toml"],
        "symbolic link",
        {"loop.toml": lambda p: os.symlink(p, p)},
    ),
    Case(
        "design-dangling-symlink",
        ["model", "{tmp}/dangle.toml"],
        "no such file",
        {"dangle.toml": lambda p: os.symlink(p.parent / "missing.toml", p)},
    ),
    model_case(
        "shiftadd-const-shifts-string",
        'arch = "shiftadd"\nname = "s"\nshifter = "constant"\nconst_shifts = "abc"\n',
        "'const_shifts'",
    ),
    model_case(
        "shiftadd-shifter-list",
        'arch = "shiftadd"\nname = "s"\nshifter = ["barrel"]\n',
        "'shifter'",
    ),
    model_case(
        "threshold-weights-string",
        'arch = "threshold"\nname = "t"\nneuron_weights = "abc"\n',
        "'neuron_weights'",
    ),
    model_case(
        "threshold-weights-float",
        'arch = "threshold"\nname = "t"\nneuron_weights = [1.5, 1]\n',
        "'neuron_weights[0]'",
    ),
    model_case(
        "systolic-dataflow", 'arch = "systolic"\nname = "s"\ndataflow = "xx"\n', "'dataflow'"
    ),
    model_case("systolic-rows-zero", 'arch = "systolic"\nname = "s"\nrows = 0\n', "'rows'"),
    model_case("systolic-rows-huge", 'arch = "systolic"\nname = "s"\nrows = 1000000\n', "'rows'"),
    model_case(
        "matrix2d-act-bits-huge", 'arch = "matrix2d"\nname = "m"\nact_bits = 100\n', "'act_bits'"
    ),
    model_case("adder-tree-k-huge", design_with(k="1000000000"), "'k'"),
]


def _every_field_given_a_table() -> list[Case]:
    """Every field of every family given a table where a scalar or list belongs: the
    class of "a value of the wrong type" over the whole registry."""
    cases = []
    for arch in arches():
        for f in dataclasses.fields(family(arch).design_class):
            text = f'arch = "{arch}"\n' + ("" if f.name == "name" else 'name = "h"\n')
            text += f"{f.name} = {{bad = 1}}\n"
            cases.append(model_case(f"wrong-type-{arch}-{f.name}", text, f"'{f.name}'"))
    return cases


# -- command-line flags ---------------------------------------------------------------------
FLAG_CASES = [
    Case("vectors-text", ["sim", EXAMPLE, "--vectors", "abc"], "--vectors"),
    Case("vectors-zero", ["sim", EXAMPLE, "--vectors", "0"], "--vectors"),
    Case("vectors-negative", ["sim", EXAMPLE, "--vectors", "-5"], "--vectors"),
    Case("vectors-10^12", ["sim", EXAMPLE, "--vectors", "1000000000000"], "--vectors"),
    Case("demo-vectors-10^12", ["demo", "--vectors", "1000000000000"], "--vectors"),
    Case("sim-seed-negative", ["sim", EXAMPLE, "--seed", "-1"], "--seed"),
    Case("sim-simulator", ["sim", EXAMPLE, "--simulator", "modelsim"], "--simulator"),
    Case("sim-gemm-two", ["sim", EXAMPLE, "--gemm", "1,2"], "--gemm"),
    Case("sim-gemm-text", ["sim", EXAMPLE, "--gemm", "a,b,c"], "--gemm"),
    Case("sim-gemm-10^15", ["sim", EXAMPLE, "--gemm", "100000,100000,100000"], "--gemm"),
    Case("sim-gemm-wide-matrix", ["sim", EXAMPLE, "--gemm", "1,100000000,1"], "--gemm"),
    Case("sim-gemm-zero", ["sim", EXAMPLE, "--gemm", "0,1,1"], "--gemm"),
    Case("model-gemm-2^32", ["model", EXAMPLE, "--gemm", "4294967296,1,1"], "--gemm"),
    Case(
        "model-gemm-overflow",
        ["model", EXAMPLE, "--gemm", "100000000,100000000,100000000"],
        "--gemm",
    ),
    Case("model-gemm-float", ["model", EXAMPLE, "--gemm", "1.5,2,3"], "--gemm"),
    Case("model-activity-2", ["model", EXAMPLE, "--activity", "2"], "--activity"),
    Case("model-activity-nan", ["model", EXAMPLE, "--activity", "nan"], "--activity"),
    Case("model-activity-negative", ["model", EXAMPLE, "--activity", "-0.1"], "--activity"),
    Case("model-units-unknown", ["model", EXAMPLE, "--units", "nope"], "nope"),
    Case(
        "model-units-binary",
        ["model", EXAMPLE, "--units", "{tmp}/u.toml"],
        "u.toml",
        {"u.toml": bytes(range(128, 256)) * 8},
    ),
    Case(
        "model-units-nested",
        ["model", EXAMPLE, "--units", "{tmp}/u.toml"],
        "u.toml",
        {"u.toml": "x = " + "[" * 5000 + "]" * 5000 + "\n"},
    ),
    Case(
        "model-units-missing-unit",
        ["model", EXAMPLE, "--units", "{tmp}/u.toml"],
        "'dff'",
        {"u.toml": "[meta]\nname = 'x'\n"},
    ),
    Case("synth-clock-zero", ["synth", EXAMPLE, "--clock-ns", "0"], "--clock-ns"),
    Case("synth-clock-inf", ["synth", EXAMPLE, "--clock-ns", "inf"], "--clock-ns"),
    Case("synth-clock-nan", ["synth", EXAMPLE, "--clock-ns", "nan"], "--clock-ns"),
    Case("synth-effort", ["synth", EXAMPLE, "--effort", "extreme"], "--effort"),
    Case("sweep-workers-zero", ["sweep", "s.toml", "--out", "o", "--workers", "0"], "--workers"),
    Case(
        "sweep-workers-huge", ["sweep", "s.toml", "--out", "o", "--workers", "100000"], "--workers"
    ),
    Case("sweep-batch-zero", ["sweep", "s.toml", "--out", "o", "--batch", "0"], "--batch"),
    Case(
        "sweep-batch-huge", ["sweep", "s.toml", "--out", "o", "--batch", "10000000000"], "--batch"
    ),
    Case("sweep-phase", ["sweep", "s.toml", "--out", "o", "--phase", "train"], "--phase"),
    Case("plot-kind", ["plot", "{tmp}", "--kind", "pie"], "--kind"),
    Case("plot-top-zero", ["plot", "{tmp}", "--kind", "pareto", "--top", "0"], "--top"),
    Case("validate-random-zero", ["validate", "--random", "0"], "--random"),
    Case("validate-random-huge", ["validate", "--random", "5000"], "--random"),
    Case("validate-seed-negative", ["validate", "--random", "1", "--seed", "-1"], "--seed"),
    Case("export-point-text", ["export", "{tmp}", "abc", "--out", "{tmp}/x.toml"], "POINT_ID"),
    Case("export-point-negative", ["export", "{tmp}", "-1", "--out", "{tmp}/x.toml"], "POINT_ID"),
    Case("calibrate-name-path", ["calibrate", "--name", "../../../tmp/evil"], "--name"),
    Case("calibrate-name-empty", ["calibrate", "--name", ""], "--name"),
    Case("unknown-command", ["frobnicate"], "frobnicate"),
    Case("unknown-flag", ["model", EXAMPLE, "--frobnicate"], "--frobnicate"),
    Case("gen-missing-out", ["gen", EXAMPLE], "--out"),
    Case("no-command", [], "COMMAND"),
    Case("show-batch-zero", ["workload", "show", "gpt2", "--batch", "0"], "--batch"),
    Case("show-batch-huge", ["workload", "show", "gpt2", "--batch", "1000000000"], "--batch"),
    Case("show-seq-zero", ["workload", "show", "gpt2", "--seq", "0"], "--seq"),
    Case("show-seq-huge", ["workload", "show", "gpt2", "--seq", "1000000000"], "--seq"),
    Case(
        "show-context-huge", ["workload", "show", "gpt2", "--context", "10000000000"], "--context"
    ),
    Case("show-batch-text", ["workload", "show", "gpt2", "--batch", "x"], "--batch"),
    Case("show-unknown-model", ["workload", "show", "no-such-model"], "'model'"),
    Case("stats-format", ["workload", "stats", "{tmp}", "--format", "int4x"], "--format"),
    Case("stats-format-regex", ["workload", "stats", "{tmp}", "--format", "int(?P<bits>"], "intN"),
    Case(
        "stats-tile-zero",
        ["workload", "stats", "{tmp}", "--format", "int4", "--tile", "0"],
        "--tile",
    ),
    Case(
        "stats-sample-tiles-zero",
        ["workload", "stats", "{tmp}", "--format", "int4", "--sample-tiles", "0"],
        "--sample-tiles",
    ),
    Case(
        "stats-group-size-zero",
        ["workload", "stats", "{tmp}", "--format", "int4", "--group-size", "0"],
        "--group-size",
    ),
    Case(
        "stats-seed-negative",
        ["workload", "stats", "{tmp}", "--format", "int4", "--seed", "-1"],
        "--seed",
    ),
    Case(
        "stats-layers-backwards",
        ["workload", "stats", "{tmp}", "--format", "int4", "--layers", "3-1"],
        "--layers",
    ),
    Case(
        "stats-layers-10^9",
        ["workload", "stats", "{tmp}", "--format", "int4", "--layers", "0-999999999"],
        "--layers",
    ),
    Case(
        "stats-layers-long-number",
        ["workload", "stats", "{tmp}", "--format", "int4", "--layers", "9" * 5000],
        "--layers",
    ),
    Case(
        "stats-layers-text",
        ["workload", "stats", "{tmp}", "--format", "int4", "--layers", "a"],
        "--layers",
    ),
    Case("stats-mu-zero", ["workload", "stats", "{tmp}", "--format", "int4", "--mu", "0"], "--mu"),
    Case(
        "stats-checkpoint-missing",
        ["workload", "stats", "{tmp}/nope", "--format", "int4"],
        "checkpoint",
    ),
    Case("quality-format-no-slash", ["quality", "--format", "int4"], "--format"),
    Case("quality-format-unknown", ["quality", "--format", "foo/int8"], "intN"),
]

# -- output paths, checked before any work ----------------------------------------------------
_FILE = {"file": "x"}
OUTPUT_CASES = [
    Case("gen-out-is-file", ["gen", EXAMPLE, "--out", "{tmp}/file"], "--out", _FILE),
    Case("gen-out-under-file", ["gen", EXAMPLE, "--out", "{tmp}/file/rtl"], "--out", _FILE),
    Case("gen-out-proc", ["gen", EXAMPLE, "--out", "/proc/shiftadd_rtl"], "--out"),
    Case("gen-out-empty", ["gen", EXAMPLE, "--out", ""], "--out"),
    Case(
        "gen-out-symlink-loop",
        ["gen", EXAMPLE, "--out", "{tmp}/loop"],
        "--out",
        {"loop": lambda p: os.symlink(p, p)},
    ),
    Case("sweep-out-is-file", ["sweep", EXAMPLE, "--out", "{tmp}/file"], "--out", _FILE),
    Case("sweep-out-under-file", ["sweep", EXAMPLE, "--out", "{tmp}/file/o"], "--out", _FILE),
    Case("sweep-out-proc", ["sweep", EXAMPLE, "--out", "/proc/shiftadd_sweep"], "--out"),
    Case("synth-out-is-folder", ["synth", EXAMPLE, "--out", "{tmp}"], "--out"),
    Case("synth-out-under-file", ["synth", EXAMPLE, "--out", "{tmp}/file/r.json"], "--out", _FILE),
    Case("synth-out-proc", ["synth", EXAMPLE, "--out", "/proc/shiftadd.json"], "--out"),
    Case(
        "synth-workdir-is-file", ["synth", EXAMPLE, "--workdir", "{tmp}/file"], "--workdir", _FILE
    ),
    Case(
        "stats-out-under-file",
        ["workload", "stats", "{tmp}", "--format", "int4", "--out", "{tmp}/file/s.csv"],
        "--out",
        _FILE,
    ),
    Case(
        "stats-out-proc",
        ["workload", "stats", "{tmp}", "--format", "int4", "--out", "/proc/s.csv"],
        "--out",
    ),
    Case(
        "stats-out-folder",
        ["workload", "stats", "{tmp}", "--format", "int4", "--out", "{tmp}/d.csv"],
        "--out",
        {"d.csv/x": ""},
    ),
    Case(
        "stats-out-txt",
        ["workload", "stats", "{tmp}", "--format", "int4", "--out", "{tmp}/s.txt"],
        "--out",
    ),
    Case(
        "show-csv-under-file",
        ["workload", "show", "gpt2", "--csv", "{tmp}/file/w.csv"],
        "--csv",
        _FILE,
    ),
    Case("show-csv-proc", ["workload", "show", "gpt2", "--csv", "/proc/w.csv"], "--csv"),
    Case("show-csv-folder", ["workload", "show", "gpt2", "--csv", "{tmp}"], "--csv"),
    Case("show-csv-txt", ["workload", "show", "gpt2", "--csv", "{tmp}/w.txt"], "--csv"),
    Case(
        "show-scalesim-under-file",
        ["workload", "show", "gpt2", "--scalesim", "{tmp}/file/t.csv"],
        "--scalesim",
        _FILE,
    ),
    Case(
        "plot-out-under-file",
        ["plot", "{tmp}", "--kind", "pareto", "--out", "{tmp}/file/p"],
        "--out",
        _FILE,
    ),
    Case("plot-out-proc", ["plot", "{tmp}", "--kind", "pareto", "--out", "/proc/p"], "--out"),
    Case("calibrate-out-under-file", ["calibrate", "--out", "{tmp}/file/u.toml"], "--out", _FILE),
    Case("calibrate-out-suffix", ["calibrate", "--out", "{tmp}/u.txt"], "--out"),
    Case("validate-out-under-file", ["validate", "--out", "{tmp}/file/v.md"], "--out", _FILE),
    Case("validate-json-out-proc", ["validate", "--json-out", "/proc/v.json"], "--json-out"),
    Case("demo-out-is-file", ["demo", "--out", "{tmp}/file"], "--out", _FILE),
    Case("demo-out-proc", ["demo", "--out", "/proc/demo"], "--out"),
    Case(
        "export-out-under-file",
        ["export", "{tmp}", "0", "--out", "{tmp}/file/x.toml"],
        "--out",
        _FILE,
    ),
    Case("export-out-suffix", ["export", "{tmp}", "0", "--out", "{tmp}/x.txt"], "--out"),
]

# -- sweep specs ----------------------------------------------------------------------------
SWEEP_CASES = [
    sweep_case(
        "range-start-string",
        "engines[0].k.start",
        engine='k = {start = "a", stop = 256, factor = 2}',
    ),
    sweep_case(
        "range-stop-string", "engines[0].k.stop", engine='k = {start = 64, stop = "x", step = 64}'
    ),
    sweep_case(
        "range-step-list", "engines[0].k.step", engine="k = {start = 64, stop = 256, step = [1]}"
    ),
    sweep_case(
        "range-start-bool", "engines[0].k.start", engine="k = {start = true, stop = 256, step = 64}"
    ),
    sweep_case(
        "range-start-nan", "engines[0].k.start", engine="k = {start = nan, stop = 256, step = 64}"
    ),
    sweep_case(
        "range-stop-inf", "engines[0].k.stop", engine="k = {start = 64, stop = inf, step = 64}"
    ),
    sweep_case("range-no-step", "engines[0].k", engine="k = {start = 64, stop = 256}"),
    sweep_case(
        "range-step-and-factor",
        "engines[0].k",
        engine="k = {start = 64, stop = 256, step = 1, factor = 2}",
    ),
    sweep_case("range-step-zero", "engines[0].k", engine="k = {start = 64, stop = 256, step = 0}"),
    sweep_case(
        "range-step-backwards", "engines[0].k", engine="k = {start = 64, stop = 256, step = -1}"
    ),
    sweep_case(
        "range-factor-one", "engines[0].k", engine="k = {start = 64, stop = 256, factor = 1}"
    ),
    sweep_case(
        "range-10^12-values",
        "engines[0].k",
        engine="k = {start = 1, stop = 1000000000000, step = 1}",
    ),
    sweep_case(
        "range-tiny-factor",
        "engines[0].k",
        engine="k = {start = 1, stop = 1e300, factor = 1.0000001}",
    ),
    sweep_case(
        "range-tiny-step",
        "engines[0].activity",
        engine="activity = {start = 0.0, stop = 1.0, step = 1e-12}",
    ),
    sweep_case(
        "product-10^10-points",
        "engines[0]",
        engine="k = {start = 1, stop = 100, step = 1}\n"
        "n = {start = 1, stop = 100, step = 1}\n"
        "activity = {start = 0.0, stop = 1.0, step = 0.001}\n"
        "dram_gbps = {start = 1, stop = 1000, step = 1}",
    ),
    sweep_case(
        "max-points-small",
        "expands to 20",
        options="max_points = 10",
        engine="n = {start = 1, stop = 20, step = 1}",
    ),
    sweep_case("max-points-zero", "options.max_points", options="max_points = 0"),
    sweep_case("max-points-string", "options.max_points", options='max_points = "x"'),
    sweep_case("max-points-bool", "options.max_points", options="max_points = true"),
    sweep_case("chunk-size-zero", "options.chunk_size", options="chunk_size = 0"),
    sweep_case("chunk-size-fraction", "options.chunk_size", options="chunk_size = 1.5"),
    sweep_case("skip-invalid-string", "options.skip_invalid", options='skip_invalid = "yes"'),
    sweep_case("sram-path", "options.sram", options='sram = "../../etc/passwd"'),
    sweep_case("sram-list", "options.sram", options='sram = ["x"]'),
    sweep_case("sram-unknown", "options.sram", options='sram = "nope"'),
    sweep_case("timing-mode", "options.timing", options='timing = "x"'),
    sweep_case("quality-floor-nan", "options.quality_floor", options="quality_floor = nan"),
    sweep_case("dram-pj-negative", "options.dram_pj_per_bit", options="dram_pj_per_bit = -1"),
    sweep_case("dram-pj-inf", "options.dram_pj_per_bit", options="dram_pj_per_bit = inf"),
    sweep_case("unknown-option", "options.foo", options="foo = 1"),
    sweep_case("unknown-top-key", "'foo'", top="foo = 1"),
    sweep_case("sweep-name-list", "'name'", top='name = ["x"]'),
    Case(
        "workload-spec-int",
        ["sweep", "{tmp}/s.toml", "--out", "{tmp}/o"],
        "workload.spec",
        {"s.toml": sweep_spec().replace('spec = "gpt2"', "spec = 5")},
    ),
    Case(
        "workload-spec-missing",
        ["sweep", "{tmp}/s.toml", "--out", "{tmp}/o"],
        "workload.spec",
        {"s.toml": sweep_spec().replace('spec = "gpt2"', "")},
    ),
    Case(
        "workload-phase",
        ["sweep", "{tmp}/s.toml", "--out", "{tmp}/o"],
        "workload.phase",
        {"s.toml": sweep_spec().replace('phase = "decode"', 'phase = "train"')},
    ),
    sweep_case("workload-batch-zero", "workload.batch", workload="batch = 0"),
    sweep_case("workload-batch-bool", "workload.batch", workload="batch = true"),
    sweep_case("workload-batch-huge", "workload.batch", workload="batch = 1000000000000"),
    sweep_case("workload-seq-huge", "workload.seq", workload="seq = 1000000000000"),
    sweep_case("workload-context-string", "workload.context", workload='context = "x"'),
    sweep_case("workload-include-head", "workload.include_head", workload='include_head = "yes"'),
    sweep_case("workload-unknown-key", "workload.foo", workload="foo = 1"),
    Case(
        "engines-missing",
        ["sweep", "{tmp}/s.toml", "--out", "{tmp}/o"],
        "engines",
        {"s.toml": '[workload]\nspec = "gpt2"\n'},
    ),
    Case(
        "engines-int",
        ["sweep", "{tmp}/s.toml", "--out", "{tmp}/o"],
        "engines",
        {"s.toml": 'engines = 5\n[workload]\nspec = "gpt2"\n'},
    ),
    Case(
        "engines-2000",
        ["sweep", "{tmp}/s.toml", "--out", "{tmp}/o"],
        "engines",
        {"s.toml": sweep_spec() + '[[engines]]\narch = "adder_tree"\n' * 2000},
    ),
    Case(
        "engine-not-table",
        ["sweep", "{tmp}/s.toml", "--out", "{tmp}/o"],
        "engines[0].arch",
        {"s.toml": 'engines = [5]\n[workload]\nspec = "gpt2"\n'},
    ),
    Case(
        "engine-arch-list",
        ["sweep", "{tmp}/s.toml", "--out", "{tmp}/o"],
        "engines[0].arch",
        {"s.toml": sweep_spec().replace('arch = "adder_tree"', 'arch = ["adder_tree"]')},
    ),
    Case(
        "engine-arch-unknown",
        ["sweep", "{tmp}/s.toml", "--out", "{tmp}/o"],
        "engines[0].arch",
        {"s.toml": sweep_spec().replace('arch = "adder_tree"', 'arch = "gpu"')},
    ),
    Case(
        "engine-mode-nested-list",
        ["sweep", "{tmp}/s.toml", "--out", "{tmp}/o"],
        "engines[0]",
        {"s.toml": sweep_spec().replace('mode = "xnor"', 'mode = ["xnor", ["mac"]]')},
    ),
    Case(
        "engine-name-keyword",
        ["sweep", "{tmp}/s.toml", "--out", "{tmp}/o"],
        "'name'",
        {"s.toml": sweep_spec(engine='name = "module"')},
    ),
    sweep_case("engine-unknown-field", "engines[0].foo", engine="foo = 1"),
    sweep_case("engine-activity-2", "engines[0].activity", engine="activity = 2"),
    sweep_case("engine-activity-string", "engines[0].activity", engine='activity = "x"'),
    sweep_case("engine-activity-nan", "engines[0].activity", engine="activity = nan"),
    sweep_case("engine-dram-zero", "engines[0].dram_gbps", engine="dram_gbps = 0"),
    sweep_case("engine-clock-tiny", "engines[0].clock_ns", engine="clock_ns = 0.001"),
    sweep_case("engine-units-unknown", "engines[0].units", engine='units = "nope"'),
    sweep_case("engine-units-nested", "engines[0].units", engine='units = [["x"]]'),
    sweep_case("engine-buffer-negative", "engines[0].*_buffer_kib", engine="act_buffer_kib = -1"),
    sweep_case("engine-empty-list", "engines[0].n", engine="n = []"),
    Case(
        "spec-yaml-alias",
        ["sweep", "{tmp}/s.yaml", "--out", "{tmp}/o"],
        "aliases",
        {"s.yaml": "workload: &w {spec: gpt2}\nengines: [{arch: adder_tree}]\nx: *w\n"},
    ),
    Case(
        "spec-yaml-duplicate",
        ["sweep", "{tmp}/s.yaml", "--out", "{tmp}/o"],
        "'k'",
        {
            "s.yaml": "workload: {spec: gpt2}\nengines:\n"
            "  - arch: adder_tree\n    k: 64\n    k: 32\n"
        },
    ),
    Case(
        "spec-top-list",
        ["sweep", "{tmp}/s.yaml", "--out", "{tmp}/o"],
        "top level",
        {"s.yaml": "- 1\n"},
    ),
    Case(
        "out-corrupt-sweep-json",
        ["sweep", "{tmp}/s.toml", "--out", "{tmp}/o"],
        "--out",
        {"s.toml": sweep_spec(), "o/sweep.json": "{not json"},
    ),
    Case(
        "out-sweep-json-list",
        ["sweep", "{tmp}/s.toml", "--out", "{tmp}/o"],
        "--out",
        {"s.toml": sweep_spec(), "o/sweep.json": "[]"},
    ),
    Case(
        "out-sweep-json-binary",
        ["sweep", "{tmp}/s.toml", "--out", "{tmp}/o"],
        "--out",
        {"s.toml": sweep_spec(), "o/sweep.json": b"\xff\xfe\x00\x01"},
    ),
    Case(
        "out-other-sweep",
        ["sweep", "{tmp}/s.toml", "--out", "{tmp}/o"],
        "--out",
        {"s.toml": sweep_spec(), "o/sweep.json": '{"digest": "0123456789abcdef"}'},
    ),
]

# -- workload files, odd paths and more numbers ------------------------------------------------
_WORKLOAD_HEADER = "name,layer,M,N,K,count,kind,phase\n"
MORE_CASES = [
    *[
        Case(
            f"workload-csv-{name}",
            ["workload", "show", "{tmp}/w.csv"],
            field,
            {"w.csv": _WORKLOAD_HEADER + row + "\n"},
        )
        for name, row, field in (
            ("negative-m", "x,0,-1,2,3,1,act x weight,decode", "'M'"),
            ("m-2^76", "x,0,99999999999999999999999,2,3,1,act x weight,decode", "'M'"),
            ("m-text", "x,0,a,2,3,1,act x weight,decode", "'M'"),
            ("m-fraction", "x,0,1.5,2,3,1,act x weight,decode", "'M'"),
            ("m-nan", "x,0,nan,2,3,1,act x weight,decode", "'M'"),
            ("count-negative", "x,0,1,2,3,-5,act x weight,decode", "'count'"),
            ("kind-unknown", "x,0,1,2,3,1,weird,decode", "'kind'"),
            ("macs-10^24", "x,0,1000000000000,1000000,1000000,1,act x weight,decode", "'model'"),
        )
    ],
    Case("workload-csv-empty", ["workload", "show", "{tmp}/w.csv"], "w.csv", {"w.csv": ""}),
    Case(
        "workload-csv-no-columns",
        ["workload", "show", "{tmp}/w.csv"],
        "missing column",
        {"w.csv": "a,b\n1,2\n"},
    ),
    Case("design-path-nul", ["model", "{tmp}/a\x00b.toml"], "no such file"),
    Case("design-path-5000-chars", ["model", "{tmp}/" + "a" * 5000 + ".toml"], ".toml"),
    Case("gen-out-5000-chars", ["gen", EXAMPLE, "--out", "{tmp}/" + "a" * 5000], "--out"),
    Case(
        "design-symlink-to-dev-zero",
        ["model", "{tmp}/zero.toml"],
        "not a regular file",
        {"zero.toml": lambda p: os.symlink("/dev/zero", p)},
    ),
    model_case("yaml-k-1e400", "arch: adder_tree\nname: x\nk: 1e400\n", "'k'", "d.yaml"),
    model_case("toml-k-2^76", design_with(k="99999999999999999999999"), "'k'"),
    model_case("toml-k-hex-huge", design_with(k="0x7fffffffffffffff"), "'k'"),
    model_case("clock-1e400", design_with(clock_ns="1e400"), "'clock_ns'"),
    config_case("hidden-nan", "hidden_size", hidden_size=float("nan")),
    Case(
        "sweep-workload-huge-config",
        ["sweep", "{tmp}/s.toml", "--out", "{tmp}/o", "--workload", "{tmp}/config.json"],
        "hidden_size",
        {
            "s.toml": sweep_spec(),
            "config.json": json.dumps(
                {
                    "model_type": "llama",
                    "hidden_size": 10**12,
                    "intermediate_size": 512,
                    "num_hidden_layers": 2,
                    "num_attention_heads": 4,
                    "vocab_size": 1000,
                }
            ),
        },
    ),
]

_BIG_CONFIG = json.dumps(
    {
        "model_type": "llama",
        "hidden_size": 4096,
        "intermediate_size": 4096,
        "num_hidden_layers": 1,
        "num_attention_heads": 32,
        "vocab_size": 1000,
        "max_position_embeddings": 2**22,
    }
)
MORE_CASES += [
    Case(
        "sweep-gemm-2^62-macs",
        ["sweep", "{tmp}/s.toml", "--out", "{tmp}/o", "--workload", "{tmp}/config.json"],
        "workload.spec",
        {
            "s.toml": sweep_spec(workload=f"batch = {2**16}\nseq = {2**22}").replace(
                'phase = "decode"', 'phase = "prefill"'
            ),
            "config.json": _BIG_CONFIG,
        },
    ),
    Case(
        "show-gemm-2^62-macs",
        [
            "workload",
            "show",
            "{tmp}/config.json",
            "--phase",
            "prefill",
            "--batch",
            str(2**16),
            "--seq",
            str(2**22),
        ],
        "'model'",
        {"config.json": _BIG_CONFIG},
    ),
]

# -- model configs and checkpoints ----------------------------------------------------------
CONFIG_CASES = [
    config_case("hidden-10^12", "hidden_size", hidden_size=10**12, num_attention_heads=8),
    config_case("hidden-negative", "hidden_size", hidden_size=-1),
    config_case("hidden-string", "hidden_size", hidden_size="256"),
    config_case("hidden-bool", "hidden_size", hidden_size=True),
    config_case("hidden-fraction", "hidden_size", hidden_size=256.5),
    config_case("intermediate-huge", "intermediate_size", intermediate_size=2**40),
    config_case("layers-huge", "num_layers", num_hidden_layers=10**6),
    config_case("vocab-huge", "vocab_size", vocab_size=10**10),
    config_case("heads-zero", "num_attention_heads", num_attention_heads=0),
    config_case("model-type-list", "model_type", model_type=["llama"]),
    config_case("model-type-unknown", "model_type", model_type="foo"),
    config_case("model-type-missing", "model_type", model_type=None),
    config_case("vocab-missing", "vocab_size", vocab_size=None),
    Case(
        "gemm-macs-2^62",
        ["workload", "show", "{tmp}/config.json", "--phase", "prefill", "--seq", str(2**22)],
        "'model'",
        {
            "config.json": json.dumps(
                {
                    "model_type": "llama",
                    "hidden_size": 2**20,
                    "intermediate_size": 2**20,
                    "num_hidden_layers": 1,
                    "num_attention_heads": 2**10,
                    "vocab_size": 2**20,
                }
            )
        },
    ),
    Case(
        "config-garbage",
        ["workload", "show", "{tmp}/config.json"],
        "config.json",
        {"config.json": b"\xff\x00garbage"},
    ),
    Case(
        "config-list",
        ["workload", "show", "{tmp}/config.json"],
        "config.json",
        {"config.json": "[]"},
    ),
    Case(
        "config-empty",
        ["workload", "show", "{tmp}/config.json"],
        "config.json",
        {"config.json": ""},
    ),
    Case(
        "config-nested-100000",
        ["workload", "show", "{tmp}/config.json"],
        "config.json",
        {"config.json": "[" * 100000 + "]" * 100000},
    ),
]


def _index(weight_map) -> dict:
    return {
        "config.json": json.dumps(
            {
                "model_type": "llama",
                "hidden_size": 8,
                "intermediate_size": 16,
                "num_hidden_layers": 1,
                "num_attention_heads": 2,
                "vocab_size": 10,
            }
        ),
        "model.safetensors.index.json": json.dumps({"weight_map": weight_map}),
    }


CHECKPOINT_CASES = [
    Case(
        f"index-{name}",
        ["workload", "stats", "{tmp}/model.safetensors.index.json", "--format", "int4"],
        "weight_map",
        _index(weight_map),
    )
    for name, weight_map in (
        ("absolute-path", {"w": "/etc/passwd"}),
        ("absolute-safetensors", {"w": "/tmp/x.safetensors"}),
        ("parent-folder", {"w": "../x.safetensors"}),
        ("list-value", {"w": ["a.safetensors"]}),
        ("empty", {}),
        ("missing-shard", {"w": "absent.safetensors"}),
    )
] + [
    Case(
        "index-symlink-out",
        ["workload", "stats", "{tmp}/model.safetensors.index.json", "--format", "int4"],
        "weight_map",
        {
            **_index({"w": "link.safetensors"}),
            "link.safetensors": lambda p: os.symlink("/etc/hostname", p),
        },
    ),
    Case(
        "index-garbage",
        ["workload", "stats", "{tmp}/model.safetensors.index.json", "--format", "int4"],
        "index",
        {"model.safetensors.index.json": b"\x00\xffgarbage"},
    ),
]

# -- sweep results given to plot ----------------------------------------------------------------
PLOT_CASES = [
    Case(
        "plot-corrupt-points",
        ["plot", "{tmp}", "--kind", "pareto"],
        "points.parquet",
        {"sweep.json": "{}", "points.parquet": b"PAR1 garbage", "layers.parquet": b"x"},
    ),
    Case(
        "plot-corrupt-layers",
        ["plot", "{tmp}", "--kind", "pareto"],
        "layers.parquet",
        {
            "sweep.json": "{}",
            "points.parquet": lambda p: _parquet(p, {"point": [0]}),
            "layers.parquet": b"garbage",
        },
    ),
    Case(
        "plot-foreign-points",
        ["plot", "{tmp}", "--kind", "pareto"],
        "points.parquet",
        {
            "sweep.json": "{}",
            "points.parquet": lambda p: _parquet(p, {"a": [1]}),
            "layers.parquet": lambda p: _parquet(p, {"a": [1]}),
        },
    ),
    Case(
        "plot-corrupt-sweep-json",
        ["plot", "{tmp}", "--kind", "pareto"],
        "sweep.json",
        {"sweep.json": "{nope", "points.parquet": b"x", "layers.parquet": b"x"},
    ),
    Case(
        "plot-sweep-json-list",
        ["plot", "{tmp}", "--kind", "pareto"],
        "sweep.json",
        {
            "sweep.json": "[]",
            "points.parquet": lambda p: _parquet(
                p, {"point": [0], "area_mm2": [1.0], "energy_per_token_uj": [1.0]}
            ),
            "layers.parquet": lambda p: _parquet(p, {"a": [1]}),
        },
    ),
    Case("plot-not-a-sweep", ["plot", "{tmp}", "--kind", "pareto"], "points.parquet"),
    Case(
        "export-corrupt-points",
        ["export", "{tmp}", "0", "--out", "{tmp}/x.toml"],
        "points.parquet",
        {"points.parquet": b"PAR1 garbage"},
    ),
    Case(
        "export-foreign-points",
        ["export", "{tmp}", "0", "--out", "{tmp}/x.toml"],
        "points.parquet",
        {"points.parquet": lambda p: _parquet(p, {"a": [1]})},
    ),
    Case(
        "export-missing-point",
        ["export", "{tmp}", "7", "--out", "{tmp}/x.toml"],
        "POINT_ID",
        {
            "points.parquet": lambda p: _parquet(
                p, {"point": [0], "design": ["{}"], "clock_ns": [10.0]}
            )
        },
    ),
]


def _parquet(path: Path, columns: dict) -> None:
    import pandas as pd

    pd.DataFrame(columns).to_parquet(path)


CASES = (
    DESIGN_CASES
    + _every_field_given_a_table()
    + FLAG_CASES
    + OUTPUT_CASES
    + SWEEP_CASES
    + MORE_CASES
    + CONFIG_CASES
    + CHECKPOINT_CASES
    + PLOT_CASES
)


def _tree(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def _build(tmp: Path, files: dict) -> None:
    for name, content in files.items():
        path = tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Callable):
            content(path)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_input(case: Case, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # relative outputs (e.g. "o") would land here
    _build(tmp_path, case.files)
    before = _tree(tmp_path)
    argv = [str(a).replace("{tmp}", str(tmp_path)) for a in case.argv]
    status = main(argv)
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert status == 2, (status, err[-2000:])
    assert len(lines) == 1, err[-2000:]
    line = lines[0]
    assert "Traceback" not in err
    assert line.startswith("shiftadd"), line
    assert ": error: " in line, line
    assert case.expected in line, line
    assert len(line) <= 1100, len(line)
    assert out == ""
    assert _tree(tmp_path) == before, "files were written"


def test_table_covers_enough_kinds():
    """The README states the row count; the issue asked for at least 141 kinds."""
    assert len(CASES) >= 141
    assert len({c.id for c in CASES}) == len(CASES)
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert f"{len(CASES)} hostile inputs" in readme


def test_names_cover_the_harness_and_every_keyword():
    from shiftadd.sim.harness import HARNESS_TOP

    assert HARNESS_TOP in RESERVED_MODULE_NAMES
    assert len(VERILOG_KEYWORDS) == 248  # IEEE 1800-2017 Annex B
    assert {"module", "always_ff", "interconnect", "nettype", "softs"} - VERILOG_KEYWORDS == {
        "softs"
    }


def test_largest_gemm_accepted_prints_positive_exact_figures(capsys):
    """At the bound (M*N*K = 2^53) the model's figures are positive and its MAC count is
    exact: nothing overflows."""
    m, n, k = 2**21, 2**21, 2**11
    assert main(["model", EXAMPLE, "--gemm", f"{m},{n},{k}", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)["gemm"]
    assert d["macs"] == m * n * k
    # k = 64, n = 4: at least M*N*K / 256 cycles, and not wildly more.
    assert m * n * k // 256 <= d["cycles"] < 2 * m * n * k // 256
    assert d["energy_pj"] > 0 and d["latency_ns"] > 0


def test_broken_pipe_is_quiet(tmp_path):
    """``shiftadd workload show ... --json | head -1``: the reader goes away; the command
    ends without a traceback or an "Exception ignored" message. The read end is closed
    before the child writes, so every write meets a closed pipe."""
    read_fd, write_fd = os.pipe()
    os.close(read_fd)
    proc = subprocess.run(
        [sys.executable, "-m", "shiftadd.cli", "workload", "show", "llama-2-7b", "--json"],
        stdout=write_fd,
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
    )
    os.close(write_fd)
    assert proc.stderr == "", proc.stderr
    assert proc.returncode == 141  # the closed pipe was seen, and stopped the command


def test_pipe_into_head_is_quiet():
    """The same through a shell pipeline: the first line arrives, nothing on stderr."""
    command = f"{sys.executable} -m shiftadd.cli workload show llama-2-7b --json | head -1"
    proc = subprocess.run(
        ["sh", "-c", command], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.stdout == "{\n"
    assert proc.stderr == "", proc.stderr
