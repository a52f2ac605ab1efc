"""Build a design's RTL for a simulator and run its cocotb bench.

One build directory per content hash (design Verilog + harness + simulator flags), under
``$SHIFTADD_CACHE`` (default ``~/.cache/shiftadd``), so a design built once is reused by
every later run and a changed design never reuses a stale build.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

import cocotb
import cocotb_tools.config as cocotb_config
from cocotb_tools.runner import Verilator, get_runner

from .._io import cache_root
from ..errors import InputError, ToolError
from ..rtl_gen.cells import cell_models
from ..rtl_gen.emit import GeneratedRTL, generate_verilog
from ..rtl_gen.liberty import read_liberty
from ..rtl_gen.tools import find_iverilog, resolve_liberty, setup_verilator
from .harness import HARNESS_TOP, HarnessSpec, harness_verilog, verilator_public_config

__all__ = ["SimReport", "simulate", "cache_root", "SIMULATORS"]

SIMULATORS = ("verilator", "icarus")
_VERILATOR_ARGS = ("-O3", "-Wno-fatal", "--x-assign", "fast", "--x-initial", "fast")
# Random initial values of every register and memory (Verilator otherwise starts them at
# zero, which would hide a missing reset): built with --x-initial unique, seeded at run time.
_RANDOM_INIT_ARGS = ("-O3", "-Wno-fatal", "--x-assign", "unique", "--x-initial", "unique")


@dataclasses.dataclass
class SimReport:
    """What a bench run checked and how fast.

    ``vectors`` counts input vectors whose outputs were checked; ``dot_products`` counts the
    per-neuron results among them (``vectors * n`` for an adder-tree array).
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
    With ``saif``, the model is built to write a SAIF switching-activity file."""

    def __init__(self, saif: bool = False, quick_compile: bool = False):
        super().__init__()
        self._saif, self._quick_compile = saif, quick_compile

    def _build_command(self):
        cmds = super()._build_command()
        cmds[0] = [arg for arg in cmds[0] if arg != "--public-flat-rw"]
        if self._saif:
            cmds[0] = [a for a in cmds[0] if a != "--trace"]
            # Netlist nets and cell instances are named _1234_: trace them too.
            cmds[0][1:1] = ["--trace-saif", "--trace-underscore"]
            cmds[1] = [("VM_TRACE=1" if a.startswith("VM_TRACE=") else a) for a in cmds[1]]
        if self._quick_compile:
            # Gate-level models are large and run few cycles: compile time dominates.
            cmds[1] = cmds[1] + ["OPT_FAST=-O0", "OPT_SLOW=-O0", "OPT_GLOBAL=-O0"]
        return cmds


def _runner(simulator: str, saif: bool = False, quick_compile: bool = False):
    if simulator == "verilator":
        setup_verilator()
        return _FastVerilator(saif, quick_compile)
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
    runner = _runner(simulator, saif, quick_compile=netlist is not None)
    t0 = time.perf_counter()
    with _locked(build_dir):
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
            try:
                runner.build(
                    sources=[str(s) for s in sources],
                    hdl_toplevel=HARNESS_TOP,
                    build_dir=str(build_dir / "sim_build"),
                    build_args=list(args),
                    timescale=("1ns", "1ps"),
                    log_file=str(log),
                )
            except (RuntimeError, SystemExit) as exc:
                tail = log.read_text()[-3000:] if log.exists() else ""
                raise ToolError(f"{simulator} build failed ({exc}); log {log}:\n{tail}") from None
            if simulator == "verilator" and not (build_dir / "sim_build" / HARNESS_TOP).exists():
                raise ToolError(f"the Verilator build produced no simulator; see {log}")
            stamp.write_text(json.dumps(design.to_dict()))
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
    fault : {"expected"}, optional
        Self-test of the bench: corrupt one expected value, so the run must fail.
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
        them unknown (X) anyway.

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
    if fault not in (None, "expected"):
        raise InputError(f"unknown fault {fault!r}", field="fault", allowed=["expected"])
    if depth < 64 or depth & (depth - 1):
        raise InputError(f"{depth} is not a power of two >= 64", field="depth")
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
    rtl = generate_verilog(design)
    spec = HarnessSpec.from_manifest(rtl.manifest, depth=depth)
    build_dir, build_seconds, runner = _build(
        design,
        rtl,
        spec,
        simulator,
        None if build_root is None else Path(build_root),
        saif=saif is not None,
        netlist=gates,
        random_init=random_init,
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
            "depth": depth,
            "fault": fault,
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
        test_args = ["--trace", "--trace-file", str(Path(saif).resolve())] if saif else []
        try:
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
            )
        except (RuntimeError, SystemExit) as exc:
            if not report_path.exists():
                tail = log.read_text()[-3000:] if log.exists() else ""
                raise ToolError(f"simulation did not complete ({exc}); log tail:\n{tail}") from None
        if not report_path.exists():
            tail = log.read_text()[-3000:] if log.exists() else ""
            raise ToolError(f"simulation wrote no report; log tail:\n{tail}")
        r = json.loads(report_path.read_text())
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
    )
