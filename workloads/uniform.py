"""Sign, ternary and uniform integer weight quantizers.

Formats (registered with :func:`~shiftadd.workloads.quant_base.register_format`):

``sign``
    XNOR-Net / BinaryConnect: ``w ~= alpha * sign(w)`` with ``alpha = mean|w|`` (the L2
    optimal scale for fixed signs) per row, or per group of ``group_size`` input columns.
    ``sign(0) = +1``. Payload: ``"signs"`` int8 in {-1, +1}, shape ``(out, in)``;
    ``"planes"`` bool ``(1, out, in)``, True for +1 (the one-plane binary-coding view, so
    sign weights get the same key statistics as ``bcq``); ``"scales"`` float32
    ``(out, n_groups)``. Storage: 1 bit per weight plus ``scale_bits`` per scale.
``ternary``
    TWN: threshold ``delta = threshold * mean|w|`` (``threshold = 0.7``) per row (or group);
    codes ``sign(w) * [|w| > delta]``; scale = mean ``|w|`` of the weights above the
    threshold (0 when none is). Payload: ``"codes"`` int8 in {-1, 0, +1} ``(out, in)``,
    ``"scales"`` float32 ``(out, n_groups)``. Storage: 2 bits per weight plus the scales.
``int2`` ... ``int16``
    Symmetric: ``scale = max|w| / (2^(k-1) - 1)`` per row or group, codes
    ``clip(round(w / scale), -(2^(k-1) - 1), 2^(k-1) - 1)`` (the restricted range keeps zero
    in the middle; ``int2`` is therefore {-1, 0, +1}). Payload: ``"codes"`` int8 (int16
    above 8 bits) ``(out, in)``, ``"scales"`` float32 ``(out, n_groups)``. Storage: k bits
    per weight plus the scales.
``int2_asym`` ... ``int16_asym``
    Asymmetric with a zero point: the range ``[min(w, 0), max(w, 0)]`` of a row or group is
    cut into ``2^k - 1`` steps, ``zero = round(-lo / scale)``,
    ``codes = clip(round(w / scale) + zero, 0, 2^k - 1)``, ``w ~= (codes - zero) * scale``.
    Payload: ``"codes"`` uint8 (uint16 above 8 bits) ``(out, in)``, ``"scales"`` float32
    ``(out, n_groups)``, ``"zero_points"`` uint8 (uint16) ``(out, n_groups)``. Storage: k
    bits per weight plus ``scale_bits + k`` per group.

Common options: ``group_size`` (None = per row; otherwise it must divide ``in_features``)
and ``scale_bits`` (bits charged per stored scale, default 16 for an FP16 scale).
Every result's ``params`` holds ``bits`` (code width) and ``signed`` (two's complement
codes or unsigned codes) for the bit statistics of :mod:`shiftadd.workloads.stats`.
"""

from __future__ import annotations

import re
from typing import cast

import numpy as np

from ..errors import InputError
from .quant_base import QuantizedTensor, register_format

__all__ = ["group_view"]


def _check_scale_bits(scale_bits) -> int:
    if isinstance(scale_bits, bool) or not isinstance(scale_bits, int) or scale_bits < 0:
        raise InputError(f"must be an integer >= 0, got {scale_bits!r}", field="scale_bits")
    return scale_bits


