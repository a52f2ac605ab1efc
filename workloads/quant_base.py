"""What every weight quantizer shares: the :class:`QuantizedTensor` it returns, the registry
of formats each quantizer module fills with :func:`register_format`, and the checks of an
input weight matrix. :mod:`shiftadd.workloads.quant` looks formats up by name.

Convention: a weight matrix has shape ``(out_features, in_features)`` as a PyTorch ``Linear``
stores it, so a layer computes ``Y[M, N] = X[M, K] @ W[N, K].T``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError

__all__ = [
    "QuantizedTensor",
    "QuantizerFn",
    "register_format",
    "unregister_format",
    "registered_formats",
    "check_weights",
]


@dataclass(frozen=True)
class QuantizedTensor:
    """A quantized weight matrix.

    Parameters
    ----------
    fmt : str
        The format name it was produced with (``"int8"``, ``"bcq3"``...).
    dequantized : numpy.ndarray
        float32 reconstruction, same shape as the input.
    storage_bits : int
        Bits needed to store it: codes plus scales, offsets and other side data.
    payload : Mapping[str, numpy.ndarray]
        Integer arrays the hardware consumes (codes, bit planes, scales as integers...).
        Each format documents its keys.
    params : Mapping[str, object]
        The resolved options used.
    """

    fmt: str
    dequantized: np.ndarray
    storage_bits: int
    payload: Mapping[str, np.ndarray] = field(default_factory=dict)
    params: Mapping[str, object] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the weight matrix, ``(out_features, in_features)``."""
        return tuple(self.dequantized.shape)

    @property
    def bits_per_weight(self) -> float:
        """Storage bits per weight, side data included."""
        return self.storage_bits / max(1, self.dequantized.size)

    def error(self, weights: np.ndarray) -> dict[str, float]:
        """Weight-space error against the original ``weights``: MSE, relative Frobenius, max.

        Parameters
        ----------
        weights : numpy.ndarray
            The original weights, same shape as :attr:`dequantized`.

        Returns
        -------
        dict of str to float
            ``mse`` (mean squared error), ``rel_fro`` (``||W_q - W||_F / ||W||_F``, 0 for a
            zero matrix) and ``max_abs`` (largest absolute error).
        """
        w = np.asarray(weights, dtype=np.float64)
        d = self.dequantized.astype(np.float64) - w
        norm = float(np.linalg.norm(w))
        return {
            "mse": float(np.mean(d * d)),
            "rel_fro": float(np.linalg.norm(d) / norm) if norm > 0 else 0.0,
            "max_abs": float(np.max(np.abs(d))) if d.size else 0.0,
        }


QuantizerFn = Callable[..., QuantizedTensor]

# name pattern -> (compiled regex, factory, one-line description)
_REGISTRY: dict[str, tuple[re.Pattern, QuantizerFn, str]] = {}


def register_format(pattern: str, description: str) -> Callable[[QuantizerFn], QuantizerFn]:
    """Register a quantizer for the format names matching the regex ``pattern``.

    The decorated function is called as ``fn(weights, match, **options)`` where ``match`` is
    the :class:`re.Match` of the format name (so ``int(?P<bits>\\d+)`` can read the width).

    Parameters
    ----------
    pattern : str
        Regular expression the whole format name must match; also the registry key.
    description : str
        One line for format listings.

    Returns
    -------
    callable
        A decorator that registers the quantizer and returns it unchanged.
    """
    regex = re.compile(pattern + r"\Z")

    def deco(fn: QuantizerFn) -> QuantizerFn:
        _REGISTRY[pattern] = (regex, fn, description)
        return fn

    return deco


def unregister_format(pattern: str) -> None:
    """Remove the format registered under ``pattern`` (if any).

    Parameters
    ----------
    pattern : str
        The pattern the format was registered with.
    """
    _REGISTRY.pop(pattern, None)


def registered_formats() -> dict[str, tuple[re.Pattern, QuantizerFn, str]]:
    """Format pattern -> ``(compiled regex, quantizer, description)`` of every registered
    format (a copy).

    Returns
    -------
    dict of str to tuple
        ``(compiled regex, quantizer, description)`` by pattern.
    """
    return dict(_REGISTRY)


def check_weights(weights, *, name: str = "weights") -> np.ndarray:
    """Validate a weight matrix: 2-D, non-empty, finite; return it as float32.

    Parameters
    ----------
    weights : array_like
        The weight matrix, ``(out_features, in_features)``.
    name : str
        Field named in error messages.

    Returns
    -------
    numpy.ndarray
        The weights as float32 (not copied if already float32).

    Raises
    ------
    InputError
        Not a non-empty 2-D numeric matrix, or NaN or infinite values.
    """
    w = np.asarray(weights)
    if w.ndim != 2 or w.size == 0:
        raise InputError(f"expected a non-empty 2-D matrix, got shape {w.shape}", field=name)
    if not np.issubdtype(w.dtype, np.number):
        raise InputError(f"expected numbers, got dtype {w.dtype}", field=name)
    w = w.astype(np.float32, copy=False)
    if not np.isfinite(w).all():
        bad = int(np.size(w) - np.count_nonzero(np.isfinite(w)))
        raise InputError(f"contains {bad} NaN or infinite values", field=name)
    return w
