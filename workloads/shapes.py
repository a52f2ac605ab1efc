"""The GEMM list of a transformer for one inference phase.

Convention: a GEMM computes ``Y[M, N] = X[M, K] @ W[N, K].T`` and is repeated ``count``
times. For a weight GEMM ``M`` is the number of tokens (``batch * seq`` in prefill,
``batch`` in decode) and ``W`` is the layer's ``(out_features, in_features)`` weight. The
attention products are activation x activation GEMMs per key/value head: the
``queries_per_kv`` query heads of a group share one key/value head, so they are stacked
along ``M`` (``M = queries_per_kv * query_len``) and the GEMM repeats
``batch * num_kv_heads`` times.
"""

from __future__ import annotations

import os

import pandas as pd

from ..errors import InputError
from .configs import ModelConfig, list_presets, load_model_config, weight_manifest

__all__ = [
    "COLUMNS",
    "KINDS",
    "PHASES",
    "LAYER_BLOCKS",
    "gemm_table",
    "weight_params",
    "list_presets",
    "load_model_config",
    "default_seq",
    "DEFAULT_CONTEXT",
    "default_context",
]

COLUMNS = [
    "name",
    "layer",
    "M",
    "N",
    "K",
    "count",
    "kind",
    "phase",
    "weight_shape",
    "block",
    "macs",
]
KINDS = ("act x weight", "act x act")
PHASES = ("prefill", "decode")

LAYER_BLOCKS = {
    "q_proj": "attention",
    "k_proj": "attention",
    "v_proj": "attention",
    "qkv_proj": "attention",
    "o_proj": "attention",
    "attn_score": "attention",
    "attn_value": "attention",
    "gate_proj": "mlp",
    "up_proj": "mlp",
    "down_proj": "mlp",
    "gate_up_proj": "mlp",
    "fc1": "mlp",
    "fc2": "mlp",
    "router": "moe",
    "expert_gate_proj": "moe",
    "expert_up_proj": "moe",
    "expert_down_proj": "moe",
    "project_in": "embedding",
    "project_out": "head",
    "mlm_transform": "head",
    "lm_head": "head",
}
_DEFAULT_SEQ = 2048


def default_seq(config: ModelConfig) -> int:
    """Default prefill length / decode context: 2048 capped at the trained context length.

    Parameters
    ----------
    config : ModelConfig
        The model; its ``max_position_embeddings`` caps the length when stated.

    Returns
    -------
    int
        The default length in tokens.
    """
    return min(_DEFAULT_SEQ, config.max_position_embeddings or _DEFAULT_SEQ)


#: Tokens in the key/value cache when decoding, unless a context (or a prompt length) is
#: given: the one default of ``gemm_table``, ``shiftadd workload show`` and sweep specs.
DEFAULT_CONTEXT = 4096


def default_context(config: ModelConfig) -> int:
    """Default decode context: :data:`DEFAULT_CONTEXT` capped at the trained context length.

    Parameters
    ----------
    config : ModelConfig
        The model; its ``max_position_embeddings`` caps the length when stated.

    Returns
    -------
    int
        The default context in tokens.
    """
    return min(DEFAULT_CONTEXT, config.max_position_embeddings or DEFAULT_CONTEXT)


def _positive(value, flag: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"must be a positive integer, got {value!r}", field=flag)
    return value


