"""Stream tensors out of safetensors checkpoints without torch and without loading the model.

A safetensors file is an 8-byte little-endian header length ``n``, ``n`` bytes of JSON
(``{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}``), then
the raw row-major little-endian tensor data, offsets relative to the end of the header.
A sharded checkpoint adds ``model.safetensors.index.json`` whose ``weight_map`` names the
shard of every tensor.

Reads go through a :class:`numpy.memmap` of exactly the requested tensor, created per read
and dropped after the copy to float32, so the process holds at most the tensor (or tile) in
hand: file pages are not kept mapped between reads.
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError

__all__ = [
    "TensorInfo",
    "SafetensorsFile",
    "Checkpoint",
    "open_checkpoint",
    "bf16_to_float32",
    "float32_to_bf16",
    "SUPPORTED_DTYPES",
    "INDEX_NAME",
    "SINGLE_NAME",
]

INDEX_NAME = "model.safetensors.index.json"
SINGLE_NAME = "model.safetensors"
# Dtypes that can be read as float32 and their storage dtype.
SUPPORTED_DTYPES: dict[str, np.dtype] = {
    "BF16": np.dtype("<u2"),
    "F16": np.dtype("<f2"),
    "F32": np.dtype("<f4"),
}
# Every dtype the safetensors format defines, with its size in bytes.
_ITEMSIZE = {
    "BOOL": 1,
    "U8": 1,
    "I8": 1,
    "F8_E4M3": 1,
    "F8_E5M2": 1,
    "I16": 2,
    "U16": 2,
    "F16": 2,
    "BF16": 2,
    "I32": 4,
    "U32": 4,
    "F32": 4,
    "F64": 8,
    "I64": 8,
    "U64": 8,
}
_MAX_HEADER = 100 * 1024 * 1024  # the format's own limit


def bf16_to_float32(raw: np.ndarray) -> np.ndarray:
    """Widen bfloat16 bit patterns (uint16) to float32, exactly.

    bfloat16 is the upper half of a float32, so shifting the 16 bits into the upper half of
    a 32-bit word reproduces the value bit for bit (NaN payloads and signed zeros included).

    Parameters
    ----------
    raw : numpy.ndarray
        bfloat16 bit patterns, any shape (converted to uint16).

    Returns
    -------
    numpy.ndarray
        float32 array of the same shape.
    """
    wide = np.asarray(raw, dtype=np.uint16).astype(np.uint32, order="C")
    wide <<= np.uint32(16)
    return wide.view(np.float32)


def float32_to_bf16(values: np.ndarray) -> np.ndarray:
    """Round float32 to bfloat16 bit patterns (uint16), round-to-nearest-even.

    NaN stays a quiet NaN; values beyond the bfloat16 range round to infinity as IEEE does.

    Parameters
    ----------
    values : numpy.ndarray
        Values to round, any shape (converted to float32).

    Returns
    -------
    numpy.ndarray
        uint16 bfloat16 bit patterns of the same shape.
    """
    v = np.ascontiguousarray(values, dtype=np.float32)
    u = v.view(np.uint32)
    # In-place steps on one temporary: this runs over whole checkpoints.
    t = u >> np.uint32(16)
    t &= np.uint32(1)
    t += np.uint32(0x7FFF)
    t += u
    t >>= np.uint32(16)
    out = t.astype(np.uint16)
    nan = np.isnan(v)
    if nan.any():  # rounding could carry a NaN payload into the exponent; keep it NaN
        out[nan] = ((u[nan] >> np.uint32(16)) | np.uint32(0x0040)).astype(np.uint16)
    return out


@dataclass(frozen=True)
class TensorInfo:
    """Where one tensor lives.

    Parameters
    ----------
    name : str
        Tensor name in the checkpoint.
    dtype : str
        safetensors dtype name (``"BF16"``, ``"F16"``, ``"F32"``...).
    shape : tuple of int
        Shape as stored.
    path : pathlib.Path
        The file holding it.
    offset : int
        Absolute byte offset of its data in the file.
    nbytes : int
        Size of its data in bytes.
    """

    name: str
    dtype: str
    shape: tuple[int, ...]
    path: Path
    offset: int
    nbytes: int

    @property
    def numel(self) -> int:
        """Number of elements, the product of ``shape``."""
        return int(np.prod(self.shape, dtype=np.int64))


class SafetensorsFile:
    """One ``.safetensors`` file: the parsed, validated header.

    Parameters
    ----------
    path : str or path
        The ``.safetensors`` file.

    Raises
    ------
    InputError
        Missing, truncated or corrupt file; tensors whose byte ranges do not match their
        shape and dtype or run past the end of the file. Messages name the file and tensor.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        src = str(self.path)
        try:
            size = self.path.stat().st_size
            with open(self.path, "rb") as fh:
                head = fh.read(8)
                if len(head) < 8:
                    raise InputError(
                        f"truncated safetensors file: {size} bytes, no header length", source=src
                    )
                (n,) = struct.unpack("<Q", head)
                if n > _MAX_HEADER or 8 + n > size:
                    raise InputError(
                        f"corrupt or truncated safetensors file: header of {n} "
                        f"bytes does not fit in {size} bytes",
                        source=src,
                    )
                header_bytes = fh.read(n)
        except OSError as exc:
            raise InputError(f"cannot read checkpoint file: {exc.strerror}", source=src) from None
        try:
            header = json.loads(header_bytes.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"corrupt safetensors header: {exc}", source=src) from None
        if not isinstance(header, dict):
            raise InputError("corrupt safetensors header: not a JSON object", source=src)
        self.metadata = header.pop("__metadata__", None) or {}
        data_start = 8 + n
        data_size = size - data_start
        self._tensors: dict[str, TensorInfo] = {}
        for name, entry in header.items():
            self._tensors[name] = self._check_entry(name, entry, data_start, data_size)

    def _check_entry(self, name, entry, data_start, data_size) -> TensorInfo:
        src = str(self.path)
        try:
            dtype = entry["dtype"]
            shape = tuple(int(v) for v in entry["shape"])
            begin, end = (int(v) for v in entry["data_offsets"])
        except (KeyError, TypeError, ValueError):
            raise InputError(
                f"corrupt header entry for tensor {name!r}: {entry!r}", source=src
            ) from None
        if dtype not in _ITEMSIZE:
            raise InputError(
                f"tensor {name!r} has unknown dtype {dtype!r}",
                field="dtype",
                allowed=sorted(_ITEMSIZE),
                source=src,
            )
        if any(d < 0 for d in shape):
            raise InputError(f"tensor {name!r} has a negative dimension {shape}", source=src)
        nbytes = int(np.prod(shape, dtype=np.int64)) * _ITEMSIZE[dtype]
        if begin < 0 or end - begin != nbytes:
            raise InputError(
                f"tensor {name!r}: byte range [{begin}, {end}) does not hold "
                f"{dtype} {list(shape)} ({nbytes} bytes)",
                source=src,
            )
        if end > data_size:
            raise InputError(
                f"truncated file: tensor {name!r} ends at byte {end} of the data "
                f"section but only {data_size} bytes are present",
                source=src,
            )
        return TensorInfo(name, dtype, shape, self.path, data_start + begin, nbytes)

    def names(self) -> list[str]:
        """Tensor names in header order.

        Returns
        -------
        list of str
            The names of the tensors the file holds.
        """
        return list(self._tensors)

    def __contains__(self, name: str) -> bool:
        return name in self._tensors

    def info(self, name: str) -> TensorInfo:
        """Location, dtype and shape of tensor ``name``.

        Parameters
        ----------
        name : str
            Tensor name.

        Returns
        -------
        TensorInfo
            Where the tensor's data lies in the file, its dtype and shape.

        Raises
        ------
        InputError
            The file has no such tensor.
        """
        try:
            return self._tensors[name]
        except KeyError:
            raise InputError(
                f"tensor {name!r} not found", field="tensor", source=str(self.path)
            ) from None


