"""Unit tables for other technologies: classical scaling, and the Horowitz 45 nm figures.

Scaling follows the classical (constant-field, Dennard et al., IEEE JSSC 1974) first-order
rules: area with the square of the feature size, switching energy with capacitance (feature
size) times the square of the supply voltage::

    area   x (L_to / L_from)^2
    energy x (L_to / L_from) * (V_to / V_from)^2

Stillmaker and Baas (Integration, the VLSI Journal 58, 2017) show these rules can be off by
up to 83x below 45 nm and give polynomial fits from PTM/ITRS simulations instead; their
coefficient tables were not available to us, so scaled tables are first-order estimates
and say so in their metadata. Leakage is scaled with area (a rough assumption, flagged).

The Horowitz table (``units_horowitz-45nm.toml``) takes the adder and multiplier figures of
Horowitz, "Computing's energy problem", ISSCC 2014 (45 nm, 0.9 V; REFERENCE.md section 6:
int add 8 b 0.03 pJ / 36 um^2, 32 b 0.1 pJ / 137 um^2; int mult 8 b 0.2 pJ / 282 um^2, 32 b
3.1 pJ / 3495 um^2 -- the areas are marked "from memory of the slide, to be checked" in our
reference) and derives the units that source does not give (flip-flops, gates,
compressors) from our calibrated IHP SG13G2 table scaled 130 nm / 1.2 V -> 45 nm / 0.9 V.
"""

from __future__ import annotations

import copy
import datetime
import os
from pathlib import Path

import numpy as np
import tomli_w

from .._io import atomic_write
from .units import DATA_DIR, UnitTable, load_unit_table

__all__ = [
    "scale_factors",
    "scale_unit_table",
    "write_unit_table",
    "horowitz_table",
    "IHP_NODE_NM",
    "IHP_VDD",
]

IHP_NODE_NM = 130.0
IHP_VDD = 1.2
_AREA_KEYS = ("area", "area_per_bit", "area_fixed", "area_per_pp", "area_per_io")
_ENERGY_KEYS = (
    "energy",
    "energy_clock",
    "energy_data",
    "energy_per_bit",
    "energy_fixed",
    "energy_per_pp",
    "energy_per_io",
)
_LEAK_KEYS = ("leakage_mw", "leakage_mw_per_bit", "leakage_mw_per_pp")


def scale_factors(from_nm: float, from_vdd: float, to_nm: float, to_vdd: float) -> dict:
    """Classical first-order factors for area, switching energy and leakage.

    Parameters
    ----------
    from_nm : float
        Feature size of the source node, in nm.
    from_vdd : float
        Supply voltage of the source node, in V.
    to_nm : float
        Feature size of the target node, in nm.
    to_vdd : float
        Supply voltage of the target node, in V.

    Returns
    -------
    dict of str to float
        Multipliers ``area`` ``(L_to / L_from)^2``, ``energy``
        ``(L_to / L_from) * (V_to / V_from)^2`` and ``leakage`` (scaled like area).
    """
    s = to_nm / from_nm
    return {"area": s * s, "energy": s * (to_vdd / from_vdd) ** 2, "leakage": s * s}


def scale_unit_table(
    table: UnitTable,
    *,
    to_nm: float,
    to_vdd: float,
    name: str,
    from_nm: float = IHP_NODE_NM,
    from_vdd: float = IHP_VDD,
) -> UnitTable:
    """``table`` scaled classically to another node (see the module docstring).

    Parameters
    ----------
    table : UnitTable
        The table to scale.
    to_nm : float
        Feature size of the target node, in nm.
    to_vdd : float
        Supply voltage of the target node, in V.
    name : str
        Name of the new table.
    from_nm : float
        Feature size of ``table``'s node, in nm (default IHP SG13G2, 130 nm).
    from_vdd : float
        Supply voltage of ``table``'s node, in V (default 1.2 V).

    Returns
    -------
    UnitTable
        A new table with areas, energies and leakages scaled by :func:`scale_factors` and
        the scaling recorded in its metadata.
    """
    f = scale_factors(from_nm, from_vdd, to_nm, to_vdd)
    units = copy.deepcopy(table.units)
    for unit in units.values():
        for key, value in list(unit.items()):
            if key in _AREA_KEYS:
                unit[key] = value * f["area"]
            elif key in _ENERGY_KEYS:
                unit[key] = value * f["energy"]
            elif key in _LEAK_KEYS:
                unit[key] = value * f["leakage"]
    meta = dict(table.meta)
    meta.update(
        name=name,
        node_nm=to_nm,
        vdd=to_vdd,
        source=f"{table.name} scaled classically from {from_nm:g} nm / {from_vdd:g} V "
        f"to {to_nm:g} nm / {to_vdd:g} V (area x{f['area']:.4g}, energy "
        f"x{f['energy']:.4g}, leakage x{f['leakage']:.4g}; first-order, see "
        "shiftadd.models.technology)",
        created=datetime.date.today().isoformat(),
    )
    return UnitTable(name=name, meta=meta, units=units)


