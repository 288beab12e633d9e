"""Several instances and processes on one state directory: nothing anyone wrote is lost."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time

import pytest

from sagedrop_local.sagemaker import LocalSageMaker
from sagedrop_local.sagemaker.state import StateFileCorrupt
from sagedrop_local.sagemaker.store import STATE_FILE, Store

from .conftest import deploy, make_dataset, new_session, training_request, upload_channels, wait_for_endpoint
from .test_endpoints import train_and_upload

_WRITER = textwrap.dedent(
    """
    import sys
    import time
    from pathlib import Path
    from sagedrop_local.sagemaker.store import Store

    store = Store(Path(sys.argv[1]))
    (Path(sys.argv[1]) / f"ready-{sys.argv[2]}").touch()
    while not (Path(sys.argv[1]) / "go").exists():  # start together, so the writes overlap
        time.sleep(0.001)
    for index in range(int(sys.argv[3])):
        with store.write() as tables:
            tables["models"][f"{sys.argv[2]}-{index}"] = {"ModelName": f"{sys.argv[2]}-{index}"}
    """
)


def test_two_instances_on_one_state_dir_both_keep_their_endpoints(aws, s3, state_dir):
    # Given two instances that loaded the (empty) state before either created anything
    url = train_and_upload(s3, "runs/shared/model.tar.gz", {"objective": "binary:logistic"})[0]
    sessions = [new_session(), new_session()]
    instances = [LocalSageMaker(s3, state_dir, startup_seconds=0.05) for _ in sessions]
    for instance, session in zip(instances, sessions, strict=True):
        instance.install(session)

    # When each deploys an endpoint it keeps
    for index, session in enumerate(sessions):
        deploy(session.client("sagemaker"), f"ep-kept-{index}", url, tags=[{"Key": "run", "Value": str(index)}])
    statuses = [
        wait_for_endpoint(session.client("sagemaker"), f"ep-kept-{index}")["EndpointStatus"]
        for index, session in enumerate(sessions)
    ]
    for instance in instances:
        instance.close()

    # Then a later instance finds both endpoints, their configs, models and tags
    later_session = new_session()
    later = LocalSageMaker(s3, state_dir)
    later.install(later_session)
    try:
        sagemaker = later_session.client("sagemaker")
        endpoints = {e["EndpointName"]: e["EndpointStatus"] for e in sagemaker.list_endpoints()["Endpoints"]}
        models = {m["ModelName"] for m in sagemaker.list_models()["Models"]}
        tags = [
            sagemaker.list_tags(ResourceArn=sagemaker.describe_endpoint(EndpointName=name)["EndpointArn"])["Tags"]
            for name in sorted(endpoints)
        ]
    finally:
        later.close()
    assert statuses == ["InService", "InService"]
    assert endpoints == {"ep-kept-0": "InService", "ep-kept-1": "InService"}
    assert models == {"ep-kept-0-model", "ep-kept-1-model"}
    assert tags == [[{"Key": "run", "Value": "0"}], [{"Key": "run", "Value": "1"}]]


def test_two_processes_writing_at_once_lose_no_row(tmp_path):
    # Given two processes that each add 60 rows, one transaction per row, at the same time
    rows = 60
    writers = [subprocess.Popen([sys.executable, "-c", _WRITER, str(tmp_path), name, str(rows)]) for name in ("a", "b")]
    # (and this process writing too, through its own instance)
    store = Store(tmp_path)
    deadline = time.monotonic() + 120
    while not all((tmp_path / f"ready-{name}").exists() for name in ("a", "b")) and time.monotonic() < deadline:
        time.sleep(0.01)
    (tmp_path / "go").touch()
    for index in range(rows):
        with store.write() as tables:
            tables["models"][f"c-{index}"] = {"ModelName": f"c-{index}"}
    assert [writer.wait(timeout=120) for writer in writers] == [0, 0]

    # Then every row of every writer is in the file
    saved = json.loads((tmp_path / STATE_FILE).read_text())["models"]
    assert len(saved) == 3 * rows
    assert {name.split("-")[0] for name in saved} == {"a", "b", "c"}


def test_a_transaction_that_raises_writes_nothing(tmp_path):
    store = Store(tmp_path)
    with store.write() as tables:
        tables["models"]["kept"] = {"ModelName": "kept"}

    with pytest.raises(RuntimeError), store.write() as tables:
        tables["models"]["half-made"] = {"ModelName": "half-made"}
        raise RuntimeError("validation failed after a change")

    with store.read() as tables:
        assert set(tables["models"]) == {"kept"}
    assert set(json.loads((tmp_path / STATE_FILE).read_text())["models"]) == {"kept"}


def test_a_reader_sees_what_another_instance_wrote_since(tmp_path):
    first, second = Store(tmp_path), Store(tmp_path)
    with first.read() as tables:
        assert tables["models"] == {}

    with second.write() as tables:
        tables["models"]["from-second"] = {"ModelName": "from-second"}

    with first.read() as tables:
        assert set(tables["models"]) == {"from-second"}


@pytest.mark.parametrize("content", ["{not json", "[]", '{"models": []}', "\udcff"])
def test_a_corrupt_state_file_is_named_when_the_instance_starts(tmp_path, content):
    (tmp_path / STATE_FILE).write_text(content, errors="surrogateescape")

    with pytest.raises(StateFileCorrupt) as corrupt:
        Store(tmp_path)

    assert str(tmp_path / STATE_FILE) in str(corrupt.value)


def test_a_job_another_live_instance_runs_is_not_reported_interrupted(session, s3, state_dir):
    # Given an instance whose training job is still starting
    upload_channels(s3, "runs/live", make_dataset(rows=60))
    running = LocalSageMaker(s3, state_dir, startup_seconds=30)
    running.install(session)
    session.client("sagemaker").create_training_job(**training_request("job-live", "runs/live"))

    # When a second instance starts on the same directory (a second `sagedrop local run`)
    beside_session = new_session()
    beside = LocalSageMaker(s3, state_dir)
    beside.install(beside_session)
    try:
        seen_while_running = beside_session.client("sagemaker").describe_training_job(TrainingJobName="job-live")
        # and the first one goes away before the job ran
        running.close()
        seen_after_close = beside_session.client("sagemaker").describe_training_job(TrainingJobName="job-live")
    finally:
        beside.close()

    # Then the job was left alone while its instance lived, and reported failed once it was gone
    assert seen_while_running["TrainingJobStatus"] == "InProgress"
    assert "_owner" not in seen_while_running
    assert seen_after_close["TrainingJobStatus"] == "Failed"
    assert seen_after_close["FailureReason"].startswith("InternalServerError")


def test_a_relative_state_dir_is_kept_absolute(tmp_path, monkeypatch):
    # Script-mode containers run in their model folder: a relative scratch path would point nowhere there.
    from sagedrop_local.sagemaker import LocalSageMaker

    monkeypatch.chdir(tmp_path)
    local = LocalSageMaker(None, "relative/state")

    assert local.state_dir == tmp_path / "relative" / "state"
    local.close()
