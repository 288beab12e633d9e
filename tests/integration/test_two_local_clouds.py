"""Two local clouds one after the other in one process (benchmarks and test workers do this)."""

from __future__ import annotations

import contextlib
import io
import logging

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
    loggers = [
        logging.getLogger(),
        *(v for v in logging.root.manager.loggerDict.values() if isinstance(v, logging.Logger)),
    ]
    streams = [h.stream for logger in loggers for h in logger.handlers if isinstance(h, logging.StreamHandler)]
    assert not [stream for stream in streams if getattr(stream, "closed", False)]
