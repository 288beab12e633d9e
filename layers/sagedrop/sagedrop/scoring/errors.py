"""Named errors of scoring: the class name is the Step Functions error name a scoring ends with.

They extend :class:`sagedrop.errors.SagedropError` like every error the project raises on purpose.
"""

from sagedrop.errors import SagedropError


# --- the request: never retried, the scoring fails with the message ----------------------------
class InvalidScoringKeyError(SagedropError):
    """The upload is not at ``score/<run-id>/<name>.csv``."""


class RunNotFoundError(SagedropError):
    """No run with the id the key names (``runs/<run-id>/run.json`` does not exist)."""


class RunNotScorableError(SagedropError):
    """The run exists but has no model to score with (it did not succeed, or its artifacts are gone)."""


class ColumnMismatchError(SagedropError):
    """The file's header does not fit the run's columns; names the line and the column."""


class InvalidValueError(SagedropError):
    """A value the model cannot read (text in a numeric column); names the line and the column."""


# --- raised by the state machine itself (its Pass states set them; no Python code raises them) ---
class TransformJobFailed(SagedropError):
    """The transform job ended Failed or Stopped; the cause is SageMaker's FailureReason."""


class TransformJobTimedOut(SagedropError):
    """The transform job was still running after the wait loop's maximum number of polls."""


# --- the job's answer --------------------------------------------------------------------------
class TransformOutputMismatch(SagedropError):
    """The transform job's output does not pair up with the rows sent (count or shape)."""
