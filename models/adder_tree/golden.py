"""The adder-tree array's golden model: dot products of every neuron (``xnor``: popcount of
matches), and with ``threshold`` the folded batch-norm compare. With ``accumulate`` the dot
product spans a whole fan-in of up to ``accumulate_k`` inputs (the chunks' sum)."""

from __future__ import annotations

import dataclasses

import numpy as np

from ...design.adder_tree import AdderTreeDesign
from ...errors import InputError
from ..golden import check_operand, threshold_compare

__all__ = ["AdderTreeResult", "adder_tree_reference"]


@dataclasses.dataclass(frozen=True)
class AdderTreeResult:
    """Reference outputs of an adder-tree array for a batch of vectors.

    Parameters
    ----------
    acc : ndarray of int64, shape (vectors, n)
        Dot products (xnor: popcount of matches).
    fire : ndarray of bool, shape (vectors, n), or None
        Threshold outputs when the design has ``threshold``.
    """

    acc: np.ndarray
    fire: np.ndarray | None

    @property
    def outputs(self) -> np.ndarray:
        """What the RTL's result port carries: ``fire`` with a threshold, else ``acc``."""
        return self.acc if self.fire is None else self.fire.astype(np.int64)


def adder_tree_reference(
    design: AdderTreeDesign, act, weights, thresholds=None, flips=None
) -> AdderTreeResult:
    """What an adder-tree array computes for activation vectors ``act``.

    Parameters
    ----------
    design : AdderTreeDesign
        The design.
    act : array_like of int, shape (vectors, k)
        Activations as the port carries them (xnor: bits, 1 = +1); with ``accumulate``,
        shape (vectors, K) for any fan-in ``K <= accumulate_k``.
    weights : array_like of int, shape (n, k)
        Weights as the port carries them (xnor, addsub: bits, 1 = +1); with
        ``accumulate``, shape (n, K).
    thresholds : array_like of int, shape (n,), optional
        Required when the design has ``threshold``.
    flips : array_like of bool, shape (n,), optional
        Per neuron, compare ``acc <= T`` instead of ``acc >= T``; default all False.

    Returns
    -------
    AdderTreeResult
        The dot products and, with ``threshold``, the compare outputs.

    Raises
    ------
    InputError
        An operand has the wrong shape or range, or ``thresholds`` is missing.
    """
    cols = design.k
    if design.accumulate:
        # One output covers a whole fan-in of up to accumulate_k inputs, in chunks.
        cols = int(np.shape(weights)[-1]) if np.ndim(weights) == 2 else design.k
        if not 1 <= cols <= design.max_chunks * design.k:
            raise InputError(
                f"a fan-in of {cols} is beyond accumulate_k = {design.accumulate_k}",
                field="weights",
                allowed=f"1 to {design.accumulate_k} columns",
            )
    x = check_operand("act", act, *design.act_range, (None, cols))
    w = check_operand("weights", weights, *design.weight_range, (design.n, cols))
    acc = design.arith.dot(x, w)
    fire = None
    if design.threshold:
        if thresholds is None:
            raise InputError("required when the design has threshold = true", field="thresholds")
        t = check_operand("thresholds", thresholds, *design.threshold_range, (design.n,))
        f = (
            np.zeros(design.n, bool)
            if flips is None
            else check_operand("flips", flips, 0, 1, (design.n,)).astype(bool)
        )
        fire = threshold_compare(acc, t, f)
    return AdderTreeResult(acc=acc, fire=fire)
