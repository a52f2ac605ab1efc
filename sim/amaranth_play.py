"""Play a bench chunk on a component in the Amaranth simulator.

The driver presents the chunk's transfers in order on the component's input streams,
honouring ``ready``; the monitor records every output handshake with its cycle. This is the
block-level twin of the Verilog harness (:mod:`shiftadd.sim.harness`): same plan, same
checker, no Verilog involved.
"""

from __future__ import annotations

import numpy as np
from amaranth.lib import wiring
from amaranth.sim import Simulator

from ..hw import build_component
from .benches import bench_for
from .packing import pack, unpack
from .plan import Checker, CheckReport, Chunk, Recorded

__all__ = ["stream_ports", "play_amaranth", "check_on_amaranth"]


def stream_ports(component) -> tuple[dict, dict]:
    """``(inputs, outputs)``: the component's stream members by name, in signature order."""
    inputs, outputs = {}, {}
    for name, member in component.signature.members.items():
        if not member.is_signature:
            continue
        port = getattr(component, name)
        if not {"valid", "ready", "payload"} <= set(member.signature.members.keys()):
            continue
        (inputs if member.flow == wiring.In else outputs)[name] = port
    return inputs, outputs


def _rows_to_ints(bits: np.ndarray) -> list[int]:
    out = []
    for row in bits:
        value = 0
        for i in np.flatnonzero(row):
            value |= 1 << int(i)
        out.append(value)
    return out


def _ints_to_rows(values: list[int], width: int) -> np.ndarray:
    bits = np.zeros((len(values), width), bool)
    for r, v in enumerate(values):
        for i in range(width):
            bits[r, i] = (v >> i) & 1
    return bits


def play_amaranth(
    component, chunk: Chunk, *, out_ready=None, bubbles=None, max_cycles: int | None = None
) -> dict[str, Recorded]:
    """Simulate ``chunk`` on ``component`` and return what each output stream produced.

    Parameters
    ----------
    component : wiring.Component
        A component whose interface is streams (plus the implicit clock and reset).
    chunk : Chunk
    out_ready : callable(cycle) -> bool, optional
        Output ``ready`` per cycle (backpressure); default always ready.
    bubbles : ndarray of bool, optional
        Per transfer, hold ``valid`` low for one cycle before presenting it.
    max_cycles : int, optional
        Give up after this many cycles (default: :meth:`Chunk.budget` with stalls).
    """
    inputs, outputs = stream_ports(component)
    expected_counts = {name: exp.count for name, exp in chunk.expected.items()}
    entries = []  # (stream name, payload int)
    for burst in chunk.bursts:
        layout = inputs[burst.stream].payload.shape()
        for value in _rows_to_ints(pack(layout, burst.values, burst.count)):
            entries.append((burst.stream, value))
    if bubbles is None:
        bubbles = np.zeros(len(entries), bool)
    if max_cycles is None:
        # The model's cycle count, with room for random bubbles and backpressure.
        max_cycles = chunk.budget(stall=True)
    raw = {name: ([], []) for name in outputs}

    async def testbench(ctx):
        index, cycle, pending_bubble = 0, 0, bool(len(bubbles) and bubbles[0])
        while cycle < max_cycles:
            for port in inputs.values():
                ctx.set(port.valid, 0)
            current = None
            if index < len(entries) and not pending_bubble:
                current = entries[index]
                port = inputs[current[0]]
                ctx.set(port.payload.as_value(), current[1])
                ctx.set(port.valid, 1)
            for name, port in outputs.items():
                ready = 1 if out_ready is None else int(bool(out_ready(cycle)))
                ctx.set(port.ready, ready)
                if ready and ctx.get(port.valid):
                    raw[name][0].append(ctx.get(port.payload.as_value()))
                    raw[name][1].append(cycle)
            fired = current is not None and ctx.get(inputs[current[0]].ready)
            await ctx.tick()
            cycle += 1
            if pending_bubble:
                pending_bubble = False
            elif fired:
                index += 1
                pending_bubble = bool(index < len(bubbles) and bubbles[index])
            if index >= len(entries) and all(
                len(raw[n][0]) >= c for n, c in expected_counts.items()
            ):
                break

    sim = Simulator(component)
    sim.add_clock(1e-8)
    sim.add_testbench(testbench)
    sim.run()

    recorded = {}
    for name, port in outputs.items():
        layout = port.payload.shape()
        width = len(port.payload.as_value())
        bits = _ints_to_rows(raw[name][0], width)
        recorded[name] = Recorded(
            values=np.asarray(unpack(layout, bits)), cycles=np.asarray(raw[name][1], dtype=np.int64)
        )
    return recorded


def check_on_amaranth(
    design,
    results: int,
    *,
    component=None,
    seed: int = 0,
    stall: bool = False,
    max_entries: int = 200,
) -> CheckReport:
    """Run ``results`` random results of a design's bench through the Amaranth simulator and
    check every value (and, without stalls, every cycle) against the golden and cycle models.

    Parameters
    ----------
    design
        A design of any registered family.
    results : int
        Results (output vectors) to check.
    component : callable(design) -> wiring.Component, optional
        Builds the component for each chunk (default :func:`shiftadd.hw.build_component`).
    seed : int
        Seed of the operands and of the stall pattern.
    stall : bool
        Hold ``valid`` low before 30 % of the transfers and ``ready`` low on a fixed
        pseudo-random 3 of 7 cycles; cycles are then not compared with the model.
    max_entries : int
        Input transfers per chunk.

    Returns
    -------
    CheckReport
        The checker's report over every chunk.
    """
    build = build_component if component is None else component
    rng = np.random.default_rng(seed)
    checker = Checker()
    for chunk in bench_for(design).chunks(
        rng, results, max_entries=max_entries, model_cycles=not stall
    ):
        bubbles = rng.random(chunk.entries) < 0.3 if stall else None
        ready = (lambda c: (c * 2654435761) % 7 < 4) if stall else None
        recorded = play_amaranth(build(design), chunk, out_ready=ready, bubbles=bubbles)
        checker.check(chunk, recorded)
    return checker.report
