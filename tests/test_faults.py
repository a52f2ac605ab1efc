"""Faults: a killed or interrupted sweep leaves no worker behind, two sweeps into one folder
are serialized, an unreachable scheduler fails at once writing nothing, and a bad liberty is
refused before any work."""

import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from shiftadd.cli import main
from shiftadd.errors import InputError
from shiftadd.models import sweep as sweep_module
from shiftadd.models.sweep import LOCK_NAME, check_scheduler, parse_sweep_spec, run_sweep
from shiftadd.models.workers import WorkerTraceback, worker_pool
from shiftadd.rtl_gen.liberty import check_liberty

# Many small chunks (3,600 points in chunks of 20): several seconds of work on two workers,
# so the test can strike while both are busy.
SLOW_SPEC = """
name = "faults"
[workload]
spec = "llama-2-7b"
phase = "decode"
[options]
# Many small chunks: the sweep must still be running when the test's signal arrives, even
# when a loaded machine lets the test poll late.
chunk_size = 5
quality = "off"
[[engines]]
arch = "adder_tree"
mode = ["xnor", "addsub", "mac"]
k = {start = 32, stop = 512, factor = 2}
n = [4, 8, 16, 32, 64]
pipeline_stages = [0, 2]
clock_ns = [5.0, 10.0]
act_buffer_kib = [16, 64]
weight_buffer_kib = [64, 256]
dram_gbps = [12.8, 25.6, 51.2]
activity = [0.25, 0.5]
"""

SMALL = {
    "name": "lock",
    "workload": {"spec": "opt-125m", "phase": "decode", "batch": 1, "context": 64},
    "options": {"chunk_size": 4, "quality": "off"},
    "engines": [{"arch": "adder_tree", "mode": ["xnor", "mac"], "k": [16, 32], "n": [4, 8]}],
}


def _default_sigint() -> None:
    # pytest-xdist's workers ignore SIGINT, and an ignored signal stays ignored across exec
    # (Python then installs no KeyboardInterrupt handler): give the command a terminal's
    # default, as a user's shell would.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _cli(*args, cwd, **popen):
    return subprocess.Popen(
        [sys.executable, "-m", "shiftadd.cli", *map(str, args)],
        cwd=cwd,
        text=True,
        preexec_fn=_default_sigint,
        **popen,
    )


def _children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (from /proc: psutil may not be installed)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for a reaper that may never come counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _start_busy_sweep(tmp_path, *flags):
    """A two-worker sweep, returned once both workers run and two chunks are written."""
    (tmp_path / "slow.toml").write_text(SLOW_SPEC)
    err = (tmp_path / "stderr.txt").open("w")
    proc = _cli(
        "sweep",
        "slow.toml",
        "--out",
        "out",
        "--workers",
        "2",
        "--no-plots",
        *flags,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=err,
        start_new_session=True,  # its own process group, as a shell job in a terminal
    )
    chunks = tmp_path / "out" / "chunks"
    deadline = time.monotonic() + 120
    workers: list[int] = []
    while time.monotonic() < deadline and proc.poll() is None:
        workers = _children(proc.pid)
        if len(workers) >= 2 and len(list(chunks.glob("points_*.parquet"))) >= 2:
            break
        time.sleep(0.05)
    if proc.poll() is not None or len(workers) < 2:
        proc.kill()
        pytest.fail(f"the sweep did not get going: {(tmp_path / 'stderr.txt').read_text()}")
    return proc, workers


def _wait(proc, seconds=30.0):
    """The exit status; a process still running after ``seconds`` is killed (and fails)."""
    try:
        return proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        pytest.fail(f"still running {seconds} s after the signal (hung)")


def _wait_gone(pids, seconds=10.0) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.05)
    left = [p for p in pids if _alive(p)]
    for p in left:  # do not leave them running for the rest of the suite
        os.kill(p, signal.SIGKILL)
    return left


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
def test_sigkill_of_a_sweep_leaves_no_worker(tmp_path):
    proc, workers = _start_busy_sweep(tmp_path)
    proc.kill()
    assert _wait(proc) == -signal.SIGKILL
    assert _wait_gone(workers) == []
    # the chunks written before the kill are kept for the rerun
    assert list((tmp_path / "out" / "chunks").glob("points_*.parquet"))


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
@pytest.mark.parametrize("json_flag", [True, False], ids=["json", "progress-bar"])
def test_sigint_of_a_sweep_prints_one_line_and_leaves_no_worker(tmp_path, json_flag):
    proc, workers = _start_busy_sweep(tmp_path, *(["--json"] if json_flag else []))
    t0 = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C: the whole foreground group gets SIGINT
    assert _wait(proc) == 130
    stopped = time.monotonic() - t0
    err = (tmp_path / "stderr.txt").read_text()
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    if json_flag:  # no progress bar: the message is all there is
        assert err == "shiftadd: interrupted\n"
    else:  # the bar's line is ended first, so the message has a line of its own
        assert err.splitlines()[-1] == "shiftadd: interrupted"
        assert err.count("shiftadd: interrupted") == 1
    assert _wait_gone(workers) == []
    # the pool is cancelled, not drained: far sooner than the rest of the sweep would take
    assert stopped < 10
    assert not (tmp_path / "out" / "points.parquet").exists()


