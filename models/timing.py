"""Analytic timing: the critical path of a design from its structure, priced with delay units
measured on the liberty.

A family describes its register-to-register paths (:func:`timing_paths`, the family's
``timing_paths`` capability): each :class:`TimingPath` is the chain of logic one pipeline
stage holds between two registers (or a port and a register), as elements the unit table
prices: gate levels, carry-propagate adders, balanced adder trees (levels and leaf width),
multipliers, 3:2 compressor levels, the buffer tree of a high-fan-out net, and the
row-decoded write of a register bank (``valid & ready & (index == i)`` into row ``i``). The
critical path is the slowest path plus one register's clock-to-output and setup time.

Delays come from the unit table's ``[delay]`` section, which ``shiftadd calibrate`` measures
with OpenSTA on blocks synthesized between registers (:mod:`shiftadd.flows.calibrate`):
adder delays at several widths, trees on a grid of levels and leaf widths, multipliers on a
grid of operand widths, fan-out nets of several sizes, row-decoded writes on a grid of rows
and bits. The model interpolates between measured points (adders and fan-out in log2 of the
width or load count, trees linearly in levels and in log2 of the leaf width, writes in log2
of rows and bits) and continues with the last measured slope beyond them (a write or a
net never getting faster beyond its largest measured size); it never fits a constant to a
design.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from ..errors import InputError
from ..families import family_of
from .units import UnitTable, load_unit_table

__all__ = [
    "Element",
    "TimingPath",
    "TimingReport",
    "gates",
    "adder",
    "tree",
    "mult",
    "csa",
    "fanout",
    "decoded_write",
    "loaded_stages",
    "weak_buffer_net",
    "timing_paths",
    "element_delay",
    "path_delay",
    "critical_path",
    "critical_path_ns",
    "has_delays",
]

#: Gate kinds a path can hold, priced by the calibrated lane blocks.
GATE_KINDS = ("xnor2", "xor2", "and2", "mux2")


@dataclasses.dataclass(frozen=True)
class Element:
    """One piece of logic on a path.

    Parameters
    ----------
    kind : str
        ``gate``, ``adder``, ``tree``, ``mult``, ``csa`` or ``fanout``.
    what : str
        What the element is in the design, for reports.
    params : tuple of (str, float)
        The element's size: ``gate``: ``("unit", kind index), ("levels", n)``; ``adder``:
        ``("width", bits)``; ``tree``: ``("levels", n), ("leaf_width", bits), ("signed",
        0 or 1)``; ``mult``:
        ``("a_bits", n), ("w_bits", n)``; ``csa``: ``("levels", n)``; ``fanout``:
        ``("loads", n)``; ``write``: ``("rows", n), ("bits", n)``; ``stage``:
        ``("stages", n), ("loads", n)``.
    """

    kind: str
    what: str
    params: tuple[tuple[str, float], ...]

    def get(self, name: str) -> float:
        """The parameter ``name``.

        Parameters
        ----------
        name : str
            Parameter name.

        Returns
        -------
        float
            Its value.
        """
        return dict(self.params)[name]


def gates(unit: str, levels: int, what: str) -> Element:
    """``levels`` gates of kind ``unit`` in series.

    Parameters
    ----------
    unit : str
        One of ``xnor2``, ``xor2``, ``and2``, ``mux2``.
    levels : int
        Gates in series.
    what : str
        Description for reports.

    Returns
    -------
    Element
        The element.
    """
    return Element("gate", what, (("unit", GATE_KINDS.index(unit)), ("levels", levels)))


def adder(width: int, what: str) -> Element:
    """A two-input carry-propagate adder with a ``width``-bit result.

    Parameters
    ----------
    width : int
        Result width in bits.
    what : str
        Description for reports.

    Returns
    -------
    Element
        The element.
    """
    return Element("adder", what, (("width", width),))


def tree(levels: float, leaf_width: int, signed: bool, what: str, *, after: float = 0) -> Element:
    """A balanced adder tree of ``levels`` levels over ``leaf_width``-bit leaves.

    Parameters
    ----------
    levels : float
        Adder levels (the tree of ``2**levels`` leaves; a fractional depth for a tree whose
        leaf count is not a power of two, as :func:`math.log2` of it).
    leaf_width : int
        Width of a leaf in bits.
    signed : bool
        Whether the leaves are two's complement numbers (sign-extended at every level).
    what : str
        Description for reports.
    after : float
        Levels of carry-propagating logic the leaves come out of without a register in
        between (a multiplier's partial-product tree, a popcount): the carry chains
        overlap, so the element adds only what ``levels`` more levels add to a tree that
        deep, ``T(after + levels) - T(after)``.

    Returns
    -------
    Element
        The element.
    """
    return Element(
        "tree",
        what,
        (
            ("levels", levels),
            ("leaf_width", leaf_width),
            ("signed", float(bool(signed))),
            ("after", after),
        ),
    )


def mult(a_bits: int, w_bits: int, what: str) -> Element:
    """An ``a_bits`` x ``w_bits`` multiplier.

    Parameters
    ----------
    a_bits, w_bits : int
        Operand widths in bits.
    what : str
        Description for reports.

    Returns
    -------
    Element
        The element.
    """
    return Element("mult", what, (("a_bits", a_bits), ("w_bits", w_bits)))


def csa(levels: int, what: str) -> Element:
    """``levels`` levels of 3:2 compressors in series.

    Parameters
    ----------
    levels : int
        Compressor levels.
    what : str
        Description for reports.

    Returns
    -------
    Element
        The element.
    """
    return Element("csa", what, (("levels", levels),))


def fanout(loads: int, what: str) -> Element:
    """A net driving ``loads`` gate inputs through the buffer tree synthesis inserts.

    Parameters
    ----------
    loads : int
        Gate inputs on the net.
    what : str
        Description for reports.

    Returns
    -------
    Element
        The element.
    """
    return Element("fanout", what, (("loads", loads),))


def decoded_write(rows: int, bits: int, what: str) -> Element:
    """A row-decoded register write: ``rows`` registers of ``bits`` bits, row ``i`` loading
    when ``valid & ready & (index == i)``, from the write flag to the loaded register's
    input (the AND of the flags, the index decode, the row's load-enable net in both
    polarities and the enable mux).

    Synthesis maps the decode onto one wide NOR gate, or decodes ahead of the flag, and
    drives the row's enables through a thin buffer tree it sizes in steps with the row
    width: slower than the same logic priced as AND gates and a fan-out net apart, and
    not monotone in the row width. The unit is measured on that structure (a table
    without it composes the element from the gate and fan-out units).

    Parameters
    ----------
    rows : int
        Registers the index selects among (2 or more).
    bits : int
        Bits of one register.
    what : str
        Description for reports.

    Returns
    -------
    Element
        The element.
    """
    return Element("write", what, (("rows", rows), ("bits", bits)))


def loaded_stages(stages: int, loads: int, what: str) -> Element:
    """A ripple of ``stages`` two-input gates whose every tap drives ``loads`` gate inputs
    (the next gate among them).

    Off the design's longest paths at the 10 ns synthesis target, synthesis maps such a
    ripple onto the weakest cells and leaves a tap of up to about ten loads unbuffered, so
    a stage costs more than a gate plus a fan-out net (the ``stage`` unit, measured on such
    ripples; a table without it composes the element from the gate and fan-out units).

    Parameters
    ----------
    stages : int
        Gates in series.
    loads : int
        Gate inputs each tap drives.
    what : str
        Description for reports.

    Returns
    -------
    Element
        The element.
    """
    return Element("stage", what, (("stages", stages), ("loads", loads)))


#: Loads a flip-flop drives unbuffered: shift-add seed 20261207 #002's slot select (13
#: loads) has no buffer, #032's (17 loads) two.
FLOP_DRIVEN_LOADS = 16

#: Loads a weak buffer drives in a tree synthesis leaves on the weakest cells (the
#: ``stage`` unit's largest unbuffered tap, :func:`loaded_stages`).
WEAK_TAP_LOADS = 10


def weak_buffer_net(loads: int, what: str) -> Element:
    """A flip-flop's net of ``loads`` gate inputs that synthesis buffers on the weakest cells.

    Off the critical path at the 10 ns target a net of more than
    :data:`FLOP_DRIVEN_LOADS` loads becomes a tree of ``buf_1`` cells, each driving up to
    :data:`WEAK_TAP_LOADS` loads: ``ceil(log10 loads)`` levels in series, each a loaded
    stage (the calibrated ``stage`` unit) at the balanced tree's fan-out
    ``ceil(loads ** (1 / levels))``. A smaller net is the flip-flop's own (the fan-out
    unit).

    Parameters
    ----------
    loads : int
        Gate inputs on the net.
    what : str
        Description for reports.

    Returns
    -------
    Element
        A ``fanout`` element up to :data:`FLOP_DRIVEN_LOADS` loads, else ``stage``.
    """
    if loads <= FLOP_DRIVEN_LOADS:
        return fanout(loads, what)
    levels = 1
    while WEAK_TAP_LOADS**levels < loads:
        levels += 1
    return loaded_stages(levels, math.ceil(loads ** (1 / levels)), f"{what} (weak buffers)")


@dataclasses.dataclass(frozen=True)
class TimingPath:
    """The logic between two registers (or a port and a register) of one pipeline stage.

    Parameters
    ----------
    name : str
        Where the path runs (e.g. ``"datapath stage 2: adder levels 4-6"``).
    elements : tuple of Element
        The logic on the path, in order.
    """

    name: str
    elements: tuple[Element, ...]


@dataclasses.dataclass(frozen=True)
class TimingReport:
    """The modelled critical path of a design.

    Parameters
    ----------
    design : str
        Design name.
    table : str
        Unit table the delays come from.
    critical_path_ns : float
        Slowest path plus the register overhead, ns.
    path : str
        Name of the slowest path.
    breakdown : tuple of (str, float)
        Delay of each element of the slowest path, ns, the register overhead first.
    paths : tuple of (str, float)
        Every path's delay including the register overhead, ns.
    """

    design: str
    table: str
    critical_path_ns: float
    path: str
    breakdown: tuple[tuple[str, float], ...]
    paths: tuple[tuple[str, float], ...]

    @property
    def fmax_mhz(self) -> float:
        """Highest clock frequency meeting timing, MHz."""
        return 1000.0 / self.critical_path_ns

    def meets(self, clock_ns: float) -> bool:
        """Whether a clock of ``clock_ns`` is at least the critical path.

        Parameters
        ----------
        clock_ns : float
            Clock period, ns.

        Returns
        -------
        bool
            True when the design meets timing at that clock.
        """
        return clock_ns >= self.critical_path_ns

    def to_dict(self) -> dict:
        """Plain-data form for JSON.

        Returns
        -------
        dict
            The fields plus ``fmax_mhz``.
        """
        d = dataclasses.asdict(self)
        d["breakdown"] = [list(b) for b in self.breakdown]
        d["paths"] = [list(p) for p in self.paths]
        d["fmax_mhz"] = self.fmax_mhz
        return d


def has_delays(table: UnitTable) -> bool:
    """Whether ``table`` has calibrated delay units.

    Parameters
    ----------
    table : UnitTable
        A unit table.

    Returns
    -------
    bool
        True when the table has a ``[delay]`` section.
    """
    return "delay" in table.units


def _interp_log2(x: float, xs, ys) -> float:
    """Piecewise-linear in log2(x) through the points, continued with the end slopes (a
    delay: never below zero, never falling beyond the last point)."""
    t = math.log2(max(x, 1e-9))
    return _interp_linear(t, np.log2(np.asarray(xs, float)), ys, delay=True)


def _interp_grid(
    x: float, y: float, xs, ys, grid, *, log_x: bool, log_y: bool, delay: bool = False
) -> float:
    """Bilinear interpolation on a measured grid ``grid[i][j]`` at ``(xs[i], ys[j])``
    (either axis in log2), continued with the edge slopes beyond it; NaN cells (blocks
    too large to measure) are filled along the first axis with the last slope. With
    ``delay`` the continuation along the second axis is a delay's (:func:`_interp_linear`)."""
    g = np.asarray(grid, float)
    fx = np.log2 if log_x else (lambda v: np.asarray(v, float))
    fy = np.log2 if log_y else (lambda v: np.asarray(v, float))
    gx, gy = fx(np.asarray(xs, float)), fy(np.asarray(ys, float))
    # Per column: the value along x at the query point (1-D, extrapolated at the ends).
    col_vals = []
    for j in range(len(ys)):
        ok = ~np.isnan(g[:, j])
        cx, cy = gx[ok], g[ok, j]
        col_vals.append(_interp_linear(float(fx(x)), cx, cy))
    return _interp_linear(float(fy(y)), gy, np.asarray(col_vals), delay=delay)


