"""Automatic Model Tuning on the local SageMaker: trials really trained, the best one chosen, stop, errors."""

from __future__ import annotations

import math
import re

import pytest
from botocore.exceptions import ClientError
from hypothesis import given, settings
from hypothesis import strategies as st

from sagedrop.aws.sagemaker import SageMakerGateway
from sagedrop.pipeline.state import DatasetSummary
from sagedrop.pipeline.tuning import best_training, create_tuning, poll_tuning, tuning_trials
from sagedrop.run_config import resolve_run_config
from sagedrop.settings import PipelineSettings
from sagedrop_local.sagemaker import LocalSageMaker
from sagedrop_local.sagemaker.tuning_search import Range, Search, plan_of

from .conftest import BUCKET, ROLE_ARN, make_dataset, new_session, training_request, upload_channels, wait_until

PREFIX = "runs/tune"
STATIC = {"objective": "binary:logistic", "num_round": "10", "eval_metric": "auc"}
TAGS = [{"Key": "sagedrop:stack", "Value": "test"}, {"Key": "sagedrop:run-id", "Value": "tune-run"}]
ENDED = ("Completed", "Failed", "Stopped")
TRIAL_NAME = r"{}-(\d{{3}})-[0-9a-f]{{8}}"


def tuning_request(name: str, *, jobs: int = 3, parallel: int = 2, static=None, ranges=None, metric="validation:auc"):
    """A CreateHyperParameterTuningJob request over the conftest's channels under PREFIX."""
    definition = {
        key: value for key, value in training_request("x", PREFIX).items() if key not in ("TrainingJobName", "Tags")
    }
    definition.pop("HyperParameters")
    definition["StaticHyperParameters"] = dict(STATIC if static is None else static)
    return {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": {
            "Strategy": "Bayesian",
            "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": metric},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": jobs, "MaxParallelTrainingJobs": parallel},
            "ParameterRanges": ranges
            or {
                "ContinuousParameterRanges": [
                    {"Name": "eta", "MinValue": "0.05", "MaxValue": "0.5", "ScalingType": "Logarithmic"}
                ],
                "IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "2", "MaxValue": "6"}],
            },
        },
        "TrainingJobDefinition": definition,
        "Tags": TAGS,
    }


def wait_for_tuning(sagemaker, name: str, timeout: float = 90) -> dict:
    return wait_until(
        lambda: sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name),
        lambda job: job["HyperParameterTuningJobStatus"] in ENDED,
        timeout=timeout,
    )


def trials_of(sagemaker, name: str, **params) -> list[dict]:
    return sagemaker.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name, MaxResults=100, **params
    )["TrainingJobSummaries"]


