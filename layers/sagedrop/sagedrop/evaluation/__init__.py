"""The evaluation step's domain: batch the test split for InvokeEndpoint, read the container's
answers, compute metrics against a baseline, and write them up (evaluation.json, a text table for
the logs, an HTML report with its charts).

numpy only — scikit-learn and scipy do not fit in the Lambda package next to pandas.
"""

from .batching import (
    DEFAULT_MAX_BYTES,
    SAGEMAKER_MAX_PAYLOAD_BYTES,
    batch_rows,
    check_feature_count,
    features_only,
)
from .constants import BINARY, BINARY_THRESHOLD, MULTICLASS, PROBLEM_TYPES, REGRESSION
from .curves import chart_data
from .predictions import count_rows, parse_predictions, predict_in_batches
from .render import confusion_table, render_report_html
from .report import build_evaluation, headline_metrics, label_names, label_stats_from_training

__all__ = [
    "BINARY",
    "BINARY_THRESHOLD",
    "DEFAULT_MAX_BYTES",
    "MULTICLASS",
    "PROBLEM_TYPES",
    "REGRESSION",
    "SAGEMAKER_MAX_PAYLOAD_BYTES",
    "batch_rows",
    "build_evaluation",
    "chart_data",
    "check_feature_count",
    "confusion_table",
    "count_rows",
    "features_only",
    "headline_metrics",
    "label_names",
    "label_stats_from_training",
    "parse_predictions",
    "predict_in_batches",
    "render_report_html",
]
