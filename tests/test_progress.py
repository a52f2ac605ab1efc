"""Progress of long steps on stderr: terminal ticker, one line at start and end otherwise,
silent when disabled (library default) and under --json."""

import io
import re
import time

import pytest

from shiftadd import _progress
from shiftadd._progress import format_elapsed, is_enabled, note, set_enabled, stage, track
from shiftadd.rtl_gen.tools import run_tool


class _Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture
def fast_ticks(monkeypatch):
    monkeypatch.setattr(_progress, "REFRESH_SECONDS", 0.02)


@pytest.fixture
def library_default():
    previous = set_enabled(False)
    yield
    set_enabled(previous)


@pytest.mark.parametrize(
    "seconds,text",
    [
        (0, "0.0 s"),
        (0.44, "0.4 s"),
        (12.34, "12.3 s"),
        (59.94, "59.9 s"),
        (60, "1 min 00 s"),
        (125.7, "2 min 05 s"),
        (3599, "59 min 59 s"),
        (3720, "1 h 02 min"),
        (-1, "0.0 s"),
    ],
)
def test_format_elapsed(seconds, text):
    assert format_elapsed(seconds) == text


def test_not_a_terminal_one_line_at_start_and_one_at_end(fast_ticks):
    out = io.StringIO()
    with stage("yosys map", enabled=True, stream=out):
        time.sleep(0.2)  # ten refresh periods: a log must still get no ticker lines
    lines = out.getvalue().splitlines()
    assert lines[0] == "yosys map ..."
    assert re.fullmatch(r"yosys map: done in 0\.[2-9] s", lines[1]), lines
    assert len(lines) == 2 and "\r" not in out.getvalue()


def test_terminal_redraws_one_line_then_leaves_the_result(fast_ticks):
    out = _Terminal()
    with stage("OpenSTA", enabled=True, stream=out):
        time.sleep(0.25)
    text = out.getvalue()
    redraws = text.count("\r\x1b[KOpenSTA ")
    assert redraws >= 3, text  # refreshed while running, not only at start
    assert re.search(r"\r\x1b\[KOpenSTA: done in 0\.[2-9] s\n$", text), text
    assert text.count("\n") == 1  # the ticker itself never scrolls the terminal


def test_nested_stages_share_the_line_and_a_bar_counts(fast_ticks):
    out = _Terminal()
    for _ in track(["a", "b", "c"], "validate", enabled=True, stream=out):
        with stage("yosys generic", enabled=True, stream=out):
            time.sleep(0.05)
    text = out.getvalue()
    assert "validate [" in text and "] 0/3" in text and "] 2/3" in text
    assert "validate [......" in text  # empty bar at the start
    assert re.search(r"validate \[[#.]{20}\] [12]/3 > yosys generic [\d.]+ s", text)
    assert re.search(r"validate: done in [\d.]+ s \(3/3\)\n", text)
    assert text.count("yosys generic: done in") == 3
    assert _progress._stack == [] and _progress._ticker["thread"] is None


def test_failure_and_early_exit_are_reported():
    out = io.StringIO()
    with pytest.raises(RuntimeError), stage("verilator build", enabled=True, stream=out):
        raise RuntimeError("boom")
    assert out.getvalue().splitlines()[-1].startswith("verilator build: failed after ")
    out = io.StringIO()
    for item in track(range(5), "sweep", enabled=True, stream=out):
        if item == 1:
            break
    assert re.search(r"sweep: stopped after [\d.]+ s \(1/5\)", out.getvalue())


def test_disabled_by_default_in_library_use(library_default, capsys):
    assert not is_enabled()
    with stage("simulate") as running:
        running.advance(2)
    assert running.done == 2  # counts even when silent
    run_tool(["true"], ".", label="yosys map")
    assert capsys.readouterr().err == ""
    set_enabled(True)
    run_tool(["true"], ".", label="yosys map")
    run_tool(["true"], ".")  # an unlabelled tool run is no stage
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "yosys map ..." and err[1].startswith("yosys map: done in ")
    assert len(err) == 2


def test_note_keeps_the_terminal_line(fast_ticks):
    out = _Terminal()
    with stage("calibrate", enabled=True, stream=out):
        note("  synthesize mac", stream=out)
    text = out.getvalue()
    # the ticker line is cleared before the note, and redrawn after it
    assert "\r\x1b[K  synthesize mac\n\r\x1b[Kcalibrate " in text


def test_cli_enables_progress_except_under_json(library_default, tmp_path, monkeypatch):
    from shiftadd import cli

    seen = []
    monkeypatch.setattr(cli, "cmd_model", lambda args: seen.append(is_enabled()))
    design = tmp_path / "d.toml"
    design.write_text('arch = "adder_tree"\nname = "p"\nmode = "mac"\nk = 4\nn = 2\n')
    assert cli.main(["model", str(design), "--json"]) == 0
    assert cli.main(["model", str(design)]) == 0
    assert seen == [False, True]
    assert not is_enabled()  # restored: the process's library use stays silent
