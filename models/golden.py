"""Golden models: vectorized NumPy references the RTL must match bit for bit."""

from __future__ import annotations


import numpy as np

from ..errors import InputError

__all__ = ["check_operand", "exact_matmul", "dot_products", "threshold_compare", "xnor_dot"]


def check_operand(name: str, values, lo: int, hi: int, shape: tuple[int | None, ...]) -> np.ndarray:
    """Validate an integer operand array: its shape (``None`` = any) and value range."""
    arr = np.asarray(values)
    if arr.ndim != len(shape) or any(s is not None and s != a for s, a in zip(shape, arr.shape)):
        want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
        raise InputError(f"expected shape {want}, got {arr.shape}", field=name)
    if arr.dtype == bool:
        arr = arr.astype(np.int8)
    if not np.issubdtype(arr.dtype, np.integer):
        raise InputError(f"expected integers, got dtype {arr.dtype}", field=name)
    if arr.size and (arr.min() < lo or arr.max() > hi):
        raise InputError(f"values must lie in [{lo}, {hi}], got [{arr.min()}, {arr.max()}]",
                         field=name)
    return arr


def exact_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b.T`` for integer matrices, exactly, through floating-point BLAS.

    BLAS is far faster than NumPy's integer matmul, and exact while every partial sum is an
    integer the float type represents: float32 below 2**24, float64 below 2**53.
    """
    def magnitude(m):
        return max(-int(m.min()), int(m.max())) if m.size else 0

    bound = float(magnitude(a)) * float(magnitude(b)) * a.shape[1]
    if bound >= 2.0 ** 53:
        return a.astype(np.int64) @ b.astype(np.int64).T
    dtype = np.float32 if bound < 2.0 ** 24 else np.float64
    return np.rint(a.astype(dtype) @ b.astype(dtype).T).astype(np.int64)


def _pack_bits(bits: np.ndarray) -> np.ndarray:
    """Rows of 0/1 values as uint64 words (zero padded)."""
    packed = np.packbits(bits.astype(bool), axis=1, bitorder="little")
    pad = (-packed.shape[1]) % 8
    if pad:
        packed = np.concatenate([packed, np.zeros((packed.shape[0], pad), np.uint8)], axis=1)
    return np.ascontiguousarray(packed).view(np.uint64)


def _xnor_matches(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    # Popcount of XOR over 64-bit words: padding bits are 0 on both sides, never mismatch.
    xp, wp = _pack_bits(x), _pack_bits(w)
    out = np.empty((x.shape[0], w.shape[0]), np.int64)
    step = max(1, (1 << 22) // max(1, w.shape[0] * xp.shape[1]))  # bound temporaries
    for i in range(0, x.shape[0], step):
        diff = np.bitwise_count(xp[i:i + step, None, :] ^ wp[None, :, :])
        out[i:i + step] = x.shape[1] - diff.sum(axis=-1, dtype=np.int64)
    return out


def dot_products(mode: str, x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``acc[v, n]`` of activations ``x[v, k]`` against weights ``w[n, k]`` in a PE
    arithmetic ``mode`` (operands as the ports carry them, already validated)."""
    if mode == "xnor":
        return _xnor_matches(x, w)
    if mode == "addsub":
        return exact_matmul(x, 2 * w - 1)
    if mode == "mac":
        return exact_matmul(x, w)
    raise ValueError(f"unknown mode {mode!r}")


def threshold_compare(acc: np.ndarray, thresholds: np.ndarray, flips: np.ndarray) -> np.ndarray:
    """Folded batch norm: ``acc >= T``, or ``acc <= T`` where ``flip`` is set."""
    t = np.asarray(thresholds)[None, :]
    return np.where(np.asarray(flips, bool)[None, :], acc <= t, acc >= t)


def xnor_dot(popcount, k: int):
    """The +-1 dot product ``2 p - k`` from the xnor popcount ``p``."""
    return 2 * np.asarray(popcount, dtype=np.int64) - k
