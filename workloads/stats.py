"""Per-layer quantization statistics for the hardware models, from any registered format.

For each weight matrix (or each block or sampled tile of it) the weights are quantized with
:func:`~shiftadd.workloads.quant.quantize` and these statistics are accumulated:

error
    ``mse``, ``rel_fro`` (``||W_q - W||_F / ||W||_F``) and ``max_abs``, as
    :meth:`QuantizedTensor.error` defines them, pooled over the blocks.
storage
    ``storage_bits`` (sum of the blocks' ``QuantizedTensor.storage_bits``) and
    ``bits_per_weight``.
integer codes
    When the payload has integer ``"codes"`` and ``params`` has ``"bits"`` (and ``"signed"``,
    else the codes' dtype decides): ``bit_density`` (fraction of ones in each two's
    complement bit plane, LSB first; plain binary for unsigned codes), ``booth_nonzero`` and
    ``ent_nonzero`` (mean nonzero radix-4 Booth and EN-T digits per weight; dense counts in
    ``booth_digits``/``ent_digits``), ``zero_fraction`` and ``code_entropy_bits``.
binary-coding keys
    When the payload has ``"planes"`` (bool, ``(q, out, in)``): every run of ``mu``
    consecutive input columns of one row of one plane forms a key
    ``sum_j bit[j] << j`` (column ``j`` of the group, True = +1); ``key_hist`` is the
    histogram of the ``2**mu`` keys over all rows, planes and full column groups (a trailing
    partial group is not counted), ``key_entropy_bits`` its entropy, ``key_top_frac`` the
    share of the most common key, and ``key_distinct_mean`` the number of distinct keys per
    (plane, column group) over the rows analysed, averaged; it measures how much of a
    ``2**mu``-entry lookup table the rows of a layer actually use.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from ..errors import InputError, brief
from .configs import ModelConfig, load_model_config, weight_manifest
from .digits import code_histogram, stats_from_histogram
from .format_names import format_words
from .quant import QuantizedTensor, available_formats, quantize
from .safetensors_io import SUPPORTED_DTYPES, Checkpoint, open_checkpoint

__all__ = [
    "LayerStats",
    "key_codes",
    "tensor_stats",
    "iter_checkpoint_stats",
    "checkpoint_stats",
    "records_to_frame",
    "summarize",
]

_CHUNK_ELEMS = 1 << 22  # elements per internal chunk: bounds temporaries to tens of MB
_MAX_MU = 12


def _check_mu(mu) -> int:
    if isinstance(mu, bool) or not isinstance(mu, (int, np.integer)) or not 1 <= mu <= _MAX_MU:
        raise InputError(f"must be an integer in 1..{_MAX_MU}, got {mu!r}", field="mu")
    return int(mu)


def key_codes(planes: np.ndarray, mu: int = 8) -> np.ndarray:
    """Binary-coding keys of ``mu`` consecutive input columns.

    Parameters
    ----------
    planes : numpy.ndarray of bool
        ``(q, out, in)`` bit planes, True for +1.
    mu : int
        Columns per key.

    Returns
    -------
    numpy.ndarray
        uint16, ``(q, out, in // mu)``; key ``k`` of group ``g`` has bit ``j`` set when
        column ``g*mu + j`` is +1.
    """
    mu = _check_mu(mu)
    p = np.asarray(planes, dtype=bool)
    if p.ndim != 3:
        raise InputError(f"expected planes of shape (q, out, in), got {p.shape}", field="planes")
    groups = p.shape[2] // mu
    p = p[:, :, : groups * mu].reshape(p.shape[0], p.shape[1], groups, mu)
    if mu == 8:
        return np.packbits(p, axis=-1, bitorder="little")[..., 0].astype(np.uint16)
    keys = np.zeros(p.shape[:3], dtype=np.uint16)
    for j in range(mu):  # loop over key bits, not elements
        keys |= p[..., j].astype(np.uint16) << np.uint16(j)
    return keys


class LayerStats:
    """Accumulates the statistics of one weight matrix over blocks or tiles.

    Parameters
    ----------
    fmt : str
        Format name, recorded in the result.
    cols : int, optional
        Width of the whole matrix, to size the key-presence table of tiled planes.
    mu : int
        Columns per binary-coding key.
    """

    def __init__(self, fmt: str, *, cols: int | None = None, mu: int = 8):
        self.fmt = fmt
        self.mu = _check_mu(mu)
        self.cols = cols
        self.n = 0
        self.sse = 0.0
        self.ssw = 0.0
        self.max_abs = 0.0
        self.storage_bits = 0
        self.blocks = 0
        self.code_bits: int | None = None
        self.code_signed: bool | None = None
        self.code_hist: np.ndarray | None = None
        self.key_hist: np.ndarray | None = None
        self.key_present: np.ndarray | None = None  # (q, groups, 2**mu) seen anywhere

    def add(self, weights: np.ndarray, qt: QuantizedTensor, *, col_offset: int = 0) -> None:
        """Add one block: ``weights`` (float) and its quantization ``qt``.

        Parameters
        ----------
        weights : numpy.ndarray
            The block's original float weights, 2-D.
        qt : QuantizedTensor
            Its quantization (same shape).
        col_offset : int
            The block's first column in the whole matrix (for key groups).
        """
        w = np.asarray(weights, dtype=np.float32)
        if qt.shape != w.shape:
            raise InputError(
                f"quantized shape {qt.shape} differs from weights {w.shape}", field="format"
            )
        self.blocks += 1
        self.storage_bits += int(qt.storage_bits)
        rows, cols = w.shape
        step = max(1, _CHUNK_ELEMS // max(cols, 1))
        for r0 in range(0, rows, step):  # pooled error, row chunk by row chunk
            sub = QuantizedTensor(qt.fmt, qt.dequantized[r0 : r0 + step], 0)
            chunk = w[r0 : r0 + step]
            err = sub.error(chunk)
            c64 = chunk.astype(np.float64).ravel()
            self.sse += err["mse"] * chunk.size
            self.ssw += float(c64 @ c64)
            self.max_abs = max(self.max_abs, err["max_abs"])
        self.n += w.size
        self._add_codes(qt)
        self._add_planes(qt, col_offset)

    def _add_codes(self, qt: QuantizedTensor) -> None:
        codes = qt.payload.get("codes")
        bits: Any = qt.params.get("bits")
        if codes is None or bits is None:
            return
        codes = np.asarray(codes)
        if not np.issubdtype(codes.dtype, np.integer):
            return
        signed = bool(qt.params.get("signed", codes.dtype.kind == "i"))
        if self.code_hist is None:
            self.code_bits, self.code_signed = int(bits), signed
            self.code_hist = np.zeros(1 << int(bits), dtype=np.int64)
        assert self.code_bits is not None and self.code_signed is not None
        self.code_hist += code_histogram(codes, self.code_bits, self.code_signed)

    def _add_planes(self, qt: QuantizedTensor, col_offset: int) -> None:
        planes = qt.payload.get("planes")
        if planes is None:
            return
        planes = np.asarray(planes, dtype=bool)
        if planes.ndim != 3:
            raise InputError(
                f"payload 'planes' must be (q, out, in), got {planes.shape}", field="format"
            )
        q, rows, cols = planes.shape
        mu = self.mu
        n_keys = 1 << mu
        total_groups = -(-(self.cols or cols) // mu)
        if self.key_hist is None:
            self.key_hist = np.zeros(n_keys, dtype=np.int64)
            self.key_present = np.zeros((q, total_groups, n_keys), dtype=bool)
        assert self.key_present is not None
        if self.key_present.shape[0] != q:
            raise InputError(
                f"plane count changed from {self.key_present.shape[0]} to {q}", field="format"
            )
        g0 = col_offset // mu
        step = max(1, _CHUNK_ELEMS // max(cols, 1))
        for r0 in range(0, rows, step):
            keys = key_codes(planes[:, r0 : r0 + step], mu)  # (q, r, groups)
            if keys.size == 0:
                continue
            self.key_hist += np.bincount(keys.ravel(), minlength=n_keys)
            groups = keys.shape[2]
            # Flat index (plane, group, key) into the presence table.
            idx = (
                np.arange(q)[:, None, None] * total_groups + (g0 + np.arange(groups))[None, None, :]
            ) * n_keys + keys
            self.key_present.reshape(-1)[idx.ravel()] = True

    def result(self) -> dict:
        """The statistics (see the module docstring); lists for per-plane and per-key data.

        Returns
        -------
        dict
            Error, storage, integer-code and binary-coding key statistics of the blocks added
            so far (code and key entries only when the payloads had them).
        """
        nan = float("nan")
        out: dict = {
            "format": self.fmt,
            "weights_analysed": self.n,
            "blocks": self.blocks,
            "mse": self.sse / self.n if self.n else nan,
            "rel_fro": float(np.sqrt(self.sse / self.ssw)) if self.ssw > 0 else 0.0,
            "max_abs": self.max_abs,
            "storage_bits": self.storage_bits,
            "bits_per_weight": self.storage_bits / self.n if self.n else nan,
            "code_bits": self.code_bits,
            "code_signed": self.code_signed,
        }
        if self.code_hist is not None:
            assert self.code_bits is not None and self.code_signed is not None
            out.update(stats_from_histogram(self.code_hist, self.code_bits, self.code_signed))
            out.pop("operands")
            out["code_hist"] = self.code_hist.tolist()
        if self.key_hist is not None:
            assert self.key_present is not None
            total = int(self.key_hist.sum())
            p = self.key_hist / total if total else self.key_hist.astype(float)
            nz = p[p > 0]
            seen = self.key_present.any(axis=2)
            distinct = self.key_present.sum(axis=2)[seen]
            out.update(
                {
                    "key_mu": self.mu,
                    "key_planes": int(self.key_present.shape[0]),
                    "keys": total,
                    "key_entropy_bits": float(-(nz * np.log2(nz)).sum()) if total else nan,
                    "key_top_frac": float(p.max()) if total else nan,
                    "key_distinct_mean": float(distinct.mean()) if distinct.size else nan,
                    "key_hist": self.key_hist.tolist(),
                }
            )
        return out


def tensor_stats(
    weights, fmt: str, *, mu: int = 8, block_rows: int | None = None, **options
) -> dict:
    """Statistics of one in-memory weight matrix quantized to ``fmt``.

    Parameters
    ----------
    weights : array_like
        ``(out_features, in_features)``.
    fmt : str
        Any registered format name.
    mu : int
        Columns per binary-coding key.
    block_rows : int, optional
        Quantize ``block_rows`` rows at a time (exact for formats whose scales are per row or
        per row group that divides it); None quantizes the whole matrix at once.
    **options
        Passed to :func:`quantize` (``group_size``...).

    Returns
    -------
    dict
        See the module docstring.
    """
    w = np.asarray(weights)
    if w.ndim != 2:
        raise InputError(f"expected a 2-D matrix, got shape {w.shape}", field="weights")
    acc = LayerStats(fmt, cols=w.shape[1], mu=mu)
    step = w.shape[0] if block_rows is None else int(block_rows)
    if step < 1:
        raise InputError(f"must be >= 1, got {block_rows!r}", field="block_rows")
    for r0 in range(0, w.shape[0], step):
        block = w[r0 : r0 + step]
        acc.add(block, quantize(block, fmt, **options))
    out = acc.result()
    out.update(rows=int(w.shape[0]), cols=int(w.shape[1]))
    return out


def _check_format(fmt) -> str:
    patterns = available_formats()
    if not isinstance(fmt, str) or not any(re.fullmatch(p, fmt) for p in patterns):
        raise InputError(
            f"unknown weight format {brief(fmt)}", field="format", allowed=format_words()
        )
    return fmt


def _parse_tile(tile) -> tuple[int, int]:
    t = (tile, tile) if isinstance(tile, (int, np.integer)) else tuple(tile)
    if len(t) != 2 or any(
        isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1 for v in t
    ):
        raise InputError(
            f"must be a positive integer or a pair of them, got {tile!r}", field="tile"
        )
    return int(t[0]), int(t[1])


def _resolve_specs(ckpt: Checkpoint, cfg: ModelConfig, include_head: bool, layers):
    specs = weight_manifest(cfg, include_head=include_head)
    if layers is not None:
        wanted = {int(v) for v in layers}
        bad = sorted(wanted - set(range(cfg.num_layers)))
        if bad:
            raise InputError(
                f"layers {bad} do not exist; the model has {cfg.num_layers}",
                field="layers",
                source=cfg.source,
            )
        # Head and embedding projections sit outside the decoder layers; include_head
        # asked for them, so the layer filter leaves them in.
        specs = [s for s in specs if s.layer in wanted or not 0 <= s.layer < cfg.num_layers]
    resolved = []
    for spec in specs:
        name = next((c for c in spec.candidates if c in ckpt), None)
        if name is None:
            raise InputError(
                f"tensor {spec.tensor!r} implied by the config "
                f"({cfg.source or cfg.name}) is missing",
                field="tensor",
                source=ckpt.source,
            )
        info = ckpt.info(name)
        if tuple(info.shape) != tuple(spec.stored_shape):
            raise InputError(
                f"tensor {name!r} has shape {list(info.shape)} but the config "
                f"implies {list(spec.stored_shape)}",
                field="tensor",
                source=str(info.path),
            )
        if info.dtype not in SUPPORTED_DTYPES:
            raise InputError(
                f"tensor {name!r} has unsupported dtype {info.dtype}",
                field="dtype",
                allowed=sorted(SUPPORTED_DTYPES),
                source=str(info.path),
            )
        resolved.append((spec, name))
    return resolved


def iter_checkpoint_stats(
    checkpoint: str | os.PathLike | Checkpoint,
    fmt: str,
    *,
    config: ModelConfig | str | os.PathLike | None = None,
    sample_tiles: int | None = None,
    tile: int | tuple[int, int] = 256,
    seed: int = 0,
    include_head: bool = False,
    layers=None,
    mu: int = 8,
    progress: bool = False,
    quant_options: Mapping[str, object] | None = None,
) -> Iterator[dict]:
    """Stream a checkpoint and yield one statistics record per weight tensor.

    Parameters
    ----------
    checkpoint : path or Checkpoint
        Folder (single file or sharded), index file or ``.safetensors`` file.
    fmt : str
        Any registered format name.
    config : ModelConfig, preset, or path, optional
        Default: the checkpoint folder's ``config.json``.
    sample_tiles : int, optional
        Analyse this many random ``tile`` tiles per tensor (seeded by ``seed`` and the
        tensor name); per-row scales are then computed within a tile. None analyses whole
        tensors, ``tile[0]`` rows at a time (exact for per-row and per-group formats).
    tile : int or (int, int)
        Tile size (rows, columns); in full mode only the row count is used.
    seed : int
        Seed of the tile choice.
    include_head : bool
        Also analyse the output head (and OPT's embedding projections), which quantized LLMs
        usually keep in 16 bits.
    layers : iterable of int, optional
        Only these decoder layers (plus the head when ``include_head``).
    mu : int
        Columns per binary-coding key.
    progress : bool
        tqdm progress bar on stderr.
    quant_options : Mapping, optional
        Passed to :func:`quantize`.

    Yields
    ------
    dict
        ``tensor, name, layer, expert, rows, cols, mode`` and the statistics of
        :class:`LayerStats`. In sampled mode ``storage_bits`` is extrapolated to the whole
        tensor from the tiles' bits per weight.

    Raises
    ------
    InputError
        Before any work: no config, a tensor the config implies but the checkpoint lacks, a
        shape mismatch or an unsupported dtype (the message names the tensor and the file).
    """
    ckpt = checkpoint if isinstance(checkpoint, Checkpoint) else open_checkpoint(checkpoint)
    if config is None:
        if ckpt.config_path is None:
            raise InputError(
                "checkpoint has no config.json; name the model with --config",
                field="config",
                source=str(ckpt.root),
            )
        config = ckpt.config_path
    cfg = load_model_config(config)
    _check_format(fmt)
    tr, tc = _parse_tile(tile)
    mu = _check_mu(mu)
    if sample_tiles is not None:
        if (
            isinstance(sample_tiles, bool)
            or not isinstance(sample_tiles, (int, np.integer))
            or sample_tiles < 1
        ):
            raise InputError(
                f"must be a positive integer, got {sample_tiles!r}", field="sample_tiles"
            )
        if tc % mu:
            raise InputError(
                f"tile width {tc} must be a multiple of mu = {mu} so that key "
                "groups line up across tiles",
                field="tile",
            )
    options = dict(quant_options or {})
    resolved = _resolve_specs(ckpt, cfg, include_head, layers)
    bar = tqdm(resolved, desc=f"stats {fmt}", unit="tensor", file=sys.stderr, disable=not progress)
    for spec, name in bar:
        rows, cols = spec.shape
        acc = LayerStats(fmt, cols=cols, mu=mu)
        if sample_tiles is None:
            for _, block in ckpt.iter_row_blocks(name, tr, transpose=spec.transposed):
                acc.add(block, quantize(block, fmt, **options))
        else:
            for _, c0, block in ckpt.iter_tiles(
                name, (tr, tc), sample_tiles, seed=seed, transpose=spec.transposed
            ):
                acc.add(block, quantize(block, fmt, **options), col_offset=c0)
        rec = {
            "tensor": name,
            "name": spec.name,
            "layer": spec.layer,
            "expert": spec.expert,
            "rows": rows,
            "cols": cols,
            "mode": "full" if sample_tiles is None else "sampled",
        }
        rec.update(acc.result())
        if sample_tiles is not None:
            rec["storage_bits"] = int(round(rec["bits_per_weight"] * rows * cols))
        yield rec


def records_to_frame(records: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """A flat table of statistics records: one column per bit plane, histograms dropped.

    Parameters
    ----------
    records : iterable of dict
        Statistics records, as :func:`iter_checkpoint_stats` yields them.

    Returns
    -------
    pandas.DataFrame
        One row per record; ``bit_density`` split into ``bit_density_<i>`` columns,
        ``key_hist`` and ``code_hist`` left out.
    """
    flat = []
    for rec in records:
        r = {k: v for k, v in rec.items() if k not in ("key_hist", "code_hist", "bit_density")}
        for i, v in enumerate(rec.get("bit_density") or []):
            r[f"bit_density_{i}"] = v
        flat.append(r)
    return pd.DataFrame(flat)


def checkpoint_stats(checkpoint, fmt: str, **kwargs) -> pd.DataFrame:
    """:func:`iter_checkpoint_stats` collected into a table (see :func:`records_to_frame`).

    Parameters
    ----------
    checkpoint : path or Checkpoint
        Folder (single file or sharded), index file or ``.safetensors`` file.
    fmt : str
        Any registered format name.
    **kwargs
        Further options of :func:`iter_checkpoint_stats` (``config``, ``sample_tiles``,
        ``tile``, ``layers``...).

    Returns
    -------
    pandas.DataFrame
        One row per weight tensor.
    """
    return records_to_frame(iter_checkpoint_stats(checkpoint, fmt, **kwargs))


def summarize(table: pd.DataFrame) -> dict:
    """Whole-model figures of a statistics table, weighted by the weights analysed.

    Parameters
    ----------
    table : pandas.DataFrame
        A statistics table, as :func:`checkpoint_stats` returns.

    Returns
    -------
    dict
        ``weights`` (analysed), and the weighted means of ``bits_per_weight``, ``mse``,
        ``booth_nonzero``, ``ent_nonzero``, ``zero_fraction``,
        ``key_distinct_mean`` where present.
    """
    if table.empty:
        return {"weights": 0}
    w = table["weights_analysed"].astype(float)
    out = {
        "weights": int(w.sum()),
        "bits_per_weight": float((table["bits_per_weight"] * w).sum() / w.sum()),
        "mse": float((table["mse"] * w).sum() / w.sum()),
    }
    for col in ("booth_nonzero", "ent_nonzero", "zero_fraction", "key_distinct_mean"):
        if col in table.columns and table[col].notna().any():
            m = table[col].notna()
            out[col] = float((table.loc[m, col] * w[m]).sum() / w[m].sum())
    return out
