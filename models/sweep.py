"""Design-space sweeps: a declarative spec, evaluated in vectorized chunks, resumable,
locally or on a Dask cluster.

Spec (TOML or YAML)::

    name = "binary-vs-int8"

    [workload]
    spec = "llama-2-7b"       # preset, config.json, or workload file
    phase = "decode"          # prefill | decode
    batch = 1
    context = 4096            # decode: tokens in the KV cache; prefill: use seq
    include_act_act = true    # attention score/value GEMMs too
    include_head = true       # the output head (LM head; BERT's MLM head)

    [[engines]]
    arch = "adder_tree"
    mode = ["xnor", "addsub", "mac"]
    k = {start = 64, stop = 256, factor = 2}     # 64, 128, 256
    n = [4, 16]
    pipeline_stages = 2
    clock_ns = [5.0, 10.0]                       # system parameters may be swept too:
    act_buffer_kib = [32, 128]                   # act/weight/out_buffer_kib, dram_gbps,
    dram_gbps = 25.6                             # activity, units (unit table name)

Every value is a scalar, a list, or a range ``{start, stop, step}`` / ``{start, stop,
factor}`` (stop included). ``activity`` is a toggle rate in [0, 1] or ``"data"`` (both may be
listed): each GEMM of the workload priced on the switching measured on the data it runs
(:data:`ACTIVITY_DATA`). Design fields (the family's dataclass fields) are *structural*:
each combination is one design, validated before any work. System fields scale the
evaluation and are broadcast in NumPy. Points are the product of both; a spec whose
product exceeds ``[options] max_points`` (default :data:`MAX_POINTS`, 10^7) is refused at
parse time with its count, before any design is built.

Data activity (``activity = "data"``): per distinct GEMM and design, the switching of the
design's nets is measured on that GEMM's operands (:func:`~shiftadd.models.data_activity.
gemm_activity`): for a BERT checkpoint the layer's own weights in every model layer it stands
for and the activations entering it on the calibration sentences; for another checkpoint
its weights on synthetic activations; for a preset, synthetic tensors of stated statistics;
act x act GEMMs on the BERT checkpoint's own per-head Q, K, V and softmax probabilities,
elsewhere on synthetic activations (:func:`~shiftadd.workloads.activity_stats.
gemm_operands`). It is measured once per (design, GEMM), before the chunks run, not per
point. A family without a data-activity model (shift-add, threshold) is priced at 0.5 on
such points. The ``activity_source`` column of both tables says, per row, where the activity
came from (:data:`ACTIVITY_SOURCES`); ``sweep.json`` holds each GEMM's data description. A
design whose cycles follow its data (a digit-sparse tree) streams each GEMM of a data point
at the vector cycles measured on that GEMM's data; ``cycles_source`` in ``points.parquet``
says ``data`` there, ``model`` elsewhere.

Results: ``points.parquet`` (one row per design point: whole-model figures) and
``layers.parquet`` (one row per design point and distinct GEMM of the model; layers with the
same shape are evaluated once and carry their count). Each chunk of points is written
atomically under ``chunks/`` as soon as it is computed, so an interrupted sweep, run again,
skips finished chunks; the final files are written atomically at the end.

Faults (:func:`run_sweep`): local workers die with the sweep, even on SIGKILL, and ignore
Ctrl-C, which cancels the sweep (:mod:`shiftadd.models.workers`); a lock file in the output
folder serializes two sweeps into it (the second waits, then resumes from the first's
chunks); an unreachable Dask scheduler fails within seconds, before anything is written.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import itertools
import json
import math
import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from tqdm import tqdm

from .._io import atomic_path, check_output_path, read_input_bytes, write_json
from ..design import read_design_file
from ..design.base import Design
from ..errors import InputError, brief
from ..families import arches, family
from ..workloads.activity_stats import OPERAND_KINDS, RANDOM_ACTIVITY
from ..workloads.configs import MAX_BATCH, MAX_TOKENS, check_gemm_sizes
from ..workloads.interchange import resolve_workload
from ..workloads.quality import NumberFormat, QualitySource, format_quality, quality_source
from .cost import CostTerms, cost_terms, gemm_energy_pj, output_drains
from .data_activity import gemm_activity, has_data_model, workload_gemm_operands
from .memory import DRAM_PJ_PER_BIT, DRAM_SOURCE, buffer_for, load_sram_macros
from .perf import design_vector, kernel_for
from .timing import critical_path_ns
from .units import available_tables
from .workers import worker_pool

__all__ = [
    "SweepSpec",
    "load_sweep_spec",
    "parse_sweep_spec",
    "run_sweep",
    "check_scheduler",
    "SCHEDULER_TIMEOUT_S",
    "evaluate_chunk",
    "SYSTEM_DEFAULTS",
    "MAX_POINTS",
    "check_sweep_folder",
    "point_design",
    "timing_summary",
    "quality_summary",
    "TIMING_MODES",
    "QUALITY_MODES",
    "ACTIVITY_DATA",
    "ACTIVITY_SOURCES",
    "activity_summary",
    "activity_meta",
]

SYSTEM_DEFAULTS = {
    "clock_ns": None,  # None: the design's own clock_ns
    "act_buffer_kib": 64.0,
    "weight_buffer_kib": 64.0,
    "out_buffer_kib": 32.0,
    "dram_gbps": 25.6,  # one DDR4-3200 channel
    "activity": 0.5,
    "units": "ihp-sg13g2",
}
_WORKLOAD_KEYS = {"spec", "phase", "batch", "seq", "context", "include_act_act", "include_head"}
_TOP_KEYS = {"name", "workload", "engines", "options"}
#: Default of ``options.max_points``: a spec expanding to more design points is refused at
#: parse time, with the count, before any design is built.
MAX_POINTS = 10**7
#: Most ``[[engines]]`` tables in one spec (each is parsed and checked on the workload).
MAX_ENGINES = 1000
_OPTION_KEYS = {
    "max_points",
    "skip_invalid",
    "chunk_size",
    "dram_pj_per_bit",
    "sram",
    "timing",
    "quality",
    "quality_floor",
}
#: ``options.quality``: score every point's number formats on the workload's model, or not.
QUALITY_MODES = ("auto", "off")
#: The ``activity`` value that prices each GEMM on the switching of its own data.
ACTIVITY_DATA = "data"
#: Values of the ``activity_source`` column of ``layers.parquet``: the spec's number, data
#: of each operand kind (:data:`~shiftadd.workloads.activity_stats.OPERAND_KINDS`), or 0.5 for
#: a family without a data-activity model on an ``activity = "data"`` point. A point's
#: ``activity_source`` is ``number``, ``no-data-model-0.5``, or ``data:`` and its GEMMs'
#: kinds joined by ``+`` (e.g. ``data:checkpoint+checkpoint-attention``).
ACTIVITY_SOURCES = (
    "number",
    *(f"data:{k}" for k in OPERAND_KINDS),
    "no-data-model-0.5",
)
_ACTIVITY_ALLOWED = 'a number in [0, 1], or "data" (switching measured on the workload\'s data)'
#: What the sweep does with a point whose clock is shorter than its modelled critical path.
TIMING_MODES = ("enforce", "own_fmax", "ignore")


def _too_many(path: str, count: float, limit: int) -> InputError:
    return InputError(
        f"expands to {count:,.0f} values, more than options.max_points = {limit:,}",
        field=path,
        allowed="a smaller range, or a larger options.max_points",
    )


def _expand(path: str, value, limit: int = MAX_POINTS) -> list:
    """A scalar, list or range table as a list of values (at most ``limit`` of them)."""
    if isinstance(value, dict):
        keys = set(value)
        if not ({"start", "stop"} <= keys and keys <= {"start", "stop", "step", "factor"}) or (
            "step" in keys
        ) == ("factor" in keys):
            raise InputError(
                "a range needs start, stop and one of step or factor",
                field=path,
                allowed="{start, stop, step} or {start, stop, factor}",
            )
        for key, bound in value.items():
            if isinstance(bound, bool) or not isinstance(bound, (int, float)):
                raise InputError(f"expected a number, got {brief(bound)}", field=f"{path}.{key}")
            if not _finite(bound) or abs(bound) > 1e300:
                raise InputError(
                    f"{brief(bound)} is not a finite number",
                    field=f"{path}.{key}",
                    allowed="a finite number",
                )
        start, stop = value["start"], value["stop"]
        out = []
        if "step" in value:
            step = value["step"]
            if not step or (stop - start) / step < 0:
                raise InputError(f"step {step} never reaches stop {stop}", field=path)
            count = (stop - start) / step + 1
            if count > limit:
                raise _too_many(path, count, limit)
            x = start
            while (x <= stop) if step > 0 else (x >= stop):
                out.append(x)
                x = x + step
        else:
            factor = value["factor"]
            if not factor or factor <= 1 or start <= 0:
                raise InputError("a geometric range needs start > 0 and factor > 1", field=path)
            count = math.log(max(stop, start) / start) / math.log(factor) + 1
            if count > limit:
                raise _too_many(path, count, limit)
            x = start
            while x <= stop * (1 + 1e-12):
                out.append(x)
                x = x * factor
        values = out
    elif isinstance(value, list):
        values = list(value)
        if len(values) > limit:
            raise _too_many(path, len(values), limit)
    else:
        values = [value]
    if not values:
        raise InputError(
            "empty: gives no design points",
            field=path,
            allowed="a value, a non-empty list or a non-empty range",
        )
    return values


@dataclasses.dataclass
class EngineBlock:
    arch: str
    designs: list  # structural designs (validated)
    system: dict  # name -> 1-D array of the system product (length Y)
    fields: list  # design field names swept (for the output columns)

    @property
    def points(self) -> int:
        return len(self.designs) * len(next(iter(self.system.values())))


@dataclasses.dataclass
class SweepSpec:
    """A validated, expanded sweep spec (:func:`parse_sweep_spec`).

    Parameters
    ----------
    name : str
        Sweep name.
    workload : dict
        The resolved ``[workload]`` table (``spec``, ``phase``, ``batch``...).
    layers : pandas.DataFrame
        Distinct GEMMs of the workload: ``name``, ``M``, ``N``, ``K``, ``kind``, ``count``.
    tokens : int
        Tokens the workload processes (the largest M of its weight GEMMs), for per-token
        figures.
    blocks : list of EngineBlock
        One block per ``[[engines]]`` table: its validated designs and system product.
    options : dict
        The ``[options]`` table with defaults filled in.
    digest : str
        Hash of the spec and workload, to recognize a sweep's output folder.
    quality_source : QualitySource or None
        Where the points' number formats are scored (None: ``options.quality = "off"``).
    quality : dict
        Format label -> its figures (:meth:`format_numbers` fills it).
    gemm_layers : tuple of tuple of int
        Per distinct GEMM, the model layers it stands for (``activity = "data"`` only).
    activity_gemms : tuple of (str, str)
        Per distinct GEMM, the kind and description of the data its activity is measured on
        (empty unless some engine has ``activity = "data"``).
    activity : dict
        Design -> its :class:`DataActivity` per GEMM (None: no data-activity model);
        :meth:`measure_activity` fills it.
    """

    name: str
    workload: dict
    layers: pd.DataFrame  # distinct GEMMs: name, M, N, K, count, kind
    tokens: int
    blocks: list
    options: dict
    digest: str
    quality_source: QualitySource | None = None
    quality: dict = dataclasses.field(default_factory=dict)
    gemm_layers: tuple = ()
    activity_gemms: tuple = ()
    activity: dict = dataclasses.field(default_factory=dict)

    @property
    def data_activity(self) -> bool:
        """Some engine prices points on data activity (``activity = "data"``)."""
        return bool(self.activity_gemms)

    @property
    def activity_label(self) -> str:
        """The ``activity_source`` of a data-activity point of a family with a data model:
        ``data:`` and the kinds of its GEMMs' data, least real last."""
        kinds = {k for k, _ in self.activity_gemms}
        return "data:" + "+".join(k for k in OPERAND_KINDS if k in kinds)

    def _data_designs(self) -> list:
        seen: dict = {}
        for block in self.blocks:
            if np.isnan(block.system["activity"]).any():
                for d in block.designs:
                    seen.setdefault(d, None)
        return list(seen)

    def design_activity(self, design) -> tuple | None:
        """``design``'s :class:`DataActivity` per GEMM, measured once (None: its family has
        no data-activity model).

        Parameters
        ----------
        design : Design
            A design of the sweep.

        Returns
        -------
        tuple of DataActivity or None
            One per distinct GEMM of :attr:`layers`.
        """
        if design not in self.activity:
            self.activity[design] = _measure_design(
                str(self.workload["spec"]), self.gemm_keys(), design
            )
        return self.activity[design]

    def gemm_keys(self) -> tuple:
        """The distinct GEMMs as :func:`~shiftadd.models.data_activity.workload_gemm_operands`
        takes them.

        Returns
        -------
        tuple
            ``(name, N, K, kind, model layers)`` per row of :attr:`layers`.
        """
        L = self.layers
        return tuple(
            (str(name), int(n), int(k), str(kind), tuple(ids))
            for name, n, k, kind, ids in zip(L["name"], L["N"], L["K"], L["kind"], self.gemm_layers)
        )

    def measure_activity(self, *, workers: int = 1, progress: bool = False) -> None:
        """Measure the data activity of every design priced on data and not measured yet.

        Parameters
        ----------
        workers : int
            Processes measuring designs at once (each reads the workload's data once).
        progress : bool
            Show a progress bar on stderr.
        """
        todo = [d for d in self._data_designs() if d not in self.activity]
        for d in [d for d in todo if not has_data_model(d)]:
            self.activity[d] = None
        todo = [d for d in todo if d not in self.activity]
        if not todo:
            return
        bar = tqdm(
            total=len(todo),
            desc="data activity per design",
            unit="design",
            file=sys.stderr,
            disable=not progress or len(todo) < 2,
        )
        try:
            # Several processes only when each has a few designs to amortize its own read of
            # the workload's data (a checkpoint forward pass) over.
            workers = min(workers, len(todo) // 4)
            if workers <= 1:
                for design in todo:
                    self.design_activity(design)
                    bar.update(1)
            else:
                # workers die with this process and ignore Ctrl-C (see models/workers.py)
                keys = self.gemm_keys()
                calls = [(str(self.workload["spec"]), keys, d) for d in todo]
                with worker_pool(workers) as pool:
                    for position, result in pool.imap_unordered(_measure_design, calls):
                        self.activity[todo[position]] = result
                        bar.update(1)
        finally:
            bar.close()

    def formats(self) -> list[NumberFormat]:
        """The distinct number formats of the sweep's designs, in first-seen order.

        Returns
        -------
        list of NumberFormat
            One per distinct format.
        """
        seen: dict[NumberFormat, None] = {}
        for block in self.blocks:
            for d in block.designs:
                seen.setdefault(d.number_format, None)
        return list(seen)

    def score_formats(self, *, workers: int = 1, progress: bool = False) -> None:
        """Score every format of the sweep not scored yet (in ``workers`` processes).

        Parameters
        ----------
        workers : int
            Processes scoring formats at once (each format is one task).
        progress : bool
            Show a progress bar on stderr.
        """
        todo = [f for f in self.formats() if f.label not in self.quality]
        if self.quality_source is None or not todo:
            return
        bar = tqdm(
            total=len(todo),
            desc="model quality per number format",
            unit="format",
            file=sys.stderr,
            disable=not progress or len(todo) < 2,
        )
        try:
            if workers <= 1 or len(todo) < 2:
                for fmt in todo:
                    self.format_numbers(fmt)
                    bar.update(1)
            else:
                # workers die with this process and ignore Ctrl-C (see models/workers.py)
                with worker_pool(min(workers, len(todo))) as pool:
                    calls = [(self.quality_source, fmt) for fmt in todo]
                    for position, result in pool.imap_unordered(format_quality, calls):
                        self._store(todo[position], result)
                        bar.update(1)
        finally:
            bar.close()  # ends the bar's line, so an "interrupted" message starts its own

    def _store(self, fmt: NumberFormat, r) -> dict:
        self.quality[fmt.label] = {
            "quality": r.quality,
            "weight_error": r.weight_error,
            "output_error": r.output_error,
            "bits_per_weight": r.bits_per_weight,
        }
        return self.quality[fmt.label]

    def format_numbers(self, fmt: NumberFormat) -> dict:
        """The quality figures of ``fmt`` on :attr:`quality_source` (NaN when quality is off).

        Parameters
        ----------
        fmt : NumberFormat
            A design's number format.

        Returns
        -------
        dict
            ``quality``, ``weight_error``, ``output_error``, ``bits_per_weight``.
        """
        key = fmt.label
        if key not in self.quality:
            if self.quality_source is None:
                nan = float("nan")
                self.quality[key] = dict.fromkeys(
                    ("quality", "weight_error", "output_error", "bits_per_weight"), nan
                )
            else:
                self._store(fmt, format_quality(self.quality_source, fmt))
        return self.quality[key]

    @property
    def points(self) -> int:
        """Design points of the whole sweep."""
        return sum(b.points for b in self.blocks)

    @functools.cached_property
    def field_dtypes(self) -> dict[str, str]:
        """The pandas dtype of every swept design field's column, over all engines.

        Every chunk carries every column with this dtype (missing where an engine has no
        such field), so ``points.parquet`` has one schema whatever the chunk size and the
        order of engines: integers stay integers (``Int64``), flags ``boolean``, names and
        sequences ``string``.
        """
        values: dict[str, list] = {}
        for block in self.blocks:
            for f in block.fields:
                values.setdefault(f, []).extend(getattr(d, f) for d in block.designs)
        return {f: _dtype_of(vals) for f, vals in values.items()}


def _dtype_of(values: list) -> str:
    """One pandas dtype for a column holding ``values`` (None allowed)."""
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, bool) for v in present):
        return "boolean"
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return "Int64"
    if present and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        return "float64"
    return "string"


