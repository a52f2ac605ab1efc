"""The cocotb test that runs inside the simulator process.

Roles are kept apart, as in cocotb's matrix_multiplier example:

* :class:`HarnessDriver` turns a chunk's transfers into the harness's stimulus memory and
  starts it;
* :class:`HarnessMonitor` dumps and decodes the recorded output transfers;
* the reference model is the bench's golden expectation (:mod:`shiftadd.sim.benches`);
* :class:`~shiftadd.sim.plan.Checker` compares them.

The runner (:mod:`shiftadd.sim.runner`) passes the job as a JSON file named by the
``SHIFTADD_SIM_JOB`` environment variable and reads back the report this test writes.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge

from ..design import design_from_dict
from ..errors import InputError
from .benches import bench_for
from .harness import HarnessSpec, decode_records, encode_entries
from .operands import load_operands, use_operands
from .plan import Checker

JOB_ENV = "SHIFTADD_SIM_JOB"


class HarnessDriver:
    """Writes a chunk into the harness's stimulus memory and plays it."""

    def __init__(self, dut, spec: HarnessSpec, workdir: Path):
        self.dut, self.spec, self.workdir = dut, spec, workdir

    def write_ready_patterns(self, rng: np.random.Generator | None, ready_rate: float) -> None:
        for out in self.spec.outputs:
            if rng is None:
                pattern = np.ones(self.spec.ready_depth, bool)
            else:
                pattern = rng.random(self.spec.ready_depth) < ready_rate
            text = "\n".join("1" if p else "0" for p in pattern) + "\n"
            (self.workdir / f"ready_{out.name}.bin").write_text(text)

    def load(self, chunk, bubbles) -> None:
        (self.workdir / "stim.bin").write_bytes(encode_entries(self.spec, chunk, bubbles))

    async def play(self, chunk, bubbles, max_cycles: int, drain: int) -> None:
        dut = self.dut
        entries = chunk.entries + (int(bubbles.sum()) if bubbles is not None else 0)
        dut.n_entries.value = entries
        dut.max_cycles.value = max_cycles
        dut.n_drain.value = drain
        for out in self.spec.outputs:
            getattr(dut, f"n_expect_{out.name}").value = chunk.expected[out.name].count
        dut.load.value = 1
        await RisingEdge(dut.clk)
        dut.load.value = 0
        dut.start.value = 1
        await RisingEdge(dut.clk)
        dut.start.value = 0
        await RisingEdge(dut.done)


class HarnessMonitor:
    """Dumps the harness's record memories and decodes them into transfers."""

    def __init__(self, dut, spec: HarnessSpec, workdir: Path):
        self.dut, self.spec, self.workdir = dut, spec, workdir

    async def collect(self):
        dut = self.dut
        for out in self.spec.outputs:
            path = self.workdir / f"rec_{out.name}.bin"
            if path.exists():
                path.unlink()
        dut.dump.value = 1
        await RisingEdge(dut.clk)
        dut.dump.value = 0
        await RisingEdge(dut.clk)
        recorded = {}
        for out in self.spec.outputs:
            path = self.workdir / f"rec_{out.name}.bin"
            raw = path.read_bytes() if path.exists() else b""
            recorded[out.name] = decode_records(self.spec, out.name, raw)
        return recorded, int(dut.cycles.value), bool(dut.timeout.value)