def _interp_linear(t: float, xs, ys, *, delay: bool = False) -> float:
    """Piecewise-linear through the points, continued with the end slopes; with ``delay``
    the lower continuation stops at zero and the upper one never falls."""
    xs, ys = np.asarray(xs, float), np.asarray(ys, float)
    if len(xs) == 1:
        return float(ys[0])
    if t <= xs[0]:
        value = float(ys[0] + (ys[1] - ys[0]) / (xs[1] - xs[0]) * (t - xs[0]))
        return max(0.0, value) if delay else value
    if t >= xs[-1]:
        slope = (ys[-1] - ys[-2]) / (xs[-1] - xs[-2])
        return float(ys[-1] + (max(0.0, slope) if delay else slope) * (t - xs[-1]))
    return float(np.interp(t, xs, ys))


def element_delay(element: Element, delay: dict) -> float:
    """Delay of one element, ns, from the table's ``[delay]`` units.

    Parameters
    ----------
    element : Element
        The element.
    delay : dict
        The unit table's ``delay`` section.

    Returns
    -------
    float
        The element's delay, ns.
    """
    kind, get = element.kind, element.get
    if kind == "gate":
        levels = get("levels")
        return levels * delay["gate"][GATE_KINDS[int(get("unit"))]] if levels > 0 else 0.0
    if kind == "adder":
        a = delay["adder"]
        return _interp_log2(get("width"), a["widths"], a["ns"])
    if kind == "tree":
        levels = get("levels")
        if levels <= 0:
            return 0.0
        t = delay["tree"]
        kind_ = "signed" if get("signed") else "unsigned"
        widths = t[f"{kind_}_leaf_widths"]

        def depth(n: float) -> float:
            if n <= 0:
                return 0.0
            return _interp_grid(
                n,
                max(get("leaf_width"), widths[0]),
                t["levels"],
                widths,
                t[f"{kind_}_ns"],
                log_x=False,
                log_y=True,
            )

        after = get("after")
        return max(0.0, depth(after + levels) - depth(after))
    if kind == "mult":
        m = delay["mult"]
        return _interp_grid(
            get("a_bits"),
            get("w_bits"),
            m["a_bits"],
            m["w_bits"],
            m["ns"],
            log_x=True,
            log_y=True,
        )
    if kind == "csa":
        return get("levels") * delay["csa"]
    if kind == "fanout":
        f = delay["fanout"]
        loads = get("loads")
        return _interp_log2(loads, f["loads"], f["ns"]) if loads > 1 else 0.0
    if kind == "write":
        rows, bits = get("rows"), get("bits")
        w = delay.get("write")
        if w is None:
            # A table measured before the unit existed: AND of the flags, the decode, the
            # enable net (both polarities of each bit's enable) and the enable mux.
            # ceil(log2(index bits + 1)) levels combine the index bits and the flag.
            decode = max(1, (int(rows) - 1).bit_length()).bit_length()
            parts = [
                gates("and2", 1 + decode, "write & decode"),
                fanout(int(rows), "write net"),
                fanout(int(2 * bits), "row enable net"),
                gates("mux2", 1, "enable mux"),
            ]
            return sum(element_delay(e, delay) for e in parts)
        return max(
            0.0,
            # Beyond the widest measured row the net only gains buffer levels: never
            # faster (the measured steps between grid points may dip).
            _interp_grid(
                rows, bits, w["rows"], w["bits"], w["ns"], log_x=True, log_y=True, delay=True
            ),
        )
    if kind == "stage":
        stages, loads = get("stages"), get("loads")
        if stages <= 0:
            return 0.0
        st = delay.get("stage")
        if st is None:
            parts = [gates("and2", 1, "stage gate"), fanout(int(loads), "stage tap")]
            return stages * sum(element_delay(e, delay) for e in parts)
        top = st["loads"][-1]
        if loads <= top:
            per = _interp_log2(loads, st["loads"], st["ns"])
        else:
            # Beyond the largest measured tap the net only gains buffer levels.
            grow = element_delay(fanout(int(loads), "tap"), delay)
            per = float(st["ns"][-1]) + max(0.0, grow - element_delay(fanout(top, "tap"), delay))
        return stages * per
    raise ValueError(f"unknown timing element kind {kind!r}")