def _field_column(values: list, dtype: str) -> pd.Series:
    if dtype == "string":
        values = [
            None if v is None else ",".join(map(str, v)) if isinstance(v, (tuple, list)) else str(v)
            for v in values
        ]
    return pd.Series(values, dtype=dtype)


def _repeat(value, count: int, dtype: str) -> pd.Series:
    """``count`` copies of ``value`` as a column of ``dtype`` (built from one element: a
    list of a million Python objects is slow to convert to an Arrow string column)."""
    return pd.Series([value], dtype=dtype).take(np.zeros(count, np.int64)).reset_index(drop=True)


def load_sweep_spec(path: str | os.PathLike, **workload_overrides) -> SweepSpec:
    """Read and validate a sweep spec file (TOML or YAML).

    Parameters
    ----------
    path : str or os.PathLike
        The spec file.
    **workload_overrides
        ``workload``, ``phase`` or ``batch`` overriding the spec's ``[workload]`` table
        (see :func:`parse_sweep_spec`).

    Returns
    -------
    SweepSpec
        The validated, expanded spec.
    """
    return parse_sweep_spec(read_design_file(path), source=str(path), **workload_overrides)


#: Characters of a unit or SRAM table name (a file stem under models/data/: no path).
_TABLE_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")


def _finite(value) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer beyond float range
        return False


