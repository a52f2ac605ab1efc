"""The simulator build cache stays under its size bound: least recently used builds go
first, never one used recently or held locked by another process, never the new one."""

from __future__ import annotations

import fcntl
import os

import pytest

from shiftadd.design.adder_tree import AdderTreeDesign
from shiftadd.errors import InputError
from shiftadd.sim.build_cache import IDLE_SECONDS, limit_bytes, prune, record_size
from shiftadd.sim.runner import simulate

NOW = 1_000_000_000.0


def make_build(root, name, size, age):
    d = root / name
    d.mkdir()
    (d / "model.bin").write_bytes(b"\0" * size)
    record_size(d)
    os.utime(d, (NOW - age, NOW - age))
    return d


def test_prune_removes_least_recently_used_idle_builds(tmp_path):
    old = make_build(tmp_path, "old", 4000, IDLE_SECONDS * 5)
    older = make_build(tmp_path, "older", 4000, IDLE_SECONDS * 9)
    recent = make_build(tmp_path, "recent", 4000, IDLE_SECONDS // 2)
    new = make_build(tmp_path, "new", 4000, IDLE_SECONDS * 20)  # kept: the one just built
    freed = prune(tmp_path, 9000, keep=new, now=NOW)
    # 16,000+ bytes over a 9,000 bound: the oldest idle build goes, then the next oldest.
    assert not older.exists() and not old.exists()
    assert recent.exists() and new.exists()
    assert freed >= 8000


def test_prune_stops_once_under_the_bound(tmp_path):
    a = make_build(tmp_path, "a", 3000, IDLE_SECONDS * 3)
    b = make_build(tmp_path, "b", 3000, IDLE_SECONDS * 2)
    assert prune(tmp_path, 4000, now=NOW) > 0
    assert not a.exists() and b.exists()
    assert prune(tmp_path, 4000, now=NOW) == 0


def test_prune_skips_a_build_another_process_holds(tmp_path):
    held = make_build(tmp_path, "held", 5000, IDLE_SECONDS * 3)
    with open(held / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        # flock is per open file: a second open file in this process conflicts like another
        # process's would.
        assert prune(tmp_path, 10, now=NOW) == 0
    assert held.exists()


def test_limit_from_the_environment(monkeypatch):
    monkeypatch.delenv("SHIFTADD_SIM_CACHE_GB", raising=False)
    assert limit_bytes() == 20 * 10**9
    monkeypatch.setenv("SHIFTADD_SIM_CACHE_GB", "2.5")
    assert limit_bytes() == 2_500_000_000
    for bad in ("lots", "0", "-3", "nan", "1e9"):
        monkeypatch.setenv("SHIFTADD_SIM_CACHE_GB", bad)
        with pytest.raises(InputError) as exc:
            limit_bytes()
        assert exc.value.field == "SHIFTADD_SIM_CACHE_GB"


def test_a_bad_bound_stops_a_simulation_before_it_builds(tmp_path, monkeypatch):
    monkeypatch.setenv("SHIFTADD_CACHE", str(tmp_path))
    monkeypatch.setenv("SHIFTADD_SIM_CACHE_GB", "lots")
    with pytest.raises(InputError) as exc:
        simulate(AdderTreeDesign(mode="xnor", k=8, n=2), vectors=4)
    assert exc.value.field == "SHIFTADD_SIM_CACHE_GB"
    assert not list((tmp_path / "sim").glob("*/.built"))  # nothing was built