def group_view(w: np.ndarray, group_size: int | None) -> tuple[np.ndarray, int]:
    """View ``w`` (out, in) as ``(out, n_groups, group_size)``; return it and the group size.

    Parameters
    ----------
    w : numpy.ndarray
        Weight matrix, ``(out_features, in_features)``.
    group_size : int or None
        Input columns per group; None for one group per row.

    Returns
    -------
    view : numpy.ndarray
        ``w`` reshaped to ``(out, in // group_size, group_size)``.
    group_size : int
        The group size used (``in_features`` when None was given).

    Raises
    ------
    InputError
        ``group_size`` is not a positive integer dividing ``in_features``.
    """
    rows, cols = w.shape
    if group_size is None:
        group_size = cols
    if (
        isinstance(group_size, bool)
        or not isinstance(group_size, (int, np.integer))
        or group_size < 1
    ):
        raise InputError(
            f"must be a positive integer or None, got {group_size!r}", field="group_size"
        )
    group_size = int(group_size)
    if cols % group_size:
        raise InputError(f"{group_size} does not divide in_features = {cols}", field="group_size")
    return w.reshape(rows, cols // group_size, group_size), group_size


def _params(bits, signed, group_size, cols, scale_bits, **extra):
    return {
        "bits": bits,
        "signed": signed,
        "group_size": None if group_size == cols else group_size,
        "scale_bits": scale_bits,
        **extra,
    }


@register_format(r"sign", "1-bit sign(w) times mean|w| per row or group (XNOR-Net)")
def quantize_sign(
    w: np.ndarray, match: re.Match, *, group_size: int | None = None, scale_bits: int = 16
) -> QuantizedTensor:
    """Binary weights ``alpha * sign(w)``; see the module docstring for the payload."""
    scale_bits = _check_scale_bits(scale_bits)
    g, gs = group_view(w, group_size)
    scales = cast(np.ndarray, np.mean(np.abs(g), axis=2, dtype=np.float32))
    positive = g >= 0
    deq = np.where(positive, scales[:, :, None], -scales[:, :, None]).astype(np.float32)
    signs = np.where(positive, np.int8(1), np.int8(-1)).reshape(w.shape)
    return QuantizedTensor(
        fmt=match.group(0),
        dequantized=deq.reshape(w.shape),
        storage_bits=int(w.size + scales.size * scale_bits),
        payload={"signs": signs, "planes": positive.reshape((1,) + w.shape), "scales": scales},
        params=_params(1, True, gs, w.shape[1], scale_bits),
    )


@register_format(r"ternary", "{-1, 0, +1} times a per-row scale, threshold 0.7*mean|w| (TWN)")
def quantize_ternary(
    w: np.ndarray,
    match: re.Match,
    *,
    group_size: int | None = None,
    threshold: float = 0.7,
    scale_bits: int = 16,
) -> QuantizedTensor:
    """Ternary weights ``alpha * t``, ``t`` in {-1, 0, +1}; see the module docstring."""
    scale_bits = _check_scale_bits(scale_bits)
    if not np.isfinite(threshold) or threshold < 0:
        raise InputError(f"must be a finite number >= 0, got {threshold!r}", field="threshold")
    g, gs = group_view(w, group_size)
    a = np.abs(g)
    delta = np.float32(threshold) * np.mean(a, axis=2, dtype=np.float32)
    keep = a > delta[:, :, None]
    kept = np.count_nonzero(keep, axis=2)
    total = np.sum(np.where(keep, a, 0), axis=2, dtype=np.float32)
    scales = (total / np.maximum(kept, 1)).astype(np.float32)
    codes = (np.sign(g) * keep).astype(np.int8)
    deq = codes * scales[:, :, None]
    return QuantizedTensor(
        fmt=match.group(0),
        dequantized=deq.reshape(w.shape).astype(np.float32, copy=False),
        storage_bits=int(2 * w.size + scales.size * scale_bits),
        payload={"codes": codes.reshape(w.shape), "scales": scales},
        params=_params(2, True, gs, w.shape[1], scale_bits, threshold=float(threshold)),
    )


def _bits(match: re.Match) -> int:
    bits = int(match.group("bits"))
    if not 2 <= bits <= 16:
        raise InputError(
            f"integer formats have 2..16 bits, not {bits}",
            field="format",
            allowed="int2 .. int16, int2_asym .. int16_asym",
        )
    return bits


def _nonzero_scales(scales: np.ndarray) -> np.ndarray:
    """Scales with zeros replaced by 1: an all-zero group, or one so tiny (denormal) that
    its step underflows to 0, would otherwise divide by zero."""
    scales = np.asarray(scales, dtype=np.float32)
    return np.where(scales > 0, scales, np.float32(1)).astype(np.float32)


@register_format(r"int(?P<bits>\d+)", "symmetric k-bit integers, scale per row or group")
def quantize_int_symmetric(
    w: np.ndarray, match: re.Match, *, group_size: int | None = None, scale_bits: int = 16
) -> QuantizedTensor:
    """Symmetric uniform k-bit codes; see the module docstring for the payload."""
    bits = _bits(match)
    scale_bits = _check_scale_bits(scale_bits)
    qmax = 2 ** (bits - 1) - 1
    g, gs = group_view(w, group_size)
    amax = np.max(np.abs(g), axis=2)
    # An all-zero group keeps scale 1 so that its codes are 0 rather than 0/0.
    scales = _nonzero_scales(amax / np.float32(qmax))
    codes = np.clip(np.rint(g / scales[:, :, None]), -qmax, qmax).astype(
        np.int8 if bits <= 8 else np.int16
    )
    deq = codes * scales[:, :, None]
    return QuantizedTensor(
        fmt=match.group(0),
        dequantized=deq.reshape(w.shape).astype(np.float32, copy=False),
        storage_bits=int(bits * w.size + scales.size * scale_bits),
        payload={"codes": codes.reshape(w.shape), "scales": scales},
        params=_params(bits, True, gs, w.shape[1], scale_bits),
    )


@register_format(
    r"int(?P<bits>\d+)_asym", "asymmetric k-bit integers with a zero point, per row or group"
)
def quantize_int_asymmetric(
    w: np.ndarray, match: re.Match, *, group_size: int | None = None, scale_bits: int = 16
) -> QuantizedTensor:
    """Asymmetric uniform k-bit codes with zero points; see the module docstring."""
    bits = _bits(match)
    scale_bits = _check_scale_bits(scale_bits)
    levels = 2**bits - 1
    g, gs = group_view(w, group_size)
    # Stretch the range to include 0 so that zero weights (and padding) stay exact.
    lo = np.minimum(np.min(g, axis=2), 0)
    hi = np.maximum(np.max(g, axis=2), 0)
    span = hi - lo
    scales = _nonzero_scales(span / np.float32(levels))
    zeros = np.clip(np.rint(-lo / scales), 0, levels)
    codes = np.clip(np.rint(g / scales[:, :, None]) + zeros[:, :, None], 0, levels)
    deq = (codes - zeros[:, :, None]) * scales[:, :, None]
    return QuantizedTensor(
        fmt=match.group(0),
        dequantized=deq.reshape(w.shape).astype(np.float32, copy=False),
        storage_bits=int(bits * w.size + scales.size * (scale_bits + bits)),
        payload={
            "codes": codes.astype(np.uint8 if bits <= 8 else np.uint16).reshape(w.shape),
            "scales": scales,
            "zero_points": zeros.astype(np.uint8 if bits <= 8 else np.uint16),
        },
        params=_params(bits, False, gs, w.shape[1], scale_bits),
    )
