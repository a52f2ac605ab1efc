"""Build a design's RTL for a simulator and run its cocotb bench.

One build directory per content hash (design Verilog + harness + simulator flags), under
``$SHIFTADD_CACHE`` (default ``~/.cache/shiftadd``), so a design built once is reused by
every later run and a changed design never reuses a stale build.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import cocotb
import cocotb_tools.config as cocotb_config
from cocotb_tools.runner import Verilator, get_runner

from .._io import atomic_path, cache_root
from .._progress import stage
from ..errors import InputError, ToolError
from ..rtl_gen.cells import cell_models
from ..rtl_gen.emit import GeneratedRTL, elaborate
from ..rtl_gen.liberty import read_liberty
from ..rtl_gen.tools import find_iverilog, resolve_liberty, setup_verilator
from .build_cache import limit_bytes, mark_used, prune, record_size
from .harness import HARNESS_TOP, HarnessSpec, harness_verilog, verilator_public_config

__all__ = [
    "SimReport",
    "simulate",
    "cache_root",
    "SIMULATORS",
    "reproduce_options",
    "waves_file",
    "verilator_fst",
]

SIMULATORS = ("verilator", "icarus")
#: Bench self-tests (``simulate(fault=...)``), each of which must make the run fail.
FAULTS = ("expected", "lanes", "budget")
_VERILATOR_ARGS = ("-O3", "-Wno-fatal", "--x-assign", "fast", "--x-initial", "fast")
# Random initial values of every register and memory (Verilator otherwise starts them at
# zero, which would hide a missing reset): built with --x-initial unique, seeded at run time.
_RANDOM_INIT_ARGS = ("-O3", "-Wno-fatal", "--x-assign", "unique", "--x-initial", "unique")


@dataclasses.dataclass
class SimReport:
    """What a bench run checked and how fast.

    ``vectors`` counts input vectors whose outputs were checked; ``dot_products`` counts the
    per-neuron results among them (``vectors * n`` for an adder-tree array). ``unknown``
    counts transfers with an unknown (X) result lane (four-state simulators), and
    ``unchecked_lanes`` the payload elements that carry no result (padding of a partial
    GEMM tile) and so were not compared. ``timeout`` names the first chunk that ran out of
    cycles: ``{"chunk", "budget", "reached"}``. ``reproduce`` holds the ``shiftadd sim``
    options that repeat the run (after the design file), ``waves`` the path of the waveform
    written (``simulate(waves=...)``), if any.
    """

    design: str
    simulator: str
    passed: bool
    vectors: int
    dot_products: int
    mismatches: int
    missing: int
    extra: int
    cycle_checked: int
    cycle_mismatches: int
    sim_cycles: int
    timeouts: int
    bench_seconds: float
    sim_seconds: float
    build_seconds: float
    first_mismatches: list
    build_dir: str
    timing: dict = dataclasses.field(default_factory=dict)
    gemm: dict | None = None
    unknown: int = 0
    unchecked_lanes: int = 0
    timeout: dict | None = None
    seed: int = 0
    random_init: bool = False
    reproduce: str = ""
    waves: str | None = None

    @property
    def dot_products_per_second(self) -> float:
        return self.dot_products / self.bench_seconds if self.bench_seconds else 0.0

    @property
    def cycles_per_second(self) -> float:
        return self.sim_cycles / self.sim_seconds if self.sim_seconds else 0.0

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["dot_products_per_second"] = self.dot_products_per_second
        d["cycles_per_second"] = self.cycles_per_second
        return d


class _FastVerilator(Verilator):
    """cocotb's Verilator runner without ``--public-flat-rw``: only the harness's control
    ports are made public (by a control file), which keeps Verilator's optimizations.
    With ``saif``, the model is built to write a SAIF switching-activity file; with
    ``waves`` ("fst" or "vcd"), a waveform of every signal (both only when the run asks,
    with ``--trace``)."""

    def __init__(self, saif: bool = False, quick_compile: bool = False, waves: str = ""):
        super().__init__()
        self._saif, self._quick_compile, self._waves = saif, quick_compile, waves

    def _build_command(self):
        cmds = super()._build_command()
        cmds[0] = [arg for arg in cmds[0] if arg != "--public-flat-rw"]
        if self._saif:
            cmds[0] = [a for a in cmds[0] if a != "--trace"]
            # Netlist nets and cell instances are named _1234_: trace them too.
            cmds[0][1:1] = ["--trace-saif", "--trace-underscore"]
            cmds[1] = [("VM_TRACE=1" if a.startswith("VM_TRACE=") else a) for a in cmds[1]]
        elif self._waves:
            cmds[0] = [a for a in cmds[0] if a != "--trace"]
            fmt = "--trace-fst" if self._waves == "fst" else "--trace"
            cmds[0][1:1] = [fmt, "--trace-underscore"]
            cmds[1] = [("VM_TRACE=1" if a.startswith("VM_TRACE=") else a) for a in cmds[1]]
        if self._quick_compile:
            # Gate-level models are large and run few cycles: compile time dominates.
            cmds[1] = cmds[1] + ["OPT_FAST=-O0", "OPT_SLOW=-O0", "OPT_GLOBAL=-O0"]
        return cmds


@functools.lru_cache(maxsize=1)
def verilator_fst() -> bool:
    """Whether Verilator can write FST here: its FST writer compiles against the LZ4 and
    zlib headers and links their libraries, which a machine may lack (then VCD)."""
    cxx = os.environ.get("CXX") or shutil.which("c++") or shutil.which("g++")
    if not cxx:
        return False
    probe = (
        "#include <lz4.h>\n#include <zlib.h>\n"
        "int main() { return LZ4_versionNumber() > 0 && zlibVersion() != 0 ? 0 : 1; }\n"
    )
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "probe.cpp"
        src.write_text(probe)
        try:
            done = subprocess.run(
                [cxx, str(src), "-o", str(Path(tmp) / "probe"), "-llz4", "-lz"],
                capture_output=True,
                timeout=60,
            )
        except (OSError, subprocess.TimeoutExpired):
            return False
    return done.returncode == 0


def waves_file(path: str | os.PathLike, simulator: str) -> Path:
    """The waveform file :func:`simulate` writes for a requested ``waves`` path: FST
    (``.fst``) where the simulator can, VCD (``.vcd``) on a Verilator without FST support
    or when a ``.vcd`` path asks for it (Verilator).

    Parameters
    ----------
    path : path
        The requested file.
    simulator : {"verilator", "icarus"}

    Returns
    -------
    pathlib.Path
        ``path`` with the suffix of the format that will be written.
    """
    path = Path(path)
    if simulator == "icarus":
        return path.with_suffix(".fst")  # cocotb's Icarus runner dumps FST
    if path.suffix.lower() == ".vcd" or not verilator_fst():
        return path.with_suffix(".vcd")
    return path.with_suffix(".fst")


def _runner(simulator: str, saif: bool = False, quick_compile: bool = False, waves: str = ""):
    if simulator == "verilator":
        setup_verilator()
        return _FastVerilator(saif, quick_compile, waves=waves)
    if saif:
        raise InputError(
            "switching activity (SAIF) needs Verilator", field="--simulator", allowed=["verilator"]
        )
    if simulator == "icarus":
        if find_iverilog() is None:
            raise ToolError("Icarus Verilog not found: sudo apt-get install -y iverilog")
        return get_runner("icarus")
    raise InputError(f"unknown simulator {simulator!r}", field="--simulator", allowed=SIMULATORS)


@contextlib.contextmanager
def _locked(directory: Path):
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _build(
    design,
    rtl: GeneratedRTL,
    spec: HarnessSpec,
    simulator: str,
    build_root: Path | None,
    saif: bool = False,
    netlist: tuple[str, str] | None = None,
    random_init: bool = False,
    waves: str = "",
) -> tuple[Path, float, object]:
    # The design under test: its RTL, or a gate-level netlist and the cell models it needs.
    dut_text = rtl.verilog if netlist is None else netlist[0] + "\n" + netlist[1]
    harness = harness_verilog(spec)
    vlt = verilator_public_config(spec)
    args = (
        () if simulator != "verilator" else (_RANDOM_INIT_ARGS if random_init else _VERILATOR_ARGS)
    )
    if netlist is not None and simulator == "verilator":
        args = args + ("-Wno-lint", "-Wno-style", "-Wno-UNOPTFLAT")
    kind = (
        ("-gates" if netlist is not None else "")
        + ("-saif" if saif else "")
        + ("-xrand" if random_init else "")
        # A traced model is slower to build and run: its own build, only on request.
        + (f"-{waves}" if waves else "")
    )
    # The build links cocotb's VPI library by absolute path: a build made by another
    # environment (another checkout's venv, another cocotb) must not be reused.
    toolchain = "\0".join(
        [str(cocotb_config.libs_dir), cocotb.__version__, os.environ.get("VERILATOR_ROOT", "")]
    )
    key = hashlib.sha256(
        "\0".join([dut_text, harness, vlt, simulator, *args, kind, toolchain]).encode()
    )
    root = build_root if build_root is not None else cache_root() / "sim"
    build_dir = root / f"{design.name}-{simulator}{kind}-{key.hexdigest()[:16]}"
    runner = _runner(simulator, saif, quick_compile=netlist is not None, waves=waves)
    # Checked before the build: a bad bound must not surface after minutes of compiling.
    limit = limit_bytes() if build_root is None else None
    t0 = time.perf_counter()
    built = False
    with _locked(build_dir):
        mark_used(build_dir)
        stamp = build_dir / ".built"
        src = build_dir / "src"
        src.mkdir(exist_ok=True)
        (src / f"{design.name}.v").write_text(dut_text)
        (src / "harness.v").write_text(harness)
        sources = [src / f"{design.name}.v", src / "harness.v"]
        if simulator == "verilator":
            (src / "public.vlt").write_text(vlt)
            sources.append(src / "public.vlt")
        if not stamp.exists():
            log = build_dir / "build.log"
            what = "gate-level " if netlist is not None else ""
            try:
                with stage(f"{simulator} build ({what}{design.name})"):
                    runner.build(
                        sources=[str(s) for s in sources],
                        hdl_toplevel=HARNESS_TOP,
                        build_dir=str(build_dir / "sim_build"),
                        build_args=list(args),
                        timescale=("1ns", "1ps"),
                        log_file=str(log),
                        # Icarus traces through a dump module compiled in (cocotb's
                        # runner); Verilator through the flags of _FastVerilator.
                        waves=bool(waves) and simulator == "icarus",
                    )
            except (RuntimeError, SystemExit) as exc:
                tail = log.read_text()[-3000:] if log.exists() else ""
                raise ToolError(f"{simulator} build failed ({exc}); log {log}:\n{tail}") from None
            if simulator == "verilator" and not (build_dir / "sim_build" / HARNESS_TOP).exists():
                raise ToolError(f"the Verilator build produced no simulator; see {log}")
            stamp.write_text(json.dumps(design.to_dict()))
            record_size(build_dir)
            built = True
    if built and limit is not None:
        prune(root, limit, keep=build_dir)
    return build_dir, time.perf_counter() - t0, runner


def simulate(
    design,
    *,
    vectors: int = 1000,
    seed: int = 0,
    simulator: str = "verilator",
    stall: bool = False,
    gemm: tuple[int, int, int] | None = None,
    depth: int = 1 << 16,
    build_root: str | os.PathLike | None = None,
    fault: str | None = None,
    saif: str | os.PathLike | None = None,
    netlist: str | os.PathLike | None = None,
    liberty=None,
    random_init: bool = False,
    operands: str | os.PathLike | None = None,
    waves: str | os.PathLike | None = None,
    hierarchical: bool = False,
) -> SimReport:
    """Build ``design`` (cached) and check it against its golden model in simulation.

    Parameters
    ----------
    design : Design
    vectors : int
        Input vectors to check (random plus edge cases).
    seed : int
        Seed of all random stimulus.
    simulator : {"verilator", "icarus"}
    stall : bool
        Insert random input gaps and output backpressure (cycle counts are then not
        compared with the model, which assumes full rate).
    gemm : (M, N, K), optional
        Instead of random vectors, run one tiled GEMM and compare the whole product and the
        cycle count with the analytic model.
    depth : int
        Harness memory depth (transfers per chunk), a power of two.
    build_root : path, optional
        Where build directories go (default: the cache).
    fault : {"expected", "lanes", "budget"}, optional
        Self-test of the bench, the run must fail: ``"expected"`` corrupts one expected
        value; ``"lanes"`` compares the lanes that carry no result too (padding of a partial
        GEMM tile, whose weights were never written: unknown on Icarus, random with
        ``random_init``); ``"budget"`` gives each chunk half its model cycles, so it times
        out.
    saif : path, optional
        Also record the design's switching activity (every signal bit's toggle count and
        time at 0 and 1) into this SAIF file (Verilator only; a separate, traced build).
    netlist : path, optional
        Simulate this gate-level netlist of the design (from :func:`shiftadd.rtl_gen.synth.
        synthesize` with a workdir) instead of its RTL; ``liberty`` gives the cells.
    liberty : path, optional
        The cells' liberty, with ``netlist``.
    random_init : bool
        Start every register and memory at a random value (Verilator, seeded by ``seed``)
        instead of zero, so a register that needs a reset and lacks one shows. Icarus starts
        them unknown (X) anyway (the generated Verilog has no initial values), and its
        harness records unknown result bits, which count as mismatches.
    operands : path, optional
        With ``gemm``: an ``.npz`` file of activation and weight codes
        (:func:`shiftadd.sim.operands.save_operands`) the GEMM runs on instead of random
        ones (real weight tiles and activations).
    waves : path, optional
        Also write a waveform of every signal to this file, with the suffix of its format
        (:func:`waves_file`: FST, or VCD on a Verilator without FST support). A separate,
        traced build. The run stops after its first failing chunk (so the failure ends the
        waveform, and later chunks are neither run nor counted); the file is written even
        when the run fails, and ``SimReport.waves`` gives its path.
    hierarchical : bool
        Simulate the hierarchical form of the RTL (identical units as one module each,
        :func:`shiftadd.rtl_gen.emit.generate_verilog`), the Verilog hierarchical synthesis
        reads.

    Returns
    -------
    SimReport
        What was checked, mismatches, cycles and timing.
    """
    if simulator not in SIMULATORS:
        raise InputError(
            f"unknown simulator {simulator!r}", field="--simulator", allowed=SIMULATORS
        )
    if not isinstance(vectors, int) or vectors < 1:
        raise InputError(
            f"{vectors!r} is not a positive integer", field="--vectors", allowed="an integer >= 1"
        )
    if fault not in (None, *FAULTS):
        raise InputError(f"unknown fault {fault!r}", field="fault", allowed=list(FAULTS))
    if operands is not None and not gemm:
        raise InputError("given operands run a GEMM: give gemm too", field="operands")
    if depth < 64 or depth & (depth - 1):
        raise InputError(f"{depth} is not a power of two >= 64", field="depth")
    if waves is not None and saif is not None:
        raise InputError("a run records either a SAIF file or waves, not both", field="--waves")
    if waves is not None:
        waves = waves_file(waves, simulator)
    gates = None
    if netlist is not None:
        lib = resolve_liberty(liberty)
        if lib is None:
            raise InputError(
                "a gate-level simulation needs the liberty of its cells", field="--liberty"
            )
        text = Path(netlist).read_text()
        used = set(re.findall(r"^\s*(\w+)\s+\S+\s*\(", text, re.M)) - {"module"}
        used &= set(read_liberty(lib).cells)
        gates = (text, cell_models(lib, used))
    # The design is elaborated once: the harness and the bench read its interface from the
    # manifest.
    rtl = elaborate(design, hierarchical)
    # Icarus has X: its harness records which result bits are unknown.
    four_state = simulator == "icarus"
    spec = HarnessSpec.from_manifest(rtl.manifest, depth=depth, four_state=four_state)
    build_dir, build_seconds, runner = _build(
        design,
        rtl,
        spec,
        simulator,
        None if build_root is None else Path(build_root),
        saif=saif is not None,
        netlist=gates,
        random_init=random_init,
        waves="" if waves is None else waves.suffix[1:],
    )
    with tempfile.TemporaryDirectory(prefix="run-", dir=build_dir) as run_dir:
        run_dir = Path(run_dir)
        report_path = run_dir / "report.json"
        job = {
            "design": design.to_dict(),
            "manifest": rtl.manifest,
            "vectors": vectors,
            "seed": seed,
            "stall": stall,
            "gemm": list(gemm) if gemm else None,
            "operands": str(Path(operands).resolve()) if operands else None,
            "depth": depth,
            "four_state": four_state,
            "fault": fault,
            "stop_at_failure": waves is not None,
            "workdir": str(run_dir),
            "report": str(report_path),
        }
        job_path = run_dir / "job.json"
        job_path.write_text(json.dumps(job))
        plusargs = [f"+stim={run_dir / 'stim.bin'}"]
        if random_init and simulator == "verilator":
            plusargs += ["+verilator+rand+reset+2", f"+verilator+seed+{seed + 1}"]
        for out in spec.outputs:
            plusargs += [
                f"+rec_{out.name}={run_dir / f'rec_{out.name}.bin'}",
                f"+ready_{out.name}={run_dir / f'ready_{out.name}.bin'}",
            ]
        log = run_dir / "sim.log"
        again = reproduce_options(
            vectors=vectors,
            seed=seed,
            simulator=simulator,
            stall=stall,
            gemm=gemm,
            random_init=random_init,
        )
        test_args = ["--trace", "--trace-file", str(Path(saif).resolve())] if saif else []
        trace = run_dir / ("waves" + ("" if waves is None else waves.suffix))
        if waves is not None and simulator == "verilator":
            test_args = ["--trace", "--trace-file", str(trace)]
        elif waves is not None:
            plusargs.append(f"+dumpfile_path={trace}")
        what = "gate-level simulation" if netlist is not None else "simulate"
        try:
            with stage(f"{what} {design.name} on {simulator}"):
                runner.test(
                    test_module="shiftadd.sim.cocotb_bench",
                    hdl_toplevel=HARNESS_TOP,
                    test_args=test_args,
                    hdl_toplevel_lang="verilog",
                    build_dir=str(build_dir / "sim_build"),
                    test_dir=str(run_dir),
                    plusargs=plusargs,
                    seed=seed,
                    extra_env={"SHIFTADD_SIM_JOB": str(job_path)},
                    results_xml=str(run_dir / "results.xml"),
                    log_file=str(log),
                    waves=waves is not None and simulator == "icarus",
                )
        except (RuntimeError, SystemExit) as exc:
            saved = _keep_waves(trace, waves)
            if not report_path.exists():
                raise ToolError(
                    f"simulation did not complete ({exc}); {_log_tail(log, build_dir, again)}"
                    + (f"\nwaves: {saved}" if saved else "")
                ) from None
        saved = _keep_waves(trace, waves)
        if not report_path.exists():
            raise ToolError(f"simulation wrote no report; {_log_tail(log, build_dir, again)}")
        r = json.loads(report_path.read_text())
        if "input_error" in r:
            raise InputError(**r["input_error"])
        keep_log = build_dir / "last_sim.log"
        if log.exists():
            shutil.copyfile(log, keep_log)
    gemm_info = {
        k: r[k]
        for k in (
            "gemm",
            "gemm_matches",
            "gemm_cycles_sim",
            "gemm_cycles_model",
            "gemm_utilization",
        )
        if k in r
    } or None
    return SimReport(
        design=design.name,
        simulator=simulator,
        passed=bool(r["passed"]),
        vectors=r["vectors"],
        dot_products=r["vectors"] * r["outputs_per_neuron"],
        mismatches=r["mismatches"],
        missing=r["missing"],
        extra=r["extra"],
        cycle_checked=r["cycle_checked"],
        cycle_mismatches=r["cycle_mismatches"],
        sim_cycles=r["sim_cycles"],
        timeouts=r["timeouts"],
        bench_seconds=r["bench_seconds"],
        sim_seconds=r["sim_seconds"],
        build_seconds=build_seconds,
        first_mismatches=r["first_mismatches"],
        build_dir=str(build_dir),
        timing=r.get("timing", {}),
        gemm=gemm_info,
        unknown=r.get("unknown", 0),
        unchecked_lanes=r.get("unchecked_lanes", 0),
        timeout=r.get("timeout"),
        seed=seed,
        random_init=random_init,
        reproduce=again,
        waves=saved,
    )


def _keep_waves(trace: Path, dest: str | os.PathLike | None) -> str | None:
    """Move a run's waveform out of its temporary folder to ``dest`` (atomically); its path,
    or None when none was asked for or written."""
    if dest is None or not trace.exists() or trace.stat().st_size == 0:
        return None
    dest = Path(dest).resolve()
    if dest.exists() and dest.stat().st_mtime >= trace.stat().st_mtime:
        return str(dest)  # already kept (the run failed, then its report was read)
    with atomic_path(dest) as tmp:
        shutil.copyfile(trace, tmp)
    return str(dest)


def _log_tail(log: Path, build_dir: Path, again: str) -> str:
    """The end of a failed run's log, which is kept in the build folder (the run folder is
    temporary), and the options that repeat the run."""
    if not log.exists():
        return f"no log; repeat with: shiftadd sim DESIGN {again}"
    keep = build_dir / "last_sim.log"
    shutil.copyfile(log, keep)
    return f"repeat with: shiftadd sim DESIGN {again}; log {keep}, tail:\n{log.read_text()[-3000:]}"


def reproduce_options(
    *,
    vectors: int,
    seed: int,
    simulator: str,
    stall: bool = False,
    gemm: tuple[int, int, int] | None = None,
    random_init: bool = False,
    waves: bool = True,
) -> str:
    """The ``shiftadd sim`` options (after the design file) that repeat a run exactly: the
    stimulus and, with ``random_init``, the initial register values follow from the seed.

    Parameters
    ----------
    vectors, seed, simulator, stall, gemm, random_init
        As given to :func:`simulate`.
    waves : bool
        Add ``--waves``: the repeated run of a failure should leave a waveform to look at.

    Returns
    -------
    str
        For example ``"--simulator icarus --seed 4 --gemm 5,3,64 --waves"``.
    """
    opts = [f"--simulator {simulator}", f"--seed {seed}"]
    opts.append("--gemm " + ",".join(str(int(v)) for v in gemm) if gemm else f"--vectors {vectors}")
    if stall:
        opts.append("--stall")
    if random_init:
        opts.append("--random-init")
    if waves:
        opts.append("--waves")
    return " ".join(opts)
