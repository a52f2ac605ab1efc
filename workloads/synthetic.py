"""Synthetic LLM-like weights and small safetensors checkpoints built from them.

Trained LLM linear weights are bell-shaped around zero with tails heavier than a normal's,
their output channels (rows) differ in scale, and a few input channels (columns) carry
much larger weights (the "outlier features" that make per-tensor int8 fail).
:func:`synthetic_weights` reproduces those three traits, seeded, so that quantizer error and
bit statistics behave as on real checkpoints when none is at hand.

:func:`write_safetensors` writes any tensors in the safetensors format (BF16, F16, F32 or
the array's own dtype); :func:`write_checkpoint` writes a whole model, single file or
sharded with ``model.safetensors.index.json``, plus its ``config.json``.
"""

from __future__ import annotations

import json
import os
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .._io import atomic_path, write_json
from ..errors import InputError
from .configs import ModelConfig, load_model_config, weight_manifest, write_config
from .safetensors_io import INDEX_NAME, SINGLE_NAME, float32_to_bf16

__all__ = [
    "synthetic_weights",
    "iter_synthetic_rows",
    "LazyTensor",
    "write_safetensors",
    "write_checkpoint",
]

_CHUNK_ROWS = 1024  # rows drawn from one seeded generator, so any row range is reproducible

_NP_TO_ST = {
    np.dtype(np.float32): "F32",
    np.dtype(np.float16): "F16",
    np.dtype(np.float64): "F64",
    np.dtype(np.int8): "I8",
    np.dtype(np.uint8): "U8",
    np.dtype(np.int16): "I16",
    np.dtype(np.uint16): "U16",
    np.dtype(np.int32): "I32",
    np.dtype(np.uint32): "U32",
    np.dtype(np.int64): "I64",
    np.dtype(np.uint64): "U64",
    np.dtype(np.bool_): "BOOL",
}
_ST_ITEMSIZE = {"BF16": 2, "F16": 2, "F32": 4}

_NORM_NAME = {
    "opt": "model.decoder.final_layer_norm.weight",
    "gpt2": "ln_f.weight",
    "bert": "bert.embeddings.LayerNorm.weight",
}


def _column_scales(cols: int, seed: int, outlier_fraction: float, outlier_scale: float):
    rng = np.random.default_rng([seed, 0xC015])
    scale = np.ones(cols, dtype=np.float32)
    n_out = int(round(outlier_fraction * cols))
    if outlier_fraction > 0 and n_out == 0 and cols > 1:
        n_out = 1
    if n_out:
        idx = rng.choice(cols, size=n_out, replace=False)
        scale[idx] = outlier_scale * rng.uniform(0.75, 1.25, size=n_out).astype(np.float32)
    return scale


