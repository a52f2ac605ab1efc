"""Workload files (CSV/parquet), SCALE-Sim topologies and resolve_workload."""

import pandas as pd
import pytest

from shiftadd.errors import InputError
from shiftadd.workloads import (
    gemm_table,
    read_scalesim_csv,
    read_workload,
    resolve_workload,
    to_scalesim_csv,
    write_config,
    write_workload,
)
from shiftadd.workloads.configs import load_model_config


@pytest.fixture(scope="module")
def table():
    return gemm_table("llama-3-8b", phase="decode", batch=4, context=512)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_workload_file_round_trip(tmp_path, table, suffix):
    path = write_workload(table, tmp_path / f"w{suffix}")
    back = read_workload(path)
    pd.testing.assert_frame_equal(back, table, check_dtype=False)
    assert back["weight_shape"].iloc[0] == (4096, 4096)
    assert back[back["kind"] == "act x act"]["weight_shape"].isna().all()
    assert back["M"].dtype == "int64"
    assert not list(tmp_path.glob(".*tmp*"))  # atomic write left no temporary behind


def test_scalesim_round_trip(tmp_path, table):
    path = to_scalesim_csv(table, tmp_path / "topo.csv")
    lines = path.read_text().splitlines()
    assert lines[0] == "Layer, M, N, K,"
    assert lines[1] == "L0.q_proj, 4, 4096, 4096,"
    assert all(line.endswith(",") for line in lines)
    assert "L0.attn_score__x32, 4, 512, 128," in lines  # 4 sequences x 8 KV heads
    back = read_scalesim_csv(path, phase="decode")
    cols = ["name", "layer", "M", "N", "K", "count", "kind", "phase", "weight_shape"]
    pd.testing.assert_frame_equal(back[cols], table[cols], check_dtype=False)


def test_foreign_scalesim_file(tmp_path):
    path = tmp_path / "gpt2.csv"
    path.write_text("Layer,M,N,K,\nQKT,1024,1024,64,\nLinear1,1024,4800,1600,\n")
    df = read_scalesim_csv(path)
    assert df["name"].tolist() == ["QKT", "Linear1"]
    assert df["layer"].tolist() == [0, 1] and (df["count"] == 1).all()
    assert df[["M", "N", "K"]].iloc[1].tolist() == [1024, 4800, 1600]
    bad = tmp_path / "bad.csv"
    bad.write_text("Layer, M, N, K,\nx, 1, two, 3,\n")
    with pytest.raises(InputError, match="integers"):
        read_scalesim_csv(bad)


def test_read_validation_names_the_column(tmp_path, table):
    path = tmp_path / "w.csv"
    write_workload(table, path)
    df = pd.read_csv(path, keep_default_na=False)
    for col in ("K", "kind", "phase", "count"):
        broken = tmp_path / f"no_{col}.csv"
        df.drop(columns=[col]).to_csv(broken, index=False)
        with pytest.raises(InputError) as err:
            read_workload(broken)
        assert err.value.field == col and str(broken) in str(err.value)
    cases = {
        "M": "1.5",
        "N": "-4",
        "count": "x",
        "kind": "weight x weight",
        "phase": "train",
        "weight_shape": "1x2",
    }
    for col, value in cases.items():
        bad = df.copy().astype({col: object})
        bad.loc[3, col] = value
        p = tmp_path / f"bad_{col}.csv"
        bad.to_csv(p, index=False)
        with pytest.raises(InputError) as err:
            read_workload(p)
        assert err.value.field == col and "row 3" in str(err.value)
    with pytest.raises(InputError):
        write_workload(table, tmp_path / "w.xlsx")
    with pytest.raises(InputError, match="no such file"):
        read_workload(tmp_path / "absent.csv")


def test_resolve_workload_sources(tmp_path, table):
    by_name = resolve_workload("llama-3-8b", "decode", 4, context=512)
    pd.testing.assert_frame_equal(by_name, table)
    cfg_path = write_config(tmp_path / "m" / "config.json", load_model_config("llama-3-8b"))
    pd.testing.assert_frame_equal(resolve_workload(str(cfg_path), "decode", 4, context=512), table)
    mixed = pd.concat([table, gemm_table("llama-3-8b", "prefill", 1, seq=8)])
    path = write_workload(mixed, tmp_path / "mixed.parquet")
    assert len(resolve_workload(path)) == len(mixed)
    only = resolve_workload(str(path), phase="prefill")
    assert set(only["phase"]) == {"prefill"} and only["M"].iloc[0] == 8
    topo = to_scalesim_csv(table, tmp_path / "topo.csv")
    assert resolve_workload(topo, phase="prefill")["M"].iloc[0] == 4
    decode_only = write_workload(table, tmp_path / "decode.csv")
    with pytest.raises(InputError, match="no prefill rows"):
        resolve_workload(decode_only, phase="prefill")
    with pytest.raises(InputError, match="no preset"):
        resolve_workload("not-a-model")
