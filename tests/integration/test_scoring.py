"""Scoring by drop end to end: `sagedrop local score` with a kept local run, on the real state machine.

A small run is trained once (``sagedrop local run``), which keeps what scoring needs in the state
directory; each `sagedrop local score` then builds a local cloud of its own, puts the run back into
its bucket, drops the file under score/<run-id>/ and waits for the scoring execution: the starter,
the scoring state machine, the local SageMaker's Batch Transform job with the run's inference
pipeline, and the assembly of scores/<run-id>/<name>.csv.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pandas as pd
import pytest

from sagedrop_local.cli import main
from sagedrop_local.cloud import LocalCloud

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROWS = 120


@pytest.fixture(scope="module")
def kept_run(tmp_path_factory, bank_sample) -> tuple[Path, str, pd.DataFrame]:
    """(state directory, run id, the rows to score): a run of 3,000 bank rows that succeeded."""
    work = tmp_path_factory.mktemp("scoring")
    upload = work / "bank.csv"
    upload.write_bytes(bank_sample)
    state = work / "state"
    assert (
        main(["local", "run", str(upload), "--label", "y", "--out", str(work / "run"), "--state-dir", str(state)]) == 0
    )
    run_id = json.loads((work / "run" / "run.json").read_text())["run_id"]
    assert (state / "runs" / run_id / "run.json").is_file(), "local run keeps the run for scoring"
    frame = pd.read_csv(io.BytesIO(bank_sample), dtype=str, keep_default_na=False).head(ROWS)
    return state, run_id, frame


def score(state: Path, run_id: str, source: Path, out: Path, capsys) -> tuple[int, str]:
    status = main(["local", "score", run_id, str(source), "--out", str(out), "--state-dir", str(state)])
    return status, capsys.readouterr().out


def test_raw_rows_with_text_columns_come_back_with_their_predictions(kept_run, tmp_path, capsys):
    state, run_id, frame = kept_run
    # Given raw rows as a caller has them: text columns, the columns in another order, no label,
    # and a value with a line break (quoted)
    labels = frame.pop("y")
    columns = list(reversed(frame.columns))
    rows = frame[columns].copy()
    rows.loc[0, "job"] = "line\nbreak"  # an unseen category: not an error
    source = tmp_path / "customers.csv"
    rows.to_csv(source, index=False)
    out = tmp_path / "scored.csv"

    status, printed = score(state, run_id, source, out, capsys)

    # Then the scores file has the input's columns, then the predictions, for every row, in order
    assert status == 0, printed
    assert f"scored {ROWS:,} rows" in printed and "✓ Assemble the scores" in printed
    scored = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(scored.columns) == [*columns, "predicted_label", "probability"]
    assert len(scored) == ROWS
    pd.testing.assert_frame_equal(scored[columns], rows.reset_index(drop=True))
    assert set(scored["predicted_label"]) <= {"no", "yes"}
    probability = scored["probability"].astype(float)
    assert probability.between(0.0, 1.0).all()  # the probability of the label predicted
    # "yes" exactly above one threshold of P(yes): the one the run's analysis chose, as the endpoint applies it
    p_yes = probability.where(scored["predicted_label"] == "yes", 1 - probability)
    assert p_yes[scored["predicted_label"] == "no"].max() < p_yes[scored["predicted_label"] == "yes"].min()
    # and the model is the run's: it agrees with the true labels about as the evaluation did
    assert (scored["predicted_label"] == labels.reset_index(drop=True)).mean() > 0.8
    # and nothing that costs money is left: the scoring model is deleted, no endpoint was made
    with LocalCloud(work_dir=tmp_path / "cloud", state_dir=state) as cloud:
        sagemaker = cloud.client("sagemaker")
        assert [m["ModelName"] for m in sagemaker.list_models()["Models"] if m["ModelName"].endswith("-scoring")] == []
        assert sagemaker.list_endpoints()["Endpoints"] == []
        [job] = sagemaker.list_transform_jobs()["TransformJobSummaries"]
        assert job["TransformJobStatus"] == "Completed"


def test_an_unknown_run_id_fails_by_name(kept_run, tmp_path, capsys):
    state, _, frame = kept_run
    source = tmp_path / "customers.csv"
    frame.to_csv(source, index=False)
    out = tmp_path / "scored.csv"

    status, printed = score(state, "no-such-run-0123456789abcdef", source, out, capsys)

    assert status == 1
    [reason] = [line for line in printed.splitlines() if line.startswith("scoring failed:")]
    assert "RunNotFoundError: there is no run 'no-such-run-0123456789abcdef'" in reason
    assert not out.exists()


def test_a_wrong_column_fails_naming_the_column(kept_run, tmp_path, capsys):
    state, run_id, frame = kept_run
    source = tmp_path / "customers.csv"
    frame.rename(columns={"balance": "balanse"}).to_csv(source, index=False)
    out = tmp_path / "scored.csv"

    status, printed = score(state, run_id, source, out, capsys)

    assert status == 1
    [reason] = [line for line in printed.splitlines() if line.startswith("scoring failed:")]
    assert (
        "ColumnMismatchError" in reason and "'balanse' is not a column" in reason and "did you mean 'balance'" in reason
    )
    assert not out.exists()


def test_a_drop_on_the_cloud_notifies_and_records_its_status(kept_run, tmp_path):
    """The same path without the CLI: S3's event reaches the starter; the topic says where the scores are."""
    from sagedrop_local.score_cli import restore_run

    state, run_id, frame = kept_run
    data = frame.head(5).to_csv(index=False).encode()
    key = f"score/{run_id}/five.csv"
    with LocalCloud(work_dir=tmp_path / "cloud", state_dir=state) as cloud:
        assert restore_run(cloud, run_id, state)
        outcome = cloud.start_scoring(data, key)
        final = cloud.wait(outcome["execution_arn"], timeout_seconds=600)

        assert final["status"] == "SUCCEEDED", final.get("cause")
        status = json.loads(cloud.read(f"runs/{run_id}/scoring/five/status.json"))
        assert (status["status"], status["rows"]) == ("SUCCEEDED", 5)
        [message] = cloud.notifications(mentioning="five")
        assert f"s3://{cloud.bucket}/scores/{run_id}/five.csv" in message["message"]
        assert cloud.read(key) == data  # the upload is never touched
        rows = list(csv.reader(io.StringIO(cloud.read(f"scores/{run_id}/five.csv").decode())))
        assert len(rows) == 6
