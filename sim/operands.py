"""Given operands for a bench's GEMM: real weight tiles and activations instead of random ones.

A bench plans a GEMM from operands it draws with ``random_act(rng, count, cols)`` and
``random_weights(rng, count, cols)`` (the adder-tree and grid benches). :func:`use_operands`
makes one bench instance hand out the leading rows and columns of given code matrices
instead, so the simulation (and the gate-level switching it records) runs on that data;
everything else the bench plans (tiling, padding, thresholds, expectations from the golden
model, cycle predictions) is unchanged. The runner passes the matrices as an ``.npz`` file
(arrays ``x``: activations ``(M, K)``, ``w``: weights ``(N, K)``, codes as the ports carry
them).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import InputError

__all__ = ["save_operands", "load_operands", "use_operands"]


def save_operands(path: str | os.PathLike, x: np.ndarray, w: np.ndarray) -> Path:
    """Write activation codes ``x`` (M, K) and weight codes ``w`` (N, K) for a bench.

    Parameters
    ----------
    path : path
        The ``.npz`` file to write.
    x, w : numpy.ndarray
        Integer codes.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    x, w = np.asarray(x, np.int64), np.asarray(w, np.int64)
    if x.ndim != 2 or w.ndim != 2 or x.shape[1] != w.shape[1]:
        raise InputError(
            f"operands {x.shape} and {w.shape} are not (M, K) and (N, K)", field="operands"
        )
    path = Path(path)
    with open(path, "wb") as fh:
        np.savez(fh, x=x, w=w)
    return path


def load_operands(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """``(x, w)`` codes from a file written by :func:`save_operands`.

    Parameters
    ----------
    path : path
        The ``.npz`` file.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Activation codes (M, K) and weight codes (N, K), int64.
    """
    with np.load(path) as data:
        return np.asarray(data["x"], np.int64), np.asarray(data["w"], np.int64)


def _taker(codes: np.ndarray, what: str):
    def take(rng, count, cols=None):
        cols = codes.shape[1] if cols is None else int(cols)
        if count > codes.shape[0] or cols > codes.shape[1]:
            raise InputError(
                f"the bench asked for {count} x {cols} {what} codes; the given operands "
                f"have {codes.shape[0]} x {codes.shape[1]}",
                field="operands",
            )
        return codes[:count, :cols].copy()

    return take


def use_operands(bench, x: np.ndarray, w: np.ndarray) -> None:
    """Make ``bench`` draw its GEMM operands from ``x`` and ``w`` instead of at random.

    Parameters
    ----------
    bench : object
        A bench with ``random_act(rng, count, cols)`` and ``random_weights(rng, count,
        cols)``.
    x, w : numpy.ndarray
        Activation codes (M, K) and weight codes (N, K).

    Raises
    ------
    InputError
        The bench does not draw its operands through those two methods.
    """
    for name in ("random_act", "random_weights"):
        if not callable(getattr(bench, name, None)):
            raise InputError(
                f"the {type(bench).__name__} bench does not draw its operands through "
                f"{name}: it cannot run given operands",
                field="operands",
            )
    # Instance attributes shadow the methods for this bench object only.
    bench.random_act = _taker(np.asarray(x, np.int64), "activation")
    bench.random_weights = _taker(np.asarray(w, np.int64), "weight")
