"""What a number format does to a model: per-layer errors and a whole-model quality figure.

A :class:`NumberFormat` names the weight format (any registered format of
:mod:`~shiftadd.workloads.quant`, with its options) and the activation format an engine
runs. :func:`layer_errors` measures one linear layer ``Y = X W^T``:

``weight_error``
    ``||W_q - W||_F / ||W||_F``.
``output_error``
    ``||X W^T - X_q W_q^T||_F / ||X W^T||_F`` on calibration activations ``X`` (``X_q`` is
    ``X`` in the activation format; ``"fp"`` leaves it alone).

:func:`format_quality` scores a format on a :class:`QualitySource`:

``encoder``
    A real sentence-embedding checkpoint with a runnable forward pass (BERT encoders such as
    the packaged ``all-MiniLM-L6-v2``): every Linear of the encoder layers quantized (weights
    and their input activations; attention's activation x activation products, embeddings,
    LayerNorm and pooling stay in float), the sentences of the evaluation set embedded, and
    ``quality`` = the mean cosine similarity of each sentence embedding to its float32
    embedding (``quality_metric = "embedding_cosine"``). Layer errors use activations captured
    from the float32 model on the calibration set.
``checkpoint``
    A real checkpoint without a forward pass here: the Linear weights of up to
    :data:`CHECKPOINT_LAYERS` evenly spaced layers (at most :data:`MAX_ROWS` evenly spaced
    rows each), on synthetic activations (:func:`synthetic_activations`).
``synthetic``
    No weights (a preset): one seeded matrix of :func:`~shiftadd.workloads.synthetic.
    synthetic_weights` statistics per distinct weight GEMM shape, at most :data:`MAX_ROWS`
    rows, on synthetic activations.

For the last two, ``quality = 1 - mean output_error`` over the layers
(``quality_metric = "1 - output_error"``): 1 is exact, 0 is an output error as large as
the output itself; it is not clipped, so a format worse than predicting zero scores below 0.

Results are cached per (source fingerprint, format) as JSON under
``$SHIFTADD_CACHE/quality`` (default ``~/.cache/shiftadd/quality``), so a sweep reads a
format it has seen in milliseconds.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._io import cache_root, write_json
from ..errors import InputError
from .formats import ACT_FORMAT_PATTERN, NumberFormat
from .quant import QuantizedTensor, quantize

__all__ = [
    "NumberFormat",
    "QualitySource",
    "QualityResult",
    "quantize_activations",
    "quantize_weights",
    "layer_errors",
    "synthetic_activations",
    "quality_source",
    "format_quality",
    "ACT_FORMAT_PATTERN",
    "MAX_ROWS",
    "CHECKPOINT_LAYERS",
    "SYNTHETIC_TOKENS",
]

#: Rows of a weight matrix scored at most (evenly spaced): bounds the work on large layers.
MAX_ROWS = 256
#: Layers of a checkpoint without a forward pass scored at most (evenly spaced).
CHECKPOINT_LAYERS = 4
#: Tokens of synthetic calibration activations.
SYNTHETIC_TOKENS = 64
#: Bumped whenever what a cached figure means changes.
_CACHE_VERSION = 1


def quantize_activations(x: np.ndarray, act: str) -> np.ndarray:
    """Round activations ``x`` (tokens, features) to format ``act``, per token (row).

    Parameters
    ----------
    x : numpy.ndarray
        Activations, one token per row.
    act : str
        An activation format (see :data:`ACT_FORMAT_PATTERN`).

    Returns
    -------
    numpy.ndarray
        float32 reconstruction of the quantized activations, same shape.
    """
    m = ACT_FORMAT_PATTERN.match(act)
    if not m:
        raise InputError(f"unknown activation format {act!r}", field="act_format")
    x = np.asarray(x, dtype=np.float32)
    if act == "fp":
        return x
    if act == "sign":
        return np.where(x >= 0, 1.0, -1.0).astype(np.float32) * np.mean(
            np.abs(x), axis=-1, keepdims=True
        )
    bits = int(m["bits"])
    if act.startswith("u"):
        lo = x.min(axis=-1, keepdims=True)
        hi = x.max(axis=-1, keepdims=True)
        scale = np.where(hi > lo, (hi - lo) / (2**bits - 1), 1.0)
        codes = np.clip(np.rint((x - lo) / scale), 0, 2**bits - 1)
        return (codes * scale + lo).astype(np.float32)
    qmax = 2 ** (bits - 1) - 1
    amax = np.abs(x).max(axis=-1, keepdims=True)
    scale = np.where(amax > 0, amax / qmax, 1.0)
    return (np.clip(np.rint(x / scale), -qmax, qmax) * scale).astype(np.float32)


def _pad_to(w: np.ndarray, rows: int, cols: int) -> np.ndarray:
    n, k = w.shape
    if n % rows == 0 and k % cols == 0:
        return w
    return np.pad(w, ((0, -n % rows), (0, -k % cols)))


def quantize_weights(w: np.ndarray, fmt: NumberFormat) -> QuantizedTensor:
    """Quantize ``w`` (out, in) to ``fmt.weight`` with ``fmt.weight_options``.

    Group sizes the matrix does not divide (a BCQ ``mu`` or ``group_rows``, a ``group_size``)
    are met as the hardware meets them: the matrix is padded with zero weights to a multiple,
    quantized, and cropped back.

    Parameters
    ----------
    w : numpy.ndarray
        Float weights, ``(out_features, in_features)``.
    fmt : NumberFormat
        The format.

    Returns
    -------
    QuantizedTensor
        The quantized weights (``dequantized`` cropped to ``w``'s shape).
    """
    opts = dict(fmt.weight_options)
    rows = int(opts.get("group_rows") or 1)
    cols = int(opts.get("mu") or 1) if fmt.weight.startswith("bcq") else 1
    cols = max(cols, int(opts.get("group_size") or 1))
    n, k = w.shape
    qt = quantize(_pad_to(w, rows, cols), fmt.weight, **opts)
    if qt.shape == (n, k):
        return qt
    return dataclasses.replace(qt, dequantized=np.ascontiguousarray(qt.dequantized[:n, :k]))


def layer_errors(w: np.ndarray, x: np.ndarray, fmt: NumberFormat, wq=None) -> dict[str, float]:
    """Weight and output error of one linear layer in format ``fmt``.

    Parameters
    ----------
    w : numpy.ndarray
        Float weights, ``(N, K)``.
    x : numpy.ndarray
        Calibration activations, ``(M, K)``.
    fmt : NumberFormat
        The format.
    wq : QuantizedTensor, optional
        ``w`` already quantized to ``fmt`` (saves the work).

    Returns
    -------
    dict of str to float
        ``weight_error``, ``output_error`` and ``bits_per_weight``.
    """
    wq = wq if wq is not None else quantize_weights(w, fmt)
    y = x.astype(np.float64) @ w.T.astype(np.float64)
    yq = quantize_activations(x, fmt.act).astype(np.float64) @ wq.dequantized.T.astype(np.float64)
    norm = float(np.linalg.norm(y))
    return {
        "weight_error": wq.error(w)["rel_fro"],
        "output_error": float(np.linalg.norm(y - yq) / norm) if norm > 0 else 0.0,
        "bits_per_weight": wq.bits_per_weight,
    }


def synthetic_activations(k: int, *, tokens: int = SYNTHETIC_TOKENS, seed: int = 0) -> np.ndarray:
    """Calibration activations of stated statistics for layers without real ones.

    Each token is a standard normal vector with 1% of its channels (at least one; the same
    channels for every token, as LLM outlier features are) scaled by 20, the magnitude of the
    outlier features reported for LLM activations (LLM.int8(), SmoothQuant).

    Parameters
    ----------
    k : int
        Features (the layer's ``in_features``).
    tokens : int
        Rows.
    seed : int
        Same seed, same matrix.

    Returns
    -------
    numpy.ndarray
        float32, ``(tokens, k)``.
    """
    rng = np.random.default_rng([seed, k])
    x = rng.standard_normal((tokens, k)).astype(np.float32)
    outliers = rng.choice(k, size=max(1, k // 100), replace=False)
    x[:, outliers] *= 20.0
    return x


@dataclass(frozen=True)
class QualitySource:
    """Where a format's quality is measured.

    Parameters
    ----------
    kind : {"encoder", "checkpoint", "synthetic"}
        See the module docstring.
    name : str
        A readable name (checkpoint folder or preset).
    path : str or None
        The checkpoint folder (``encoder``, ``checkpoint``).
    shapes : tuple of (int, int)
        ``synthetic``: the distinct weight shapes ``(N, K)`` scored.
    """

    kind: str
    name: str
    path: str | None = None
    shapes: tuple[tuple[int, int], ...] = ()

    @property
    def metric(self) -> str:
        """What the ``quality`` figure is on this source: ``"embedding_cosine"`` or
        ``"1 - output_error"``."""
        return "embedding_cosine" if self.kind == "encoder" else "1 - output_error"

    @property
    def description(self) -> str:
        """One line saying what the quality figure was measured on."""
        if self.kind == "encoder":
            return f"checkpoint {self.name}: sentence-embedding cosine vs float32"
        if self.kind == "checkpoint":
            return f"checkpoint {self.name} weights, synthetic activations"
        return (
            f"synthetic weights with LLM statistics (no checkpoint for {self.name}), "
            "synthetic activations"
        )

    @functools.cached_property
    def fingerprint(self) -> str:
        """A digest identifying the data the source scores on (for the cache; computed once).

        Returns
        -------
        str
            Hex digest.
        """
        h = hashlib.sha256(f"{self.kind}|{self.shapes}".encode())
        if self.path is not None:
            for f in sorted(Path(self.path).glob("*.safetensors*")) + [
                Path(self.path) / "config.json"
            ]:
                if f.is_file():
                    st = f.stat()
                    h.update(f"{f.name}|{st.st_size}|".encode())
                    with open(f, "rb") as fh:  # the header names every tensor and offset
                        h.update(fh.read(1 << 16))
        if self.kind == "encoder":
            from .encoder import load_sentences  # deferred: the encoder only for this source

            h.update("\n".join(load_sentences()).encode())
        return h.hexdigest()[:24]


def _checkpoint_dir(spec: str) -> Path | None:
    from .packaged import packaged_checkpoint  # deferred: only a name lookup

    found = packaged_checkpoint(str(spec))
    if found is not None:
        return found
    p = Path(str(spec))
    folder = p.parent if p.name == "config.json" else p
    if folder.is_dir() and (
        any(folder.glob("*.safetensors")) or (folder / "model.safetensors.index.json").is_file()
    ):
        return folder
    return None


def quality_source(spec: str, layers=None) -> QualitySource:
    """The quality source for a workload spec.

    Parameters
    ----------
    spec : str
        The workload spec: a packaged checkpoint name, a checkpoint folder (or its
        ``config.json``), or anything else (a preset or a workload file).
    layers : pandas.DataFrame, optional
        The workload's GEMM table (``N``, ``K``, ``kind``); needed for a synthetic source.

    Returns
    -------
    QualitySource
        ``encoder`` for a BERT checkpoint with a ``vocab.txt``, ``checkpoint`` for another
        checkpoint folder, ``synthetic`` otherwise.
    """
    folder = _checkpoint_dir(spec)
    if folder is not None:
        config = json.loads((folder / "config.json").read_text())
        runnable = config.get("model_type") == "bert" and (folder / "vocab.txt").is_file()
        from .packaged import canonical_name  # deferred: only a name lookup

        name = canonical_name(str(spec)) or config.get("_name_or_path") or folder.name
        return QualitySource(
            kind="encoder" if runnable else "checkpoint", name=str(name), path=str(folder)
        )
    shapes: tuple[tuple[int, int], ...] = ()
    if layers is not None:
        w = layers[layers["kind"] == "act x weight"]
        shapes = tuple(sorted({(int(n), int(k)) for n, k in zip(w["N"], w["K"])}))
    if not shapes:
        raise InputError(
            "the workload has no weight GEMMs to score a number format on", field="workload.spec"
        )
    return QualitySource(kind="synthetic", name=str(spec), shapes=shapes)


@dataclass(frozen=True)
class QualityResult:
    """A format's quality on a source.

    Parameters
    ----------
    quality : float
        The whole-model figure (higher is better; 1 is the float model).
    metric : str
        What ``quality`` is: ``"embedding_cosine"`` or ``"1 - output_error"``.
    weight_error, output_error : float
        Mean per-layer relative weight and output errors.
    bits_per_weight : float
        Mean storage bits per weight (scales included).
    layers : tuple of dict
        Per layer: ``name``, ``weight_error``, ``output_error``, ``bits_per_weight``.
    source : str
        :attr:`QualitySource.description`.
    """

    quality: float
    metric: str
    weight_error: float
    output_error: float
    bits_per_weight: float
    layers: tuple[Mapping[str, Any], ...]
    source: str


def _rows(n: int) -> np.ndarray:
    return np.unique(np.linspace(0, n - 1, min(n, MAX_ROWS)).round().astype(np.int64))


def _synthetic_layers(source: QualitySource) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    from .synthetic import synthetic_weights  # deferred: only this source needs it

    for n, k in source.shapes:
        seed = zlib.crc32(f"{n}x{k}".encode())
        w = synthetic_weights((min(n, MAX_ROWS), k), seed=seed)
        yield f"{n}x{k}", w, synthetic_activations(k)


def _checkpoint_layers(source: QualitySource) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    # deferred: checkpoint reading only for this source
    from .configs import load_model_config, weight_manifest
    from .safetensors_io import open_checkpoint

    assert source.path is not None
    config = load_model_config(source.path)
    ckpt = open_checkpoint(source.path)
    specs = [s for s in weight_manifest(config, include_head=False) if 0 <= s.layer]
    layer_ids = sorted({s.layer for s in specs})
    pick = {
        layer_ids[int(i)]
        for i in np.linspace(0, len(layer_ids) - 1, min(len(layer_ids), CHECKPOINT_LAYERS))
    }
    for s in specs:
        if s.layer not in pick:
            continue
        tensor = next((c for c in s.candidates if c in ckpt), None)
        if tensor is None:
            continue
        w = ckpt.read(tensor, transpose=s.transposed)[_rows(s.shape[0])]
        yield f"{tensor}", w, synthetic_activations(s.shape[1])


def _encoder_quality(source: QualitySource, fmt: NumberFormat) -> QualityResult:
    from .encoder import (  # deferred: the NumPy encoder only for this source
        CALIBRATION,
        EVALUATION,
        BertEncoder,
        embed_sentences,
        load_sentences,
    )
    from .wordpiece import WordPieceTokenizer  # deferred: with the encoder

    assert source.path is not None
    folder = Path(source.path)
    encoder = BertEncoder.from_dir(folder)
    tokenizer = WordPieceTokenizer.from_vocab(folder / "vocab.txt")
    sentences = load_sentences()
    captured: dict[str, np.ndarray] = {}
    embed_sentences(encoder, tokenizer, sentences[CALIBRATION], capture=captured)
    quantized = {name: quantize_weights(encoder.weight(name), fmt) for name in encoder.linear_names}
    layers = tuple(
        {"name": name, **layer_errors(encoder.weight(name), captured[name], fmt, quantized[name])}
        for name in encoder.linear_names
    )

    def linear(name, x, w, b):
        return quantize_activations(x, fmt.act) @ quantized[name].dequantized.T + b

    ref = embed_sentences(encoder, tokenizer, sentences[EVALUATION])
    got = embed_sentences(encoder, tokenizer, sentences[EVALUATION], linear=linear)
    cos = np.sum(ref * got, axis=1) / (
        np.linalg.norm(ref, axis=1) * np.maximum(np.linalg.norm(got, axis=1), 1e-30)
    )
    return _result(float(np.mean(cos)), source.metric, layers, source)


def _result(quality, metric, layers, source: QualitySource) -> QualityResult:
    return QualityResult(
        quality=quality,
        metric=metric,
        weight_error=float(np.mean([r["weight_error"] for r in layers])),
        output_error=float(np.mean([r["output_error"] for r in layers])),
        bits_per_weight=float(np.mean([r["bits_per_weight"] for r in layers])),
        layers=layers,
        source=source.description,
    )


def _compute(source: QualitySource, fmt: NumberFormat) -> QualityResult:
    if source.kind == "encoder":
        return _encoder_quality(source, fmt)
    it = _synthetic_layers(source) if source.kind == "synthetic" else _checkpoint_layers(source)
    layers = tuple({"name": name, **layer_errors(w, x, fmt)} for name, w, x in it)
    if not layers:
        raise InputError(
            "no linear-layer weight of the config was found in the checkpoint",
            field="workload.spec",
        )
    return _result(
        1.0 - float(np.mean([r["output_error"] for r in layers])),
        source.metric,
        layers,
        source,
    )


def format_quality(
    source: QualitySource, fmt: NumberFormat, *, cache: bool = True
) -> QualityResult:
    """Score ``fmt`` on ``source``, reading or filling the cache.

    Parameters
    ----------
    source : QualitySource
        Where to measure (:func:`quality_source`).
    fmt : NumberFormat
        The number formats.
    cache : bool
        Read and write ``$SHIFTADD_CACHE/quality``.

    Returns
    -------
    QualityResult
        The figures.
    """
    key = hashlib.sha256(
        json.dumps(
            [_CACHE_VERSION, source.fingerprint, fmt.to_dict()], sort_keys=True, default=str
        ).encode()
    ).hexdigest()[:32]
    path = cache_root() / "quality" / f"{key}.json"
    if cache and path.is_file():
        try:
            data = json.loads(path.read_text())
            data["layers"] = tuple(data["layers"])
            return QualityResult(**data)
        except (ValueError, TypeError, KeyError):
            pass  # a damaged cache entry is recomputed and rewritten
    result = _compute(source, fmt)
    if cache:
        try:
            write_json(path, dataclasses.asdict(result))
        except OSError:
            pass  # an unwritable cache costs time, not correctness
    return result