def _integer(path, value, lo, hi, source=None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise InputError(
            f"{brief(value)} is not allowed",
            field=path,
            allowed=f"an integer from {lo:,} to {hi:,}",
            source=source,
        )
    return value


def _number(path, value, lo=None, lo_open=False, hi=None):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"expected a number, got {brief(value)}", field=path)
    if not _finite(value):
        raise InputError(
            f"{brief(value)} is not a finite number", field=path, allowed="a finite number"
        )
    if (
        lo is not None
        and (value <= lo if lo_open else value < lo)
        or (hi is not None and value > hi)
    ):
        raise InputError(
            f"{value} is out of range",
            field=path,
            allowed=f"a number {'>' if lo_open else '>='} {lo}"
            + (f" and <= {hi}" if hi is not None else ""),
        )
    return float(value)


def parse_sweep_spec(
    data: dict,
    *,
    source: str | None = None,
    workload: str | None = None,
    phase: str | None = None,
    batch: int | None = None,
) -> SweepSpec:
    """Validate a spec mapping, expand it, resolve the workload; raise before any work.

    Parameters
    ----------
    data : dict
        The spec as read from its file.
    source : str, optional
        Where the spec came from, for error messages.
    workload : str, optional
        Overrides ``workload.spec`` (preset, config.json or workload file).
    phase : {"prefill", "decode"}, optional
        Overrides ``workload.phase``.
    batch : int, optional
        Overrides ``workload.batch``.

    Returns
    -------
    SweepSpec
        The validated, expanded spec.

    Raises
    ------
    InputError
        An unknown key, a bad value, an impossible design or an unresolvable workload.
    """
    if not isinstance(data, dict):
        raise InputError("a sweep spec must be a table", source=source)
    for key in data:
        if key not in _TOP_KEYS:
            raise InputError("unknown key", field=key, allowed=sorted(_TOP_KEYS), source=source)
    wl = dict(data.get("workload") or {})
    for key in wl:
        if key not in _WORKLOAD_KEYS:
            raise InputError(
                "unknown key",
                field=f"workload.{key}",
                allowed=sorted(_WORKLOAD_KEYS),
                source=source,
            )
    if workload is not None:
        wl["spec"] = workload
    if phase is not None:
        wl["phase"] = phase
    if batch is not None:
        wl["batch"] = batch
    if "spec" not in wl:
        raise InputError(
            "missing: name a preset, config.json or workload file (or pass --workload)",
            field="workload.spec",
            source=source,
        )
    wl.setdefault("phase", "decode")
    wl.setdefault("batch", 1)
    wl.setdefault("include_act_act", True)
    wl.setdefault("include_head", True)
    for key in ("include_act_act", "include_head"):
        if not isinstance(wl[key], bool):
            raise InputError(
                f"{wl[key]!r} is not true or false",
                field=f"workload.{key}",
                allowed=[True, False],
                source=source,
            )
    if wl["phase"] not in ("prefill", "decode"):
        raise InputError(
            f"{wl['phase']!r} is not allowed",
            field="workload.phase",
            allowed=["prefill", "decode"],
            source=source,
        )
    if not isinstance(wl["spec"], str):
        raise InputError(
            f"expected a string, got {brief(wl['spec'])}",
            field="workload.spec",
            allowed="a preset name, a config.json or a workload file",
            source=source,
        )
    _integer("workload.batch", wl["batch"], 1, MAX_BATCH, source)
    for key in ("seq", "context"):
        if wl.get(key) is not None:
            _integer(f"workload.{key}", wl[key], 1, MAX_TOKENS, source)
    table = resolve_workload(
        wl["spec"],
        phase=wl["phase"],
        batch=wl["batch"],
        seq=wl.get("seq"),
        context=wl.get("context"),
    )
    if not wl["include_act_act"]:
        table = table[table["kind"] != "act x act"]
    if not wl["include_head"] and "block" in table:
        table = table[table["block"] != "head"]
    if table.empty:
        raise InputError("the workload has no GEMMs", field="workload.spec", source=source)
    layers = table.groupby(["name", "M", "N", "K", "kind"], sort=False, as_index=False)[
        "count"
    ].sum()
    check_gemm_sizes(layers["M"], layers["N"], layers["K"], field="workload.spec", source=source)
    weight_rows = table[table["kind"] == "act x weight"]
    tokens = int(weight_rows["M"].max()) if not weight_rows.empty else int(table["M"].max())

    options = dict(data.get("options") or {})
    for key in options:
        if key not in _OPTION_KEYS:
            raise InputError(
                "unknown option",
                field=f"options.{key}",
                allowed=sorted(_OPTION_KEYS),
                source=source,
            )
    options.setdefault("max_points", MAX_POINTS)
    options.setdefault("skip_invalid", False)
    options.setdefault("chunk_size", 20_000)
    options.setdefault("dram_pj_per_bit", DRAM_PJ_PER_BIT)
    options.setdefault("sram", "ihp-sg13g2")
    options.setdefault("timing", "enforce")
    if options["timing"] not in TIMING_MODES:
        raise InputError(
            f"{options['timing']!r} is not allowed",
            field="options.timing",
            allowed=list(TIMING_MODES),
            source=source,
        )
    options.setdefault("quality", "auto")
    options.setdefault("quality_floor", None)
    if options["quality"] not in QUALITY_MODES:
        raise InputError(
            f"{options['quality']!r} is not allowed",
            field="options.quality",
            allowed=list(QUALITY_MODES),
            source=source,
        )
    if options["quality_floor"] is not None:
        _number("options.quality_floor", options["quality_floor"], lo=-1.0, hi=1.0)
        if options["quality"] == "off":
            raise InputError(
                "a quality floor needs the quality figures",
                field="options.quality_floor",
                allowed="leave it out, or set options.quality = 'auto'",
                source=source,
            )
    _integer("options.max_points", options["max_points"], 1, 10**12, source)
    _integer("options.chunk_size", options["chunk_size"], 1, 10**8, source)
    _number("options.dram_pj_per_bit", options["dram_pj_per_bit"], lo=0, hi=1e6)
    if not isinstance(options["skip_invalid"], bool):
        raise InputError(
            f"{brief(options['skip_invalid'])} is not true or false",
            field="options.skip_invalid",
            allowed=[True, False],
            source=source,
        )
    sram = options["sram"]
    if not isinstance(sram, str) or not sram or not set(sram) <= _TABLE_NAME_CHARS:
        raise InputError(
            f"{brief(sram)} is not an SRAM table name",
            field="options.sram",
            allowed="a table name such as 'ihp-sg13g2' (letters, digits, '-', '_', '.')",
            source=source,
        )
    try:
        load_sram_macros(sram)
    except InputError as exc:
        raise InputError(exc.message, field="options.sram", source=source) from None

    engines = data.get("engines")
    if not isinstance(engines, list) or not engines:
        raise InputError(
            "missing or empty: give at least one [[engines]] table", field="engines", source=source
        )
    if len(engines) > MAX_ENGINES:
        raise InputError(
            f"{len(engines):,} engine tables",
            field="engines",
            allowed=f"at most {MAX_ENGINES:,}",
            source=source,
        )
    blocks = []
    budget = options["max_points"]
    for i, engine in enumerate(engines):
        block = _parse_engine(f"engines[{i}]", engine, options, source, budget)
        budget -= block.points
        blocks.append(_check_on_layers(f"engines[{i}]", block, layers, options, source))
    name = data.get("name", "sweep")
    if not isinstance(name, str) or not name or len(name) > 200:
        raise InputError(
            f"{brief(name)} is not a sweep name",
            field="name",
            allowed="a string of 1 to 200 characters",
            source=source,
        )
    gemm_layers: tuple = ()
    activity_gemms: tuple = ()
    if any(np.isnan(b.system["activity"]).any() for b in blocks):
        gemm_layers = _gemm_layers(table, layers)
        keys = tuple(
            (str(nm), int(n), int(k), str(kind), ids)
            for nm, n, k, kind, ids in zip(
                layers["name"], layers["N"], layers["K"], layers["kind"], gemm_layers
            )
        )
        # Read the workload's data now (a checkpoint, one forward pass): a workload that
        # cannot give it fails before any work.
        operands = workload_gemm_operands(str(wl["spec"]), keys)
        activity_gemms = tuple((op.kind, op.description) for op in operands)
    qsource = None
    if options["quality"] != "off":
        qsource = quality_source(str(wl["spec"]), table)
    digest = hashlib.sha256(
        json.dumps({"data": data, "workload": wl}, sort_keys=True, default=str).encode()
    ).hexdigest()[:16]
    return SweepSpec(
        name=name,
        workload=wl,
        layers=layers.reset_index(drop=True),
        tokens=tokens,
        blocks=blocks,
        options=options,
        digest=digest,
        quality_source=qsource,
        gemm_layers=gemm_layers,
        activity_gemms=activity_gemms,
    )


