"""The common interface of every weight quantizer.

A quantizer turns a float weight matrix into a :class:`QuantizedTensor`: the reconstruction
the accuracy figures are computed from, the integer payloads the hardware consumes, and the
storage cost. Formats are looked up by name (``"sign"``, ``"ternary"``, ``"int8"``,
``"int4_asym"``, ``"bcq3"``, ...) among those the quantizer modules register
(:func:`~shiftadd.workloads.quant_base.register_format`): the uniform formats
(:mod:`.uniform`) and binary-coding quantization (:mod:`.bcq`), both imported here.

Convention: a weight matrix has shape ``(out_features, in_features)`` as a PyTorch ``Linear``
stores it, so a layer computes ``Y[M, N] = X[M, K] @ W[N, K].T``.
"""

from __future__ import annotations

from ..errors import InputError
from . import bcq, uniform  # noqa: F401  (importing them registers their formats)
from .format_names import format_words
from .quant_base import QuantizedTensor, check_weights, register_format, registered_formats

__all__ = ["QuantizedTensor", "register_format", "quantize", "available_formats", "check_weights"]


def available_formats() -> dict[str, str]:
    """Registered format patterns and their descriptions.

    Returns
    -------
    dict of str to str
        Format-name regex -> one-line description.
    """
    return {p: d for p, (_, _, d) in registered_formats().items()}


def quantize(weights, fmt: str, **options) -> QuantizedTensor:
    """Quantize ``weights`` (shape ``(out_features, in_features)``) to format ``fmt``.

    Parameters
    ----------
    weights : array_like
        The float weight matrix, ``(out_features, in_features)``.
    fmt : str
        Format name, matching one of :func:`available_formats` (``"int8"``, ``"bcq3"``...).
    **options
        Format options passed to the quantizer (``group_size``...).

    Returns
    -------
    QuantizedTensor
        The reconstruction, integer payloads and storage cost.

    Raises
    ------
    InputError
        Bad weights, or an unknown format (naming the registered ones).
    """
    w = check_weights(weights)
    for regex, fn, _ in registered_formats().values():
        m = regex.match(fmt)
        if m:
            return fn(w, m, **options)
    raise InputError(f"unknown weight format {fmt!r}", field="format", allowed=format_words())