# Priced elements per delay section: sweeps price the same few elements for many designs.
# Keyed by the section's id; the entry holds the section so the id is never reused.
_PRICED: dict[int, tuple[dict, dict[Element, float]]] = {}


def _cached_delay(element: Element, delay: dict) -> float:
    entry = _PRICED.get(id(delay))
    if entry is None or entry[0] is not delay:
        entry = _PRICED[id(delay)] = (delay, {})
    cache = entry[1]
    value = cache.get(element)
    if value is None:
        value = cache[element] = element_delay(element, delay)
    return value


def path_delay(path: TimingPath, delay: dict) -> float:
    """Logic delay of a path (without the register overhead), ns.

    Parameters
    ----------
    path : TimingPath
        The path.
    delay : dict
        The unit table's ``delay`` section.

    Returns
    -------
    float
        Sum of the elements' delays, ns.
    """
    return sum(_cached_delay(e, delay) for e in path.elements)


def timing_paths(design) -> list[TimingPath]:
    """The register-to-register paths of ``design``, from its family.

    Parameters
    ----------
    design : Design
        A design of a registered family.

    Returns
    -------
    list of TimingPath
        Every path the family's timing model knows.

    Raises
    ------
    InputError
        The family has no timing model (a declared lack).
    """
    return list(family_of(design).get("timing_paths")(design))


