"""Two local clouds one after the other in one process (benchmarks and test workers do this)."""

from __future__ import annotations

import contextlib
import io

import pytest
from sklearn import datasets

from sagedrop_local.cloud import LocalCloud

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_the_second_cloud_logs_into_its_own_file_not_the_first_ones_closed_file(tmp_path):
    data = datasets.load_breast_cancer(as_frame=True).frame.to_csv(index=False).encode()
    errors = io.StringIO()
    with contextlib.redirect_stderr(errors):
        for index in range(2):
            with LocalCloud(work_dir=tmp_path / f"{index}/out", state_dir=tmp_path / f"{index}/state") as cloud:
                outcome = cloud.deliver(cloud.drop_csv(data, "incoming/x/x.csv"))
                assert cloud.wait(outcome["execution_arn"], timeout_seconds=180)["status"] == "SUCCEEDED"
    # the handlers' loggers outlive the first cloud: they must not write into its closed log file
    assert "I/O operation on closed file" not in errors.getvalue()
    second = (tmp_path / "1/out/lambda.log").read_text()
    assert '"message":"analysis started"' in second  # a handler's own log line reached it
