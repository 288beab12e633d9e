"""Tuning: the exact CreateHyperParameterTuningJob request (botocore Stubber), names, polling, trials."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from botocore.stub import ANY
from hypothesis import given, settings
from hypothesis import strategies as st

from sagedrop.algorithms import Algorithm
from sagedrop.aws.sagemaker import SageMakerGateway
from sagedrop.errors import SageMakerLimitExceeded, TrainingFailed
from sagedrop.names import run_id_for
from sagedrop.pipeline.state import DatasetSummary, StartTrainingInput, parse_state
from sagedrop.pipeline.tuning import (
    OBJECTIVE_TYPES,
    PARAMETER_RANGES,
    Tuning,
    best_training,
    create_tuning,
    poll_tuning,
    tuning_job_name,
    tuning_job_request,
    tuning_objective,
    tuning_trials,
)
from sagedrop.problem_types import ProblemType
from sagedrop.run_config import RunConfig, linear_learner
from sagedrop.run_config.hyperparameters import REJECTED_HYPERPARAMETERS, XGBOOST_HYPERPARAMETERS
from sagedrop_local.sagemaker import hyperparameters as xgboost_container

from .conftest import BUCKET, ROLE_ARN, RUN_ID, STACK, make_config, make_dataset, make_settings, make_state

XGBOOST_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:3.0-5"
LINEAR_LEARNER_IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1"
TUNING_ARN = "arn:aws:sagemaker:us-east-1:123456789012:hyper-parameter-tuning-job/x"
# Written from botocore's model of HyperParameterTuningJobName, not imported from the code under test.
TUNING_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}")
SAGEMAKER_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
DATA = f"s3://{BUCKET}/runs/{RUN_ID}/data"
TAGS = [{"Key": "sagedrop:stack", "Value": STACK}, {"Key": "sagedrop:run-id", "Value": RUN_ID}]


def channels(*names: str) -> list[dict]:
    return [
        {
            "ChannelName": name,
            "ContentType": "text/csv",
            "CompressionType": "None",
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "S3Prefix",
                    "S3Uri": f"{DATA}/{name}/",
                    "S3DataDistributionType": "FullyReplicated",
                }
            },
        }
        for name in names
    ]


def inputs(config: dict, dataset: dict) -> tuple[RunConfig, DatasetSummary]:
    state = parse_state(make_state(config=config, dataset=dataset), StartTrainingInput)
    return state.prepared.config, state.prepared.dataset


def created_request(stubbed, config: dict, dataset: dict, expected: dict | None = None) -> tuple[Tuning, dict]:
    stubbed.stubber.add_response(
        "create_hyper_parameter_tuning_job", {"HyperParameterTuningJobArn": TUNING_ARN}, expected
    )
    run_config, summary = inputs(config, dataset)
    tuning = create_tuning(
        run_id=RUN_ID,
        config=run_config,
        dataset=summary,
        sagemaker=SageMakerGateway(stubbed.client),
        settings=make_settings(),
    )
    (request,) = stubbed.calls("CreateHyperParameterTuningJob")
    return tuning, request


def test_the_xgboost_binary_request_is_exactly_what_sagemaker_needs(stubbed):
    # Given a binary run with the default hyperparameters and tuning of 12 jobs, 3 at a time
    config = make_config(tuning={"max_jobs": 12, "max_parallel_jobs": 3})
    expected = {
        "HyperParameterTuningJobName": ANY,
        "HyperParameterTuningJobConfig": {
            "Strategy": "Bayesian",
            "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "validation:auc"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 12, "MaxParallelTrainingJobs": 3},
            "ParameterRanges": {
                "ContinuousParameterRanges": [
                    {"Name": "eta", "MinValue": "0.01", "MaxValue": "0.3", "ScalingType": "Logarithmic"},
                    {"Name": "min_child_weight", "MinValue": "1", "MaxValue": "10", "ScalingType": "Linear"},
                    {"Name": "subsample", "MinValue": "0.5", "MaxValue": "1", "ScalingType": "Linear"},
                    {"Name": "colsample_bytree", "MinValue": "0.5", "MaxValue": "1", "ScalingType": "Linear"},
                    {"Name": "gamma", "MinValue": "0", "MaxValue": "5", "ScalingType": "Linear"},
                    {"Name": "alpha", "MinValue": "0", "MaxValue": "10", "ScalingType": "Linear"},
                    {"Name": "lambda", "MinValue": "0", "MaxValue": "10", "ScalingType": "Linear"},
                ],
                "IntegerParameterRanges": [
                    {"Name": "max_depth", "MinValue": "3", "MaxValue": "10", "ScalingType": "Linear"},
                ],
            },
            "TrainingJobEarlyStoppingType": "Off",
        },
        "TrainingJobDefinition": {
            "AlgorithmSpecification": {"TrainingImage": XGBOOST_IMAGE, "TrainingInputMode": "File"},
            "RoleArn": ROLE_ARN,
            # the tuned names (max_depth, eta, subsample, colsample_bytree) are not static
            "StaticHyperParameters": {
                "num_round": "2000",
                "early_stopping_rounds": "50",
                "objective": "binary:logistic",
                "eval_metric": "auc",
                "verbosity": "1",
            },
            "InputDataConfig": channels("train", "validation"),
            "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/runs/{RUN_ID}/model/"},
            "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10},
            "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
            "EnableNetworkIsolation": True,
        },
        "Tags": TAGS,
    }

    # When the tuning job is started (the Stubber fails on any difference from `expected`)
    tuning, request = created_request(stubbed, config, make_dataset(), expected)

    # Then it runs under a valid name of at most 32 characters, and the wait loop starts at 0
    name = request["HyperParameterTuningJobName"]
    assert len(name) <= 32 and TUNING_NAME.fullmatch(name)
    assert tuning.as_dict() == {
        "job_name": name,
        "status": "InProgress",
        "polls": 0,
        "objective_metric": "validation:auc",
        "training_jobs": {
            "completed": 0,
            "in_progress": 0,
            "retryable_error": 0,
            "non_retryable_error": 0,
            "stopped": 0,
        },
        "objectives": {"succeeded": 0, "pending": 0, "failed": 0},
    }


def test_the_linear_learner_regression_request_is_exactly_what_sagemaker_needs(stubbed):
    config = make_config(algorithm="linear-learner", tuning={"max_jobs": 5, "max_parallel_jobs": 1}, use_spot=True)
    expected = {
        "HyperParameterTuningJobName": ANY,
        "HyperParameterTuningJobConfig": {
            "Strategy": "Bayesian",
            "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "validation:mse"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 5, "MaxParallelTrainingJobs": 1},
            "ParameterRanges": {
                "ContinuousParameterRanges": [
                    {"Name": "learning_rate", "MinValue": "0.0001", "MaxValue": "0.1", "ScalingType": "Logarithmic"},
                    {"Name": "wd", "MinValue": "1e-07", "MaxValue": "1", "ScalingType": "Logarithmic"},
                    {"Name": "l1", "MinValue": "1e-07", "MaxValue": "1", "ScalingType": "Logarithmic"},
                ],
                "IntegerParameterRanges": [
                    {"Name": "mini_batch_size", "MinValue": "100", "MaxValue": "1000", "ScalingType": "Logarithmic"},
                ],
            },
            "TrainingJobEarlyStoppingType": "Off",
        },
        "TrainingJobDefinition": {
            "AlgorithmSpecification": {"TrainingImage": LINEAR_LEARNER_IMAGE, "TrainingInputMode": "File"},
            "RoleArn": ROLE_ARN,
            # mini_batch_size (a sagedrop default) is tuned; what the data decides stays static
            "StaticHyperParameters": {"epochs": "30", "predictor_type": "regressor", "feature_dim": "4"},
            "InputDataConfig": channels("train", "validation"),
            "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/runs/{RUN_ID}/model/"},
            "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10},
            # spot settings come from the same definition as the single training job's
            "StoppingCondition": {"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 7200},
            "EnableNetworkIsolation": True,
            "EnableManagedSpotTraining": True,
            "CheckpointConfig": {"S3Uri": f"s3://{BUCKET}/runs/{RUN_ID}/checkpoints/"},
        },
        "Tags": TAGS,
    }

    tuning, _request = created_request(stubbed, config, make_dataset("regression"), expected)

    assert tuning.objective_metric == "validation:mse"


def test_the_definition_is_the_single_training_jobs_minus_name_hyperparameters_and_tags(stubbed):
    from sagedrop.pipeline.training import training_job_request

    config, dataset = inputs(
        make_config(tuning={}, use_spot=True), make_dataset("multiclass_classification", classes=3)
    )
    settings_ = make_settings()
    tuned = tuning_job_request(run_id=RUN_ID, job_name="t", config=config, dataset=dataset, settings=settings_)
    single = training_job_request(run_id=RUN_ID, job_name="j", config=config, dataset=dataset, settings=settings_)

    definition = dict(tuned["TrainingJobDefinition"])
    static = definition.pop("StaticHyperParameters")
    assert definition == {k: v for k, v in single.items() if k not in ("TrainingJobName", "HyperParameters", "Tags")}
    ranged = {spec.name for spec in PARAMETER_RANGES[Algorithm.XGBOOST]}
    assert static == {k: v for k, v in single["HyperParameters"].items() if k not in ranged}
    assert static["num_class"] == "3" and static["objective"] == "multi:softprob"


def test_an_alias_of_a_tuned_name_is_not_sent_as_a_static_hyperparameter():
    # learning_rate is XGBoost's alias of eta: sent beside a tuned eta it would contradict it
    hyperparameters = {"learning_rate": "0.1", "reg_lambda": "2", "num_round": "40", "max_delta_step": "1"}
    config, dataset = inputs(make_config(hyperparameters=hyperparameters, tuning={}), make_dataset())

    request = tuning_job_request(run_id=RUN_ID, job_name="t", config=config, dataset=dataset, settings=make_settings())

    static = request["TrainingJobDefinition"]["StaticHyperParameters"]
    assert "learning_rate" not in static and "reg_lambda" not in static
    assert static["max_delta_step"] == "1" and static["num_round"] == "40"


def _ranges_of(request: dict) -> dict[str, tuple[str, str]]:
    ranges = request["HyperParameterTuningJobConfig"]["ParameterRanges"]
    return {spec["Name"]: (spec["MinValue"], spec["MaxValue"]) for specs in ranges.values() for spec in specs}


def test_the_search_holds_the_value_one_training_job_would_have_used():
    # A regression's default min_child_weight (20) is above the declared range (1-10): the search must be able to
    # try it, or tuning could end worse than the single job it replaces.
    config, dataset = inputs(make_config(tuning={}), make_dataset("regression"))
    request = tuning_job_request(run_id=RUN_ID, job_name="t", config=config, dataset=dataset, settings=make_settings())
    assert _ranges_of(request)["min_child_weight"] == ("1", "20")
    assert "min_child_weight" not in request["TrainingJobDefinition"]["StaticHyperParameters"]

    # classification keeps the declared range; a configured value outside one widens it, an alias's too
    configured = {"max_depth": 12, "eta": None, "learning_rate": 0.005}  # eta's alias instead of the default eta
    config, dataset = inputs(make_config(tuning={}, hyperparameters=configured), make_dataset())
    request = tuning_job_request(run_id=RUN_ID, job_name="t", config=config, dataset=dataset, settings=make_settings())
    ranges = _ranges_of(request)
    declared = {spec.name: spec for spec in PARAMETER_RANGES[Algorithm.XGBOOST]}
    assert ranges["min_child_weight"] == ("1", "10")
    assert ranges["max_depth"] == ("3", "12")
    assert ranges["eta"] == ("0.005", _bound(declared["eta"].high))
    assert ranges["subsample"] == (_bound(declared["subsample"].low), _bound(declared["subsample"].high))


def _bound(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else repr(float(number))


def test_a_value_the_ranges_kind_cannot_hold_leaves_it_as_declared():
    from sagedrop.pipeline.tuning import ParameterRange, search_ranges

    depth = ParameterRange("max_depth", "Integer", 3, 10)
    rate = ParameterRange("eta", "Continuous", 0.01, 0.3, "Logarithmic")
    assert search_ranges((depth, rate), {"max_depth": "12.5", "eta": "0"}) == (depth, rate)
    assert search_ranges((depth, rate), {"max_depth": "nan", "eta": "x"}) == (depth, rate)
    assert search_ranges((depth,), {"max_depth": "2"}) == (ParameterRange("max_depth", "Integer", 2, 10),)


def test_a_config_without_tuning_has_no_tuning_request():
    config, dataset = inputs(make_config(), make_dataset())
    with pytest.raises(ValueError, match="no tuning"):
        tuning_job_request(run_id=RUN_ID, job_name="t", config=config, dataset=dataset, settings=make_settings())


def test_at_the_stacks_limit_no_tuning_job_is_started(stubbed):
    stubbed.stubber.add_response(
        "list_training_jobs",
        {"TrainingJobSummaries": []},
        {"StatusEquals": "InProgress", "SortBy": "CreationTime", "SortOrder": "Descending", "MaxResults": 100},
    )
    config, dataset = inputs(make_config(tuning={}), make_dataset())
    gateway = SageMakerGateway(stubbed.client)
    stubbed.stubber.add_response("create_hyper_parameter_tuning_job", {"HyperParameterTuningJobArn": TUNING_ARN})

    # below the limit (nothing running): created
    create_tuning(
        run_id=RUN_ID,
        config=config,
        dataset=dataset,
        sagemaker=gateway,
        settings=make_settings(max_concurrent_training_jobs=1),
    )
    assert len(stubbed.calls("CreateHyperParameterTuningJob")) == 1

    # at the limit: the error the state machine retries, nothing created
    stubbed.stubber.add_response(
        "list_training_jobs",
        {
            "TrainingJobSummaries": [
                {
                    "TrainingJobName": "trial-001",
                    "TrainingJobArn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/trial-001",
                    "CreationTime": datetime(2026, 1, 1, tzinfo=UTC),
                    "TrainingJobStatus": "InProgress",
                }
            ]
        },
    )
    stubbed.stubber.add_response("list_tags", {"Tags": TAGS})
    with pytest.raises(SageMakerLimitExceeded):
        create_tuning(
            run_id=RUN_ID,
            config=config,
            dataset=dataset,
            sagemaker=gateway,
            settings=make_settings(max_concurrent_training_jobs=1),
        )
    assert len(stubbed.calls("CreateHyperParameterTuningJob")) == 1


# --- what is tuned, towards what ------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", list(Algorithm))
@pytest.mark.parametrize("problem_type", list(ProblemType))
def test_the_objective_is_the_validation_metric_the_run_reads(algorithm, problem_type):
    objective = tuning_objective(algorithm, problem_type)
    assert objective["MetricName"] == algorithm.validation_metric(problem_type)
    assert objective["MetricName"].startswith("validation:")
    # AUC gets better upwards; every other metric sagedrop reads is a loss or an error
    expected = "Maximize" if problem_type is ProblemType.BINARY else "Minimize"
    assert objective["Type"] == expected


def test_the_objective_table_has_no_metric_the_runs_do_not_read():
    read = {algorithm.validation_metric(kind) for algorithm in Algorithm for kind in ProblemType}
    assert set(OBJECTIVE_TYPES) == read


def test_xgboost_ranges_are_names_and_values_the_container_accepts():
    for spec in PARAMETER_RANGES[Algorithm.XGBOOST]:
        assert spec.name in XGBOOST_HYPERPARAMETERS and spec.name not in REJECTED_HYPERPARAMETERS
        assert all(alias in XGBOOST_HYPERPARAMETERS for alias in spec.aliases)
        assert {xgboost_container.ALIASES[alias] for alias in spec.aliases} <= {spec.name}
        container = xgboost_container.SPECS[spec.name]
        assert container.kind == ("int" if spec.kind == "Integer" else "float")
        assert spec.low in container.range and spec.high in container.range
        assert spec.low < spec.high and (spec.scaling == "Linear" or spec.low > 0)


def test_linear_learner_ranges_are_documented_names_and_values():
    for spec in PARAMETER_RANGES[Algorithm.LINEAR_LEARNER]:
        documented = linear_learner.SPECS[spec.name]
        assert spec.name not in linear_learner.REJECTED_HYPERPARAMETERS
        assert documented.kind == ("int" if spec.kind == "Integer" else "float")
        for bound in (spec.low, spec.high):
            documented.parse(str(bound))  # ValueError when out of the documented range
        assert spec.low < spec.high and (spec.scaling == "Linear" or spec.low > 0)


# --- names ------------------------------------------------------------------------------------------

buckets = st.from_regex(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", fullmatch=True)
keys = st.one_of(
    st.text(min_size=1, max_size=300),
    st.builds(lambda name: f"incoming/bank/{name}.csv", st.text(max_size=200)),
    st.just("incoming/" + "x" * 1000 + ".csv"),
    st.just("incoming/日本語のデータ.csv"),
)
versions = st.one_of(st.none(), st.from_regex(r"[A-Za-z0-9._]{1,32}", fullmatch=True))


@settings(max_examples=150)
@given(bucket=buckets, key=keys, version=versions, attempt=st.from_regex(r"[0-9a-f]{6}", fullmatch=True))
def test_tuning_job_names_fit_32_characters_and_trial_names_fit_63(bucket, key, version, attempt):
    run_id = run_id_for(bucket, key, version, "etag")

    name = tuning_job_name(run_id, attempt)

    assert len(name) <= 32 and TUNING_NAME.fullmatch(name), name
    assert tuning_job_name(run_id, attempt) == name  # deterministic for one attempt
    assert run_id.rpartition("-")[2][:12] in name  # traceable to its run
    # SageMaker names each trial <tuning job>-<3 digits>-<8 hex>: still a valid training job name
    trial = f"{name}-001-0123abcd"
    assert len(trial) <= 63 and SAGEMAKER_NAME.fullmatch(trial)


@settings(max_examples=50)
@given(bucket=buckets, key=keys)
def test_each_attempt_gets_another_name(bucket, key):
    run_id = run_id_for(bucket, key, "v1")
    assert tuning_job_name(run_id) != tuning_job_name(run_id)


# --- polling and trials -----------------------------------------------------------------------------

CREATED = datetime(2026, 1, 1, tzinfo=UTC)


def summary(name: str, status: str, value: float | None = None, **extra) -> dict:
    result = {
        "TrainingJobName": name,
        "TrainingJobArn": f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{name}",
        "TuningJobName": "tune",
        "CreationTime": CREATED,
        "TrainingJobStatus": status,
        "TunedHyperParameters": {"eta": "0.05", "max_depth": "4"},
        **extra,
    }
    if value is not None:
        result["FinalHyperParameterTuningJobObjectiveMetric"] = {
            "Type": "Maximize",
            "MetricName": "validation:auc",
            "Value": value,
        }
        result["ObjectiveStatus"] = "Succeeded"
    return result


def description(status: str, **extra) -> dict:
    return {
        "HyperParameterTuningJobName": "tune",
        "HyperParameterTuningJobArn": TUNING_ARN,
        "HyperParameterTuningJobConfig": {
            "Strategy": "Bayesian",
            "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "validation:auc"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 3, "MaxParallelTrainingJobs": 2},
        },
        "HyperParameterTuningJobStatus": status,
        "CreationTime": CREATED,
        "TrainingJobStatusCounters": extra.pop("counters", {"Completed": 2, "InProgress": 0, "NonRetryableError": 1}),
        "ObjectiveStatusCounters": extra.pop("objectives", {"Succeeded": 2, "Pending": 0, "Failed": 1}),
        **extra,
    }


def test_a_poll_reads_status_counters_and_the_best_trial(stubbed):
    stubbed.stubber.add_response(
        "describe_hyper_parameter_tuning_job",
        description("Completed", BestTrainingJob=summary("tune-002-0123abcd", "Completed", 0.91)),
        {"HyperParameterTuningJobName": "tune"},
    )
    before = Tuning(job_name="tune", status="InProgress", polls=4, objective_metric="validation:auc")

    tuning = poll_tuning(before, SageMakerGateway(stubbed.client))

    assert tuning.as_dict() == {
        "job_name": "tune",
        "status": "Completed",
        "polls": 5,
        "objective_metric": "validation:auc",
        "best_training_job": "tune-002-0123abcd",
        "best_objective": 0.91,
        "training_jobs": {
            "completed": 2,
            "in_progress": 0,
            "retryable_error": 0,
            "non_retryable_error": 1,
            "stopped": 0,
        },
        "objectives": {"succeeded": 2, "pending": 0, "failed": 1},
    }


def test_a_failed_tuning_job_carries_its_reason_and_has_no_best_training(stubbed):
    reason = (
        "No training job succeeded after 5 attempts. "
        "Please take a look at the training job failures to get more details."
    )
    stubbed.stubber.add_response("describe_hyper_parameter_tuning_job", description("Failed", FailureReason=reason))
    gateway = SageMakerGateway(stubbed.client)

    tuning = poll_tuning(Tuning(job_name="tune", status="InProgress", polls=0, objective_metric="m"), gateway)

    assert (tuning.status, tuning.failure_reason, tuning.best_training_job) == ("Failed", reason, None)
    with pytest.raises(TrainingFailed, match="No training job succeeded"):
        best_training(tuning, gateway)


def test_the_best_training_job_is_read_like_a_single_training_job(stubbed):
    artifact = f"s3://{BUCKET}/runs/{RUN_ID}/model/tune-002-0123abcd/output/model.tar.gz"
    stubbed.stubber.add_response(
        "describe_training_job",
        {
            "TrainingJobName": "tune-002-0123abcd",
            "TrainingJobArn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/tune-002-0123abcd",
            "TuningJobArn": TUNING_ARN,
            "TrainingJobStatus": "Completed",
            "SecondaryStatus": "Completed",
            "AlgorithmSpecification": {"TrainingInputMode": "File", "TrainingImage": XGBOOST_IMAGE},
            "ModelArtifacts": {"S3ModelArtifacts": artifact},
            "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10},
            "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
            "CreationTime": CREATED,
            "BillableTimeInSeconds": 61,
            "FinalMetricDataList": [{"MetricName": "validation:auc", "Value": 0.91}],
        },
        {"TrainingJobName": "tune-002-0123abcd"},
    )
    tuning = Tuning(
        job_name="tune",
        status="Completed",
        polls=3,
        objective_metric="validation:auc",
        best_training_job="tune-002-0123abcd",
    )

    training = best_training(tuning, SageMakerGateway(stubbed.client))

    assert training.status == "Completed" and training.model_artifact == artifact
    assert training.metrics == {"validation:auc": 0.91} and training.billable_seconds == 61


def test_trials_are_read_from_every_page(stubbed):
    request = {
        "HyperParameterTuningJobName": "tune",
        "SortBy": "CreationTime",
        "SortOrder": "Ascending",
        "MaxResults": 100,
    }
    stubbed.stubber.add_response(
        "list_training_jobs_for_hyper_parameter_tuning_job",
        {"TrainingJobSummaries": [summary("tune-001-aaaaaaaa", "Completed", 0.88)], "NextToken": "2"},
        request,
    )
    stubbed.stubber.add_response(
        "list_training_jobs_for_hyper_parameter_tuning_job",
        {
            "TrainingJobSummaries": [
                summary("tune-002-bbbbbbbb", "Failed", FailureReason="AlgorithmError: boom", ObjectiveStatus="Failed")
            ]
        },
        {**request, "NextToken": "2"},
    )

    trials = [trial.as_dict() for trial in tuning_trials("tune", SageMakerGateway(stubbed.client))]

    assert trials == [
        {
            "job_name": "tune-001-aaaaaaaa",
            "status": "Completed",
            "hyperparameters": {"eta": "0.05", "max_depth": "4"},
            "objective": 0.88,
            "objective_status": "Succeeded",
        },
        {
            "job_name": "tune-002-bbbbbbbb",
            "status": "Failed",
            "hyperparameters": {"eta": "0.05", "max_depth": "4"},
            "objective_status": "Failed",
            "failure_reason": "AlgorithmError: boom",
        },
    ]


@pytest.mark.parametrize(("status", "stops"), [("InProgress", True), ("Completed", False), ("Stopping", False)])
def test_the_failure_path_stops_a_running_tuning_job_only(stubbed, status, stops):
    stubbed.stubber.add_response("describe_hyper_parameter_tuning_job", description(status))
    if stops:
        stubbed.stubber.add_response("stop_hyper_parameter_tuning_job", {}, {"HyperParameterTuningJobName": "tune"})

    assert SageMakerGateway(stubbed.client).stop_tuning_job_if_running("tune") is stops


def test_stopping_a_tuning_job_that_is_gone_is_not_an_error(stubbed):
    stubbed.stubber.add_client_error(
        "describe_hyper_parameter_tuning_job", service_error_code="ResourceNotFound", service_message="no such job"
    )
    assert SageMakerGateway(stubbed.client).stop_tuning_job_if_running("tune") is False