def test_two_sweeps_into_one_out_are_serialized(tmp_path, capsys):
    """The second waits for the first's lock, then resumes from its chunks: nothing is
    computed twice."""
    out = tmp_path / "run"
    first_spec, second_spec = parse_sweep_spec(SMALL), parse_sweep_spec(SMALL)
    started, release = threading.Event(), threading.Event()
    results, errors = {}, []

    def hold(index):
        started.set()
        assert release.wait(60)

    def run(name, spec, **kw):
        try:
            results[name] = run_sweep(spec, out, workers=1, **kw)
        except BaseException as exc:  # noqa: BLE001 - reported by the test thread
            errors.append(exc)

    first = threading.Thread(
        target=run, args=("first", first_spec), kwargs={"progress": False, "on_chunk": hold}
    )
    first.start()
    assert started.wait(60)
    second = threading.Thread(target=run, args=("second", second_spec), kwargs={"progress": True})
    second.start()
    second.join(1.0)
    assert second.is_alive(), "the second sweep did not wait for the first"
    assert len(list((out / "chunks").glob("points_*.parquet"))) == 1
    release.set()
    first.join(60)
    second.join(60)
    assert not errors and not first.is_alive() and not second.is_alive()
    assert results["first"]["computed_chunks"] == results["first"]["chunks"] > 1
    assert results["second"]["computed_chunks"] == 0
    assert results["second"]["points"] == results["first"]["points"]
    assert "waiting for it, then resuming" in capsys.readouterr().err
    assert not (out / LOCK_NAME).exists()


def test_a_stale_lock_file_does_not_block(tmp_path):
    """A sweep killed outright leaves its lock file, but not its lock."""
    out = tmp_path / "run"
    out.mkdir()
    (out / LOCK_NAME).write_text("999999\n")
    result = run_sweep(parse_sweep_spec(SMALL), out, workers=1, progress=False)
    assert result["computed_chunks"] == result["chunks"]


@pytest.mark.parametrize("text", ["{not json", "[]", "\udcff"])
def test_a_corrupt_sweep_json_in_out_names_the_flag(tmp_path, text):
    out = tmp_path / "run"
    out.mkdir()
    (out / "sweep.json").write_text(text, errors="surrogateescape")
    with pytest.raises(InputError, match="--out"):
        run_sweep(parse_sweep_spec(SMALL), out, workers=1, progress=False)
    assert sorted(p.name for p in out.iterdir()) == ["sweep.json"]


def test_an_unreachable_scheduler_fails_at_once_writing_nothing(tmp_path):
    (tmp_path / "slow.toml").write_text(SLOW_SPEC)
    t0 = time.monotonic()
    proc = _cli(
        "sweep",
        "slow.toml",
        "--out",
        "out",
        "--scheduler",
        "tcp://127.0.0.1:1",
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = proc.communicate(timeout=60)
    elapsed = time.monotonic() - t0
    assert proc.returncode == 2 and out == ""
    assert len(err.splitlines()) == 1 and "--scheduler" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()
    # Python start-up and the spec take about 2 s here; Dask's own retry loop took 30 s
    assert elapsed < 15


def test_a_silent_server_is_not_waited_for(tmp_path, monkeypatch):
    """A server that accepts connections and never answers: the handshake is bounded."""
    monkeypatch.setattr(sweep_module, "SCHEDULER_TIMEOUT_S", 1.0)
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        address = f"tcp://127.0.0.1:{server.getsockname()[1]}"
        t0 = time.monotonic()
        with pytest.raises(InputError, match="--scheduler.*no Dask handshake"):
            run_sweep(parse_sweep_spec(SMALL), tmp_path / "out", scheduler=address)
        assert time.monotonic() - t0 < 10
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "address", ["tcp://127.0.0.1:x", "tcp://:8786", "tcp://127.0.0.1:99999", "a:b:c"]
)
def test_a_malformed_scheduler_address_names_the_flag(address):
    with pytest.raises(InputError, match="--scheduler"):
        check_scheduler(address)


