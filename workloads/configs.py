"""Model hyper-parameters read from a Hugging Face ``config.json`` or a built-in preset.

:func:`load_model_config` turns the family-specific keys of a ``config.json``
(``hidden_size``/``n_embd``, ``intermediate_size``/``ffn_dim``/``n_inner``...) into one
:class:`ModelConfig`; :func:`weight_manifest` lists the linear-layer weight tensors that
config implies, with the names they carry in a Hugging Face checkpoint.

Presets live as ``config.json``-style files in ``workloads/data/models/``; a preset is named
by its file stem (``llama-2-7b``) or by its Hugging Face id (``meta-llama/Llama-2-7b-hf``).
"""

from __future__ import annotations

import builtins
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, overload

from .._io import read_input_bytes, write_json
from ..errors import InputError, brief
from .packaged import packaged_checkpoint

__all__ = [
    "MAX_MODEL_DIM",
    "MAX_LAYERS",
    "MAX_BATCH",
    "MAX_TOKENS",
    "MAX_GEMM_MACS",
    "check_gemm_sizes",
    "ModelConfig",
    "WeightSpec",
    "FAMILIES",
    "load_model_config",
    "config_from_dict",
    "list_presets",
    "weight_manifest",
    "write_config",
]

# model_type -> canonical family. Families sharing a row layout share a canonical name only
# when their checkpoints also share tensor names.
FAMILIES: dict[str, str] = {
    "llama": "llama",
    "mistral": "mistral",
    "qwen2": "qwen2",
    "qwen3": "qwen3",
    "gemma": "gemma",
    "gemma2": "gemma2",
    "mixtral": "mixtral",
    "opt": "opt",
    "gpt2": "gpt2",
    "phi": "phi",
    "phi3": "phi3",
    "bert": "bert",
}
# Families built like Llama: separate q/k/v/o projections and a gated MLP.
_LLAMA_LIKE = {"llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2", "mixtral"}
# Fallback when a config.json lacks model_type but names its architecture.
_ARCH_PREFIX = {
    "Llama": "llama",
    "Mistral": "mistral",
    "Mixtral": "mixtral",
    "Qwen2": "qwen2",
    "Qwen3": "qwen3",
    "Gemma2": "gemma2",
    "Gemma": "gemma",
    "OPT": "opt",
    "GPT2": "gpt2",
    "Phi3": "phi3",
    "Phi": "phi",
    "Bert": "bert",
}

_PRESET_DIR = "data/models"

#: Upper bounds of a model config's sizes: 64 times the largest in use (hidden 16,384,
#: vocabulary 256,000), so a config cannot describe GEMMs whose MAC counts overflow the
#: int64 and float64 arithmetic of the cycle and energy models.
MAX_MODEL_DIM = 2**20
#: Most layers (and experts) a config may have.
MAX_LAYERS = 2**12
#: Largest batch and token count (prompt or context length) a workload may ask for.
MAX_BATCH = 2**16
MAX_TOKENS = 2**22
#: Most multiply-accumulates of one GEMM of a workload: float64 counts them exactly below
#: 2**53, and the cycle models' int64 arithmetic stays far from overflow.
MAX_GEMM_MACS = 2**53
#: Largest position count or attention window a config may state (they bound lengths only).
_MAX_POSITIONS = 2**31

_UPPER = {
    "hidden_size": MAX_MODEL_DIM,
    "intermediate_size": MAX_MODEL_DIM,
    "num_layers": MAX_LAYERS,
    "num_heads": MAX_MODEL_DIM,
    "num_kv_heads": MAX_MODEL_DIM,
    "head_dim": MAX_MODEL_DIM,
    "vocab_size": MAX_MODEL_DIM,
    "word_embed_proj_dim": MAX_MODEL_DIM,
    "num_experts": MAX_LAYERS,
    "max_position_embeddings": _MAX_POSITIONS,
    "sliding_window": _MAX_POSITIONS,
}


