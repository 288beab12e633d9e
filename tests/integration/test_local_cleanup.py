"""`sagedrop local cleanup` against what an earlier `sagedrop local run --keep-endpoint` left up."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from sagedrop_local.cli import main

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_an_empty_local_cloud_has_nothing_to_delete(tmp_path, capsys):
    status = main(["local", "cleanup", "--dry-run", "--out", str(tmp_path / "out"), "--state-dir", str(tmp_path / "s")])
    assert status == 0
    assert "Nothing to delete." in capsys.readouterr().out


def test_a_kept_endpoint_survives_until_the_window_passes_then_goes(tmp_path, bank_sample, capsys):
    # Given a local run that kept its endpoint (in the state directory shared between commands)
    state, out = str(tmp_path / "state"), str(tmp_path / "out")
    csv = tmp_path / "bank.csv"
    csv.write_bytes(bank_sample)
    assert main(["local", "run", str(csv), "--keep-endpoint", "--out", out, "--state-dir", state]) == 0
    kept = json.loads((tmp_path / "out" / "run.json").read_text())["pipeline_record"]["resources"]["endpoint"]
    capsys.readouterr()

    # When cleanup runs now, in another process's worth of fresh local cloud
    assert main(["local", "cleanup", "--out", out, "--state-dir", state]) == 0
    # Then the endpoint is kept, and the report says why
    report = json.loads((tmp_path / "out" / "cleanup-report.json").read_text())
    [endpoint] = report["endpoints"]
    assert endpoint["name"] == kept and endpoint["outcome"] == "kept"
    assert "grace" in capsys.readouterr().out

    # When cleanup runs as of two days later (past the 24 h window, no invocations since evaluation)
    later = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    assert main(["local", "cleanup", "--now", later, "--out", out, "--state-dir", state]) == 0
    # Then the endpoint, its config and model are deleted
    report = json.loads((tmp_path / "out" / "cleanup-report.json").read_text())
    assert [(e["name"], e["outcome"]) for e in report["endpoints"]] == [(kept, "deleted")]
    assert report["counts"]["endpoint_config"].get("deleted") == 1
    assert report["counts"]["model"].get("deleted") == 1
    printed = capsys.readouterr().out
    assert kept in printed and "/month" in printed

    # and a dry run afterwards finds nothing left
    assert main(["local", "cleanup", "--dry-run", "--out", out, "--state-dir", state]) == 0
    assert "Nothing to delete." in capsys.readouterr().out