def objective(summary: dict) -> float:
    return summary["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]


def test_a_small_tuning_job_trains_its_trials_and_names_the_best(sagemaker, s3):
    # Given a tiny binary CSV in train and validation channels
    upload_channels(s3, PREFIX, make_dataset(rows=200))

    # When a tuning job of 3 trials, 2 at a time, is created
    arn = sagemaker.create_hyper_parameter_tuning_job(**tuning_request("tune-small"))["HyperParameterTuningJobArn"]
    first = sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="tune-small")
    final = wait_for_tuning(sagemaker, "tune-small")

    # Then it ran InProgress to Completed with every trial trained and its objective read
    assert first["HyperParameterTuningJobStatus"] == "InProgress"
    assert final["HyperParameterTuningJobStatus"] == "Completed", final.get("FailureReason")
    assert final["HyperParameterTuningJobArn"] == arn
    assert final["TrainingJobStatusCounters"] == {
        "Completed": 3,
        "InProgress": 0,
        "RetryableError": 0,
        "NonRetryableError": 0,
        "Stopped": 0,
    }
    assert final["ObjectiveStatusCounters"] == {"Succeeded": 3, "Pending": 0, "Failed": 0}
    assert final["HyperParameterTuningEndTime"] >= final["CreationTime"]

    # And the trials are named as SageMaker names them, one per index, within the ranges
    trials = sorted(trials_of(sagemaker, "tune-small"), key=lambda t: t["TrainingJobName"])
    indexes = [re.fullmatch(TRIAL_NAME.format("tune-small"), t["TrainingJobName"]).group(1) for t in trials]
    assert indexes == ["001", "002", "003"]
    for trial in trials:
        tuned = trial["TunedHyperParameters"]
        assert set(tuned) == {"eta", "max_depth"}
        assert 0.05 <= float(tuned["eta"]) <= 0.5 and 2 <= int(tuned["max_depth"]) <= 6
        assert trial["TuningJobName"] == "tune-small" and trial["ObjectiveStatus"] == "Succeeded"

    # And the best trial is the one with the highest validation:auc of those listed
    best = final["BestTrainingJob"]
    assert objective(best) == max(objective(t) for t in trials)
    assert best["TrainingJobName"] in {t["TrainingJobName"] for t in trials if objective(t) == objective(best)}
    assert best["FinalHyperParameterTuningJobObjectiveMetric"]["MetricName"] == "validation:auc"

    # And never more than 2 trained at once: the third started after one of the first two had ended
    jobs = [sagemaker.describe_training_job(TrainingJobName=t["TrainingJobName"]) for t in trials]
    assert jobs[2]["CreationTime"] >= min(jobs[0]["TrainingEndTime"], jobs[1]["TrainingEndTime"])

    # And each trial is a training job of the tuning job: linked, tagged, static + tuned hyperparameters
    for job, trial in zip(jobs, trials, strict=True):
        assert job["TuningJobArn"] == arn
        assert job["HyperParameters"] == {
            **STATIC,
            **trial["TunedHyperParameters"],
            "_tuning_objective_metric": "validation:auc",
        }
        assert sagemaker.list_tags(ResourceArn=job["TrainingJobArn"])["Tags"] == TAGS
        assert {m["MetricName"] for m in job["FinalMetricDataList"]} >= {"validation:auc"}

    # And the account's list shows the tuning job with the same counters
    (listed,) = sagemaker.list_hyper_parameter_tuning_jobs()["HyperParameterTuningJobSummaries"]
    assert listed["HyperParameterTuningJobName"] == "tune-small" and listed["Strategy"] == "Bayesian"
    assert listed["TrainingJobStatusCounters"] == final["TrainingJobStatusCounters"]


def test_a_failing_trial_is_counted_and_never_the_best(sagemaker, s3):
    # Given a lambda range reaching below 0, where the container rejects the value: the first trials
    # spread over the range (a Latin hypercube), so one is negative and fails, one is positive
    upload_channels(s3, PREFIX, make_dataset(rows=200))
    ranges = {"ContinuousParameterRanges": [{"Name": "lambda", "MinValue": "-5", "MaxValue": "5"}]}

    sagemaker.create_hyper_parameter_tuning_job(**tuning_request("tune-mixed", ranges=ranges))
    final = wait_for_tuning(sagemaker, "tune-mixed")

    trials = trials_of(sagemaker, "tune-mixed")
    failed = [t for t in trials if t["TrainingJobStatus"] == "Failed"]
    completed = [t for t in trials if t["TrainingJobStatus"] == "Completed"]
    assert failed and completed and len(failed) + len(completed) == 3
    assert all(float(t["TunedHyperParameters"]["lambda"]) < 0 for t in failed)
    assert all("lambda" in t["FailureReason"] and t["ObjectiveStatus"] == "Failed" for t in failed)
    assert final["HyperParameterTuningJobStatus"] == "Completed"
    assert final["TrainingJobStatusCounters"]["NonRetryableError"] == len(failed)
    assert final["TrainingJobStatusCounters"]["Completed"] == len(completed)
    assert final["ObjectiveStatusCounters"] == {"Succeeded": len(completed), "Pending": 0, "Failed": len(failed)}
    assert final["BestTrainingJob"]["TrainingJobName"] in {t["TrainingJobName"] for t in completed}
    # Sorted by objective, a trial without one is not listed (as SageMaker documents)
    by_objective = trials_of(sagemaker, "tune-mixed", SortBy="FinalObjectiveMetricValue")
    assert [t["TrainingJobName"] for t in by_objective] == [
        t["TrainingJobName"] for t in sorted(completed, key=objective, reverse=True)
    ]


