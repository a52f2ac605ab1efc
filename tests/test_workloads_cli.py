"""The ``workload`` command, run through its own argparse parser."""

import argparse
import json

import pandas as pd
import pytest

from shiftadd.errors import InputError
from shiftadd.workloads import load_model_config, read_workload, write_checkpoint
from shiftadd.workloads.cli import add_workload_parser, parse_layers


def run(argv):
    parser = argparse.ArgumentParser(prog="shiftadd")
    add_workload_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    d = tmp_path_factory.mktemp("ckpt")
    cfg = load_model_config(
        {
            "model_type": "llama",
            "hidden_size": 64,
            "intermediate_size": 96,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "vocab_size": 128,
        }
    )
    return write_checkpoint(d, cfg, shard_bytes=20_000, seed=9)


def test_show_table(capsys):
    assert run(["workload", "show", "llama-2-7b", "--phase", "decode", "--batch", "1"]) == 0
    out = capsys.readouterr().out
    first = out.splitlines()[1].split()
    assert first[:6] == ["q_proj", "0", "1", "4096", "4096", "1"]
    assert "11008x4096" in out and "289 GEMMs" in out


def test_show_json_and_files(tmp_path, capsys):
    csv = tmp_path / "w.csv"
    topo = tmp_path / "t.csv"
    assert (
        run(
            [
                "workload",
                "show",
                "llama-3-8b",
                "--phase",
                "prefill",
                "--batch",
                "2",
                "--seq",
                "128",
                "--json",
                "--csv",
                str(csv),
                "--scalesim",
                str(topo),
            ]
        )
        == 0
    )
    data = json.loads(capsys.readouterr().out)
    k = next(r for r in data["rows"] if r["name"] == "k_proj")
    assert (k["M"], k["N"], k["K"], k["weight_shape"]) == (256, 1024, 4096, "1024x4096")
    assert data["weight_params"] > 7e9
    df = read_workload(csv)
    assert len(df) == len(data["rows"])
    assert topo.read_text().startswith("Layer, M, N, K,\n")
    assert run(["workload", "show", str(csv), "--phase", "prefill"]) == 0
    assert "k_proj" in capsys.readouterr().out


def test_show_bad_input():
    with pytest.raises(InputError) as err:
        run(["workload", "show", "llama-2-7b", "--batch", "0"])
    assert err.value.field == "--batch"
    with pytest.raises(InputError, match="no preset"):
        run(["workload", "show", "gpt-7"])
    with pytest.raises(SystemExit):
        run(["workload", "show", "llama-2-7b", "--phase", "train"])


def test_stats_writes_csv_and_json(ckpt, tmp_path, capsys):
    out = tmp_path / "stats.csv"
    assert (
        run(
            ["workload", "stats", str(ckpt), "--format", "int8", "--out", str(out), "--no-progress"]
        )
        == 0
    )
    table = pd.read_csv(out)
    assert len(table) == 14 and (table["format"] == "int8").all()
    assert {"bit_density_7", "booth_nonzero", "ent_nonzero", "rel_fro"} <= set(table.columns)
    assert table["rel_fro"].between(0, 0.05).all()
    assert (
        run(
            [
                "workload",
                "stats",
                str(ckpt),
                "--format",
                "sign",
                "--sample-tiles",
                "2",
                "--tile",
                "32",
                "--layers",
                "1",
                "--json",
            ]
        )
        == 0
    )
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert len(data["tensors"]) == 7 and all(t["layer"] == 1 for t in data["tensors"])
    assert len(data["tensors"][0]["key_hist"]) == 256
    assert "stats sign" in captured.err  # tqdm bar on stderr
    j = tmp_path / "stats.json"
    assert (
        run(
            [
                "workload",
                "stats",
                str(ckpt),
                "--format",
                "int4",
                "--group-size",
                "32",
                "--out",
                str(j),
                "--no-progress",
            ]
        )
        == 0
    )
    assert json.loads(j.read_text())["summary"]["bits_per_weight"] == pytest.approx(4.5)


def test_stats_bad_input(ckpt, tmp_path):
    with pytest.raises(InputError) as err:
        run(["workload", "stats", str(ckpt), "--format", "int99", "--no-progress"])
    assert err.value.field == "format"
    with pytest.raises(InputError) as err:
        run(["workload", "stats", str(ckpt), "--format", "int8", "--layers", "3-1"])
    assert err.value.field == "--layers"
    with pytest.raises(InputError) as err:
        run(["workload", "stats", str(ckpt), "--format", "int8", "--tile", "0"])
    assert err.value.field == "--tile"
    with pytest.raises(InputError, match="no such checkpoint"):
        run(["workload", "stats", str(tmp_path / "nothing"), "--format", "int8"])


def test_list(capsys):
    assert run(["workload", "list", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert "llama-2-7b" in data["presets"] and "ternary" in data["formats"]


def test_parse_layers():
    assert parse_layers("0-3,7,2") == [0, 1, 2, 3, 7]
    assert parse_layers(None) is None
    for bad in ("a", "1-", "-1", "4-2"):
        with pytest.raises(InputError):
            parse_layers(bad)
