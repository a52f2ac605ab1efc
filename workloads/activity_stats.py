"""Switching statistics of real data: what an engine's nets see when it runs a real layer.

Every energy figure used to assume uniformly random data at one toggle activity (0.5). Real
weights and activations are bell-shaped with outlier channels, so their codes have many
small values, few high bits set and, in low-bit formats, many zeros; the nets an operand
drives switch less (or, for sign-magnitude-like patterns around zero, more) than random
data. This module measures that, vectorized, from real tensors:

:func:`bus_toggle_rate`
    the fraction of the bits of a stream of codes that flip between consecutive cycles (each
    row one cycle, each column one lane of a bus); uniformly random codes give 0.5.
:func:`zero_fraction`, :func:`digit_density`, :func:`digit_codes`
    zero operands, and the nonzero radix-4 Booth or EN-T digits a bit-weight or
    digit-sparse engine processes (:mod:`.digits`).
:func:`weight_codes`, :func:`act_codes`
    float tensors rounded to the integer codes an engine's ports carry, in a
    :class:`~.formats.NumberFormat` (the same quantizers as the quality figures).
:func:`checkpoint_operands`, :func:`synthetic_operands`
    a real weight tile and the activations that layer sees on the calibration sentences
    (a BERT checkpoint such as the packaged all-MiniLM-L6-v2), or seeded synthetic ones of
    stated statistics when there is no model.
:func:`gemm_operands`
    the same for every distinct GEMM of a workload (a sweep's ``activity = "data"``): each
    GEMM's own weights in every model layer it stands for, and the activations entering it.

:class:`DataActivity` holds the figures a cost model prices: per-operand toggles and, per
kind of datapath net (lane terms, sums, digit selects), an *equivalent activity*: 0.5 times
the net's toggle rate on the data over its rate on uniformly random codes, so the calibrated
unit energies (measured on random data at 0.5) scale linearly with it.
:meth:`DataActivity.uniform` is the single-number model every figure used before.
How a family lays the tensors out in the order its engine streams them, and which nets each
operand drives, is the family's (``data_activity`` in ``models/<family>/cost.py``).
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from .digits import booth_encode, ent_encode
from .formats import ACT_FORMAT_PATTERN, NumberFormat

__all__ = [
    "DataActivity",
    "DRIVERS",
    "bus_toggle_rate",
    "zero_fraction",
    "digit_codes",
    "digit_density",
    "weight_codes",
    "act_codes",
    "equivalent_activity",
    "checkpoint_operands",
    "synthetic_operands",
    "workload_operands",
    "GemmOperands",
    "gemm_operands",
    "OPERAND_KINDS",
    "ATTENTION_GEMMS",
    "attention_operands",
    "joined_attention",
    "RANDOM_ACTIVITY",
]

#: Toggle rate of a bus carrying uniformly random codes: what the unit table was calibrated at.
RANDOM_ACTIVITY = 0.5

#: What a cost item's data energy can be driven by (``Item.driver``): the activation bus and
#: registers, the weight bus and registers, the lanes' terms (products, XNORs, conditional
#: complements), the reduction and accumulation nets (tree adders, accumulators, results),
#: the digit selects of a bit-weight or digit-sparse engine, and ``data`` (anything else that
#: streams with the data: control that advances with the vectors) which follows the
#: activations.
DRIVERS = ("data", "act", "weight", "term", "sum", "digit")


@dataclasses.dataclass(frozen=True)
class DataActivity:
    """Switching of an engine's nets on some data, per operand and per kind of net.

    Toggle rates are flips per bit per cycle (uniformly random codes: 0.5); ``term``,
    ``sum`` and ``digit`` are equivalent activities (0.5 x rate on the data / rate on random
    codes; see the module docstring).

    Parameters
    ----------
    act_toggle : float
        Activation bus: fraction of bits flipping between consecutive streamed vectors.
    weight_toggle : float
        Weight bus: fraction of bits flipping between consecutive transfers (a held weight
        tile does not switch while the activations stream; this is its load stream).
    act_zero, weight_zero : float
        Fraction of zero activation and weight codes (values).
    term : float
        Equivalent activity of the lanes' terms (products, XNORs, complements).
    sum : float
        Equivalent activity of the adder trees, accumulators and results.
    digit : float
        Equivalent activity of the digit selects (bit-weight / digit-sparse engines; the
        activation-driven rate elsewhere).
    digit_density : float or None
        Nonzero digits per digit of the digit-encoded operand (None: not digit-encoded).
    source : str
        What the figures were measured on.
    vector_cycles : float or None
        Cycles one activation vector occupies an engine whose cycles follow the data (the
        digit-sparse adder tree: the mean over the data's vectors), None for an engine
        whose cycles do not depend on the data.
    """

    act_toggle: float
    weight_toggle: float
    act_zero: float = 0.0
    weight_zero: float = 0.0
    term: float = RANDOM_ACTIVITY
    sum: float = RANDOM_ACTIVITY
    digit: float = RANDOM_ACTIVITY
    digit_density: float | None = None
    source: str = ""
    vector_cycles: float | None = None

    def __post_init__(self):
        for name in ("act_toggle", "weight_toggle", "term", "sum", "digit"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and 0.0 <= v <= 1.0):
                raise InputError(f"must be a number in [0, 1], got {v!r}", field=name)
        for name in ("act_zero", "weight_zero"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise InputError(f"must be a fraction in [0, 1], got {v!r}", field=name)
        v = self.vector_cycles
        if v is not None and not (math.isfinite(v) and v >= 1.0):
            raise InputError(f"must be a number >= 1, got {v!r}", field="vector_cycles")

    @classmethod
    def uniform(cls, activity: float = RANDOM_ACTIVITY) -> DataActivity:
        """Every net toggling at ``activity``: the single-number model (random data at 0.5).

        Parameters
        ----------
        activity : float
            Toggles per bit per cycle, in [0, 1].

        Returns
        -------
        DataActivity
            All rates equal to ``activity``, no zeros, no digit statistics.
        """
        a = float(activity)
        return cls(a, a, term=a, sum=a, digit=a, source=f"uniform activity {a:g}")

    @classmethod
    def mean(cls, items, source: str = "") -> DataActivity:
        """The field-wise mean of several measurements (e.g. one GEMM in every model layer).

        Energy is linear in every rate, so the energy of ``len(items)`` equal-sized runs
        priced at the mean equals the sum of the runs priced one by one.

        Parameters
        ----------
        items : sequence of DataActivity
            At least one measurement.
        source : str
            Description of the data (default: the first item's).

        Returns
        -------
        DataActivity
            Mean rates and zero fractions; ``digit_density`` and ``vector_cycles`` are the
            mean where every item has one, else None (equal-sized runs: the mean vector
            cycles of all their vectors).
        """
        items = list(items)
        if not items:
            raise ValueError("DataActivity.mean needs at least one measurement")
        if len(items) == 1:
            one = items[0]
            return dataclasses.replace(one, source=source) if source else one
        fields = ("act_toggle", "weight_toggle", "act_zero", "weight_zero", "term", "sum", "digit")
        means = {f: float(np.mean([getattr(a, f) for a in items])) for f in fields}

        def mean_or_none(field: str) -> float | None:
            values = [getattr(a, field) for a in items]
            return None if any(v is None for v in values) else float(np.mean(values))

        return cls(
            **means,
            digit_density=mean_or_none("digit_density"),
            vector_cycles=mean_or_none("vector_cycles"),
            source=source or items[0].source,
        )

    def rate(self, driver: str) -> float:
        """The activity of the nets ``driver`` names (one of :data:`DRIVERS`).

        Parameters
        ----------
        driver : str
            ``data``, ``act``, ``weight``, ``term``, ``sum`` or ``digit``.

        Returns
        -------
        float
            Toggles per bit per cycle (equivalent activity for term, sum and digit).
        """
        if driver in ("data", "act"):
            return self.act_toggle
        if driver == "weight":
            return self.weight_toggle
        if driver in ("term", "sum", "digit"):
            return float(getattr(self, driver))
        raise ValueError(f"unknown driver {driver!r}; one of {DRIVERS}")

    def to_dict(self) -> dict:
        """The fields as a plain mapping.

        Returns
        -------
        dict
            Field name -> value.
        """
        return dataclasses.asdict(self)


def _masked(codes: np.ndarray, bits: int) -> np.ndarray:
    # Two's complement bit patterns of width ``bits``, as the bus carries them.
    mask = np.uint64((1 << bits) - 1) if bits < 64 else np.uint64(-1)
    return np.asarray(codes, dtype=np.int64).astype(np.uint64) & mask


def bus_toggle_rate(stream, bits: int, *, axis: int = 0) -> float:
    """Fraction of bus bits that flip between consecutive cycles.

    Parameters
    ----------
    stream : array_like of int
        Codes, one cycle per index along ``axis`` (every other axis is a lane of the bus);
        negative codes are taken in two's complement.
    bits : int
        Width of each lane, in bits.
    axis : int
        The cycle axis.

    Returns
    -------
    float
        Flips / (bits x lanes x (cycles - 1)); 0 for fewer than two cycles. Uniformly random
        codes give 0.5.
    """
    s = np.moveaxis(np.asarray(stream), axis, 0)
    if s.shape[0] < 2 or s[0].size == 0:
        return 0.0
    if bits < 1:
        raise ValueError(f"bits must be >= 1, got {bits}")
    m = _masked(s, bits)
    flips = np.bitwise_count(m[1:] ^ m[:-1]).sum(dtype=np.int64)
    return float(flips) / (bits * m[1:].size)


def zero_fraction(codes) -> float:
    """Fraction of zero values in ``codes`` (0 for an empty array).

    Parameters
    ----------
    codes : array_like
        Operand values.

    Returns
    -------
    float
        Zeros / elements.
    """
    c = np.asarray(codes)
    return float(np.count_nonzero(c == 0)) / c.size if c.size else 0.0


def digit_codes(codes, bits: int, signed: bool, encoding: str) -> np.ndarray:
    """Radix-4 digits of every code, last axis the digit position (least significant first).

    Parameters
    ----------
    codes : array_like of int
        Operand codes in range for ``bits`` and ``signed``.
    bits : int
        Operand width.
    signed : bool
        Two's complement (True) or unsigned codes.
    encoding : {"booth", "ent"}
        Radix-4 Booth digits {-2..2}, or EN-T digits {-1, 0, 1, 2} (the sign applied).

    Returns
    -------
    numpy.ndarray
        int8 digits, shape ``codes.shape + (digits,)``.
    """
    if encoding == "booth":
        return booth_encode(codes, bits=bits, signed=signed)
    if encoding == "ent":
        negative, digits = ent_encode(codes, bits=bits, signed=signed)
        return np.where(negative[..., None], -digits, digits).astype(np.int8)
    raise InputError(
        f"unknown digit encoding {encoding!r}", field="encoding", allowed=["booth", "ent"]
    )


def digit_density(codes, bits: int, signed: bool, encoding: str) -> float:
    """Nonzero digits per digit position (:func:`digit_codes`).

    Parameters
    ----------
    codes : array_like of int
        Operand codes.
    bits : int
        Operand width.
    signed : bool
        Two's complement or unsigned.
    encoding : {"booth", "ent"}
        The digit set.

    Returns
    -------
    float
        Fraction of nonzero digits (0 for no codes).
    """
    d = digit_codes(codes, bits, signed, encoding)
    return float(np.count_nonzero(d)) / d.size if d.size else 0.0


def equivalent_activity(rate_data: float, rate_random: float) -> float:
    """0.5 x ``rate_data`` / ``rate_random``, clipped to [0, 1]: the activity at which the
    calibrated (random-data) energy of a net gives its energy on the data.

    Parameters
    ----------
    rate_data, rate_random : float
        The net's toggle rate on the data and on uniformly random codes.

    Returns
    -------
    float
        The equivalent activity (0.5 when the random rate is 0: nothing to scale by).
    """
    if rate_random <= 0:
        return RANDOM_ACTIVITY
    return float(min(1.0, max(0.0, RANDOM_ACTIVITY * rate_data / rate_random)))


def weight_codes(w, fmt: NumberFormat) -> np.ndarray:
    """The integer codes an engine's weight ports carry for float weights ``w`` in ``fmt``.

    Parameters
    ----------
    w : array_like
        Float weights ``(out_features, in_features)``.
    fmt : NumberFormat
        The design's formats (:attr:`Design.number_format`); its weight format must be
        ``sign``, ``ternary``, ``int<k>`` or ``int<k>_asym`` (one code per weight).

    Returns
    -------
    numpy.ndarray
        int64 codes, same shape: ``sign`` as bits (1 = +1, 0 = -1), ``ternary`` -1/0/+1,
        ``int<k>`` signed codes, ``int<k>_asym`` unsigned codes (zero point included).
    """
    from .quality import quantize_weights  # deferred: the quantizers only when data is given

    w = np.asarray(w, dtype=np.float32)
    if w.ndim != 2:
        raise InputError(f"weights must be a matrix, got shape {w.shape}", field="weights")
    qt = quantize_weights(w, fmt)
    if fmt.weight == "sign":
        return (np.asarray(qt.payload["signs"]) > 0).astype(np.int64)
    if "codes" not in qt.payload:
        raise InputError(
            f"weight format {fmt.weight!r} has no one-code-per-weight form",
            field="weight_format",
            allowed="sign, ternary, int<k>, int<k>_asym",
        )
    return np.asarray(qt.payload["codes"], dtype=np.int64)[: w.shape[0], : w.shape[1]]


def act_codes(x, act: str) -> np.ndarray:
    """The integer codes an engine's activation ports carry for float activations ``x``,
    rounded per token (row) as :func:`~.quality.quantize_activations` rounds them.

    Parameters
    ----------
    x : array_like
        Float activations ``(tokens, features)``.
    act : str
        Activation format: ``sign`` (bits, 1 = +1), ``int<k>`` (signed codes) or ``uint<k>``
        (unsigned codes with a per-token zero point).

    Returns
    -------
    numpy.ndarray
        int64 codes, same shape.
    """
    m = ACT_FORMAT_PATTERN.match(act)
    if not m or act == "fp":
        raise InputError(
            f"activation format {act!r} has no integer code",
            field="act_format",
            allowed="sign, int<k>, uint<k>",
        )
    x = np.asarray(x, dtype=np.float32)
    if act == "sign":
        return (x >= 0).astype(np.int64)
    bits = int(m["bits"])
    if act.startswith("u"):
        lo = x.min(axis=-1, keepdims=True)
        hi = x.max(axis=-1, keepdims=True)
        scale = np.where(hi > lo, (hi - lo) / (2**bits - 1), 1.0)
        return np.clip(np.rint((x - lo) / scale), 0, 2**bits - 1).astype(np.int64)
    qmax = 2 ** (bits - 1) - 1
    amax = np.abs(x).max(axis=-1, keepdims=True)
    scale = np.where(amax > 0, amax / qmax, 1.0)
    return np.clip(np.rint(x / scale), -qmax, qmax).astype(np.int64)


def checkpoint_operands(
    checkpoint: str = "all-minilm-l6-v2",
    layer: str | None = None,
    *,
    rows: int | None = None,
    cols: int | None = None,
    tokens: int | None = None,
) -> tuple[np.ndarray, np.ndarray, str]:
    """A real weight matrix and the activations it sees on the calibration sentences.

    Parameters
    ----------
    checkpoint : str
        A packaged checkpoint name or a BERT checkpoint folder (config.json,
        model.safetensors, vocab.txt).
    layer : str, optional
        One of the encoder's linear weight names
        (``encoder.layer.<i>.<attention.self.query|...|output.dense>.weight``); default the
        first one (in forward order) with at least ``rows`` outputs and ``cols`` inputs.
    rows, cols : int, optional
        Keep the first ``rows`` output and ``cols`` input features (default all).
    tokens : int, optional
        Keep the first ``tokens`` activation rows (default all calibration tokens).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray, str)
        Float32 weights ``(rows, cols)``, activations ``(tokens, cols)`` (the layer's input
        rows, sentence after sentence, in token order) and a description of the source.
    """
    # deferred: the encoder and tokenizer only when real activations are asked for
    from .encoder import CALIBRATION, BertEncoder, embed_sentences, load_sentences
    from .packaged import canonical_name, packaged_checkpoint
    from .wordpiece import WordPieceTokenizer

    folder = packaged_checkpoint(checkpoint) or Path(checkpoint)
    if not (folder / "config.json").is_file() or not (folder / "vocab.txt").is_file():
        raise InputError(
            f"{checkpoint!r} is neither a packaged checkpoint nor a BERT checkpoint folder",
            field="checkpoint",
            allowed="all-minilm-l6-v2, or a folder with config.json, model.safetensors, vocab.txt",
        )
    encoder = BertEncoder.from_dir(folder)
    if layer is None:
        fits = [
            name
            for name in encoder.linear_names
            if encoder.weight(name).shape[0] >= (rows or 0)
            and encoder.weight(name).shape[1] >= (cols or 0)
        ]
        if not fits:
            raise InputError(
                f"no linear layer of the checkpoint has {rows} outputs and {cols} inputs",
                field="checkpoint",
            )
        layer = fits[0]
    if layer not in encoder.linear_names:
        raise InputError(
            f"no linear layer {layer!r} in the checkpoint",
            field="layer",
            allowed=list(encoder.linear_names[:6]) + ["..."],
        )
    tokenizer = WordPieceTokenizer.from_vocab(folder / "vocab.txt")
    captured: dict[str, np.ndarray] = {}
    embed_sentences(encoder, tokenizer, load_sentences()[CALIBRATION], capture=captured)
    w = np.asarray(encoder.weight(layer), dtype=np.float32)[:rows, :cols]
    x = np.asarray(captured[layer], dtype=np.float32)[:tokens, :cols]
    if w.shape[0] < (rows or 0) or w.shape[1] < (cols or 0) or x.shape[0] < (tokens or 0):
        raise InputError(
            f"layer {layer} gives {w.shape[0]} x {w.shape[1]} weights and {x.shape[0]} tokens, "
            f"fewer than the {rows} x {cols} and {tokens} asked for",
            field="layer",
        )
    name = canonical_name(checkpoint) or folder.name
    return w, x, f"{name} {layer} on the calibration sentences"


def synthetic_operands(
    n: int, k: int, *, tokens: int = 256, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, str]:
    """Seeded weights and activations of stated statistics, for when no model is given.

    Weights: :func:`~.synthetic.synthetic_weights` (Student-t body, std 0.02, log-normal row
    scales, rare outlier columns). Activations: :func:`~.quality.synthetic_activations`
    (standard normal tokens, 1% of channels scaled by 20).

    Parameters
    ----------
    n, k : int
        Weight shape ``(n, k)``.
    tokens : int
        Activation rows.
    seed : int
        Same seed, same tensors.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray, str)
        Weights ``(n, k)``, activations ``(tokens, k)``, a description.
    """
    from .quality import synthetic_activations  # deferred: with the quantizers
    from .synthetic import synthetic_weights

    w = synthetic_weights((n, k), seed=seed)
    x = synthetic_activations(k, tokens=tokens, seed=seed)
    return (
        w,
        x,
        "synthetic: Student-t weights (std 0.02, row spread, outlier columns), normal "
        "activations with 1% outlier channels x20",
    )


def workload_operands(
    spec: str, *, rows: int = 256, cols: int = 1024, tokens: int = 256, layers=None
) -> tuple[np.ndarray, np.ndarray, str]:
    """Operands to measure an engine's switching on for a workload spec, as the quality
    figures choose their data (:func:`~.quality.quality_source`).

    A BERT checkpoint with a forward pass (the packaged all-MiniLM-L6-v2): a real layer and
    its activations on the calibration sentences (:func:`checkpoint_operands`). Another
    checkpoint: its first linear weight with at least ``cols`` inputs (the first otherwise),
    on synthetic activations. No checkpoint (a preset): :func:`synthetic_operands` of the
    workload's first weight GEMM shape (``layers``; ``rows x cols`` without it).

    Parameters
    ----------
    spec : str
        The workload spec: packaged checkpoint name, checkpoint folder, or a preset.
    rows, cols, tokens : int
        At most this many weight rows, input features and activation rows.
    layers : pandas.DataFrame, optional
        The workload's GEMM table (``N``, ``K``, ``kind``), for a synthetic source.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray, str)
        Float32 weights, activations, and a description of the data.
    """
    from .quality import quality_source, synthetic_activations  # deferred: with the quantizers

    try:
        source = quality_source(spec, layers)
    except InputError:
        if layers is not None:
            raise
        w, x, what = synthetic_operands(rows, cols, tokens=tokens)
        return w, x, what
    if source.kind == "encoder":
        assert source.path is not None
        w, x, what = checkpoint_operands(source.path, tokens=tokens)
        name = source.name
        return w[:rows, :cols], x[:, :cols], what.replace(Path(source.path).name, name, 1)
    if source.kind == "checkpoint":
        # deferred: checkpoint reading only for this source
        from .configs import load_model_config, weight_manifest
        from .safetensors_io import open_checkpoint

        assert source.path is not None
        ckpt = open_checkpoint(source.path)
        specs = [
            s
            for s in weight_manifest(load_model_config(source.path), include_head=False)
            if any(c in ckpt for c in s.candidates)
        ]
        if not specs:
            raise InputError(
                "no linear-layer weight of the config was found in the checkpoint",
                field="workload.spec",
            )
        pick = next((s for s in specs if s.shape[1] >= cols), specs[0])
        tensor = next(c for c in pick.candidates if c in ckpt)
        w = ckpt.read(tensor, transpose=pick.transposed)[:rows, :cols]
        x = synthetic_activations(w.shape[1], tokens=tokens)
        return (
            np.asarray(w, dtype=np.float32),
            x,
            f"checkpoint {source.name} {tensor}, synthetic activations (normal, 1% outlier "
            "channels x20)",
        )
    n, k = source.shapes[0]
    return synthetic_operands(min(n, rows), min(k, cols), tokens=tokens)


#: What the operands of a workload's GEMM are (:attr:`GemmOperands.kind`).
OPERAND_KINDS = {
    "checkpoint": "the checkpoint's own weights of the layer and the activations entering it "
    "on the calibration sentences (float32 forward pass)",
    "checkpoint-attention": "the checkpoint's own per-head queries and keys (scores "
    "Q K^T) or softmax probabilities and values (P V) of the layer on the calibration "
    "sentences joined into one text and run as one sequence of the GEMM's key length "
    "(float32 forward pass, attention over the whole sequence)",
    "checkpoint-weights": "the checkpoint's own weights of the layer on synthetic activations "
    "(standard normal tokens, 1% of channels x20)",
    "synthetic": "synthetic tensors: weights Student-t (std 0.02, log-normal row scales, "
    "outlier columns), activations standard normal with 1% of channels x20; an act x act "
    "GEMM has synthetic activations on both operands",
}
# Least real last: a GEMM whose samples mix kinds is labelled by the least real one.
_KIND_ORDER = ("checkpoint", "checkpoint-attention", "checkpoint-weights", "synthetic")
#: The act x act GEMMs of a workload table whose operands an encoder's forward pass gives.
ATTENTION_GEMMS = ("attn_score", "attn_value")
#: Model layers of one distinct GEMM measured at most (evenly spaced over its layers).
MAX_GEMM_LAYERS = 6


@dataclasses.dataclass(frozen=True, eq=False)
class GemmOperands:
    """The float operands one distinct GEMM of a workload runs on, per model layer.

    Parameters
    ----------
    name : str
        The GEMM's name in the workload table (``q_proj``, ``fc1``, ``attn_score``...).
    kind : str
        One of :data:`OPERAND_KINDS`.
    description : str
        What the operands are, in words (checkpoint, tensors, layers, tokens).
    samples : tuple of (numpy.ndarray, numpy.ndarray)
        ``(weights (N', K'), activations (M', K'))`` per model layer sampled; ``N' <= N``,
        ``K' <= K`` (leading rows and columns, so tiles stay contiguous).
    """

    name: str
    kind: str
    description: str
    samples: tuple


def _spread(ids, most: int) -> list:
    ids = sorted(ids)
    pick = np.unique(np.linspace(0, len(ids) - 1, min(len(ids), most)).round().astype(int))
    return [ids[i] for i in pick]


def _synthetic_gemm(name, n, k, kind, rows, cols, tokens) -> tuple:
    import zlib  # deferred: only for seeds

    from .quality import synthetic_activations  # deferred: with the quantizers
    from .synthetic import synthetic_weights

    seed = zlib.crc32(f"{name}:{n}x{k}".encode())
    nn, kk = min(n, rows), min(k, cols)
    x = synthetic_activations(kk, tokens=tokens, seed=seed)
    if kind == "act x act":
        # The second operand is activations too (keys, values): same statistics, own seed.
        return synthetic_activations(kk, tokens=nn, seed=seed + 1), x
    return synthetic_weights((nn, kk), seed=seed), x


def joined_attention(encoder, tokenizer, sentences, length: int) -> dict[str, list]:
    """Per-head attention of ``sentences`` joined into one text, run as one sequence.

    The text is truncated to ``length`` tokens (and the encoder's ``max_seq_length``),
    special tokens included, so every probability row spreads over exactly the keys an
    attention GEMM of that length multiplies: real attention over a long context, without
    the zeros a block-diagonal packing of short sentences would put in P.

    Parameters
    ----------
    encoder : BertEncoder
        The encoder (:class:`~.encoder.BertEncoder`).
    tokenizer : WordPieceTokenizer
        The tokenizer of its vocabulary.
    sentences : sequence of str
        The sentences, joined with spaces in order.
    length : int
        Tokens of the sequence at most (at least 2: the special tokens).

    Returns
    -------
    dict
        Attention module name to a one-element list of :class:`~.encoder.AttentionHeads`,
        as :meth:`~.encoder.BertEncoder.embed` captures it (what :func:`attention_operands`
        takes).
    """
    if isinstance(length, bool) or not isinstance(length, int) or length < 2:
        raise InputError(f"length must be an integer of at least 2, got {length!r}", field="length")
    ids, mask = tokenizer.encode_batch(
        [" ".join(sentences)], max_length=min(length, encoder.max_seq_length)
    )
    attention: dict[str, list] = {}
    encoder.embed(ids, mask, attention=attention)
    return attention


def attention_operands(sentences, gemm: str, *, head: int, length: int) -> tuple:
    """One head's operands of an attention GEMM on real sentences packed into one sequence.

    Whole sentences are taken in order while they fit ``length`` tokens (at least one; a
    first sentence longer than ``length`` keeps its first ``length`` tokens and its
    probabilities over those keys). Attention stays within each sentence (block-diagonal
    mask), as a packed batch runs: the scores GEMM computes every query against every key
    of the sequence, the values GEMM multiplies probabilities that are zero between
    sentences.

    Parameters
    ----------
    sentences : sequence of AttentionHeads
        One encoder layer's captured attention, one entry per sentence in order
        (:class:`~.encoder.AttentionHeads`).
    gemm : {"attn_score", "attn_value"}
        ``attn_score``: ``Q K^T``; ``attn_value``: ``P V``.
    head : int
        The head.
    length : int
        Tokens of the packed sequence at most (the GEMM's key length).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        ``(weights (N', K'), activations (M', K'))`` as a weight GEMM takes them:
        ``attn_score``: keys ``(T, d)`` and queries ``(T, d)``; ``attn_value``: values
        transposed ``(d, T)`` and probabilities ``(T, T)``; ``T`` the packed tokens.
    """
    if gemm not in ATTENTION_GEMMS:
        raise InputError(
            f"{gemm!r} is not an attention GEMM", field="gemm", allowed=ATTENTION_GEMMS
        )
    if length < 1 or not sentences:
        raise InputError("no tokens to pack", field="length", allowed="at least 1 token")
    heads = sentences[0].q.shape[0]
    if not 0 <= head < heads:
        raise InputError(f"no head {head}", field="head", allowed=f"0 to {heads - 1}")
    lengths = np.array([a.q.shape[1] for a in sentences])
    fits = int(np.searchsorted(np.cumsum(lengths), length, side="right"))
    parts = [(a, a.q.shape[1]) for a in sentences[: max(fits, 1)]]
    if fits == 0:
        parts = [(parts[0][0], length)]  # one sentence longer than the sequence: truncated
    total = sum(n for _, n in parts)
    q = np.concatenate([a.q[head, :n] for a, n in parts])
    k = np.concatenate([a.k[head, :n] for a, n in parts])
    if gemm == "attn_score":
        return k, q
    v = np.concatenate([a.v[head, :n] for a, n in parts])
    p = np.zeros((total, total), np.float32)
    at = 0
    for a, n in parts:
        p[at : at + n, at : at + n] = a.p[head, :n, :n]
        at += n
    return np.ascontiguousarray(v.T), p


def gemm_operands(
    spec: str,
    gemms,
    *,
    rows: int = 1024,
    cols: int = 2048,
    tokens: int = 256,
    max_layers: int = MAX_GEMM_LAYERS,
) -> tuple[GemmOperands, ...]:
    """The operands each distinct GEMM of workload ``spec`` runs on, from the data it has.

    Per weight GEMM, by the workload's source (as the quality figures choose it,
    :func:`~.quality.quality_source`): a BERT checkpoint with a forward pass (the packaged
    all-MiniLM-L6-v2): the layer's own weights in each model layer the GEMM stands for and
    the activations entering that layer on the calibration sentences (one float32 forward
    pass); another checkpoint (or a BERT tensor the encoder does not run, such as a head):
    the layer's own weights on synthetic activations; a preset, or a tensor the checkpoint
    lacks: synthetic tensors of stated statistics (seeded by the GEMM's name and shape). An
    act x act GEMM (attention scores ``attn_score`` and values ``attn_value``) of a BERT
    checkpoint with a forward pass runs on the layer's own per-head queries and keys, or
    softmax probabilities and values, on the calibration sentences joined into one text
    and run as one sequence of the GEMM's key length, at most ``tokens``
    (:func:`joined_attention`; one sample per sampled layer and head); elsewhere it has
    synthetic activations on both operands. (Packing the separate sentences with
    block-diagonal attention instead would make P zero between sentences, an artificial
    sparsity: ``bench/attention_packing.py`` measures it.)

    Parameters
    ----------
    spec : str
        The workload spec (packaged checkpoint name, checkpoint folder or preset).
    gemms : sequence of (str, int, int, str, tuple of int)
        ``(name, N, K, kind, model layers)`` per distinct GEMM; ``model layers`` are the
        ``layer`` ids of the rows it groups (empty when the table has none).
    rows, cols, tokens : int
        At most this many weight rows, input features and activation rows per sample.
    max_layers : int
        Model layers sampled per GEMM at most (evenly spaced).

    Returns
    -------
    tuple of GemmOperands
        One per entry of ``gemms``, in order.
    """
    from .quality import quality_source, synthetic_activations  # deferred: with quantizers

    weight_rows = [(n, k) for _, n, k, kind, _ in gemms if kind == "act x weight"]
    import pandas as pd  # deferred: only to hand quality_source its table

    table = pd.DataFrame(
        {"N": [n for n, _ in weight_rows], "K": [k for _, k in weight_rows]}
    ).assign(kind="act x weight")
    source: Any = None
    try:
        source = quality_source(spec, table)
    except InputError:
        pass  # no weight GEMMs: every GEMM synthetic
    kind_of_source = None if source is None else source.kind
    encoder: Any = None
    captured: dict[str, np.ndarray] | None = None
    attention: dict[int, dict[str, list]] = {}  # per sequence length
    ckpt: Any = None
    manifest: dict | None = None
    if kind_of_source in ("encoder", "checkpoint"):
        # deferred: checkpoint reading only for these sources
        from .configs import load_model_config, weight_manifest
        from .safetensors_io import open_checkpoint

        assert source is not None and source.path is not None
        manifest = {(s.name, s.layer): s for s in weight_manifest(load_model_config(source.path))}
        ckpt = open_checkpoint(source.path)
    if kind_of_source == "encoder":
        # deferred: the encoder and tokenizer only when real activations are asked for
        from .encoder import CALIBRATION, BertEncoder, embed_sentences, load_sentences
        from .wordpiece import WordPieceTokenizer

        assert source is not None and source.path is not None
        encoder = BertEncoder.from_dir(source.path)
        tokenizer = WordPieceTokenizer.from_vocab(Path(source.path) / "vocab.txt")
        captured = {}
        sentences = load_sentences()[CALIBRATION]
        embed_sentences(encoder, tokenizer, sentences, capture=captured)
    out = []
    for name, n, k, kind, layer_ids in gemms:
        samples, kinds, tensors = [], [], []
        if kind == "act x weight" and manifest is not None and ckpt is not None:
            for layer in _spread(layer_ids, max_layers):
                ws = manifest.get((name, layer))
                found = None if ws is None else next((c for c in ws.candidates if c in ckpt), None)
                if ws is None or found is None:
                    continue
                if encoder is not None and captured is not None and found in captured:
                    w = np.asarray(encoder.weight(found), np.float32)[:rows, :cols]
                    x = np.asarray(captured[found], np.float32)[:tokens, :cols]
                    kinds.append("checkpoint")
                else:
                    w = ckpt.read(
                        found, rows=slice(0, rows), cols=slice(0, cols), transpose=ws.transposed
                    )
                    x = synthetic_activations(w.shape[1], tokens=tokens)
                    kinds.append("checkpoint-weights")
                samples.append((w, x))
                tensors.append(found)
        if kind == "act x act" and name in ATTENTION_GEMMS and encoder is not None:
            # Real per-head Q, K, V and P of each sampled layer; every head is its own GEMM.
            length = min(n if name == "attn_score" else k, tokens, rows, cols)
            if length not in attention:
                attention[length] = joined_attention(encoder, tokenizer, sentences, length)
            for layer in _spread(layer_ids, max_layers):
                key = f"{encoder.prefix}encoder.layer.{layer}.attention.self"
                heads = attention[length].get(key)
                if not heads:
                    continue
                for h in range(encoder.num_heads):
                    samples.append(attention_operands(heads, name, head=h, length=length))
                    kinds.append("checkpoint-attention")
                tensors.append(f"encoder.layer.{layer}.attention")
        if not samples:
            samples = [_synthetic_gemm(name, n, k, kind, rows, cols, tokens)]
            kinds = ["synthetic"]
        label = max(kinds, key=_KIND_ORDER.index)
        w0, x0 = samples[0]
        shape = f"{w0.shape[0]} x {w0.shape[1]} weights, {x0.shape[0]} activation rows"
        if label == "synthetic":
            what = f"{name}: synthetic ({shape})"
        elif label == "checkpoint-attention":
            assert source is not None and encoder is not None
            first = tensors[0] if len(tensors) == 1 else f"{tensors[0]} .. {tensors[-1]}"
            what = (
                f"{name}: {source.name} {first} ({len(tensors)} layer"
                f"{'s' if len(tensors) > 1 else ''} x {encoder.num_heads} heads; {shape}), "
                "calibration sentences joined into one sequence (full attention)"
            )
        else:
            assert source is not None
            first = tensors[0] if len(tensors) == 1 else f"{tensors[0]} .. {tensors[-1]}"
            acts = "calibration activations" if label == "checkpoint" else "synthetic activations"
            layers = f"{len(samples)} layer{'s' if len(samples) > 1 else ''}"
            what = f"{name}: {source.name} {first} ({layers}; {shape}), {acts}"
        out.append(GemmOperands(name, label, what, tuple(samples)))
    return tuple(out)
