"""The ``stage`` delay unit: a ripple of gates whose every tap drives several loads."""

from __future__ import annotations

import pytest
from amaranth.sim import Simulator

from shiftadd.errors import InputError
from shiftadd.flows.calibrate import (
    DELAY_STAGE_CHAIN,
    DELAY_STAGE_LOADS,
    LoadedChain,
    calibrate,
    stage_blocks,
    stage_unit,
)
from shiftadd.models.timing import element_delay, fanout, gates, loaded_stages
from shiftadd.models.units import load_unit_table


@pytest.fixture(scope="module")
def delay():
    t = load_unit_table("ihp-sg13g2")
    if "stage" not in t.units.get("delay", {}):
        pytest.skip("the installed ihp-sg13g2 unit table has no [delay.stage] unit")
    return t["delay"]


def test_loaded_chain_computes_the_or_ripple_and_its_taps():
    dut = LoadedChain(stages=3, loads=3)
    seen = []

    async def bench(ctx):
        for a, s, b in ((0, 0b000, 0b111111), (0, 0b010, 0b111111), (1, 0, 0b101010)):
            ctx.set(dut.a, a)
            ctx.set(dut.s, s)
            ctx.set(dut.b, b)
            seen.append(ctx.get(dut.y))

    sim = Simulator(dut)
    sim.add_testbench(bench)
    sim.run()
    # y = (x0 & b0, x0 & b1, x1 & b2, x1 & b3, x2 & b4, x2 & b5, x2)
    assert seen == [0, 0b1111100, 0b1101010]


def test_stage_blocks_cover_the_load_grid():
    blocks = stage_blocks()
    assert [b.label for b in blocks] == [f"delay_stage{n}" for n in DELAY_STAGE_LOADS]
    assert all(b.timing_only for b in blocks)


def test_stage_unit_is_the_logic_delay_per_gate():
    reg = 0.25
    cp = {f"delay_stage{n}": reg + DELAY_STAGE_CHAIN * 0.01 * n for n in DELAY_STAGE_LOADS}
    unit = stage_unit(cp, reg)
    assert unit["loads"] == list(DELAY_STAGE_LOADS)
    assert unit["ns"] == pytest.approx([0.01 * n for n in DELAY_STAGE_LOADS])


def test_only_named_delay_units_are_measured_alone():
    with pytest.raises(InputError, match="delay units"):
        calibrate("x.lib", delays_only=True, delay_units=("adder",))
    with pytest.raises(InputError, match="without delays_only"):
        calibrate("x.lib", delay_units=("stage",))


def test_a_loaded_stage_costs_more_than_a_gate_and_a_net(delay):
    # The measured point of the OS drain ripple (8 loads a tap) and the Booth encoder's
    # complemented bit (6): weak cells, unbuffered taps.
    for loads in (6, 8):
        composed = element_delay(gates("and2", 1, "g"), delay) + element_delay(
            fanout(loads, "n"), delay
        )
        assert element_delay(loaded_stages(1, loads, "s"), delay) > composed


def test_loaded_stages_scale_with_the_chain_and_never_fall_beyond_the_grid(delay):
    one = element_delay(loaded_stages(1, 8, "s"), delay)
    assert element_delay(loaded_stages(5, 8, "s"), delay) == pytest.approx(5 * one)
    assert element_delay(loaded_stages(0, 8, "s"), delay) == 0.0
    top = delay["stage"]["loads"][-1]
    last = element_delay(loaded_stages(1, top, "s"), delay)
    for loads in (top + 1, 4 * top, 64 * top):
        assert element_delay(loaded_stages(1, loads, "s"), delay) >= last


def test_a_table_without_the_unit_composes_gate_and_net(delay):
    old = {k: v for k, v in delay.items() if k != "stage"}
    composed = element_delay(gates("and2", 1, "g"), old) + element_delay(fanout(6, "n"), old)
    assert element_delay(loaded_stages(3, 6, "s"), old) == pytest.approx(3 * composed)
