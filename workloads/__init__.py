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

from .configs import (ModelConfig, WeightSpec, config_from_dict, list_presets,
                      load_model_config, weight_manifest, write_config)
from .digits import (booth_decode, booth_encode, code_histogram, digit_stats, ent_decode,
                     ent_encode)
from .interchange import (read_scalesim_csv, read_workload, to_scalesim_csv,
                          validate_workload, write_workload)
from .quant import QuantizedTensor, available_formats, check_weights, quantize, register_format
from .safetensors_io import Checkpoint, bf16_to_float32, float32_to_bf16, open_checkpoint
from .shapes import gemm_table, resolve_workload, weight_params
from .stats import (LayerStats, checkpoint_stats, iter_checkpoint_stats, key_codes, summarize,
                    tensor_stats)
from .synthetic import synthetic_weights, write_checkpoint, write_safetensors

__all__ = [
    "ModelConfig", "WeightSpec", "config_from_dict", "list_presets", "load_model_config",
    "weight_manifest", "write_config", "gemm_table", "resolve_workload", "weight_params",
    "booth_encode", "booth_decode", "ent_encode", "ent_decode", "code_histogram",
    "digit_stats", "read_scalesim_csv", "read_workload", "to_scalesim_csv",
    "validate_workload", "write_workload", "QuantizedTensor", "available_formats",
    "check_weights", "quantize", "register_format", "Checkpoint", "bf16_to_float32",
    "float32_to_bf16", "open_checkpoint", "LayerStats", "checkpoint_stats",
    "iter_checkpoint_stats", "key_codes", "summarize", "tensor_stats", "synthetic_weights",
    "write_checkpoint", "write_safetensors",
]