def check_gemm_sizes(m, n, k, *, field: str = "workload", source: str | None = None) -> None:
    """Raise :class:`InputError` when a GEMM of ``M x N x K`` (arrays allowed) has more than
    :data:`MAX_GEMM_MACS` multiply-accumulates.

    Parameters
    ----------
    m, n, k : int or array_like of int
        GEMM dimensions.
    field : str
        The input the shapes came from (named in the error).
    source : str, optional
        The file or preset they came from.

    Raises
    ------
    InputError
        A GEMM is too large for exact arithmetic.
    """
    import numpy as np  # deferred: start-up time of `shiftadd model`

    macs = np.asarray(m, float) * np.asarray(n, float) * np.asarray(k, float)
    if macs.size and float(macs.max()) > MAX_GEMM_MACS:
        raise InputError(
            f"a GEMM of {float(macs.max()):.3g} multiply-accumulates is more than the models "
            "count exactly",
            field=field,
            allowed="at most 2^53 (about 9.0e15) per GEMM: a smaller batch, sequence or model",
            source=source,
        )


@dataclass(frozen=True)
class ModelConfig:
    """The shape-relevant hyper-parameters of a transformer.

    Parameters
    ----------
    name : str
        Display name (preset name or the ``config.json``'s ``_name_or_path``).
    family : str
        Canonical family, a value of :data:`FAMILIES`.
    hidden_size, intermediate_size, num_layers, num_heads, num_kv_heads, head_dim, vocab_size : int
        As in Hugging Face; ``intermediate_size`` is per expert for MoE models.
    mlp : str
        ``"gated"`` (gate, up, down) or ``"plain"`` (fc1, fc2).
    num_experts, experts_per_token : int
        MoE routing; 0 for dense models.
    tie_word_embeddings : bool
        The output head reuses the token embedding matrix.
    word_embed_proj_dim : int
        Width of the embeddings (OPT-350M projects 512 <-> 1024); equals ``hidden_size``
        elsewhere.
    max_position_embeddings : int or None
        Trained context length, when the config states it.
    sliding_window : int or None
        Attention window (Mistral-7B-v0.1: 4096); None for full attention.
    encoder : bool
        Bidirectional encoder (BERT): no decode phase.
    source : str or None
        The file the config came from, for error messages.
    """

    name: str
    family: str
    hidden_size: int
    intermediate_size: int
    num_layers: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    vocab_size: int
    mlp: str = "gated"
    num_experts: int = 0
    experts_per_token: int = 0
    tie_word_embeddings: bool = False
    word_embed_proj_dim: int = 0
    max_position_embeddings: int | None = None
    sliding_window: int | None = None
    encoder: bool = False
    source: str | None = field(default=None, compare=False)

    def __post_init__(self):
        if self.family not in FAMILIES.values():
            raise InputError(
                f"unknown model family {self.family!r}",
                field="model_type",
                allowed=sorted(set(FAMILIES)),
                source=self.source,
            )
        for key in (
            "hidden_size",
            "intermediate_size",
            "num_layers",
            "num_heads",
            "num_kv_heads",
            "head_dim",
            "vocab_size",
        ):
            _require_positive(getattr(self, key), key, self.source, _UPPER[key])
        if self.word_embed_proj_dim == 0:
            object.__setattr__(self, "word_embed_proj_dim", self.hidden_size)
        _require_positive(
            self.word_embed_proj_dim, "word_embed_proj_dim", self.source, MAX_MODEL_DIM
        )
        if self.mlp not in ("gated", "plain"):
            raise InputError(
                f"unknown MLP kind {self.mlp!r}",
                field="mlp",
                allowed=["gated", "plain"],
                source=self.source,
            )
        if self.num_heads % self.num_kv_heads:
            raise InputError(
                f"num_attention_heads={self.num_heads} is not a multiple of "
                f"num_key_value_heads={self.num_kv_heads}",
                field="num_key_value_heads",
                source=self.source,
            )
        for key in ("num_experts", "experts_per_token"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value > MAX_LAYERS:
                raise InputError(
                    f"{brief(value)} is not allowed",
                    field=key,
                    allowed=f"an integer from 0 to {MAX_LAYERS}",
                    source=self.source,
                )
        if self.num_experts < 0 or not 0 <= self.experts_per_token <= self.num_experts:
            raise InputError(
                f"experts_per_token={self.experts_per_token} must lie in "
                f"1..num_experts={self.num_experts}",
                field="num_experts_per_tok",
                source=self.source,
            )
        if self.num_experts and self.experts_per_token == 0:
            raise InputError(
                "an MoE model needs experts_per_token >= 1",
                field="num_experts_per_tok",
                source=self.source,
            )
        for key in ("max_position_embeddings", "sliding_window"):
            value = getattr(self, key)
            if value is not None:
                _require_positive(value, key, self.source, _UPPER[key])

    @property
    def q_dim(self) -> int:
        """Width of the query projection output, ``num_heads * head_dim``."""
        return self.num_heads * self.head_dim

    @property
    def kv_dim(self) -> int:
        """Width of the key (and value) projection output, ``num_kv_heads * head_dim``."""
        return self.num_kv_heads * self.head_dim

    @property
    def queries_per_kv(self) -> int:
        """Query heads sharing one key/value head (1 without grouped-query attention)."""
        return self.num_heads // self.num_kv_heads

    @property
    def is_moe(self) -> bool:
        """Whether the model is a mixture of experts (``num_experts > 0``)."""
        return self.num_experts > 0

    def to_hf_dict(self) -> dict[str, Any]:
        """The config as a Hugging Face ``config.json`` dictionary of its family.

        ``load_model_config`` of the result gives back an equal :class:`ModelConfig`.

        Returns
        -------
        dict of str to Any
            The ``config.json`` keys of the family (``n_embd``... for GPT-2, ``ffn_dim``...
            for OPT), with ``_name_or_path`` and ``model_type``.
        """
        d: dict[str, Any] = {"_name_or_path": self.name, "model_type": self.family}
        if self.family == "gpt2":
            d.update(
                n_embd=self.hidden_size,
                n_layer=self.num_layers,
                n_head=self.num_heads,
                n_inner=self.intermediate_size,
                vocab_size=self.vocab_size,
                n_positions=self.max_position_embeddings or 1024,
            )
            return d
        d.update(
            hidden_size=self.hidden_size,
            num_hidden_layers=self.num_layers,
            num_attention_heads=self.num_heads,
            vocab_size=self.vocab_size,
            tie_word_embeddings=self.tie_word_embeddings,
        )
        if self.family == "opt":
            d.update(ffn_dim=self.intermediate_size, word_embed_proj_dim=self.word_embed_proj_dim)
        else:
            d["intermediate_size"] = self.intermediate_size
        if self.family not in ("opt", "bert"):
            d.update(num_key_value_heads=self.num_kv_heads, head_dim=self.head_dim)
        if self.max_position_embeddings is not None:
            d["max_position_embeddings"] = self.max_position_embeddings
        if self.family in _LLAMA_LIKE:
            d["sliding_window"] = self.sliding_window
        if self.is_moe:
            d.update(num_local_experts=self.num_experts, num_experts_per_tok=self.experts_per_token)
        return d

    def replace(self, **changes) -> ModelConfig:
        """A copy with some fields changed (validated again).

        Parameters
        ----------
        **changes
            New values of fields, by field name.

        Returns
        -------
        ModelConfig
            The changed copy.

        Raises
        ------
        InputError
            The changed values are not a valid config.
        """
        values = asdict(self)
        values.update(changes)
        return ModelConfig(**values)


@dataclass(frozen=True)
class WeightSpec:
    """One linear-layer weight tensor a config implies.

    Parameters
    ----------
    name : str
        GEMM name (``"q_proj"``, ``"expert_down_proj"``, ``"lm_head"``...), as in the GEMM table.
    layer : int
        Decoder layer index; -1 before the first layer, ``num_layers`` after the last.
    shape : tuple of int
        Logical ``(out_features, in_features)`` = ``(N, K)``.
    candidates : tuple of str
        Tensor names to look for, preferred first (checkpoints differ in prefixes and in
        whether a tied head is stored).
    transposed : bool
        The checkpoint stores the matrix as ``(in_features, out_features)`` (GPT-2 Conv1D).
    expert : int
        Expert index for MoE expert weights, -1 otherwise.
    """

    name: str
    layer: int
    shape: tuple[int, int]
    candidates: tuple[str, ...]
    transposed: bool = False
    expert: int = -1

    @property
    def tensor(self) -> str:
        """The preferred tensor name."""
        return self.candidates[0]

    @property
    def stored_shape(self) -> tuple[int, int]:
        """Shape as stored in the checkpoint."""
        return self.shape[::-1] if self.transposed else self.shape


def _require_positive(value, key, source, upper: int | None = None):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(
            f"must be a positive integer, got {brief(value)}", field=key, source=source
        )
    if upper is not None and value > upper:
        raise InputError(
            f"{value:,} is too large",
            field=key,
            allowed=f"an integer from 1 to {upper:,}",
            source=source,
        )


class _Reader:
    """Reads keys of one raw config with errors that name the key and the file."""

    _MISSING = object()

    def __init__(self, raw: Mapping[str, Any], source: str | None):
        self.raw = raw
        self.source = source

    @overload
    def int(self, key: str) -> builtins.int: ...

    @overload
    def int(self, key: str, default: builtins.int) -> builtins.int: ...

    @overload
    def int(self, key: str, default: None) -> builtins.int | None: ...

    def int(self, key: str, default: Any = _MISSING) -> builtins.int | None:
        value = self.raw.get(key)
        if value is None:  # absent or JSON null
            if default is self._MISSING:
                raise InputError("missing key", field=key, source=self.source)
            return default
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        _require_positive(value, key, self.source)
        return value

    def bool(self, key: str, default: bool) -> bool:
        value = self.raw.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise InputError(f"must be true or false, got {value!r}", field=key, source=self.source)
        return value


def _family_of(raw: Mapping[str, Any], source: str | None) -> str:
    model_type = raw.get("model_type")
    if model_type is None:
        for arch in raw.get("architectures") or []:
            for prefix, fam in _ARCH_PREFIX.items():
                if isinstance(arch, str) and arch.startswith(prefix):
                    return fam
        raise InputError("missing key", field="model_type", source=source)
    if not isinstance(model_type, str) or model_type not in FAMILIES:
        raise InputError(
            f"unsupported model family {brief(model_type)}",
            field="model_type",
            allowed=sorted(FAMILIES),
            source=source,
        )
    return FAMILIES[model_type]


def config_from_dict(
    raw: Mapping[str, Any], *, name: str | None = None, source: str | None = None
) -> ModelConfig:
    """Build a :class:`ModelConfig` from a ``config.json`` dictionary.

    Parameters
    ----------
    raw : Mapping
        The parsed ``config.json``.
    name : str, optional
        Display name; defaults to ``_name_or_path`` or the family.
    source : str, optional
        Where ``raw`` came from, named in error messages.

    Returns
    -------
    ModelConfig
        The validated hyper-parameters.

    Raises
    ------
    InputError
        Unknown family, a missing or non-positive key; the message names the key and source.
    """
    if not isinstance(raw, Mapping):
        raise InputError("expected a JSON object", source=source)
    family = _family_of(raw, source)
    r = _Reader(raw, source)
    raw_name = raw.get("_name_or_path")
    name = name or (raw_name if isinstance(raw_name, str) else None) or family
    common: dict[str, Any] = {"name": str(name), "family": family, "source": source}

    if family == "gpt2":
        hidden = r.int("n_embd")
        heads = r.int("n_head")
        return ModelConfig(
            **common,
            hidden_size=hidden,
            intermediate_size=r.int("n_inner", 4 * hidden),
            num_layers=r.int("n_layer"),
            num_heads=heads,
            num_kv_heads=heads,
            head_dim=_head_dim(hidden, heads, "n_head", source),
            vocab_size=r.int("vocab_size"),
            mlp="plain",
            tie_word_embeddings=r.bool("tie_word_embeddings", True),
            max_position_embeddings=r.int("n_positions", None),
        )

    hidden = r.int("hidden_size")
    heads = r.int("num_attention_heads")
    layers = r.int("num_hidden_layers")
    vocab = r.int("vocab_size")
    max_pos = r.int("max_position_embeddings", None)
    if family == "opt":
        return ModelConfig(
            **common,
            hidden_size=hidden,
            intermediate_size=r.int("ffn_dim"),
            num_layers=layers,
            num_heads=heads,
            num_kv_heads=heads,
            head_dim=_head_dim(hidden, heads, "num_attention_heads", source),
            vocab_size=vocab,
            mlp="plain",
            tie_word_embeddings=r.bool("tie_word_embeddings", True),
            word_embed_proj_dim=r.int("word_embed_proj_dim", hidden),
            max_position_embeddings=max_pos,
        )
    if family == "bert":
        return ModelConfig(
            **common,
            hidden_size=hidden,
            intermediate_size=r.int("intermediate_size"),
            num_layers=layers,
            num_heads=heads,
            num_kv_heads=heads,
            head_dim=_head_dim(hidden, heads, "num_attention_heads", source),
            vocab_size=vocab,
            mlp="plain",
            tie_word_embeddings=r.bool("tie_word_embeddings", True),
            max_position_embeddings=max_pos,
            encoder=True,
        )

    # Llama-like, phi and phi3: explicit kv heads (optional) and head_dim (optional).
    kv_heads = r.int("num_key_value_heads", heads)
    head_dim = r.int("head_dim", None) or _head_dim(hidden, heads, "num_attention_heads", source)
    window = r.int("sliding_window", None)
    if raw.get("use_sliding_window") is False:  # Qwen2 states a window but disables it
        window = None
    tied_default = family in ("gemma", "gemma2")
    return ModelConfig(
        **common,
        hidden_size=hidden,
        intermediate_size=r.int("intermediate_size"),
        num_layers=layers,
        num_heads=heads,
        num_kv_heads=kv_heads,
        head_dim=head_dim,
        vocab_size=vocab,
        mlp="plain" if family == "phi" else "gated",
        num_experts=r.int("num_local_experts") if family == "mixtral" else 0,
        experts_per_token=r.int("num_experts_per_tok") if family == "mixtral" else 0,
        tie_word_embeddings=r.bool("tie_word_embeddings", tied_default),
        max_position_embeddings=max_pos,
        sliding_window=window if family in _LLAMA_LIKE else None,
    )


def _head_dim(hidden: int, heads: int, heads_key: str, source) -> int:
    if hidden % heads:
        raise InputError(
            f"hidden size {hidden} is not a multiple of {heads} heads and no head_dim is given",
            field=heads_key,
            source=source,
        )
    return hidden // heads


def _preset_files() -> dict[str, Any]:
    folder = resources.files(__package__).joinpath(_PRESET_DIR)
    return {p.name[:-5]: p for p in folder.iterdir() if p.name.endswith(".json")}


def list_presets() -> list[str]:
    """Names of the built-in model presets (``"llama-2-7b"``, ``"opt-125m"``...).

    Returns
    -------
    list of str
        Preset names, sorted.
    """
    return sorted(_preset_files())


def _normalize(name: str) -> str:
    name = name.strip().lower().rsplit("/", 1)[-1]
    for suffix in ("-hf",):
        name = name.removesuffix(suffix)
    return name.removeprefix("meta-")


def _find_preset(name: str):
    files = _preset_files()
    key = _normalize(name)
    if key in files:
        return key, files[key]
    for stem, path in files.items():  # match the Hugging Face id the preset records
        hf_id = json.loads(path.read_text()).get("_name_or_path", "")
        if hf_id and _normalize(hf_id) == key:
            return stem, path
    return None, None


def load_model_config(
    name_or_path: ModelConfig | str | os.PathLike | Mapping[str, Any],
) -> ModelConfig:
    """Load a model's hyper-parameters.

    Parameters
    ----------
    name_or_path : ModelConfig, str, path or Mapping
        A preset name (see :func:`list_presets`; Hugging Face ids such as
        ``"meta-llama/Llama-2-7b-hf"`` also match), a packaged checkpoint's name
        (``"all-minilm-l6-v2"``, see :mod:`~shiftadd.workloads.packaged`), a ``config.json``
        file, a checkpoint folder holding ``config.json``, or an already parsed dictionary; a
        :class:`ModelConfig` is returned as it is.

    Returns
    -------
    ModelConfig
        The validated hyper-parameters.

    Raises
    ------
    InputError
        Unknown preset, unreadable JSON, unknown family or a missing key; the message names
        the key and the file.
    """
    if isinstance(name_or_path, ModelConfig):
        return name_or_path
    if isinstance(name_or_path, Mapping):
        return config_from_dict(name_or_path)
    path = Path(name_or_path)
    packaged = packaged_checkpoint(str(name_or_path))
    if packaged is not None:
        path = packaged
    if path.is_dir():
        path = path / "config.json"
        if not path.is_file():
            raise InputError("folder has no config.json", field="config", source=str(path.parent))
    if path.is_file():
        raw = _read_json(path)
        fallback = path.parent.name if path.name == "config.json" else path.stem
        name = raw.get("_name_or_path") if isinstance(raw, Mapping) else None
        if not isinstance(name, str):
            name = None
        return config_from_dict(raw, source=str(path), name=name or fallback or None)
    stem, preset = _find_preset(str(name_or_path))
    if preset is None:
        raise InputError(
            f"no preset or config.json named {str(name_or_path)!r}",
            field="model",
            allowed=list_presets(),
        )
    return config_from_dict(json.loads(preset.read_text()), name=stem, source=f"preset {stem}")


def _read_json(path: Path) -> Any:
    data = read_input_bytes(path, "config")
    try:
        return json.loads(data.decode())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"invalid JSON: {exc}", source=str(path)) from None
    except RecursionError:
        raise InputError("invalid JSON: nested too deep", source=str(path)) from None


