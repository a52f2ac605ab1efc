"""Per-layer bit allocation for BCQ weights (ShiftAddLLM's mixed 2/3-bit scheme).

Each layer gets a sensitivity score: how much its error grows when it is quantized with
``low`` instead of ``high`` bit planes, per weight,

    score = (E(low) - E(high)) / params,

where ``E`` is, with calibration activations ``X`` for the layer, the output error
``||X (W - Wq)^T||_F^2 / samples`` (``method="output"``) or the weight error weighted by
the Hessian diagonal ``sum_{n,k} H_kk (W - Wq)_{nk}^2`` with ``H = X^T X / samples``
(``method="hessian_diag"``, cheaper: no K x K matrix), and without calibration the plain
squared weight error (``method="weight"``). Normalizing per weight keeps large layers from
ranking first only because they are large, and makes the score the error saved per extra
bit-plane weight, which is what a memory budget trades.

Allocation (:func:`allocate_bits`): without a budget, the reference rule: the most
sensitive ``high_fraction`` (20%) of the layers get ``high`` bits, the rest ``low``. With a
budget (average storage bits per weight over all layers, scales included), layers are
upgraded greedily in order of decreasing score while the budget holds.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..errors import InputError
from .bcq import bcq_quantize, check_calibration  # same checks and messages as the quantizer
from .quant_base import check_weights

__all__ = ["layer_sensitivity", "sensitivity_table", "allocate_bits", "METHODS"]

METHODS = ("output", "hessian_diag", "weight")


def _bits_arg(v, name: str) -> int:
    try:
        if isinstance(v, bool):
            raise TypeError
        v = operator.index(v)
    except TypeError:
        raise InputError(
            f"expected an integer, got {v!r}", field=name, allowed="an integer in [1, 4]"
        ) from None
    if not 1 <= v <= 4:
        raise InputError(f"{v} is out of range", field=name, allowed="an integer in [1, 4]")
    return v


def _check_low_high(low, high) -> tuple[int, int]:
    low, high = _bits_arg(low, "low"), _bits_arg(high, "high")
    if low >= high:
        raise InputError(
            f"low={low} must be below high={high}",
            field="low",
            allowed=f"an integer in [1, {high - 1}]",
        )
    return low, high


def _layer_error(w: np.ndarray, wq: np.ndarray, method: str, x, hdiag) -> float:
    d = w.astype(np.float64) - wq
    if method == "weight":
        return float(np.sum(d * d))
    if method == "hessian_diag":
        return float(np.sum((d * d) @ hdiag))
    y = x @ d.T
    return float(np.sum(y * y)) / x.shape[0]


def layer_sensitivity(
    weights, *, calib=None, low: int = 2, high: int = 3, method: str | None = None, **bcq_options
) -> dict[str, float]:
    """Sensitivity of one layer to going from ``high`` to ``low`` bit planes.

    Parameters
    ----------
    weights : array_like, shape (N, K)
    calib : array_like, shape (samples, K), optional
        Calibration activations of the layer.
    low, high : int
        The two bit counts compared (1 to 4, low < high).
    method : {"output", "hessian_diag", "weight"}, optional
        Error measure; default ``"output"`` with calibration, ``"weight"`` without.
    **bcq_options
        Passed to :func:`~shiftadd.workloads.bcq.bcq_quantize` (layout, mu, scale_form...).
        The quantization itself is the plain one: calibration only weighs the error.

    Returns
    -------
    dict
        ``score`` (error increase per weight), ``err_low``, ``err_high``, ``params``,
        ``scale_bits_per_plane`` (scale storage per bit plane of this layer).
    """
    w = check_weights(weights, name="weights")
    low, high = _check_low_high(low, high)
    if method is None:
        method = "weight" if calib is None else "output"
    if method not in METHODS:
        raise InputError(f"unknown value {method!r}", field="method", allowed=list(METHODS))
    if "calib" in bcq_options:
        raise InputError(
            "pass calibration data as calib=, it is not a quantizer option here", field="calib"
        )
    x = hdiag = None
    if method != "weight":
        if calib is None:
            raise InputError(f"method {method!r} needs calibration activations", field="calib")
        x = check_calibration(calib, w.shape[1])
        hdiag = np.einsum("mk,mk->k", x, x) / x.shape[0]
    errs = {}
    planes_bits = None
    for bits in (low, high):
        res = bcq_quantize(w, bits, **bcq_options)
        errs[bits] = _layer_error(w, res.dequantized(), method, x, hdiag)
        planes_bits = (res.storage_bits - res.planes.size) / bits  # scales per plane
    assert planes_bits is not None
    params = int(w.size)
    return {
        "score": (errs[low] - errs[high]) / params,
        "err_low": errs[low],
        "err_high": errs[high],
        "params": params,
        "scale_bits_per_plane": float(planes_bits),
    }


def sensitivity_table(
    layers,
    *,
    calib: Mapping | None = None,
    low: int = 2,
    high: int = 3,
    method: str | None = None,
    **bcq_options,
) -> pd.DataFrame:
    """Sensitivity scores of many layers.

    Parameters
    ----------
    layers : mapping of name -> weights, or iterable of (name, weights)
    calib : mapping of name -> activations, optional
        Calibration activations per layer name (layers without an entry use ``"weight"``
        unless ``method`` asks for calibration).
    low, high, method, **bcq_options
        As in :func:`layer_sensitivity`.

    Returns
    -------
    pandas.DataFrame
        Columns ``layer, out_features, in_features, params, score, err_low, err_high,
        scale_bits_per_plane``, in input order.
    """
    items = list(layers.items()) if isinstance(layers, Mapping) else list(layers)
    if not items:
        raise InputError("no layers given", field="layers", allowed="at least one layer")
    calib = {} if calib is None else calib
    rows = []
    for name, w in items:
        x = calib.get(name)
        m = method if (method is not None or x is not None) else "weight"
        r = layer_sensitivity(w, calib=x, low=low, high=high, method=m, **bcq_options)
        shape = np.shape(w)
        rows.append(
            {
                "layer": str(name),
                "out_features": int(shape[0]),
                "in_features": int(shape[1]),
                "params": r["params"],
                "score": r["score"],
                "err_low": r["err_low"],
                "err_high": r["err_high"],
                "scale_bits_per_plane": r["scale_bits_per_plane"],
            }
        )
    return pd.DataFrame(rows)


def allocate_bits(
    table, *, budget: float | None = None, high_fraction: float = 0.2, low: int = 2, high: int = 3
) -> pd.DataFrame:
    """Choose ``low`` or ``high`` bit planes per layer.

    Parameters
    ----------
    table : pandas.DataFrame or iterable of dicts
        Needs ``layer``, ``params``, ``score``; ``scale_bits_per_plane`` (scale storage per
        bit plane) is used when present, else scales count as free.
    budget : float, optional
        Average storage bits per weight over all layers, scales included. Layers are
        upgraded to ``high`` in order of decreasing score while the total stays within it.
    high_fraction : float
        Without a budget: the fraction of layers (most sensitive first, rounded to the
        nearest count) that get ``high`` bits. The reference default is 0.2.
    low, high : int

    Returns
    -------
    pandas.DataFrame
        The input columns plus ``bits`` and ``storage_bits``, in input order, with
        ``attrs["bits_per_weight"]`` the resulting average.

    Raises
    ------
    InputError
        Missing columns, bad values, or a budget below the all-``low`` storage.
    """
    low, high = _check_low_high(low, high)
    df = table.copy() if isinstance(table, pd.DataFrame) else pd.DataFrame(list(table))
    for col in ("layer", "params", "score"):
        if col not in df.columns:
            raise InputError(
                f"missing column {col!r}", field="table", allowed="columns layer, params, score"
            )
    if df.empty:
        raise InputError("no layers given", field="table", allowed="at least one layer")
    params = df["params"].to_numpy()
    score = df["score"].to_numpy(dtype=np.float64)
    if not np.issubdtype(params.dtype, np.integer) or np.any(params < 1):
        raise InputError("params must be positive integers", field="table.params")
    if not np.isfinite(score).all():
        raise InputError("scores must be finite", field="table.score")
    scale = (
        df["scale_bits_per_plane"].to_numpy(dtype=np.float64)
        if "scale_bits_per_plane" in df.columns
        else np.zeros(len(df))
    )
    per_bit = params.astype(np.float64) + scale  # storage of one bit plane + its scales
    total_params = float(params.sum())
    # most sensitive first; ties keep the input order
    order = np.argsort(-score, kind="stable")
    bits = np.full(len(df), low, np.int64)
    if budget is None:
        if not (0.0 <= high_fraction <= 1.0):
            raise InputError(
                f"{high_fraction} is out of range",
                field="high_fraction",
                allowed="a number in [0, 1]",
            )
        n_high = int(math.floor(high_fraction * len(df) + 0.5))
        bits[order[:n_high]] = high
    else:
        try:
            budget = float(budget)
        except (TypeError, ValueError):
            raise InputError(f"expected a number, got {budget!r}", field="budget") from None
        floor_bpw = float((per_bit * low).sum()) / total_params
        if not math.isfinite(budget) or budget < floor_bpw - 1e-12:
            raise InputError(
                f"budget {budget} bits/weight is below the {floor_bpw:.4f} "
                f"bits/weight of every layer at {low} bits",
                field="budget",
                allowed=f"a number >= {floor_bpw:.4f}",
            )
        spare = budget * total_params - float((per_bit * low).sum())
        extra = per_bit * (high - low)
        for i in order:  # greedy: error saved per weight, highest first
            if extra[i] <= spare + 1e-9:
                bits[i] = high
                spare -= extra[i]
    df["bits"] = bits
    df["storage_bits"] = np.rint(per_bit * bits).astype(np.int64)
    df.attrs["bits_per_weight"] = float(df["storage_bits"].sum()) / total_params
    return df