def _measure_design(spec: str, keys: tuple, design) -> tuple | None:
    """``design``'s data activity per GEMM of workload ``spec`` (``keys``: the GEMMs), or None
    for a family without a data-activity model (module level: run in worker processes)."""
    if not has_data_model(design):
        return None
    try:
        return gemm_activity(design, workload_gemm_operands(spec, keys))
    except InputError as exc:
        raise InputError(
            f"design {design.to_dict()}: no data activity: {exc.message}",
            field="activity",
            allowed=_ACTIVITY_ALLOWED,
        ) from None


def _gemm_layers(table: pd.DataFrame, layers: pd.DataFrame) -> tuple:
    """Per distinct GEMM of ``layers`` (same grouping and order), the sorted model layer ids
    of the rows of ``table`` it groups (empty without a ``layer`` column)."""
    if "layer" not in table:
        return tuple(() for _ in range(len(layers)))
    keys = ["name", "M", "N", "K", "kind"]
    ids = table.groupby(keys, sort=False)["layer"].agg(
        lambda s: tuple(sorted({int(v) for v in s if pd.notna(v)}))
    )
    return tuple(ids.loc[tuple(row)] for row in layers[keys].itertuples(index=False))


def _check_on_layers(where: str, block: EngineBlock, layers, options, source) -> EngineBlock:
    """Run every design's kernel once on the workload's GEMMs, so a design that cannot run
    a layer (e.g. a threshold program needing more local memory than the design has) is an
    error now, or dropped with ``skip_invalid``, rather than a failure mid-sweep."""
    m, n, k = (layers[c].to_numpy(np.int64)[None, :] for c in ("M", "N", "K"))
    big = np.array([[float(1 << 40)]])
    kept = []
    for design in block.designs:
        vec = {key: np.array([[float(val)]]) for key, val in design_vector(design).items()}
        try:
            kernel_for(block.arch)(vec, m, n, k, big, big, big)
        except InputError as exc:
            if options["skip_invalid"]:
                continue
            raise InputError(
                f"design {design.to_dict()} cannot run this workload: {exc} "
                "(set options.skip_invalid = true to drop such points)",
                field=where,
                source=source,
            ) from None
        kept.append(design)
    if not kept:
        raise InputError(
            "no design in this engine's ranges can run the workload", field=where, source=source
        )
    return dataclasses.replace(block, designs=kept)


def _parse_engine(where: str, engine, options, source, budget: int) -> EngineBlock:
    if not isinstance(engine, dict) or "arch" not in engine:
        raise InputError(
            "each engine needs an arch", field=f"{where}.arch", allowed=arches(), source=source
        )
    arch = engine["arch"]
    if not isinstance(arch, str) or arch not in arches():
        raise InputError(
            f"unknown engine {brief(arch)}", field=f"{where}.arch", allowed=arches(), source=source
        )
    fam = family(arch)
    if not fam.has("kernel"):
        raise InputError(
            f"engine {arch!r} has no workload model: {fam.lacks['kernel']}",
            field=f"{where}.arch",
            allowed=[a for a in arches() if family(a).has("kernel")],
            source=source,
        )
    cls: type[Design] = fam.design_class
    design_fields = [f.name for f in dataclasses.fields(cls)]
    sequence_fields = {
        f.name for f in dataclasses.fields(cls) if isinstance(f.default, (tuple, list))
    }
    structural, system = {}, {}
    for key, value in engine.items():
        if key == "arch":
            continue
        path = f"{where}.{key}"
        if not isinstance(key, str):
            raise InputError("field names are strings", field=path, source=source)
        if key in SYSTEM_DEFAULTS:
            system[key] = _expand(path, value, options["max_points"])
        elif key in design_fields:
            if (
                key in sequence_fields
                and isinstance(value, list)
                and not any(isinstance(v, (list, tuple)) for v in value)
            ):
                value = [value]  # one value of a sequence-valued field, not a list of them
            structural[key] = _expand(path, value, options["max_points"])
        else:
            raise InputError(
                "unknown field",
                field=path,
                allowed=sorted(set(design_fields) | set(SYSTEM_DEFAULTS)),
                source=source,
            )
    for key, default in SYSTEM_DEFAULTS.items():
        system.setdefault(key, [default])
    # The point count is known before any design is built: refuse a spec past the limit
    # now, rather than run out of memory building 10^9 designs.
    count = math.prod(len(v) for v in structural.values()) * math.prod(
        len(v) for v in system.values()
    )
    if count > budget:
        raise InputError(
            f"expands to {count:,} design points"
            + ("" if budget == options["max_points"] else " (with the engines before it)")
            + f", more than options.max_points = {options['max_points']:,}",
            field=where,
            allowed="fewer values per field, or a larger options.max_points",
            source=source,
        )
    for v in system["act_buffer_kib"] + system["weight_buffer_kib"] + system["out_buffer_kib"]:
        _number(f"{where}.*_buffer_kib", v, lo=0)
    for v in system["dram_gbps"]:
        _number(f"{where}.dram_gbps", v, lo=0, lo_open=True)
    for v in system["activity"]:
        if v == ACTIVITY_DATA:
            continue
        number = isinstance(v, (int, float)) and not isinstance(v, bool)
        if not (number and _finite(v) and 0 <= v <= 1):
            raise InputError(
                f"{brief(v)} is not allowed",
                field=f"{where}.activity",
                allowed=_ACTIVITY_ALLOWED,
                source=source,
            )
    for v in system["clock_ns"]:
        if v is not None:
            _number(f"{where}.clock_ns", v, lo=0.05)
    for v in system["units"]:
        if not isinstance(v, str) or v not in available_tables():
            raise InputError(
                f"unknown unit table {brief(v)}",
                field=f"{where}.units",
                allowed=available_tables(),
                source=source,
            )
    # Structural designs, each validated now, before any evaluation.
    names = list(structural)
    designs = []
    for combo in itertools.product(*(structural[n] for n in names)):
        params = dict(zip(names, combo))
        params.setdefault("name", f"{arch}_sweep")
        try:
            designs.append(cls.from_dict(params))
        except InputError as exc:
            if options["skip_invalid"]:
                continue
            raise InputError(
                f"impossible combination {dict(zip(names, combo))}: {exc} "
                "(set options.skip_invalid = true to drop such points)",
                field=where,
                source=source,
            ) from None
    if not designs:
        raise InputError("no valid design in this engine's ranges", field=where, source=source)
    sys_names = list(SYSTEM_DEFAULTS)
    product = list(itertools.product(*(system[n] for n in sys_names)))
    # "data" activity is NaN in the float column (numbers are checked finite above).
    columns = {
        n: np.array(
            [np.nan if n == "activity" and p[i] == ACTIVITY_DATA else p[i] for p in product],
            dtype=object if n in ("units", "clock_ns") else float,
        )
        for i, n in enumerate(sys_names)
    }
    return EngineBlock(arch=arch, designs=designs, system=columns, fields=names)


# -- evaluation ----------------------------------------------------------------------------
@functools.lru_cache(maxsize=100_000)
def _design_numbers(design, table: str) -> dict:
    crit = critical_path_ns(design, table)
    vec = design_vector(design)
    terms = cost_terms(design, table)
    return {
        # NaN: not timed (no timing model or no delay units)
        "critical_path_ns": float("nan") if crit is None else crit,
        **vec,
        "area_logic_um2": terms.area,
        "e_clock_pj": terms.energy_clock,
        "e_data_pj": terms.energy_data,
        "e_mac_pj": terms.energy_mac,
        "e_out_pj": terms.energy_output,
        "leak_mw": terms.leakage_mw,
        "cal_activity": terms.calibration_activity,
        "design_clock_ns": design.clock_ns,
        "ops_per_cycle": design.ops_per_cycle,
    }


@functools.lru_cache(maxsize=100_000)
def _layer_terms(design, table: str, activities: tuple) -> np.ndarray:
    """``(3, GEMMs)``: the data energies per cycle, per MAC and per output of ``design`` on
    each GEMM's measured activity, priced at the calibration activity (:func:`cost_terms`
    with ``activity=``)."""
    out = np.empty((3, len(activities)))
    for i, a in enumerate(activities):
        t = cost_terms(design, table, activity=a)
        out[:, i] = (t.energy_data, t.energy_mac, t.energy_output)
    return out


