"""Containers started ahead of need run the job's or the model's own program, as a cold one does."""

from __future__ import annotations

import json
import textwrap

import pytest

from sagedrop_local.sagemaker import LocalSageMaker
from sagedrop_local.sagemaker.processing_container import runner_kind
from sagedrop_local.sagemaker.script_mode import ScriptContainer, script_kind
from sagedrop_local.sagemaker.warm import WarmInterpreters, sets_import_time_variables

from .conftest import BUCKET, wait_until
from .test_processing_jobs import (
    IMAGE,
    logged_pid,
    output_keys,
    process_gone,
    processing_request,
    quick_request,
    upload_job,
    wait_for,
)

RUNNER = runner_kind(IMAGE)


def ready(interpreters: WarmInterpreters, kind, count: int = 1) -> list[int]:
    state = wait_until(lambda: {"pids": interpreters.ready_pids(kind)}, lambda seen: len(seen["pids"]) >= count)
    assert len(state["pids"]) >= count, "no warm process became ready"
    return state["pids"]


@pytest.fixture
def warm(session, s3, logs, cloudwatch, state_dir):
    emulator = LocalSageMaker(s3, state_dir, logs_client=logs, cloudwatch_client=cloudwatch, warm_containers=True)
    emulator.install(session)
    interpreters = emulator._local.interpreters
    interpreters.prepare(RUNNER)
    yield session.client("sagemaker"), interpreters
    emulator.close()


def test_a_job_runs_in_the_ready_process_with_its_own_inputs_environment_and_outputs(warm, s3, logs):
    sagemaker, interpreters = warm
    (waiting,) = ready(interpreters, RUNNER)
    expected = upload_job(s3, "warm/ok")

    sagemaker.create_processing_job(**processing_request("warm-ok", "warm/ok"))
    job = wait_for(sagemaker, "warm-ok")

    assert job["ProcessingJobStatus"] == "Completed", job.get("FailureReason")
    assert logged_pid(logs, "warm-ok") == waiting  # it ran in the process started ahead
    assert job["ExitMessage"] == "processed 2 files"
    keys = output_keys(s3, "warm/ok")
    assert keys == sorted(f"warm/ok/output/{name}" for name in [*expected, "greeting.txt"])
    assert s3.get_object(Bucket=BUCKET, Key="warm/ok/output/greeting.txt")["Body"].read() == b"hello"
    assert ready(interpreters, RUNNER) != [waiting]  # and a fresh one replaces it


def test_stopping_a_job_in_a_ready_process_kills_it(warm, s3, logs, tmp_path):
    sagemaker, interpreters = warm
    (waiting,) = ready(interpreters, RUNNER)
    upload_job(s3, "warm/stop")
    started = tmp_path / "started"
    sagemaker.create_processing_job(
        **processing_request("warm-stop", "warm/stop", {"SLEEP": "60", "STARTED": str(started)})
    )
    wait_until(lambda: {"started": started.exists()}, lambda state: state["started"])

    sagemaker.stop_processing_job(ProcessingJobName="warm-stop")
    job = wait_for(sagemaker, "warm-stop", timeout=15)

    assert job["ProcessingJobStatus"] == "Stopped"
    assert logged_pid(logs, "warm-stop") == waiting
    assert process_gone(waiting)
    assert output_keys(s3, "warm/stop") == []


@pytest.mark.parametrize(
    ("code", "status", "said"),
    [
        (
            "import os, pandas; assert (os.environ['GREETING'], os.environ['MARK']) == ('warm', 'now')",
            "Completed",
            None,
        ),
        ("import sagedrop", "Failed", "ModuleNotFoundError: No module named 'sagedrop'"),
    ],
)
def test_a_ready_process_has_the_images_libraries_the_jobs_environment_and_not_the_project(
    warm, monkeypatch, code, status, said
):
    sagemaker, interpreters = warm
    ready(interpreters, RUNNER)
    monkeypatch.setenv("MARK", "now")  # set after the process started: a job gets the environment at its launch
    request = quick_request("warm-imports", 0)
    request["AppSpecification"].update(ContainerEntrypoint=["python3", "-c", code], ContainerArguments=["x"])
    request["Environment"] = {"GREETING": "warm"}

    sagemaker.create_processing_job(**request)
    job = wait_for(sagemaker, "warm-imports")

    assert job["ProcessingJobStatus"] == status, job.get("FailureReason")
    if said:
        assert job["FailureReason"].endswith(said)