def _raw_view(info: TensorInfo) -> np.ndarray:
    """A read-only memmap of exactly one tensor, in its storage dtype."""
    if info.dtype not in SUPPORTED_DTYPES:
        raise InputError(
            f"tensor {info.name!r} has unsupported dtype {info.dtype}",
            field="dtype",
            allowed=sorted(SUPPORTED_DTYPES),
            source=str(info.path),
        )
    dtype = SUPPORTED_DTYPES[info.dtype]
    if info.numel == 0:
        return np.zeros(info.shape, dtype=dtype)
    return np.memmap(info.path, dtype=dtype, mode="r", offset=info.offset, shape=info.shape)


def _to_float32(raw: np.ndarray, dtype: str) -> np.ndarray:
    if dtype == "BF16":
        return bf16_to_float32(raw)
    # A fresh C-ordered copy: detaches from the memmap so the file can be unmapped.
    return np.array(raw, dtype=np.float32, copy=True, order="C")


class Checkpoint:
    """A single-file or sharded safetensors checkpoint, read one tensor or tile at a time.

    Use :func:`open_checkpoint` to build one from a folder or file.

    Parameters
    ----------
    files : list of SafetensorsFile
        The checkpoint's files; a tensor in several is read from the first.
    root : path
        Folder (or file) the checkpoint was opened from; ``config.json`` is looked up here.
    index_path : path, optional
        A sharded checkpoint's ``model.safetensors.index.json``.
    """

    def __init__(self, files: list[SafetensorsFile], root: Path, index_path: Path | None = None):
        self.files = files
        self.root = root
        self.index_path = index_path
        self._where: dict[str, SafetensorsFile] = {}
        for f in files:
            for name in f.names():
                self._where.setdefault(name, f)

    @property
    def source(self) -> str:
        """The file to name in messages: the index, or the single file."""
        return str(self.index_path or (self.files[0].path if len(self.files) == 1 else self.root))

    def names(self) -> list[str]:
        """Names of all tensors of the checkpoint.

        Returns
        -------
        list of str
            Every tensor name, in file order.
        """
        return list(self._where)

    def __contains__(self, name: str) -> bool:
        return name in self._where

    def __len__(self) -> int:
        return len(self._where)

    def info(self, name: str) -> TensorInfo:
        """Location, dtype and shape of tensor ``name``.

        Parameters
        ----------
        name : str
            Tensor name.

        Returns
        -------
        TensorInfo
            The file holding the tensor, its byte offset, dtype and shape.

        Raises
        ------
        InputError
            The checkpoint has no such tensor (the message names it and the checkpoint).
        """
        f = self._where.get(name)
        if f is None:
            raise InputError(f"tensor {name!r} not found", field="tensor", source=self.source)
        return f.info(name)

    @property
    def config_path(self) -> Path | None:
        """The ``config.json`` beside the checkpoint, or None if there is none."""
        folder = self.root if self.root.is_dir() else self.root.parent
        p = folder / "config.json"
        return p if p.is_file() else None

    def read(
        self,
        name: str,
        rows: slice | None = None,
        cols: slice | None = None,
        *,
        transpose: bool = False,
    ) -> np.ndarray:
        """Tensor ``name`` (or the ``rows`` x ``cols`` block of it) as a float32 array.

        Parameters
        ----------
        name : str
            Tensor name.
        rows, cols : slice, optional
            Block of a 2-D tensor to read; only that block is copied out of the file.
        transpose : bool
            Treat the stored 2-D tensor as transposed (GPT-2 Conv1D): ``rows``/``cols``
            index the logical matrix and the result is the logical block.

        Returns
        -------
        numpy.ndarray
            A float32 C-ordered copy of the tensor or block (not a view of the file).

        Raises
        ------
        InputError
            Unknown tensor, unsupported dtype.
        """
        info = self.info(name)
        raw = _raw_view(info)
        try:
            if rows is not None or cols is not None or transpose:
                if raw.ndim != 2:
                    raise InputError(
                        f"tensor {name!r} has shape {list(info.shape)}; blocks need a 2-D tensor",
                        source=str(info.path),
                    )
                r = rows if rows is not None else slice(None)
                c = cols if cols is not None else slice(None)
                block = raw[c, r].T if transpose else raw[r, c]
            else:
                block = raw
            return _to_float32(block, info.dtype)
        finally:
            del raw  # unmap now: RSS then holds only the float32 copy

    def iter_tensors(self, names: list[str] | None = None) -> Iterator[tuple[str, np.ndarray]]:
        """Yield ``(name, float32 array)`` one tensor at a time (default: all tensors).

        Parameters
        ----------
        names : list of str, optional
            Tensors to read, in this order; default: every tensor.

        Yields
        ------
        tuple of (str, numpy.ndarray)
            The tensor name and its float32 values.
        """
        for name in names if names is not None else self.names():
            yield name, self.read(name)

    def iter_row_blocks(
        self, name: str, block_rows: int, *, transpose: bool = False
    ) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(first_row, block)`` over a 2-D tensor, ``block_rows`` rows at a time.

        Parameters
        ----------
        name : str
            Tensor name (a 2-D tensor).
        block_rows : int
            Rows per block; the last block may be shorter.
        transpose : bool
            Iterate over the rows of the logical (transposed) matrix, see :meth:`read`.

        Yields
        ------
        tuple of (int, numpy.ndarray)
            Index of the block's first row and the float32 block.
        """
        rows, _ = self.logical_shape(name, transpose)
        for r0 in range(0, rows, block_rows):
            yield r0, self.read(name, slice(r0, min(rows, r0 + block_rows)), transpose=transpose)

    def logical_shape(self, name: str, transpose: bool = False) -> tuple[int, int]:
        """Shape of the 2-D tensor ``name``, transposed when it is stored transposed.

        Parameters
        ----------
        name : str
            Tensor name.
        transpose : bool
            The stored tensor is the transpose of the logical matrix.

        Returns
        -------
        tuple of (int, int)
            ``(rows, cols)`` of the logical matrix.

        Raises
        ------
        InputError
            The tensor is not 2-D.
        """
        shape = self.info(name).shape
        if len(shape) != 2:
            raise InputError(
                f"tensor {name!r} has shape {list(shape)}, expected a matrix", source=self.source
            )
        return (shape[1], shape[0]) if transpose else (shape[0], shape[1])

    def tile_origins(
        self,
        name: str,
        tile: tuple[int, int],
        count: int | None,
        *,
        seed: int = 0,
        transpose: bool = False,
    ) -> list[tuple[int, int]]:
        """Top-left corners of ``count`` distinct random tiles (all tiles when None or more).

        The choice depends only on ``seed``, the tensor name and its shape, not on the order
        tensors are visited in.

        Parameters
        ----------
        name : str
            Tensor name (a 2-D tensor).
        tile : tuple of (int, int)
            Tile height and width.
        count : int or None
            Tiles to pick without replacement; None picks every tile.
        seed : int
            Seed of the random choice.
        transpose : bool
            Tile the logical (transposed) matrix, see :meth:`read`.

        Returns
        -------
        list of tuple of (int, int)
            ``(row, col)`` of each tile's top-left element, in row-major order.
        """
        rows, cols = self.logical_shape(name, transpose)
        tr, tc = tile
        n_r, n_c = -(-rows // tr), -(-cols // tc)
        total = n_r * n_c
        if count is None or count >= total:
            picks = np.arange(total)
        else:
            rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
            picks = np.sort(rng.choice(total, size=count, replace=False))
        return [(int(p // n_c) * tr, int(p % n_c) * tc) for p in picks]

    def iter_tiles(
        self,
        name: str,
        tile: int | tuple[int, int],
        count: int | None = None,
        *,
        seed: int = 0,
        transpose: bool = False,
    ) -> Iterator[tuple[int, int, np.ndarray]]:
        """Yield ``(row, col, block)`` for ``count`` random tiles (seeded) of a 2-D tensor.

        Parameters
        ----------
        name : str
            Tensor name (a 2-D tensor).
        tile : int or (int, int)
            Tile height and width; edge tiles are smaller.
        count : int, optional
            Tiles to draw without replacement; None (or at least the number of tiles) visits
            every tile in row-major order.
        seed : int
            Seed of the random choice (see :meth:`tile_origins`).
        transpose : bool
            Tile the logical (transposed) matrix, see :meth:`read`.

        Yields
        ------
        tuple of (int, int, numpy.ndarray)
            The tile's top-left row and column and its float32 block.
        """
        tr, tc = (tile, tile) if isinstance(tile, int) else tile
        if tr < 1 or tc < 1:
            raise InputError(f"tile must be positive, got {tile}", field="tile")
        for r0, c0 in self.tile_origins(name, (tr, tc), count, seed=seed, transpose=transpose):
            yield (
                r0,
                c0,
                self.read(name, slice(r0, r0 + tr), slice(c0, c0 + tc), transpose=transpose),
            )


def open_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Open a safetensors checkpoint.

    Parameters
    ----------
    path : str or path
        A folder holding ``model.safetensors.index.json`` (sharded), ``model.safetensors`` or
        any ``*.safetensors`` files; an index file; or one ``.safetensors`` file.

    Returns
    -------
    Checkpoint
        The opened checkpoint (headers parsed and checked; no tensor data read).

    Raises
    ------
    InputError
        No safetensors found, a bad index, a shard missing, a tensor the index places in a
        shard that does not hold it, or any corrupt file.
    """
    path = Path(path)
    if not path.exists():
        raise InputError("no such checkpoint", field="checkpoint", source=str(path))
    index = None
    if path.is_dir():
        if (path / INDEX_NAME).is_file():
            index = path / INDEX_NAME
        elif (path / SINGLE_NAME).is_file():
            return Checkpoint([SafetensorsFile(path / SINGLE_NAME)], path)
        else:
            found = sorted(path.glob("*.safetensors"))
            if not found:
                raise InputError(
                    "folder holds no .safetensors file", field="checkpoint", source=str(path)
                )
            return Checkpoint([SafetensorsFile(p) for p in found], path)
    elif path.name.endswith(".json"):
        index = path
    else:
        return Checkpoint([SafetensorsFile(path)], path)
    return _open_sharded(index)


