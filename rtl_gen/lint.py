"""``verilator --lint-only -Wall`` on generated Verilog."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import tempfile
from pathlib import Path

from .tools import setup_verilator

__all__ = ["LintResult", "lint_verilog"]


@dataclasses.dataclass(frozen=True)
class LintResult:
    ok: bool
    warnings: tuple[str, ...]
    command: tuple[str, ...]


def lint_verilog(source: str | os.PathLike, top: str, *, is_text: bool = False) -> LintResult:
    """Lint a Verilog file (or text, with ``is_text=True``) with every warning enabled."""
    exe, _ = setup_verilator()
    with tempfile.TemporaryDirectory(prefix="shiftadd-lint-") as tmp:
        if is_text:
            path = Path(tmp) / f"{top}.v"
            path.write_text(str(source))
        else:
            path = Path(source).resolve()
        cmd = [exe, "--lint-only", "-Wall", "--top-module", top, str(path)]
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp)
    messages = [
        line
        for line in (proc.stdout + proc.stderr).splitlines()
        if re.match(r"%(Warning|Error)", line)
    ]
    return LintResult(
        ok=proc.returncode == 0 and not messages, warnings=tuple(messages), command=tuple(cmd)
    )
