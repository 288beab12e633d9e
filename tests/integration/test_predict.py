"""sagedrop local predict against an endpoint a local run kept: raw rows with text columns in,
labelled predictions out, a bad row named; in a later process than the run, as a user would."""

from __future__ import annotations

import csv
import io
import json

import pytest

from sagedrop_local.cli import main

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def kept_endpoint(tmp_path_factory, bank_sample):
    work = tmp_path_factory.mktemp("predict")
    upload = work / "bank.csv"
    upload.write_bytes(bank_sample)
    status = main(["local", "run", str(upload), "--label", "y", "--keep-endpoint",
                   "--out", str(work / "out"), "--state-dir", str(work / "state")])  # fmt: skip
    assert status == 0
    record = json.loads((work / "out" / "run.json").read_text())
    return record["pipeline_record"]["resources"]["endpoint"], work


def raw_rows(bank_sample: bytes, count: int, *, with_label: bool) -> str:
    rows = list(csv.reader(io.StringIO(bank_sample.decode())))
    header, body = rows[0], rows[1 : count + 1]
    keep = [i for i, name in enumerate(header) if with_label or name != "y"]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([[row[i] for i in keep] for row in [header, *body]])
    return out.getvalue()


def test_raw_rows_with_text_columns_get_the_original_labels_and_probabilities(kept_endpoint, bank_sample, capsys):
    endpoint, work = kept_endpoint
    source = work / "new.csv"
    source.write_text(raw_rows(bank_sample, 300, with_label=False))

    status = main(["local", "predict", endpoint, str(source), "--out", str(work / "pred.csv"),
                   "--state-dir", str(work / "state")])  # fmt: skip

    assert status == 0, capsys.readouterr().out
    scored = list(csv.DictReader((work / "pred.csv").open()))
    assert len(scored) == 300
    assert list(scored[0])[-2:] == ["predicted_label", "probability"]
    assert {row["predicted_label"] for row in scored} <= {"yes", "no"}
    # the probability of the predicted label; the label is "yes" exactly above one threshold of P(yes)
    # (the one the analysis chose on the validation split, not necessarily 0.5)
    assert all(0.0 <= float(row["probability"]) <= 1.0 for row in scored)
    p_yes = [
        (float(r["probability"]) if r["predicted_label"] == "yes" else 1 - float(r["probability"])) for r in scored
    ]
    yes = [p for p, r in zip(p_yes, scored, strict=True) if r["predicted_label"] == "yes"]
    no = [p for p, r in zip(p_yes, scored, strict=True) if r["predicted_label"] == "no"]
    assert max(no, default=0.0) < min(yes, default=1.0)
    assert scored[0]["job"] == next(csv.DictReader(io.StringIO(raw_rows(bank_sample, 1, with_label=False))))["job"]


def test_a_bad_row_is_named_by_its_row_and_column_and_nothing_is_written(kept_endpoint, bank_sample, capsys):
    endpoint, work = kept_endpoint
    text = raw_rows(bank_sample, 40, with_label=True).splitlines()
    fields = next(csv.reader([text[12]]))
    fields[0] = "forty"  # age
    text[12] = ",".join(fields)
    source = work / "bad.csv"
    source.write_text("\n".join(text) + "\n")

    status = main(["local", "predict", endpoint, str(source), "--out", str(work / "bad-pred.csv"),
                   "--state-dir", str(work / "state")])  # fmt: skip

    out = capsys.readouterr().out
    assert status == 1
    assert "(row 12 of the input), column 'age': 'forty' is not a number" in out
    assert not (work / "bad-pred.csv").exists()


@pytest.mark.parametrize(
    ("mangle", "named"),
    [
        (lambda header, row: (header, row[:-2]), "(row 3 of the input) has 14 fields, expected 16"),
        (
            lambda header, row: (["agee" if name == "age" else name for name in header], row),
            "unknown column(s) 'agee' (did you mean 'age'?)",
        ),
    ],
    ids=["wrong number of fields", "unknown column"],
)
def test_each_bad_request_kind_is_named_through_the_cli(kept_endpoint, bank_sample, capsys, mangle, named):
    endpoint, work = kept_endpoint
    rows = list(csv.reader(io.StringIO(raw_rows(bank_sample, 5, with_label=False))))
    header, third = mangle(rows[0], rows[3])
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([header, rows[1], rows[2], third, rows[4]])
    source = work / "mangled.csv"
    source.write_text(out.getvalue())

    status = main(["local", "predict", endpoint, str(source), "--out", str(work / "mangled-pred.csv"),
                   "--state-dir", str(work / "state")])  # fmt: skip

    printed = capsys.readouterr().out
    assert status == 1 and named in printed and printed.count("\n") == 1
    assert not (work / "mangled-pred.csv").exists()
