"""Shared test helpers.

Simulation and synthesis tests need external tools. Outside CI a missing tool skips the
test; with ``SHIFTADD_REQUIRE_TOOLS=1`` (set by ``.ci/run``) a missing tool fails it, so CI
never silently skips simulation or synthesis.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_LIBERTY = REPO.parent / "shared" / "pdk" / "ihp-sg13g2" / "sg13g2_stdcell_typ_1p20V_25C.lib"


def _require(what: str, available: bool, fix: str) -> None:
    if available:
        return
    message = f"{what} not available ({fix})"
    if os.environ.get("SHIFTADD_REQUIRE_TOOLS") == "1":
        pytest.fail(message + "; SHIFTADD_REQUIRE_TOOLS=1 forbids skipping")
    pytest.skip(message)


@pytest.fixture
def need_yosys():
    _require("yosys", shutil.which("yosys") is not None, "apt-get install yosys")


@pytest.fixture
def need_sta():
    _require("OpenSTA", shutil.which("sta") is not None, "apt-get install opensta")


@pytest.fixture
def need_iverilog():
    _require("Icarus Verilog", shutil.which("iverilog") is not None, "apt-get install iverilog")


@pytest.fixture
def liberty() -> Path:
    """The IHP SG13G2 liberty: from SHIFTADD_LIBERTY or ../shared; CI must have it."""
    env = os.environ.get("SHIFTADD_LIBERTY")
    path = Path(env) if env else SHARED_LIBERTY
    _require(
        "the IHP SG13G2 liberty",
        path.is_file(),
        "set SHIFTADD_LIBERTY or place ../shared/pdk beside the repository",
    )
    return path


@pytest.fixture
def no_liberty_env(monkeypatch):
    monkeypatch.delenv("SHIFTADD_LIBERTY", raising=False)


@pytest.fixture(scope="session")
def sim_build_root(tmp_path_factory):
    """Simulator builds go to the user cache (reused across runs) unless
    SHIFTADD_TEST_FRESH_BUILDS=1 asks for a fresh folder."""
    if os.environ.get("SHIFTADD_TEST_FRESH_BUILDS") == "1":
        return tmp_path_factory.mktemp("sim-builds")
    return None