def _open_sharded(index: Path) -> Checkpoint:
    src = str(index)
    try:
        data = json.loads(index.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise InputError(f"cannot read checkpoint index: {exc}", source=src) from None
    weight_map = data.get("weight_map") if isinstance(data, dict) else None
    if not isinstance(weight_map, dict) or not weight_map:
        raise InputError("missing key", field="weight_map", source=src)
    if not all(isinstance(v, str) for v in weight_map.values()):
        raise InputError("shard names must be strings", field="weight_map", source=src)
    shards: dict[str, SafetensorsFile] = {}
    folder = index.parent.resolve()
    for shard_name in dict.fromkeys(weight_map.values()):
        # A shard is a file of the checkpoint folder: an absolute path, '..' or a symbolic
        # link out of the folder would let an index read any file on the machine.
        if not shard_name.endswith(".safetensors"):
            raise InputError(
                f"shard {shard_name[:80]!r} is not a .safetensors file name",
                field="weight_map",
                source=src,
            )
        shard_path = index.parent / shard_name
        if Path(shard_name).is_absolute() or not shard_path.resolve().is_relative_to(folder):
            raise InputError(
                f"shard {shard_name[:80]!r} lies outside the checkpoint folder",
                field="weight_map",
                allowed="file names in the index's folder",
                source=src,
            )
        if not shard_path.is_file():
            raise InputError(
                f"shard {shard_name!r} listed in the index is missing",
                field="weight_map",
                source=src,
            )
        shards[shard_name] = SafetensorsFile(shard_path)
    for name, shard_name in weight_map.items():
        if name not in shards[shard_name]:
            raise InputError(
                f"tensor {name!r} listed in the index is not in shard {shard_name!r}",
                field="weight_map",
                source=str(shards[shard_name].path),
            )
    ckpt = Checkpoint(list(shards.values()), index.parent, index)
    # Tensors a shard holds but the index does not list are still readable; the index
    # decides only where listed tensors live.
    ckpt._where.update({name: shards[s] for name, s in weight_map.items()})
    return ckpt
