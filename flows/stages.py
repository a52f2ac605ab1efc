"""Flows as explicit stage lists (in the manner of ZigZag's stages).

A flow (calibrate, validate, demo) is a list of named :class:`Stage` s run in order on one
state mapping: each stage reads what earlier stages put there and adds its own results. The
runner times every stage and reports progress, so a flow's structure is visible in one
list and a stage can be tested, reordered or replaced on its own.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from typing import Any

from .._progress import stage as progress_stage

__all__ = ["Stage", "run_stages"]


@dataclasses.dataclass(frozen=True)
class Stage:
    """One step of a flow.

    Parameters
    ----------
    name : str
        What the stage does, shown in progress and timings.
    run : callable
        ``run(state)``: reads entries of the flow's state mapping and adds its own.
    """

    name: str
    run: Callable[[dict[str, Any]], None]


def run_stages(
    stages: Sequence[Stage],
    state: dict[str, Any] | None = None,
    *,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run ``stages`` in order on ``state`` (a new mapping by default) and return it.

    The seconds each stage took are added under ``state["stage_seconds"]``.

    Parameters
    ----------
    stages : sequence of Stage
    state : dict, optional
        The flow's inputs; stages add their results to it.
    progress : callable, optional
        Called with each stage's name before it runs.

    Returns
    -------
    dict
        ``state``, with every stage's results.
    """
    state = {} if state is None else state
    seconds = state.setdefault("stage_seconds", {})
    for stage in stages:
        if progress:
            progress(stage.name)
        t0 = time.perf_counter()
        with progress_stage(stage.name):
            stage.run(state)
        seconds[stage.name] = seconds.get(stage.name, 0.0) + time.perf_counter() - t0
    return state