def test_when_every_trial_fails_the_tuning_job_fails_as_sagemaker_words_it(sagemaker, s3):
    # Given static hyperparameters the container refuses (auc on a regression objective)
    upload_channels(s3, PREFIX, make_dataset(rows=100))
    static = {"objective": "reg:squarederror", "num_round": "5", "eval_metric": "auc"}

    sagemaker.create_hyper_parameter_tuning_job(**tuning_request("tune-broken", jobs=7, static=static))
    final = wait_for_tuning(sagemaker, "tune-broken")

    # Then it gives up after its first 5 failures (plus the one still running then), not after all 7
    trials = trials_of(sagemaker, "tune-broken")
    assert 5 <= len(trials) <= 6 and all(t["TrainingJobStatus"] == "Failed" for t in trials)
    assert final["HyperParameterTuningJobStatus"] == "Failed"
    assert final["FailureReason"] == (
        f"No training job succeeded after {len(trials)} attempts. "
        "Please take a look at the training job failures to get more details."
    )
    assert final["TrainingJobStatusCounters"]["NonRetryableError"] == len(trials)
    assert "BestTrainingJob" not in final


def test_stopping_stops_the_running_trials_and_launches_no_more(sagemaker, s3, local_sagemaker):
    upload_channels(s3, PREFIX, make_dataset(rows=100))
    local_sagemaker.startup_seconds = 30  # the trials wait to start until they are stopped
    sagemaker.create_hyper_parameter_tuning_job(**tuning_request("tune-stop", jobs=5))
    wait_until(lambda: {"trials": trials_of(sagemaker, "tune-stop")}, lambda r: len(r["trials"]) == 2)

    sagemaker.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName="tune-stop")
    stopping = sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="tune-stop")
    final = wait_for_tuning(sagemaker, "tune-stop")

    assert stopping["HyperParameterTuningJobStatus"] in ("Stopping", "Stopped")
    assert final["HyperParameterTuningJobStatus"] == "Stopped"
    trials = trials_of(sagemaker, "tune-stop")
    assert len(trials) == 2 and all(t["TrainingJobStatus"] == "Stopped" for t in trials)
    assert final["TrainingJobStatusCounters"]["Stopped"] == 2
    with pytest.raises(ClientError, match="is in status Stopped"):
        sagemaker.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName="tune-stop")


def invalid(request: dict, change) -> dict:
    change(request)
    return request


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (
            tuning_request("t" * 33),
            "at 'hyperParameterTuningJobName' failed to satisfy constraint: "
            "Member must have length less than or equal to 32",
        ),
        (
            tuning_request(
                "tune-typo",
                ranges={"ContinuousParameterRanges": [{"Name": "etaa", "MinValue": "0.1", "MaxValue": "0.3"}]},
            ),
            "has the following untunable hyperparameters: ['etaa']",
        ),
        (
            tuning_request("tune-both", static={**STATIC, "eta": "0.2"}),
            "The hyperparameters ['eta'] are given both as static hyperparameters and as hyperparameter ranges",
        ),
        (
            tuning_request("tune-metric", metric="validation:bogus"),
            "A metric is required for this hyperparameter tuning job objective. "
            "Provide a metric in the metric definitions.",
        ),
        (
            tuning_request(
                "tune-log",
                ranges={
                    "ContinuousParameterRanges": [
                        {"Name": "alpha", "MinValue": "0", "MaxValue": "1", "ScalingType": "Logarithmic"}
                    ]
                },
            ),
            "Logarithmic scaling needs MinValue > 0",
        ),
        (
            invalid(
                tuning_request("tune-grid"), lambda r: r["HyperParameterTuningJobConfig"].update(Strategy="Hyperband")
            ),
            "Strategy Hyperband is not emulated",
        ),
    ],
    ids=["name-over-32", "unknown-name", "static-and-ranged", "metric-not-emitted", "log-from-zero", "strategy"],
)
def test_requests_sagemaker_refuses_are_refused_before_anything_is_made(sagemaker, request_, message):
    with pytest.raises(ClientError) as caught:
        sagemaker.create_hyper_parameter_tuning_job(**request_)

    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert message in caught.value.response["Error"]["Message"]
    assert sagemaker.list_hyper_parameter_tuning_jobs()["HyperParameterTuningJobSummaries"] == []
    assert sagemaker.list_training_jobs()["TrainingJobSummaries"] == []