GARBAGE = b"this is not a liberty\n\x00\xff\n"
NO_CELLS = b"/* a comment */\nlibrary (x) {\n  cell (a) { area : 1; }\n}\n"
NO_FLOP = b"""library (x) {
  cell (nand2) {
    area : 1.5;
    pin (A) {
      direction : input;
    }
    pin (B) {
      direction : input;
    }
    pin (Y) {
      direction : output;
      function : "!(A&B)";
    }
  }
}
"""


@pytest.mark.parametrize(
    "text, message",
    [
        (GARBAGE, "not a Liberty file"),
        (b"", "not a Liberty file"),
        (NO_CELLS, "no two-input NAND"),
        (NO_FLOP, "no D flip-flop"),
    ],
)
def test_check_liberty_refuses_what_the_flow_cannot_use(tmp_path, text, message):
    path = tmp_path / "bad.lib"
    path.write_bytes(text)
    with pytest.raises(InputError, match=message) as info:
        check_liberty(path)
    assert info.value.field == "--liberty"


def test_check_liberty_accepts_the_pdk(liberty):
    lib = check_liberty(liberty)
    assert lib.nand2_area() > 0 and any(c.ff for c in lib.cells.values())


@pytest.mark.parametrize(
    "argv, target",
    [
        (["calibrate", "--out", "u.toml"], "shiftadd.flows.calibrate.run_stages"),
        (["synth", "DESIGN"], "shiftadd.rtl_gen.synth.synthesize"),
        (["validate", "DESIGN", "--out", "v.md"], "shiftadd.flows.validate.validation_report"),
        (["demo", "--out", "demo"], "shiftadd.flows.demo.run_demo"),
    ],
)
def test_a_garbage_liberty_is_refused_before_any_work(tmp_path, monkeypatch, capsys, argv, target):
    design = Path(__file__).resolve().parents[1] / "examples" / "bnn_xnor_k256.toml"
    bad = tmp_path / "garbage.lib"
    bad.write_bytes(GARBAGE)
    monkeypatch.chdir(tmp_path)

    def work(*args, **kwargs):
        raise AssertionError("the flow started before the liberty was checked")

    monkeypatch.setattr(target, work)
    argv = [str(design) if a == "DESIGN" else a for a in argv]
    code = main([*argv, "--liberty", str(bad)])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.splitlines()) == 1 and "--liberty" in err and "not a Liberty file" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["garbage.lib"]


def test_a_garbage_liberty_from_the_environment_names_the_variable(tmp_path, monkeypatch, capsys):
    bad = tmp_path / "garbage.lib"
    bad.write_bytes(GARBAGE)
    monkeypatch.setenv("SHIFTADD_LIBERTY", str(bad))
    monkeypatch.setattr("shiftadd.flows.calibrate.run_stages", pytest.fail)
    assert main(["calibrate", "--out", str(tmp_path / "u.toml")]) == 2
    assert "SHIFTADD_LIBERTY" in capsys.readouterr().err


@pytest.mark.skipif(sys.platform == "win32", reason="flock is POSIX")
def test_the_cli_waits_for_the_lock_holder_and_says_so(tmp_path):
    import fcntl

    import tomli_w

    out = tmp_path / "run"
    out.mkdir()
    (tmp_path / "s.toml").write_text(tomli_w.dumps(SMALL))
    with open(out / LOCK_NAME, "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        proc = _cli(
            "sweep",
            "s.toml",
            "--out",
            "run",
            "--no-plots",
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        time.sleep(3)
        assert proc.poll() is None, proc.communicate()
        assert not (out / "sweep.json").exists()
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "another sweep" in err and "waiting for it" in err
    assert (out / "points.parquet").exists() and not (out / LOCK_NAME).exists()


def test_worker_pool_returns_results_and_raises_worker_errors_and_deaths():
    before = set(multiprocessing.active_children())
    with worker_pool(2) as pool:
        got = dict(pool.imap_unordered(pow, [(2, i) for i in range(10)]))
    assert got == {i: 2**i for i in range(10)}
    with pytest.raises(ValueError, match="'x'") as info, worker_pool(2) as pool:
        list(pool.imap_unordered(int, [("1",), ("x",), ("3",)]))
    assert isinstance(info.value.__cause__, WorkerTraceback)
    with pytest.raises(ChildProcessError, match="exit code 3"), worker_pool(2) as pool:
        list(pool.imap_unordered(os._exit, [(3,)]))
    assert set(multiprocessing.active_children()) <= before
