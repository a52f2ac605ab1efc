"""LLM workloads: layer shapes, weight streaming, quantizers and bit statistics.

- :func:`load_model_config`, :func:`gemm_table`, :func:`resolve_workload`,
  :func:`list_presets`: the GEMM list of a model for prefill or decode.
- :func:`open_checkpoint`: safetensors checkpoints read one tensor or tile at a time.
- :func:`synthetic_weights`, :func:`write_checkpoint`: realistic weights when no checkpoint
  is at hand.
- :func:`quantize` and the registered formats (``sign``, ``ternary``, ``int2``..``int8``,
  ``int4_asym``..., ``bcq1``..``bcq4``); :func:`tensor_stats`, :func:`checkpoint_stats`.
- :func:`write_workload`, :func:`read_workload`, :func:`to_scalesim_csv`,
  :func:`read_scalesim_csv`: workload files.
"""

from __future__ import annotations

import importlib

# name -> submodule, imported on first access (PEP 562): the digit encoders the design layer
# uses must not pull pandas and the checkpoint readers in at start-up.
_LAZY = {
    "ModelConfig": "configs",
    "WeightSpec": "configs",
    "config_from_dict": "configs",
    "list_presets": "configs",
    "load_model_config": "configs",
    "weight_manifest": "configs",
    "write_config": "configs",
    "booth_decode": "digits",
    "booth_encode": "digits",
    "code_histogram": "digits",
    "digit_stats": "digits",
    "ent_decode": "digits",
    "ent_encode": "digits",
    "read_scalesim_csv": "interchange",
    "read_workload": "interchange",
    "to_scalesim_csv": "interchange",
    "validate_workload": "interchange",
    "write_workload": "interchange",
    "QuantizedTensor": "quant",
    "available_formats": "quant",
    "check_weights": "quant",
    "quantize": "quant",
    "register_format": "quant",
    "Checkpoint": "safetensors_io",
    "bf16_to_float32": "safetensors_io",
    "float32_to_bf16": "safetensors_io",
    "open_checkpoint": "safetensors_io",
    "gemm_table": "shapes",
    "resolve_workload": "interchange",
    "weight_params": "shapes",
    "LayerStats": "stats",
    "checkpoint_stats": "stats",
    "iter_checkpoint_stats": "stats",
    "key_codes": "stats",
    "summarize": "stats",
    "tensor_stats": "stats",
    "synthetic_weights": "synthetic",
    "write_checkpoint": "synthetic",
    "write_safetensors": "synthetic",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    try:
        module = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'shiftadd.workloads' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