@cocotb.test()
async def shiftadd_bench(dut):
    """Play the job's chunks through the harness and check every output."""
    job = json.loads(Path(os.environ[JOB_ENV]).read_text())
    workdir = Path(job["workdir"])
    design = design_from_dict(job["design"])
    spec = HarnessSpec.from_manifest(
        job["manifest"], depth=job["depth"], four_state=bool(job.get("four_state"))
    )
    bench = bench_for(design)
    if job.get("operands"):
        use_operands(bench, *load_operands(job["operands"]))
    rng = np.random.default_rng(job["seed"])
    stall = bool(job.get("stall"))
    driver = HarnessDriver(dut, spec, workdir)
    monitor = HarnessMonitor(dut, spec, workdir)
    checker = Checker()
    extra: dict = {}

    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    for name in ("load", "start", "dump"):
        getattr(dut, name).value = 0
    dut.rst.value = 1
    await ClockCycles(dut.clk, 3)
    dut.rst.value = 0
    await RisingEdge(dut.clk)

    driver.write_ready_patterns(rng if stall else None, ready_rate=0.7)
    if job.get("gemm"):
        try:
            chunks = [bench.gemm(rng, *job["gemm"])]
        except InputError as exc:
            # A GEMM this design cannot run: the runner raises it again, as the user's error.
            error = {"message": exc.message, "field": exc.field, "allowed": exc.allowed}
            Path(job["report"]).write_text(json.dumps({"input_error": error}))
            return
    else:
        chunks = bench.chunks(
            rng,
            job["vectors"],
            max_entries=spec.depth // (2 if stall else 1),
            model_cycles=not stall,
        )
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    timing = {"plan": 0.0, "encode": 0.0, "simulate": 0.0, "collect": 0.0, "check": 0.0}
    total_cycles = 0
    timeouts = 0
    first_timeout = None
    chunks = iter(chunks)
    while True:
        t0_plan = time.perf_counter()
        chunk = next(chunks, None)
        timing["plan"] += time.perf_counter() - t0_plan
        if chunk is None:
            break
        if job.get("fault") == "expected" and not checker.report.vectors:
            # Bench self-test: a wrong expectation must surface as a mismatch.
            values = next(iter(chunk.expected.values())).values
            values.reshape(values.shape[0], -1)[values.shape[0] // 2, 0] ^= 1
        if job.get("fault") == "lanes":
            # Bench self-test: lanes that carry no result (never-written padding) compared
            # too must fail on Icarus (X) and with random initial values.
            for exp in chunk.expected.values():
                exp.lanes = None
        bubbles = rng.random(chunk.entries) < 0.2 if stall else None
        # The budget follows the family's cycle model for the chunk (Chunk.budget).
        max_cycles = chunk.budget(stall)
        if job.get("fault") == "budget":
            # Bench self-test: half the model's cycles must end in a reported time-out.
            max_cycles = max(1, (chunk.cycles or chunk.entries) // 2)
        t1 = time.perf_counter()
        driver.load(chunk, bubbles)
        t2 = time.perf_counter()
        await driver.play(chunk, bubbles, max_cycles=max_cycles, drain=8)
        t3 = time.perf_counter()
        recorded, cycles, timeout = await monitor.collect()
        t4 = time.perf_counter()
        timing["encode"] += t2 - t1
        timing["simulate"] += t3 - t2
        timing["collect"] += t4 - t3
        total_cycles += cycles
        timeouts += int(timeout)
        if timeout and first_timeout is None:
            first_timeout = {"chunk": chunk.label, "budget": max_cycles, "reached": cycles}
        checker.check(chunk, recorded)
        if chunk.finish is not None:
            extra.update(chunk.finish(recorded))
        timing["check"] += time.perf_counter() - t4
        if job.get("stop_at_failure") and (timeout or not checker.report.passed):
            # A traced run (--waves) ends with its first failing chunk: the waveform stays
            # small and the failure is at its end.
            break
    wall = time.perf_counter() - t0
    # CPU seconds of this process (simulator and Python) over the same loop, unlike the
    # wall-clock split above: on a loaded machine wall time overstates the bench's cost.
    timing["cpu"] = time.process_time() - cpu0

    report = checker.report.to_dict()
    if "gemm_matches" in extra:
        # "product matches" only when every checked lane of every tile matched too: the
        # assembled product alone would not see an unknown (X, recorded as 0) lane.
        r = checker.report
        extra["gemm_matches"] = bool(
            extra["gemm_matches"] and not (r.mismatches or r.missing or r.extra)
        )
    report.update(extra)
    report.update(
        {
            "timeouts": timeouts,
            "timeout": first_timeout,
            "sim_cycles": total_cycles,
            "bench_seconds": wall,
            "sim_seconds": timing["simulate"],
            "timing": timing,
            # Results per output transfer: neurons of an adder tree, columns of a grid engine.
            "outputs_per_neuron": getattr(design, "outputs_per_transfer", getattr(design, "n", 1)),
        }
    )
    if extra.get("gemm_matches") is False or extra.get("gemm_cycles_sim", 0) != extra.get(
        "gemm_cycles_model", 0
    ):
        report["passed"] = False
    report["passed"] = bool(report["passed"] and not timeouts)
    Path(job["report"]).write_text(json.dumps(report, indent=2))
    assert report["passed"], f"bench failed: {json.dumps(report)[:2000]}"
