"""Analytic area and energy: count building blocks, price them with a unit table.

A design's bill of materials (:func:`bill_of_materials`) lists every flip-flop, adder,
multiplier and gate lane it is built from, derived from the same frozen dataclass (and the
same adder-tree plan) the generator uses. :func:`estimate` prices the list with a
:class:`~shiftadd.models.units.UnitTable` calibrated by synthesizing those blocks.

Energy is per cycle while streaming at full rate: flip-flops pay their clock energy every
cycle and their data energy when their contents change; datapath logic pays its energy in
proportion to the data activity; logic that only changes when weights are loaded (the load
port, the weight registers' inputs) is counted as idle, as in the synthesis power
measurement (each family's ``activity_profile``).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..errors import InputError
from ..families import family_of
from ..workloads.activity_stats import DRIVERS, DataActivity
from .units import UnitTable, load_unit_table

__all__ = [
    "Item",
    "bill_of_materials",
    "CostEstimate",
    "CostTerms",
    "cost_terms",
    "estimate",
    "gemm_energy_pj",
    "output_drains",
    "buffers_per_net",
    "price",
    "unit_table",
]


@dataclasses.dataclass(frozen=True)
class Item:
    """``count`` instances of ``unit`` in ``part`` of a design.

    What the data energy scales with (``per``):

    ``"cycle"``
        every streaming cycle (the default);
    ``"mac"``
        useful multiply-accumulates: the part is quiet in a lane that carries padding (zero
        operands) of a partial tile, so its data energy per cycle at full utilization is
        divided by ``macs``, the MAC lanes of the whole array, into an energy per MAC;
    ``"output"``
        output elements leaving the array: ``count`` is then the number of units switched
        per output element (e.g. register bits times the drain hops), ``rate`` the output
        elements per cycle at full rate (used by :func:`estimate`).

    Parameters
    ----------
    unit : str
        Unit-table entry (``dffe``, ``adder``, ``mult``, ``xor2``...).
    part : str
        What the instances are in the design (shown in the breakdown).
    count : float
        Instances (``per="output"``: units switched per output element).
    bits : float, default 0.0
        The summed result width (adders), partial products (multipliers) or the fan-out of
        each of ``count`` nets (``fanout_buf``: the buffers synthesis puts on them).
    io : float, default 0.0
        The summed operand bits (multipliers).
    active : bool, default True
        The part toggles with the streamed data (else idle: only weight loads change it).
    price : dict, optional
        For a unit the table does not calibrate (a characterized custom cell given as
        parameters), its cost per instance: ``area``, ``energy`` (pJ per cycle at the
        calibration activity), ``leakage_mw`` and optionally ``energy_clock`` (pJ).
    per : {"cycle", "mac", "output"}, default "cycle"
        What the data energy scales with (above).
    macs : float, default 0.0
        ``per="mac"``: the MAC lanes of the whole array.
    rate : float, default 0.0
        ``per="output"``: output elements leaving the array per cycle at full rate.
    toggle : float, default 1.0
        Scales the data energy by the part's switching relative to random data, in
        ``[0, 2]`` (an accumulator's upper bits change less often than random bits).
    structural : bool, default True
        False: the item only carries energy (its area, clock and leakage are another item).
    driver : str, default "data"
        Which nets' switching its data energy follows when priced on measured data
        (:class:`~shiftadd.workloads.activity_stats.DataActivity`): ``act`` (activation bus
        and registers), ``weight`` (weight bus and registers), ``term`` (lane products,
        XNORs, complements), ``sum`` (adder trees, accumulators, results), ``digit`` (digit
        selects), ``data`` (follows the activations).
    clock : float, default 1.0
        Share of cycles the part's clock runs, in ``[0, 1]``: a register group behind a
        clock gate (``dff``/``dffe``) pays its clock energy only when its gate is open; a
        clock gate (``icg``) pays its open-gate energy (driving its ``bits`` flip-flops'
        clock pins) that share of cycles and its closed-gate energy every cycle.
    """

    unit: str
    part: str
    count: float
    bits: float = 0.0
    io: float = 0.0
    active: bool = True
    price: dict | None = None
    per: str = "cycle"
    macs: float = 0.0
    rate: float = 0.0
    toggle: float = 1.0
    structural: bool = True
    driver: str = "data"
    clock: float = 1.0

    def __post_init__(self):
        if self.driver not in DRIVERS:
            raise ValueError(f"{self.part}: driver must be one of {DRIVERS}, not {self.driver!r}")
        if self.per not in ("cycle", "mac", "output"):
            raise ValueError(f"Item.per must be 'cycle', 'mac' or 'output', not {self.per!r}")
        if self.per == "mac" and self.macs <= 0:
            raise ValueError(f"{self.part}: a per-MAC part needs macs > 0")
        if not 0.0 <= self.toggle <= 2.0:
            raise ValueError(f"{self.part}: toggle must be in [0, 2], not {self.toggle}")
        if not 0.0 <= self.clock <= 1.0:
            raise ValueError(f"{self.part}: clock must be in [0, 1], not {self.clock}")


def bill_of_materials(design) -> list[Item]:
    """The building blocks of ``design``: its family's cost model.

    Parameters
    ----------
    design : Design
        A design of any family with a cost model.

    Returns
    -------
    list of Item
        The building blocks, to be priced with a unit table (:func:`estimate`).
    """
    return family_of(design).get("bill_of_materials")(design)


@dataclasses.dataclass
class CostEstimate:
    """Area and energy of a design from its bill of materials.

    Parameters
    ----------
    design : str
        Design name.
    table : str
        Name of the unit table it was priced with.
    area : float
        In ``area_unit``.
    area_unit : str
        Unit of ``area`` (``um^2``).
    energy_per_cycle_pj, energy_per_op_pj : float
        While streaming at full rate with the given data activity, in pJ (leakage included).
    leakage_mw : float
        Leakage power, in mW.
    power_mw : float
        ``energy_per_cycle_pj / clock_ns`` plus nothing else (leakage is inside).
    clock_ns : float
        Clock period, in ns.
    data_activity : float
        Toggle activity of the streamed data.
    ops_per_cycle : int
        Operations (2 per MAC) per cycle at full rate.
    breakdown : list of dict
        Per item: part, unit, count, area, energy per cycle.
    """

    design: str
    table: str
    area: float
    area_unit: str
    energy_per_cycle_pj: float
    energy_per_op_pj: float
    leakage_mw: float
    power_mw: float
    clock_ns: float
    data_activity: float
    ops_per_cycle: int
    breakdown: list

    @property
    def tops_per_watt(self) -> float:
        """Energy efficiency at full rate, in TOPS/W (0 when the energy is 0)."""
        # ops / pJ = 1e12 ops / J; TOPS/W = ops per pJ
        return 1.0 / self.energy_per_op_pj if self.energy_per_op_pj else 0.0

    @property
    def gops_per_mm2(self) -> float:
        """Area efficiency at full rate, in GOPS/mm^2 (0 unless ``area_unit`` is um^2)."""
        gops = self.ops_per_cycle / self.clock_ns  # ops per ns = GOPS
        return gops / (self.area * 1e-6) if self.area_unit == "um^2" and self.area else 0.0

    def to_dict(self) -> dict:
        """The fields and the efficiency figures as a plain mapping.

        Returns
        -------
        dict
            Every field plus ``tops_per_watt`` and ``gops_per_mm2``.
        """
        out = dataclasses.asdict(self)
        out["tops_per_watt"] = self.tops_per_watt
        out["gops_per_mm2"] = self.gops_per_mm2
        return out


def buffers_per_net(unit: dict, fanout) -> np.ndarray | float:
    """Buffers synthesis inserts on a net driving ``fanout`` gate inputs, by the calibrated
    ``fanout_buf`` unit: interpolated between its measured fan-outs, none below the first,
    ``1 / loads_per_buffer`` per further load beyond the last.

    Parameters
    ----------
    unit : dict
        The unit table's ``fanout_buf`` entry.
    fanout : float or array_like
        Gate inputs each net drives.

    Returns
    -------
    float or ndarray
        Buffers per net (a float for a scalar ``fanout``).
    """
    xs, ys = unit["fanouts"], unit["buffers_per_net"]
    f = np.asarray(fanout, float)
    beyond = np.maximum(f - xs[-1], 0.0) / unit["loads_per_buffer"]
    out = np.interp(f, xs, ys, left=0.0) + beyond
    return float(out) if out.ndim == 0 else out


def price(item: Item, table: UnitTable) -> tuple[float, float, float, float]:
    """``(area, clock energy per cycle, data energy at the calibration activity, leakage
    mW)`` of one item; the data energy is per cycle, per MAC or per output element as
    ``item.per`` says. Idle items (weights held) pay no data energy.

    Parameters
    ----------
    item : Item
        The item to price.
    table : UnitTable
        The unit table.

    Returns
    -------
    tuple of (float, float, float, float)
        Area (in the table's ``area_unit``), clock energy (pJ per cycle), data energy (pJ
        per cycle, MAC or output element) and leakage (mW); a non-structural item has only
        the data energy.
    """
    a, c, d, lk = _unit_counts(item, table)
    if item.per == "mac":
        d /= item.macs
    if not item.structural:
        a = c = lk = 0.0
    return a, c, d * item.toggle, lk


def _unit_counts(item: Item, table: UnitTable) -> tuple[float, float, float, float]:
    on = 1.0 if item.active else 0.0
    if item.price is not None:
        p = item.price
        return (
            item.count * p["area"],
            item.count * p.get("energy_clock", 0.0),
            on * item.count * p["energy"],
            item.count * p["leakage_mw"],
        )
    if item.unit == "icg" and "icg" not in table.units:
        raise InputError(
            f"unit table {table.name} has no 'icg' unit to price clock gates",
            field="--units",
            allowed="a table calibrated with clock gates (shiftadd calibrate), e.g. ihp-sg13g2",
        )
    u = table[item.unit]
    if item.unit == "fanout_buf":
        n = item.count * buffers_per_net(u, item.bits)
        return n * u["area"], 0.0, on * n * u["energy"], n * u["leakage_mw"]
    if item.unit == "icg":
        # A clock gate: its clock pin every cycle (gate closed), and when open its output
        # net and the clock pins of the bits flip-flops it drives.
        opened = u["energy_open_fixed"] + u["energy_open_per_load"] * item.bits
        return (
            item.count * u["area"],
            item.count * (u["energy_clock"] + item.clock * opened),
            0.0,
            item.count * u["leakage_mw"],
        )
    if item.unit in ("dff", "dffe"):
        return (
            item.count * u["area"],
            item.count * u["energy_clock"] * item.clock,
            on * item.count * u["energy_data"],
            item.count * u["leakage_mw"],
        )
    if item.unit in ("adder", "tree_adder"):
        return (
            item.bits * u["area_per_bit"] + item.count * u["area_fixed"],
            0.0,
            on * (item.bits * u["energy_per_bit"] + item.count * u["energy_fixed"]),
            item.bits * u["leakage_mw_per_bit"],
        )
    if item.unit == "mult":
        return (
            item.bits * u["area_per_pp"]
            + item.io * u["area_per_io"]
            + item.count * u["area_fixed"],
            0.0,
            on
            * (
                item.bits * u["energy_per_pp"]
                + item.io * u["energy_per_io"]
                + item.count * u["energy_fixed"]
            ),
            item.bits * u["leakage_mw_per_pp"],
        )
    return item.count * u["area"], 0.0, on * item.count * u["energy"], item.count * u["leakage_mw"]


@dataclasses.dataclass(frozen=True)
class CostTerms:
    """A design's cost in terms that scale separately.

    Energy per cycle at data activity ``a`` is ``energy_clock + a / calibration_activity *
    energy_data``, plus ``leakage_mw * clock_ns``; an idle cycle (waiting for memory) costs
    ``energy_clock`` plus leakage. Parts that switch only for useful work add ``a /
    calibration_activity`` times ``energy_mac`` per multiply-accumulate and
    ``energy_output`` per output element leaving the array (:func:`gemm_energy_pj`).

    Parameters
    ----------
    area : float or ndarray
        Area, in the unit table's ``area_unit`` (um^2).
    energy_clock : float or ndarray
        Energy per cycle with the data held, in pJ.
    energy_data : float or ndarray
        Data energy per streaming cycle at the calibration activity, in pJ.
    leakage_mw : float or ndarray
        Leakage power, in mW.
    calibration_activity : float or ndarray
        The data activity the energies were calibrated at.
    energy_mac : float or ndarray, default 0.0
        Data energy per useful MAC at the calibration activity, in pJ.
    energy_output : float or ndarray, default 0.0
        Data energy per output element at the calibration activity, in pJ.
    """

    area: float
    energy_clock: float
    energy_data: float
    leakage_mw: float
    calibration_activity: float
    energy_mac: float = 0.0
    energy_output: float = 0.0


def cost_terms(
    design, table: UnitTable | str | None = None, *, activity: DataActivity | None = None
) -> CostTerms:
    """Area and the separately scaling energy terms of ``design`` (see :class:`CostTerms`).

    Parameters
    ----------
    design : Design
        A design of any family with a cost model.
    table : UnitTable or str, optional
        Unit table, or the name or file of one (default: the calibrated IHP SG13G2 table).
    activity : DataActivity, optional
        Switching measured on data: each item's data energy is scaled by the activity of the
        nets that drive it (``Item.driver``) over the calibration activity, so the terms are
        already those of the data: price them with ``data_activity =
        terms.calibration_activity`` (:func:`gemm_energy_pj`). Default: the calibration
        activity for every item (scale with ``data_activity``, as before).
        ``DataActivity.uniform(a)`` gives the same energies as ``data_activity = a``.

    Returns
    -------
    CostTerms
        The design's area, energy and leakage terms.
    """
    table = unit_table(table)
    area = e_clock = leak = 0.0
    data = {"cycle": 0.0, "mac": 0.0, "output": 0.0}
    for item in bill_of_materials(design):
        a, c, d, lk = price(item, table)
        if activity is not None:
            d *= activity.rate(item.driver) / table.calibration_activity
        area, e_clock, leak = area + a, e_clock + c, leak + lk
        data[item.per] += d
    return CostTerms(
        area,
        e_clock,
        data["cycle"],
        leak,
        table.calibration_activity,
        energy_mac=data["mac"],
        energy_output=data["output"],
    )


def output_drains(m, n, k, tile_k):
    """Output elements leaving the array for GEMM ``(m, n, k)``: each output once per
    K-tile of ``tile_k`` (NumPy arrays broadcast).

    Parameters
    ----------
    m, n, k : int or ndarray
        GEMM shape ``Y[M, N] = X[M, K] @ W[N, K].T``.
    tile_k : int or ndarray
        Reduction steps per K-tile.

    Returns
    -------
    float or ndarray
        Output elements drained, ``m * n * ceil(k / tile_k)``.
    """
    return m * n * np.ceil(np.asarray(k, dtype=float) / tile_k)


def gemm_energy_pj(
    terms: CostTerms, *, gemm_cycles, total_cycles, macs, outputs, clock_ns, data_activity
):
    """Energy (pJ) of a run of ``total_cycles`` of which ``gemm_cycles`` stream data,
    doing ``macs`` useful multiply-accumulates and draining ``outputs`` output elements
    (NumPy arrays broadcast). The sweep and the validation both use this formula.

    Parameters
    ----------
    terms : CostTerms
        The design's cost terms.
    gemm_cycles : int, float or ndarray
        Cycles that stream data.
    total_cycles : int, float or ndarray
        All cycles of the run (streaming plus idle).
    macs : int, float or ndarray
        Useful multiply-accumulates.
    outputs : int, float or ndarray
        Output elements leaving the array (:func:`output_drains`).
    clock_ns : float or ndarray
        Clock period, in ns.
    data_activity : float or ndarray
        Toggle activity of the streamed data.

    Returns
    -------
    float or ndarray
        Energy of the run, in pJ.
    """
    scale = data_activity / terms.calibration_activity
    idle = total_cycles - gemm_cycles
    return (
        gemm_cycles * (terms.energy_clock + scale * terms.energy_data)
        + scale * (macs * terms.energy_mac + outputs * terms.energy_output)
        + idle * terms.energy_clock
        + terms.leakage_mw * total_cycles * clock_ns
    )


def unit_table(table=None) -> UnitTable:
    """A unit table: ``table`` itself, the table of that name or file, or the default.

    Parameters
    ----------
    table : UnitTable or str, optional
        A table, or the name or file of one; default the calibrated IHP SG13G2 table.

    Returns
    -------
    UnitTable
        The loaded table.
    """
    if table is None:
        return load_unit_table()
    return table if isinstance(table, UnitTable) else load_unit_table(table)


def estimate(
    design,
    table: UnitTable | str | None = None,
    *,
    data_activity: float | DataActivity = 0.5,
    clock_ns: float | None = None,
) -> CostEstimate:
    """Area and energy of ``design`` priced with a unit table (default: the calibrated
    IHP SG13G2 table).

    Parameters
    ----------
    design : Design
        A design of any family with a cost model.
    table : UnitTable or str, optional
        Unit table, or the name or file of one (default: the calibrated IHP SG13G2 table).
    data_activity : float or DataActivity, default 0.5
        Toggle activity of the streamed data (0.5: uniformly random data), or switching
        measured on data, which prices each item at the activity of the nets that drive it
        (``Item.driver``).
    clock_ns : float, optional
        Clock period in ns for the power and leakage energy; default the design's
        ``clock_ns``.

    Returns
    -------
    CostEstimate
        Area, energy per cycle and per operation, power and the per-item breakdown.
    """
    table = unit_table(table)
    clock_ns = float(design.clock_ns if clock_ns is None else clock_ns)
    measured = data_activity if isinstance(data_activity, DataActivity) else None
    number = data_activity.act_toggle if isinstance(data_activity, DataActivity) else data_activity
    scale = 1.0 if measured is not None else float(number) / table.calibration_activity
    area = energy = leakage = 0.0
    rows = []
    for item in bill_of_materials(design):
        a, e_clock, e_data, leak = price(item, table)
        if measured is not None:
            e_data *= measured.rate(item.driver) / table.calibration_activity
        # Full rate: every MAC lane busy, outputs leaving at the part's stated rate.
        per_cycle = {"cycle": 1.0, "mac": item.macs, "output": item.rate}[item.per]
        e = e_clock + scale * e_data * per_cycle
        area += a
        energy += e
        leakage += leak
        rows.append(
            {
                "part": item.part,
                "unit": item.unit,
                "count": item.count,
                "bits": item.bits,
                "active": item.active,
                "area": a,
                "energy_per_cycle_pj": e + leak * clock_ns,
            }
        )
    energy += leakage * clock_ns  # mW * ns = pJ
    ops = design.ops_per_cycle
    return CostEstimate(
        design=design.name,
        table=table.name,
        area=area,
        area_unit=table.area_unit,
        energy_per_cycle_pj=energy,
        energy_per_op_pj=energy / ops,
        leakage_mw=leakage,
        power_mw=energy / clock_ns,
        clock_ns=clock_ns,
        data_activity=float(number),
        ops_per_cycle=ops,
        breakdown=rows,
    )
