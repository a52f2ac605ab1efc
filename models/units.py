"""Unit cost tables: area, energy and leakage of the building blocks the models count.

A table is a TOML data file in ``models/data/`` with its provenance in ``[meta]``. The
calibrated tables are written by ``shiftadd calibrate --liberty L``, which synthesizes each
building block on the liberty and measures it with OpenSTA (see
:mod:`shiftadd.models.calibrate`); nothing in them is typed in by hand.

Units and their meaning:

``dff``, ``dffe``
    one flip-flop bit without / with a load enable. ``energy_clock`` is the energy per cycle
    with the data held, ``energy_data`` the extra energy per cycle when the data toggles at
    the calibration activity.
``adder``
    a two-input adder, linear in its result width: ``area = area_per_bit * bits +
    area_fixed``, same for energy (per addition at the calibration activity).
``tree_adder``
    an adder inside a reduction tree, same form as ``adder``, calibrated on whole trees
    (inner adders see less switching than free-standing ones).
``mult``
    a signed multiplier with its weight operand held, linear in partial products and
    operand bits: ``area = area_per_pp * a*w + area_per_io * (a+w) + area_fixed``, same for
    energy.
``csa``
    one bit of a 3:2 compressor (carry-save full adder), all three inputs toggling.
``xnor2``, ``xor2``, ``and2``, ``mux2``
    one gate-level lane (per bit), energy per operation at the calibration activity; one
    input of ``xnor2``/``xor2`` and the select of ``mux2`` held (weights, configuration).
``booth_sel``
    one bit of a Booth partial-product selector, ``(one & w[i] | two & w[i-1]) ^ neg``
    (:func:`shiftadd.hw.booth.select_row`), weights held, digit wires toggling.
``fanout_buf``
    one buffer that synthesis inserts on a net of high fan-out; ``fanouts`` and
    ``buffers_per_net`` are the buffers measured on nets of those fan-outs (each net
    driving that many gates), ``loads_per_buffer`` the further loads per buffer beyond the
    largest. Energy per cycle with the net toggling at the calibration activity.
``icg`` (optional: tables without it cannot price clock-gated designs)
    one integrated clock gate: ``energy_clock`` per cycle with the gate closed (its clock
    pin), ``energy_open_fixed + energy_open_per_load * flip-flops`` more per cycle it is
    open (its gated clock net and the clock pins it drives).
``delay.stage`` (optional: without it a loaded stage is priced as a gate and a fan-out net)
    logic delay, ns, per gate of a ripple whose every tap drives ``loads`` gate inputs
    (:func:`shiftadd.models.timing.loaded_stages`), measured on 8-gate ripples
    (:func:`shiftadd.flows.calibrate.stage_blocks`).

All energies are pJ, areas in the table's ``area_unit`` (um^2), leakage in mW.
"""

from __future__ import annotations

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

import dataclasses
import functools
import os
from pathlib import Path

from .._io import read_input_bytes
from ..errors import InputError

__all__ = ["UnitTable", "load_unit_table", "available_tables", "DATA_DIR", "DEFAULT_TABLE"]

DATA_DIR = Path(__file__).resolve().parent / "data"
DEFAULT_TABLE = "ihp-sg13g2"

_REQUIRED = {
    "dff": ("area", "energy_clock", "energy_data", "leakage_mw"),
    "dffe": ("area", "energy_clock", "energy_data", "leakage_mw"),
    "adder": ("area_per_bit", "area_fixed", "energy_per_bit", "energy_fixed", "leakage_mw_per_bit"),
    "tree_adder": (
        "area_per_bit",
        "area_fixed",
        "energy_per_bit",
        "energy_fixed",
        "leakage_mw_per_bit",
    ),
    "mult": (
        "area_per_pp",
        "area_per_io",
        "area_fixed",
        "energy_per_pp",
        "energy_per_io",
        "energy_fixed",
        "leakage_mw_per_pp",
    ),
    "csa": ("area", "energy", "leakage_mw"),
    "xnor2": ("area", "energy", "leakage_mw"),
    "xor2": ("area", "energy", "leakage_mw"),
    "and2": ("area", "energy", "leakage_mw"),
    "mux2": ("area", "energy", "leakage_mw"),
    "booth_sel": ("area", "energy", "leakage_mw"),
    "fanout_buf": ("area", "energy", "leakage_mw", "loads_per_buffer"),
}