def _factorize_pairs(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes of the distinct ``(a, b)`` integer pairs and the pairs themselves (hashing:
    sorting a million keys per chunk cost more than the model)."""
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    codes, uniq = pd.factorize(a * (int(b.max(initial=0)) + 1) + b)
    first = np.zeros(len(uniq), np.int64)
    first[codes[::-1]] = np.arange(len(codes))[::-1]
    return codes, np.stack([a[first], b[first]], axis=1)


def _buffer_arrays(cap_kib: np.ndarray, word_bits: np.ndarray, sram: str) -> dict:
    inverse, uniq = _factorize_pairs(
        np.round(np.asarray(cap_kib, float) * 8192), np.asarray(word_bits)
    )
    bufs = [buffer_for(int(c), int(w), sram) for c, w in uniq]
    take = lambda attr: np.array([getattr(b, attr) for b in bufs], float)[inverse]
    return {
        "area": take("area_um2"),
        "read": take("read_pj_per_bit"),
        "write": take("write_pj_per_bit"),
        "leak": take("leakage_mw"),
    }


def evaluate_chunk(spec: SweepSpec, start: int, stop: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Points ``[start, stop)`` of the sweep: ``(points, layers)`` tables.

    Parameters
    ----------
    spec : SweepSpec
        The sweep.
    start, stop : int
        Range of point indices, ``stop`` excluded.

    Returns
    -------
    points : pandas.DataFrame
        One row per design point: whole-model figures.
    layers : pandas.DataFrame
        One row per design point and distinct GEMM.
    """
    L = spec.layers
    m = L["M"].to_numpy(np.int64)[None, :]
    n = L["N"].to_numpy(np.int64)[None, :]
    k = L["K"].to_numpy(np.int64)[None, :]
    count = L["count"].to_numpy(np.int64)[None, :]
    point_frames, layer_frames = [], []
    offset = 0
    for _b, block in enumerate(spec.blocks):
        lo, hi = max(start, offset), min(stop, offset + block.points)
        if lo < hi:
            pts, lyr = _evaluate_block(
                spec, block, lo - offset, hi - offset, offset, m, n, k, count
            )
            point_frames.append(pts)
            layer_frames.append(lyr)
        offset += block.points
    return (pd.concat(point_frames, ignore_index=True), pd.concat(layer_frames, ignore_index=True))


def _data_vector_cycles(spec, block, pairs, inverse, data_rows, vec) -> np.ndarray | None:
    """``(points, GEMMs)``: the cycles per activation vector measured on each GEMM's data
    (``DataActivity.vector_cycles``) at the data points of designs whose cycles follow the
    data, NaN elsewhere; None when no point of the chunk has any."""
    if "vector_cycles" not in vec or not data_rows.any():
        return None
    per_pair = np.full((len(pairs), len(spec.layers)), np.nan)
    for i, (s, _t) in enumerate(pairs):
        acts = spec.design_activity(block.designs[s])
        if acts is not None and all(a.vector_cycles is not None for a in acts):
            per_pair[i] = [a.vector_cycles for a in acts]
    if np.isnan(per_pair).all():
        return None
    return np.where(data_rows[:, None], per_pair[inverse], np.nan)


def _evaluate_block(spec, block, lo, hi, offset, m, n, k, count):
    Y = len(block.system["activity"])
    idx = np.arange(lo, hi)
    s_idx, y_idx = idx // Y, idx % Y
    # Per distinct (design, unit table): the design's numbers, then indexed per point.
    table_idx, table_names = pd.factorize(block.system["units"][y_idx].astype(str))
    inverse, pairs = _factorize_pairs(s_idx, table_idx)
    rows = [_design_numbers(block.designs[s], str(table_names[t])) for s, t in pairs]
    vec = {key: np.array([r[key] for r in rows], float)[inverse][:, None] for key in rows[0]}
    sysv = {key: block.system[key][y_idx] for key in block.system}
    override = np.array([c is not None for c in sysv["clock_ns"]])
    clock = np.where(
        override,
        np.where(override, sysv["clock_ns"], 0).astype(float),
        vec["design_clock_ns"][:, 0],
    )[:, None]
    crit = vec["critical_path_ns"][:, 0]
    timed = np.isfinite(crit)
    if spec.options["timing"] == "own_fmax":
        # Each point runs at its own fmax (where the model times it).
        clock = np.where(timed, crit, clock[:, 0])[:, None]
    # Not timed -> met is unknown: False only where the model says the clock is too short.
    timing_met = np.where(timed, clock[:, 0] >= crit * (1 - 1e-12), True)
    act_cap = (sysv["act_buffer_kib"] * 8192)[:, None]
    w_cap = (sysv["weight_buffer_kib"] * 8192)[:, None]
    o_cap = (sysv["out_buffer_kib"] * 8192)[:, None]
    data_vc = _data_vector_cycles(spec, block, pairs, inverse, np.isnan(sysv["activity"]), vec)
    if data_vc is not None:
        # (points, GEMMs): a data point of a design whose cycles follow its data (digit-
        # sparse trees) streams each GEMM at the vector cycles measured on that GEMM's data.
        vec = {**vec, "vector_cycles": np.where(np.isnan(data_vc), vec["vector_cycles"], data_vc)}
    out = kernel_for(block.arch)(vec, m, n, k, act_cap, w_cap, o_cap)
    cycles = out["cycles"].astype(float)
    # Buffers: word widths follow the array's ports.
    sram = spec.options["sram"]
    bufs = {}
    # Buffer word widths: the family's own port widths when it states them (design_vector's
    # *_word_bits), else a K-tile of activations/weights and an N-tile of partial sums.
    words = {
        "act": vec.get("act_word_bits", vec["tile_k"] * vec["act_bits"]),
        "weight": vec.get("weight_word_bits", vec["tile_k"] * vec["weight_bits"]),
        "out": vec.get("out_word_bits", vec["tile_n"] * vec["psum_bits"]),
    }
    for name, cap_key, word in (
        ("act", "act_buffer_kib", words["act"]),
        ("weight", "weight_buffer_kib", words["weight"]),
        ("out", "out_buffer_kib", words["out"]),
    ):
        bufs[name] = _buffer_arrays(sysv[cap_key], word[:, 0], sram)
    dram_bits = (out["dram_read_bits"] + out["dram_write_bits"]).astype(float)
    gbps = sysv["dram_gbps"][:, None]
    compute_ns = cycles * clock
    memory_ns = dram_bits / (8.0 * gbps)
    latency_ns = np.maximum(compute_ns, memory_ns)
    elapsed_cycles = latency_ns / clock
    e_data, e_mac, e_out = vec["e_data_pj"], vec["e_mac_pj"], vec["e_out_pj"]
    activity = sysv["activity"]
    data_rows = np.isnan(activity)
    on_data = data_rows  # points priced on measured data (a data model exists)
    Lc = m.shape[1]
    gemm_source = None
    if data_rows.any():
        # Per distinct (design, unit table), once: the data energies on each GEMM's own
        # activity, (3, GEMMs); NaN rows for a family without a data-activity model.
        per_pair = []
        for s, t in pairs:
            acts = spec.design_activity(block.designs[s])
            per_pair.append(
                np.full((3, Lc), np.nan)
                if acts is None
                else _layer_terms(block.designs[s], str(table_names[t]), acts)
            )
        stack = np.stack(per_pair)[inverse]  # (P, 3, GEMMs)
        on_data = data_rows & ~np.isnan(stack[:, 0, 0])
        sel = on_data[:, None]
        e_data = np.where(sel, stack[:, 0], e_data)
        e_mac = np.where(sel, stack[:, 1], e_mac)
        e_out = np.where(sel, stack[:, 2], e_out)
        # Terms priced on data are already those of the data: scale them by 1 (the
        # calibration activity); a family without a data model keeps 0.5.
        activity = np.where(
            on_data, vec["cal_activity"][:, 0], np.where(data_rows, RANDOM_ACTIVITY, activity)
        )
        kinds = [ACTIVITY_SOURCES.index(f"data:{k}") for k, _ in spec.activity_gemms]
        gemm_source = np.where(
            on_data[:, None],
            np.array(kinds, np.int8)[None, :],
            np.where(data_rows, ACTIVITY_SOURCES.index("no-data-model-0.5"), 0).astype(np.int8)[
                :, None
            ],
        )
    activity = activity[:, None]
    leak_mw = vec["leak_mw"] + sum(bufs[b]["leak"][:, None] for b in bufs)
    # The streaming part of cost.gemm_energy_pj (idle cycles and leakage are columns of
    # their own): per cycle, per useful MAC, per output drained.
    streaming = CostTerms(
        area=vec["area_logic_um2"],
        energy_clock=vec["e_clock_pj"],
        energy_data=e_data,
        leakage_mw=0.0,
        calibration_activity=vec["cal_activity"],
        energy_mac=e_mac,
        energy_output=e_out,
    )
    e_compute = gemm_energy_pj(
        streaming,
        gemm_cycles=cycles,
        total_cycles=cycles,
        macs=m * n * k,
        outputs=output_drains(m, n, k, vec["tile_k"]),
        clock_ns=clock,
        data_activity=activity,
    )
    e_idle = (elapsed_cycles - cycles) * vec["e_clock_pj"]
    e_leak = leak_mw * latency_ns
    e_sram = sum(
        out[f"{b}_buf_read_bits"] * bufs[b]["read"][:, None]
        + out[f"{b}_buf_write_bits"] * bufs[b]["write"][:, None]
        for b in bufs
    )
    e_dram = dram_bits * spec.options["dram_pj_per_bit"]
    macs = (m * n * k).astype(float)
    cf = count.astype(float)
    layer_energy = (e_compute + e_idle + e_leak + e_sram + e_dram) * cf
    area_um2 = vec["area_logic_um2"][:, 0] + sum(bufs[b]["area"] for b in bufs)

    tot = lambda a: (a * cf).sum(axis=1)
    energy = layer_energy.sum(axis=1)
    lat = tot(latency_ns)
    ops = 2.0 * tot(macs * np.ones_like(cycles))
    slots = tot(cycles * vec["lanes"])
    mem_bound = tot(np.where(memory_ns > compute_ns, latency_ns, 0.0))
    # Columns gathered first and framed once: inserting them one by one into a DataFrame
    # costs about as much as the model itself on a chunk of a few thousand points.
    cols: dict[str, object] = {
        "point": (offset + idx).astype(np.int64),
        "arch": _repeat(block.arch, len(idx), "string"),
    }
    s_inv, uniq_s = pd.factorize(s_idx)
    for f, dtype in spec.field_dtypes.items():
        if f in block.fields:
            column = _field_column([getattr(block.designs[s], f) for s in uniq_s], dtype)
            cols[f] = column.take(s_inv).reset_index(drop=True)
        else:
            cols[f] = _repeat(None, len(idx), dtype)
    # The whole design (every field of its family) for `shiftadd export`.
    design_json = [json.dumps(block.designs[s].to_dict(), sort_keys=True) for s in uniq_s]
    cols["design"] = pd.Series(design_json, dtype="string").take(s_inv).reset_index(drop=True)
    for key in SYSTEM_DEFAULTS:
        cols[key] = clock[:, 0] if key == "clock_ns" else sysv[key]
    # Whether the cycles per vector came from the point's data (digit-sparse trees on an
    # activity = "data" point) or from the cycle model (the random-code expectation).
    if data_vc is None:
        cols["cycles_source"] = _repeat("model", len(idx), "string")
    else:
        from_data = (~np.isnan(data_vc).all(axis=1)).astype(np.int64)
        labels = pd.Series(["model", "data"], dtype="string")
        cols["cycles_source"] = labels.take(from_data).reset_index(drop=True)
    if gemm_source is None:
        cols["activity_source"] = _repeat("number", len(idx), "string")
    else:
        # NaN: priced on data (no single number); 0.5 where the family has no data model.
        cols["activity"] = np.where(on_data, np.nan, activity[:, 0])
        labels = pd.Series(["number", spec.activity_label, "no-data-model-0.5"], dtype="string")
        code = np.where(on_data, 1, np.where(data_rows, 2, 0))
        cols["activity_source"] = labels.take(code).reset_index(drop=True)
    # What the design's number formats do to the model (one figure per distinct format).
    formats = [block.designs[s].number_format for s in uniq_s]
    numbers = [spec.format_numbers(f) for f in formats]
    for col, values in (
        ("weight_format", [f.weight_label for f in formats]),
        ("act_format", [f.act for f in formats]),
    ):
        cols[col] = pd.Series(values, dtype="string").take(s_inv).reset_index(drop=True)
    for col in ("quality", "weight_error", "output_error", "bits_per_weight"):
        cols[col] = np.array([q[col] for q in numbers], float)[s_inv]
    floor = spec.options["quality_floor"]
    quality_ok = np.ones(len(idx), bool) if floor is None else cols["quality"] >= floor
    cols.update(
        critical_path_ns=crit,
        fmax_mhz=np.where(timed, 1000.0 / np.where(timed, crit, 1.0), np.nan),
        timing_met=timing_met,
        timed=timed,
        quality_ok=quality_ok,
        # Only points that meet timing (unless the spec says to ignore it) and the quality
        # floor are recommended.
        feasible=(timing_met if spec.options["timing"] != "ignore" else np.ones_like(timed))
        & quality_ok,
        area_logic_mm2=vec["area_logic_um2"][:, 0] * 1e-6,
        area_mm2=area_um2 * 1e-6,
        cycles=tot(cycles),
        latency_us=lat * 1e-3,
        energy_uj=energy * 1e-6,
        energy_per_token_uj=energy * 1e-6 / spec.tokens,
        energy_compute_uj=tot(e_compute) * 1e-6,
        energy_idle_uj=tot(e_idle + e_leak) * 1e-6,
        energy_sram_uj=tot(e_sram) * 1e-6,
        energy_dram_uj=tot(e_dram) * 1e-6,
        tokens_per_s=spec.tokens / (lat * 1e-9),
        tops_per_w=ops / energy,
        tops_per_mm2=ops / lat * 1e-3 / (area_um2 * 1e-6),
        peak_tops=vec["ops_per_cycle"][:, 0] / clock[:, 0] * 1e-3,
        utilization=tot(macs) / slots,
        memory_bound_fraction=mem_bound / lat,
        dram_mb_per_token=tot(dram_bits) / 8e6 / spec.tokens,
    )
    points = pd.DataFrame(cols)
    P = cycles.shape[0]
    gemm_codes = np.tile(np.arange(Lc), P)
    source_codes = np.zeros(P * Lc, np.int8) if gemm_source is None else gemm_source.ravel()
    kind_codes, kind_names = pd.factorize(spec.layers["kind"].to_numpy(), sort=True)
    layers = pd.DataFrame(
        {
            "point": np.repeat(offset + idx, Lc),
            "gemm": pd.Categorical.from_codes(gemm_codes, spec.layers["name"].to_numpy()),
            "kind": pd.Categorical.from_codes(kind_codes[gemm_codes], kind_names),
            "M": np.broadcast_to(m, (P, Lc)).ravel(),
            "N": np.broadcast_to(n, (P, Lc)).ravel(),
            "K": np.broadcast_to(k, (P, Lc)).ravel(),
            "count": np.broadcast_to(count, (P, Lc)).ravel(),
            "cycles": cycles.ravel(),
            "latency_us": (latency_ns * cf).ravel() * 1e-3,
            "energy_uj": layer_energy.ravel() * 1e-6,
            "memory_bound": (memory_ns > compute_ns).ravel(),
            "intensity_ops_per_byte": (2 * macs / (dram_bits / 8)).ravel(),
            "achieved_tops": (2 * macs / latency_ns * 1e-3).ravel(),
            "activity_source": pd.Categorical.from_codes(source_codes, ACTIVITY_SOURCES),
        }
    )
    return points, layers


# -- running -------------------------------------------------------------------------------
def _chunks(spec: SweepSpec) -> list[tuple[int, int]]:
    size = int(spec.options["chunk_size"])
    return [(i, min(i + size, spec.points)) for i in range(0, spec.points, size)]


def _chunk_paths(out: Path, index: int) -> tuple[Path, Path]:
    return (
        out / "chunks" / f"points_{index:05d}.parquet",
        out / "chunks" / f"layers_{index:05d}.parquet",
    )


def _write_chunk(out: Path, index: int, points: pd.DataFrame, layers: pd.DataFrame) -> None:
    p_path, l_path = _chunk_paths(out, index)
    # layers first: a chunk counts as done only once its points file exists
    with atomic_path(l_path) as tmp:
        layers.to_parquet(tmp, index=False)
    with atomic_path(p_path) as tmp:
        points.to_parquet(tmp, index=False)


def _chunk_done(out: Path, index: int) -> bool:
    p_path, l_path = _chunk_paths(out, index)
    if not (p_path.is_file() and l_path.is_file()):
        return False
    try:
        pq.read_metadata(p_path)
        pq.read_metadata(l_path)
    except Exception:  # noqa: BLE001 - any unreadable file is redone
        return False
    return True


def _eval_task(spec: SweepSpec, index: int, start: int, stop: int):
    points, layers = evaluate_chunk(spec, start, stop)
    return index, points, layers


#: Seconds a Dask scheduler has to accept a connection (a refused one fails at once).
SCHEDULER_TIMEOUT_S = 5.0
#: The lock file in a sweep's output folder: one sweep at a time writes into a folder.
LOCK_NAME = ".sweep.lock"


def _scheduler_address(scheduler: str) -> tuple[str, int] | None:
    """``(host, port)`` of a TCP-based Dask address; None for other transports."""
    scheme, sep, rest = scheduler.strip().partition("://")
    if not sep:
        scheme, rest = "tcp", scheduler.strip()
    if scheme not in ("tcp", "tls", "ws", "wss"):
        return None  # inproc://, ucx://: left to Dask's own connect timeout
    rest = rest.split("/")[0]
    if rest.startswith("["):  # [IPv6]:port
        host, _, port = rest[1:].partition("]")
        port = port.lstrip(":")
    elif rest.count(":") == 1:
        host, _, port = rest.partition(":")
    else:
        host, port = rest, ""
    if not host or (port and not port.isdigit()) or int(port or 8786) > 65535:
        raise InputError(
            f"{scheduler!r} is not a scheduler address",
            field="--scheduler",
            allowed="tcp://HOST:PORT (or HOST:PORT)",
        )
    return host, int(port or 8786)  # 8786: Dask's default scheduler port


def check_scheduler(scheduler: str, timeout: float | None = None) -> None:
    """Raise at once if nothing accepts connections at a Dask scheduler's address.

    Parameters
    ----------
    scheduler : str
        The address (``tcp://host:port``; ``host:port``).
    timeout : float, optional
        Seconds to wait for the connection (default :data:`SCHEDULER_TIMEOUT_S`).

    Raises
    ------
    InputError
        A malformed address, an unknown host, a refused connection or a timeout.
    """
    address = _scheduler_address(scheduler)
    if address is None:
        return
    try:
        with socket.create_connection(address, timeout=timeout or SCHEDULER_TIMEOUT_S):
            pass
    except OSError as exc:
        reason = "timed out" if isinstance(exc, TimeoutError) else exc.strerror or str(exc)
        raise InputError(
            f"cannot reach the Dask scheduler at {scheduler}: {reason}",
            field="--scheduler",
            allowed="the address of a running scheduler, or leave it out for local processes",
        ) from None


def _connect(scheduler: str):
    """A Dask client of ``scheduler``, or an :class:`InputError` within seconds."""
    check_scheduler(scheduler)
    import asyncio  # deferred: start-up time

    # deferred for start-up time: Dask (about a second to import) only for a cluster
    from dask.distributed import Client
    from distributed.comm import connect

    async def handshake():
        # Dask bounds the TCP connect but not the handshake that follows: a server that
        # accepts and never answers would hold the client until the connection drops.
        comm = await asyncio.wait_for(
            connect(scheduler, timeout=SCHEDULER_TIMEOUT_S), SCHEDULER_TIMEOUT_S
        )
        await comm.close()

    def probe(errors: list) -> None:
        # A thread of its own: asyncio.run here would clear this thread's event loop
        # (Dask's LocalCluster needs it) and cannot run inside a running loop (Jupyter).
        try:
            asyncio.run(handshake())
        except BaseException as exc:  # noqa: BLE001 - re-raised in the calling thread
            errors.append(exc)

    try:
        errors: list[BaseException] = []
        thread = threading.Thread(target=probe, args=(errors,), name="dask-probe", daemon=True)
        thread.start()
        thread.join()
        if errors:
            raise errors[0]
        return Client(scheduler, timeout=2 * SCHEDULER_TIMEOUT_S)
    except Exception as exc:  # noqa: BLE001 - whatever answered is not a usable scheduler
        # (a timeout, a refused handshake, or a non-Dask server whose reply Dask misreads
        # as a frame length of exabytes: seen as MemoryError)
        if isinstance(exc, TimeoutError):
            reason = f"no Dask handshake within {SCHEDULER_TIMEOUT_S:g} s"
        elif isinstance(exc, OSError):
            reason = " ".join(str(exc).split())[:160] or type(exc).__name__
        else:
            reason = f"what answers there is not a Dask scheduler ({type(exc).__name__})"
        raise InputError(
            f"cannot connect to a Dask scheduler at {scheduler}: {reason}",
            field="--scheduler",
            allowed="the address of a running scheduler, or leave it out for local processes",
        ) from None


@contextlib.contextmanager
def _out_lock(out: Path, *, progress: bool):
    """Hold the output folder's lock; a second sweep into it waits here for the first.

    The lock file is removed on leaving (so a finished folder holds only results); a waiter
    that wakes on a removed file locks the one now in its place instead.
    """
    try:
        import fcntl  # deferred: POSIX only; elsewhere sweeps are not serialized
    except ImportError:
        yield
        return
    path = out / LOCK_NAME
    told = False
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if progress and not told:
                    holder = os.read(fd, 32).decode(errors="replace").strip()
                    print(
                        f"sweep: another sweep{f' (pid {holder})' if holder else ''} is "
                        f"writing into {out}; waiting for it, then resuming from its chunks",
                        file=sys.stderr,
                    )
                    told = True
                fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                current = os.stat(path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                current = False
        except BaseException:
            os.close(fd)
            raise
        if current:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        os.close(fd)  # releases the lock


def run_sweep(
    spec: SweepSpec,
    out: str | os.PathLike,
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    csv: bool = False,
    progress: bool = True,
    client=None,
    on_chunk: Callable[[int], None] | None = None,
) -> dict:
    """Evaluate ``spec`` into folder ``out``; resume from finished chunks.

    Faults: local workers die with this process (even on SIGKILL) and ignore SIGINT, which
    cancels the sweep here (:mod:`shiftadd.models.workers`); finished chunks stay on disk.
    Two sweeps into one ``out`` are serialized by a lock file (``.sweep.lock``): the second
    waits for the first, then resumes from its chunks, computing nothing the first did (or
    refuses, when the first was a different sweep). An unreachable ``scheduler`` fails within
    :data:`SCHEDULER_TIMEOUT_S` seconds, before anything is written.

    Parameters
    ----------
    spec : SweepSpec
        The sweep.
    out : str or os.PathLike
        Output folder (created if needed); holds ``sweep.json``, ``chunks/``,
        ``points.parquet`` and ``layers.parquet``.
    scheduler : str, optional
        Address of a Dask distributed scheduler; chunks then run on its workers (a worker
        lost mid-sweep only delays its chunk: Dask runs it again elsewhere, and finished
        chunks are already on disk).
    workers : int, optional
        Local worker processes (default: the CPU count, at most the chunk count).
    csv : bool, default False
        Also write ``points.csv`` and ``layers.csv``.
    progress : bool, default True
        Show a progress bar on stderr (and say so when waiting for another sweep).
    client : dask.distributed.Client, optional
        An existing client instead of ``scheduler``.
    on_chunk : callable, optional
        Called with a chunk's index once it is written.

    Returns
    -------
    dict
        Summary: ``out``, ``points``, ``layer_rows``, ``chunks``, ``computed_chunks``,
        ``seconds`` (wall time), ``evaluations`` (points times distinct GEMMs) and
        ``activity`` (:func:`activity_summary`).

    Raises
    ------
    InputError
        ``out`` holds a different sweep or an unreadable ``sweep.json``, or ``scheduler``
        cannot be reached.
    """
    out = Path(out)
    own_client = False
    if client is None and scheduler:
        # Before writing anything: an unreachable scheduler leaves no folder behind.
        client = _connect(scheduler)
        own_client = True
    try:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(
                f"cannot create the output folder: {exc.strerror or exc}",
                field="--out",
                source=str(out),
            ) from None
        with _out_lock(out, progress=progress):
            return _run_locked(spec, out, client, workers, csv, progress, on_chunk)
    finally:
        if own_client:
            client.close()


def _run_locked(spec, out, client, workers, csv, progress, on_chunk) -> dict:
    meta_path = out / "sweep.json"
    meta = {
        "name": spec.name,
        "digest": spec.digest,
        "points": spec.points,
        "workload": spec.workload,
        "tokens": spec.tokens,
        "layers": spec.layers.to_dict(orient="records"),
        "options": {k: v for k, v in spec.options.items()},
        "dram_source": DRAM_SOURCE,
        "quality_source": None
        if spec.quality_source is None
        else {
            "kind": spec.quality_source.kind,
            "name": spec.quality_source.name,
            "metric": spec.quality_source.metric,
            "description": spec.quality_source.description,
        },
        "unit_tables": sorted({str(u) for b in spec.blocks for u in b.system["units"]}),
        "activity": activity_meta(spec),
    }
    if meta_path.exists():
        try:
            old = json.loads(meta_path.read_text())
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise InputError(
                f"sweep.json is unreadable ({type(exc).__name__}); choose another --out or "
                "delete it",
                field="--out",
                source=str(out),
            ) from None
        if not isinstance(old, dict) or old.get("digest") != spec.digest:
            raise InputError(
                "the output folder holds a different sweep; choose another --out or delete it",
                field="--out",
                source=str(out),
            )
    else:
        write_json(meta_path, json.loads(json.dumps(meta, default=str)))
    chunks = _chunks(spec)
    todo = [(i, a, b) for i, (a, b) in enumerate(chunks) if not _chunk_done(out, i)]
    if todo:
        # Score every distinct number format once here (cached on disk), so chunks only
        # look the figures up.
        spec.score_formats(workers=workers or os.cpu_count() or 1, progress=progress)
        # Data activity once per design (before the chunks, which only look it up).
        spec.measure_activity(workers=workers or os.cpu_count() or 1, progress=progress)
    t0 = time.perf_counter()
    bar = None
    if progress:
        bar = tqdm(
            total=len(chunks),
            initial=len(chunks) - len(todo),
            unit="chunk",
            desc=f"sweep {spec.name}",
            file=sys.stderr,
        )

    def done(index, points, layers):
        _write_chunk(out, index, points, layers)
        if bar:
            bar.update(1)
        if on_chunk:
            on_chunk(index)

    try:
        if todo and client is not None:
            _run_dask(spec, todo, done, client)
        elif todo:
            n_workers = min(workers or os.cpu_count() or 1, len(todo))
            if n_workers <= 1:
                for i, a, b in todo:
                    done(*_eval_task(spec, i, a, b))
            else:
                # Workers die with this process and ignore Ctrl-C; on any exception here
                # (KeyboardInterrupt included) the pool is cancelled and its workers killed.
                with worker_pool(n_workers) as pool:
                    calls = [(spec, i, a, b) for i, a, b in todo]
                    for _, result in pool.imap_unordered(_eval_task, calls):
                        done(*result)
    finally:
        if bar:
            bar.close()  # ends the bar's line, so an "interrupted" message starts its own
    points = pd.concat(
        [pd.read_parquet(_chunk_paths(out, i)[0]) for i in range(len(chunks))], ignore_index=True
    )
    layers = pd.concat(
        [pd.read_parquet(_chunk_paths(out, i)[1]) for i in range(len(chunks))], ignore_index=True
    )
    with atomic_path(out / "points.parquet") as tmp:
        points.to_parquet(tmp, index=False)
    with atomic_path(out / "layers.parquet") as tmp:
        layers.to_parquet(tmp, index=False)
    if csv:
        with atomic_path(out / "points.csv") as tmp:
            points.to_csv(tmp, index=False)
        with atomic_path(out / "layers.csv") as tmp:
            layers.to_csv(tmp, index=False)
    elapsed = time.perf_counter() - t0
    return {
        "out": str(out),
        "points": len(points),
        "layer_rows": len(layers),
        "chunks": len(chunks),
        "computed_chunks": len(todo),
        "seconds": elapsed,
        "evaluations": len(points) * len(spec.layers),
        "activity": activity_summary(points, spec),
    }


def _run_dask(spec, todo, done, client) -> None:
    # deferred for start-up time: Dask (about a second to import) only for a cluster
    from dask.distributed import as_completed as dask_completed

    spec_future = client.scatter(spec, broadcast=True)
    futures = [
        client.submit(_eval_task, spec_future, i, a, b, pure=False, retries=3) for i, a, b in todo
    ]
    try:
        for f in dask_completed(futures):
            done(*f.result())
    except BaseException:
        # Ctrl-C or a failed write: take the sweep's tasks off the cluster too.
        client.cancel(futures)
        raise


# -- an output folder, checked before the work ----------------------------------------------
def check_sweep_folder(out: str | os.PathLike, digest: str | None = None) -> Path:
    """Check that ``out`` can take the sweep (with ``digest``) before anything is computed.

    The folder may be missing, empty, or hold a sweep of the same spec (which resumes); a
    ``sweep.json`` that does not read, or that records another spec, is refused.

    Parameters
    ----------
    out : str or os.PathLike
        The ``--out`` folder.
    digest : str, optional
        The spec's :attr:`SweepSpec.digest`; None checks only that the folder is usable.

    Returns
    -------
    pathlib.Path
        ``out`` as a Path.

    Raises
    ------
    InputError
        ``out`` is a file, lies under a file, cannot be written, holds a corrupt
        ``sweep.json`` or a different sweep.
    """
    out = check_output_path(out, "--out", "folder")
    meta_path = out / "sweep.json"
    if meta_path.is_symlink() or meta_path.exists():
        try:
            meta = json.loads(read_input_bytes(meta_path, "--out").decode())
        except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError
            meta = None
        if not isinstance(meta, dict) or not isinstance(meta.get("digest"), str):
            raise InputError(
                "sweep.json there is not a sweep's record; choose another --out or delete it",
                field="--out",
                source=str(meta_path),
            )
        if digest is not None and meta["digest"] != digest:
            raise InputError(
                "the output folder holds a different sweep; choose another --out or delete it",
                field="--out",
                source=str(out),
            )
    return out


# -- back to a design file -----------------------------------------------------------------
def point_design(folder: str | os.PathLike, point: int) -> dict:
    """The design file contents of sweep point ``point``: its family's own fields, exact
    (integers as integers), with the clock the sweep evaluated it at.

    Parameters
    ----------
    folder : str or os.PathLike
        A finished sweep folder (holding ``points.parquet``).
    point : int
        The point's id (the ``point`` column).

    Returns
    -------
    dict
        Design fields, ``arch`` first; ``clock_ns`` is the evaluated clock (the swept
        clock, or the design's own fmax under ``options.timing = "own_fmax"``).

    Raises
    ------
    InputError
        No such folder or point, or a sweep written before points carried their design.
    """
    path = Path(folder) / "points.parquet"
    if not path.is_file():
        raise InputError("not a finished sweep: points.parquet is missing", source=str(folder))
    try:
        columns = pq.read_schema(path).names
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise InputError(
            f"not a readable sweep result: {exc}", field="points.parquet", source=str(folder)
        ) from None
    if "design" not in columns or "point" not in columns or "clock_ns" not in columns:
        raise InputError(
            "this sweep was written before points carried their design; run it again",
            source=str(path),
        )
    table = pq.read_table(
        path, columns=["point", "design", "clock_ns"], filters=[("point", "==", int(point))]
    )
    if table.num_rows == 0:
        total = pq.read_metadata(path).num_rows
        raise InputError(
            f"no point {point} in this sweep",
            field="POINT_ID",
            allowed=f"0..{total - 1}",
            source=str(path),
        )
    row = table.to_pylist()[0]
    design = json.loads(row["design"])
    design["clock_ns"] = float(row["clock_ns"])
    return {"arch": design.pop("arch"), **design}


def timing_summary(points: pd.DataFrame, mode: str) -> dict:
    """How many sweep points the timing model timed and how many miss their clock.

    Parameters
    ----------
    points : pandas.DataFrame
        A sweep's points (``points.parquet``).
    mode : str
        The sweep's ``options.timing`` (one of :data:`TIMING_MODES`).

    Returns
    -------
    dict
        ``mode``, ``points``, ``timed``, ``missed`` and a one-line ``text``.
    """
    timed = int(points["timed"].sum()) if "timed" in points else 0
    missed = int((~points["timing_met"].to_numpy(bool)).sum()) if "timing_met" in points else 0
    total = len(points)
    if mode == "own_fmax":
        text = f"each of the {timed:,} timed points runs at its own fmax"
    elif mode == "ignore":
        text = f"not enforced (options.timing = 'ignore'): {missed:,} points miss their clock"
    else:
        text = f"{missed:,} of {total:,} points miss their clock and are left off the front"
    if timed < total:
        text += f"; {total - timed:,} points not timed (no timing model or delay units)"
    return {"mode": mode, "points": total, "timed": timed, "missed": missed, "text": text}


def quality_summary(points: pd.DataFrame, spec: SweepSpec) -> dict:
    """What the quality figures were measured on, and how many points fall below the floor.

    Parameters
    ----------
    points : pandas.DataFrame
        A sweep's points (``points.parquet``).
    spec : SweepSpec
        The sweep.

    Returns
    -------
    dict
        ``source`` (description or None), ``metric``, ``floor``, ``below_floor``,
        ``formats`` (distinct formats) and a one-line ``text``.
    """
    src = spec.quality_source
    floor = spec.options.get("quality_floor")
    if src is None:
        return {
            "source": None,
            "metric": None,
            "floor": None,
            "below_floor": 0,
            "formats": 0,
            "text": "not scored (options.quality = 'off')",
        }
    below = int((~points["quality_ok"].to_numpy(bool)).sum()) if "quality_ok" in points else 0
    formats = int(points[["weight_format", "act_format"]].drop_duplicates().shape[0])
    text = f"{src.metric} of {formats} number formats on {src.description}"
    if floor is not None:
        text += f"; {below:,} points below the floor {floor:g} are left off the front"
    return {
        "source": src.description,
        "metric": src.metric,
        "floor": floor,
        "below_floor": below,
        "formats": formats,
        "text": text,
    }


def activity_meta(spec: SweepSpec) -> dict:
    """What the sweep's activity figures come from, for ``sweep.json`` (and the plots).

    Parameters
    ----------
    spec : SweepSpec
        The sweep.

    Returns
    -------
    dict
        ``data`` (some engine prices on data), ``label`` (the ``activity_source`` of a
        data-priced point), ``text`` (one line), ``kinds`` (each data kind's description)
        and ``gemms`` (per distinct GEMM: ``name``, ``kind``, ``description``).
    """
    if not spec.data_activity:
        return {"data": False, "label": None, "text": "the spec's activity number", "kinds": {}}
    kinds = {k for k, _ in spec.activity_gemms}
    text = (
        f"{spec.activity_label}: each GEMM's switching measured on "
        + "; ".join(f"{k}: {OPERAND_KINDS[k]}" for k in OPERAND_KINDS if k in kinds)
        + "; families without a data-activity model at 0.5 (no-data-model-0.5)"
    )
    return {
        "data": True,
        "label": spec.activity_label,
        "text": text,
        "kinds": {k: OPERAND_KINDS[k] for k in OPERAND_KINDS if k in kinds},
        "gemms": [
            {"name": str(name), "kind": kind, "description": what}
            for name, (kind, what) in zip(spec.layers["name"], spec.activity_gemms)
        ],
    }


def activity_summary(points: pd.DataFrame, spec: SweepSpec) -> dict:
    """How many points were priced on which activity, in one line.

    Parameters
    ----------
    points : pandas.DataFrame
        A sweep's points (``points.parquet``).
    spec : SweepSpec
        The sweep.

    Returns
    -------
    dict
        ``counts`` (``activity_source`` -> points), ``gemms`` (per GEMM data description,
        data sweeps only), ``data_cycles`` (points whose cycles follow their data:
        ``cycles_source`` ``data``) and ``text``.
    """
    counts = (
        {str(k): int(v) for k, v in points["activity_source"].value_counts(sort=False).items()}
        if "activity_source" in points
        else {"number": len(points)}
    )
    parts = []
    for label, n in counts.items():
        if label == "number":
            values = points.loc[points["activity_source"] == "number", "activity"]
            nums = ", ".join(f"{v:g}" for v in sorted(values.unique())) if len(values) else ""
            parts.append(f"{n:,} points at the spec's activity ({nums})")
        elif label == "no-data-model-0.5":
            names = sorted(points.loc[points["activity_source"] == label, "arch"].unique())
            parts.append(f"{n:,} points at 0.5 ({', '.join(names)}: no data-activity model)")
        else:
            parts.append(f"{n:,} points on data ({label})")
    data_cycles = int((points["cycles_source"] == "data").sum()) if "cycles_source" in points else 0
    if data_cycles:
        parts.append(f"{data_cycles:,} digit_sparse points on data with cycles from its digits")
    meta = activity_meta(spec)
    text = "; ".join(parts)
    if meta["data"]:
        text += f" [{', '.join(f'{k}: {v}' for k, v in meta['kinds'].items())}]"
    return {
        "counts": counts,
        "gemms": meta.get("gemms", []),
        "data_cycles": data_cycles,
        "text": text,
    }