def test_a_name_is_taken_once_and_an_unknown_name_is_not_found(sagemaker, s3, local_sagemaker):
    local_sagemaker.startup_seconds = 30
    sagemaker.create_hyper_parameter_tuning_job(**tuning_request("tune-once", jobs=1, parallel=1))

    with pytest.raises(ClientError) as taken:
        sagemaker.create_hyper_parameter_tuning_job(**tuning_request("tune-once", jobs=1, parallel=1))
    with pytest.raises(ClientError) as missing:
        sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="tune-nobody")
    with pytest.raises(ClientError) as missing_trials:
        trials_of(sagemaker, "tune-nobody")

    assert taken.value.response["Error"]["Code"] == "ResourceInUse"
    assert missing.value.response["Error"]["Code"] == "ResourceNotFound"
    assert missing_trials.value.response["Error"]["Code"] == "ResourceNotFound"


def test_a_tuning_job_left_running_by_a_gone_process_is_reported_failed(session, s3, state_dir):
    first = LocalSageMaker(s3, state_dir, startup_seconds=30)  # its trial never gets to train
    first.install(session)
    session.client("sagemaker").create_hyper_parameter_tuning_job(**tuning_request("tune-gone", jobs=2, parallel=1))
    first.close()

    second_session = new_session()
    second = LocalSageMaker(s3, state_dir)
    second.install(second_session)
    try:
        job = second_session.client("sagemaker").describe_hyper_parameter_tuning_job(
            HyperParameterTuningJobName="tune-gone"
        )
    finally:
        second.close()

    assert job["HyperParameterTuningJobStatus"] == "Failed"
    assert job["FailureReason"].startswith("InternalServerError")


# --- the pipeline's own request, run locally ----------------------------------------------------------


@pytest.mark.parametrize(
    ("algorithm", "problem_type", "metric"),
    [("xgboost", "binary_classification", "validation:auc"), ("linear-learner", "regression", "validation:mse")],
)
def test_the_pipelines_tuning_request_runs_and_its_best_trial_reads_as_a_training(
    sagemaker, s3, algorithm, problem_type, metric
):
    # Given the pipeline's channels and a run configuration asking for 3 trials, 2 at a time
    data = make_dataset(rows=200)
    if problem_type == "regression":
        data[:, 0] = data[:, 1] * 2.0 + data[:, 2]
    upload_channels(s3, "runs/r-0123456789abcdef", data)
    config = resolve_run_config({}, {"algorithm": algorithm, "tuning": {"max_jobs": 3, "max_parallel_jobs": 2}}, "t")
    dataset = DatasetSummary.model_validate(
        {
            "schema_key": "runs/r-0123456789abcdef/schema.json",
            "channels": {
                channel: f"s3://{BUCKET}/runs/r-0123456789abcdef/data/{channel}/"
                for channel in ("train", "validation", "test")
            },
            "raw_test_key": "runs/r-0123456789abcdef/data/raw/test.csv",
            "inference_artifact": f"s3://{BUCKET}/runs/r-0123456789abcdef/inference/model.tar.gz",
            "label": "y",
            "problem_type": problem_type,
            "feature_count": data.shape[1] - 1,
            "rows": {"train": 140, "validation": 60},
        }
    )
    settings = PipelineSettings(
        data_bucket=BUCKET,
        notification_topic_arn="arn:aws:sns:us-east-1:123456789012:t",
        sagemaker_role_arn=ROLE_ARN,
        stack_name="test",
        region="us-east-1",
        xgboost_version="3.0-5",
    )
    gateway = SageMakerGateway(sagemaker)

    # When the tuning job is started and polled like the state machine's wait loop
    tuning = create_tuning(
        run_id="r-0123456789abcdef", config=config, dataset=dataset, sagemaker=gateway, settings=settings
    )
    tuning = wait_until(
        lambda: {"tuning": poll_tuning(tuning, gateway)}, lambda r: r["tuning"].status in ENDED, timeout=120
    )["tuning"]

    # Then it completed, its best trial reads as a trained model, and the report sees every trial
    assert tuning.status == "Completed", tuning.failure_reason
    assert tuning.objective_metric == metric and tuning.training_jobs.completed == 3
    trained = best_training(tuning, gateway)
    assert trained.status == "Completed" and trained.model_artifact.endswith("/output/model.tar.gz")
    assert trained.metrics[metric] == tuning.best_objective
    trials = tuning_trials(tuning.job_name, gateway)
    assert len(trials) == 3 and all(trial.objective is not None for trial in trials)
    pick = max if metric == "validation:auc" else min
    assert tuning.best_objective == pick(trial.objective for trial in trials)