def test_a_job_that_sets_a_variable_read_at_import_starts_cold(warm, s3, logs):
    sagemaker, interpreters = warm
    (waiting,) = ready(interpreters, RUNNER)
    upload_job(s3, "warm/omp")

    sagemaker.create_processing_job(**processing_request("warm-omp", "warm/omp", {"OMP_NUM_THREADS": "1"}))
    job = wait_for(sagemaker, "warm-omp")

    assert job["ProcessingJobStatus"] == "Completed", job.get("FailureReason")
    assert logged_pid(logs, "warm-omp") != waiting
    assert process_gone(waiting)  # the unsuitable one was ended, not left behind


@pytest.mark.parametrize(
    ("before", "after", "differs"),
    [
        ({"OMP_WAIT_POLICY": "PASSIVE"}, {"OMP_WAIT_POLICY": "PASSIVE", "GREETING": "x"}, False),
        ({}, {"OMP_NUM_THREADS": "1"}, True),
        ({"OPENBLAS_NUM_THREADS": "2"}, {}, True),
        ({"PYTHONUNBUFFERED": "1"}, {"PYTHONUNBUFFERED": "1", "PYTHONHASHSEED": "0"}, True),
        ({}, {"PYTHONUNBUFFERED": "1"}, False),
    ],
)
def test_which_environments_a_ready_process_can_take(before, after, differs):
    assert sets_import_time_variables(before, after) is differs


INFERENCE = textwrap.dedent(
    """
    import json, os, sys

    def model_fn(model_dir):
        pandas = "pandas" in sys.modules  # imported ahead, before this code ran
        return {"pid": os.getpid(), "mode": os.environ["MODE"], "folder": os.getcwd(), "pandas": pandas}

    def input_fn(body, content_type):
        return body

    def predict_fn(data, model):
        return model

    def output_fn(prediction, accept):
        return json.dumps(prediction), "application/json"
    """
)


def test_a_script_container_serves_from_a_ready_process_with_its_environment(tmp_path):
    interpreters = WarmInterpreters(tmp_path)
    kind = script_kind(IMAGE)
    try:
        interpreters.prepare(kind)
        (waiting,) = ready(interpreters, kind)
        model = tmp_path / "model"
        (model / "code").mkdir(parents=True)
        (model / "code" / "inference.py").write_text(INFERENCE)
        container = ScriptContainer(
            model,
            {"SAGEMAKER_PROGRAM": "inference.py", "MODE": "featurize"},
            lambda line: None,
            image=IMAGE,
            interpreters=interpreters,
        )
        container.start()
        try:
            status, body, content_type = container.invoke(b"x", "text/csv", None)
        finally:
            container.stop()
    finally:
        interpreters.close()

    assert status == 200 and content_type == "application/json"
    assert json.loads(body) == {"pid": waiting, "mode": "featurize", "folder": str(model), "pandas": True}
    assert process_gone(waiting)


def test_closing_ends_the_ready_processes(tmp_path):
    interpreters = WarmInterpreters(tmp_path)
    interpreters.prepare(RUNNER, count=2)
    pids = ready(interpreters, RUNNER, count=2)

    interpreters.close()

    assert all(process_gone(pid) for pid in pids)
    interpreters.prepare(RUNNER)  # a closed pool starts nothing more
    assert interpreters.ready_pids(RUNNER) == []