def iter_synthetic_rows(
    shape: tuple[int, int],
    *,
    seed: int = 0,
    std: float = 0.02,
    channel_spread: float = 0.25,
    outlier_fraction: float = 0.002,
    outlier_scale: float = 3.0,
    tail_df: float | None = 8.0,
    chunk_rows: int = _CHUNK_ROWS,
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(first_row, float32 block)`` of a synthetic weight matrix, top to bottom.

    Parameters
    ----------
    shape : (int, int)
        ``(out_features, in_features)``.
    seed : int
        Same seed, same matrix (whatever ``chunk_rows``).
    std : float
        Typical weight standard deviation.
    channel_spread : float
        Sigma of the log-normal per-row (output channel) scale.
    outlier_fraction, outlier_scale : float
        Fraction of input columns scaled by ``outlier_scale`` times U(0.75, 1.25).
    tail_df : float or None
        Degrees of freedom of the Student-t body (> 2); None for a normal body.
    chunk_rows : int
        Rows per yielded block; a multiple of 1024 so that the values do not depend on it.

    Yields
    ------
    tuple of (int, numpy.ndarray)
        Index of the block's first row and the float32 block, ``(rows, in_features)``.

    See Also
    --------
    synthetic_weights : the whole matrix at once, with details of the parameters.
    """
    rows, cols = (int(v) for v in shape)
    if rows < 1 or cols < 1:
        raise InputError(f"shape must be positive, got {shape}", field="shape")
    if chunk_rows % _CHUNK_ROWS:
        raise InputError(f"chunk_rows must be a multiple of {_CHUNK_ROWS}", field="chunk_rows")
    if tail_df is not None and tail_df <= 2:
        raise InputError("tail_df must exceed 2 (finite variance)", field="tail_df")
    col_scale = _column_scales(cols, seed, outlier_fraction, outlier_scale)
    for r0 in range(0, rows, chunk_rows):
        parts = []
        for c0 in range(r0, min(rows, r0 + chunk_rows), _CHUNK_ROWS):
            n = min(rows, c0 + _CHUNK_ROWS) - c0
            rng = np.random.default_rng([seed, c0 // _CHUNK_ROWS])
            block = rng.standard_normal((n, cols), dtype=np.float32)
            if tail_df is not None:
                # Student t = z / sqrt(chi2/df), chi2 = 2*Gamma(df/2); rescaled to unit variance.
                g = rng.standard_gamma(tail_df / 2, size=(n, cols), dtype=np.float32)
                g *= np.float32(2.0 / (tail_df - 2.0))
                np.sqrt(g, out=g)
                block /= g
                del g
            row_scale = rng.lognormal(0.0, channel_spread, size=n).astype(np.float32)
            block *= (np.float32(std) * row_scale)[:, None]
            block *= col_scale[None, :]
            parts.append(block)
        yield r0, parts[0] if len(parts) == 1 else np.concatenate(parts)


def synthetic_weights(
    shape: tuple[int, int],
    *,
    seed: int = 0,
    std: float = 0.02,
    channel_spread: float = 0.25,
    outlier_fraction: float = 0.002,
    outlier_scale: float = 3.0,
    tail_df: float | None = 8.0,
) -> np.ndarray:
    """A seeded float32 matrix with the statistics of a trained LLM linear layer.

    Parameters
    ----------
    shape : (int, int)
        ``(out_features, in_features)``.
    seed : int
        Same seed, same matrix (whatever the row chunking used to produce it).
    std : float
        Typical weight standard deviation (Llama/OPT layers are near 0.02).
    channel_spread : float
        Sigma of the log-normal per-row (output channel) scale.
    outlier_fraction, outlier_scale : float
        Fraction of input columns scaled by ``outlier_scale`` times U(0.75, 1.25) (at least
        one column when the fraction is positive).
    tail_df : float or None
        Degrees of freedom of the Student-t body (heavier tails than a normal); None for a
        normal body.

    Returns
    -------
    numpy.ndarray
        float32, ``shape``.

    Notes
    -----
    The defaults give, for a 512 x 11008 matrix, kurtosis about 7, a per-row max|w| of about
    7.6 standard deviations, and round-to-nearest relative errors (``rel_fro``) of 0.019
    (int8 per row), 0.35 (int4 per row) and 0.15 (int4, groups of 128): per-channel int4
    hurts and grouping repairs most of it, as on Llama-class checkpoints.
    """
    return np.concatenate(
        [
            b
            for _, b in iter_synthetic_rows(
                shape,
                seed=seed,
                std=std,
                channel_spread=channel_spread,
                outlier_fraction=outlier_fraction,
                outlier_scale=outlier_scale,
                tail_df=tail_df,
            )
        ]
    )


@dataclass(frozen=True)
class LazyTensor:
    """A tensor produced while it is written: ``blocks()`` yields its rows top to bottom.

    Parameters
    ----------
    shape : tuple of int
        Shape of the whole tensor.
    blocks : callable
        Called with no arguments, returns an iterable of arrays: consecutive row blocks
        whose concatenation is the tensor.
    """

    shape: tuple[int, ...]
    blocks: Callable[[], Iterable[np.ndarray]]


def _encode(block: np.ndarray, st_dtype: str) -> bytes:
    if st_dtype == "BF16":
        return float32_to_bf16(np.asarray(block, dtype=np.float32)).astype("<u2").tobytes()
    if st_dtype == "F16":
        return np.asarray(block, dtype="<f2").tobytes()
    if st_dtype == "F32":
        return np.asarray(block, dtype="<f4").tobytes()
    return np.ascontiguousarray(block).tobytes()  # native dtype, written as is


def write_safetensors(
    path: str | os.PathLike,
    tensors: Mapping[str, np.ndarray | LazyTensor],
    *,
    dtype: str | None = "BF16",
    metadata: Mapping[str, str] | None = None,
) -> Path:
    """Write tensors as one safetensors file, atomically, holding one block at a time.

    Parameters
    ----------
    path : str or path
    tensors : Mapping
        Name -> array, or :class:`LazyTensor` for tensors generated while writing.
    dtype : {"BF16", "F16", "F32"} or None
        Storage dtype of every tensor (float data is converted; BF16 rounds to nearest
        even). None keeps each array's own dtype (arrays only).
    metadata : Mapping, optional
        String pairs stored under ``__metadata__``.

    Returns
    -------
    pathlib.Path
    """
    if dtype is not None and dtype not in _ST_ITEMSIZE:
        raise InputError(
            f"unknown storage dtype {dtype!r}", field="dtype", allowed=sorted(_ST_ITEMSIZE)
        )
    header: dict[str, object] = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    plan = []
    offset = 0
    for name, t in tensors.items():
        shape = tuple(int(v) for v in t.shape)
        if dtype is None:
            if isinstance(t, LazyTensor):
                raise InputError("a LazyTensor needs an explicit dtype", field="dtype")
            st = _NP_TO_ST.get(np.asarray(t).dtype)
            if st is None:
                raise InputError(f"no safetensors dtype for {np.asarray(t).dtype}", field=name)
            itemsize = np.asarray(t).dtype.itemsize
        else:
            st, itemsize = dtype, _ST_ITEMSIZE[dtype]
        nbytes = int(np.prod(shape, dtype=np.int64)) * itemsize
        header[name] = {
            "dtype": st,
            "shape": list(shape),
            "data_offsets": [offset, offset + nbytes],
        }
        plan.append((name, t, st, nbytes))
        offset += nbytes
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)  # keep the data section 8-byte aligned
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        fh.write(len(head).to_bytes(8, "little"))
        fh.write(head)
        for name, t, st, nbytes in plan:
            written = 0
            blocks = t.blocks() if isinstance(t, LazyTensor) else [np.asarray(t)]
            for block in blocks:
                data = _encode(block, st)
                fh.write(data)
                written += len(data)
            if written != nbytes:
                raise InputError(
                    f"tensor {name!r} produced {written} bytes, expected {nbytes}",
                    field=name,
                    source=str(path),
                )
    return Path(path)


def _tensor_seed(seed: int, name: str) -> int:
    return (seed * 0x9E3779B1 + zlib.crc32(name.encode())) & 0xFFFFFFFF


def write_checkpoint(
    directory: str | os.PathLike,
    config: ModelConfig | str | Mapping,
    *,
    dtype: str = "BF16",
    shard_bytes: int | None = None,
    seed: int = 0,
    num_layers: int | None = None,
    progress: bool = False,
    **weight_options,
) -> Path:
    """Write a synthetic checkpoint of ``config``: ``config.json`` plus safetensors.

    Parameters
    ----------
    directory : str or path
        Created if needed.
    config : ModelConfig, preset name, path or Mapping
        The model, or anything :func:`load_model_config` accepts.
    dtype : {"BF16", "F16", "F32"}
        Storage dtype of the weight tensors.
    shard_bytes : int, optional
        Start a new shard when the next tensor would pass this many bytes; the checkpoint is
        then sharded with ``model.safetensors.index.json`` (even with a single shard). None
        writes one ``model.safetensors``.
    seed : int
        Every tensor's seed derives from this and its name.
    num_layers : int, optional
        Keep only the first layers (``config.json`` says so too).
    progress : bool
        Show a tqdm bar on stderr.
    **weight_options
        Passed to :func:`synthetic_weights` (``std``, ``tail_df``...).

    Returns
    -------
    pathlib.Path
        ``directory``.
    """
    cfg = load_model_config(config)
    if num_layers is not None:
        cfg = cfg.replace(num_layers=num_layers)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)

    tensors: dict[str, LazyTensor] = {}
    for spec in weight_manifest(cfg):
        stored = spec.stored_shape

        def blocks(stored=stored, name=spec.tensor, transposed=spec.transposed, shape=spec.shape):
            s = _tensor_seed(seed, name)
            if transposed:  # Conv1D layout: generate the logical matrix, store its transpose
                yield synthetic_weights(shape, seed=s, **weight_options).T
            else:
                for _, b in iter_synthetic_rows(stored, seed=s, **weight_options):
                    yield b

        tensors.setdefault(spec.tensor, LazyTensor(stored, blocks))
    norm = _NORM_NAME.get(cfg.family, "model.norm.weight")
    tensors[norm] = LazyTensor(
        (cfg.hidden_size,), lambda: [np.ones(cfg.hidden_size, dtype=np.float32)]
    )

    itemsize = _ST_ITEMSIZE.get(dtype)
    if itemsize is None:
        raise InputError(
            f"unknown storage dtype {dtype!r}", field="dtype", allowed=sorted(_ST_ITEMSIZE)
        )
    groups: list[list[str]] = [[]]
    size = 0
    for name, t in tensors.items():
        nbytes = int(np.prod(t.shape)) * itemsize
        if shard_bytes is not None and groups[-1] and size + nbytes > shard_bytes:
            groups.append([])
            size = 0
        groups[-1].append(name)
        size += nbytes

    bar = tqdm(total=len(tensors), desc="write checkpoint", unit="tensor", disable=not progress)
    meta = {"format": "pt", "generator": "shiftadd.workloads.synthetic"}
    if shard_bytes is None:
        files = {SINGLE_NAME: groups[0]}
    else:
        n = len(groups)
        files = {f"model-{i + 1:05d}-of-{n:05d}.safetensors": g for i, g in enumerate(groups)}
    for fname, names in files.items():

        def counted(t):  # advance the bar as each tensor finishes
            def gen():
                yield from t.blocks()
                bar.update(1)

            return LazyTensor(t.shape, gen)

        write_safetensors(
            directory / fname, {k: counted(tensors[k]) for k in names}, dtype=dtype, metadata=meta
        )
    bar.close()
    if shard_bytes is not None:
        total = sum(int(np.prod(t.shape)) * itemsize for t in tensors.values())
        write_json(
            directory / INDEX_NAME,
            {
                "metadata": {"total_size": total},
                "weight_map": {k: fname for fname, names in files.items() for k in names},
            },
        )
    write_config(directory / "config.json", cfg)
    return directory