def critical_path(design, table: UnitTable | str | None = None) -> TimingReport:
    """The modelled critical path and fmax of ``design``.

    Parameters
    ----------
    design : Design
        A design of a registered family.
    table : UnitTable or str, optional
        Unit table or its name (default ``ihp-sg13g2``); it must have ``[delay]`` units.

    Returns
    -------
    TimingReport
        The slowest path, its breakdown and every path's delay.

    Raises
    ------
    InputError
        The table has no delay units, or the family no timing model.
    """
    if not isinstance(table, UnitTable):
        table = load_unit_table(table or "ihp-sg13g2")
    if not has_delays(table):
        raise InputError(
            f"unit table {table.name!r} has no delay units (run shiftadd calibrate on a "
            "liberty to measure them)",
            field="units",
        )
    delay = table["delay"]
    reg = float(delay["reg"])
    priced = [(p, reg + path_delay(p, delay)) for p in timing_paths(design)]
    worst, worst_ns = max(priced, key=lambda pn: pn[1])
    breakdown = (("register clock-to-output + setup", reg),) + tuple(
        (e.what, _cached_delay(e, delay)) for e in worst.elements
    )
    return TimingReport(
        design=design.name,
        table=table.name,
        critical_path_ns=worst_ns,
        path=worst.name,
        breakdown=breakdown,
        paths=tuple((p.name, ns) for p, ns in priced),
    )


def critical_path_ns(design, table: UnitTable | str | None = None) -> float | None:
    """The modelled critical path of ``design``, ns, or None where the family has no timing
    model or the unit table no delay units (the design is then reported as not timed).

    Parameters
    ----------
    design : Design
        A design of a registered family.
    table : UnitTable or str, optional
        Unit table or its name (default ``ihp-sg13g2``).

    Returns
    -------
    float or None
        Critical path, ns.
    """
    if not isinstance(table, UnitTable):
        table = load_unit_table(table or "ihp-sg13g2")
    if not has_delays(table) or not family_of(design).has("timing_paths"):
        return None
    return critical_path(design, table).critical_path_ns
