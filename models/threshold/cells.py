"""Cost presets of one threshold neuron: the synthesized standard-cell neuron and the
custom threshold-logic cell derived from it (``models/data/threshold_cells.toml``, written by
:func:`shiftadd.flows.threshold_cells.write_cell_presets`)."""

from __future__ import annotations

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

import dataclasses
import functools
from pathlib import Path

import numpy as np

from ...errors import InputError

__all__ = [
    "CellPreset",
    "load_cell_presets",
    "cell_preset",
    "CELLS_FILE",
    "VARIANT_WEIGHTS",
    "PRESET_FIGURES",
    "weights_key",
]

CELLS_FILE = Path(__file__).resolve().parent.parent / "data" / "threshold_cells.toml"


@dataclasses.dataclass(frozen=True)
class CellPreset:
    """Cost of one threshold neuron (weighted sum, compare and its output register).

    Parameters
    ----------
    name : str
        Preset name (``"standard_cell"`` or ``"custom_cell"``).
    area_um2 : float
        Area in um^2.
    energy_eval_pj : float
        Energy of a cycle in which the neuron evaluates, inputs toggling at the calibration
        activity.
    energy_idle_pj : float
        Energy of a cycle in which it holds (clock and input toggles only).
    leakage_mw : float
        Leakage power in mW.
    delay_ns : float
        Inputs to the output register's D (the combinational threshold function).
    weights : tuple of int
        The neuron's input weights the figures are for (empty: any).
    source : str
        Where the figures come from (measured, variant or interpolated).
    """

    name: str
    area_um2: float
    energy_eval_pj: float
    energy_idle_pj: float
    leakage_mw: float
    delay_ns: float
    weights: tuple
    source: str

    def price(self, utilization: float) -> dict:
        """Explicit unit price for :class:`shiftadd.models.cost.Item` at this fraction of
        evaluating cycles.

        Parameters
        ----------
        utilization : float
            Fraction of cycles in which the neuron evaluates (0 to 1).

        Returns
        -------
        dict of str to float
            ``area`` (um^2), ``energy_clock`` (0), ``energy`` (pJ per cycle, evaluating and
            idle cycles mixed) and ``leakage_mw``.
        """
        u = float(utilization)
        return {
            "area": self.area_um2,
            "energy_clock": 0.0,
            "energy": u * self.energy_eval_pj + (1 - u) * self.energy_idle_pj,
            "leakage_mw": self.leakage_mw,
        }


PRESET_FIGURES = ("area_um2", "energy_eval_pj", "energy_idle_pj", "leakage_mw", "delay_ns")
# Neurons measured besides the default (2, 1, 1, 1): wider unit fan-ins and the larger
# counters' weights, so any design's neuron is measured or interpolated between these.
VARIANT_WEIGHTS = ((2, 1, 1, 1, 1), (4, 2, 1, 1, 1, 1, 1), (4, 2, 1, 1, 1, 1, 1, 1, 1))


def weights_key(weights) -> str:
    """The data file's key of a neuron's input weights, e.g. ``"2-1-1-1"``.

    Parameters
    ----------
    weights : iterable of int
        The neuron's input weights.

    Returns
    -------
    str
        The weights joined by ``-``.
    """
    return "-".join(str(int(w)) for w in weights)


def _read_cells(path=None) -> tuple[dict, Path]:
    path = Path(path) if path else CELLS_FILE
    if not path.is_file():
        raise InputError(
            "no threshold-cell data file; run bench/compare_threshold.py --measure-cell",
            source=str(path),
        )
    data = tomllib.loads(path.read_text())
    for name in ("standard_cell", "custom_cell"):
        if name not in data:
            raise InputError(f"missing preset [{name}]", field=name, source=str(path))
    return data, path


def _preset(name: str, d: dict, weights, source: str) -> CellPreset:
    return CellPreset(
        name=name,
        weights=tuple(weights),
        source=source,
        **{key: float(d[key]) for key in PRESET_FIGURES},
    )


def load_cell_presets(path=None) -> dict[str, CellPreset]:
    """The threshold-cell presets for the default neuron (``models/data/threshold_cells.toml``).

    Parameters
    ----------
    path : str or Path, optional
        The cell data file; default :data:`CELLS_FILE`.

    Returns
    -------
    dict of str to CellPreset
        The ``standard_cell`` and ``custom_cell`` presets.

    Raises
    ------
    InputError
        When the file or one of the two presets is missing.
    """
    data, _ = _read_cells(path)
    return {
        name: _preset(
            name, data[name], data[name].get("weights", ()), str(data[name].get("source", ""))
        )
        for name in ("standard_cell", "custom_cell")
    }


@functools.lru_cache(maxsize=64)
def cell_preset(name: str, weights: tuple, path=None) -> CellPreset:
    """Preset ``name`` for a neuron with these input weights.

    The default neuron and the :data:`VARIANT_WEIGHTS` are measured (the data file's
    ``variants``); a neuron whose weights are a measured neuron's in another order computes
    the same function of its inputs and takes that neuron's figures; other weights are
    interpolated over the measured neurons by least squares of each figure's logarithm in
    the fan-in and the weight sum (the threshold function's logic grows by about a factor
    per further input), and the source says so.

    Parameters
    ----------
    name : str
        ``"standard_cell"`` or ``"custom_cell"``.
    weights : tuple of int
        The neuron's input weights.
    path : str or Path, optional
        The cell data file; default :data:`CELLS_FILE`.

    Returns
    -------
    CellPreset
        The figures for a neuron with ``weights``.

    Raises
    ------
    InputError
        For an unknown preset, or too few measured neurons to interpolate from.
    """
    data, p = _read_cells(path)
    if name not in ("standard_cell", "custom_cell"):
        raise InputError(
            f"unknown preset {name!r}", field="cell", allowed=["custom_cell", "standard_cell"]
        )
    d = data[name]
    weights = tuple(int(w) for w in weights)
    measured = {tuple(d.get("weights", ())): d}
    for key, var in d.get("variants", {}).items():
        measured[tuple(int(w) for w in key.split("-"))] = var
    if weights in measured:
        src = str(d.get("source", "")) + (
            "" if weights == tuple(d.get("weights", ())) else f" (variant {list(weights)})"
        )
        return _preset(name, measured[weights], weights, src)
    same = [w for w in measured if sorted(w) == sorted(weights)]
    if same:
        src = str(d.get("source", "")) + f" (variant {list(same[0])}, inputs in another order)"
        return _preset(name, measured[same[0]], weights, src)
    ws = list(measured)
    if len(ws) < 3:
        raise InputError(
            f"the {name} preset has no figures for weights {list(weights)}",
            field="neuron_weights",
            allowed=[list(w) for w in ws],
            source=str(p),
        )
    basis = lambda w: [1.0, len(w), sum(w)]
    a = np.array([basis(w) for w in ws])
    fit = {
        key: float(
            np.exp(
                np.array(basis(weights))
                @ np.linalg.lstsq(a, np.log([float(measured[w][key]) for w in ws]), rcond=None)[0]
            )
        )
        for key in PRESET_FIGURES
    }
    if not all(np.isfinite(v) and v > 0 for v in fit.values()):
        raise InputError(
            f"weights {list(weights)} are too far from the measured neurons to "
            f"interpolate the {name} preset",
            field="neuron_weights",
            allowed=[list(w) for w in ws],
            source=str(p),
        )
    return _preset(
        name,
        fit,
        weights,
        f"interpolated (least squares of the logarithm in fan-in and weight sum) from the "
        f"{name} "
        f"neurons measured with weights {[list(w) for w in ws]}",
    )