def write_config(path: str | os.PathLike, config: ModelConfig | Mapping[str, Any]) -> Path:
    """Write ``config`` as a Hugging Face ``config.json`` (atomically); return the path.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write.
    config : ModelConfig or Mapping
        The config; a mapping is written as it is.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    data = config.to_hf_dict() if isinstance(config, ModelConfig) else dict(config)
    return write_json(path, data)


def _alternatives(name: str, prefixes: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(p + name for p in prefixes)


def weight_manifest(config: ModelConfig, *, include_head: bool = True) -> list[WeightSpec]:
    """The linear-layer weight tensors ``config`` implies, in execution order.

    Parameters
    ----------
    config : ModelConfig
        The model's hyper-parameters.
    include_head : bool
        Include the output head (and OPT's embedding projections).

    Returns
    -------
    list of WeightSpec
        One entry per tensor (MoE: one per expert), with Hugging Face tensor names.
    """
    c = config
    h, f = c.hidden_size, c.intermediate_size
    specs: list[WeightSpec] = []
    pre: tuple[str, ...]  # tensor name prefixes, preferred first
    p: Sequence[str]  # the prefixes of one layer
    embed: tuple[str, ...]  # names of the token embedding matrix

    def add(name, layer, shape, names, transposed=False, expert=-1):
        specs.append(WeightSpec(name, layer, tuple(shape), tuple(names), transposed, expert))

    if c.family in _LLAMA_LIKE or c.family in ("phi", "phi3"):
        pre = ("model.layers.{i}.",)
        for i in range(c.num_layers):
            p = [s.format(i=i) for s in pre]
            if c.family == "phi3":
                add(
                    "qkv_proj",
                    i,
                    (c.q_dim + 2 * c.kv_dim, h),
                    [x + "self_attn.qkv_proj.weight" for x in p],
                )
            else:
                for proj, n_out in (
                    ("q_proj", c.q_dim),
                    ("k_proj", c.kv_dim),
                    ("v_proj", c.kv_dim),
                ):
                    add(proj, i, (n_out, h), [x + f"self_attn.{proj}.weight" for x in p])
            o_name = "dense" if c.family == "phi" else "o_proj"
            add("o_proj", i, (h, c.q_dim), [x + f"self_attn.{o_name}.weight" for x in p])
            if c.is_moe:
                add(
                    "router", i, (c.num_experts, h), [x + "block_sparse_moe.gate.weight" for x in p]
                )
                for e in range(c.num_experts):
                    ex = [x + f"block_sparse_moe.experts.{e}." for x in p]
                    add("expert_gate_proj", i, (f, h), [x + "w1.weight" for x in ex], expert=e)
                    add("expert_up_proj", i, (f, h), [x + "w3.weight" for x in ex], expert=e)
                    add("expert_down_proj", i, (h, f), [x + "w2.weight" for x in ex], expert=e)
            elif c.family == "phi":
                add("fc1", i, (f, h), [x + "mlp.fc1.weight" for x in p])
                add("fc2", i, (h, f), [x + "mlp.fc2.weight" for x in p])
            elif c.family == "phi3":
                add("gate_up_proj", i, (2 * f, h), [x + "mlp.gate_up_proj.weight" for x in p])
                add("down_proj", i, (h, f), [x + "mlp.down_proj.weight" for x in p])
            else:
                add("gate_proj", i, (f, h), [x + "mlp.gate_proj.weight" for x in p])
                add("up_proj", i, (f, h), [x + "mlp.up_proj.weight" for x in p])
                add("down_proj", i, (h, f), [x + "mlp.down_proj.weight" for x in p])
        embed = ("model.embed_tokens.weight",)
        head_in = h
    elif c.family == "opt":
        # Checkpoints saved from OPTModel lack the "model." prefix.
        pre = ("model.decoder.", "decoder.")
        for i in range(c.num_layers):
            p = _alternatives(f"layers.{i}.", pre)
            for proj in ("q_proj", "k_proj", "v_proj"):
                add(proj, i, (h, h), [x + f"self_attn.{proj}.weight" for x in p])
            add("o_proj", i, (h, h), [x + "self_attn.out_proj.weight" for x in p])
            add("fc1", i, (f, h), [x + "fc1.weight" for x in p])
            add("fc2", i, (h, f), [x + "fc2.weight" for x in p])
        embed = _alternatives("embed_tokens.weight", pre)
        head_in = c.word_embed_proj_dim
        if include_head and c.word_embed_proj_dim != h:
            d = c.word_embed_proj_dim
            specs.insert(
                0, WeightSpec("project_in", -1, (h, d), _alternatives("project_in.weight", pre))
            )
            add("project_out", c.num_layers, (d, h), _alternatives("project_out.weight", pre))
    elif c.family == "gpt2":
        pre = ("h.{i}.", "transformer.h.{i}.")
        for i in range(c.num_layers):
            p = [s.format(i=i) for s in pre]
            # GPT-2's Conv1D stores (in_features, out_features).
            add("qkv_proj", i, (3 * h, h), [x + "attn.c_attn.weight" for x in p], True)
            add("o_proj", i, (h, h), [x + "attn.c_proj.weight" for x in p], True)
            add("fc1", i, (f, h), [x + "mlp.c_fc.weight" for x in p], True)
            add("fc2", i, (h, f), [x + "mlp.c_proj.weight" for x in p], True)
        embed = ("wte.weight", "transformer.wte.weight")
        head_in = h
    elif c.family == "bert":
        pre = ("bert.encoder.layer.{i}.", "encoder.layer.{i}.")
        for i in range(c.num_layers):
            p = [s.format(i=i) for s in pre]
            for proj, key in (("q_proj", "query"), ("k_proj", "key"), ("v_proj", "value")):
                add(proj, i, (h, h), [x + f"attention.self.{key}.weight" for x in p])
            add("o_proj", i, (h, h), [x + "attention.output.dense.weight" for x in p])
            add("fc1", i, (f, h), [x + "intermediate.dense.weight" for x in p])
            add("fc2", i, (h, f), [x + "output.dense.weight" for x in p])
        if include_head:
            add("mlm_transform", c.num_layers, (h, h), ["cls.predictions.transform.dense.weight"])
        embed = ("bert.embeddings.word_embeddings.weight", "embeddings.word_embeddings.weight")
        head_in = h
    else:  # pragma: no cover - FAMILIES and this function are kept in step
        raise InputError(f"no weight layout for family {c.family!r}", field="model_type")

    if include_head:
        own = ("cls.predictions.decoder.weight",) if c.family == "bert" else ("lm_head.weight",)
        names = embed + own if c.tie_word_embeddings else own
        add("lm_head", c.num_layers, (c.vocab_size, head_in), names)
    return specs