def write_unit_table(table: UnitTable, out: str | os.PathLike | None = None) -> Path:
    """Write ``table`` as a TOML unit table (``[meta]`` and one section per unit).

    Parameters
    ----------
    table : UnitTable
        The table to write.
    out : str or os.PathLike, optional
        Output file; default ``models/data/units_<table.name>.toml``.

    Returns
    -------
    Path
        The file written.
    """
    path = Path(out) if out else DATA_DIR / f"units_{table.name}.toml"
    atomic_write(
        path,
        "# Generated by shiftadd.models.technology; regenerate, do not edit.\n"
        + tomli_w.dumps({"meta": table.meta, **table.units}),
    )
    return path


def _line(points_x, points_y) -> tuple[float, float]:
    slope, intercept = np.polyfit(np.asarray(points_x, float), np.asarray(points_y, float), 1)
    return float(slope), float(intercept)


def horowitz_table(base: UnitTable | None = None) -> UnitTable:
    """The Horowitz 45 nm table: cited adder and multiplier figures, the rest derived.

    Parameters
    ----------
    base : UnitTable, optional
        The 130 nm / 1.2 V table the other units are scaled from; default ``ihp-sg13g2``.

    Returns
    -------
    UnitTable
        The ``horowitz-45nm`` table (45 nm, 0.9 V).
    """
    base = base or load_unit_table("ihp-sg13g2")
    scaled = scale_unit_table(base, to_nm=45.0, to_vdd=0.9, name="horowitz-45nm")
    units = copy.deepcopy(scaled.units)
    # Adders: result bits 9 and 33 for the 8- and 32-bit additions.
    ab, af = _line([9, 33], [36.0, 137.0])
    eb, ef = _line([9, 33], [0.03, 0.1])
    for unit in ("adder", "tree_adder"):
        units[unit].update(
            area_per_bit=ab,
            area_fixed=af,
            energy_per_bit=eb,
            energy_fixed=ef,
            source="Horowitz ISSCC 2014 (8 b and 32 b add)",
        )
        units[unit].pop("fit_widths", None)
        units[unit].pop("fit_trees", None)
    # Multipliers: 64 and 1024 partial products.
    app, afix = _line([64, 1024], [282.0, 3495.0])
    epp, efix = _line([64, 1024], [0.2, 3.1])
    units["mult"].update(
        area_per_pp=app,
        area_per_io=0.0,
        area_fixed=afix,
        energy_per_pp=epp,
        energy_per_io=0.0,
        energy_fixed=efix,
        source="Horowitz ISSCC 2014 (8 b and 32 b multiply)",
    )
    units["mult"].pop("fit_shapes", None)
    for unit in ("dff", "dffe", "csa", "xnor2", "xor2", "and2", "mux2", "booth_sel", "fanout_buf"):
        units[unit]["source"] = (
            "derived: ihp-sg13g2 calibrated value scaled classically "
            "130 nm / 1.2 V -> 45 nm / 0.9 V (not in Horowitz)"
        )
    meta = dict(scaled.meta)
    meta.update(
        name="horowitz-45nm",
        node_nm=45.0,
        vdd=0.9,
        source="Horowitz, 'Computing's energy problem', ISSCC 2014, 45 nm 0.9 V "
        "(via REFERENCE.md s.6) for adders and multipliers; other units "
        "derived from ihp-sg13g2 by classical scaling",
        caution="Horowitz areas are marked 'from memory of the slide, to be "
        "checked' in REFERENCE.md; published unit tables disagree by 2-4x",
    )
    return UnitTable(name="horowitz-45nm", meta=meta, units=units)
