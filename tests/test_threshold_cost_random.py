"""The threshold array's bill of materials counts the structure synthesis builds for small
arrays too: the shared one-hot decoders of the instruction's select and address fields (trees
of two-input gates, not one gate per line), the memory bits' write enables and priority
multiplexers, the step register's enable net; and the neuron presets of reordered or
unmeasured weights."""

from __future__ import annotations

import pytest

from shiftadd.design.threshold import ThresholdDesign
from shiftadd.models.cost import estimate
from shiftadd.models.threshold.cells import cell_preset
from shiftadd.models.threshold.cost import one_hot_decoder, threshold_bom, threshold_fanout_nets


def count(design, part, unit=None):
    """Instances of ``part`` (active and held shares) in the design's bill."""
    return sum(
        i.count
        for i in threshold_bom(design)
        if i.part in (part, f"{part} (held share)") and (unit is None or i.unit == unit)
    )


def base(**kw) -> ThresholdDesign:
    params = dict(name="tl_cost", k=24, pes=3, neurons=4, memory_bits=20, data_bits=3)
    params.update(kw)
    return ThresholdDesign(**params)


def test_decoder_gates_follow_the_shared_tree():
    # 5-bit select, codes 1..27: pairs of bits 0-1 and 2-3 (4 values each), bits 0-3
    # (16 values), then the 27 outputs.
    gates, fanouts = one_hot_decoder(5, range(1, 28))
    assert gates == 4 + 4 + 16 + 27
    # Bit 4 joins at the top: its literals drive the 15 codes below 16 and the 12 above.
    assert sorted(fanouts)[-2:] == [12, 15]
    # A full decoder of 2 bits is its 4 outputs, a 1-bit "decoder" the literal itself.
    assert one_hot_decoder(2, range(4)) == (4, [2, 2, 2, 2])
    assert one_hot_decoder(1, [0, 1])[0] == 0
    # Never fewer gates than outputs once there are two bits; more bits, more gates.
    for bits in range(2, 8):
        codes = range(1, 1 << bits)
        assert one_hot_decoder(bits, codes)[0] >= len(codes)
        assert one_hot_decoder(bits + 1, codes)[0] > one_hot_decoder(bits, codes)[0]
    with pytest.raises(ValueError):
        one_hot_decoder(3, [8])


def test_select_and_store_decoders_are_shared_and_counted_as_trees():
    d = base()
    N, F, L = d.neurons, d.fan_in, d.memory_bits
    sel = one_hot_decoder(d.select_bits, range(1, d.sources))[0]
    store = one_hot_decoder(d.address_bits, range(L))[0]
    assert count(d, "select decoders (shared)", "and2") == pytest.approx((N * F + 1) * sel)
    assert count(d, "store address decoders (shared)", "and2") == pytest.approx(N * (store + L))
    assert count(d, "local memory write enables (shared)", "and2") == pytest.approx(L * (N - 1))
    # More gates than one per select line, and none of them per PE.
    assert count(d, "select decoders (shared)") > (N * F + 1) * (d.sources - 1)
    for part in (
        "select decoders (shared)",
        "store address decoders (shared)",
        "local memory write enables (shared)",
    ):
        assert count(d.replace(pes=1), part) == count(d.replace(pes=6), part) == count(d, part)
    # The store decoders grow with the neurons and the memory.
    assert count(d.replace(memory_bits=40), "store address decoders (shared)") > count(
        d, "store address decoders (shared)"
    )
    assert count(d.replace(neurons=5), "local memory write enables (shared)") == pytest.approx(
        L * 4
    )


def test_memory_write_select_is_a_priority_chain_per_pe():
    d = base()
    P, N, L = d.pes, d.neurons, d.memory_bits
    assert count(d, "local memory write select", "mux2") == pytest.approx(P * L * (N - 1))
    assert count(d.replace(pes=6), "local memory write select") == pytest.approx(6 * L * (N - 1))
    assert count(d, "local memory write select", "and2") == 0


def test_enable_nets_are_buffered():
    d = base()
    nets = {name: (n, f) for name, n, f, _ in threshold_fanout_nets(d)}
    assert nets["step register enable"] == (1, 2 * (d.instruction_bits - 1))
    assert nets["data register load enable"] == (1, d.pes * d.data_bits)
    inner = [name for name in nets if name.startswith("decoder inner nets")]
    assert inner and all(nets[name][1] >= 4 for name in inner)
    buffers = [i for i in threshold_bom(d) if i.unit == "fanout_buf" and "step register" in i.part]
    assert buffers and sum(i.count for i in buffers) == pytest.approx(1)


def test_shared_control_is_a_larger_share_of_a_small_array():
    """The decoders do not shrink with the PEs: one PE pays for them alone."""

    def shared(design):
        return sum(
            r["area"]
            for r in estimate(design).breakdown
            if "(shared)" in r["part"] or "step register" in r["part"]
        )

    one, six = base(pes=1), base(pes=6)
    assert shared(one) == pytest.approx(shared(six), rel=0.05)
    assert shared(one) / estimate(one).area > 2 * shared(six) / estimate(six).area


def test_reordered_weights_take_the_measured_neuron():
    measured = cell_preset("standard_cell", (4, 2, 1, 1, 1, 1, 1))
    reordered = cell_preset("standard_cell", (1, 1, 1, 4, 1, 1, 2))
    assert reordered.area_um2 == measured.area_um2
    assert reordered.energy_idle_pj == measured.energy_idle_pj
    assert reordered.weights == (1, 1, 1, 4, 1, 1, 2)
    assert "another order" in reordered.source


def test_interpolated_neurons_lie_between_their_measured_neighbours():
    five = cell_preset("standard_cell", (2, 1, 1, 1, 1))
    six = cell_preset("standard_cell", (2, 1, 1, 1, 1, 1))
    seven = cell_preset("standard_cell", (4, 2, 1, 1, 1, 1, 1))
    assert "interpolated" in six.source
    for figure in ("area_um2", "energy_eval_pj", "energy_idle_pj", "leakage_mw", "delay_ns"):
        assert getattr(five, figure) < getattr(six, figure) < getattr(seven, figure)
    # A heavier weight on the same inputs costs at least as much.
    assert cell_preset("standard_cell", (2, 2, 1, 1, 1, 1)).area_um2 >= six.area_um2
