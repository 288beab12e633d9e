"""Step 6: send the held-out test rows to the endpoint, as a caller would, and score its answers.

The rows go as the upload had them (raw columns, text and all, with a header line), so the
evaluation tests the whole deployed pipeline — featurizer, algorithm and label decoder — and not
a pre-encoded shortcut. The labels to score against are the encoded ones of the test split.
Above the stack's EvaluationTransformBytes the same rows went through a Batch Transform job of the
deployed model instead (``sagedrop.pipeline.evaluation_transform``) and its output is read here.
Memory is bounded by the chunks in flight plus a few bytes a test row (``sagedrop.evaluation.streams``).
"""

from __future__ import annotations

import json

from sagedrop.aws.runtime import EndpointInvoker
from sagedrop.aws.s3 import DataBucket
from sagedrop.aws.s3_streams import ObjectStreams
from sagedrop.errors import InvalidPredictionError
from sagedrop.evaluation import build_evaluation, chart_data, headline_metrics, render_report_html
from sagedrop.evaluation.permutation import permutation_importance
from sagedrop.evaluation.streams import (
    endpoint_scores,
    read_labels,
    read_raw_sample,
    sample_positions,
    transform_scores,
)
from sagedrop.limits import EVALUATION_BATCH_BYTES, PERMUTATION_SAMPLE_ROWS, SERVERLESS_EVALUATION_BATCH_BYTES
from sagedrop.names import run_prefix
from sagedrop.pipeline.state import EvaluateInput, Evaluation
from sagedrop.pipeline.tuning import trials_key
from sagedrop.predicting import predict_raw_csv, rows_per_request

CONCURRENT_BATCHES = 4


def evaluation_key(run_id: str) -> str:
    return f"{run_prefix(run_id)}evaluation.json"


def report_key(run_id: str) -> str:
    return f"{run_prefix(run_id)}report.html"


def report_data_key(run_id: str) -> str:
    """What the report draws (curves, samples) and the run facts: the finish step renders the page again
    from it with the per-step timings and the cost, which are known only then."""
    return f"{run_prefix(run_id)}report_data.json"


def _trials(bucket: DataBucket, state: EvaluateInput) -> dict | None:
    """A tuned run's trials (written by "Take the best trial"), for the report."""
    if state.tuning is None:
        return None
    data = bucket.read_bytes_if_exists(trials_key(state.run_id))
    return json.loads(data) if data is not None else None


def evaluate_run(
    state: EvaluateInput, bucket: DataBucket, streams: ObjectStreams, invoker: EndpointInvoker
) -> Evaluation:
    """Score the model on the test split; write evaluation.json and report.html.

    Streams every input (``sagedrop.evaluation.streams``): the labels from the encoded test parts,
    the scores from the endpoint (the raw test split in bounded requests) or, when the state machine
    took the Batch Transform route (``$.evaluation_transform``), from the job's output. Only the
    labels and the scores are kept, as numpy arrays. Returns the keys and the headline metrics.
    """
    run_id = state.run_id
    dataset = state.prepared.dataset
    schema = bucket.read_json(dataset.schema_key)
    delimiter = schema.get("delimiter") or ","
    # The test split may be several part files (in key order, the raw test split's row order).
    parts = bucket.keys(bucket.key_of(dataset.channels.test))
    labels = read_labels(streams.open_text(key) for key in parts)
    serverless = state.prepared.config.serverless is not None
    # How rows go to the endpoint, for the whole test split and for the permutation sample alike.
    requests = {
        "delimiter": delimiter,
        "max_bytes": SERVERLESS_EVALUATION_BATCH_BYTES if serverless else EVALUATION_BATCH_BYTES,
        "max_rows": rows_per_request(dataset.feature_count),
        "concurrency": CONCURRENT_BATCHES,
    }

    def score_raw(data: bytes):
        return predict_raw_csv(data, invoker.invoke, dataset.problem_type, **requests)

    transform = state.evaluation_transform
    if transform is not None:
        with streams.open_text(transform.output_key) as output:
            predictions = transform_scores(output, dataset.problem_type)
        source = f"the transform job {transform.job_name}"
        scored_by = {"route": "batch_transform", "resource": transform.job_name}
    else:
        with streams.open_text(dataset.raw_test_key) as raw:
            predictions = endpoint_scores(raw, invoker.invoke, dataset.problem_type, **requests)
        source = "the endpoint"
        scored_by = {"route": "endpoint", "resource": state.endpoint.endpoint_name}
    if len(predictions) != len(labels):
        raise InvalidPredictionError(
            f"{source} answered {len(predictions):,} predictions for the {len(labels):,} rows of the test split"
        )
    analysis = state.analysis
    analysed = bucket.read_json(analysis.analysis_key) if analysis is not None and analysis.analysis_key else None
    evaluation = build_evaluation(
        run_id=run_id,
        problem_type=dataset.problem_type,
        label=dataset.label,
        y_true=labels,
        predictions=predictions,
        label_mapping=schema.get("label_mapping"),
        label_stats=schema.get("label_stats", {}),
        analysis=analysed,
    )
    evaluation["scored_by"] = scored_by  # which route scored the test split (the metrics are the same either way)
    if analysed is None and dataset.problem_type is not None:
        # No analysis job (Linear Learner): explain by permutation, through the endpoint, by uploaded column.
        # The seeded positions among the test rows, picked from one more pass over the raw split.
        picked = sample_positions(len(labels), PERMUTATION_SAMPLE_ROWS, state.prepared.config.seed)
        with streams.open_text(dataset.raw_test_key) as raw:
            sample = read_raw_sample(raw, delimiter, picked)
        evaluation["feature_importance"] = permutation_importance(
            sample, labels[picked], score_raw, dataset.problem_type, delimiter=delimiter
        )
        evaluation["importance_method"] = f"permutation importance through the endpoint on {len(sample):,} test rows"
    bucket.write_json(evaluation_key(run_id), evaluation)
    run_facts = {
        "run_id": run_id,
        "source": state.source.as_dict(),
        "training_job": state.training.job_name,
        "training_metrics": dict(state.training.metrics or {}),
        "analysis_job": analysis.job_name if analysis is not None else None,
        "endpoint": state.endpoint.endpoint_name,
        "test_split_scored_by": source,
        "config": state.prepared.config.as_dict(),
        "hyperparameters": dict(state.training.hyperparameters or {}),
    }
    charts = chart_data(dataset.problem_type, labels, predictions)
    bucket.write_json(report_data_key(run_id), {"run": run_facts, "chart_data": charts})
    data_report = bucket.read_json(dataset.data_report_key) if dataset.data_report_key else None
    trials = _trials(bucket, state)
    html = render_report_html(evaluation, schema, run_facts, chart_data=charts, data_report=data_report, trials=trials)
    bucket.write_bytes(report_key(run_id), html.encode(), "text/html; charset=utf-8")
    return Evaluation(
        evaluation_key=evaluation_key(run_id), report_key=report_key(run_id), headline=headline_metrics(evaluation)
    )
