"""The run a scoring file names, read from its run.json and schema.json: is there a model to score with?"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sagedrop.algorithms import Algorithm
from sagedrop.aws.s3 import DataBucket
from sagedrop.pipeline.run_record import run_key
from sagedrop.problem_types import ProblemType
from sagedrop.scoring.columns import ModelColumns
from sagedrop.scoring.csvstream import PREDICTION_COLUMNS
from sagedrop.scoring.errors import RunNotFoundError, RunNotScorableError

SUCCEEDED = "SUCCEEDED"


@dataclass(frozen=True)
class RunModel:
    run_id: str
    schema_key: str
    model_artifact: str
    inference_artifact: str
    endpoint_instance_type: str
    algorithm: Algorithm
    problem_type: ProblemType
    columns: ModelColumns
    text_encoding: str

    @property
    def prediction_columns(self) -> list[str]:
        return list(PREDICTION_COLUMNS[:1] if self.problem_type is ProblemType.REGRESSION else PREDICTION_COLUMNS)


def read_run_model(bucket: DataBucket, run_id: str) -> RunModel:
    """The run's model and columns; RunNotFoundError or RunNotScorableError when there is none to use."""
    record_bytes = bucket.read_bytes_if_exists(run_key(run_id))
    if record_bytes is None:
        raise RunNotFoundError(
            f"there is no run {run_id!r}: {bucket.uri(run_key(run_id))} does not exist; drop the file under "
            f"score/<run-id>/ with the id of a run that succeeded"
        )
    record = _json_object(record_bytes, run_key(run_id))
    status = record.get("status")
    if status != SUCCEEDED:
        raise RunNotScorableError(f"run {run_id} is {status or 'unfinished'}: only a run that succeeded has a model")
    resources, dataset, config = (record.get(part) or {} for part in ("resources", "dataset", "config"))
    missing = [
        name
        for name, value in (
            ("resources.model_artifact", resources.get("model_artifact")),
            ("dataset.inference_artifact", dataset.get("inference_artifact")),
            ("dataset.schema_key", dataset.get("schema_key")),
            ("config.endpoint_instance_type", config.get("endpoint_instance_type")),
        )
        if not value
    ]
    if missing:
        raise RunNotScorableError(
            f"run {run_id}'s run.json lacks {', '.join(missing)}: it was made before runs could be scored"
        )
    schema_bytes = bucket.read_bytes_if_exists(dataset["schema_key"])
    if schema_bytes is None:
        raise RunNotScorableError(f"run {run_id} has no {dataset['schema_key']} (expired with the run's artifacts?)")
    schema = _json_object(schema_bytes, dataset["schema_key"])
    try:
        columns = ModelColumns.from_schema(run_id, schema)
        problem_type = ProblemType(schema["problem_type"])
    except (KeyError, TypeError, ValueError) as error:
        raise RunNotScorableError(f"{dataset['schema_key']} is not a schema sagedrop wrote: {error!r}") from None
    try:
        algorithm = Algorithm(config.get("algorithm") or Algorithm.XGBOOST)  # runs before the key existed: XGBoost
    except ValueError:
        raise RunNotScorableError(
            f"run {run_id} trained with an unknown algorithm {config.get('algorithm')!r}"
        ) from None
    return RunModel(
        run_id=run_id,
        schema_key=dataset["schema_key"],
        model_artifact=resources["model_artifact"],
        # The deployed model's (with its decision threshold) when the run recorded one.
        inference_artifact=resources.get("inference_artifact") or dataset["inference_artifact"],
        endpoint_instance_type=config["endpoint_instance_type"],
        algorithm=algorithm,
        problem_type=problem_type,
        columns=columns,
        text_encoding=str(schema.get("text_encoding") or "utf-8"),
    )


def reading_encoding(text_encoding: str) -> str:
    """How to decode a file of the run's text encoding: UTF-8 files may start with a byte-order mark."""
    return "utf-8-sig" if text_encoding.lower().replace("_", "-") in {"utf-8", "utf8"} else text_encoding


def _json_object(data: bytes, key: str) -> dict[str, Any]:
    try:
        document = json.loads(data)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise RunNotScorableError(f"{key} is not a JSON object")
    return document