@dataclasses.dataclass(frozen=True)
class UnitTable:
    """Costs of the building blocks, with where they came from.

    Parameters
    ----------
    name : str
        Table name (e.g. ``ihp-sg13g2``).
    meta : dict
        Provenance and calibration conditions (the TOML ``[meta]`` table), including
        ``data_activity`` and optionally ``area_unit``.
    units : dict of str to dict
        Per unit (``dff``, ``adder``, ``mult``...), its cost figures (see the module
        docstring): energies in pJ, areas in ``area_unit``, leakage in mW.
    """

    name: str
    meta: dict
    units: dict

    @property
    def area_unit(self) -> str:
        """Unit of the table's areas (``meta.area_unit``, default ``um^2``)."""
        return self.meta.get("area_unit", "um^2")

    @property
    def calibration_activity(self) -> float:
        """Data toggle activity the energies were measured at (``meta.data_activity``)."""
        return float(self.meta["data_activity"])

    def __getitem__(self, unit: str) -> dict:
        return self.units[unit]

    def validate(self, source: str) -> UnitTable:
        """Check that every required unit and figure is present and numeric.

        Parameters
        ----------
        source : str
            Where the table came from, reported in errors.

        Returns
        -------
        UnitTable
            ``self``, for chaining.

        Raises
        ------
        InputError
            On a missing unit or figure, a malformed ``fanout_buf`` fit or a missing
            ``meta.data_activity``.
        """
        for unit, keys in _REQUIRED.items():
            if unit not in self.units:
                raise InputError(
                    f"missing unit [{unit}]", field=unit, allowed=sorted(_REQUIRED), source=source
                )
            for key in keys:
                value = self.units[unit].get(key)
                if not isinstance(value, (int, float)):
                    raise InputError(
                        f"missing or non-numeric {key!r}", field=f"{unit}.{key}", source=source
                    )
        fo = self.units["fanout_buf"]
        points = (fo.get("fanouts"), fo.get("buffers_per_net"))
        if (
            not all(
                isinstance(p, list) and p and all(isinstance(x, (int, float)) for x in p)
                for p in points
            )
            or len(points[0]) != len(points[1])
            or sorted(points[0]) != points[0]
        ):
            raise InputError(
                "needs equally long lists 'fanouts' (ascending) and 'buffers_per_net'",
                field="fanout_buf.fanouts",
                source=source,
            )
        if fo["loads_per_buffer"] <= 0:
            raise InputError("must be positive", field="fanout_buf.loads_per_buffer", source=source)
        if "data_activity" not in self.meta:
            raise InputError("missing", field="meta.data_activity", source=source)
        return self


def available_tables() -> list[str]:
    """Names of the unit tables in ``models/data/``.

    Returns
    -------
    list of str
        Sorted names ``<name>`` of the files ``units_<name>.toml``.
    """
    return sorted(p.stem.removeprefix("units_") for p in DATA_DIR.glob("units_*.toml"))


def load_unit_table(name_or_path: str | os.PathLike = DEFAULT_TABLE) -> UnitTable:
    """A unit table by name (``models/data/units_<name>.toml``) or by path.

    Parameters
    ----------
    name_or_path : str or os.PathLike
        A table name (no suffix) or the path of a TOML file; default the IHP SG13G2 table.

    Returns
    -------
    UnitTable
        The validated table.

    Raises
    ------
    InputError
        On an unknown name, a missing or invalid file, or a table missing required figures.
    """
    path = Path(name_or_path)
    if not path.suffix:
        path = DATA_DIR / f"units_{name_or_path}.toml"
        if not path.is_file():
            raise InputError(
                f"unknown unit table {str(name_or_path)!r}",
                field="--units",
                allowed=available_tables(),
            )
    if not path.is_file():
        raise InputError("no such unit table file", source=str(path))
    stat = path.stat()
    return _load_table(str(path.resolve()), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=32)
def _load_table(path: str, mtime_ns: int, size: int) -> UnitTable:
    """Parse and validate a table file; cached by path and modification (a sweep prices
    thousands of designs with the same table). Callers must not modify the result."""
    try:
        data = tomllib.loads(read_input_bytes(path, "--units").decode())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"not valid TOML: {exc}", source=path) from None
    except RecursionError:
        raise InputError("not valid TOML: nested too deep", source=path) from None
    meta = data.pop("meta", {})
    return UnitTable(name=meta.get("name", Path(path).stem), meta=meta, units=data).validate(path)