# --- the search -------------------------------------------------------------------------------------

numbers = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


@st.composite
def ranges(draw) -> Range:
    kind = draw(st.sampled_from(["Integer", "Continuous"]))
    scaling = draw(
        st.sampled_from(["Linear", "Logarithmic"] + (["ReverseLogarithmic"] if kind == "Continuous" else []))
    )
    if scaling == "Logarithmic":
        low = draw(st.floats(min_value=1e-9, max_value=1e5))
    elif scaling == "ReverseLogarithmic":
        low = draw(st.floats(min_value=0, max_value=0.9))
    else:
        low = draw(numbers)
    if kind == "Integer":
        low = float(max(1, math.ceil(low)) if scaling == "Logarithmic" else math.floor(low))
        high = low + draw(st.integers(1, 10_000))
    elif scaling == "ReverseLogarithmic":
        high = draw(st.floats(min_value=low, max_value=0.999999, exclude_min=True))
    else:
        high = low + draw(st.floats(min_value=1e-6, max_value=1e6))
    return Range("h", kind, low, high, scaling)


@settings(max_examples=300)
@given(spec=ranges(), u=st.floats(min_value=0, max_value=1, exclude_max=True))
def test_every_point_of_a_range_is_a_value_within_it(spec, u):
    text = spec.value(u)

    value = float(text)
    assert spec.low <= value <= spec.high
    if spec.kind == "Integer":
        assert re.fullmatch(r"-?\d+", text)


def search_of(name: str, jobs: int = 8, parallel: int = 2, strategy: str = "Bayesian") -> Search:
    plan = plan_of(
        {
            **tuning_request(name, jobs=jobs, parallel=parallel),
            "HyperParameterTuningJobConfig": {
                **tuning_request(name)["HyperParameterTuningJobConfig"],
                "Strategy": strategy,
                "ResourceLimits": {"MaxNumberOfTrainingJobs": jobs, "MaxParallelTrainingJobs": parallel},
            },
        }
    )
    return Search(name, plan)


def test_the_first_trials_cover_each_range_evenly_and_the_search_is_seeded_by_the_name():
    search = search_of("tune-seeded", jobs=8, parallel=4)

    first = [search.point(index, []) for index in range(search.initial)]

    # a Latin hypercube: each of the `initial` strata of every range holds exactly one point
    assert search.initial == 4
    for dimension in range(2):
        assert sorted(int(point[dimension] * 4) for point in first) == [0, 1, 2, 3]
    # reproducible from the name, another name another design
    assert [search_of("tune-seeded", 8, 4).point(i, []) for i in range(4)] == first
    assert [search_of("tune-other", 8, 4).point(i, []) for i in range(4)] != first


def test_later_trials_search_near_the_best_so_far():
    search = search_of("tune-near", jobs=40)
    best, worse = [0.9, 0.1], [0.1, 0.9]
    observed = [(best, 0.95), (worse, 0.60)]

    later = [search.point(index, observed) for index in range(search.initial, 40)]

    near = [p for p in later if abs(p[0] - best[0]) < 0.3 and abs(p[1] - best[1]) < 0.3]
    assert len(near) >= len(later) // 2  # most steps are local (one in five is drawn at random)
    assert all(0 <= u < 1 for point in later for u in point)