def gemm_table(
    config: ModelConfig | str | os.PathLike,
    phase: str = "prefill",
    batch: int = 1,
    seq: int | None = None,
    context: int | None = None,
    *,
    head_tokens: str | None = None,
) -> pd.DataFrame:
    """The GEMMs of one forward pass, one row per GEMM and layer, in execution order.

    Parameters
    ----------
    config : ModelConfig, str or path
        The model, or anything :func:`load_model_config` accepts.
    phase : {"prefill", "decode"}
        Prefill processes ``batch`` prompts of ``seq`` tokens; decode produces one token for
        each of ``batch`` sequences whose key/value cache holds ``context`` tokens
        (the new one included).
    batch : int
        Sequences processed together.
    seq : int, optional
        Prompt length for prefill; default 2048 capped at ``max_position_embeddings``.
    context : int, optional
        Decode context length; default ``seq`` when given, else :func:`default_context`
        (4096 capped at ``max_position_embeddings``).
    head_tokens : {"last", "all"}, optional
        Prefill tokens the output head runs on: ``"last"`` (what generation needs; default
        for decoders) or ``"all"`` (default for encoders).

    Returns
    -------
    pandas.DataFrame
        Columns ``name, layer, M, N, K, count, kind, phase, weight_shape, block, macs``.
        ``layer`` is -1 before the first decoder layer and ``num_layers`` after the last;
        ``weight_shape`` is ``(N, K)`` for weight GEMMs and None for activation x activation
        GEMMs; ``macs = M * N * K * count``.

    Notes
    -----
    Attention is counted dense over the key length (``min(length, sliding_window)``): no
    saving for the causal mask. MoE routing is assumed balanced: the ``batch*tokens*top_k``
    token-expert assignments spread evenly over ``min(num_experts, assignments)`` active
    experts (two rows when they do not divide evenly), so decode at batch 1 of Mixtral
    reads 2 experts, not 8.
    """
    config = load_model_config(config)
    if phase not in PHASES:
        raise InputError(f"unknown phase {phase!r}", field="phase", allowed=PHASES)
    if config.encoder and phase == "decode":
        raise InputError(
            f"{config.name} is an encoder: it has no decode phase",
            field="phase",
            allowed=["prefill"],
        )
    batch = _positive(batch, "batch")
    if context is None:
        context = default_context(config) if seq is None else seq
    seq = _positive(default_seq(config) if seq is None else seq, "seq")
    context = _positive(context, "context")
    if head_tokens is None:
        head_tokens = "all" if config.encoder else "last"
    if head_tokens not in ("last", "all"):
        raise InputError(
            f"unknown head_tokens {head_tokens!r}", field="head_tokens", allowed=["last", "all"]
        )

    if phase == "prefill":
        tokens, q_len, kv_len = batch * seq, seq, seq
    else:
        tokens, q_len, kv_len = batch, 1, context
    if config.sliding_window is not None:
        kv_len = min(kv_len, config.sliding_window)
    head_m = batch if (phase == "decode" or head_tokens == "last") else tokens

    rows: list[tuple] = []

    def weight_row(name, layer, m, shape, count=1):
        n, k = shape
        rows.append((name, layer, m, n, k, count, "act x weight", tuple(shape)))

    g = config.queries_per_kv
    for spec in weight_manifest(config):
        if spec.name == "o_proj":  # attention products sit between q/k/v and o_proj
            reps = batch * config.num_kv_heads
            rows.append(
                (
                    "attn_score",
                    spec.layer,
                    g * q_len,
                    kv_len,
                    config.head_dim,
                    reps,
                    "act x act",
                    None,
                )
            )
            rows.append(
                (
                    "attn_value",
                    spec.layer,
                    g * q_len,
                    config.head_dim,
                    kv_len,
                    reps,
                    "act x act",
                    None,
                )
            )
        if spec.expert > 0:
            continue  # experts of a layer are one aggregated row (or two), made at expert 0
        if spec.expert == 0:
            assignments = tokens * config.experts_per_token
            active = min(config.num_experts, assignments)
            per, extra = divmod(assignments, active)
            if extra:
                weight_row(spec.name, spec.layer, per + 1, spec.shape, extra)
            if active > extra:
                weight_row(spec.name, spec.layer, per, spec.shape, active - extra)
            continue
        m = head_m if LAYER_BLOCKS[spec.name] == "head" else tokens
        weight_row(spec.name, spec.layer, m, spec.shape)

    df = pd.DataFrame(
        rows, columns=["name", "layer", "M", "N", "K", "count", "kind", "weight_shape"]
    )
    for col in ("layer", "M", "N", "K", "count"):
        df[col] = df[col].astype("int64")
    df.insert(7, "phase", phase)
    df["block"] = df["name"].map(LAYER_BLOCKS)
    df["macs"] = df["M"] * df["N"] * df["K"] * df["count"]
    df.attrs.update(
        model=config.name,
        phase=phase,
        batch=batch,
        seq=seq if phase == "prefill" else None,
        context=context if phase == "decode" else None,
    )
    return df[COLUMNS]


def weight_params(table: pd.DataFrame) -> int:
    """Weights the GEMM list reads: sum of ``N * K * count`` over weight GEMMs.

    For dense models this is the parameter count of the linear layers (embeddings and norms
    excluded, a tied head counted once, as a GEMM); for MoE it counts active experts only.

    Parameters
    ----------
    table : pandas.DataFrame
        A GEMM table (:func:`gemm_table`).

    Returns
    -------
    int
        Number of weights read.
    """
    w = table[table["kind"] == "act x weight"]
    return int((w["N"] * w["K"] * w["count"]).sum())
