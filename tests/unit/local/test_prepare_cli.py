"""`sagedrop prepare`: the pipeline's preprocessing on a local CSV, its plan, and the operator's mistakes."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from sagedrop_local.cli import main

CSV = "age,colour,y\n" + "".join(
    f"{20 + i % 50},{['red', 'blue', 'green'][i % 3]},{'yes' if i % 4 else 'no'}\n" for i in range(200)
)


def stopped(argv: list[str]) -> str:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    message = exited.value.code
    assert isinstance(message, str) and message.startswith("sagedrop: "), message
    assert "\n" not in message and "Traceback" not in message
    return message


@pytest.fixture
def upload(tmp_path) -> Path:
    path = tmp_path / "shop.csv"
    path.write_text(CSV)
    return path


def test_prepare_writes_what_the_run_writes_and_prints_the_plan(tmp_path, upload, capsys):
    out = tmp_path / "out"
    assert main(["prepare", str(upload), "--label", "y", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    schema = json.loads((out / "schema.json").read_text())
    report = json.loads((out / "data_report.json").read_text())
    assert schema["label"] == "y" and schema["problem_type"] == "binary_classification"
    assert report["rows"]["input"] == 200
    rows = sum(
        len((out / "data" / s / "part-00000.csv").read_text().splitlines()) for s in ("train", "validation", "test")
    )
    assert rows == 200
    raw = (out / "data" / "raw" / "test.csv").read_text().splitlines()
    assert raw[0] == "age,colour" and len(raw) == schema["rows"]["test"] + 1
    assert "binary_classification" in printed and "'colour': one-hot encoded: 3 categories" in printed
    assert "'age': kept as a number" in printed
    assert "preprocessing Lambda" in printed and "estimated cloud cost" in printed and "estimate" in printed


def test_prepare_reads_a_gz_and_a_config(tmp_path, upload, capsys):
    gz = tmp_path / "shop.csv.gz"
    gz.write_bytes(gzip.compress(CSV.encode()))
    config = tmp_path / "sagedrop.json"
    config.write_text(json.dumps({"label": "colour", "seed": 7}))
    assert main(["prepare", str(gz), "--config", str(config), "--out", str(tmp_path / "o")]) == 0
    schema = json.loads((tmp_path / "o" / "schema.json").read_text())
    assert schema["label"] == "colour" and schema["problem_type"] == "multiclass_classification"
    assert schema["split"]["seed"] == 7


def test_mistakes_end_in_one_line(tmp_path, upload):
    out = str(tmp_path / "out")
    assert (
        stopped(["prepare", str(tmp_path / "nope.csv"), "--out", out])
        == f"sagedrop: {tmp_path / 'nope.csv'}: no such file"
    )
    assert "is a directory" in stopped(["prepare", str(tmp_path), "--out", out])
    assert "label column 'nope' is not in the CSV" in stopped(["prepare", str(upload), "--label", "nope", "--out", out])
    bad = tmp_path / "bad.json"
    bad.write_text('{"lable": "y"}')
    assert "lable" in stopped(["prepare", str(upload), "--config", str(bad), "--out", out])
    broken = tmp_path / "broken.csv.gz"
    broken.write_bytes(b"not gzip")
    assert "not a whole gzip file" in stopped(["prepare", str(broken), "--out", out])
    taken = tmp_path / "taken"
    taken.write_text("mine")
    assert "is a file" in stopped(["prepare", str(upload), "--out", str(taken)])
    ragged = tmp_path / "ragged.csv"
    ragged.write_text(CSV + "1,2,3,4\n")
    assert stopped(["prepare", str(ragged), "--out", out]).endswith("line 202 has 4 field(s) but the first line has 3")


def test_prepare_requires_out(upload):
    with pytest.raises(SystemExit) as exited:
        main(["prepare", str(upload)])
    assert exited.value.code == 2
