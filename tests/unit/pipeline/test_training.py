"""Training: the exact CreateTrainingJob request (checked with a botocore Stubber), errors, polling."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import numpy as np
import pytest
from botocore.stub import ANY

from sagedrop.algorithms import Algorithm
from sagedrop.aws.sagemaker import SageMakerGateway
from sagedrop.errors import InvalidConfigError, InvalidEventError, SageMakerLimitExceeded, SageMakerThrottled
from sagedrop.pipeline.state import CheckTrainingInput, DatasetSummary, StartTrainingInput, parse_state
from sagedrop.pipeline.training import check_training, start_training, training_hyperparameters
from sagedrop.problem_types import ProblemType
from sagedrop.run_config import RunConfig
from sagedrop_local.sagemaker.linear_learner_metrics import metrics_for

from .conftest import BUCKET, ROLE_ARN, RUN_ID, STACK, make_config, make_dataset, make_settings, make_state

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:3.0-5"
JOB_ARN = "arn:aws:sagemaker:us-east-1:123456789012:training-job/x"
SAGEMAKER_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")


def created_request(stubbed, state) -> dict:
    stubbed.stubber.add_response("create_training_job", {"TrainingJobArn": JOB_ARN})
    start_training(parse_state(state, StartTrainingInput), SageMakerGateway(stubbed.client), make_settings())
    (request,) = stubbed.calls("CreateTrainingJob")
    return request


def test_the_binary_request_is_exactly_what_sagemaker_needs(stubbed):
    # Given a binary classification run with train and validation channels, default configuration
    state = make_state()
    data = f"s3://{BUCKET}/runs/{RUN_ID}/data"
    expected = {
        "TrainingJobName": ANY,
        "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        "RoleArn": ROLE_ARN,
        "HyperParameters": {
            "max_depth": "5",
            "eta": "0.05",
            "subsample": "0.8",
            "colsample_bytree": "0.8",
            "num_round": "2000",
            "early_stopping_rounds": "50",
            "objective": "binary:logistic",
            "eval_metric": "auc",
            "verbosity": "1",
        },
        "InputDataConfig": [
            {
                "ChannelName": name,
                "ContentType": "text/csv",
                "CompressionType": "None",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": f"{data}/{name}/",
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
            }
            for name in ("train", "validation")
        ],
        "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/runs/{RUN_ID}/model/"},
        "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "EnableNetworkIsolation": True,
        "Tags": [{"Key": "sagedrop:stack", "Value": STACK}, {"Key": "sagedrop:run-id", "Value": RUN_ID}],
    }
    stubbed.stubber.add_response("create_training_job", {"TrainingJobArn": JOB_ARN}, expected)

    # When the step starts training
    result = start_training(
        parse_state(state, StartTrainingInput), SageMakerGateway(stubbed.client), make_settings()
    ).as_dict()

    # Then SageMaker received that request (the Stubber fails on any difference) under a valid name
    (request,) = stubbed.calls("CreateTrainingJob")
    assert result == {"job_name": request["TrainingJobName"], "status": "InProgress", "polls": 0}
    assert len(result["job_name"]) <= 63 and SAGEMAKER_NAME.fullmatch(result["job_name"])
    assert "silent" not in request["HyperParameters"]
    assert "EnableManagedSpotTraining" not in request and "CheckpointConfig" not in request


@pytest.mark.parametrize(
    ("problem_type", "classes", "objective", "metric"),
    [
        ("binary_classification", 2, "binary:logistic", "auc"),
        ("multiclass_classification", 4, "multi:softprob", "mlogloss"),
        ("regression", None, "reg:squarederror", "rmse"),
    ],
)
def test_hyperparameters_follow_the_problem_type(stubbed, problem_type, classes, objective, metric):
    state = make_state(dataset=make_dataset(problem_type, classes=classes))

    hyperparameters = created_request(stubbed, state)["HyperParameters"]

    assert hyperparameters["objective"] == objective
    assert hyperparameters["eval_metric"] == metric
    assert hyperparameters["verbosity"] in {"0", "1", "2", "3"}
    assert "silent" not in hyperparameters
    assert all(isinstance(v, str) for v in hyperparameters.values())
    if problem_type == "multiclass_classification":
        assert hyperparameters["num_class"] == "4"
    else:
        assert "num_class" not in hyperparameters
    # regression's default objective trains with at least 20 rows per leaf; classification keeps xgboost's 1
    assert hyperparameters.get("min_child_weight") == ("20" if problem_type == "regression" else None)


def _regression_hyperparameters(**config) -> dict[str, str]:
    state = parse_state(
        make_state(config=make_config(**config), dataset=make_dataset("regression")), StartTrainingInput
    )
    return training_hyperparameters(state.prepared.config, state.prepared.dataset)


def test_a_configured_min_child_weight_wins_over_the_problem_types_default():
    assert _regression_hyperparameters(hyperparameters={"min_child_weight": 1})["min_child_weight"] == "1"
    assert _regression_hyperparameters(hyperparameters={"min_child_weight": 35.5})["min_child_weight"] == "35.5"


def test_another_regression_objective_does_not_get_the_default_objectives_leaf_size():
    # count:poisson's hessian is the predicted mean, not 1 per row: 20 would mean something else there
    chosen = _regression_hyperparameters(problem_type="regression", hyperparameters={"objective": "count:poisson"})
    assert chosen["objective"] == "count:poisson"
    assert "min_child_weight" not in chosen


def test_every_channel_is_csv_from_an_s3_prefix(stubbed):
    channels = created_request(stubbed, make_state())["InputDataConfig"]

    assert {c["ChannelName"] for c in channels} == {"train", "validation"}
    for channel in channels:
        assert channel["ContentType"] == "text/csv"
        source = channel["DataSource"]["S3DataSource"]
        assert source["S3DataType"] == "S3Prefix"
        assert source["S3Uri"].startswith(f"s3://{BUCKET}/runs/{RUN_ID}/data/") and source["S3Uri"].endswith("/")


def test_no_validation_channel_when_the_dataset_has_none(stubbed):
    config = make_config(hyperparameters={"early_stopping_rounds": "10"})
    state = make_state(config=config, dataset=make_dataset(validation=False))

    request = created_request(stubbed, state)

    assert [c["ChannelName"] for c in request["InputDataConfig"]] == ["train"]
    # early stopping needs a validation channel; the container rejects it without one
    assert "early_stopping_rounds" not in request["HyperParameters"]


def test_spot_training_waits_longer_than_it_runs_and_checkpoints(stubbed):
    state = make_state(config=make_config(use_spot=True, max_runtime_seconds=1200))

    request = created_request(stubbed, state)

    assert request["EnableManagedSpotTraining"] is True
    stopping = request["StoppingCondition"]
    assert stopping["MaxRuntimeInSeconds"] == 1200
    assert stopping["MaxWaitTimeInSeconds"] >= stopping["MaxRuntimeInSeconds"]
    assert request["CheckpointConfig"]["S3Uri"] == f"s3://{BUCKET}/runs/{RUN_ID}/checkpoints/"


def test_user_hyperparameters_are_sent_as_strings(stubbed):
    state = make_state(config=make_config(hyperparameters={"max_depth": 3, "num_round": "7"}))

    hyperparameters = created_request(stubbed, state)["HyperParameters"]

    assert hyperparameters["max_depth"] == "3"
    assert hyperparameters["num_round"] == "7"


def test_each_attempt_creates_a_job_under_a_new_name(stubbed):
    # A retried StartTraining state must not reuse a name SageMaker already took.
    gateway = SageMakerGateway(stubbed.client)
    for _ in range(2):
        stubbed.stubber.add_response("create_training_job", {"TrainingJobArn": JOB_ARN})
        start_training(parse_state(make_state(), StartTrainingInput), gateway, make_settings())

    first, second = (r["TrainingJobName"] for r in stubbed.calls("CreateTrainingJob"))
    assert first != second


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("ThrottlingException", SageMakerThrottled),
        ("ResourceLimitExceeded", SageMakerLimitExceeded),
    ],
)
def test_throttling_and_quota_errors_become_named_errors(stubbed, code, error):
    stubbed.stubber.add_client_error("create_training_job", service_error_code=code, service_message="slow down")

    with pytest.raises(error, match="slow down"):
        start_training(parse_state(make_state(), StartTrainingInput), SageMakerGateway(stubbed.client), make_settings())


def test_other_client_errors_pass_through_unchanged(stubbed):
    from botocore.exceptions import ClientError

    stubbed.stubber.add_client_error("create_training_job", service_error_code="ValidationException")

    with pytest.raises(ClientError) as caught:
        start_training(parse_state(make_state(), StartTrainingInput), SageMakerGateway(stubbed.client), make_settings())
    assert caught.value.response["Error"]["Code"] == "ValidationException"


def test_a_state_without_prepared_data_names_the_missing_field(stubbed):
    state = make_state()
    del state["prepared"]["dataset"]

    with pytest.raises(InvalidEventError, match="prepared.dataset"):
        start_training(parse_state(state, StartTrainingInput), SageMakerGateway(stubbed.client), make_settings())


def describe_response(status: str, **extra) -> dict:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    return {
        "TrainingJobName": "job",
        "TrainingJobArn": JOB_ARN,
        "TrainingJobStatus": status,
        "SecondaryStatus": extra.pop("SecondaryStatus", "Training"),
        "AlgorithmSpecification": {"TrainingInputMode": "File", "TrainingImage": IMAGE},
        "ModelArtifacts": {"S3ModelArtifacts": extra.pop("artifact", "")},
        "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "CreationTime": now,
        **extra,
    }


def test_check_training_counts_polls_while_in_progress(stubbed):
    stubbed.stubber.add_response("describe_training_job", describe_response("InProgress"), {"TrainingJobName": "job-1"})
    state = make_state(training={"job_name": "job-1", "status": "InProgress", "polls": 4})

    training = check_training(parse_state(state, CheckTrainingInput), SageMakerGateway(stubbed.client)).as_dict()

    assert training["status"] == "InProgress"
    assert training["polls"] == 5
    assert training["job_name"] == "job-1"


def test_check_training_carries_metrics_and_the_model_artifact_when_completed(stubbed):
    artifact = f"s3://{BUCKET}/runs/{RUN_ID}/model/job-1/output/model.tar.gz"
    stubbed.stubber.add_response(
        "describe_training_job",
        describe_response(
            "Completed",
            SecondaryStatus="Completed",
            artifact=artifact,
            BillableTimeInSeconds=95,
            FinalMetricDataList=[
                {"MetricName": "validation:auc", "Value": 0.93},
                {"MetricName": "train:auc", "Value": 0.97},
            ],
            # a tuning trial's, with SageMaker's own objective name beside the model's
            HyperParameters={
                "eta": "0.05",
                "objective": "binary:logistic",
                "_tuning_objective_metric": "validation:auc",
            },
        ),
    )
    state = make_state(training={"job_name": "job-1", "status": "InProgress", "polls": 0})

    training = check_training(parse_state(state, CheckTrainingInput), SageMakerGateway(stubbed.client)).as_dict()

    assert training["status"] == "Completed"
    assert training["polls"] == 1
    assert training["metrics"] == {"validation:auc": 0.93, "train:auc": 0.97}
    assert training["model_artifact"] == artifact
    assert training["billable_seconds"] == 95
    assert training["hyperparameters"] == {"eta": "0.05", "objective": "binary:logistic"}


def test_check_training_carries_the_failure_reason(stubbed):
    stubbed.stubber.add_response(
        "describe_training_job",
        describe_response("Failed", FailureReason="ClientError: Extraneous hyperparameter found: silent"),
    )
    state = make_state(training={"job_name": "job-1", "status": "InProgress", "polls": 2})

    training = check_training(parse_state(state, CheckTrainingInput), SageMakerGateway(stubbed.client)).as_dict()

    assert training["status"] == "Failed"
    assert training["failure_reason"] == "ClientError: Extraneous hyperparameter found: silent"
    assert training["polls"] == 3


def test_check_training_explains_a_stop_without_a_reason(stubbed):
    stubbed.stubber.add_response("describe_training_job", describe_response("Stopped"))
    state = make_state(training={"job_name": "job-1", "status": "InProgress", "polls": 0})

    training = check_training(parse_state(state, CheckTrainingInput), SageMakerGateway(stubbed.client)).as_dict()

    assert "job-1" in training["failure_reason"] and "Stopped" in training["failure_reason"]


def test_check_training_throttled_is_named(stubbed):
    stubbed.stubber.add_client_error("describe_training_job", service_error_code="ThrottlingException")
    state = make_state(training={"job_name": "job-1", "status": "InProgress", "polls": 0})

    with pytest.raises(SageMakerThrottled):
        check_training(parse_state(state, CheckTrainingInput), SageMakerGateway(stubbed.client))


# --- the stack's limit on concurrent training jobs ------------------------------------------------
LIST_REQUEST = {"StatusEquals": "InProgress", "SortBy": "CreationTime", "SortOrder": "Descending", "MaxResults": 100}


def job_summary(name: str) -> dict:
    return {
        "TrainingJobName": name,
        "TrainingJobArn": f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{name}",
        "CreationTime": datetime(2026, 1, 1, tzinfo=UTC),
        "TrainingJobStatus": "InProgress",
    }


def expect_tags(stubbed, name: str, stack: str) -> None:
    stubbed.stubber.add_response(
        "list_tags",
        {"Tags": [{"Key": "sagedrop:stack", "Value": stack}, {"Key": "sagedrop:run-id", "Value": f"{name}-run"}]},
        {"ResourceArn": job_summary(name)["TrainingJobArn"]},
    )


def test_at_the_limit_the_run_waits_for_a_free_slot_and_creates_nothing(stubbed):
    # Given two of this stack's jobs in progress (and another stack's between them), limit 2
    stubbed.stubber.add_response(
        "list_training_jobs",
        {"TrainingJobSummaries": [job_summary("ours-1"), job_summary("theirs"), job_summary("ours-2")]},
        LIST_REQUEST,
    )
    expect_tags(stubbed, "ours-1", STACK)
    expect_tags(stubbed, "theirs", "another-stack")
    expect_tags(stubbed, "ours-2", STACK)

    # When the run wants to start training
    with pytest.raises(SageMakerLimitExceeded) as caught:
        start_training(
            parse_state(make_state(), StartTrainingInput),
            SageMakerGateway(stubbed.client),
            make_settings(max_concurrent_training_jobs=2),
        )

    # Then it raises the error the state machine retries with backoff, saying why, and created nothing
    message = str(caught.value)
    assert "limit (MaxConcurrentTrainingJobs) is 2" in message and "waits for a free slot" in message
    assert "ours-1" in message and "ours-2" in message and "theirs" not in message
    assert stubbed.calls("CreateTrainingJob") == []


def test_below_the_limit_the_job_is_created_after_reading_every_page(stubbed):
    # Given one job of ours on the second page of InProgress jobs, limit 2
    stubbed.stubber.add_response(
        "list_training_jobs", {"TrainingJobSummaries": [job_summary("theirs")], "NextToken": "page-2"}, LIST_REQUEST
    )
    expect_tags(stubbed, "theirs", "another-stack")
    stubbed.stubber.add_response(
        "list_training_jobs", {"TrainingJobSummaries": [job_summary("ours-1")]}, {**LIST_REQUEST, "NextToken": "page-2"}
    )
    expect_tags(stubbed, "ours-1", STACK)
    stubbed.stubber.add_response("create_training_job", {"TrainingJobArn": JOB_ARN})

    training = start_training(
        parse_state(make_state(), StartTrainingInput),
        SageMakerGateway(stubbed.client),
        make_settings(max_concurrent_training_jobs=2),
    )

    assert training.status == "InProgress"
    assert len(stubbed.calls("CreateTrainingJob")) == 1


def test_a_limit_of_zero_asks_sagemaker_nothing_before_creating(stubbed):
    # The Stubber fails any call it was not told about: only CreateTrainingJob is expected.
    request = created_request(stubbed, make_state())
    assert [name for name, _ in stubbed.requests] == ["CreateTrainingJob"]
    assert request["TrainingJobName"]


def test_a_throttled_count_is_retried_by_the_state_machine(stubbed):
    stubbed.stubber.add_client_error("list_training_jobs", service_error_code="ThrottlingException")

    with pytest.raises(SageMakerThrottled):
        start_training(
            parse_state(make_state(), StartTrainingInput),
            SageMakerGateway(stubbed.client),
            make_settings(max_concurrent_training_jobs=1),
        )


# --- Linear Learner ------------------------------------------------------------------------------

LINEAR_LEARNER_IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1"


def test_the_linear_learner_request_is_exactly_what_sagemaker_needs(stubbed):
    # Given a binary classification run with algorithm linear-learner and nothing else configured
    state = make_state(config=make_config(algorithm="linear-learner"))
    data = f"s3://{BUCKET}/runs/{RUN_ID}/data"
    expected = {
        "TrainingJobName": ANY,
        "AlgorithmSpecification": {"TrainingImage": LINEAR_LEARNER_IMAGE, "TrainingInputMode": "File"},
        "RoleArn": ROLE_ARN,
        # sagedrop's Linear Learner defaults, then what the problem type and the data decide
        "HyperParameters": {
            "mini_batch_size": "100",
            "epochs": "30",
            "predictor_type": "binary_classifier",
            "feature_dim": "4",
        },
        # the same label-first headerless CSV splits as XGBoost's
        "InputDataConfig": [
            {
                "ChannelName": name,
                "ContentType": "text/csv",
                "CompressionType": "None",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": f"{data}/{name}/",
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
            }
            for name in ("train", "validation")
        ],
        "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/runs/{RUN_ID}/model/"},
        "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "EnableNetworkIsolation": True,
        "Tags": [{"Key": "sagedrop:stack", "Value": STACK}, {"Key": "sagedrop:run-id", "Value": RUN_ID}],
    }
    stubbed.stubber.add_response("create_training_job", {"TrainingJobArn": JOB_ARN}, expected)

    # When the step starts training, then SageMaker received exactly that request
    result = start_training(
        parse_state(state, StartTrainingInput), SageMakerGateway(stubbed.client), make_settings()
    ).as_dict()
    assert result["status"] == "InProgress" and SAGEMAKER_NAME.fullmatch(result["job_name"])


@pytest.mark.parametrize(
    ("problem_type", "classes", "features", "predictor_type"),
    [
        ("binary_classification", 2, 30, "binary_classifier"),
        ("multiclass_classification", 3, 13, "multiclass_classifier"),
        ("regression", None, 10, "regressor"),
    ],
)
def test_linear_learner_hyperparameters_follow_the_problem_type_and_the_data(
    stubbed, problem_type, classes, features, predictor_type
):
    dataset = make_dataset(problem_type, classes=classes)
    dataset["feature_count"] = features
    state = make_state(config=make_config(algorithm="linear-learner"), dataset=dataset)

    hyperparameters = created_request(stubbed, state)["HyperParameters"]

    assert hyperparameters["predictor_type"] == predictor_type
    assert hyperparameters["feature_dim"] == str(features)
    if problem_type == "multiclass_classification":
        assert hyperparameters["num_classes"] == str(classes)
    else:
        assert "num_classes" not in hyperparameters
    # nothing of XGBoost's leaks into a Linear Learner job
    assert not {"objective", "eval_metric", "num_round", "num_class", "verbosity"} & set(hyperparameters)


def test_linear_learner_user_hyperparameters_merge_over_its_defaults_as_strings(stubbed):
    config = make_config(
        algorithm="linear-learner",
        problem_type="regression",
        hyperparameters={"epochs": 5, "loss": "absolute_loss", "mini_batch_size": None, "use_bias": True},
    )
    state = make_state(config=config, dataset=make_dataset("regression"))

    hyperparameters = created_request(stubbed, state)["HyperParameters"]

    assert hyperparameters == {
        "epochs": "5",
        "loss": "absolute_loss",
        "use_bias": "true",
        "predictor_type": "regressor",
        "feature_dim": "4",
    }


def test_a_linear_learner_run_without_validation_trains_on_the_train_channel_alone(stubbed):
    state = make_state(config=make_config(algorithm="linear-learner"), dataset=make_dataset(validation=False))

    request = created_request(stubbed, state)

    assert [c["ChannelName"] for c in request["InputDataConfig"]] == ["train"]
    assert request["AlgorithmSpecification"]["TrainingImage"] == LINEAR_LEARNER_IMAGE


def _linear_learner_reports(predictor_type: str) -> set[str]:
    """The metric names the (local) Linear Learner reports per channel for a predictor type."""
    labels, zeros = np.array([0.0, 1.0, 1.0, 0.0]), np.zeros(4)
    if predictor_type == "binary_classifier":
        values = metrics_for(predictor_type, scores=labels, labels=labels, losses=zeros, threshold=0.5, f_beta=1.0)
    elif predictor_type == "multiclass_classifier":
        probabilities = np.eye(3)[labels.astype(int)]
        values = metrics_for(
            predictor_type, probabilities=probabilities, labels=labels, losses=zeros, top_k=3, f_beta=1.0
        )
    else:
        values = metrics_for(predictor_type, predictions=labels, labels=labels, losses=zeros)
    return set(values)


@pytest.mark.parametrize("algorithm", list(Algorithm))
@pytest.mark.parametrize("problem_type", list(ProblemType))
def test_the_validation_metric_the_run_reads_is_one_the_job_reports(algorithm, problem_type):
    # XGBoost reports the eval_metric the request names; Linear Learner its documented set, among
    # which the algorithm's validation metric must be.
    metric = algorithm.validation_metric(problem_type)
    classes = {ProblemType.BINARY: 2, ProblemType.MULTICLASS: 3}.get(problem_type)
    config = RunConfig.model_validate({"algorithm": algorithm.value, "problem_type": problem_type.value})
    dataset = DatasetSummary.model_validate(make_dataset(problem_type.value, classes=classes))

    hyperparameters = training_hyperparameters(config, dataset)

    assert metric.startswith("validation:")
    if algorithm is Algorithm.XGBOOST:
        assert hyperparameters["eval_metric"] == metric.removeprefix("validation:")
    else:
        assert metric.removeprefix("validation:") in _linear_learner_reports(hyperparameters["predictor_type"])


def test_without_a_validation_split_early_stopping_goes_and_the_rounds_are_capped():
    from sagedrop.pipeline.training import training_hyperparameters
    from sagedrop.run_config.hyperparameters import NO_VALIDATION_MAX_ROUNDS

    state = parse_state(make_state(dataset=make_dataset(validation=False)), StartTrainingInput)
    chosen = training_hyperparameters(state.prepared.config, state.prepared.dataset)
    assert "early_stopping_rounds" not in chosen
    assert chosen["num_round"] == str(NO_VALIDATION_MAX_ROUNDS)


def test_balance_classes_weighs_the_positive_class_by_the_train_counts():
    from sagedrop.pipeline.training import training_hyperparameters

    dataset = {**make_dataset(), "class_counts": [900, 100]}
    balanced = parse_state(make_state(config=make_config(balance_classes=True), dataset=dataset), StartTrainingInput)
    assert training_hyperparameters(balanced.prepared.config, balanced.prepared.dataset)["scale_pos_weight"] == "9"
    plain = parse_state(make_state(dataset=dataset), StartTrainingInput)
    assert "scale_pos_weight" not in training_hyperparameters(plain.prepared.config, plain.prepared.dataset)
    chosen = parse_state(
        make_state(config=make_config(balance_classes=True, hyperparameters={"scale_pos_weight": 2}), dataset=dataset),
        StartTrainingInput,
    )
    assert training_hyperparameters(chosen.prepared.config, chosen.prepared.dataset)["scale_pos_weight"] == "2"


def test_several_instances_shard_the_train_split_and_replicate_validation(stubbed):
    # Given a run on three training instances
    state = make_state(config=make_config(training_instance_count=3))
    data = f"s3://{BUCKET}/runs/{RUN_ID}/data"

    def channel(name: str, distribution: str) -> dict:
        return {
            "ChannelName": name,
            "ContentType": "text/csv",
            "CompressionType": "None",
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "S3Prefix",
                    "S3Uri": f"{data}/{name}/",
                    "S3DataDistributionType": distribution,
                }
            },
        }

    expected_part = {
        "InputDataConfig": [channel("train", "ShardedByS3Key"), channel("validation", "FullyReplicated")],
        "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 3, "VolumeSizeInGB": 10},
    }
    stubbed.stubber.add_response("create_training_job", {"TrainingJobArn": JOB_ARN}, None)

    # When training starts
    start_training(parse_state(state, StartTrainingInput), SageMakerGateway(stubbed.client), make_settings())

    # Then the request asks for three instances, each with its share of the train split's part files
    (request,) = stubbed.calls("CreateTrainingJob")
    assert {key: request[key] for key in expected_part} == expected_part


def test_a_job_stopped_at_its_time_limit_says_which_limit_to_raise(stubbed):
    stubbed.stubber.add_response(
        "describe_training_job",
        {
            "TrainingJobName": "job",
            "TrainingJobArn": JOB_ARN,
            "TrainingJobStatus": "Stopped",
            "SecondaryStatus": "MaxRuntimeExceeded",
            "AlgorithmSpecification": {"TrainingInputMode": "File"},
            "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10},
            "StoppingCondition": {"MaxRuntimeInSeconds": 600},
            "CreationTime": datetime(2026, 1, 1, tzinfo=UTC),
            "ModelArtifacts": {"S3ModelArtifacts": ""},
        },
        {"TrainingJobName": "job"},
    )
    state = parse_state(
        make_state(training={"job_name": "job", "status": "InProgress", "polls": 1}), CheckTrainingInput
    )
    training = check_training(state, SageMakerGateway(stubbed.client))
    assert training.status == "Stopped"
    assert "time limit of 600 seconds" in training.failure_reason and "max_runtime_seconds" in training.failure_reason


def test_a_metric_that_does_not_fit_the_inferred_problem_type_is_named_before_training(stubbed):
    # Given a config checked without a problem type, whose eval_metric only fits classification,
    # and data whose label turned out to be a regression target
    state = make_state(config=make_config(hyperparameters={"eval_metric": "auc"}), dataset=make_dataset("regression"))
    # Then no training job is created: the key, its problem and the inference are named
    with pytest.raises(InvalidConfigError, match=r"hyperparameters\.eval_metric: .*inferred from label 'y'"):
        start_training(parse_state(state, StartTrainingInput), SageMakerGateway(stubbed.client), make_settings())
    assert stubbed.calls("CreateTrainingJob") == []
